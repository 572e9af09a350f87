//! Exports of `dev.jbolt.distill.NativeBridge` that serve `Models`: the teacher registry (the
//! model home, what it holds, and how a name resolves). No native objects cross here.

use ::jni::objects::{JClass, JString};
use ::jni::EnvUnowned;

use super::{call, read_string};
use crate::error::Error;
use crate::registry;

/// `static native String listModels()`: a JSON array of `registry::ModelEntry`
/// (`name`, `path`, `format`), sorted by name.
#[no_mangle]
pub extern "system" fn Java_dev_jbolt_distill_NativeBridge_listModels<'local>(
    mut env: EnvUnowned<'local>,
    _class: JClass<'local>,
) -> JString<'local> {
    call(&mut env, "listModels", |env| {
        let models = registry::list_models()?;
        let json = serde_json::to_string(&models)
            .map_err(|e| Error::Internal(format!("cannot serialise the model list: {e}")))?;
        Ok(env.new_string(json)?)
    })
}

/// `static native String modelHome()`: `$JBOLT_MODEL_HOME`, else `~/.jbolt/models`.
#[no_mangle]
pub extern "system" fn Java_dev_jbolt_distill_NativeBridge_modelHome<'local>(
    mut env: EnvUnowned<'local>,
    _class: JClass<'local>,
) -> JString<'local> {
    call(&mut env, "modelHome", |env| {
        let home = registry::model_home();
        Ok(env.new_string(home.to_string_lossy())?)
    })
}

/// `static native String resolveTeacher(String nameOrPath)`: JSON `{"path", "format"}` of the
/// teacher a name or path resolves to.
#[no_mangle]
pub extern "system" fn Java_dev_jbolt_distill_NativeBridge_resolveTeacher<'local>(
    mut env: EnvUnowned<'local>,
    _class: JClass<'local>,
    name_or_path: JString<'local>,
) -> JString<'local> {
    call(&mut env, "resolveTeacher", |env| {
        let teacher = read_string(env, &name_or_path, "nameOrPath")?;
        let (path, format) = registry::resolve(&teacher)?;
        let json = serde_json::json!({ "path": path.to_string_lossy(), "format": format });
        Ok(env.new_string(json.to_string())?)
    })
}
