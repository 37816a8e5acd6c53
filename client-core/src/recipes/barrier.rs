//! `Barrier`: one node that, while it exists, holds back everyone who
//! waits on it (Curator's `DistributedBarrier`, kazoo's `Barrier`).
//!
//! Layout: the barrier is the node `<path>` itself (persistent, empty
//! data; its parents are created as persistent nodes). Set = the node
//! exists; removed = it does not.
//!
//! This module also holds the small helpers the data recipes share
//! (`ensure_path`, `session_error`, `wait_event`).

use std::time::Duration;

use tokio::time::Instant;

use crate::types::{CreateOptions, KeeperState, WatchedEvent};
use crate::{Client, Error, Result, Watch};

/// A barrier at one path; see the module docs.
///
/// ```no_run
/// # use std::time::Duration;
/// # use corral_client::{Client, recipes::barrier::Barrier};
/// # async fn demo(client: Client) -> corral_client::Result<()> {
/// let barrier = Barrier::new(client, "/app/barrier");
/// barrier.set().await?; // hold everyone back
/// // elsewhere: `if barrier.wait(Duration::from_secs(30)).await? { go() }`
/// barrier.remove().await?; // let them through
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Barrier {
    client: Client,
    path: String,
}

impl Barrier {
    pub fn new(client: Client, path: &str) -> Barrier {
        Barrier {
            client,
            path: path.to_owned(),
        }
    }

    pub fn path(&self) -> &str {
        &self.path
    }

    /// Sets the barrier: creates its node (and missing parents). Ok if it
    /// is already set.
    pub async fn set(&self) -> Result<()> {
        let (parent, _) = split_path(&self.path);
        ensure_path(&self.client, parent).await?;
        match self
            .client
            .create(&self.path, b"", &CreateOptions::default())
            .await
        {
            Ok(_) | Err(Error::NodeExists) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Removes the barrier, releasing every waiter. Ok if it was not set.
    /// A node that has children (not one of ours) fails with NotEmpty.
    pub async fn remove(&self) -> Result<()> {
        delete_if_exists(&self.client, &self.path).await
    }

    /// Whether the barrier is set now.
    pub async fn is_set(&self) -> Result<bool> {
        Ok(self.client.exists(&self.path).await?.is_some())
    }

    /// Waits until the barrier is removed (returns at once if it is not
    /// set): `Ok(true)` once it is gone, `Ok(false)` if `timeout` passed
    /// first. The wait survives connection losses (the watch is
    /// re-registered on reconnection); it fails with SessionExpired if the
    /// session is lost, or Closed if the client is closed.
    pub async fn wait(&self, timeout: Duration) -> Result<bool> {
        let deadline = Instant::now() + timeout;
        loop {
            let attempt = tokio::time::timeout_at(deadline, self.client.exists_w(&self.path));
            let watch = match attempt.await {
                Err(_) => return Ok(false),
                Ok(Ok((None, _))) => return Ok(true),
                Ok(Ok((Some(_), watch))) => watch,
                Ok(Err(e)) if e.is_retryable() => {
                    retry_pause(deadline).await;
                    continue;
                }
                Ok(Err(e)) => return Err(e),
            };
            match wait_event(watch, deadline).await? {
                None => return Ok(false),
                Some(_) => continue, // deleted (or changed): look again
            }
        }
    }
}

// ---- helpers shared by the data recipes ---------------------------------

/// Creates `path` and its missing ancestors as persistent empty nodes (as
/// kazoo's `ensure_path`). Ok if they exist. Creating is not retried by the
/// client; a lost reply is retried here, which is safe (NodeExists is
/// success).
pub(crate) async fn ensure_path(client: &Client, path: &str) -> Result<()> {
    if path == "/" || path.is_empty() {
        return Ok(());
    }
    if client.exists(path).await?.is_some() {
        return Ok(());
    }
    let mut prefix = String::new();
    for part in path.split('/').filter(|p| !p.is_empty()) {
        prefix.push('/');
        prefix.push_str(part);
        let mut tries = 0;
        loop {
            match client.create(&prefix, b"", &CreateOptions::default()).await {
                Ok(_) | Err(Error::NodeExists) => break,
                Err(e) if e.is_retryable() && tries < 5 => {
                    tries += 1;
                    tokio::time::sleep(Duration::from_millis(50 * tries)).await;
                }
                Err(e) => return Err(e),
            }
        }
    }
    Ok(())
}

/// Deletes `path` (any version); Ok if it does not exist. A lost reply is
/// retried a few times, which is safe: NoNode then means it was deleted.
pub(crate) async fn delete_if_exists(client: &Client, path: &str) -> Result<()> {
    let mut tries = 0;
    loop {
        match client.delete(path, None).await {
            Ok(()) | Err(Error::NoNode) => return Ok(()),
            Err(e) if e.is_retryable() && tries < 5 => {
                tries += 1;
                tokio::time::sleep(Duration::from_millis(50 * tries)).await;
            }
            Err(e) => return Err(e),
        }
    }
}

/// `(parent, name)` of a path; the parent of `/x` is `/`.
pub(crate) fn split_path(path: &str) -> (&str, &str) {
    match path.rfind('/') {
        Some(0) => ("/", &path[1..]),
        Some(i) => (&path[..i], &path[i + 1..]),
        None => ("/", path),
    }
}

/// `parent/name` without a double slash under the root.
pub(crate) fn join_path(parent: &str, name: &str) -> String {
    if parent == "/" {
        format!("/{name}")
    } else {
        format!("{parent}/{name}")
    }
}

/// The error a recipe reports for a session event delivered to a watch.
pub(crate) fn session_error(ev: &WatchedEvent) -> Error {
    match ev.state {
        KeeperState::Closed => Error::Closed,
        KeeperState::AuthFailed => Error::AuthFailed,
        _ => Error::SessionExpired,
    }
}

/// Waits for a one-shot watch until `deadline`: `Ok(Some(event))` for a
/// node event, `Ok(None)` at the deadline, the session's error for a
/// session event.
pub(crate) async fn wait_event(watch: Watch, deadline: Instant) -> Result<Option<WatchedEvent>> {
    match tokio::time::timeout_at(deadline, watch).await {
        Err(_) => Ok(None),
        Ok(ev) if ev.is_session_event() => Err(session_error(&ev)),
        Ok(ev) => Ok(Some(ev)),
    }
}

/// A short pause before retrying a read that failed with a retryable error
/// (the request waits for the reconnection itself; this only avoids a
/// tight loop), never past `deadline`.
pub(crate) async fn retry_pause(deadline: Instant) {
    let until = (Instant::now() + Duration::from_millis(50)).min(deadline);
    tokio::time::sleep_until(until).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths() {
        assert_eq!(split_path("/a"), ("/", "a"));
        assert_eq!(split_path("/a/b/c"), ("/a/b", "c"));
        assert_eq!(join_path("/", "a"), "/a");
        assert_eq!(join_path("/a", "b"), "/a/b");
    }
}
