//! `libcorral`: the C ABI of the Corral ZooKeeper client
//! (`include/corral.h`, generated from this crate by cbindgen).
//!
//! Conventions (after rustls-ffi): one prefix, `corral_`; opaque handles;
//! every call returns a `corral_result` (ZooKeeper's numeric error codes,
//! plus a few client-side codes) and writes its results through
//! out-params; memory the library returns is freed by the matching `_free`,
//! which accepts NULL; every extern fn runs inside a panic boundary.
//! Blocking calls wait on a runtime owned by the client; watches and
//! session events are queued and taken with `corral_poll_event` (with a
//! file descriptor to wake event loops), so foreign code is never called
//! from a library thread. Behaviour lives in `corral-client`: this crate
//! only maps types and errors.
//!
//! # Safety
//! Every pointer argument must be NULL or valid for what the header says
//! (NUL-terminated strings, `len` bytes, live handles); the library checks
//! NULL, never validity.

#![allow(clippy::missing_safety_doc)]
#![allow(non_camel_case_types)]

mod client;
mod errors;
mod events;
mod ffi;
mod lock;
mod ops;
mod types;

pub use client::*;
pub use errors::{corral_code, corral_result};
pub use events::{corral_event, corral_event_free, corral_event_type, corral_state};
pub use lock::*;
pub use ops::*;
pub use types::*;
