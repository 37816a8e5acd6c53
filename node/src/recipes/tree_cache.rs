//! `TreeCache`: a local mirror of a subtree, kept current by watches, with
//! its changes as `'change'` events (Curator's `TreeCache`).

use std::sync::{Arc, Mutex};

use corral_client::recipes::tree_cache::{
    ChildData as CoreChildData, TreeCache as CoreTreeCache, TreeCacheEvent as CoreEvent, WatchMode,
};
use corral_client::Client as CoreClient;
use futures::StreamExt;
use napi::bindgen_prelude::*;
use napi_derive::napi;
use tokio::sync::oneshot;

use crate::convert::Stat;
use crate::emitter::{Emitter, EventSender, Payload};
use crate::errors::bad_args;
use crate::promise;

/// A cached node.
#[napi(object)]
pub struct ChildData {
    pub path: String,
    pub data: Buffer,
    pub stat: Stat,
}

fn child_data(c: CoreChildData) -> ChildData {
    ChildData {
        path: c.path,
        data: c.data.into(),
        stat: c.stat.into(),
    }
}

/// A change of the cache (or of its connection), as `'change'` events
/// carry it.
#[napi(object)]
pub struct TreeCacheEvent {
    #[napi(
        js_name = "type",
        ts_type = "'node_added' | 'node_updated' | 'node_removed' | 'initialized' | 'connection_suspended' | 'connection_reconnected' | 'connection_lost'"
    )]
    pub kind: String,
    /// The node, for `node_*` events (`node_removed`: as last cached).
    pub node: Option<ChildData>,
}

/// A core event on its way to the JS thread.
#[derive(Clone)]
pub struct TreeChange(pub CoreEvent);

impl ToNapiValue for TreeChange {
    unsafe fn to_napi_value(env: napi::sys::napi_env, val: Self) -> Result<napi::sys::napi_value> {
        let (kind, node) = match val.0 {
            CoreEvent::NodeAdded(c) => ("node_added", Some(c)),
            CoreEvent::NodeUpdated(c) => ("node_updated", Some(c)),
            CoreEvent::NodeRemoved(c) => ("node_removed", Some(c)),
            CoreEvent::Initialized => ("initialized", None),
            CoreEvent::ConnectionSuspended => ("connection_suspended", None),
            CoreEvent::ConnectionReconnected => ("connection_reconnected", None),
            CoreEvent::ConnectionLost => ("connection_lost", None),
        };
        let ev = TreeCacheEvent {
            kind: kind.to_owned(),
            node: node.map(child_data),
        };
        TreeCacheEvent::to_napi_value(env, ev)
    }
}

/// Options of `Client.treeCache`.
#[napi(object)]
#[derive(Default)]
pub struct TreeCacheOptions {
    /// Cache nodes down to this depth below the root (0: the root only).
    pub max_depth: Option<u32>,
    /// How to watch: `'auto'` (default: one persistent recursive watch,
    /// or one-shot watches on servers without `addWatch`), `'recursive'`,
    /// `'one_shot'`.
    #[napi(ts_type = "'auto' | 'recursive' | 'one_shot'")]
    pub mode: Option<String>,
}

/// A local mirror of the subtree at a path. Add `'change'` listeners, then
/// `start()`; `get()` / `children()` read the cache; `close()` stops it.
#[napi]
pub struct TreeCache {
    client: CoreClient,
    path: String,
    max_depth: Option<usize>,
    mode: corral_client::Result<WatchMode>,
    cache: Arc<Mutex<Option<CoreTreeCache>>>,
    emitter: Emitter,
}

impl TreeCache {
    pub fn new(client: CoreClient, path: String, options: Option<TreeCacheOptions>) -> TreeCache {
        let o = options.unwrap_or_default();
        let mode = match o.mode.as_deref().unwrap_or("auto") {
            "auto" => Ok(WatchMode::Auto),
            "recursive" => Ok(WatchMode::Recursive),
            "one_shot" => Ok(WatchMode::OneShot),
            other => Err(bad_args(format!("unknown tree cache mode {other:?}"))),
        };
        TreeCache {
            client,
            path,
            max_depth: o.max_depth.map(|d| d as usize),
            mode,
            cache: Arc::new(Mutex::new(None)),
            emitter: Emitter::default(),
        }
    }
}

/// Emits the cache's events until they end; tells `initialized` once.
async fn forward(
    mut events: corral_client::recipes::tree_cache::TreeCacheEvents,
    sender: EventSender,
    initialized: oneshot::Sender<()>,
) {
    let mut initialized = Some(initialized);
    while let Some(ev) = events.next().await {
        let init = ev == CoreEvent::Initialized;
        sender.emit("change", Payload::Tree(TreeChange(ev)));
        if init {
            if let Some(tx) = initialized.take() {
                let _ = tx.send(());
            }
        }
    }
}

#[napi]
impl TreeCache {
    /// Starts the cache; resolves once the first full load is done (after
    /// its `'node_added'` events and the `'initialized'` event were sent).
    #[napi(ts_return_type = "Promise<void>")]
    pub fn start<'env>(&self, env: &'env Env) -> Result<PromiseRaw<'env, ()>> {
        let mut builder = CoreTreeCache::builder(self.client.clone(), &self.path);
        if let Some(d) = self.max_depth {
            builder = builder.max_depth(d);
        }
        let mode = self.mode.clone();
        let slot = self.cache.clone();
        let sender = self.emitter.sender();
        promise::spawn_value(env, async move {
            builder = builder.watch_mode(mode?);
            if slot.lock().unwrap().is_some() {
                return Err(bad_args("tree cache already started"));
            }
            let (cache, events) = builder.start().await?;
            *slot.lock().unwrap() = Some(cache);
            let (init_tx, init_rx) = oneshot::channel();
            tokio::spawn(forward(events, sender, init_tx));
            let _ = init_rx.await;
            Ok(())
        })
    }

    /// The cached node at `path` (null if not cached).
    #[napi]
    pub fn get(&self, path: String) -> Option<ChildData> {
        let cache = self.cache.lock().unwrap();
        cache.as_ref()?.get(&path).map(child_data)
    }

    /// The names of the cached children of `path`, sorted (null if `path`
    /// is not cached).
    #[napi]
    pub fn children(&self, path: String) -> Option<Vec<String>> {
        let cache = self.cache.lock().unwrap();
        cache.as_ref()?.children(&path)
    }

    /// The number of cached nodes.
    #[napi(getter)]
    pub fn size(&self) -> u32 {
        let cache = self.cache.lock().unwrap();
        cache.as_ref().map_or(0, |c| c.len() as u32)
    }

    /// Stops the cache (removing its watch); no more events.
    #[napi(ts_return_type = "Promise<void>")]
    pub fn close<'env>(&self, env: &'env Env) -> Result<PromiseRaw<'env, ()>> {
        let cache = self.cache.lock().unwrap().take();
        promise::spawn_value(env, async move {
            if let Some(c) = cache {
                c.close().await;
            }
            Ok(())
        })
    }
}

crate::emitter_methods!(
    TreeCache,
    "event: 'change', listener: (event: TreeCacheEvent) => void",
    "event?: 'change'",
    "event: 'change'"
);
