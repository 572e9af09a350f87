//! Knowledge distillation: losses, schedule, teacher cache, trainer, checkpoints, events.

pub mod batch;
pub mod cache;
pub mod checkpoint;
pub mod events;
pub mod loss;
pub mod optim;
pub mod schedule;
pub mod trainer;
