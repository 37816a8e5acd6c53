//! This process's id, without a system call per operation.
//!
//! The package works after `os.fork()`: objects remember the pid that made
//! them, and the runtime is rebuilt in a child (see `runtime.rs`). Asking
//! the kernel for the pid on every operation cost a `getpid` call or more
//! per call; the pid is cached instead, and a `pthread_atfork` handler,
//! registered when the module is imported, forgets it in every child,
//! whoever forks.

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

/// The cached pid; 0 when not known (before first use, and in a child
/// right after fork).
static PID: AtomicU32 = AtomicU32::new(0);

/// Set once the fork handler is registered: only then may the pid be cached.
static FORGOTTEN_IN_CHILDREN: AtomicBool = AtomicBool::new(false);

extern "C" fn forget_in_child() {
    // Async-signal-safe: one atomic store.
    PID.store(0, Ordering::SeqCst);
}

/// Registers the fork handler (at import).
pub fn forget_pid_in_children() {
    // SAFETY: registers a handler that only stores to an atomic.
    if unsafe { libc::pthread_atfork(None, None, Some(forget_in_child)) } == 0 {
        FORGOTTEN_IN_CHILDREN.store(true, Ordering::SeqCst);
    }
}

/// The id of the current process.
pub fn pid() -> u32 {
    let cached = PID.load(Ordering::SeqCst);
    if cached != 0 {
        return cached;
    }
    let pid = std::process::id();
    if FORGOTTEN_IN_CHILDREN.load(Ordering::SeqCst) {
        PID.store(pid, Ordering::SeqCst);
    }
    pid
}
