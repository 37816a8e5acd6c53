//! `_Lock` (the core's `Lock`, or one side of its `ReadWriteLock`) and
//! `_Semaphore` (the core's `Semaphore`), with kazoo's `acquire(blocking,
//! timeout)`, `release()`, `cancel()` and `contenders()` /
//! `lease_holders()`.

use std::sync::Arc;
use std::time::Duration;

use corral_client::recipes::{Lease, Lock, LockState, ReadWriteLock, Semaphore};
use corral_client::Error;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use tokio::sync::watch;

use super::{core_of, identifiers, join, ok, raise, strings, timeout_arg, PerSession, Slot};
use crate::runtime::OpFuture;

/// kazoo's `cancel()`: a flag that makes a pending (or the next waiting)
/// acquire raise CancelledError; cleared when it does.
#[derive(Clone)]
struct Cancel(Arc<watch::Sender<bool>>);

impl Cancel {
    fn new() -> Cancel {
        Cancel(Arc::new(watch::channel(false).0))
    }

    fn set(&self) {
        self.0.send_replace(true);
    }

    /// Resolves once cancelled, and clears the flag.
    async fn wait(self) {
        let mut rx = self.0.subscribe();
        if rx.wait_for(|c| *c).await.is_err() {
            std::future::pending::<()>().await;
        }
        self.0.send_replace(false);
    }
}

fn cancelled(what: &str) -> crate::runtime::Conv {
    raise("CancelledError", format!("{what} cancelled"))
}

fn timed_out(what: &str, path: &str, timeout: Option<f64>) -> crate::runtime::Conv {
    let secs = timeout.unwrap_or_default();
    raise(
        "LockTimeout",
        format!("Failed to acquire {what} on {path} after {secs} seconds"),
    )
}

/// A mutex, or one side of a read/write lock.
enum Handle {
    Mutex(Lock),
    Read(ReadWriteLock),
    Write(ReadWriteLock),
}

impl Handle {
    fn lock(&self) -> &Lock {
        match self {
            Handle::Mutex(l) => l,
            Handle::Read(rw) => rw.read_lock(),
            Handle::Write(rw) => rw.write_lock(),
        }
    }
}

/// A lock of the client core: `kind` is "lock" (Curator's
/// `InterProcessMutex`, `-lock-` nodes), "read" or "write" (the sides of
/// Curator's `InterProcessReadWriteLock`, `__READ__` / `__WRIT__` nodes).
#[pyclass(frozen, module = "corral._corral", name = "_Lock")]
pub struct PyLock {
    handle: PerSession<Handle>,
    path: String,
    identifier: Vec<u8>,
    kind: String,
    cancel: Cancel,
}

impl PyLock {
    fn make(&self, py: Python<'_>) -> PyResult<(corral_client::Client, Arc<Handle>)> {
        self.handle.get(py, |c| match self.kind.as_str() {
            "read" => Handle::Read(ReadWriteLock::with_data(
                c,
                &self.path,
                self.identifier.clone(),
            )),
            "write" => Handle::Write(ReadWriteLock::with_data(
                c,
                &self.path,
                self.identifier.clone(),
            )),
            _ => Handle::Mutex(Lock::new(c, &self.path).with_data(self.identifier.clone())),
        })
    }

    fn state_now(&self) -> LockState {
        self.handle
            .peek()
            .map_or(LockState::Released, |h| h.lock().state())
    }
}

#[pymethods]
impl PyLock {
    #[new]
    #[pyo3(signature = (client, path, identifier, kind="lock"))]
    fn new(
        client: &Bound<'_, PyAny>,
        path: String,
        identifier: Vec<u8>,
        kind: &str,
    ) -> PyResult<Self> {
        if !matches!(kind, "lock" | "read" | "write") {
            return Err(PyValueError::new_err(
                "kind must be 'lock', 'read' or 'write'",
            ));
        }
        Ok(PyLock {
            handle: PerSession::new(core_of(client)?),
            path,
            identifier,
            kind: kind.to_owned(),
            cancel: Cancel::new(),
        })
    }

    /// True once held; False if `blocking` is false and the lock is taken;
    /// LockTimeout after `timeout` seconds; CancelledError after `cancel()`.
    #[pyo3(signature = (blocking=true, timeout=None))]
    fn acquire(&self, py: Python<'_>, blocking: bool, timeout: Option<f64>) -> PyResult<Py<PyAny>> {
        let (_, h) = self.make(py)?;
        let wait = timeout_arg(timeout)?;
        let (cancel, path) = (self.cancel.clone(), self.path.clone());
        let op: OpFuture = Box::pin(async move {
            let lock = h.lock();
            let attempt = async {
                if blocking {
                    lock.acquire_timeout(wait).await
                } else {
                    lock.try_acquire().await
                }
            };
            tokio::select! {
                r = attempt => Ok(match r? {
                    false if blocking => timed_out("lock", &path, timeout),
                    got => ok(got),
                }),
                () = cancel.wait() => Ok(cancelled("lock")),
            }
        });
        self.handle.finish(py, op)
    }

    /// Releases one hold: True, or False if not held.
    fn release(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let h = self.handle.peek();
        let op: OpFuture = Box::pin(async move {
            let Some(h) = h else { return Ok(ok(false)) };
            match h.lock().release().await {
                Ok(()) => Ok(ok(true)),
                Err(Error::BadArguments(_)) => Ok(ok(false)),
                Err(e) => Err(e),
            }
        });
        self.handle.finish(py, op)
    }

    fn cancel(&self) {
        self.cancel.set();
    }

    /// The identifiers of the contenders, in queue order (the holder, or
    /// the holding readers, first).
    fn contenders(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let (client, h) = self.make(py)?;
        let path = self.path.clone();
        let op: OpFuture = Box::pin(async move {
            let names = h.lock().contenders().await?;
            Ok(strings(identifiers(&client, &path, names).await?))
        });
        self.handle.finish(py, op)
    }

    /// Held (connected or not): "ACQUIRED" or "SUSPENDED".
    #[getter]
    fn is_acquired(&self) -> bool {
        matches!(self.state_now(), LockState::Acquired | LockState::Suspended)
    }

    /// "RELEASED", "ACQUIRED", "SUSPENDED" or "LOST" (the core's LockState).
    #[getter]
    fn state(&self) -> &'static str {
        match self.state_now() {
            LockState::Released => "RELEASED",
            LockState::Acquired => "ACQUIRED",
            LockState::Suspended => "SUSPENDED",
            LockState::Lost => "LOST",
        }
    }

    /// Our node's name while held.
    #[getter]
    fn node(&self) -> Option<String> {
        let node = self.handle.peek()?.lock().node()?;
        Some(node.rsplit('/').next().unwrap_or_default().to_owned())
    }

    #[getter]
    fn path(&self) -> &str {
        &self.path
    }
}

/// How long a non-blocking semaphore acquire may wait for the semaphore's
/// mutex when a lease looked free.
const TRY_WAIT: Duration = Duration::from_secs(2);

/// A counting semaphore of the client core (Curator's
/// `InterProcessSemaphoreV2`); this object holds at most one lease.
#[pyclass(frozen, module = "corral._corral", name = "_Semaphore")]
pub struct PySemaphore {
    sem: PerSession<Semaphore>,
    lease: Slot<Lease>,
    path: String,
    identifier: Vec<u8>,
    max_leases: usize,
    cancel: Cancel,
}

#[pymethods]
impl PySemaphore {
    #[new]
    #[pyo3(signature = (client, path, identifier, max_leases=1))]
    fn new(
        client: &Bound<'_, PyAny>,
        path: String,
        identifier: Vec<u8>,
        max_leases: usize,
    ) -> PyResult<Self> {
        if max_leases == 0 {
            return Err(PyValueError::new_err("max_leases must be at least 1"));
        }
        Ok(PySemaphore {
            sem: PerSession::new(core_of(client)?),
            lease: Slot::new(),
            path,
            identifier,
            max_leases,
            cancel: Cancel::new(),
        })
    }

    /// True once a lease is held (at once if this object holds one);
    /// False if `blocking` is false and every lease is taken; LockTimeout
    /// after `timeout` seconds; CancelledError after `cancel()`.
    #[pyo3(signature = (blocking=true, timeout=None))]
    fn acquire(&self, py: Python<'_>, blocking: bool, timeout: Option<f64>) -> PyResult<Py<PyAny>> {
        let (_, sem) = self.sem.get(py, |c| {
            Semaphore::new(c, &self.path, self.max_leases).with_data(self.identifier.clone())
        })?;
        let wait = timeout_arg(timeout)?;
        let (cancel, path, max) = (self.cancel.clone(), self.path.clone(), self.max_leases);
        let slot = self.lease.cell();
        let op: OpFuture = Box::pin(async move {
            if slot.lock().unwrap().is_some() {
                return Ok(ok(true));
            }
            let attempt = async {
                if !blocking && sem.lease_nodes().await?.len() >= max {
                    return Ok(None);
                }
                sem.acquire_timeout(if blocking { wait } else { TRY_WAIT })
                    .await
            };
            tokio::select! {
                r = attempt => Ok(match r? {
                    Some(lease) => {
                        // A concurrent acquire of this object may have won:
                        // then ours is given back (dropped: deleted).
                        let extra = slot.lock().unwrap().replace(lease);
                        if let Some(extra) = extra {
                            *slot.lock().unwrap() = Some(extra);
                        }
                        ok(true)
                    }
                    None if blocking => timed_out("semaphore", &path, timeout),
                    None => ok(false),
                }),
                () = cancel.wait() => Ok(cancelled("semaphore")),
            }
        });
        self.sem.finish(py, op)
    }

    /// Gives the lease back: True, or False if this object holds none.
    fn release(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let slot = self.lease.cell();
        let op: OpFuture = Box::pin(async move {
            let lease = slot.lock().unwrap().take();
            match lease {
                Some(l) => l.release().await.map(|()| ok(true)),
                None => Ok(ok(false)),
            }
        });
        self.sem.finish(py, op)
    }

    fn cancel(&self) {
        self.cancel.set();
    }

    /// The identifiers of the lease holders.
    fn lease_holders(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let (client, sem) = self.sem.get(py, |c| {
            Semaphore::new(c, &self.path, self.max_leases).with_data(self.identifier.clone())
        })?;
        let dir = join(&self.path, "leases");
        let op: OpFuture = Box::pin(async move {
            let names = sem.lease_nodes().await?;
            Ok(strings(identifiers(&client, &dir, names).await?))
        });
        self.sem.finish(py, op)
    }

    #[getter]
    fn is_acquired(&self) -> bool {
        self.lease.is_some()
    }

    #[getter]
    fn path(&self) -> &str {
        &self.path
    }

    #[getter]
    fn max_leases(&self) -> usize {
        self.max_leases
    }
}
