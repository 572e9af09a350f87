//! The JNI boundary: the wrapper every export runs in, error mapping, panic hook, log bridge.
//!
//! Every exported function hands its body to [`call`] as a closure returning
//! [`crate::error::Result`]. [`call`] runs it inside `catch_unwind` (a panic that crossed an
//! `extern "system"` function would abort the JVM) and turns an error or a panic into one Java
//! exception: the static factory `dev.jbolt.distill.JboltException.fromNative(code, message)`
//! picks the subclass from the code of [`Error::code`].
//!
//! Rust `log` records are forwarded to `dev.jbolt.distill.internal.NativeLog.log`, which hands
//! them to SLF4J. Java tells Rust the most verbose level it has enabled (`setLogLevel`), so a
//! disabled record costs one comparison and never touches the JVM.

mod distiller;
mod handle;
mod models;
mod native_bridge;
mod student_model;

#[allow(unused_imports)]
pub(crate) use handle::{free_handle, into_handle, with_handle};

use std::cell::{Cell, RefCell};
use std::ffi::c_void;
use std::panic::{self, AssertUnwindSafe};
use std::sync::{Once, OnceLock};

use ::jni::errors::ErrorPolicy;
use ::jni::objects::{JClass, JString, JValue};
use ::jni::refs::Global;
use ::jni::sys::{jint, JNI_VERSION_1_8};
use ::jni::{jni_sig, jni_str, Env, EnvUnowned, JavaVM};

use crate::error::Error;

/// Java class that receives forwarded log records (cached as a global reference).
static LOG_CLASS: OnceLock<Global<JClass<'static>>> = OnceLock::new();

/// Installs the panic hook and the logger exactly once per process.
static INSTALL: Once = Once::new();

/// The logger instance registered with the `log` crate.
static LOGGER: JavaLogger = JavaLogger;

thread_local! {
    /// Message and location of the last panic on this thread, written by the panic hook and
    /// taken by [`JboltPolicy::on_panic`] so the Java exception says where Rust panicked.
    static LAST_PANIC: RefCell<Option<String>> = const { RefCell::new(None) };

    /// Set while this thread forwards a log record, so that logging from inside the bridge
    /// (for example a JNI error while calling Java) cannot recurse.
    static IN_LOG_BRIDGE: Cell<bool> = const { Cell::new(false) };
}

impl From<::jni::errors::Error> for Error {
    /// A failed JNI call is a bug on our side of the boundary, or a pending Java exception.
    fn from(err: ::jni::errors::Error) -> Self {
        Error::Internal(format!("jni call failed: {err}"))
    }
}

/// Called by the JVM when `System.load` loads this library.
///
/// Caches the `JavaVM` (the jni crate keeps it as a process-wide singleton, which worker
/// threads use to attach when they log), installs the panic hook and registers the logger.
/// Logging stays off until Java calls `setLogLevel`.
///
/// # Safety
///
/// Called by the JVM with a valid `JavaVM` pointer.
#[no_mangle]
pub unsafe extern "system" fn JNI_OnLoad(
    vm: *mut ::jni::sys::JavaVM,
    _reserved: *mut c_void,
) -> jint {
    let outcome = panic::catch_unwind(|| {
        if !vm.is_null() {
            // SAFETY: the JVM passes a valid, non-null JavaVM pointer that outlives the library.
            let _vm = unsafe { JavaVM::from_raw(vm) };
        }
        install_hooks();
    });
    if outcome.is_err() {
        // Nothing sensible can be reported yet; the version check in Java will fail instead.
        return ::jni::sys::JNI_ERR;
    }
    JNI_VERSION_1_8
}

/// Installs the panic hook and registers [`JavaLogger`] with the `log` crate, once.
fn install_hooks() {
    INSTALL.call_once(|| {
        panic::set_hook(Box::new(|info| {
            let payload = panic_payload_text(info.payload());
            let location = info
                .location()
                .map(|l| format!("{}:{}", l.file(), l.line()))
                .unwrap_or_else(|| "unknown location".to_string());
            let text = format!("{payload} (at {location})");
            log::error!(target: "jbolt_distill::panic", "rust panic: {text}");
            LAST_PANIC.with(|slot| *slot.borrow_mut() = Some(text));
        }));
        // A second logger (another library in the same process) makes this fail; Rust records
        // of this library then go to that logger, which is acceptable.
        if log::set_logger(&LOGGER).is_ok() {
            log::set_max_level(log::LevelFilter::Off);
        }
    });
}

/// Text of a panic payload: the message of `panic!` with a literal or a formatted string.
fn panic_payload_text(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&'static str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "panic with a non-text payload".to_string()
    }
}

/// Runs the body of an exported function and maps its error or panic to a Java exception.
///
/// `op` names the operation in the exception message (for example `"matmul"`). On error or
/// panic a `JboltException` subclass is thrown and `T::default()` is returned to the JVM, which
/// ignores the return value of a method that threw.
pub(crate) fn call<'local, T, F>(env: &mut EnvUnowned<'local>, op: &'static str, body: F) -> T
where
    T: Default,
    F: FnOnce(&mut Env<'local>) -> crate::error::Result<T>,
{
    env.with_env(body).resolve_with::<JboltPolicy, _>(|| op)
}

/// The error policy of [`call`]: throws `JboltException.fromNative(code, message)`.
struct JboltPolicy;

impl<T: Default> ErrorPolicy<T, Error> for JboltPolicy {
    type Captures<'unowned_env_local: 'native_method, 'native_method> = &'static str;

    fn on_error<'unowned_env_local: 'native_method, 'native_method>(
        env: &mut Env<'unowned_env_local>,
        op: &mut &'static str,
        err: Error,
    ) -> ::jni::errors::Result<T> {
        if env.exception_check() {
            // A Java exception is already pending (a callback threw): let it propagate.
            return Ok(T::default());
        }
        log::debug!("native call {op} failed: {err}");
        throw_jbolt(env, err.code(), &format!("Native call {op} failed: {err}"))?;
        Ok(T::default())
    }

    fn on_panic<'unowned_env_local: 'native_method, 'native_method>(
        env: &mut Env<'unowned_env_local>,
        op: &mut &'static str,
        payload: Box<dyn std::any::Any + Send + 'static>,
    ) -> ::jni::errors::Result<T> {
        let text = LAST_PANIC
            .with(|slot| slot.borrow_mut().take())
            .unwrap_or_else(|| panic_payload_text(payload.as_ref()));
        // Dropping a payload can itself panic; leak it rather than unwind into the JVM.
        if let Err(inner) = panic::catch_unwind(AssertUnwindSafe(|| drop(payload))) {
            std::mem::forget(inner);
        }
        if env.exception_check() {
            env.exception_clear();
        }
        let message = format!("Native call {op} failed: internal error: rust panic: {text}");
        throw_jbolt(env, "INTERNAL", &message)?;
        Ok(T::default())
    }
}

/// Throws `JboltException.fromNative(code, message)` on `env`.
fn throw_jbolt(env: &mut Env<'_>, code: &str, message: &str) -> ::jni::errors::Result<()> {
    let class = env.find_class(jni_str!("dev/jbolt/distill/JboltException"))?;
    let code = env.new_string(code)?;
    let message = env.new_string(message)?;
    let exception = env
        .call_static_method(
            &class,
            jni_str!("fromNative"),
            jni_sig!("(Ljava/lang/String;Ljava/lang/String;)Ldev/jbolt/distill/JboltException;"),
            &[JValue::Object(&code), JValue::Object(&message)],
        )?
        .l()?;
    // `throw` reports the now-pending exception as an error; that is the intended outcome.
    let exception = ::jni::objects::JThrowable::cast_local(env, exception)?;
    let _ = env.throw(exception);
    Ok(())
}

/// Sets the most verbose level forwarded to Java (0 off, 1 error ... 5 trace) and caches the
/// Java log class.
///
/// Called from a Java thread, so `FindClass` uses the class loader of `NativeBridge`; the cached
/// global reference lets threads started by Rust find the class later.
pub(crate) fn set_log_level(env: &mut Env<'_>, level: i32) -> crate::error::Result<()> {
    install_hooks();
    if LOG_CLASS.get().is_none() {
        let class = env.find_class(jni_str!("dev/jbolt/distill/internal/NativeLog"))?;
        let global = env.new_global_ref(class)?;
        let _ = LOG_CLASS.set(global);
    }
    let filter = match level {
        i32::MIN..=0 => log::LevelFilter::Off,
        1 => log::LevelFilter::Error,
        2 => log::LevelFilter::Warn,
        3 => log::LevelFilter::Info,
        4 => log::LevelFilter::Debug,
        _ => log::LevelFilter::Trace,
    };
    log::set_max_level(filter);
    Ok(())
}

/// Forwards `log` records to `NativeLog.log(int level, String target, String message)`.
struct JavaLogger;

impl log::Log for JavaLogger {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &log::Record<'_>) {
        if !self.enabled(record.metadata()) || IN_LOG_BRIDGE.with(Cell::get) {
            return;
        }
        IN_LOG_BRIDGE.with(|flag| flag.set(true));
        // A failure to log must never disturb the caller; a panic here would unwind into
        // whatever Rust code logged, so it is caught as well.
        let _ = panic::catch_unwind(AssertUnwindSafe(|| forward_record(record)));
        IN_LOG_BRIDGE.with(|flag| flag.set(false));
    }

    fn flush(&self) {}
}

/// Attaches the current thread if needed and calls `NativeLog.log`.
fn forward_record(record: &log::Record<'_>) {
    let (Some(class), Ok(vm)) = (LOG_CLASS.get(), JavaVM::singleton()) else {
        return;
    };
    let level = record.level() as i32;
    let target = record.target().to_string();
    let message = record.args().to_string();
    let _ = vm.attach_current_thread(|env| -> ::jni::errors::Result<()> {
        let target = env.new_string(&target)?;
        let message = env.new_string(&message)?;
        env.call_static_method(
            class,
            jni_str!("log"),
            jni_sig!("(ILjava/lang/String;Ljava/lang/String;)V"),
            &[
                JValue::Int(level),
                JValue::Object(&target),
                JValue::Object(&message),
            ],
        )?;
        Ok(())
    });
}

/// Reads a Java string argument, rejecting `null` with an invalid-argument error.
pub(crate) fn read_string(
    env: &Env<'_>,
    value: &JString<'_>,
    field: &str,
) -> crate::error::Result<String> {
    if value.is_null() {
        return Err(Error::invalid_argument(field, "must not be null"));
    }
    Ok(value.try_to_string(env)?)
}
