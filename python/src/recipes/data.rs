//! The data recipes of the client core: `_Barrier`, `_DoubleBarrier`,
//! `_Counter`, `_Party` and `_Queue` (kazoo's `Queue` and `LockingQueue`
//! shapes both map to the core's `Queue`).

use std::time::Duration;

use corral_client::recipes::{
    Barrier, Counter, CounterFormat, DoubleBarrier, Party, Queue, QueueItem,
};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use super::{bytes_or_none, core_of, ok, strings, timeout_arg, PerSession, Slot};
use crate::core::none;
use crate::runtime::OpFuture;

/// A barrier (the node exists = set); Curator's and kazoo's layout.
#[pyclass(frozen, module = "corral._corral", name = "_Barrier")]
pub struct PyBarrier {
    handle: PerSession<Barrier>,
    path: String,
}

#[pymethods]
impl PyBarrier {
    #[new]
    fn new(client: &Bound<'_, PyAny>, path: String) -> PyResult<Self> {
        Ok(PyBarrier {
            handle: PerSession::new(core_of(client)?),
            path,
        })
    }

    fn create(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let (_, b) = self
            .handle
            .get(py, |c| Barrier::new(c.clone(), &self.path))?;
        let op: OpFuture = Box::pin(async move {
            b.set().await?;
            Ok(none())
        });
        self.handle.finish(py, op)
    }

    /// True if the barrier was set (and is now removed).
    fn remove(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let (_, b) = self
            .handle
            .get(py, |c| Barrier::new(c.clone(), &self.path))?;
        let op: OpFuture = Box::pin(async move {
            let was_set = b.is_set().await?;
            b.remove().await?;
            Ok(ok(was_set))
        });
        self.handle.finish(py, op)
    }

    /// True once the barrier is removed, False after `timeout` seconds.
    #[pyo3(signature = (timeout=None))]
    fn wait(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<Py<PyAny>> {
        let (_, b) = self
            .handle
            .get(py, |c| Barrier::new(c.clone(), &self.path))?;
        let wait = timeout_arg(timeout)?;
        let op: OpFuture = Box::pin(async move { Ok(ok(b.wait(wait).await?)) });
        self.handle.finish(py, op)
    }
}

/// A participant of a double barrier (Curator's layout).
#[pyclass(frozen, module = "corral._corral", name = "_DoubleBarrier")]
pub struct PyDoubleBarrier {
    handle: PerSession<tokio::sync::Mutex<DoubleBarrier>>,
    path: String,
    num_clients: usize,
}

#[pymethods]
impl PyDoubleBarrier {
    #[new]
    fn new(client: &Bound<'_, PyAny>, path: String, num_clients: usize) -> PyResult<Self> {
        if num_clients == 0 {
            return Err(PyValueError::new_err("num_clients must be at least 1"));
        }
        Ok(PyDoubleBarrier {
            handle: PerSession::new(core_of(client)?),
            path,
            num_clients,
        })
    }

    /// True once `num_clients` have entered, False after `timeout` seconds.
    #[pyo3(signature = (timeout=None))]
    fn enter(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<Py<PyAny>> {
        let (_, b) = self.handle.get(py, |c| {
            DoubleBarrier::new(c.clone(), &self.path, self.num_clients).into()
        })?;
        let wait = timeout_arg(timeout)?;
        let op: OpFuture = Box::pin(async move { Ok(ok(b.lock().await.enter(wait).await?)) });
        self.handle.finish(py, op)
    }

    /// True once every participant has left, False after `timeout` seconds.
    #[pyo3(signature = (timeout=None))]
    fn leave(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<Py<PyAny>> {
        let (_, b) = self.handle.get(py, |c| {
            DoubleBarrier::new(c.clone(), &self.path, self.num_clients).into()
        })?;
        let wait = timeout_arg(timeout)?;
        let op: OpFuture = Box::pin(async move { Ok(ok(b.lock().await.leave(wait).await?)) });
        self.handle.finish(py, op)
    }
}

/// An integer counter: ASCII decimal as kazoo writes it, or Curator's
/// `SharedCount` (4-byte big-endian) with `support_curator`.
#[pyclass(frozen, module = "corral._corral", name = "_Counter")]
pub struct PyCounter {
    handle: PerSession<Counter>,
    path: String,
    default: i64,
    format: CounterFormat,
}

impl PyCounter {
    fn counter(&self, py: Python<'_>) -> PyResult<std::sync::Arc<Counter>> {
        let (_, c) = self.handle.get(py, |c| {
            Counter::new(c.clone(), &self.path)
                .with_format(self.format)
                .with_initial(self.default)
        })?;
        Ok(c)
    }
}

#[pymethods]
impl PyCounter {
    #[new]
    #[pyo3(signature = (client, path, default=0, support_curator=false))]
    fn new(
        client: &Bound<'_, PyAny>,
        path: String,
        default: i64,
        support_curator: bool,
    ) -> PyResult<Self> {
        Ok(PyCounter {
            handle: PerSession::new(core_of(client)?),
            path,
            default,
            format: if support_curator {
                CounterFormat::SharedCount
            } else {
                CounterFormat::Decimal
            },
        })
    }

    /// The value now (the node is created with `default` if missing).
    fn value(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let c = self.counter(py)?;
        let op: OpFuture = Box::pin(async move { Ok(ok(c.get().await?)) });
        self.handle.finish(py, op)
    }

    /// Adds `delta` atomically; returns the new value.
    fn add(&self, py: Python<'_>, delta: i64) -> PyResult<Py<PyAny>> {
        let c = self.counter(py)?;
        let op: OpFuture = Box::pin(async move { Ok(ok(c.add(delta).await?)) });
        self.handle.finish(py, op)
    }
}

/// A party (kazoo's layout: `<uuid hex>__party__` members).
#[pyclass(frozen, module = "corral._corral", name = "_Party")]
pub struct PyParty {
    handle: PerSession<Party>,
    path: String,
    identifier: Vec<u8>,
}

impl PyParty {
    fn party(&self, py: Python<'_>) -> PyResult<std::sync::Arc<Party>> {
        let (_, p) = self
            .handle
            .get(py, |c| Party::new(c.clone(), &self.path, &self.identifier))?;
        Ok(p)
    }
}

#[pymethods]
impl PyParty {
    #[new]
    fn new(client: &Bound<'_, PyAny>, path: String, identifier: Vec<u8>) -> PyResult<Self> {
        Ok(PyParty {
            handle: PerSession::new(core_of(client)?),
            path,
            identifier,
        })
    }

    fn join(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let p = self.party(py)?;
        let op: OpFuture = Box::pin(async move {
            p.join().await?;
            Ok(none())
        });
        self.handle.finish(py, op)
    }

    /// True if we were a member.
    fn leave(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let p = self.party(py)?;
        let op: OpFuture = Box::pin(async move {
            let was = p.is_member().await?;
            p.leave().await?;
            Ok(ok(was))
        });
        self.handle.finish(py, op)
    }

    /// The members' identifiers.
    fn members(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let p = self.party(py)?;
        let op: OpFuture = Box::pin(async move {
            let members = p.members().await?;
            let ids = members
                .into_iter()
                .map(|m| String::from_utf8_lossy(&m.data).into_owned())
                .collect();
            Ok(strings(ids))
        });
        self.handle.finish(py, op)
    }

    fn count(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let p = self.party(py)?;
        let op: OpFuture = Box::pin(async move { Ok(ok(p.count().await?)) });
        self.handle.finish(py, op)
    }
}

/// How long a non-blocking `take` waits when the queue has items (they
/// may all be locked by other consumers).
const TAKE_NOWAIT: Duration = Duration::from_secs(1);

/// A queue of the client core (kazoo's `LockingQueue` layout: items in
/// `<path>/entries`, locks in `<path>/taken`). This object holds at most
/// one locked item (kazoo's "processing element").
#[pyclass(frozen, module = "corral._corral", name = "_Queue")]
pub struct PyQueue {
    handle: PerSession<Queue>,
    item: Slot<QueueItem>,
    path: String,
}

impl PyQueue {
    fn queue(&self, py: Python<'_>) -> PyResult<std::sync::Arc<Queue>> {
        let (_, q) = self.handle.get(py, |c| Queue::new(c.clone(), &self.path))?;
        Ok(q)
    }
}

fn priority_arg(priority: i64) -> PyResult<u16> {
    match u16::try_from(priority) {
        Ok(p) if p <= 999 => Ok(p),
        _ => Err(PyValueError::new_err("priority must be between 0 and 999")),
    }
}

#[pymethods]
impl PyQueue {
    #[new]
    fn new(client: &Bound<'_, PyAny>, path: String) -> PyResult<Self> {
        Ok(PyQueue {
            handle: PerSession::new(core_of(client)?),
            item: Slot::new(),
            path,
        })
    }

    /// Appends an item; returns its node name.
    #[pyo3(signature = (value, priority=100))]
    fn put(&self, py: Python<'_>, value: Vec<u8>, priority: i64) -> PyResult<Py<PyAny>> {
        let (q, p) = (self.queue(py)?, priority_arg(priority)?);
        let op: OpFuture = Box::pin(async move { Ok(ok(q.put_with_priority(&value, p).await?)) });
        self.handle.finish(py, op)
    }

    /// Appends items atomically; returns their node names.
    #[pyo3(signature = (values, priority=100))]
    fn put_all(&self, py: Python<'_>, values: Vec<Vec<u8>>, priority: i64) -> PyResult<Py<PyAny>> {
        let (q, p) = (self.queue(py)?, priority_arg(priority)?);
        let op: OpFuture = Box::pin(async move {
            let items: Vec<&[u8]> = values.iter().map(|v| v.as_slice()).collect();
            Ok(strings(q.put_all(&items, p).await?))
        });
        self.handle.finish(py, op)
    }

    /// The number of items (locked ones included).
    fn count(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let q = self.queue(py)?;
        let op: OpFuture = Box::pin(async move { Ok(ok(q.count().await?)) });
        self.handle.finish(py, op)
    }

    /// Takes and consumes the next item: its data, or None if the queue is
    /// empty (with `timeout`: if none came within `timeout` seconds).
    #[pyo3(signature = (timeout=None))]
    fn take(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<Py<PyAny>> {
        let q = self.queue(py)?;
        let wait = timeout.map(crate::core::duration).transpose()?;
        let op: OpFuture = Box::pin(async move {
            let wait = match wait {
                Some(w) => w,
                None if q.count().await? == 0 => return Ok(bytes_or_none(None)),
                None => TAKE_NOWAIT,
            };
            Ok(bytes_or_none(q.take(wait).await?))
        });
        self.handle.finish(py, op)
    }

    /// Locks the next item and returns its data (the item held already, if
    /// any); None if none came within `timeout` seconds.
    #[pyo3(signature = (timeout=None))]
    fn take_locked(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<Py<PyAny>> {
        let q = self.queue(py)?;
        let wait = timeout_arg(timeout)?;
        let slot = self.item.cell();
        let op: OpFuture = Box::pin(async move {
            if let Some(item) = &*slot.lock().unwrap() {
                return Ok(bytes_or_none(Some(item.data().to_vec())));
            }
            let Some(item) = q.take_locked(wait).await? else {
                return Ok(bytes_or_none(None));
            };
            let data = item.data().to_vec();
            let mut cur = slot.lock().unwrap();
            if cur.is_none() {
                *cur = Some(item);
                return Ok(bytes_or_none(Some(data)));
            }
            // A concurrent take of this object won: ours goes back (its
            // drop releases it) and theirs is the processing element.
            drop(item);
            Ok(bytes_or_none(cur.as_ref().map(|i| i.data().to_vec())))
        });
        self.handle.finish(py, op)
    }

    /// Whether we still hold the lock of the item taken.
    fn holds_lock(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let slot = self.item.cell();
        let op: OpFuture = Box::pin(async move {
            let item = slot.lock().unwrap().take();
            let Some(item) = item else {
                return Ok(ok(false));
            };
            let held = item.holds_lock().await;
            slot.lock().unwrap().get_or_insert(item);
            Ok(ok(held?))
        });
        self.handle.finish(py, op)
    }

    /// Removes the item taken from the queue: True, or False if none.
    fn consume(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let slot = self.item.cell();
        let op: OpFuture = Box::pin(async move {
            let item = slot.lock().unwrap().take();
            match item {
                Some(i) => i.consume().await.map(|()| ok(true)),
                None => Ok(ok(false)),
            }
        });
        self.handle.finish(py, op)
    }

    /// Puts the item taken back: True, or False if none.
    fn release(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let slot = self.item.cell();
        let op: OpFuture = Box::pin(async move {
            let item = slot.lock().unwrap().take();
            match item {
                Some(i) => i.release().await.map(|()| ok(true)),
                None => Ok(ok(false)),
            }
        });
        self.handle.finish(py, op)
    }

    /// The data of the item taken, if any (no server call).
    #[getter]
    fn processing_element(&self, py: Python<'_>) -> Option<Py<PyBytes>> {
        let cell = self.item.cell();
        let cur = cell.lock().unwrap();
        cur.as_ref().map(|i| PyBytes::new(py, i.data()).unbind())
    }
}
