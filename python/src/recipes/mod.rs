//! The recipes of `corral_client::recipes` for Python. The behaviour is the
//! core's; these classes (`corral._corral._Lock`, ...) only map calls and
//! results. The kazoo-shaped classes users see are in
//! `python/corral/recipe/*.py`.
//!
//! Every method returns its result when the recipe was made from a
//! `Client` (blocking, GIL released) and an asyncio future when it was
//! made from an `AsyncClient`.
//!
//! - `lock.rs`: `_Lock` (mutex, read and write sides) and `_Semaphore`;
//! - `data.rs`: `_Barrier`, `_DoubleBarrier`, `_Counter`, `_Party`, `_Queue`;
//! - `cache.rs`: `_TreeCache`.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use corral_client::Client;
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList};
use pyo3::IntoPyObjectExt;

use crate::aio::PyAsyncClient;
use crate::client::PyClient;
use crate::completions::into_asyncio;
use crate::core::{duration, Core};
use crate::errors::exception;
use crate::runtime::{run_op, runtime, Conv, OpFuture};

mod cache;
mod data;
mod lock;

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<lock::PyLock>()?;
    m.add_class::<lock::PySemaphore>()?;
    m.add_class::<data::PyBarrier>()?;
    m.add_class::<data::PyDoubleBarrier>()?;
    m.add_class::<data::PyCounter>()?;
    m.add_class::<data::PyParty>()?;
    m.add_class::<data::PyQueue>()?;
    m.add_class::<cache::PyTreeCache>()?;
    Ok(())
}

/// The shared state of a corral `Client` or `AsyncClient`.
pub fn core_of(client: &Bound<'_, PyAny>) -> PyResult<Arc<Core>> {
    if let Ok(c) = client.cast::<PyClient>() {
        return Ok(c.get().core().clone());
    }
    if let Ok(c) = client.cast::<PyAsyncClient>() {
        return Ok(c.get().core().clone());
    }
    Err(PyTypeError::new_err(
        "client must be a corral Client or AsyncClient",
    ))
}

/// Blocks (GIL released) for a `Client`'s recipe; an asyncio future for an
/// `AsyncClient`'s.
pub fn finish(core: &Core, py: Python<'_>, op: OpFuture) -> PyResult<Py<PyAny>> {
    if core.in_loop {
        into_asyncio(py, op)
    } else {
        run_op(py, op)
    }
}

/// "Wait forever" (kazoo's `timeout=None`) as a deadline tokio accepts.
const FOREVER: Duration = Duration::from_secs(10 * 365 * 24 * 3600);

/// kazoo's optional timeout in seconds.
pub fn timeout_arg(timeout: Option<f64>) -> PyResult<Duration> {
    match timeout {
        Some(t) => duration(t),
        None => Ok(FOREVER),
    }
}

/// A result converted to Python once the GIL is held.
pub fn ok<T>(value: T) -> Conv
where
    T: for<'py> IntoPyObject<'py> + Send + 'static,
{
    Box::new(move |py| value.into_py_any(py))
}

/// `bytes`, or None.
pub fn bytes_or_none(value: Option<Vec<u8>>) -> Conv {
    Box::new(move |py| match value {
        Some(v) => Ok(PyBytes::new(py, &v).into_any().unbind()),
        None => Ok(py.None()),
    })
}

/// A list of strings.
pub fn strings(v: Vec<String>) -> Conv {
    Box::new(move |py| Ok(PyList::new(py, v)?.into_any().unbind()))
}

/// Raises a `corral.exceptions` exception (by class name).
pub fn raise(name: &'static str, msg: String) -> Conv {
    Box::new(move |py| Err(exception(py, name, msg)))
}

/// A recipe handle of the client core, made for one session of the
/// client, and made again for the next session once that one has ended
/// (kazoo's recipes carry on with the client's new session).
pub struct PerSession<T> {
    core: Arc<Core>,
    current: Mutex<Option<(Client, Arc<T>)>>,
    pid: u32,
}

impl<T> PerSession<T> {
    pub fn new(core: Arc<Core>) -> Self {
        PerSession {
            core,
            current: Mutex::new(None),
            pid: crate::process::pid(),
        }
    }

    /// The handle for the current session (made by `make` if needed), and
    /// that session.
    pub fn get(
        &self,
        py: Python<'_>,
        make: impl FnOnce(&Client) -> T,
    ) -> PyResult<(Client, Arc<T>)> {
        let client = self.core.session(py)?;
        let mut cur = self.current.lock().unwrap();
        if let Some((c, h)) = &*cur {
            if !c.state().is_terminal() {
                return Ok((c.clone(), h.clone()));
            }
        }
        let h = Arc::new(make(&client));
        *cur = Some((client.clone(), h.clone()));
        Ok((client, h))
    }

    /// The handle last made, if any.
    pub fn peek(&self) -> Option<Arc<T>> {
        self.current
            .lock()
            .unwrap()
            .as_ref()
            .map(|(_, h)| h.clone())
    }

    pub fn finish(&self, py: Python<'_>, op: OpFuture) -> PyResult<Py<PyAny>> {
        finish(&self.core, py, op)
    }
}

impl<T> Drop for PerSession<T> {
    fn drop(&mut self) {
        drop_in_runtime(self.current.get_mut().unwrap().take(), self.pid);
    }
}

/// Drops a value of the client core (which may spawn a background
/// deletion of its node) inside the runtime; forgets it in a child of
/// `fork` (its client belongs to the parent, see `Core`'s Drop).
pub fn drop_in_runtime<T>(value: T, pid: u32) {
    if crate::process::pid() != pid {
        std::mem::forget(value);
        return;
    }
    let _rt = runtime().enter();
    drop(value);
}

/// An owned value of the client core (a lease, a taken queue item, a
/// started cache), dropped inside the runtime.
pub struct Slot<T> {
    value: Arc<Mutex<Option<T>>>,
    pid: u32,
}

impl<T> Slot<T> {
    pub fn new() -> Self {
        Slot {
            value: Arc::new(Mutex::new(None)),
            pid: crate::process::pid(),
        }
    }

    /// The shared cell, for an operation's future.
    pub fn cell(&self) -> Arc<Mutex<Option<T>>> {
        self.value.clone()
    }

    pub fn is_some(&self) -> bool {
        self.value.lock().unwrap().is_some()
    }
}

impl<T> Drop for Slot<T> {
    fn drop(&mut self) {
        let value = self.value.lock().unwrap().take();
        drop_in_runtime(value, self.pid);
    }
}

/// `dir/name`.
pub fn join(dir: &str, name: &str) -> String {
    if dir.ends_with('/') {
        format!("{dir}{name}")
    } else {
        format!("{dir}/{name}")
    }
}

/// The data of the nodes `dir/<name>` as strings (kazoo's identifiers);
/// nodes gone meanwhile are skipped.
pub async fn identifiers(
    client: &Client,
    dir: &str,
    names: Vec<String>,
) -> corral_client::Result<Vec<String>> {
    let mut out = Vec::with_capacity(names.len());
    for name in names {
        match client.get_data(&join(dir, &name)).await {
            Ok((data, _)) => out.push(String::from_utf8_lossy(&data).into_owned()),
            Err(corral_client::Error::NoNode) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(out)
}
