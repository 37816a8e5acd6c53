//! The ZooKeeper operations with kazoo's arguments and results. Each
//! converts its Python arguments (GIL held), then returns a future that
//! calls the client core and converts the result once the GIL is back;
//! `Client` blocks on it, `AsyncClient` hands it to asyncio.

use std::sync::Arc;

use corral_client::{Acl, CreateMode, CreateOptions, Error, Op, OpResult, WatchedEvent};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBool, PyBytes, PyList, PyString, PyTuple};

use crate::convert::{acls_from_py, acls_to_py, stat, watched_event};
use crate::core::Core;
use crate::dispatch::call_reporting;
use crate::errors::{exception, to_pyerr};
use crate::runtime::{Conv, OpFuture};
use corral_client::parent_path;

static IN_LOOP: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

/// kazoo passes version -1 for "any version".
fn version(v: i32) -> Option<i32> {
    (v != -1).then_some(v)
}

fn tuple2(py: Python<'_>, a: Py<PyAny>, b: Py<PyAny>) -> PyResult<Py<PyAny>> {
    Ok(PyTuple::new(py, [a, b])?.into_any().unbind())
}

fn strings(py: Python<'_>, v: &[String]) -> PyResult<Py<PyAny>> {
    Ok(PyList::new(py, v)?.into_any().unbind())
}

fn true_() -> Conv {
    Box::new(|py| Ok(PyBool::new(py, true).to_owned().into_any().unbind()))
}

/// The outcome of one op of a transaction.
enum TxResult {
    Done(OpResult),
    /// Would have succeeded, but another op failed.
    RolledBack,
    Failed(Error),
}

impl TxResult {
    /// kazoo's value: the path (create), a ZnodeStat (set_data), True
    /// (delete, check), or an exception instance.
    fn to_py(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let exc = |e: PyErr| e.into_value(py).into_any();
        Ok(match self {
            TxResult::Done(OpResult::Create { path, .. }) => {
                PyString::new(py, path).into_any().unbind()
            }
            TxResult::Done(OpResult::SetData(s)) => stat(py, s)?,
            TxResult::Done(OpResult::Error(e)) | TxResult::Failed(e) => exc(to_pyerr(py, e)),
            TxResult::Done(_) => PyBool::new(py, true).to_owned().into_any().unbind(),
            TxResult::RolledBack => exc(exception(py, "RolledBackError", "rolled back".into())),
        })
    }
}

/// A `bytes` argument (kazoo accepts nothing else for node data).
pub fn bytes_arg(obj: &Bound<'_, PyAny>, name: &str) -> PyResult<Vec<u8>> {
    match obj.cast::<PyBytes>() {
        Ok(b) => Ok(b.as_bytes().to_vec()),
        Err(_) => Err(PyTypeError::new_err(format!(
            "Invalid type for '{name}' (must be a byte string)"
        ))),
    }
}

impl Core {
    /// A core watch callback that runs the Python callable `watch` (with a
    /// `WatchedEvent`) on the dispatcher thread — or, for AsyncClient, in
    /// the running asyncio loop.
    fn watcher(
        &self,
        py: Python<'_>,
        watch: Option<Bound<'_, PyAny>>,
    ) -> PyResult<Option<impl FnOnce(WatchedEvent) + Send + 'static>> {
        let Some(f) = watch.filter(|w| !w.is_none()) else {
            return Ok(None);
        };
        if !f.is_callable() {
            return Err(PyTypeError::new_err(
                "Invalid type for 'watch' (must be a callable)",
            ));
        }
        let f = if self.in_loop {
            let event_loop = py.import("asyncio")?.call_method0("get_running_loop")?;
            IN_LOOP
                .import(py, "corral._aio", "in_loop")?
                .call1((event_loop, f))?
                .unbind()
        } else {
            f.unbind()
        };
        let dispatcher = self.dispatcher.clone();
        Ok(Some(move |event: WatchedEvent| {
            dispatcher.send(Box::new(move |py| {
                call_reporting(py, &f, watched_event(py, &event));
            }));
        }))
    }

    fn acl_or_default(&self, acl: Option<&Bound<'_, PyAny>>) -> PyResult<Vec<Acl>> {
        match acl {
            Some(a) if !a.is_none() && a.len().map_or(true, |n| n > 0) => acls_from_py(a),
            _ => Ok(self.default_acl()),
        }
    }

    #[allow(clippy::too_many_arguments)]
    pub fn create(
        &self,
        py: Python<'_>,
        path: String,
        value: Option<Vec<u8>>,
        acl: Option<&Bound<'_, PyAny>>,
        ephemeral: bool,
        sequence: bool,
        makepath: bool,
        include_data: bool,
    ) -> PyResult<OpFuture> {
        let c = self.session(py)?;
        let acl = self.acl_or_default(acl)?;
        let mode = match (ephemeral, sequence) {
            (false, false) => CreateMode::Persistent,
            (true, false) => CreateMode::Ephemeral,
            (false, true) => CreateMode::PersistentSequential,
            (true, true) => CreateMode::EphemeralSequential,
        };
        let opts = CreateOptions::new(mode).with_acl(acl.clone());
        let data = value.unwrap_or_default();
        Ok(Box::pin(async move {
            let once = || async {
                if include_data {
                    c.create2(&path, &data, &opts)
                        .await
                        .map(|(p, s)| (p, Some(s)))
                } else {
                    c.create(&path, &data, &opts).await.map(|p| (p, None))
                }
            };
            let (created, st) = match once().await {
                Err(Error::NoNode) if makepath => {
                    // kazoo: a sequential "dir/" prefix has "dir" as parent.
                    let p = if sequence && path.ends_with('/') {
                        path.trim_end_matches('/')
                    } else {
                        parent_path(&path)
                    };
                    c.ensure_path(p, &acl).await?;
                    once().await?
                }
                r => r?,
            };
            let conv: Conv = Box::new(move |py| {
                let p = PyString::new(py, &created).into_any().unbind();
                match st {
                    Some(s) => tuple2(py, p, stat(py, &s)?),
                    None => Ok(p),
                }
            });
            Ok(conv)
        }))
    }

    pub fn get(
        &self,
        py: Python<'_>,
        path: String,
        watch: Option<Bound<'_, PyAny>>,
    ) -> PyResult<OpFuture> {
        let c = self.session(py)?;
        let w = self.watcher(py, watch)?;
        Ok(Box::pin(async move {
            let (data, st) = match w {
                Some(cb) => c.get_data_cb(&path, cb).await?,
                None => c.get_data(&path).await?,
            };
            let conv: Conv = Box::new(move |py| {
                tuple2(
                    py,
                    PyBytes::new(py, &data).into_any().unbind(),
                    stat(py, &st)?,
                )
            });
            Ok(conv)
        }))
    }

    pub fn exists(
        &self,
        py: Python<'_>,
        path: String,
        watch: Option<Bound<'_, PyAny>>,
    ) -> PyResult<OpFuture> {
        let c = self.session(py)?;
        let w = self.watcher(py, watch)?;
        Ok(Box::pin(async move {
            let st = match w {
                Some(cb) => c.exists_cb(&path, cb).await?,
                None => c.exists(&path).await?,
            };
            let conv: Conv = Box::new(move |py| match st {
                Some(s) => stat(py, &s),
                None => Ok(py.None()),
            });
            Ok(conv)
        }))
    }

    pub fn get_children(
        &self,
        py: Python<'_>,
        path: String,
        watch: Option<Bound<'_, PyAny>>,
        include_data: bool,
    ) -> PyResult<OpFuture> {
        let c = self.session(py)?;
        let w = self.watcher(py, watch)?;
        Ok(Box::pin(async move {
            let (children, st) = match w {
                Some(cb) => {
                    let (ch, s) = c.get_children_cb(&path, cb).await?;
                    (ch, Some(s))
                }
                None if include_data => {
                    let (ch, s) = c.get_children2(&path).await?;
                    (ch, Some(s))
                }
                None => (c.get_children(&path).await?, None),
            };
            let conv: Conv = Box::new(move |py| {
                let list = strings(py, &children)?;
                match (include_data, st) {
                    (true, Some(s)) => tuple2(py, list, stat(py, &s)?),
                    _ => Ok(list),
                }
            });
            Ok(conv)
        }))
    }

    pub fn set(&self, py: Python<'_>, path: String, value: Vec<u8>, v: i32) -> PyResult<OpFuture> {
        let c = self.session(py)?;
        Ok(Box::pin(async move {
            let st = c.set_data(&path, &value, version(v)).await?;
            let conv: Conv = Box::new(move |py| stat(py, &st));
            Ok(conv)
        }))
    }

    pub fn delete(
        &self,
        py: Python<'_>,
        path: String,
        v: i32,
        recursive: bool,
    ) -> PyResult<OpFuture> {
        let c = self.session(py)?;
        Ok(Box::pin(async move {
            if recursive {
                c.delete_recursive(&path).await?;
            } else {
                c.delete(&path, version(v)).await?;
            }
            Ok(true_())
        }))
    }

    pub fn ensure_path(
        &self,
        py: Python<'_>,
        path: String,
        acl: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<OpFuture> {
        let c = self.session(py)?;
        let acl = self.acl_or_default(acl)?;
        Ok(Box::pin(async move {
            c.ensure_path(&path, &acl).await?;
            Ok(true_())
        }))
    }

    pub fn sync(&self, py: Python<'_>, path: String) -> PyResult<OpFuture> {
        let c = self.session(py)?;
        Ok(Box::pin(async move {
            let p = c.sync(&path).await?;
            let conv: Conv = Box::new(move |py| Ok(PyString::new(py, &p).into_any().unbind()));
            Ok(conv)
        }))
    }

    pub fn get_acls(&self, py: Python<'_>, path: String) -> PyResult<OpFuture> {
        let c = self.session(py)?;
        Ok(Box::pin(async move {
            let (acls, st) = c.get_acl(&path).await?;
            let conv: Conv = Box::new(move |py| tuple2(py, acls_to_py(py, &acls)?, stat(py, &st)?));
            Ok(conv)
        }))
    }

    pub fn set_acls(
        &self,
        py: Python<'_>,
        path: String,
        acls: &Bound<'_, PyAny>,
        v: i32,
    ) -> PyResult<OpFuture> {
        let c = self.session(py)?;
        let acls = acls_from_py(acls)?;
        Ok(Box::pin(async move {
            let st = c.set_acl(&path, &acls, version(v)).await?;
            let conv: Conv = Box::new(move |py| stat(py, &st));
            Ok(conv)
        }))
    }

    pub fn add_auth(
        self: &Arc<Self>,
        py: Python<'_>,
        scheme: String,
        credential: String,
    ) -> PyResult<OpFuture> {
        let c = self.session(py)?;
        let core = self.clone();
        Ok(Box::pin(async move {
            c.add_auth(&scheme, credential.as_bytes()).await?;
            // kazoo re-sends it on reconnection (the core does) and for
            // later sessions (we do).
            core.remember_auth(&scheme, credential.as_bytes());
            Ok(true_())
        }))
    }

    /// A transaction: `ops` are tuples built by `corral.TransactionRequest`:
    /// `("create", path, value, acl, ephemeral, sequence)`,
    /// `("delete", path, version)`, `("set_data", path, value, version)`,
    /// `("check", path, version)`. Returns kazoo's per-op results; when the
    /// transaction fails, the list holds exceptions: RolledBackError for
    /// the ops before the failing one, its error, RuntimeInconsistency
    /// after it (what ZooKeeper reports).
    pub fn multi(&self, py: Python<'_>, ops: &Bound<'_, PyAny>) -> PyResult<OpFuture> {
        let c = self.session(py)?;
        let mut parsed = Vec::new();
        for item in ops.try_iter()? {
            parsed.push(self.multi_op(&item?)?);
        }
        let n = parsed.len();
        Ok(Box::pin(async move {
            let results: Vec<TxResult> = match c.multi(parsed).await {
                Ok(r) => r.into_iter().map(TxResult::Done).collect(),
                Err(Error::Multi { index, error }) => (0..n)
                    .map(|i| match i.cmp(&index) {
                        std::cmp::Ordering::Less => TxResult::RolledBack,
                        std::cmp::Ordering::Equal => TxResult::Failed((*error).clone()),
                        std::cmp::Ordering::Greater => {
                            TxResult::Failed(Error::RuntimeInconsistency)
                        }
                    })
                    .collect(),
                Err(e) => return Err(e),
            };
            let conv: Conv = Box::new(move |py| {
                let mut out = Vec::with_capacity(results.len());
                for r in &results {
                    out.push(r.to_py(py)?);
                }
                Ok(PyList::new(py, out)?.into_any().unbind())
            });
            Ok(conv)
        }))
    }

    fn multi_op(&self, item: &Bound<'_, PyAny>) -> PyResult<Op> {
        let kind: String = item.get_item(0)?.extract()?;
        let path: String = item.get_item(1)?.extract()?;
        Ok(match kind.as_str() {
            "create" => {
                let value = item.get_item(2)?;
                let data = if value.is_none() {
                    Vec::new()
                } else {
                    bytes_arg(&value, "value")?
                };
                let acl = self.acl_or_default(Some(&item.get_item(3)?))?;
                let mode = match (
                    item.get_item(4)?.is_truthy()?,
                    item.get_item(5)?.is_truthy()?,
                ) {
                    (false, false) => CreateMode::Persistent,
                    (true, false) => CreateMode::Ephemeral,
                    (false, true) => CreateMode::PersistentSequential,
                    (true, true) => CreateMode::EphemeralSequential,
                };
                Op::create(path, data, CreateOptions::new(mode).with_acl(acl))
            }
            "delete" => Op::delete(path, version(item.get_item(2)?.extract()?)),
            "set_data" => Op::set_data(
                path,
                bytes_arg(&item.get_item(2)?, "value")?,
                version(item.get_item(3)?.extract()?),
            ),
            "check" => Op::check(path, version(item.get_item(2)?.extract()?)),
            other => {
                return Err(PyTypeError::new_err(format!(
                    "unknown transaction op {other:?}"
                )))
            }
        })
    }
}
