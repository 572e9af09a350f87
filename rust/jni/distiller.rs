//! Exports of `dev.jbolt.distill.NativeBridge` that serve `JboltDistiller`: running a
//! distillation with progress callbacks, and validating a request without running it.
//!
//! The run happens on the calling Java thread. Progress events go to the Java `EventSink` on
//! that same thread, through the `Env` of the native call (no attaching, no global references:
//! the sink is only used while the call lasts). Each callback runs in its own JNI local frame so
//! that a run with many thousands of steps does not pile up local references.

use ::jni::objects::{JClass, JObject, JString, JValue};
use ::jni::{jni_sig, jni_str, Env, EnvUnowned};

use super::{call, read_string};
use crate::config::DistillRequest;
use crate::distill::events::Event;
use crate::error::{Error, Result};
use crate::pipeline;

/// `static native String distill(String requestJson, EventSink sink)`: runs the request and
/// returns the report JSON.
///
/// `sink.onEvent(String)` is called on this thread for every event; `false` cancels the run
/// (the engine stops at its next check and returns [`Error::Cancelled`]). If the callback itself
/// throws, no further callbacks are made, the run is cancelled, and the Java exception is what
/// the caller sees.
#[no_mangle]
pub extern "system" fn Java_dev_jbolt_distill_NativeBridge_distill<'local>(
    mut env: EnvUnowned<'local>,
    _class: JClass<'local>,
    request_json: JString<'local>,
    sink: JObject<'local>,
) -> JString<'local> {
    call(&mut env, "distill", |env| {
        let json = read_string(env, &request_json, "requestJson")?;
        if sink.is_null() {
            return Err(Error::invalid_argument("sink", "must not be null"));
        }
        let request = DistillRequest::from_json(&json)?;

        let mut callback_failed = false;
        let outcome = {
            let mut on_event = |event: &Event| -> bool {
                if callback_failed {
                    return false;
                }
                match deliver(env, &sink, event) {
                    Ok(go_on) => go_on,
                    Err(err) => {
                        log::debug!("event callback failed, cancelling the run: {err}");
                        callback_failed = true;
                        false
                    }
                }
            };
            pipeline::distill(&request, &mut on_event)
        };

        if callback_failed && env.exception_check() {
            // The pending Java exception is the real failure; the error policy lets it through.
            return Err(Error::Internal("the event callback threw".into()));
        }
        let report = outcome?;
        Ok(env.new_string(report.to_string())?)
    })
}

/// Sends one event to `sink.onEvent` and returns its answer (`true` = go on).
fn deliver(env: &mut Env<'_>, sink: &JObject<'_>, event: &Event) -> Result<bool> {
    let json = serde_json::to_string(event)
        .map_err(|e| Error::Internal(format!("cannot serialise event {event:?}: {e}")))?;
    // The frame frees the string and the call's local references when the closure returns.
    env.with_local_frame(4, |env| -> Result<bool> {
        let text = env.new_string(&json)?;
        let answer = env
            .call_method(
                sink,
                jni_str!("onEvent"),
                jni_sig!("(Ljava/lang/String;)Z"),
                &[JValue::Object(&text)],
            )?
            .z()?;
        Ok(answer)
    })
}

/// `static native String validateRequest(String requestJson)`: parses and validates a request
/// exactly as `distill` does, without running it, and returns it with every default filled in.
#[no_mangle]
pub extern "system" fn Java_dev_jbolt_distill_NativeBridge_validateRequest<'local>(
    mut env: EnvUnowned<'local>,
    _class: JClass<'local>,
    request_json: JString<'local>,
) -> JString<'local> {
    call(&mut env, "validateRequest", |env| {
        let json = read_string(env, &request_json, "requestJson")?;
        let request = DistillRequest::from_json(&json)?;
        let normalised = serde_json::to_string(&request)
            .map_err(|e| Error::Internal(format!("cannot serialise the request: {e}")))?;
        Ok(env.new_string(normalised)?)
    })
}
