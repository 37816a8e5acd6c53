//! Retry policies, and a helper to run a closure under one.
//!
//! The client applies its policy (see [`crate::ClientBuilder::retry`]) only
//! where a retry cannot apply a change twice: reads, `set_data`, `delete`
//! and `set_acl` with an explicit version, `remove_watches`,
//! `check_watches`, `sync`. A plain `create` is never retried (after a
//! ConnectionLoss it may have been applied). Only retryable errors
//! ([`Error::is_retryable`]: ConnectionLoss, timeouts, throttling) are
//! retried; never SessionExpired.

use std::future::Future;
use std::time::{Duration, Instant};

use rand::Rng;

#[cfg(doc)]
use crate::error::Error;
use crate::error::Result;

/// When to retry a failed operation, and after how long.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum RetryPolicy {
    /// Never retry (the default).
    #[default]
    None,
    /// Up to `max_retries` retries, `delay` apart (±25% jitter).
    Bounded { max_retries: u32, delay: Duration },
    /// Up to `max_retries` retries; the n-th waits a random time in
    /// `[0, min(max_delay, base * 2^n)]` ("full jitter").
    ExponentialBackoff {
        base: Duration,
        max_delay: Duration,
        max_retries: u32,
    },
    /// Retry `delay` apart (±25% jitter) until `max_elapsed` has passed
    /// since the first attempt.
    UntilElapsed {
        max_elapsed: Duration,
        delay: Duration,
    },
}

impl RetryPolicy {
    pub fn none() -> Self {
        RetryPolicy::None
    }

    pub fn bounded(max_retries: u32, delay: Duration) -> Self {
        RetryPolicy::Bounded { max_retries, delay }
    }

    pub fn exponential(base: Duration, max_delay: Duration, max_retries: u32) -> Self {
        RetryPolicy::ExponentialBackoff {
            base,
            max_delay,
            max_retries,
        }
    }

    pub fn until_elapsed(max_elapsed: Duration, delay: Duration) -> Self {
        RetryPolicy::UntilElapsed { max_elapsed, delay }
    }

    /// How long to wait before retry number `retry` (0 for the first
    /// retry), `elapsed` after the first attempt started; `None` to give up.
    pub fn delay(&self, retry: u32, elapsed: Duration) -> Option<Duration> {
        let mut rng = rand::thread_rng();
        let jitter = |d: Duration, rng: &mut rand::rngs::ThreadRng| {
            let ms = d.as_millis() as u64;
            if ms < 4 {
                return d;
            }
            Duration::from_millis(rng.gen_range(ms - ms / 4..=ms + ms / 4))
        };
        match *self {
            RetryPolicy::None => None,
            RetryPolicy::Bounded { max_retries, delay } => {
                (retry < max_retries).then(|| jitter(delay, &mut rng))
            }
            RetryPolicy::ExponentialBackoff {
                base,
                max_delay,
                max_retries,
            } => {
                if retry >= max_retries {
                    return None;
                }
                let cap = base
                    .checked_mul(1u32 << retry.min(30))
                    .unwrap_or(max_delay)
                    .min(max_delay);
                let ms = cap.as_millis() as u64;
                Some(Duration::from_millis(rng.gen_range(0..=ms)))
            }
            RetryPolicy::UntilElapsed { max_elapsed, delay } => {
                let d = jitter(delay, &mut rng);
                (elapsed + d <= max_elapsed).then_some(d)
            }
        }
    }

    /// Runs `f` until it succeeds, fails with an error that is not
    /// retryable, or the policy gives up (then the last error is returned).
    ///
    /// ```no_run
    /// # async fn demo(client: corral_client::Client) -> corral_client::Result<()> {
    /// use corral_client::{CreateOptions, Error, RetryPolicy};
    /// use std::time::Duration;
    /// let policy = RetryPolicy::exponential(Duration::from_millis(50), Duration::from_secs(1), 5);
    /// // A create is safe to retry when NodeExists is accepted as success.
    /// policy
    ///     .run(|| async {
    ///         match client.create("/app", b"", &CreateOptions::default()).await {
    ///             Ok(_) | Err(Error::NodeExists) => Ok(()),
    ///             Err(e) => Err(e),
    ///         }
    ///     })
    ///     .await
    /// # }
    /// ```
    pub async fn run<T, F, Fut>(&self, mut f: F) -> Result<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        let start = Instant::now();
        let mut retry = 0;
        loop {
            match f().await {
                Ok(v) => return Ok(v),
                Err(e) if e.is_retryable() => match self.delay(retry, start.elapsed()) {
                    Some(d) => {
                        tracing::debug!(error = %e, retry, delay = ?d, "retrying");
                        tokio::time::sleep(d).await;
                        retry += 1;
                    }
                    None => return Err(e),
                },
                Err(e) => return Err(e),
            }
        }
    }
}

/// Runs `f` under `policy` (same as [`RetryPolicy::run`]).
pub async fn retry<T, F, Fut>(policy: &RetryPolicy, f: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T>>,
{
    policy.run(f).await
}

/// Backoff between connection attempts (full jitter, capped).
pub(crate) fn reconnect_backoff(attempt: u32, cap: Duration) -> Duration {
    let base = Duration::from_millis(10);
    let max = base
        .checked_mul(1u32 << attempt.min(16))
        .unwrap_or(cap)
        .min(cap);
    let ms = max.as_millis() as u64;
    Duration::from_millis(rand::thread_rng().gen_range(ms / 2..=ms.max(1)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Error;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[test]
    fn delays() {
        let z = Duration::ZERO;
        assert_eq!(RetryPolicy::None.delay(0, z), None);
        let b = RetryPolicy::bounded(2, Duration::from_millis(100));
        assert!(b.delay(1, z).unwrap() >= Duration::from_millis(75));
        assert_eq!(b.delay(2, z), None);
        let e = RetryPolicy::exponential(Duration::from_millis(10), Duration::from_millis(50), 10);
        for i in 0..10 {
            assert!(e.delay(i, z).unwrap() <= Duration::from_millis(50));
        }
        assert_eq!(e.delay(10, z), None);
        let u = RetryPolicy::until_elapsed(Duration::from_secs(1), Duration::from_millis(100));
        assert!(u.delay(100, Duration::from_millis(500)).is_some());
        assert_eq!(u.delay(0, Duration::from_millis(990)), None);
    }

    #[tokio::test]
    async fn runs_until_success_or_fatal() {
        let n = AtomicU32::new(0);
        let p = RetryPolicy::bounded(5, Duration::from_millis(1));
        let v = p
            .run(|| async {
                if n.fetch_add(1, Ordering::SeqCst) < 3 {
                    Err(Error::ConnectionLoss)
                } else {
                    Ok(7)
                }
            })
            .await;
        assert_eq!(v, Ok(7));
        assert_eq!(n.load(Ordering::SeqCst), 4);
        n.store(0, Ordering::SeqCst);
        let v: Result<()> = p
            .run(|| async {
                n.fetch_add(1, Ordering::SeqCst);
                Err(Error::NoNode)
            })
            .await;
        assert_eq!(v, Err(Error::NoNode));
        assert_eq!(n.load(Ordering::SeqCst), 1);
        n.store(0, Ordering::SeqCst);
        let v: Result<()> = p
            .run(|| async {
                n.fetch_add(1, Ordering::SeqCst);
                Err(Error::ConnectionLoss)
            })
            .await;
        assert_eq!(v, Err(Error::ConnectionLoss));
        assert_eq!(n.load(Ordering::SeqCst), 6);
    }
}
