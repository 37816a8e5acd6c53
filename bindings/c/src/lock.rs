//! Distributed locks over the client core's `recipes::lock::Lock` (Curator's
//! `InterProcessMutex` layout, so Curator, kazoo and Corral holders exclude
//! each other).

use std::ffi::c_char;
use std::sync::Arc;
use std::time::Duration;

use ::corral_client::recipes::lock::Lock;

use crate::client::{client_arc, corral_client, with_client};
use crate::errors::{corral_result, invalid, FfiError};
use crate::ffi::{boundary, out_arg, str_arg};

/// A held lock (opaque). It keeps its client's connection alive, even
/// after `corral_client_free`, until `corral_lock_release`.
pub struct corral_lock {
    client: Arc<corral_client>,
    lock: Lock,
}

/// Takes the lock on `path` (created, with its parents, as container
/// nodes) for this session, waiting up to `timeout_ms` ms (0: only if free
/// now; negative: for ever). On success `*lock_out` is the held lock;
/// CORRAL_ETIMEOUT if it was not acquired in time (nothing is left on the
/// server). Thread-safe; a lock handle is held by one thread at a time.
#[no_mangle]
pub unsafe extern "C" fn corral_lock_acquire(
    client: *const corral_client,
    path: *const c_char,
    timeout_ms: i32,
    lock_out: *mut *mut corral_lock,
) -> corral_result {
    with_client(client, |c| {
        let out = out_arg(lock_out, "lock_out")?;
        *out = std::ptr::null_mut();
        let path = str_arg(path, "path")?;
        let lock = Lock::new(&c.client, path);
        let acquired = c.run(async {
            match u64::try_from(timeout_ms) {
                Err(_) => lock.acquire().await.map(|()| true),
                Ok(0) => lock.try_acquire().await,
                Ok(ms) => lock.acquire_timeout(Duration::from_millis(ms)).await,
            }
        });
        if !matches!(acquired, Ok(true)) {
            // A node left behind is deleted by a task: drop inside the runtime.
            c.in_runtime(|| drop(lock));
            return match acquired {
                Err(e) => Err(e.into()),
                _ => Err(FfiError::Timeout(format!("lock {path}"))),
            };
        }
        let handle = corral_lock {
            client: client_arc(client),
            lock,
        };
        *out = Box::into_raw(Box::new(handle));
        Ok(())
    })
}

/// Releases the lock and frees the handle, whatever the result (a node
/// that could not be deleted goes with the session). CORRAL_EINVAL for
/// NULL. Must be the last call on `lock`.
#[no_mangle]
pub unsafe extern "C" fn corral_lock_release(lock: *mut corral_lock) -> corral_result {
    let mut released = crate::errors::OK;
    let rc = boundary(None, || {
        if lock.is_null() {
            return invalid("lock is NULL");
        }
        let corral_lock { client, lock } = *Box::from_raw(lock);
        released = boundary(Some(&client.last), || {
            client.run(lock.release())?;
            Ok(())
        });
        client.in_runtime(|| drop(lock));
        // May be the last reference: closes the session (outside the runtime).
        drop(client);
        Ok(())
    });
    if rc != crate::errors::OK {
        rc
    } else {
        released
    }
}
