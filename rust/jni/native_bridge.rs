//! Exports of `dev.jbolt.distill.NativeBridge`: versions, logging, threads, the self-test
//! computations and the `FloatTensor` handle.
//!
//! Each export converts its arguments, calls plain Rust, and converts the result; the body runs
//! inside [`super::call`], which maps errors and panics to Java exceptions.

use std::sync::Mutex;

use ::jni::objects::{JClass, JFloatArray, JLongArray, JString};
use ::jni::sys::{jint, jlong};
use ::jni::{Env, EnvUnowned};
use tch::Tensor;

use super::{call, free_handle, into_handle, read_string, with_handle};
use crate::error::{Error, Result};

/// A tensor owned by a Java `FloatTensor`; the mutex makes the shared reference `Sync`
/// (`tch::Tensor` is `Send` but not `Sync`).
type TensorBox = Mutex<Tensor>;

/// `static native String nativeVersion()`: the crate version, compared with the jar's.
#[no_mangle]
pub extern "system" fn Java_dev_jbolt_distill_NativeBridge_nativeVersion<'local>(
    mut env: EnvUnowned<'local>,
    _class: JClass<'local>,
) -> JString<'local> {
    call(&mut env, "nativeVersion", |env| {
        Ok(env.new_string(env!("CARGO_PKG_VERSION"))?)
    })
}

/// `static native String libtorchVersion()`: the version of the libtorch loaded in-process.
#[no_mangle]
pub extern "system" fn Java_dev_jbolt_distill_NativeBridge_libtorchVersion<'local>(
    mut env: EnvUnowned<'local>,
    _class: JClass<'local>,
) -> JString<'local> {
    call(&mut env, "libtorchVersion", |env| {
        let version = loaded_libtorch_version()?;
        Ok(env.new_string(version)?)
    })
}

/// `static native void setLogLevel(int level)`: 0 off, 1 error, 2 warn, 3 info, 4 debug,
/// 5 trace.
#[no_mangle]
pub extern "system" fn Java_dev_jbolt_distill_NativeBridge_setLogLevel<'local>(
    mut env: EnvUnowned<'local>,
    _class: JClass<'local>,
    level: jint,
) {
    call(&mut env, "setLogLevel", |env| {
        super::set_log_level(env, level)
    })
}

/// `static native void setThreads(int threads)`: libtorch intra-op threads for threads that
/// have not used torch yet.
#[no_mangle]
pub extern "system" fn Java_dev_jbolt_distill_NativeBridge_setThreads<'local>(
    mut env: EnvUnowned<'local>,
    _class: JClass<'local>,
    threads: jint,
) {
    call(&mut env, "setThreads", |_env| {
        if threads < 1 {
            return Err(Error::invalid_argument(
                "threads",
                format!("must be at least 1, got {threads}"),
            ));
        }
        tch::set_num_threads(threads);
        log::debug!("libtorch intra-op threads set to {threads}");
        Ok(())
    })
}

/// `static native int getThreads()`: libtorch's intra-op thread count.
#[no_mangle]
pub extern "system" fn Java_dev_jbolt_distill_NativeBridge_getThreads<'local>(
    mut env: EnvUnowned<'local>,
    _class: JClass<'local>,
) -> jint {
    call(&mut env, "getThreads", |_env| Ok(tch::get_num_threads()))
}

/// `static native float[] matmul(float[] a, int aRows, int aCols, float[] b, int bCols)`.
///
/// Row-major `a` (`aRows x aCols`) times row-major `b` (`b.length / bCols` rows); libtorch
/// itself rejects mismatched inner dimensions.
#[no_mangle]
pub extern "system" fn Java_dev_jbolt_distill_NativeBridge_matmul<'local>(
    mut env: EnvUnowned<'local>,
    _class: JClass<'local>,
    a: JFloatArray<'local>,
    a_rows: jint,
    a_cols: jint,
    b: JFloatArray<'local>,
    b_cols: jint,
) -> JFloatArray<'local> {
    call(&mut env, "matmul", |env| {
        let a = read_floats(env, &a, "a")?;
        let b = read_floats(env, &b, "b")?;
        let product = matmul(&a, a_rows, a_cols, &b, b_cols)?;
        write_floats(env, &product)
    })
}

/// `static native void selfTestPanic(String message)`: panics on purpose, so tests can prove
/// that a panic becomes a Java exception and the JVM keeps running.
#[no_mangle]
pub extern "system" fn Java_dev_jbolt_distill_NativeBridge_selfTestPanic<'local>(
    mut env: EnvUnowned<'local>,
    _class: JClass<'local>,
    message: JString<'local>,
) {
    call(&mut env, "selfTestPanic", |env| {
        let message = read_string(env, &message, "message")?;
        panic!("self-test panic: {message}");
    })
}

/// `static native long tensorCreate(float[] data, long[] shape)`: a new float32 tensor; Java
/// owns the returned handle and frees it with `tensorFree`.
#[no_mangle]
pub extern "system" fn Java_dev_jbolt_distill_NativeBridge_tensorCreate<'local>(
    mut env: EnvUnowned<'local>,
    _class: JClass<'local>,
    data: JFloatArray<'local>,
    shape: JLongArray<'local>,
) -> jlong {
    call(&mut env, "tensorCreate", |env| {
        let data = read_floats(env, &data, "data")?;
        if shape.is_null() {
            return Err(Error::invalid_argument("shape", "must not be null"));
        }
        let mut dims = vec![0i64; shape.len(env)?];
        shape.get_region(env, 0, &mut dims)?;
        let tensor = tensor_from(&data, &dims)?;
        Ok(into_handle::<TensorBox>(Mutex::new(tensor)))
    })
}

/// `static native long tensorMatmul(long a, long b)`: a new tensor `a @ b` (broadcasting as
/// `torch.matmul`); Java owns the returned handle, the inputs stay owned by their objects.
#[no_mangle]
pub extern "system" fn Java_dev_jbolt_distill_NativeBridge_tensorMatmul<'local>(
    mut env: EnvUnowned<'local>,
    _class: JClass<'local>,
    a: jlong,
    b: jlong,
) -> jlong {
    call(&mut env, "tensorMatmul", |_env| {
        // SAFETY: Java passes live handles made by `tensorCreate`/`tensorMatmul` (NativeHandle).
        let product = unsafe {
            with_handle::<TensorBox, _>(a, "a", |a| {
                with_handle::<TensorBox, _>(b, "b", |b| {
                    let a = lock(a)?;
                    let b = lock(b)?;
                    Ok(a.f_matmul(&b)?)
                })
            })?
        };
        Ok(into_handle::<TensorBox>(Mutex::new(product)))
    })
}

/// `static native float[] tensorData(long handle)`: the elements in row-major order.
#[no_mangle]
pub extern "system" fn Java_dev_jbolt_distill_NativeBridge_tensorData<'local>(
    mut env: EnvUnowned<'local>,
    _class: JClass<'local>,
    handle: jlong,
) -> JFloatArray<'local> {
    call(&mut env, "tensorData", |env| {
        // SAFETY: Java passes a live handle made by this module (NativeHandle guarantees it).
        let values = unsafe {
            with_handle::<TensorBox, _>(handle, "handle", |t| {
                let t = lock(t)?;
                Ok(Vec::<f32>::try_from(&t.f_reshape([-1])?)?)
            })?
        };
        write_floats(env, &values)
    })
}

/// `static native long[] tensorShape(long handle)`.
#[no_mangle]
pub extern "system" fn Java_dev_jbolt_distill_NativeBridge_tensorShape<'local>(
    mut env: EnvUnowned<'local>,
    _class: JClass<'local>,
    handle: jlong,
) -> JLongArray<'local> {
    call(&mut env, "tensorShape", |env| {
        // SAFETY: Java passes a live handle made by this module (NativeHandle guarantees it).
        let dims =
            unsafe { with_handle::<TensorBox, _>(handle, "handle", |t| Ok(lock(t)?.size()))? };
        let out = JLongArray::new(env, dims.len())?;
        out.set_region(env, 0, &dims)?;
        Ok(out)
    })
}

/// `static native void tensorFree(long handle)`: releases a tensor; Java calls it exactly
/// once per handle (0 is ignored).
#[no_mangle]
pub extern "system" fn Java_dev_jbolt_distill_NativeBridge_tensorFree<'local>(
    mut env: EnvUnowned<'local>,
    _class: JClass<'local>,
    handle: jlong,
) {
    call(&mut env, "tensorFree", |_env| {
        // SAFETY: ownership returns to Rust here; NativeHandle never passes the handle again.
        unsafe { free_handle::<TensorBox>(handle) };
        Ok(())
    })
}

/// Copies a Java `float[]` argument into a vector, rejecting `null`.
pub(super) fn read_floats(env: &Env<'_>, array: &JFloatArray<'_>, field: &str) -> Result<Vec<f32>> {
    if array.is_null() {
        return Err(Error::invalid_argument(field, "must not be null"));
    }
    let mut values = vec![0f32; array.len(env)?];
    array.get_region(env, 0, &mut values)?;
    Ok(values)
}

/// Copies a slice into a new Java `float[]`.
fn write_floats<'local>(env: &mut Env<'local>, values: &[f32]) -> Result<JFloatArray<'local>> {
    let out = JFloatArray::new(env, values.len())?;
    out.set_region(env, 0, values)?;
    Ok(out)
}

/// Locks a tensor box; a poisoned lock means an earlier call panicked while holding it.
fn lock(t: &TensorBox) -> Result<std::sync::MutexGuard<'_, Tensor>> {
    t.lock()
        .map_err(|_| Error::Internal("tensor lock poisoned by an earlier panic".into()))
}

/// Builds a float32 tensor of shape `dims` from `data`, checking that the sizes agree.
fn tensor_from(data: &[f32], dims: &[i64]) -> Result<Tensor> {
    if let Some(bad) = dims.iter().find(|&&d| d < 0) {
        return Err(Error::invalid_argument(
            "shape",
            format!("dimensions must be >= 0, got {bad}"),
        ));
    }
    let expected = dims.iter().try_fold(1i64, |acc, &d| acc.checked_mul(d));
    if expected != Some(data.len() as i64) {
        return Err(Error::invalid_argument(
            "data",
            format!(
                "shape {dims:?} needs {expected:?} values, got {}",
                data.len()
            ),
        ));
    }
    Ok(Tensor::f_from_slice(data)?.f_reshape(dims)?)
}

/// Row-major matrix product through libtorch: `a` is `a_rows x a_cols`, `b` has `b_cols`
/// columns and `b.len() / b_cols` rows. Returns the `a_rows x b_cols` product, row-major.
///
/// Negative or inconsistent sizes are invalid arguments; mismatched inner dimensions are left
/// to libtorch (`torch.matmul`), whose error message is passed on.
pub(crate) fn matmul(
    a: &[f32],
    a_rows: i32,
    a_cols: i32,
    b: &[f32],
    b_cols: i32,
) -> Result<Vec<f32>> {
    for (field, value) in [("aRows", a_rows), ("aCols", a_cols), ("bCols", b_cols)] {
        if value < 1 {
            return Err(Error::invalid_argument(
                field,
                format!("must be at least 1, got {value}"),
            ));
        }
    }
    let b_cols = i64::from(b_cols);
    if b.len() as i64 % b_cols != 0 {
        return Err(Error::invalid_argument(
            "b",
            format!("length {} is not a multiple of bCols {b_cols}", b.len()),
        ));
    }
    let a = tensor_from(a, &[i64::from(a_rows), i64::from(a_cols)])?;
    let b = tensor_from(b, &[b.len() as i64 / b_cols, b_cols])?;
    let product = a.f_matmul(&b)?;
    Ok(Vec::<f32>::try_from(&product.f_reshape([-1])?)?)
}

/// The version of the libtorch mapped into this process, read beside the loaded
/// `libtorch_cpu` (`<torch>/version.py`, else `<torch>/build-version`).
///
/// Linux only (it reads `/proc/self/maps`); elsewhere it reports not found.
pub(crate) fn loaded_libtorch_version() -> Result<String> {
    let maps =
        std::fs::read_to_string("/proc/self/maps").map_err(|e| Error::io("/proc/self/maps", e))?;
    let lib = maps
        .lines()
        .filter_map(|line| line.split_whitespace().nth(5))
        .find(|path| path.contains("libtorch_cpu."))
        .ok_or_else(|| Error::NotFound("libtorch_cpu is not loaded in this process".into()))?;
    let torch_dir = std::path::Path::new(lib)
        .parent()
        .and_then(std::path::Path::parent)
        .ok_or_else(|| Error::NotFound(format!("no torch directory above {lib}")))?;
    let version_py = torch_dir.join("version.py");
    if let Ok(text) = std::fs::read_to_string(&version_py) {
        let version = text
            .lines()
            .find_map(|l| l.trim().strip_prefix("__version__"))
            .map(|rest| {
                rest.trim_start_matches([' ', '='])
                    .trim()
                    .trim_matches(['\'', '"'])
            });
        if let Some(version) = version {
            return Ok(version.to_string());
        }
    }
    let build_version = torch_dir.join("build-version");
    std::fs::read_to_string(&build_version)
        .map(|s| s.trim().to_string())
        .map_err(|_| {
            Error::NotFound(format!(
                "no libtorch version in {} or {}",
                version_py.display(),
                build_version.display()
            ))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matmul_matches_a_hand_computed_product() -> Result<()> {
        // [[1,2,3],[4,5,6]] @ [[7,8],[9,10],[11,12]] = [[58,64],[139,154]]
        let product = matmul(
            &[1., 2., 3., 4., 5., 6.],
            2,
            3,
            &[7., 8., 9., 10., 11., 12.],
            2,
        )?;
        assert_eq!(product, vec![58., 64., 139., 154.]);
        Ok(())
    }

    #[test]
    fn matmul_keeps_the_libtorch_message_for_a_shape_mismatch() {
        let err = matmul(&[1.; 6], 2, 3, &[1.; 8], 2).unwrap_err();
        assert_eq!(err.code(), "TORCH");
        let text = err.to_string();
        assert!(text.contains("2x3") && text.contains("4x2"), "{text}");
        assert!(!text.contains("frame #"), "backtrace kept: {text}");
    }

    #[test]
    fn matmul_rejects_negative_sizes_as_invalid_arguments() {
        let err = matmul(&[1.; 6], -2, 3, &[1.; 6], 2).unwrap_err();
        assert_eq!(err.code(), "INVALID_ARGUMENT");
        assert!(err.to_string().contains("aRows"), "{err}");
    }

    #[test]
    fn loaded_libtorch_is_2_13() -> Result<()> {
        // Linking the test binary against libtorch maps libtorch_cpu into the process.
        let _ = Tensor::f_from_slice(&[1f32])?;
        let version = loaded_libtorch_version()?;
        assert!(version.starts_with("2.13."), "{version}");
        Ok(())
    }
}
