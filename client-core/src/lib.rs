//! `corral-client`: an async ZooKeeper client (tokio) that speaks the
//! Apache ZooKeeper wire protocol to `corral-server` and to Apache
//! ZooKeeper 3.5+ ensembles.
//!
//! - [`Client`] is a cheap clone handle; one background task per session
//!   owns the connection, pipelines requests and matches replies by xid,
//!   pings when idle for T/3, drops a connection silent for 2T/3, fails
//!   over to the next host (shuffled, backoff with jitter) and resumes the
//!   session there, re-registering every watch (SetWatches/SetWatches2 in
//!   128 KB batches, relative to the last zxid seen).
//! - Session states ([`SessionState`]) as a stream and as listeners.
//! - Every operation of the protocol, with the chroot of the connect string
//!   applied to paths both ways.
//! - One-shot watches ([`Watch`], a future; or callbacks) and persistent /
//!   recursive watches ([`PersistentWatch`], a stream).
//! - Retry policies ([`RetryPolicy`]) applied only where a retry is safe.
//!
//! ```no_run
//! use corral_client::{Client, CreateOptions};
//! # async fn demo() -> corral_client::Result<()> {
//! let client = Client::connect("127.0.0.1:2181/app").await?;
//! client.create("/greeting", b"hello", &CreateOptions::default()).await?;
//! let (data, stat, watch) = client.get_data_w("/greeting").await?;
//! client.set_data("/greeting", b"bye", Some(stat.version)).await?;
//! let event = watch.await; // NodeDataChanged on /greeting
//! client.close().await;
//! # Ok(()) }
//! ```

mod client;
pub mod connect_string;
mod error;
mod ops;
mod paths;
pub mod recipes;
pub mod retry;
mod rw_search;
mod session;
mod state;
mod types;
mod watches;

pub use client::{Client, ClientBuilder};
pub use connect_string::{validate_path, ConnectString, HostPort};
pub use error::{Error, Result};
pub use paths::parent_path;
pub use retry::{retry, RetryPolicy};
pub use state::{ListenerId, SessionState};
pub use types::{
    perms, Acl, AddWatchMode, ClientInfo, CreateMode, CreateOptions, EventType, Id, KeeperState,
    Op, OpResult, Stat, WatchedEvent, WatcherType,
};
pub use watches::{PersistentWatch, Watch, SET_WATCHES_MAX_LENGTH};

/// The wire protocol crate, for what this API does not wrap.
pub use corral_protocol as protocol;
