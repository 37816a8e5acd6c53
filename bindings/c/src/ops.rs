//! The ZooKeeper operations. Each one blocks the calling thread until the
//! server answers; all are thread-safe (any thread, concurrently on one
//! client). Watches set here are delivered through the event queue.

use std::ffi::c_char;
use std::ptr;

use ::corral_client::{CreateMode, CreateOptions, Op, OpResult};

use crate::client::{corral_client, with_client};
use crate::errors::{copy_out, core_code, corral_code, corral_result, invalid, FfiResult};
use crate::ffi::{boundary_void, bytes_arg, out_arg, slice_arg, str_arg, version_arg, write_opt};
use crate::types::{
    acl_arg, c_string, corral_acl, corral_acls, corral_bytes, corral_stat, corral_strings,
};

/// Flags of a create (combine EPHEMERAL and SEQUENCE with `|`).
#[allow(non_camel_case_types)]
#[repr(C)]
pub enum corral_create_flags {
    CORRAL_PERSISTENT = 0,
    CORRAL_EPHEMERAL = 1,
    CORRAL_SEQUENCE = 2,
    /// A container node: removed by the server once its last child is gone.
    /// Not combinable with the other flags.
    CORRAL_CONTAINER = 4,
}

fn create_options(flags: i32) -> FfiResult<CreateOptions> {
    match CreateMode::from_flags(flags) {
        Some(mode) if (0..=4).contains(&flags) => Ok(CreateOptions::new(mode)),
        _ => invalid(format!("create flags {flags}")),
    }
}

/// Creates a node with ZooKeeper's OPEN_ACL_UNSAFE ACL; see
/// `corral_create_with_acl`.
/// Thread-safe (blocks the calling thread until the server answers).
#[no_mangle]
pub unsafe extern "C" fn corral_create(
    client: *const corral_client,
    path: *const c_char,
    data: *const u8,
    len: usize,
    flags: i32,
    path_out: *mut c_char,
    path_cap: usize,
) -> corral_result {
    corral_create_with_acl(
        client,
        path,
        data,
        len,
        ptr::null(),
        0,
        flags,
        path_out,
        path_cap,
    )
}

/// Creates a node holding `data[len]` (NULL, 0: empty) with `flags`
/// (`CORRAL_EPHEMERAL`, `CORRAL_SEQUENCE`, `CORRAL_CONTAINER`) and the
/// `acl_len` entries of `acl` (NULL, 0: OPEN_ACL_UNSAFE). The created path
/// (with the sequence suffix) is copied into `path_out` (may be NULL),
/// truncated to `path_cap - 1` bytes and NUL-terminated, as libzookeeper
/// does.
/// Thread-safe (blocks the calling thread until the server answers).
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn corral_create_with_acl(
    client: *const corral_client,
    path: *const c_char,
    data: *const u8,
    len: usize,
    acl: *const corral_acl,
    acl_len: usize,
    flags: i32,
    path_out: *mut c_char,
    path_cap: usize,
) -> corral_result {
    with_client(client, |c| {
        let path = str_arg(path, "path")?;
        let data = bytes_arg(data, len, "data")?;
        let opts = create_options(flags)?.with_acl(acl_arg(acl, acl_len)?);
        let created = c.run(c.client.create(path, data, &opts))?;
        copy_out(created.as_bytes(), path_out, path_cap, ptr::null_mut());
        Ok(())
    })
}

/// Reads a node's data into `*bytes` (free with `corral_bytes_free`) and
/// its stat into `*stat` (may be NULL). With `watch`, a one-shot watch is
/// set: CORRAL_CHANGED_EVENT or CORRAL_DELETED_EVENT comes through the
/// event queue.
/// Thread-safe (blocks the calling thread until the server answers).
#[no_mangle]
pub unsafe extern "C" fn corral_get(
    client: *const corral_client,
    path: *const c_char,
    watch: bool,
    bytes: *mut corral_bytes,
    stat: *mut corral_stat,
) -> corral_result {
    with_client(client, |c| {
        let path = str_arg(path, "path")?;
        let out = out_arg(bytes, "bytes")?;
        let (data, st) = if watch {
            let q = c.events.clone();
            c.run(c.client.get_data_cb(path, move |e| q.push_watch(e)))?
        } else {
            c.run(c.client.get_data(path))?
        };
        *out = corral_bytes::new(data);
        write_opt(stat, st.into());
        Ok(())
    })
}

/// Sets a node's data if its version is `version` (-1: any version); the
/// new stat goes to `*stat` (may be NULL).
/// Thread-safe (blocks the calling thread until the server answers).
#[no_mangle]
pub unsafe extern "C" fn corral_set(
    client: *const corral_client,
    path: *const c_char,
    data: *const u8,
    len: usize,
    version: i32,
    stat: *mut corral_stat,
) -> corral_result {
    with_client(client, |c| {
        let path = str_arg(path, "path")?;
        let data = bytes_arg(data, len, "data")?;
        let st = c.run(c.client.set_data(path, data, version_arg(version)))?;
        write_opt(stat, st.into());
        Ok(())
    })
}

/// Deletes a node if its version is `version` (-1: any version).
/// Thread-safe (blocks the calling thread until the server answers).
#[no_mangle]
pub unsafe extern "C" fn corral_delete(
    client: *const corral_client,
    path: *const c_char,
    version: i32,
) -> corral_result {
    with_client(client, |c| {
        let path = str_arg(path, "path")?;
        c.run(c.client.delete(path, version_arg(version)))?;
        Ok(())
    })
}

/// Writes a node's stat to `*stat` (may be NULL); CORRAL_ZNONODE if it does
/// not exist. With `watch`, a one-shot watch is set either way:
/// CORRAL_CREATED_EVENT, CORRAL_CHANGED_EVENT or CORRAL_DELETED_EVENT.
/// Thread-safe (blocks the calling thread until the server answers).
#[no_mangle]
pub unsafe extern "C" fn corral_exists(
    client: *const corral_client,
    path: *const c_char,
    watch: bool,
    stat: *mut corral_stat,
) -> corral_result {
    with_client(client, |c| {
        let path = str_arg(path, "path")?;
        let st = if watch {
            let q = c.events.clone();
            c.run(c.client.exists_cb(path, move |e| q.push_watch(e)))?
        } else {
            c.run(c.client.exists(path))?
        };
        match st {
            Some(st) => {
                write_opt(stat, st.into());
                Ok(())
            }
            None => Err(::corral_client::Error::NoNode.into()),
        }
    })
}

/// Writes the names of a node's children to `*children` (free with
/// `corral_strings_free`). With `watch`, a one-shot watch is set:
/// CORRAL_CHILD_EVENT or CORRAL_DELETED_EVENT.
/// Thread-safe (blocks the calling thread until the server answers).
#[no_mangle]
pub unsafe extern "C" fn corral_get_children(
    client: *const corral_client,
    path: *const c_char,
    watch: bool,
    children: *mut corral_strings,
) -> corral_result {
    with_client(client, |c| {
        let path = str_arg(path, "path")?;
        let out = out_arg(children, "children")?;
        let names = if watch {
            let q = c.events.clone();
            c.run(c.client.get_children_cb(path, move |e| q.push_watch(e)))?
                .0
        } else {
            c.run(c.client.get_children(path))?
        };
        *out = corral_strings::new(names)?;
        Ok(())
    })
}

/// Writes a node's ACL to `*acl` (free with `corral_acls_free`) and its
/// stat to `*stat` (may be NULL).
/// Thread-safe (blocks the calling thread until the server answers).
#[no_mangle]
pub unsafe extern "C" fn corral_get_acl(
    client: *const corral_client,
    path: *const c_char,
    acl: *mut corral_acls,
    stat: *mut corral_stat,
) -> corral_result {
    with_client(client, |c| {
        let path = str_arg(path, "path")?;
        let out = out_arg(acl, "acl")?;
        let (entries, st) = c.run(c.client.get_acl(path))?;
        *out = corral_acls::new(entries)?;
        write_opt(stat, st.into());
        Ok(())
    })
}

/// Sets a node's ACL to the `acl_len` entries of `acl` if its ACL version
/// (`aversion`) is `version` (-1: any); the new stat goes to `*stat` (may
/// be NULL).
/// Thread-safe (blocks the calling thread until the server answers).
#[no_mangle]
pub unsafe extern "C" fn corral_set_acl(
    client: *const corral_client,
    path: *const c_char,
    version: i32,
    acl: *const corral_acl,
    acl_len: usize,
    stat: *mut corral_stat,
) -> corral_result {
    with_client(client, |c| {
        let path = str_arg(path, "path")?;
        if acl.is_null() {
            return invalid("acl is NULL");
        }
        let acl = acl_arg(acl, acl_len)?;
        let st = c.run(c.client.set_acl(path, &acl, version_arg(version)))?;
        write_opt(stat, st.into());
        Ok(())
    })
}

/// The kinds of op in a `corral_multi` (ZooKeeper's opcodes).
#[allow(non_camel_case_types)]
#[repr(C)]
pub enum corral_op_type {
    CORRAL_OP_CREATE = 1,
    CORRAL_OP_DELETE = 2,
    CORRAL_OP_SET = 5,
    CORRAL_OP_CHECK = 13,
}

/// One op of a `corral_multi`. `data[len]` and `flags` are for CREATE and
/// SET; `version` (-1: any) for DELETE, SET and CHECK.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug)]
pub struct corral_op {
    pub r#type: i32,
    pub path: *const c_char,
    pub data: *const u8,
    pub len: usize,
    pub version: i32,
    pub flags: i32,
}

/// The result of one op of a `corral_multi`: `err` is its code; `path` the
/// created path (CREATE, else NULL); `stat` the new stat (SET, else zero).
/// Free the array's strings with `corral_op_results_free`.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug)]
pub struct corral_op_result {
    pub err: i32,
    pub path: *mut c_char,
    pub stat: corral_stat,
}

unsafe fn multi_op(op: &corral_op) -> FfiResult<Op> {
    let path = str_arg(op.path, "op path")?.to_owned();
    let data = || bytes_arg(op.data, op.len, "op data").map(<[u8]>::to_vec);
    let version = version_arg(op.version);
    Ok(match op.r#type {
        t if t == corral_op_type::CORRAL_OP_CREATE as i32 => {
            Op::create(path, data()?, create_options(op.flags)?)
        }
        t if t == corral_op_type::CORRAL_OP_DELETE as i32 => Op::delete(path, version),
        t if t == corral_op_type::CORRAL_OP_SET as i32 => Op::set_data(path, data()?, version),
        t if t == corral_op_type::CORRAL_OP_CHECK as i32 => Op::check(path, version),
        t => return invalid(format!("op type {t}")),
    })
}

/// Runs the `n` ops atomically: all are applied or none. `results` (may be
/// NULL) receives `n` results. When an op fails, the call returns its code
/// and the results say which: 0 for the ops before it, its code, then
/// CORRAL_ZRUNTIMEINCONSISTENCY for the ops after it (as ZooKeeper does).
/// Thread-safe (blocks the calling thread until the server answers).
#[no_mangle]
pub unsafe extern "C" fn corral_multi(
    client: *const corral_client,
    ops: *const corral_op,
    n: usize,
    results: *mut corral_op_result,
) -> corral_result {
    with_client(client, |c| {
        let ops = slice_arg(ops, n, "ops")?;
        let out: &mut [corral_op_result] = if results.is_null() {
            &mut []
        } else {
            // The caller's array may be uninitialized: write, do not drop.
            for i in 0..n {
                ptr::write(
                    results.add(i),
                    corral_op_result {
                        err: 0,
                        path: ptr::null_mut(),
                        stat: corral_stat::default(),
                    },
                );
            }
            std::slice::from_raw_parts_mut(results, n)
        };
        let ops = ops
            .iter()
            .map(|op| multi_op(op))
            .collect::<FfiResult<Vec<_>>>()?;
        match c.run(c.client.multi(ops)) {
            Ok(done) => {
                for (r, d) in out.iter_mut().zip(done) {
                    match d {
                        OpResult::Create { path, .. } => r.path = c_string(path)?.into_raw(),
                        OpResult::SetData(st) => r.stat = st.into(),
                        _ => {}
                    }
                }
                Ok(())
            }
            Err(e) => {
                let failed = match &e {
                    ::corral_client::Error::Multi { index, .. } => Some(*index),
                    _ => None,
                };
                let code = core_code(&e);
                for (i, r) in out.iter_mut().enumerate() {
                    r.err = match failed {
                        Some(f) if i < f => 0,
                        Some(f) if i > f => corral_code::CORRAL_ZRUNTIMEINCONSISTENCY as i32,
                        _ => code,
                    };
                }
                Err(e.into())
            }
        }
    })
}

/// Frees the paths of the `n` results of a `corral_multi` (not the array
/// itself) and resets them. Accepts NULL.
/// Thread-safe (blocks the calling thread until the server answers).
#[no_mangle]
pub unsafe extern "C" fn corral_op_results_free(results: *mut corral_op_result, n: usize) {
    boundary_void(|| {
        if results.is_null() {
            return;
        }
        for r in std::slice::from_raw_parts_mut(results, n) {
            if !r.path.is_null() {
                drop(std::ffi::CString::from_raw(r.path));
            }
            r.path = ptr::null_mut();
        }
    })
}
