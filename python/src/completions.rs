//! AsyncClient operations as asyncio futures, completed in their event
//! loop in batches.
//!
//! Operations reach the runtime through their loop's submission channel
//! (one wake-up of the runtime per batch) and run as tasks there. When one
//! ends, its result goes into the queue of its event loop, without the
//! GIL; the first result of a batch wakes the loop by writing one byte to
//! a socket the loop watches (`loop.add_reader`). The loop then completes
//! every queued future in one callback, converting the results to Python
//! objects there. So no runtime thread waits for the GIL, and a busy loop
//! pays one wake-up per batch rather than a `call_soon_threadsafe` per
//! operation. (A loop without `add_reader` is woken with
//! `call_soon_threadsafe`, once per batch.)

use std::future::Future;
use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use futures::future::{abortable, AbortHandle};
use pyo3::exceptions::{PyNotImplementedError, PyRuntimeError};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyDict;
use tokio::sync::mpsc;

use crate::errors::to_pyerr;
use crate::runtime::{runtime, Conv, OpFuture};

/// A finished operation whose asyncio future is not completed yet.
struct Finished {
    fut: Py<PyAny>,
    result: Result<Conv, corral_client::Error>,
}

/// How the runtime wakes an event loop that has results to take.
enum Wake {
    /// `tx` is written; the loop watches `rx`.
    Socket { tx: UnixStream, rx: UnixStream },
    /// `loop.call_soon_threadsafe` (under the GIL).
    Threadsafe(Py<PyAny>),
}

/// An operation, with what completes its future, ready to be spawned.
type Job = Pin<Box<dyn Future<Output = ()> + Send>>;

/// The operations of one event loop: those submitted, and those finished.
struct Queue {
    submit: mpsc::UnboundedSender<Job>,
    finished: Mutex<Vec<Finished>>,
    wake: Wake,
}

impl Queue {
    /// A queue for `event_loop`, its reader registered.
    fn new(event_loop: &Bound<'_, PyAny>) -> PyResult<Arc<Queue>> {
        let (tx, rx) = UnixStream::pair()?;
        tx.set_nonblocking(true)?;
        rx.set_nonblocking(true)?;
        let fd = rx.as_raw_fd();
        let queue = Queue::with_wake(Wake::Socket { tx, rx });
        let drain = Drain {
            queue: queue.clone(),
        };
        match event_loop.call_method1(intern!(event_loop.py(), "add_reader"), (fd, drain)) {
            Ok(_) => Ok(queue),
            Err(e) if e.is_instance_of::<PyNotImplementedError>(event_loop.py()) => Ok(
                Queue::with_wake(Wake::Threadsafe(event_loop.clone().unbind())),
            ),
            Err(e) => Err(e),
        }
    }

    /// A queue and its submitter task, which ends with the queue.
    fn with_wake(wake: Wake) -> Arc<Queue> {
        let (submit, mut jobs) = mpsc::unbounded_channel::<Job>();
        runtime().spawn(async move {
            while let Some(job) = jobs.recv().await {
                tokio::spawn(job);
            }
        });
        Arc::new(Queue {
            submit,
            finished: Mutex::new(Vec::new()),
            wake,
        })
    }

    /// On a runtime thread: queues a result, waking the loop if it is the
    /// first since the loop last took them.
    fn push(self: &Arc<Self>, done: Finished) {
        let first = {
            let mut finished = self.finished.lock().unwrap();
            finished.push(done);
            finished.len() == 1
        };
        if !first {
            return;
        }
        match &self.wake {
            // Fails only when the socket is full: the loop is woken anyway.
            Wake::Socket { tx, .. } => {
                let _ = (&*tx).write(&[1]);
            }
            Wake::Threadsafe(event_loop) => {
                let drain = Drain {
                    queue: self.clone(),
                };
                // Not while the interpreter shuts down; fails only if the
                // loop was closed: nobody waits then.
                Python::try_attach(|py| {
                    let _ = event_loop.call_method1(py, "call_soon_threadsafe", (drain,));
                });
            }
        }
    }

    /// In the loop: completes the futures of every queued result. The wake
    /// bytes are read before the queue is taken, so a result queued after
    /// the take always finds the socket readable again.
    fn drain(&self, py: Python<'_>) {
        if let Wake::Socket { rx, .. } = &self.wake {
            let mut buf = [0u8; 256];
            while let Ok(n) = (&*rx).read(&mut buf) {
                if n < buf.len() {
                    break;
                }
            }
        }
        let batch = std::mem::take(&mut *self.finished.lock().unwrap());
        for done in batch {
            if let Err(e) = complete(py, done) {
                e.write_unraisable(py, None);
            }
        }
    }
}

/// Sets the result (or exception) of a finished operation's future; a
/// cancelled future stays cancelled.
fn complete(py: Python<'_>, done: Finished) -> PyResult<()> {
    let fut = done.fut.bind(py);
    if fut.call_method0(intern!(py, "done"))?.is_truthy()? {
        return Ok(());
    }
    let value = match done.result {
        Ok(conv) => conv(py),
        Err(e) => Err(to_pyerr(py, &e)),
    };
    match value {
        Ok(v) => fut.call_method1(intern!(py, "set_result"), (v,))?,
        Err(e) => fut.call_method1(intern!(py, "set_exception"), (e.into_value(py),))?,
    };
    Ok(())
}

/// The loop's callback: takes the queued results.
#[pyclass(frozen)]
struct Drain {
    queue: Arc<Queue>,
}

#[pymethods]
impl Drain {
    fn __call__(&self, py: Python<'_>) {
        self.queue.drain(py);
    }
}

/// An event loop with a queue, of this process.
struct Registered {
    pid: u32,
    event_loop: Py<PyAny>,
    queue: Arc<Queue>,
}

/// The event loops seen by this process (closed ones are forgotten when
/// the next new loop comes).
static LOOPS: Mutex<Vec<Registered>> = Mutex::new(Vec::new());

/// The queue of `event_loop` (the running loop of this thread).
fn queue_of(event_loop: &Bound<'_, PyAny>) -> PyResult<Arc<Queue>> {
    let py = event_loop.py();
    let pid = crate::process::pid();
    let known: Vec<(u32, Py<PyAny>)> = {
        let loops = LOOPS.lock().unwrap();
        if let Some(r) = loops
            .iter()
            .find(|r| r.pid == pid && r.event_loop.as_ptr() == event_loop.as_ptr())
        {
            return Ok(r.queue.clone());
        }
        loops
            .iter()
            .map(|r| (r.pid, r.event_loop.clone_ref(py)))
            .collect()
    };
    // A new loop. No Python code runs while LOOPS is locked (it could
    // release the GIL to a thread waiting for the lock).
    let mut stale = Vec::new();
    for (p, l) in &known {
        if *p != pid || l.bind(py).call_method0("is_closed")?.is_truthy()? {
            stale.push(l.as_ptr());
        }
    }
    let queue = Queue::new(event_loop)?;
    let gone: Vec<Registered> = {
        let mut loops = LOOPS.lock().unwrap();
        let (gone, kept) = std::mem::take(&mut *loops)
            .into_iter()
            .partition(|r| stale.contains(&r.event_loop.as_ptr()));
        *loops = kept;
        loops.push(Registered {
            pid,
            event_loop: event_loop.clone().unbind(),
            queue: queue.clone(),
        });
        gone
    };
    drop(gone);
    Ok(queue)
}

static GET_RUNNING_LOOP: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
static OP_FUTURE: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

/// Starts an operation on the runtime and returns an asyncio future of the
/// running loop (a `corral._aio.OpFuture`) that completes with its result.
/// Cancelling the future aborts the operation (a request already sent may
/// still be applied by the server).
pub fn into_asyncio(py: Python<'_>, op: OpFuture) -> PyResult<Py<PyAny>> {
    let event_loop = GET_RUNNING_LOOP
        .import(py, "asyncio", "get_running_loop")?
        .call0()?;
    let queue = queue_of(&event_loop)?;
    let kwargs = PyDict::new(py);
    kwargs.set_item(intern!(py, "loop"), &event_loop)?;
    let fut = OP_FUTURE
        .import(py, "corral._aio", "OpFuture")?
        .call((), Some(&kwargs))?;
    let (op, abort) = abortable(op);
    fut.setattr(intern!(py, "_abort"), Abort(abort))?;
    let fut_ref = fut.clone().unbind();
    let done = queue.clone();
    let job: Job = Box::pin(async move {
        // Not when aborted: nobody waits.
        if let Ok(result) = op.await {
            done.push(Finished {
                fut: fut_ref,
                result,
            });
        }
    });
    if queue.submit.send(job).is_err() {
        // The submitter task ends only with its queue: not expected.
        return Err(PyRuntimeError::new_err("the runtime is gone"));
    }
    Ok(fut.unbind())
}

/// `OpFuture._abort`: aborts the operation of a cancelled future.
#[pyclass(frozen)]
struct Abort(AbortHandle);

#[pymethods]
impl Abort {
    fn __call__(&self) {
        self.0.abort();
    }
}
