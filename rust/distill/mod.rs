//! Knowledge distillation: losses, schedule, teacher cache, trainer, checkpoints, events.

pub mod loss;
pub mod schedule;
