//! This process's id, without a system call per operation.
//!
//! The package works after `os.fork()`: objects remember the pid that made
//! them, and the runtime is rebuilt in a child (see `runtime.rs`). Asking
//! the kernel for the pid on every operation cost a `getpid` call or more
//! per call; the pid is cached instead, and a `pthread_atfork` handler
//! forgets it in every child, whoever forks.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Once;

/// The cached pid; 0 when not known (before first use, and in a child
/// right after fork).
static PID: AtomicU32 = AtomicU32::new(0);

static AT_FORK: Once = Once::new();

extern "C" fn forget_in_child() {
    // Async-signal-safe: one atomic store.
    PID.store(0, Ordering::SeqCst);
}

/// The id of the current process.
pub fn pid() -> u32 {
    let cached = PID.load(Ordering::SeqCst);
    if cached != 0 {
        return cached;
    }
    AT_FORK.call_once(|| {
        // SAFETY: registers a handler that only stores to an atomic.
        let rc = unsafe { libc::pthread_atfork(None, None, Some(forget_in_child)) };
        assert_eq!(rc, 0, "pthread_atfork failed");
    });
    let pid = std::process::id();
    PID.store(pid, Ordering::SeqCst);
    pid
}
