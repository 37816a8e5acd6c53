//! `corral-zk`: the Node.js binding of `corral-client` (napi-rs).
//!
//! A thin binding: every operation and recipe is the client core's; this
//! crate only maps arguments and results to JavaScript values. Layout:
//! - `client.rs`: `Client` (connect, close, state events, recipe
//!   factories); `ops.rs`: the ZooKeeper operations; `transaction.rs`: the
//!   multi builder; `watch.rs`: watch callbacks and persistent watches;
//! - `recipes/`: locks, leader latch and election, semaphore, barriers,
//!   counter, queue, tree cache;
//! - `emitter.rs`: the EventEmitter-style `on`/`off` of the classes that
//!   emit events, delivered on the JS thread;
//! - `promise.rs`: core futures -> Promises on napi's tokio runtime;
//!   `batch.rs`: how they go to the runtime and back, in batches;
//! - `convert.rs`: value types; `objects.rs`: the JS objects of stats and
//!   node data; `errors.rs`: core errors -> JS errors with
//!   ZooKeeper's `code` names.

mod batch;
mod client;
mod convert;
mod emitter;
mod errors;
mod objects;
mod ops;
mod promise;
mod recipes;
mod transaction;
mod watch;

pub use client::Client;

/// napi's tokio runtime, with one worker thread: the operations of a
/// Node process meet in its session tasks, and one thread runs them without
/// waking another for every request and reply.
#[napi_derive::module_init]
fn init() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("tokio runtime");
    napi::bindgen_prelude::create_custom_tokio_runtime(rt);
}
