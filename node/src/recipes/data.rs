//! `Counter` and `Queue`.

use std::sync::{Arc, Mutex};

use corral_client::recipes::counter::{Counter as CoreCounter, CounterFormat};
use corral_client::recipes::queue::{Queue as CoreQueue, QueueItem as CoreItem, DEFAULT_PRIORITY};
use corral_client::Client as CoreClient;
use napi::bindgen_prelude::*;
use napi_derive::napi;

use crate::convert::bytes;
use crate::errors::bad_args;
use crate::promise::{self, timeout_or_forever, Rt, WaitOptions};

/// Options of `Client.counter`.
#[napi(object)]
#[derive(Default)]
pub struct CounterOptions {
    /// How the value is stored: `'decimal'` (ASCII, as kazoo; default),
    /// `'shared_count'` (4-byte int, Curator's `SharedCount`) or
    /// `'atomic_long'` (8-byte, Curator's `DistributedAtomicLong`).
    #[napi(ts_type = "'decimal' | 'shared_count' | 'atomic_long'")]
    pub format: Option<String>,
    /// The value of a counter whose node does not exist yet (default 0).
    pub initial: Option<i64>,
}

/// A value and the version of its node.
#[napi(object)]
pub struct Versioned {
    pub value: i64,
    pub version: i32,
}

/// A shared counter, changed with compare-and-set on its node's version.
#[napi]
pub struct Counter {
    inner: corral_client::Result<CoreCounter>,
}

impl Counter {
    pub fn new(client: CoreClient, path: &str, options: Option<CounterOptions>) -> Counter {
        let o = options.unwrap_or_default();
        let format = match o.format.as_deref().unwrap_or("decimal") {
            "decimal" => Ok(CounterFormat::Decimal),
            "shared_count" => Ok(CounterFormat::SharedCount),
            "atomic_long" => Ok(CounterFormat::AtomicLong),
            other => Err(bad_args(format!("unknown counter format {other:?}"))),
        };
        let inner = format.map(|f| {
            CoreCounter::new(client, path)
                .with_format(f)
                .with_initial(o.initial.unwrap_or(0))
        });
        Counter { inner }
    }

    fn counter(&self) -> corral_client::Result<CoreCounter> {
        self.inner.clone()
    }
}

#[napi]
impl Counter {
    /// The current value.
    #[napi(ts_return_type = "Promise<number>")]
    pub fn get<'env>(&self, env: &'env Env) -> Result<PromiseRaw<'env, i64>> {
        let c = self.counter();
        promise::spawn_value(env, async move { c?.get().await })
    }

    /// The current value and its node's version.
    #[napi(ts_return_type = "Promise<Versioned>")]
    pub fn get_versioned<'env>(&self, env: &'env Env) -> Result<PromiseRaw<'env, Versioned>> {
        let c = self.counter();
        promise::spawn(
            env,
            async move { c?.get_versioned().await },
            |_, (value, version)| Ok(Versioned { value, version }),
        )
    }

    /// Adds `delta` (may be negative); resolves to the value after it.
    #[napi(ts_return_type = "Promise<number>")]
    pub fn add<'env>(&self, env: &'env Env, delta: i64) -> Result<PromiseRaw<'env, i64>> {
        let c = self.counter();
        promise::spawn_value(env, async move { c?.add(delta).await })
    }

    /// Sets the value.
    #[napi(ts_return_type = "Promise<void>")]
    pub fn set<'env>(&self, env: &'env Env, value: i64) -> Result<PromiseRaw<'env, ()>> {
        let c = self.counter();
        promise::spawn_value(env, async move { c?.set(value).await })
    }

    /// Sets the value if the node still has `version`: whether it did.
    #[napi(ts_return_type = "Promise<boolean>")]
    pub fn compare_and_set<'env>(
        &self,
        env: &'env Env,
        version: i32,
        value: i64,
    ) -> Result<PromiseRaw<'env, bool>> {
        let c = self.counter();
        promise::spawn_value(env, async move { c?.compare_and_set(version, value).await })
    }
}

/// Options of `Queue.put`.
#[napi(object)]
#[derive(Default)]
pub struct PutOptions {
    /// 0..=999, lower is taken first (default 100).
    pub priority: Option<u32>,
}

fn priority(o: Option<PutOptions>) -> corral_client::Result<u16> {
    match o.unwrap_or_default().priority {
        None => Ok(DEFAULT_PRIORITY),
        Some(p) if p <= 999 => Ok(p as u16),
        Some(p) => Err(bad_args(format!("priority {p} is not in 0..=999"))),
    }
}

/// A distributed queue (priorities, items locked while processed).
#[napi]
pub struct Queue {
    inner: CoreQueue,
}

impl Queue {
    pub fn new(client: CoreClient, path: &str) -> Queue {
        Queue {
            inner: CoreQueue::new(client, path),
        }
    }
}

#[napi]
impl Queue {
    /// Appends an item; resolves to its node name.
    #[napi(ts_return_type = "Promise<string>")]
    pub fn put<'env>(
        &self,
        env: &'env Env,
        data: Either<Buffer, String>,
        options: Option<PutOptions>,
    ) -> Result<PromiseRaw<'env, String>> {
        let q = self.inner.clone();
        let data = bytes(Some(data));
        let p = priority(options);
        promise::spawn_value(env, async move { q.put_with_priority(&data, p?).await })
    }

    /// Appends several items atomically, in order.
    #[napi(ts_return_type = "Promise<string[]>")]
    pub fn put_all<'env>(
        &self,
        env: &'env Env,
        items: Vec<Either<Buffer, String>>,
        options: Option<PutOptions>,
    ) -> Result<PromiseRaw<'env, Vec<String>>> {
        let q = self.inner.clone();
        let items: Vec<Vec<u8>> = items.into_iter().map(|d| bytes(Some(d))).collect();
        let p = priority(options);
        promise::spawn_value(env, async move {
            let refs: Vec<&[u8]> = items.iter().map(Vec::as_slice).collect();
            q.put_all(&refs, p?).await
        })
    }

    /// The number of items (taken ones included).
    #[napi(ts_return_type = "Promise<number>")]
    pub fn count<'env>(&self, env: &'env Env) -> Result<PromiseRaw<'env, u32>> {
        let q = self.inner.clone();
        promise::spawn_value(env, async move { Ok(q.count().await? as u32) })
    }

    /// Takes the next item and removes it at once; null if none came within
    /// `timeout` (ms; default: wait).
    #[napi(ts_return_type = "Promise<Buffer | null>")]
    pub fn take<'env>(
        &self,
        env: &'env Env,
        options: Option<WaitOptions>,
    ) -> Result<PromiseRaw<'env, Option<Buffer>>> {
        let q = self.inner.clone();
        let t = timeout_or_forever(options.unwrap_or_default().timeout);
        promise::spawn(env, async move { q.take(t).await }, |_, d| {
            Ok(d.map(Buffer::from))
        })
    }

    /// Locks the next free item and returns it; it stays queued until
    /// `consume()` (or goes back with `release()`). Null if none came within
    /// `timeout` (ms; default: wait).
    #[napi(ts_return_type = "Promise<QueueItem | null>")]
    pub fn take_locked<'env>(
        &self,
        env: &'env Env,
        options: Option<WaitOptions>,
    ) -> Result<PromiseRaw<'env, Option<QueueItem>>> {
        let q = self.inner.clone();
        let t = timeout_or_forever(options.unwrap_or_default().timeout);
        promise::spawn(env, async move { q.take_locked(t).await }, |_, item| {
            Ok(item.map(QueueItem::new))
        })
    }
}

/// An item locked by `Queue.takeLocked`.
#[napi]
pub struct QueueItem {
    name: String,
    data: Vec<u8>,
    inner: Arc<Rt<Mutex<Option<CoreItem>>>>,
}

impl QueueItem {
    fn new(item: CoreItem) -> QueueItem {
        QueueItem {
            name: item.name().to_owned(),
            data: item.data().to_vec(),
            inner: Arc::new(Rt::new(Mutex::new(Some(item)))),
        }
    }

    fn take(&self) -> corral_client::Result<CoreItem> {
        self.inner
            .lock()
            .unwrap()
            .take()
            .ok_or_else(|| bad_args("queue item already consumed or released"))
    }
}

#[napi]
impl QueueItem {
    /// The item's node name.
    #[napi(getter)]
    pub fn name(&self) -> String {
        self.name.clone()
    }

    #[napi(getter)]
    pub fn data(&self) -> Buffer {
        self.data.clone().into()
    }

    /// Removes the item from the queue for good.
    #[napi(ts_return_type = "Promise<void>")]
    pub fn consume<'env>(&self, env: &'env Env) -> Result<PromiseRaw<'env, ()>> {
        let item = self.take();
        promise::spawn_value(env, async move { item?.consume().await })
    }

    /// Puts the item back for another consumer.
    #[napi(ts_return_type = "Promise<void>")]
    pub fn release<'env>(&self, env: &'env Env) -> Result<PromiseRaw<'env, ()>> {
        let item = self.take();
        promise::spawn_value(env, async move { item?.release().await })
    }
}
