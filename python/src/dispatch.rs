//! The callback thread of a client: watch callbacks and state listeners run
//! here, one at a time and in order, with the GIL held and no lock of the
//! client held, so a callback may call the client (even blocking calls).
//!
//! The core runs its callbacks on a tokio task; ours only forward a job
//! to this thread, so no Python code ever runs on a runtime thread.

use std::sync::mpsc;

use pyo3::prelude::*;

/// A callback invocation, run on the dispatcher thread with the GIL held.
pub type Job = Box<dyn for<'py> FnOnce(Python<'py>) + Send>;

/// Sends jobs to one client's callback thread. Cheap to clone; the thread
/// ends when every clone is gone.
#[derive(Clone)]
pub struct Dispatcher {
    tx: mpsc::Sender<Job>,
    thread: std::thread::ThreadId,
}

impl Dispatcher {
    pub fn start() -> std::io::Result<Dispatcher> {
        let (tx, rx) = mpsc::channel::<Job>();
        let handle = std::thread::Builder::new()
            .name("corral-callbacks".into())
            .spawn(move || {
                while let Ok(job) = rx.recv() {
                    // Not while the interpreter shuts down: drop the job.
                    Python::try_attach(|py| {
                        let run = std::panic::AssertUnwindSafe(|| job(py));
                        if std::panic::catch_unwind(run).is_err() {
                            eprintln!("corral: a callback job panicked");
                        }
                    });
                }
            })?;
        Ok(Dispatcher {
            tx,
            thread: handle.thread().id(),
        })
    }

    /// Queues a job (dropped if the thread is gone).
    pub fn send(&self, job: Job) {
        let _ = self.tx.send(job);
    }

    /// Resolves once every job queued before it has run — at once when
    /// called on the dispatcher thread itself (a callback that stops the
    /// client must not wait for itself).
    pub fn flush(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        let (done, rx) = tokio::sync::oneshot::channel::<()>();
        if std::thread::current().id() != self.thread {
            self.send(Box::new(move |_py| {
                let _ = done.send(());
            }));
        }
        async move {
            let _ = rx.await;
        }
    }
}

/// Calls `f(arg)`; an exception is reported through `sys.unraisablehook`
/// (as Python does for exceptions it cannot raise to a caller). Returns
/// the callback's result.
pub fn call_reporting(
    py: Python<'_>,
    f: &Py<PyAny>,
    arg: PyResult<Py<PyAny>>,
) -> Option<Py<PyAny>> {
    let result = arg.and_then(|a| f.call1(py, (a,)));
    match result {
        Ok(v) => Some(v),
        Err(e) => {
            e.write_unraisable(py, Some(f.bind(py)));
            None
        }
    }
}
