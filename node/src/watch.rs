//! Watches: one-shot callbacks (`{ watch }` of `getData`, `exists`,
//! `getChildren`) and persistent watches (`addWatch`). Callbacks run on the
//! JS thread through its queue (`batch.rs`), so a watch event comes before
//! the reply of the change that fired it, when both are there; a pending
//! watch does not keep the process alive (an open client does).

use std::sync::Arc;

use corral_client::{AddWatchMode, Client as CoreClient, WatchedEvent, WatcherType};
use futures::StreamExt;
use napi::bindgen_prelude::*;
use napi::threadsafe_function::UnknownReturnValue;
use napi_derive::napi;

use crate::batch::Events;
use crate::convert::WatchEvent;
use crate::errors::bad_args;
use crate::promise;

/// A watch callback from JS: `(event: WatchEvent) => void`.
#[derive(Clone)]
pub struct Callback {
    func: Arc<FunctionRef<WatchEvent, UnknownReturnValue>>,
    events: Events,
}

impl TypeName for Callback {
    fn type_name() -> &'static str {
        "Function"
    }

    fn value_type() -> ValueType {
        ValueType::Function
    }
}

impl ValidateNapiValue for Callback {}

impl FromNapiValue for Callback {
    unsafe fn from_napi_value(
        env: napi::sys::napi_env,
        value: napi::sys::napi_value,
    ) -> Result<Self> {
        Ok(Callback {
            func: Arc::new(FunctionRef::from_napi_value(env, value)?),
            events: Events::get(&Env::from_raw(env))?,
        })
    }
}

/// Options of the reads that can leave a one-shot watch.
#[napi(object, object_to_js = false)]
#[derive(Default)]
pub struct WatchOptions {
    /// Called once, on the JS thread, with the first change of the node
    /// (or the end of the session).
    #[napi(ts_type = "(event: WatchEvent) => void")]
    pub watch: Option<Callback>,
}

/// Calls `cb` with `event` on the JS thread.
pub fn deliver(cb: &Callback, event: WatchedEvent) {
    let func = cb.func.clone();
    cb.events.send(Box::new(move |env| {
        func.borrow_back(env)?.call(event.into())?;
        Ok(())
    }));
}

pub fn add_watch_mode(mode: &str) -> corral_client::Result<AddWatchMode> {
    match mode {
        "persistent" => Ok(AddWatchMode::Persistent),
        "persistent_recursive" => Ok(AddWatchMode::PersistentRecursive),
        other => Err(bad_args(format!("unknown watch mode {other:?}"))),
    }
}

pub fn watcher_type(t: &str) -> corral_client::Result<WatcherType> {
    match t {
        "data" => Ok(WatcherType::Data),
        "children" => Ok(WatcherType::Children),
        "any" => Ok(WatcherType::Any),
        "persistent" => Ok(WatcherType::Persistent),
        "persistent_recursive" => Ok(WatcherType::PersistentRecursive),
        other => Err(bad_args(format!("unknown watcher type {other:?}"))),
    }
}

/// A persistent watch added with `Client.addWatch`. Its listener gets every
/// event until `remove()`, the end of the session or `close()` (then a last
/// event: `'persistent_watch_removed'`, or `type: 'none'` with the session
/// state).
#[napi]
pub struct PersistentWatch {
    client: CoreClient,
    path: String,
    mode: AddWatchMode,
}

impl PersistentWatch {
    /// Starts forwarding `stream`'s events to `cb`.
    pub fn start(
        client: CoreClient,
        stream: corral_client::PersistentWatch,
        cb: Callback,
    ) -> PersistentWatch {
        let path = stream.path().to_owned();
        let mode = stream.mode();
        tokio::spawn(async move {
            let mut stream = stream;
            while let Some(ev) = stream.next().await {
                deliver(&cb, ev);
            }
        });
        PersistentWatch { client, path, mode }
    }
}

#[napi]
impl PersistentWatch {
    /// The watched path.
    #[napi(getter)]
    pub fn path(&self) -> String {
        self.path.clone()
    }

    #[napi(getter, ts_return_type = "'persistent' | 'persistent_recursive'")]
    pub fn mode(&self) -> String {
        match self.mode {
            AddWatchMode::Persistent => "persistent".into(),
            AddWatchMode::PersistentRecursive => "persistent_recursive".into(),
        }
    }

    /// Removes the watch from the server; the listener gets a last
    /// `'persistent_watch_removed'` event. (On ZooKeeper 3.6-3.8 this removes
    /// every watch of the session on the path.)
    #[napi(ts_return_type = "Promise<void>")]
    pub fn remove<'env>(&self, env: &'env Env) -> Result<PromiseRaw<'env, ()>> {
        let client = self.client.clone();
        let path = self.path.clone();
        let wtype = match self.mode {
            AddWatchMode::Persistent => WatcherType::Persistent,
            AddWatchMode::PersistentRecursive => WatcherType::PersistentRecursive,
        };
        promise::spawn_value(
            env,
            async move { client.remove_watches(&path, wtype).await },
        )
    }
}
