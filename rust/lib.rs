//! jbolt-distill: knowledge distillation and in-process inference on libtorch.

pub mod error;
mod jni;
