//! Core futures as JavaScript Promises: each operation runs on napi's tokio
//! runtime (started and settled in batches, see `batch.rs`); its result is
//! converted to JS values on the JS thread, and a core error becomes the JS
//! error of `errors.rs`.

use std::future::Future;

use napi::bindgen_prelude::*;

use crate::batch;

/// A Promise of `fut`'s result, converted by `conv` on the JS thread.
pub fn spawn<'env, T, V, F, C>(env: &'env Env, fut: F, conv: C) -> Result<PromiseRaw<'env, V>>
where
    T: Send + 'static,
    V: ToNapiValue,
    F: Future<Output = corral_client::Result<T>> + Send + 'static,
    C: FnOnce(&Env, T) -> Result<V> + 'static,
{
    let promise = batch::start(env, move || fut, conv)?;
    Ok(PromiseRaw::new(env.raw(), promise))
}

/// Like `spawn`, with the future made by `make` on a tokio thread (cheaper
/// on the JS thread for the frequent calls: the closure is small, the
/// future large).
pub fn spawn_with<'env, T, V, M, F, C>(
    env: &'env Env,
    make: M,
    conv: C,
) -> Result<PromiseRaw<'env, V>>
where
    T: Send + 'static,
    V: ToNapiValue,
    M: FnOnce() -> F + Send + 'static,
    F: Future<Output = corral_client::Result<T>> + Send + 'static,
    C: FnOnce(&Env, T) -> Result<V> + 'static,
{
    let promise = batch::start(env, make, conv)?;
    Ok(PromiseRaw::new(env.raw(), promise))
}

/// A Promise of `fut`'s result as it is.
pub fn spawn_value<'env, T, F>(env: &'env Env, fut: F) -> Result<PromiseRaw<'env, T>>
where
    T: Send + ToNapiValue + 'static,
    F: Future<Output = corral_client::Result<T>> + Send + 'static,
{
    spawn(env, fut, |_, v| Ok(v))
}

/// Runs `f` inside the runtime's context (for core constructors and drops
/// that spawn tasks), from the JS thread.
pub fn in_runtime<T>(f: impl FnOnce() -> T) -> T {
    napi::bindgen_prelude::within_runtime_if_available(f)
}

/// A timeout in milliseconds (`undefined`: none).
pub fn millis(ms: Option<f64>) -> Option<std::time::Duration> {
    ms.map(|m| std::time::Duration::from_millis(m.max(0.0) as u64))
}

/// A core object whose drop may spawn cleanup tasks (a lock's node to
/// delete, ...): dropped inside the runtime's context even when the JS
/// object holding it is garbage-collected on the JS thread.
pub struct Rt<T> {
    value: Option<T>,
    handle: Option<tokio::runtime::Handle>,
}

impl<T> Rt<T> {
    pub fn new(value: T) -> Rt<T> {
        let handle = std::panic::catch_unwind(|| in_runtime(tokio::runtime::Handle::current)).ok();
        Rt {
            value: Some(value),
            handle,
        }
    }
}

impl<T> std::ops::Deref for Rt<T> {
    type Target = T;

    fn deref(&self) -> &T {
        self.value.as_ref().expect("value present until drop")
    }
}

impl<T> Drop for Rt<T> {
    fn drop(&mut self) {
        let value = self.value.take();
        match &self.handle {
            Some(h) => {
                let _guard = h.enter();
                drop(value);
            }
            None => drop(value),
        }
    }
}

/// A timeout given as `{ timeout }` in ms; none: wait for as long as it
/// takes (ten years).
pub fn timeout_or_forever(ms: Option<f64>) -> std::time::Duration {
    millis(ms).unwrap_or(std::time::Duration::from_secs(10 * 365 * 86400))
}

/// Options of the recipe calls that wait.
#[napi_derive::napi(object)]
#[derive(Default)]
pub struct WaitOptions {
    /// Give up after this many milliseconds (default: wait indefinitely).
    pub timeout: Option<f64>,
}
