//! `corral._corral.AsyncClient`: the same operations as `Client`, each
//! returning an asyncio future of the running loop (`await zk.get(path)`).
//! Watch callbacks and state listeners run in the loop (a coroutine
//! function may be given: its coroutine is scheduled as a task).

use std::sync::Arc;

use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::client::{client_id, options, value_arg};
use crate::completions::into_asyncio;
use crate::core::Core;
use crate::ops::bytes_arg;

#[pyclass(subclass, frozen, module = "corral._corral", name = "AsyncClient")]
pub struct PyAsyncClient {
    core: Arc<Core>,
}

impl PyAsyncClient {
    /// The shared client state (for the recipes).
    pub fn core(&self) -> &Arc<Core> {
        &self.core
    }
}

#[pymethods]
impl PyAsyncClient {
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
        Ok(PyAsyncClient {
            core: Core::new(opts, true)?,
        })
    }

    #[pyo3(signature = (timeout=15.0))]
    fn start(&self, py: Python<'_>, timeout: f64) -> PyResult<Py<PyAny>> {
        into_asyncio(py, self.core.start(py, timeout)?)
    }

    fn stop(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        into_asyncio(py, self.core.stop())
    }

    fn close(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        into_asyncio(py, self.core.close())
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
        into_asyncio(py, op)
    }

    #[pyo3(signature = (path, watch=None))]
    fn get(
        &self,
        py: Python<'_>,
        path: String,
        watch: Option<Bound<'_, PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        into_asyncio(py, self.core.get(py, path, watch)?)
    }

    #[pyo3(signature = (path, watch=None))]
    fn exists(
        &self,
        py: Python<'_>,
        path: String,
        watch: Option<Bound<'_, PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        into_asyncio(py, self.core.exists(py, path, watch)?)
    }

    #[pyo3(signature = (path, watch=None, include_data=false))]
    fn get_children(
        &self,
        py: Python<'_>,
        path: String,
        watch: Option<Bound<'_, PyAny>>,
        include_data: bool,
    ) -> PyResult<Py<PyAny>> {
        into_asyncio(py, self.core.get_children(py, path, watch, include_data)?)
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
        into_asyncio(py, self.core.set(py, path, value, version)?)
    }

    #[pyo3(signature = (path, version=-1, recursive=false))]
    fn delete(
        &self,
        py: Python<'_>,
        path: String,
        version: i32,
        recursive: bool,
    ) -> PyResult<Py<PyAny>> {
        into_asyncio(py, self.core.delete(py, path, version, recursive)?)
    }

    #[pyo3(signature = (path, acl=None))]
    fn ensure_path(
        &self,
        py: Python<'_>,
        path: String,
        acl: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        into_asyncio(py, self.core.ensure_path(py, path, acl)?)
    }

    fn sync(&self, py: Python<'_>, path: String) -> PyResult<Py<PyAny>> {
        into_asyncio(py, self.core.sync(py, path)?)
    }

    fn get_acls(&self, py: Python<'_>, path: String) -> PyResult<Py<PyAny>> {
        into_asyncio(py, self.core.get_acls(py, path)?)
    }

    #[pyo3(signature = (path, acls, version=-1))]
    fn set_acls(
        &self,
        py: Python<'_>,
        path: String,
        acls: &Bound<'_, PyAny>,
        version: i32,
    ) -> PyResult<Py<PyAny>> {
        into_asyncio(py, self.core.set_acls(py, path, acls, version)?)
    }

    fn add_auth(&self, py: Python<'_>, scheme: String, credential: String) -> PyResult<Py<PyAny>> {
        into_asyncio(py, self.core.add_auth(py, scheme, credential)?)
    }

    fn _multi(&self, py: Python<'_>, ops: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        into_asyncio(py, self.core.multi(py, ops)?)
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
