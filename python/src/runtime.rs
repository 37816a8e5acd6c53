//! The tokio runtime shared by every client of this process, and how a
//! blocking call waits for it (GIL released). asyncio futures are in
//! `completions.rs`.
//!
//! Fork safety: the runtime belongs to the process that built it. A child
//! of `os.fork()` has none of its threads, so [`runtime`] notices the
//! new pid and builds a fresh runtime there. The parent's runtime is leaked
//! in the child (dropping it would join threads that do not exist there).

use std::future::Future;
use std::pin::Pin;
use std::ptr;
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use pyo3::prelude::*;
use tokio::runtime::Runtime;
use tokio::sync::Notify;

use crate::errors::to_pyerr;

/// What an operation's future yields on success: a conversion to a Python
/// object, run once the GIL is held again.
pub type Conv = Box<dyn for<'py> FnOnce(Python<'py>) -> PyResult<Py<PyAny>> + Send>;

/// An operation of the client core, ready to be awaited by either binding.
pub type OpFuture = Pin<Box<dyn Future<Output = Result<Conv, corral_client::Error>> + Send>>;

/// A current-thread runtime. A thread blocked alone in [`wait`] runs the
/// runtime itself (the sessions' tasks and their sockets), so a blocking
/// call's request and reply need no other thread. When several threads
/// wait at once, the driver thread runs it and they park until their
/// reply: handing the runtime from one caller to the next cost a wake-up
/// per call. When no call has waited for a while, the driver thread runs
/// it too (pings, watches, asyncio operations), and lets go as soon as a
/// lone call comes.
struct ProcessRuntime {
    pid: u32,
    rt: Runtime,
    /// Threads in `wait`.
    waiting: AtomicUsize,
    /// Calls of `wait` so far.
    calls: AtomicU64,
    /// Set while the driver thread runs the runtime (or waits to).
    driving: AtomicBool,
    /// Tells the driver thread to let go of the runtime (for a lone call).
    release: Notify,
    /// Threads in `wait` that leave the runtime to the driver thread.
    shared: AtomicUsize,
    /// The driver thread (unparked when shared waiters need it).
    driver: std::sync::OnceLock<std::thread::Thread>,
}

/// How long no blocking call must have come before the driver thread runs
/// the runtime again.
const IDLE_AFTER: Duration = Duration::from_millis(2);

/// How often the driver thread looks again while a lone call runs the runtime.
const BUSY_RECHECK: Duration = Duration::from_millis(10);

static RUNTIME: AtomicPtr<ProcessRuntime> = AtomicPtr::new(ptr::null_mut());

/// The runtime of this process (built on first use, and again after fork).
pub fn runtime() -> &'static Runtime {
    &process_runtime().rt
}

fn process_runtime() -> &'static ProcessRuntime {
    let pid = crate::process::pid();
    let cur = RUNTIME.load(Ordering::Acquire);
    // SAFETY: a published pointer is never freed (see below), so it is
    // valid for the life of the process.
    if let Some(p) = unsafe { cur.as_ref() } {
        if p.pid == pid {
            return p;
        }
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("cannot build the tokio runtime");
    let fresh = Box::into_raw(Box::new(ProcessRuntime {
        pid,
        rt,
        waiting: AtomicUsize::new(0),
        calls: AtomicU64::new(0),
        driving: AtomicBool::new(false),
        release: Notify::new(),
        shared: AtomicUsize::new(0),
        driver: std::sync::OnceLock::new(),
    }));
    match RUNTIME.compare_exchange(cur, fresh, Ordering::AcqRel, Ordering::Acquire) {
        // The previous runtime (if any) was the parent's: leaked on purpose.
        Ok(_) => {
            // SAFETY: `fresh` was just published and is never freed.
            let p: &'static ProcessRuntime = unsafe { &*fresh };
            let t = std::thread::Builder::new()
                .name("corral-rt".into())
                .spawn(move || p.drive())
                .expect("cannot start the runtime's thread");
            let _ = p.driver.set(t.thread().clone());
            p
        }
        Err(winner) => {
            // Another thread of this process published one first: use it.
            // SAFETY: `fresh` was never shared; `winner` is never freed.
            drop(unsafe { Box::from_raw(fresh) });
            unsafe { &*winner }
        }
    }
}

impl ProcessRuntime {
    /// The driver thread.
    fn drive(&'static self) {
        loop {
            self.driving.store(true, Ordering::SeqCst);
            self.rt.block_on(async {
                loop {
                    self.release.notified().await;
                    if self.shared.load(Ordering::SeqCst) == 0 {
                        break;
                    }
                }
            });
            self.driving.store(false, Ordering::SeqCst);
            // Blocking calls run it now; take over once they stop coming,
            // or at once when calls wait for this thread to run it.
            loop {
                if self.shared.load(Ordering::SeqCst) > 0 {
                    break;
                }
                let calls = self.calls.load(Ordering::SeqCst);
                std::thread::park_timeout(IDLE_AFTER);
                if self.shared.load(Ordering::SeqCst) > 0 {
                    break;
                }
                if self.waiting.load(Ordering::SeqCst) > 0 {
                    // A call is running it (e.g. waiting for a lock).
                    std::thread::park_timeout(BUSY_RECHECK);
                } else if self.calls.load(Ordering::SeqCst) == calls {
                    break;
                }
            }
        }
    }

    fn wake_driver(&self) {
        if let Some(t) = self.driver.get() {
            t.unpark();
        }
    }
}

/// How often a blocking wait wakes up to let Python handle signals (so
/// that Ctrl-C interrupts a blocking call on the main thread).
const SIGNAL_POLL: Duration = Duration::from_millis(200);

/// Runs `fut` to completion with the GIL released: alone, running the
/// runtime on this thread meanwhile; with other threads waiting, parked
/// while the driver thread runs it.
pub fn wait<T: Send>(py: Python<'_>, fut: impl Future<Output = T> + Send) -> PyResult<T> {
    let p = process_runtime();
    p.calls.fetch_add(1, Ordering::SeqCst);
    let (_waiting, others) = Counted::enter(&p.waiting);
    let mut fut = std::pin::pin!(fut);
    if others > 0 {
        let (_shared, _) = Counted::enter(&p.shared);
        if !p.driving.load(Ordering::SeqCst) {
            p.wake_driver();
        }
        loop {
            let done = py.detach(|| poll_parked(p, fut.as_mut()));
            if let Some(v) = done {
                return Ok(v);
            }
            py.check_signals()?;
            if !p.driving.load(Ordering::SeqCst) {
                p.wake_driver();
            }
        }
    }
    if p.driving.load(Ordering::SeqCst) {
        p.release.notify_one();
    }
    loop {
        let done = py.detach(|| {
            // Tasks the call woke (e.g. the delete of a node that a
            // cancelled recipe abandoned) run at the next call, or when the
            // driver thread takes over IDLE_AFTER later. Giving them a turn
            // here cost every call a wake-up of the runtime.
            p.rt.block_on(async { tokio::time::timeout(SIGNAL_POLL, &mut fut).await.ok() })
        });
        if let Some(v) = done {
            return Ok(v);
        }
        py.check_signals()?;
    }
}

/// Wakes a thread parked in [`poll_parked`].
struct ThreadWaker(std::thread::Thread);

impl std::task::Wake for ThreadWaker {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.unpark();
    }
}

thread_local! {
    static THREAD_WAKER: Waker = Waker::from(Arc::new(ThreadWaker(std::thread::current())));
}

/// Polls `fut` on this thread, parked between polls, for up to
/// SIGNAL_POLL, while the driver thread runs the runtime.
fn poll_parked<T>(p: &ProcessRuntime, mut fut: Pin<&mut impl Future<Output = T>>) -> Option<T> {
    let _rt = p.rt.enter();
    let deadline = Instant::now() + SIGNAL_POLL;
    THREAD_WAKER.with(|waker| {
        let mut cx = Context::from_waker(waker);
        loop {
            if let Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
                return Some(v);
            }
            let now = Instant::now();
            if now >= deadline {
                return None;
            }
            std::thread::park_timeout(deadline - now);
        }
    })
}

/// Counts a thread in `wait` (or in its shared part) until it returns (or
/// unwinds).
struct Counted(&'static AtomicUsize);

impl Counted {
    /// Counts this thread in; also returns how many were counted before.
    fn enter(count: &'static AtomicUsize) -> (Counted, usize) {
        (Counted(count), count.fetch_add(1, Ordering::SeqCst))
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Runs an operation to completion (GIL released) and converts its result.
pub fn run_op(py: Python<'_>, op: OpFuture) -> PyResult<Py<PyAny>> {
    match wait(py, op)? {
        Ok(conv) => conv(py),
        Err(e) => Err(to_pyerr(py, &e)),
    }
}
