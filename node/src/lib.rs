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
//! - `convert.rs`: value types; `errors.rs`: core errors -> JS errors with
//!   ZooKeeper's `code` names.

mod client;
mod convert;
mod emitter;
mod errors;
mod ops;
mod promise;
mod recipes;
mod transaction;
mod watch;

pub use client::Client;
