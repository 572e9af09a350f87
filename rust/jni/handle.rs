//! Native objects handed to Java as `long` handles.
//!
//! A handle is the address of a `Box<T>` made by [`into_handle`]. Java owns it from then on
//! (in a `dev.jbolt.distill.internal.NativeHandle` subclass) and gives it back exactly once to
//! [`free_handle`] when it is closed or cleaned. Java never passes a handle after closing it:
//! `NativeHandle` swaps it to zero and throws `IllegalStateException` on use after close, and a
//! read-write lock keeps `close` from running while a call holds the handle.

use crate::error::{Error, Result};

/// Moves `value` to the heap and returns its address for Java; Java owns it afterwards.
pub(crate) fn into_handle<T>(value: T) -> i64 {
    Box::into_raw(Box::new(value)) as i64
}

/// Runs `f` with a shared reference to the object behind `handle`; ownership stays with Java.
///
/// # Safety
///
/// `handle` must come from [`into_handle`] with the same `T` and must not have been freed.
pub(crate) unsafe fn with_handle<T, R>(
    handle: i64,
    what: &str,
    f: impl FnOnce(&T) -> Result<R>,
) -> Result<R> {
    if handle == 0 {
        return Err(Error::invalid_argument(
            what,
            "the native handle is 0 (already closed)",
        ));
    }
    // SAFETY: non-zero handles are live `Box<T>` addresses by this function's contract.
    let value = unsafe { &*(handle as *const T) };
    f(value)
}

/// Drops the object behind `handle`; zero is ignored so that a double release is harmless.
///
/// # Safety
///
/// `handle` must come from [`into_handle`] with the same `T`, and Java must not use it again.
pub(crate) unsafe fn free_handle<T>(handle: i64) {
    if handle != 0 {
        // SAFETY: Java passes each live handle here exactly once; ownership returns to Rust.
        drop(unsafe { Box::from_raw(handle as *mut T) });
    }
}
