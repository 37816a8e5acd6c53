//! `corral._corral`: the native part of the Python package `corral`.
//!
//! A thin binding of `corral-client`: every operation is the core's, with
//! kazoo's names, arguments and results. Layout:
//! - `runtime.rs`: the process's tokio runtime (rebuilt after fork) and
//!   blocking waits with the GIL released; `completions.rs`: operations as
//!   asyncio futures, completed in their loop in batches;
//! - `core.rs`: what both clients share (session lifecycle, listeners);
//! - `ops.rs`: the operations (ensure_path / recursive delete are the core's);
//! - `client.rs` / `aio.rs`: the blocking `Client` and the `AsyncClient`;
//! - `dispatch.rs`: the callback thread; `convert.rs`: value types;
//!   `errors.rs`: core errors -> `corral.exceptions`;
//! - `recipes/`: the core's recipes (locks, semaphore, barriers, counter,
//!   party, queue, tree cache).

use pyo3::prelude::*;

mod aio;
mod client;
mod completions;
mod convert;
mod core;
mod dispatch;
mod errors;
mod ops;
mod process;
mod recipes;
mod runtime;

#[pymodule]
fn _corral(m: &Bound<'_, PyModule>) -> PyResult<()> {
    process::forget_pid_in_children();
    m.add_class::<client::PyClient>()?;
    m.add_class::<aio::PyAsyncClient>()?;
    recipes::register(m)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
