//! The C value types (stat, byte buffers, string lists, ACLs), their
//! conversions from the core's types, and their `_free` functions.
//!
//! Ownership: a value written by a `corral_*` call through an out-param
//! belongs to the caller, who frees it with the matching `_free` (which
//! accepts NULL and resets the struct, so a double free is harmless).

use std::ffi::{c_char, CString};
use std::ptr;

use ::corral_client::{Acl, Id, Stat};

use crate::errors::{invalid, FfiError, FfiResult};
use crate::ffi::{boundary_void, str_arg};

/// A node's metadata, with ZooKeeper's fields (see `Stat` in ZooKeeper).
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct corral_stat {
    pub czxid: i64,
    pub mzxid: i64,
    pub ctime: i64,
    pub mtime: i64,
    pub version: i32,
    pub cversion: i32,
    pub aversion: i32,
    pub ephemeral_owner: i64,
    pub data_length: i32,
    pub num_children: i32,
    pub pzxid: i64,
}

impl From<Stat> for corral_stat {
    fn from(s: Stat) -> corral_stat {
        corral_stat {
            czxid: s.czxid,
            mzxid: s.mzxid,
            ctime: s.ctime,
            mtime: s.mtime,
            version: s.version,
            cversion: s.cversion,
            aversion: s.aversion,
            ephemeral_owner: s.ephemeral_owner,
            data_length: s.data_length,
            num_children: s.num_children,
            pzxid: s.pzxid,
        }
    }
}

/// Bytes owned by the library: `data[len]` is always a NUL (not counted in
/// `len`), so text can be used as a C string. Free with `corral_bytes_free`.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug)]
pub struct corral_bytes {
    pub data: *mut u8,
    pub len: usize,
}

impl corral_bytes {
    pub fn new(mut v: Vec<u8>) -> corral_bytes {
        let len = v.len();
        v.push(0);
        let data = Box::into_raw(v.into_boxed_slice()).cast::<u8>();
        corral_bytes { data, len }
    }
}

/// Frees the data of `bytes` (not the struct itself) and resets it to
/// `{NULL, 0}`. Accepts NULL and an already freed struct.
/// Thread-safe for distinct values; not concurrently on the same one.
#[no_mangle]
pub unsafe extern "C" fn corral_bytes_free(bytes: *mut corral_bytes) {
    boundary_void(|| {
        let Some(b) = bytes.as_mut() else { return };
        if !b.data.is_null() {
            drop(Box::from_raw(ptr::slice_from_raw_parts_mut(
                b.data,
                b.len + 1,
            )));
        }
        b.data = ptr::null_mut();
        b.len = 0;
    })
}

/// A list of NUL-terminated strings owned by the library. Free with
/// `corral_strings_free`.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug)]
pub struct corral_strings {
    pub items: *mut *mut c_char,
    pub len: usize,
}

/// A C string from a server string (which cannot hold a NUL).
pub fn c_string(s: String) -> FfiResult<CString> {
    CString::new(s).map_err(|_| FfiError::Core(::corral_client::Error::MarshallingError))
}

impl corral_strings {
    pub fn new(v: Vec<String>) -> FfiResult<corral_strings> {
        let strings = v.into_iter().map(c_string).collect::<FfiResult<Vec<_>>>()?;
        let items: Box<[*mut c_char]> = strings.into_iter().map(CString::into_raw).collect();
        let len = items.len();
        Ok(corral_strings {
            items: Box::into_raw(items).cast::<*mut c_char>(),
            len,
        })
    }
}

/// Frees every string of `strings` and the array, and resets it to
/// `{NULL, 0}`. Accepts NULL and an already freed struct.
/// Thread-safe for distinct values; not concurrently on the same one.
#[no_mangle]
pub unsafe extern "C" fn corral_strings_free(strings: *mut corral_strings) {
    boundary_void(|| {
        let Some(s) = strings.as_mut() else { return };
        if !s.items.is_null() {
            let items = Box::from_raw(ptr::slice_from_raw_parts_mut(s.items, s.len));
            for &p in items.iter() {
                if !p.is_null() {
                    drop(CString::from_raw(p));
                }
            }
        }
        s.items = ptr::null_mut();
        s.len = 0;
    })
}

/// One ACL entry: permissions (`CORRAL_PERM_*`) for an identity, e.g.
/// `{CORRAL_PERM_ALL, "world", "anyone"}` or `{CORRAL_PERM_READ, "digest",
/// "user:base64(sha1(user:password))"}`.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug)]
pub struct corral_acl {
    pub perms: i32,
    pub scheme: *const c_char,
    pub id: *const c_char,
}

/// A list of ACL entries owned by the library. Free with `corral_acls_free`.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug)]
pub struct corral_acls {
    pub items: *mut corral_acl,
    pub len: usize,
}

/// Permission bits of an ACL entry (as ZooKeeper's `ZOO_PERM_*`).
#[allow(non_camel_case_types)]
#[repr(C)]
pub enum corral_perm {
    CORRAL_PERM_READ = 1,
    CORRAL_PERM_WRITE = 2,
    CORRAL_PERM_CREATE = 4,
    CORRAL_PERM_DELETE = 8,
    CORRAL_PERM_ADMIN = 16,
    CORRAL_PERM_ALL = 31,
}

impl corral_acls {
    pub fn new(acl: Vec<Acl>) -> FfiResult<corral_acls> {
        let mut items = Vec::with_capacity(acl.len());
        for a in acl {
            let scheme = c_string(a.id.scheme);
            let id = c_string(a.id.id);
            let (scheme, id) = match (scheme, id) {
                (Ok(s), Ok(i)) => (s, i),
                (s, i) => {
                    free_acl_items(items);
                    return Err(s.err().or(i.err()).expect("one failed"));
                }
            };
            items.push(corral_acl {
                perms: a.perms,
                scheme: scheme.into_raw(),
                id: id.into_raw(),
            });
        }
        let items = items.into_boxed_slice();
        let len = items.len();
        Ok(corral_acls {
            items: Box::into_raw(items).cast::<corral_acl>(),
            len,
        })
    }
}

fn free_acl_items(items: Vec<corral_acl>) {
    for a in items {
        // SAFETY: both strings came from CString::into_raw in
        // corral_acls::new.
        unsafe {
            if !a.scheme.is_null() {
                drop(CString::from_raw(a.scheme.cast_mut()));
            }
            if !a.id.is_null() {
                drop(CString::from_raw(a.id.cast_mut()));
            }
        }
    }
}

/// Frees every entry of `acls` and the array, and resets it to `{NULL, 0}`.
/// Accepts NULL and an already freed struct. Only for lists the library
/// returned (not for lists built by the caller).
/// Thread-safe for distinct values; not concurrently on the same one.
#[no_mangle]
pub unsafe extern "C" fn corral_acls_free(acls: *mut corral_acls) {
    boundary_void(|| {
        let Some(a) = acls.as_mut() else { return };
        if !a.items.is_null() {
            let items = Box::from_raw(ptr::slice_from_raw_parts_mut(a.items, a.len));
            free_acl_items(items.into_vec());
        }
        a.items = ptr::null_mut();
        a.len = 0;
    })
}

/// The core's ACL list from a caller's array: NULL with length 0 is
/// ZooKeeper's OPEN_ACL_UNSAFE (world:anyone, all permissions).
///
/// # Safety
/// `acl` must be NULL or valid for `len` entries whose strings are
/// NUL-terminated.
pub unsafe fn acl_arg(acl: *const corral_acl, len: usize) -> FfiResult<Vec<Acl>> {
    if acl.is_null() {
        if len == 0 {
            return Ok(Acl::open_unsafe());
        }
        return invalid(format!("acl is NULL with length {len}"));
    }
    std::slice::from_raw_parts(acl, len)
        .iter()
        .map(|a| {
            Ok(Acl {
                perms: a.perms,
                id: Id {
                    scheme: str_arg(a.scheme, "acl scheme")?.to_owned(),
                    id: str_arg(a.id, "acl id")?.to_owned(),
                },
            })
        })
        .collect()
}
