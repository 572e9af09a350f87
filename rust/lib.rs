//! jbolt-distill: knowledge distillation and in-process inference on libtorch.

pub mod bundle;
pub mod config;
pub mod data;
pub mod distill;
pub mod error;
pub mod eval;
pub mod export;
mod jni;
pub mod models;
pub mod pipeline;
pub mod quant;
pub mod registry;
pub mod serve;
