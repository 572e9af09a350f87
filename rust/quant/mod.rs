//! INT8 dynamic quantization: int8 linear layers on libtorch's fbgemm kernels and an int8
//! embedding table.
//!
//! Weights are quantized per output channel (symmetric, zero point 0) and activations are
//! quantized per tensor on the fly at each call, as Python's
//! `torch.ao.nn.quantized.dynamic.Linear` does with `per_channel_dynamic_qconfig`. The fast
//! kernels are reached through a small C++ shim (`cpp/quant_shim.cpp`, built by `build.rs`).

mod ffi;

pub mod embedding;
pub mod linear;
pub mod student;

pub use embedding::QuantizedEmbedding;
pub use linear::{Int8Parts, QuantizedLinear};
pub use student::QuantizedStudent;
