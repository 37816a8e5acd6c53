//! `_TreeCache`: the core's `TreeCache` (a mirror of a subtree kept current
//! by watches). Its events go to one Python callable on the client's
//! callback thread (in the event loop for an `AsyncClient`), as
//! `(type, (path, data, stat) or None)` with kazoo's `TreeEvent` numbers.

use futures::StreamExt;
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBytes, PyList, PyTuple};

use corral_client::recipes::{ChildData, TreeCache, TreeCacheEvent};

use super::{core_of, Slot};
use crate::convert::stat;
use crate::core::{none, Core};
use crate::dispatch::call_reporting;
use crate::runtime::OpFuture;
use std::sync::Arc;

static IN_LOOP: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

/// `(path, data, stat)`.
fn node(py: Python<'_>, n: &ChildData) -> PyResult<Py<PyAny>> {
    let items = [
        n.path.clone().into_pyobject(py)?.into_any().unbind(),
        PyBytes::new(py, &n.data).into_any().unbind(),
        stat(py, &n.stat)?,
    ];
    Ok(PyTuple::new(py, items)?.into_any().unbind())
}

/// kazoo's `TreeEvent` number and node.
fn event(py: Python<'_>, ev: &TreeCacheEvent) -> PyResult<Py<PyAny>> {
    let (kind, data): (i32, _) = match ev {
        TreeCacheEvent::NodeAdded(n) => (0, Some(n)),
        TreeCacheEvent::NodeUpdated(n) => (1, Some(n)),
        TreeCacheEvent::NodeRemoved(n) => (2, Some(n)),
        TreeCacheEvent::ConnectionSuspended => (3, None),
        TreeCacheEvent::ConnectionReconnected => (4, None),
        TreeCacheEvent::ConnectionLost => (5, None),
        TreeCacheEvent::Initialized => (6, None),
    };
    let data = match data {
        Some(n) => node(py, n)?,
        None => py.None(),
    };
    let kind = kind.into_pyobject(py)?.into_any().unbind();
    Ok(PyTuple::new(py, [kind, data])?.into_any().unbind())
}

#[pyclass(frozen, module = "corral._corral", name = "_TreeCache")]
pub struct PyTreeCache {
    core: Arc<Core>,
    cache: Slot<TreeCache>,
    path: String,
}

#[pymethods]
impl PyTreeCache {
    #[new]
    fn new(client: &Bound<'_, PyAny>, path: String) -> PyResult<Self> {
        Ok(PyTreeCache {
            core: core_of(client)?,
            cache: Slot::new(),
            path,
        })
    }

    /// Loads the subtree and keeps it current; `callback(event)` gets every
    /// event from the first load's on. After a session expiry the cache
    /// carries on with a session of its own (until `close()`).
    fn start(&self, py: Python<'_>, callback: Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        if self.cache.is_some() {
            return Err(PyRuntimeError::new_err("the cache is already started"));
        }
        let client = self.core.session(py)?;
        let callback = if self.core.in_loop {
            let event_loop = py.import("asyncio")?.call_method0("get_running_loop")?;
            IN_LOOP
                .import(py, "corral._aio", "in_loop")?
                .call1((event_loop, callback))?
                .unbind()
        } else {
            callback.unbind()
        };
        let builder =
            TreeCache::builder(client, &self.path).renew_sessions(self.core.builder(None, false));
        let dispatcher = self.core.dispatcher.clone();
        let slot = self.cache.cell();
        let op: OpFuture = Box::pin(async move {
            let (cache, mut events) = builder.start().await?;
            *slot.lock().unwrap() = Some(cache);
            let callback = Arc::new(callback);
            tokio::spawn(async move {
                while let Some(ev) = events.next().await {
                    let f = callback.clone();
                    dispatcher.send(Box::new(move |py| {
                        call_reporting(py, &f, event(py, &ev));
                    }));
                }
            });
            Ok(none())
        });
        super::finish(&self.core, py, op)
    }

    /// Stops the cache (its event stream ends).
    fn close(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let slot = self.cache.cell();
        let op: OpFuture = Box::pin(async move {
            let cache = slot.lock().unwrap().take();
            if let Some(c) = cache {
                c.close().await;
            }
            Ok(none())
        });
        super::finish(&self.core, py, op)
    }

    /// The cached node at `path`: `(path, data, stat)`, or None.
    fn get_data(&self, py: Python<'_>, path: &str) -> PyResult<Option<Py<PyAny>>> {
        let found = {
            let cell = self.cache.cell();
            let cur = cell.lock().unwrap();
            cur.as_ref().and_then(|c| c.get(path))
        };
        found.map(|n| node(py, &n)).transpose()
    }

    /// The names of the cached children of `path`, or None.
    fn get_children(&self, py: Python<'_>, path: &str) -> PyResult<Option<Py<PyAny>>> {
        let found = {
            let cell = self.cache.cell();
            let cur = cell.lock().unwrap();
            cur.as_ref().and_then(|c| c.children(path))
        };
        match found {
            Some(names) => Ok(Some(PyList::new(py, names)?.into_any().unbind())),
            None => Ok(None),
        }
    }

    #[getter]
    fn path(&self) -> &str {
        &self.path
    }
}
