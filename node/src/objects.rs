//! The objects every read returns (`Stat`, `DataResult`), made by small
//! JavaScript functions: one call per object, which V8 runs as an object
//! literal of a fixed shape, instead of one Node-API property definition
//! per field (most of the JS thread's time per operation before).

use std::cell::RefCell;
use std::ptr;

use napi::bindgen_prelude::*;
use napi::sys;

use crate::convert::Stat;
use crate::ops::DataResult;

/// Node data up to this size is copied into a new Buffer; larger data is
/// handed over without a copy (an external Buffer, which costs a finalizer).
const COPY_MAX: usize = 8 * 1024;

/// The fields of a `Stat`, in the order of the `Stat` interface.
const STAT_FIELDS: &str =
    "czxid, mzxid, ctime, mtime, version, cversion, aversion, ephemeralOwner, dataLength, numChildren, pzxid";

/// The makers of one environment (per thread: one environment each).
struct Makers {
    env: sys::napi_env,
    stat: sys::napi_ref,
    data: sys::napi_ref,
}

thread_local! {
    static MAKERS: RefCell<Option<Makers>> = const { RefCell::new(None) };
}

impl ToNapiValue for Stat {
    unsafe fn to_napi_value(env: sys::napi_env, val: Stat) -> Result<sys::napi_value> {
        let args = stat_args(env, &val)?;
        call(env, |m| m.stat, &args)
    }
}

impl ToNapiValue for DataResult {
    unsafe fn to_napi_value(env: sys::napi_env, val: DataResult) -> Result<sys::napi_value> {
        let mut args = [ptr::null_mut(); 12];
        args[0] = buffer(env, val.data)?;
        args[1..].copy_from_slice(&stat_args(env, &val.stat)?);
        call(env, |m| m.data, &args)
    }
}

/// Node data as a Buffer.
fn buffer(env: sys::napi_env, data: Buffer) -> Result<sys::napi_value> {
    if data.len() > COPY_MAX {
        return unsafe { Buffer::to_napi_value(env, data) };
    }
    let mut value = ptr::null_mut();
    check_status!(unsafe {
        sys::napi_create_buffer_copy(
            env,
            data.len(),
            data.as_ptr().cast(),
            ptr::null_mut(),
            &mut value,
        )
    })?;
    Ok(value)
}

fn stat_args(env: sys::napi_env, s: &Stat) -> Result<[sys::napi_value; 11]> {
    let mut a = [ptr::null_mut(); 11];
    unsafe {
        check_status!(sys::napi_create_int64(env, s.czxid, &mut a[0]))?;
        check_status!(sys::napi_create_int64(env, s.mzxid, &mut a[1]))?;
        check_status!(sys::napi_create_int64(env, s.ctime, &mut a[2]))?;
        check_status!(sys::napi_create_int64(env, s.mtime, &mut a[3]))?;
        check_status!(sys::napi_create_int32(env, s.version, &mut a[4]))?;
        check_status!(sys::napi_create_int32(env, s.cversion, &mut a[5]))?;
        check_status!(sys::napi_create_int32(env, s.aversion, &mut a[6]))?;
        check_status!(sys::napi_create_bigint_int64(
            env,
            s.ephemeral_owner.get_i64().0,
            &mut a[7]
        ))?;
        check_status!(sys::napi_create_int32(env, s.data_length, &mut a[8]))?;
        check_status!(sys::napi_create_int32(env, s.num_children, &mut a[9]))?;
        check_status!(sys::napi_create_int64(env, s.pzxid, &mut a[10]))?;
    }
    Ok(a)
}

/// Calls the maker `which` picks with `args`.
fn call(
    env: sys::napi_env,
    which: fn(&Makers) -> sys::napi_ref,
    args: &[sys::napi_value],
) -> Result<sys::napi_value> {
    let maker = MAKERS.with_borrow_mut(|m| -> Result<sys::napi_ref> {
        if m.as_ref().is_none_or(|m| m.env != env) {
            *m = Some(Makers::new(env)?);
        }
        Ok(which(m.as_ref().expect("just made")))
    })?;
    let mut func = ptr::null_mut();
    let mut undefined = ptr::null_mut();
    let mut value = ptr::null_mut();
    unsafe {
        check_status!(sys::napi_get_reference_value(env, maker, &mut func))?;
        check_status!(sys::napi_get_undefined(env, &mut undefined))?;
        check_status!(sys::napi_call_function(
            env,
            undefined,
            func,
            args.len(),
            args.as_ptr(),
            &mut value,
        ))?;
    }
    Ok(value)
}

impl Makers {
    fn new(env: sys::napi_env) -> Result<Makers> {
        let stat = format!("(function ({STAT_FIELDS}) {{ return {{ {STAT_FIELDS} }}; }})");
        let data = format!(
            "(function (data, {STAT_FIELDS}) {{ return {{ data, stat: {{ {STAT_FIELDS} }} }}; }})"
        );
        Ok(Makers {
            env,
            stat: compile(env, &stat)?,
            data: compile(env, &data)?,
        })
    }
}

/// Evaluates `source` (a function expression) and keeps the function.
fn compile(env: sys::napi_env, source: &str) -> Result<sys::napi_ref> {
    let mut script = ptr::null_mut();
    let mut func = ptr::null_mut();
    let mut r = ptr::null_mut();
    unsafe {
        check_status!(sys::napi_create_string_utf8(
            env,
            source.as_ptr().cast(),
            source.len() as isize,
            &mut script,
        ))?;
        check_status!(sys::napi_run_script(env, script, &mut func))?;
        check_status!(sys::napi_create_reference(env, func, 1, &mut r))?;
    }
    Ok(r)
}
