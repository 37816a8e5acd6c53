//! The panic boundary every extern fn runs inside, and the checks that turn
//! raw C arguments into Rust values (NULL and UTF-8 checks).

use std::ffi::{c_char, CStr};
use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::errors::{corral_code, corral_result, invalid, record, FfiResult, LastError, OK};

/// Runs `f`, turning its error into a code (recording the message for
/// `corral_last_error`) and a panic into `CORRAL_EPANIC`. `last` is the
/// client whose last error the message also goes to.
pub fn boundary<F>(last: Option<&LastError>, f: F) -> corral_result
where
    F: FnOnce() -> FfiResult,
{
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(())) => OK,
        Ok(Err(e)) => {
            record(last, &e.message());
            e.code()
        }
        Err(panic) => {
            let msg = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            record(last, &format!("panic: {msg}"));
            corral_code::CORRAL_EPANIC as i32
        }
    }
}

/// Runs a function that returns nothing (the `_free` functions) inside the
/// panic boundary: a panic is swallowed, never unwound into C.
pub fn boundary_void<F: FnOnce()>(f: F) {
    let _ = catch_unwind(AssertUnwindSafe(f));
}

/// A required NUL-terminated UTF-8 string argument.
///
/// # Safety
/// `p` must be NULL or point to a NUL-terminated string that outlives `'a`.
pub unsafe fn str_arg<'a>(p: *const c_char, name: &str) -> FfiResult<&'a str> {
    if p.is_null() {
        return invalid(format!("{name} is NULL"));
    }
    match CStr::from_ptr(p).to_str() {
        Ok(s) => Ok(s),
        Err(_) => invalid(format!("{name} is not UTF-8")),
    }
}

/// A byte buffer argument: `(NULL, 0)` is the empty buffer; NULL with a
/// non-zero length is invalid.
///
/// # Safety
/// `p` must be NULL or valid for `len` bytes for `'a`.
pub unsafe fn bytes_arg<'a>(p: *const u8, len: usize, name: &str) -> FfiResult<&'a [u8]> {
    if p.is_null() {
        if len == 0 {
            return Ok(&[]);
        }
        return invalid(format!("{name} is NULL with length {len}"));
    }
    if len > isize::MAX as usize {
        return invalid(format!("{name} length {len} is too large"));
    }
    Ok(std::slice::from_raw_parts(p, len))
}

/// A required out-parameter.
///
/// # Safety
/// `p` must be NULL or valid for writes of a `T` for `'a`.
pub unsafe fn out_arg<'a, T>(p: *mut T, name: &str) -> FfiResult<&'a mut T> {
    match p.as_mut() {
        Some(r) => Ok(r),
        None => invalid(format!("{name} is NULL")),
    }
}

/// A required array argument of `len` elements (`NULL, 0` is empty).
///
/// # Safety
/// `p` must be NULL or valid for `len` elements for `'a`.
pub unsafe fn slice_arg<'a, T>(p: *const T, len: usize, name: &str) -> FfiResult<&'a [T]> {
    if p.is_null() {
        if len == 0 {
            return Ok(&[]);
        }
        return invalid(format!("{name} is NULL with length {len}"));
    }
    Ok(std::slice::from_raw_parts(p, len))
}

/// Writes `v` through an optional out-parameter.
///
/// # Safety
/// `p` must be NULL or valid for writes of a `T`.
pub unsafe fn write_opt<T>(p: *mut T, v: T) {
    if let Some(r) = p.as_mut() {
        *r = v;
    }
}

/// A version argument: -1 is "any version"; other values go to the server
/// as they are.
pub fn version_arg(version: i32) -> Option<i32> {
    (version != -1).then_some(version)
}
