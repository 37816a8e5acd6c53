//! openraft's tokio runtime, with one change: no RPC of openraft times out
//! sooner than [`set_min_rpc_timeout`] allows.
//!
//! openraft 0.9 gives every append-entries call the heartbeat interval
//! (25 ms by default) as its timeout. A follower that needs longer (an
//! fsync on a busy disk, a batch of catch-up entries, a loaded machine)
//! then never acknowledges anything: each call times out, the retry waits
//! behind the one still being handled, and the leader loses its quorum
//! although every follower is alive. Heartbeats keep their interval; only
//! how long the leader waits for an answer is raised.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use openraft::{AsyncRuntime, OptionalSend, TokioInstant, TokioRuntime};

static MIN_RPC_TIMEOUT_MS: AtomicU64 = AtomicU64::new(0);

/// Raises the shortest timeout of openraft's RPCs in this process (several
/// servers in one test process share it: the longest wins).
pub fn set_min_rpc_timeout(timeout: Duration) {
    MIN_RPC_TIMEOUT_MS.fetch_max(timeout.as_millis() as u64, Ordering::Relaxed);
}

/// `timeout`, or the process's minimum RPC timeout if that is longer.
pub fn rpc_timeout(timeout: Duration) -> Duration {
    timeout.max(Duration::from_millis(
        MIN_RPC_TIMEOUT_MS.load(Ordering::Relaxed),
    ))
}

#[derive(Debug, Default, PartialEq, Eq)]
pub struct CorralRuntime;

impl AsyncRuntime for CorralRuntime {
    type JoinError = <TokioRuntime as AsyncRuntime>::JoinError;
    type JoinHandle<T: OptionalSend + 'static> = <TokioRuntime as AsyncRuntime>::JoinHandle<T>;
    type Sleep = <TokioRuntime as AsyncRuntime>::Sleep;
    type Instant = TokioInstant;
    type TimeoutError = <TokioRuntime as AsyncRuntime>::TimeoutError;
    type Timeout<R, T: Future<Output = R> + OptionalSend> = tokio::time::Timeout<T>;
    type ThreadLocalRng = <TokioRuntime as AsyncRuntime>::ThreadLocalRng;
    type OneshotSender<T: OptionalSend> = <TokioRuntime as AsyncRuntime>::OneshotSender<T>;
    type OneshotReceiverError = <TokioRuntime as AsyncRuntime>::OneshotReceiverError;
    type OneshotReceiver<T: OptionalSend> = <TokioRuntime as AsyncRuntime>::OneshotReceiver<T>;

    fn spawn<T>(future: T) -> Self::JoinHandle<T::Output>
    where
        T: Future + OptionalSend + 'static,
        T::Output: OptionalSend + 'static,
    {
        TokioRuntime::spawn(future)
    }

    fn sleep(duration: Duration) -> Self::Sleep {
        TokioRuntime::sleep(duration)
    }

    fn sleep_until(deadline: Self::Instant) -> Self::Sleep {
        TokioRuntime::sleep_until(deadline)
    }

    fn timeout<R, F: Future<Output = R> + OptionalSend>(
        duration: Duration,
        future: F,
    ) -> Self::Timeout<R, F> {
        tokio::time::timeout(rpc_timeout(duration), future)
    }

    fn timeout_at<R, F: Future<Output = R> + OptionalSend>(
        deadline: Self::Instant,
        future: F,
    ) -> Self::Timeout<R, F> {
        TokioRuntime::timeout_at(deadline, future)
    }

    fn is_panic(join_error: &Self::JoinError) -> bool {
        TokioRuntime::is_panic(join_error)
    }

    fn thread_rng() -> Self::ThreadLocalRng {
        TokioRuntime::thread_rng()
    }

    fn oneshot<T>() -> (Self::OneshotSender<T>, Self::OneshotReceiver<T>)
    where
        T: OptionalSend,
    {
        TokioRuntime::oneshot()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn short_timeouts_are_raised_to_the_minimum() {
        set_min_rpc_timeout(Duration::from_millis(60));
        assert_eq!(
            rpc_timeout(Duration::from_millis(25)),
            Duration::from_millis(60)
        );
        assert_eq!(
            rpc_timeout(Duration::from_millis(90)),
            Duration::from_millis(90)
        );
        let slow = tokio::time::sleep(Duration::from_millis(40));
        assert!(CorralRuntime::timeout(Duration::from_millis(25), slow)
            .await
            .is_ok());
    }
}
