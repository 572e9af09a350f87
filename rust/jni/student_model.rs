//! Exports of `dev.jbolt.distill.NativeBridge` that serve `StudentModel`: loading a bundle as a
//! [`Predictor`] handle, predictions, model info, release, and evaluation of a bundle.
//!
//! Ownership: `modelLoad` moves a `Predictor` to the heap and hands its address to Java, which
//! owns it (in `StudentModel`, a `NativeHandle`) until it passes it back once to `modelFree`.
//! Between the two, Java may call the prediction exports from many threads at once with the same
//! handle, each holding `NativeHandle`'s read lock, and `modelFree` runs only under the write
//! lock, after every call in flight has returned. So the `Predictor` is shared (`&Predictor`)
//! across threads while it lives, which is why it must be `Sync` (checked below).

use std::path::Path;

use ::jni::objects::{JClass, JFloatArray, JObjectArray, JString};
use ::jni::sys::{jint, jlong};
use ::jni::EnvUnowned;

use super::native_bridge::read_floats;
use super::{call, free_handle, into_handle, read_string, with_handle};
use crate::config::EvalRequest;
use crate::error::{Error, Result};
use crate::export;
use crate::pipeline;
use crate::serve::{Prediction, Predictor};

/// Compile-time proof that a `Predictor` may be shared across the Java threads that call it.
const _: fn() = || {
    fn shared_across_threads<T: Send + Sync>() {}
    shared_across_threads::<Predictor>();
};

/// Turns predictions into the JSON array Java parses.
fn predictions_json(predictions: &[Prediction]) -> Result<String> {
    serde_json::to_string(predictions)
        .map_err(|e| Error::Internal(format!("cannot serialise predictions: {e}")))
}

/// `static native long modelLoad(String dir)`: loads a bundle; Java owns the returned handle
/// and frees it with `modelFree`.
#[no_mangle]
pub extern "system" fn Java_dev_jbolt_distill_NativeBridge_modelLoad<'local>(
    mut env: EnvUnowned<'local>,
    _class: JClass<'local>,
    dir: JString<'local>,
) -> jlong {
    call(&mut env, "modelLoad", |env| {
        let dir = read_string(env, &dir, "dir")?;
        let predictor = Predictor::load(Path::new(&dir))?;
        Ok(into_handle::<Predictor>(predictor))
    })
}

/// `static native String modelPredictTexts(long handle, String[] texts)`: a JSON array of
/// `serve::Prediction`, one per text.
#[no_mangle]
pub extern "system" fn Java_dev_jbolt_distill_NativeBridge_modelPredictTexts<'local>(
    mut env: EnvUnowned<'local>,
    _class: JClass<'local>,
    handle: jlong,
    texts: JObjectArray<'local, JString<'local>>,
) -> JString<'local> {
    call(&mut env, "modelPredictTexts", |env| {
        if texts.is_null() {
            return Err(Error::invalid_argument("texts", "must not be null"));
        }
        let n = texts.len(env)?;
        let mut values = Vec::with_capacity(n);
        for i in 0..n {
            // One local frame per element, so a large batch does not exhaust local references.
            let text = env.with_local_frame(2, |env| -> Result<String> {
                let element = texts.get_element(env, i)?;
                read_string(env, &element, &format!("texts[{i}]"))
            })?;
            values.push(text);
        }
        // SAFETY: Java passes a live handle from `modelLoad` while holding NativeHandle's read
        // lock, so `modelFree` cannot run until this returns; ownership stays with Java.
        let predictions =
            unsafe { with_handle::<Predictor, _>(handle, "handle", |p| p.predict_texts(&values))? };
        Ok(env.new_string(predictions_json(&predictions)?)?)
    })
}

/// `static native String modelPredictFeatures(long handle, float[] values, int dim)`: a JSON
/// array of `serve::Prediction`, one per row of `dim` values.
#[no_mangle]
pub extern "system" fn Java_dev_jbolt_distill_NativeBridge_modelPredictFeatures<'local>(
    mut env: EnvUnowned<'local>,
    _class: JClass<'local>,
    handle: jlong,
    values: JFloatArray<'local>,
    dim: jint,
) -> JString<'local> {
    call(&mut env, "modelPredictFeatures", |env| {
        let values = read_floats(env, &values, "values")?;
        let dim = usize::try_from(dim)
            .ok()
            .filter(|&d| d >= 1)
            .ok_or_else(|| {
                Error::invalid_argument("dim", format!("must be at least 1, got {dim}"))
            })?;
        // SAFETY: as in `modelPredictTexts`: a live handle, kept alive by Java's read lock.
        let predictions = unsafe {
            with_handle::<Predictor, _>(handle, "handle", |p| p.predict_features(&values, dim))?
        };
        Ok(env.new_string(predictions_json(&predictions)?)?)
    })
}

/// `static native String modelInfo(long handle)`: the bundle description of
/// `Predictor::info`.
#[no_mangle]
pub extern "system" fn Java_dev_jbolt_distill_NativeBridge_modelInfo<'local>(
    mut env: EnvUnowned<'local>,
    _class: JClass<'local>,
    handle: jlong,
) -> JString<'local> {
    call(&mut env, "modelInfo", |env| {
        // SAFETY: as in `modelPredictTexts`: a live handle; ownership stays with Java.
        let info = unsafe { with_handle::<Predictor, _>(handle, "handle", |p| Ok(p.info()))? };
        Ok(env.new_string(info.to_string())?)
    })
}

/// `static native void modelFree(long handle)`: releases a model; Java calls it exactly once
/// per handle (0 is ignored).
#[no_mangle]
pub extern "system" fn Java_dev_jbolt_distill_NativeBridge_modelFree<'local>(
    mut env: EnvUnowned<'local>,
    _class: JClass<'local>,
    handle: jlong,
) {
    call(&mut env, "modelFree", |_env| {
        // SAFETY: ownership returns to Rust here, under NativeHandle's write lock (no call in
        // flight); Java never passes this handle again.
        unsafe { free_handle::<Predictor>(handle) };
        Ok(())
    })
}

/// `static native String evaluate(String modelDir, String requestJson)`: the evaluation JSON
/// of `pipeline::evaluate` for the bundle in `modelDir` (loaded afresh, not shared with any
/// handle).
#[no_mangle]
pub extern "system" fn Java_dev_jbolt_distill_NativeBridge_evaluate<'local>(
    mut env: EnvUnowned<'local>,
    _class: JClass<'local>,
    model_dir: JString<'local>,
    request_json: JString<'local>,
) -> JString<'local> {
    call(&mut env, "evaluate", |env| {
        let dir = read_string(env, &model_dir, "modelDir")?;
        let json = read_string(env, &request_json, "requestJson")?;
        let request = EvalRequest::from_json(&json)?;
        let metrics = pipeline::evaluate(Path::new(&dir), &request)?;
        Ok(env.new_string(metrics.to_string())?)
    })
}

/// `static native void exportTorchScript(String bundleDir, String out)`: writes the bundle in
/// `bundleDir` as a TorchScript file at `out` (`export::export_torchscript`; the bundle is
/// loaded afresh, not shared with any handle).
#[no_mangle]
pub extern "system" fn Java_dev_jbolt_distill_NativeBridge_exportTorchScript<'local>(
    mut env: EnvUnowned<'local>,
    _class: JClass<'local>,
    bundle_dir: JString<'local>,
    out: JString<'local>,
) {
    call(&mut env, "exportTorchScript", |env| {
        let dir = read_string(env, &bundle_dir, "bundleDir")?;
        let out = read_string(env, &out, "out")?;
        export::export_torchscript(Path::new(&dir), Path::new(&out))?;
        Ok(())
    })
}
