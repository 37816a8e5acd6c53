//! `Barrier` and `DoubleBarrier`.

use std::sync::Arc;

use corral_client::recipes::barrier::Barrier as CoreBarrier;
use corral_client::recipes::double_barrier::DoubleBarrier as CoreDoubleBarrier;
use corral_client::Client as CoreClient;
use napi::bindgen_prelude::*;
use napi_derive::napi;

use crate::promise::{self, timeout_or_forever, WaitOptions};

/// A barrier: while its node exists, `wait()` holds everyone back
/// (Curator's `DistributedBarrier`, kazoo's `Barrier`).
#[napi]
pub struct Barrier {
    inner: CoreBarrier,
}

impl Barrier {
    pub fn new(client: CoreClient, path: &str) -> Barrier {
        Barrier {
            inner: CoreBarrier::new(client, path),
        }
    }
}

#[napi]
impl Barrier {
    /// Sets the barrier (creates its node); fine if already set.
    #[napi(ts_return_type = "Promise<void>")]
    pub fn set<'env>(&self, env: &'env Env) -> Result<PromiseRaw<'env, ()>> {
        let b = self.inner.clone();
        promise::spawn_value(env, async move { b.set().await })
    }

    /// Removes the barrier, releasing every waiter; fine if not set.
    #[napi(ts_return_type = "Promise<void>")]
    pub fn remove<'env>(&self, env: &'env Env) -> Result<PromiseRaw<'env, ()>> {
        let b = self.inner.clone();
        promise::spawn_value(env, async move { b.remove().await })
    }

    /// Whether the barrier is set now.
    #[napi(ts_return_type = "Promise<boolean>")]
    pub fn is_set<'env>(&self, env: &'env Env) -> Result<PromiseRaw<'env, bool>> {
        let b = self.inner.clone();
        promise::spawn_value(env, async move { b.is_set().await })
    }

    /// Waits until the barrier is removed: true, or false if `timeout` (ms)
    /// passed first.
    #[napi(ts_return_type = "Promise<boolean>")]
    pub fn wait<'env>(
        &self,
        env: &'env Env,
        options: Option<WaitOptions>,
    ) -> Result<PromiseRaw<'env, bool>> {
        let b = self.inner.clone();
        let t = timeout_or_forever(options.unwrap_or_default().timeout);
        promise::spawn_value(env, async move { b.wait(t).await })
    }
}

/// A double barrier: `enter()` waits until `n` participants have entered,
/// `leave()` until all have left (Curator's `DistributedDoubleBarrier`).
#[napi]
pub struct DoubleBarrier {
    inner: Arc<tokio::sync::Mutex<CoreDoubleBarrier>>,
}

impl DoubleBarrier {
    pub fn new(client: CoreClient, path: &str, n: u32) -> DoubleBarrier {
        DoubleBarrier {
            inner: Arc::new(tokio::sync::Mutex::new(CoreDoubleBarrier::new(
                client, path, n as usize,
            ))),
        }
    }
}

#[napi]
impl DoubleBarrier {
    /// Enters and waits for the others: true once `n` have entered, false
    /// if `timeout` (ms) passed first (we are then out again).
    #[napi(ts_return_type = "Promise<boolean>")]
    pub fn enter<'env>(
        &self,
        env: &'env Env,
        options: Option<WaitOptions>,
    ) -> Result<PromiseRaw<'env, bool>> {
        let b = self.inner.clone();
        let t = timeout_or_forever(options.unwrap_or_default().timeout);
        promise::spawn_value(env, async move { b.lock().await.enter(t).await })
    }

    /// Leaves and waits for the others to leave: true once all have, false
    /// if `timeout` (ms) passed first.
    #[napi(ts_return_type = "Promise<boolean>")]
    pub fn leave<'env>(
        &self,
        env: &'env Env,
        options: Option<WaitOptions>,
    ) -> Result<PromiseRaw<'env, bool>> {
        let b = self.inner.clone();
        let t = timeout_or_forever(options.unwrap_or_default().timeout);
        promise::spawn_value(env, async move { b.lock().await.leave(t).await })
    }
}
