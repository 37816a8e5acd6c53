//! `corral._corral.Client`: kazoo's `KazooClient` API, blocking, with the
//! GIL released while it waits. `corral.Client` (Python) subclasses it to
//! add `transaction()`, `retry()`, `DataWatch` and `ChildrenWatch`.

use std::sync::Arc;
use std::time::Duration;

use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::core::{duration, Core, Options};
use crate::ops::bytes_arg;
use crate::runtime::{run_op, wait};

/// Reads kazoo's constructor arguments.
#[allow(clippy::too_many_arguments)]
pub fn options(
    hosts: &str,
    timeout: f64,
    client_id: Option<(i64, Vec<u8>)>,
    default_acl: Option<&Bound<'_, PyAny>>,
    auth_data: Option<&Bound<'_, PyAny>>,
    read_only: Option<bool>,
    randomize_hosts: bool,
) -> PyResult<Options> {
    let mut auth = Vec::new();
    if let Some(data) = auth_data.filter(|d| !d.is_none()) {
        for item in data.try_iter()? {
            let (scheme, credential): (String, String) = item?.extract()?;
            auth.push((scheme, credential.into_bytes()));
        }
    }
    let default_acl = match default_acl.filter(|a| !a.is_none()) {
        Some(a) => Some(crate::convert::acls_from_py(a)?),
        None => None,
    };
    Ok(Options {
        hosts: hosts.to_owned(),
        session_timeout: duration(timeout)?.max(Duration::from_millis(1)),
        read_only: read_only.unwrap_or(false),
        randomize_hosts,
        client_id,
        default_acl,
        auth,
    })
}

#[pyclass(subclass, frozen, module = "corral._corral", name = "Client")]
pub struct PyClient {
    core: Arc<Core>,
}

impl PyClient {
    /// The shared client state (for the recipes).
    pub fn core(&self) -> &Arc<Core> {
        &self.core
    }
}

#[pymethods]
impl PyClient {
    #[new]
    #[pyo3(signature = (hosts="127.0.0.1:2181", timeout=10.0, client_id=None, default_acl=None,
                        auth_data=None, read_only=None, randomize_hosts=true))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        hosts: &str,
        timeout: f64,
        client_id: Option<(i64, Vec<u8>)>,
        default_acl: Option<&Bound<'_, PyAny>>,
        auth_data: Option<&Bound<'_, PyAny>>,
        read_only: Option<bool>,
        randomize_hosts: bool,
    ) -> PyResult<Self> {
        let opts = options(
            hosts,
            timeout,
            client_id,
            default_acl,
            auth_data,
            read_only,
            randomize_hosts,
        )?;
        Ok(PyClient {
            core: Core::new(opts, false)?,
        })
    }

    #[pyo3(signature = (timeout=15.0))]
    fn start(&self, py: Python<'_>, timeout: f64) -> PyResult<()> {
        run_op(py, self.core.start(py, timeout)?).map(drop)
    }

    fn stop(&self, py: Python<'_>) -> PyResult<()> {
        run_op(py, self.core.stop()).map(drop)
    }

    fn restart(&self, py: Python<'_>) -> PyResult<()> {
        self.stop(py)?;
        self.start(py, 15.0)
    }

    fn close(&self, py: Python<'_>) -> PyResult<()> {
        wait(py, self.core.close()).map(drop)
    }

    #[pyo3(signature = (path, value=None, acl=None, ephemeral=false, sequence=false,
                        makepath=false, include_data=false))]
    #[allow(clippy::too_many_arguments)]
    fn create(
        &self,
        py: Python<'_>,
        path: String,
        value: Option<&Bound<'_, PyAny>>,
        acl: Option<&Bound<'_, PyAny>>,
        ephemeral: bool,
        sequence: bool,
        makepath: bool,
        include_data: bool,
    ) -> PyResult<Py<PyAny>> {
        let value = value_arg(value)?;
        let op = self.core.create(
            py,
            path,
            value,
            acl,
            ephemeral,
            sequence,
            makepath,
            include_data,
        )?;
        run_op(py, op)
    }

    #[pyo3(signature = (path, watch=None))]
    fn get(
        &self,
        py: Python<'_>,
        path: String,
        watch: Option<Bound<'_, PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        run_op(py, self.core.get(py, path, watch)?)
    }

    #[pyo3(signature = (path, watch=None))]
    fn exists(
        &self,
        py: Python<'_>,
        path: String,
        watch: Option<Bound<'_, PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        run_op(py, self.core.exists(py, path, watch)?)
    }

    #[pyo3(signature = (path, watch=None, include_data=false))]
    fn get_children(
        &self,
        py: Python<'_>,
        path: String,
        watch: Option<Bound<'_, PyAny>>,
        include_data: bool,
    ) -> PyResult<Py<PyAny>> {
        run_op(py, self.core.get_children(py, path, watch, include_data)?)
    }

    #[pyo3(signature = (path, value, version=-1))]
    fn set(
        &self,
        py: Python<'_>,
        path: String,
        value: &Bound<'_, PyAny>,
        version: i32,
    ) -> PyResult<Py<PyAny>> {
        let value = bytes_arg(value, "value")?;
        run_op(py, self.core.set(py, path, value, version)?)
    }

    #[pyo3(signature = (path, version=-1, recursive=false))]
    fn delete(
        &self,
        py: Python<'_>,
        path: String,
        version: i32,
        recursive: bool,
    ) -> PyResult<Py<PyAny>> {
        run_op(py, self.core.delete(py, path, version, recursive)?)
    }

    #[pyo3(signature = (path, acl=None))]
    fn ensure_path(
        &self,
        py: Python<'_>,
        path: String,
        acl: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        run_op(py, self.core.ensure_path(py, path, acl)?)
    }

    fn sync(&self, py: Python<'_>, path: String) -> PyResult<Py<PyAny>> {
        run_op(py, self.core.sync(py, path)?)
    }

    fn get_acls(&self, py: Python<'_>, path: String) -> PyResult<Py<PyAny>> {
        run_op(py, self.core.get_acls(py, path)?)
    }

    #[pyo3(signature = (path, acls, version=-1))]
    fn set_acls(
        &self,
        py: Python<'_>,
        path: String,
        acls: &Bound<'_, PyAny>,
        version: i32,
    ) -> PyResult<Py<PyAny>> {
        run_op(py, self.core.set_acls(py, path, acls, version)?)
    }

    fn add_auth(&self, py: Python<'_>, scheme: String, credential: String) -> PyResult<Py<PyAny>> {
        run_op(py, self.core.add_auth(py, scheme, credential)?)
    }

    /// Commits transaction ops (see `corral.TransactionRequest`).
    fn _multi(&self, py: Python<'_>, ops: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        run_op(py, self.core.multi(py, ops)?)
    }

    fn add_listener(&self, py: Python<'_>, listener: Bound<'_, PyAny>) -> PyResult<()> {
        self.core.add_listener(py, listener)
    }

    fn remove_listener(&self, listener: Bound<'_, PyAny>) -> PyResult<()> {
        self.core.remove_listener(listener)
    }

    #[getter]
    fn state(&self) -> &'static str {
        self.core.state()
    }

    #[getter]
    fn connected(&self) -> bool {
        self.core.connected()
    }

    #[getter]
    fn client_id(&self, py: Python<'_>) -> Option<(i64, Py<PyBytes>)> {
        client_id(py, &self.core)
    }

    #[getter]
    fn chroot(&self) -> Option<String> {
        self.core.chroot()
    }
}

/// `create`'s value: bytes or None (empty).
pub fn value_arg(value: Option<&Bound<'_, PyAny>>) -> PyResult<Option<Vec<u8>>> {
    match value.filter(|v| !v.is_none()) {
        Some(v) => Ok(Some(bytes_arg(v, "value")?)),
        None => Ok(None),
    }
}

pub fn client_id(py: Python<'_>, core: &Core) -> Option<(i64, Py<PyBytes>)> {
    core.client_id()
        .map(|(id, pw)| (id, PyBytes::new(py, &pw).unbind()))
}
