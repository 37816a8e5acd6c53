//! The tokio runtime shared by every client of this process, and the two
//! ways Python waits for it: blocking (GIL released) and asyncio futures.
//!
//! Fork safety: the runtime belongs to the process that built it. A child
//! of `os.fork()` has none of its worker threads, so [`runtime`] notices the
//! new pid and builds a fresh runtime there. The parent's runtime is leaked
//! in the child (dropping it would join threads that do not exist there).

use std::future::Future;
use std::pin::Pin;
use std::ptr;
use std::sync::atomic::{AtomicPtr, Ordering};
use std::time::Duration;

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use tokio::runtime::Runtime;

use crate::errors::to_pyerr;

/// What an operation's future yields on success: a conversion to a Python
/// object, run once the GIL is held again.
pub type Conv = Box<dyn for<'py> FnOnce(Python<'py>) -> PyResult<Py<PyAny>> + Send>;

/// An operation of the client core, ready to be awaited by either binding.
pub type OpFuture = Pin<Box<dyn Future<Output = Result<Conv, corral_client::Error>> + Send>>;

struct ProcessRuntime {
    pid: u32,
    rt: Runtime,
}

static RUNTIME: AtomicPtr<ProcessRuntime> = AtomicPtr::new(ptr::null_mut());

/// The runtime of this process (built on first use, and again after fork).
pub fn runtime() -> &'static Runtime {
    let pid = std::process::id();
    let cur = RUNTIME.load(Ordering::Acquire);
    // SAFETY: a published pointer is never freed (see below), so it is
    // valid for the life of the process.
    if let Some(p) = unsafe { cur.as_ref() } {
        if p.pid == pid {
            return &p.rt;
        }
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("corral-rt")
        .build()
        .expect("cannot build the tokio runtime");
    let fresh = Box::into_raw(Box::new(ProcessRuntime { pid, rt }));
    match RUNTIME.compare_exchange(cur, fresh, Ordering::AcqRel, Ordering::Acquire) {
        // The previous runtime (if any) was the parent's: leaked on purpose.
        // SAFETY: `fresh` was just published and is never freed.
        Ok(_) => unsafe { &(*fresh).rt },
        Err(winner) => {
            // Another thread of this process published one first: use it.
            // SAFETY: `fresh` was never shared; `winner` is never freed.
            drop(unsafe { Box::from_raw(fresh) });
            unsafe { &(*winner).rt }
        }
    }
}

/// How often a blocking wait wakes up to let Python handle signals (so
/// that Ctrl-C interrupts a blocking call on the main thread).
const SIGNAL_POLL: Duration = Duration::from_millis(200);

/// Runs `fut` to completion on the runtime with the GIL released.
pub fn wait<T: Send>(py: Python<'_>, fut: impl Future<Output = T> + Send) -> PyResult<T> {
    let rt = runtime();
    let mut fut = Box::pin(fut);
    loop {
        let done = py.detach(|| {
            rt.block_on(async { tokio::time::timeout(SIGNAL_POLL, &mut fut).await.ok() })
        });
        if let Some(v) = done {
            return Ok(v);
        }
        py.check_signals()?;
    }
}

/// Runs an operation to completion (GIL released) and converts its result.
pub fn run_op(py: Python<'_>, op: OpFuture) -> PyResult<Py<PyAny>> {
    match wait(py, op)? {
        Ok(conv) => conv(py),
        Err(e) => Err(to_pyerr(py, &e)),
    }
}

static RESOLVE: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

/// Starts an operation on the runtime and returns an asyncio future of the
/// running loop that completes with its result. Cancelling the asyncio
/// future aborts the operation's task (a request already sent may still be
/// applied by the server).
pub fn into_asyncio(py: Python<'_>, op: OpFuture) -> PyResult<Py<PyAny>> {
    let event_loop = py.import("asyncio")?.call_method0("get_running_loop")?;
    let fut = event_loop.call_method0("create_future")?;
    let resolve = RESOLVE
        .import(py, "corral._aio", "resolve")?
        .clone()
        .unbind();
    let (loop_ref, fut_ref) = (event_loop.unbind(), fut.clone().unbind());
    let task = runtime().spawn(async move {
        let result = op.await;
        // Not while the interpreter shuts down: nobody waits then.
        Python::try_attach(|py| {
            let (ok, value): (bool, Py<PyAny>) = match result.map(|conv| conv(py)) {
                Ok(Ok(v)) => (true, v),
                Ok(Err(e)) => (false, e.into_value(py).into_any()),
                Err(e) => (false, to_pyerr(py, &e).into_value(py).into_any()),
            };
            // Fails only if the loop was closed meanwhile: nobody waits.
            let _ =
                loop_ref.call_method1(py, "call_soon_threadsafe", (resolve, fut_ref, ok, value));
        });
    });
    let canceller = Canceller {
        task: task.abort_handle(),
    };
    fut.call_method1("add_done_callback", (canceller,))?;
    Ok(fut.unbind())
}

/// Done-callback of an asyncio future: aborts the task if it was cancelled.
#[pyclass(frozen)]
struct Canceller {
    task: tokio::task::AbortHandle,
}

#[pymethods]
impl Canceller {
    fn __call__(&self, fut: &Bound<'_, PyAny>) -> PyResult<()> {
        if fut.call_method0("cancelled")?.is_truthy()? {
            self.task.abort();
        }
        Ok(())
    }
}
