//! jbolt-distill: knowledge distillation and in-process inference on libtorch.

pub mod distill;
pub mod error;
mod jni;
pub mod models;
pub mod quant;
