//! Raw bindings to the C++ shim in `cpp/quant_shim.cpp` and the safe owner of a packed weight.
//!
//! Ownership across the boundary: tensors passed in are borrowed for the duration of the call;
//! a tensor coming back is a fresh heap `at::Tensor` that Rust owns from then on (wrapped with
//! `Tensor::from_ptr`, whose Drop deletes it); a packed weight is a heap object owned by
//! [`PackedWeight`] and deleted exactly once in its Drop. Messages from the shim are heap
//! strings copied into Rust and then freed by the shim's own function.

use std::ffi::{c_char, c_void, CStr};

use tch::Tensor;

use crate::error::{trim_torch_message, Error, Result};

extern "C" {
    fn jbolt_quant_quantize_per_channel(
        weight: *const c_void,
        scales: *const c_void,
        zero_points: *const c_void,
        out: *mut *mut c_void,
    ) -> *mut c_char;
    fn jbolt_quant_make_per_channel(
        int8: *const c_void,
        scales: *const c_void,
        zero_points: *const c_void,
        out: *mut *mut c_void,
    ) -> *mut c_char;
    fn jbolt_quant_linear_prepack(
        qweight: *const c_void,
        bias: *const c_void,
        packed: *mut *mut c_void,
    ) -> *mut c_char;
    fn jbolt_quant_linear_dynamic(
        input: *const c_void,
        packed: *const c_void,
        reduce_range: bool,
        out: *mut *mut c_void,
    ) -> *mut c_char;
    fn jbolt_quant_packed_free(packed: *mut c_void);
    fn jbolt_quant_string_free(message: *mut c_char);
}

/// Turns a shim message (null = success) into a `Result`, freeing the message.
fn check(message: *mut c_char, op: &str) -> Result<()> {
    if message.is_null() {
        return Ok(());
    }
    // SAFETY: a non-null message is a NUL-terminated heap string made by the shim; it is read
    // once here and then released by the shim's allocator.
    let text = unsafe { CStr::from_ptr(message) }
        .to_string_lossy()
        .into_owned();
    unsafe { jbolt_quant_string_free(message) };
    Err(Error::Torch(format!("{op}: {}", trim_torch_message(&text))))
}

/// Signature shared by the two tensor-making entry points of the shim.
type MakeTensor = unsafe extern "C" fn(
    *const c_void,
    *const c_void,
    *const c_void,
    *mut *mut c_void,
) -> *mut c_char;

/// Calls a tensor-making entry point and takes ownership of its result.
fn make_tensor(
    f: MakeTensor,
    op: &str,
    a: &Tensor,
    scales: &Tensor,
    zero_points: &Tensor,
) -> Result<Tensor> {
    let mut out: *mut c_void = std::ptr::null_mut();
    // SAFETY: the three tensors outlive the call and are only read; on success `out` is a new
    // heap tensor that nobody else owns.
    let message = unsafe {
        f(
            a.as_ptr() as *const c_void,
            scales.as_ptr() as *const c_void,
            zero_points.as_ptr() as *const c_void,
            &mut out,
        )
    };
    check(message, op)?;
    if out.is_null() {
        return Err(Error::Internal(format!("{op} returned no tensor")));
    }
    // SAFETY: `out` is a heap `at::Tensor*` owned by nobody else; the Rust Tensor takes it.
    Ok(unsafe { Tensor::from_ptr(out as *mut _) })
}

/// `torch.quantize_per_channel(weight, scales, zero_points, 0, torch.qint8)`: `weight`
/// `[out, in]` `f32`, `scales` `[out]` `f64`, `zero_points` `[out]` `Int64`.
pub(crate) fn quantize_per_channel(
    weight: &Tensor,
    scales: &Tensor,
    zero_points: &Tensor,
) -> Result<Tensor> {
    make_tensor(
        jbolt_quant_quantize_per_channel,
        "int8 quantize per channel",
        weight,
        scales,
        zero_points,
    )
}

/// `torch._make_per_channel_quantized_tensor(int8, scales, zero_points, 0)`: `int8`
/// `[out, in]` `Int8`, `scales` `[out]` `f64`, `zero_points` `[out]` `Int64`.
pub(crate) fn make_per_channel(
    int8: &Tensor,
    scales: &Tensor,
    zero_points: &Tensor,
) -> Result<Tensor> {
    make_tensor(
        jbolt_quant_make_per_channel,
        "int8 make per channel",
        int8,
        scales,
        zero_points,
    )
}

/// A weight packed by `quantized::linear_prepack` (an fbgemm `LinearPackedParamsBase`).
///
/// Owns the heap `c10::IValue` made by the shim and frees it in Drop.
#[derive(Debug)]
pub(crate) struct PackedWeight {
    ptr: *mut c_void,
}

// SAFETY (Send): the pointer is owned uniquely by this struct and the object behind it (an
// IValue holding an atomically reference-counted custom-class object) may be released from any
// thread.
unsafe impl Send for PackedWeight {}
// SAFETY (Sync): the only operation through a shared reference is `linear_dynamic`, which
// reads the packed weight and bias and allocates its own buffers; libtorch runs one packed
// module from many threads the same way (TorchScript inference of dynamically quantized
// models), so concurrent calls are safe.
unsafe impl Sync for PackedWeight {}

impl PackedWeight {
    /// Packs a per-channel `QInt8` weight `[out, in]` with an optional `f32` bias `[out]`.
    pub(crate) fn prepack(qweight: &Tensor, bias: Option<&Tensor>) -> Result<Self> {
        let mut ptr: *mut c_void = std::ptr::null_mut();
        let bias_ptr = bias.map_or(std::ptr::null(), |b| b.as_ptr() as *const c_void);
        // SAFETY: both tensors outlive the call; the shim only reads them and writes `ptr`.
        let message = unsafe {
            jbolt_quant_linear_prepack(qweight.as_ptr() as *const c_void, bias_ptr, &mut ptr)
        };
        check(message, "int8 linear prepack")?;
        if ptr.is_null() {
            return Err(Error::Internal(
                "int8 linear prepack returned no weight".into(),
            ));
        }
        Ok(PackedWeight { ptr })
    }

    /// Runs `quantized::linear_dynamic` on an `f32` input `[*, in]`.
    pub(crate) fn linear_dynamic(&self, input: &Tensor, reduce_range: bool) -> Result<Tensor> {
        let mut out: *mut c_void = std::ptr::null_mut();
        // SAFETY: `input` and the packed weight outlive the call; on success `out` is a new
        // heap tensor that nobody else owns.
        let message = unsafe {
            jbolt_quant_linear_dynamic(
                input.as_ptr() as *const c_void,
                self.ptr,
                reduce_range,
                &mut out,
            )
        };
        check(message, "int8 linear")?;
        if out.is_null() {
            return Err(Error::Internal("int8 linear returned no tensor".into()));
        }
        // SAFETY: `out` is a heap `at::Tensor*` owned by nobody else; the Rust Tensor takes it.
        Ok(unsafe { Tensor::from_ptr(out as *mut _) })
    }
}

impl Drop for PackedWeight {
    fn drop(&mut self) {
        // SAFETY: `ptr` came from the shim's prepack and is freed exactly once, here.
        unsafe { jbolt_quant_packed_free(self.ptr) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::Kind;

    #[test]
    fn a_cpp_exception_comes_back_as_a_torch_error() {
        // linear_prepack refuses a float (not quantized) weight: libtorch throws in C++, the
        // shim catches it and the message arrives here without the C++ backtrace.
        let w = Tensor::zeros([4, 3], (Kind::Float, tch::Device::Cpu));
        let err = PackedWeight::prepack(&w, None).unwrap_err();
        assert_eq!(err.code(), "TORCH");
        let text = err.to_string();
        assert!(
            text.starts_with("libtorch error: int8 linear prepack: "),
            "{text}"
        );
        assert!(!text.contains("frame #"), "{text}");
    }
}
