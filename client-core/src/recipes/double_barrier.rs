//! `DoubleBarrier`: `enter` blocks until `n` participants have entered,
//! `leave` blocks until every participant has left (Curator's
//! `DistributedDoubleBarrier`, same layout, so Curator and Corral
//! participants can share a barrier).
//!
//! Layout under the barrier path (created, with its parents, as
//! persistent nodes):
//!
//! - `<path>/<uuid>`: one ephemeral node per participant, empty data;
//! - `<path>/ready`: created (persistent) by the participant that sees `n`
//!   participants; its creation releases everyone waiting in `enter`. The
//!   last participant to leave deletes it, so the barrier can be reused.
//!
//! `n` is a threshold, not a limit: more than `n` may enter.

use std::time::Duration;

use tokio::time::Instant;

use super::barrier::{delete_if_exists, ensure_path, join_path, retry_pause, wait_event};
use crate::types::CreateOptions;
use crate::{Client, Error, Result};

/// The name of the node that marks "everyone has entered".
pub const READY_NODE: &str = "ready";

/// One participant of a double barrier; see the module docs.
///
/// ```no_run
/// # use std::time::Duration;
/// # use corral_client::{Client, recipes::double_barrier::DoubleBarrier};
/// # async fn demo(client: Client) -> corral_client::Result<()> {
/// let mut barrier = DoubleBarrier::new(client, "/app/phase-1", 5);
/// if barrier.enter(Duration::from_secs(60)).await? {
///     // ... all 5 are here: compute ...
///     barrier.leave(Duration::from_secs(60)).await?;
/// }
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct DoubleBarrier {
    client: Client,
    path: String,
    n: usize,
    our_name: String,
    entered: bool,
}

impl DoubleBarrier {
    /// A participant of the barrier at `path` that opens once `n` (> 0)
    /// participants have entered.
    pub fn new(client: Client, path: &str, n: usize) -> DoubleBarrier {
        DoubleBarrier {
            client,
            path: path.to_owned(),
            n: n.max(1),
            our_name: uuid::Uuid::new_v4().to_string(),
            entered: false,
        }
    }

    /// The path of this participant's node.
    pub fn our_path(&self) -> String {
        join_path(&self.path, &self.our_name)
    }

    /// Enters and waits until `n` participants have entered: `Ok(true)`
    /// then, `Ok(false)` if `timeout` passed first — our node is then
    /// deleted again, so that a participant that gave up is not counted.
    ///
    /// Connection losses are ridden out (the watch on `ready` is
    /// re-registered on reconnection). If the session is lost, our node is
    /// gone: SessionExpired. Calling `enter` again after a successful
    /// `enter` (without `leave`) is BadArguments.
    pub async fn enter(&mut self, timeout: Duration) -> Result<bool> {
        if self.entered {
            return Err(Error::BadArguments("already entered".into()));
        }
        let deadline = Instant::now() + timeout;
        let ready = join_path(&self.path, READY_NODE);
        let ours = self.our_path();
        let run = async {
            ensure_path(&self.client, &self.path).await?;
            // Watch `ready` before counting, so its creation cannot be missed.
            let (exists, watch) = self.client.exists_w(&ready).await?;
            self.create_ours(&ours).await?;
            if exists.is_some() {
                return Ok(true);
            }
            let children = self.client.get_children(&self.path).await?;
            let count = children.iter().filter(|c| *c != READY_NODE).count();
            if count >= self.n {
                match self
                    .client
                    .create(&ready, b"", &CreateOptions::default())
                    .await
                {
                    Ok(_) | Err(Error::NodeExists) => return Ok(true),
                    Err(e) => return Err(e),
                }
            }
            let mut watch = watch;
            loop {
                let Some(_) = wait_event(watch, deadline).await? else {
                    return Ok(false);
                };
                // NodeCreated on `ready`; check, and watch again if the
                // event was something else (deleted by a previous round).
                watch = loop {
                    match self.client.exists_w(&ready).await {
                        Ok((Some(_), _)) => return Ok(true),
                        Ok((None, w)) => break w,
                        Err(e) if e.is_retryable() => retry_pause(deadline).await,
                        Err(e) => return Err(e),
                    }
                };
            }
        };
        let result = match tokio::time::timeout_at(deadline, run).await {
            Ok(r) => r,
            Err(_) => Ok(false),
        };
        match result {
            Ok(true) => {
                self.entered = true;
                Ok(true)
            }
            other => {
                // Gave up (or failed): do not stay counted.
                let _ = self.delete_ours().await;
                other
            }
        }
    }

    /// Leaves and waits until every participant has left: `Ok(true)` then,
    /// `Ok(false)` if `timeout` passed first (our node is deleted either
    /// way). The last to leave deletes `ready`.
    ///
    /// Follows Curator: each participant deletes its node and waits for the
    /// highest remaining one to go. If our node disappeared while the
    /// session lived (deleted by someone else) we count it as left.
    pub async fn leave(&mut self, timeout: Duration) -> Result<bool> {
        let deadline = Instant::now() + timeout;
        self.entered = false;
        let ready = join_path(&self.path, READY_NODE);
        let mut ours_exists = true;
        loop {
            let children = match tokio::time::timeout_at(deadline, self.participants()).await {
                Err(_) => return Ok(false),
                Ok(Ok(c)) => c,
                Ok(Err(e)) if e.is_retryable() => {
                    retry_pause(deadline).await;
                    continue;
                }
                Ok(Err(e)) => return Err(e),
            };
            if !children.contains(&self.our_name) {
                ours_exists = false;
            }
            if children.is_empty() || (children.len() == 1 && ours_exists) {
                if ours_exists {
                    self.delete_ours().await?;
                }
                break;
            }
            let highest = join_path(&self.path, children.last().expect("not empty"));
            let (stat, watch) = match self.client.exists_w(&highest).await {
                Ok(r) => r,
                Err(e) if e.is_retryable() => {
                    retry_pause(deadline).await;
                    continue;
                }
                Err(e) => return Err(e),
            };
            if ours_exists {
                self.delete_ours().await?;
                ours_exists = false;
            }
            if stat.is_some() && wait_event(watch, deadline).await?.is_none() {
                return Ok(false);
            }
        }
        delete_if_exists(&self.client, &ready).await?;
        Ok(true)
    }

    /// The participant node names (without `ready`), sorted.
    async fn participants(&self) -> Result<Vec<String>> {
        let mut children = match self.client.get_children(&self.path).await {
            Ok(c) => c,
            Err(Error::NoNode) => Vec::new(),
            Err(e) => return Err(e),
        };
        children.retain(|c| c != READY_NODE);
        children.sort();
        Ok(children)
    }

    async fn create_ours(&self, ours: &str) -> Result<()> {
        match self
            .client
            .create(ours, b"", &CreateOptions::ephemeral())
            .await
        {
            // NodeExists: a retried create whose first reply was lost.
            Ok(_) | Err(Error::NodeExists) => Ok(()),
            Err(Error::ConnectionLoss) => {
                // Unknown outcome: create again; NodeExists means it was made.
                match self
                    .client
                    .create(ours, b"", &CreateOptions::ephemeral())
                    .await
                {
                    Ok(_) | Err(Error::NodeExists) => Ok(()),
                    Err(e) => Err(e),
                }
            }
            Err(e) => Err(e),
        }
    }

    async fn delete_ours(&self) -> Result<()> {
        delete_if_exists(&self.client, &self.our_path()).await
    }
}
