//! `Party`: group membership — who is in the group now (kazoo's `Party`,
//! same layout, so kazoo and Corral members see each other).
//!
//! Layout: `<path>/<uuid hex>__party__`, one ephemeral node per member,
//! whose data is the member's identifier. `<path>` and its parents are
//! created as persistent nodes. Children without the `__party__` marker
//! are ignored.
//!
//! Failure behaviour: membership is tied to the session. While the client
//! is Suspended the member node stays (the session may still be alive);
//! if the session is Lost the node is gone for good and `join` must be
//! called again from a new client.

use std::time::Duration;

use tokio::time::Instant;

use super::barrier::{delete_if_exists, ensure_path, join_path, retry_pause, wait_event};
use crate::types::CreateOptions;
use crate::{Client, Error, Result};

/// The marker kazoo puts in every member node's name.
pub const PARTY_MARKER: &str = "__party__";

/// One member (node name and identifier).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// The member's node name (`<uuid hex>__party__`).
    pub name: String,
    /// The identifier the member joined with.
    pub data: Vec<u8>,
}

/// A party and, once joined, our membership in it; see the module docs.
///
/// ```no_run
/// # use std::time::Duration;
/// # use corral_client::{Client, recipes::party::Party};
/// # async fn demo(client: Client) -> corral_client::Result<()> {
/// let party = Party::new(client, "/app/workers", b"worker-7");
/// party.join().await?;
/// let ids: Vec<Vec<u8>> = party.members().await?.into_iter().map(|m| m.data).collect();
/// // wait (at most 10 s) until someone joins or leaves
/// party.wait_for_change(ids.len(), Duration::from_secs(10)).await?;
/// party.leave().await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Party {
    client: Client,
    path: String,
    identifier: Vec<u8>,
    node: String,
}

impl Party {
    /// A handle on the party at `path`; `identifier` is the data of our
    /// member node once we join.
    pub fn new(client: Client, path: &str, identifier: &[u8]) -> Party {
        let node = format!("{}{PARTY_MARKER}", uuid::Uuid::new_v4().simple());
        Party {
            client,
            path: path.to_owned(),
            identifier: identifier.to_vec(),
            node,
        }
    }

    /// Our member node's path.
    pub fn our_path(&self) -> String {
        join_path(&self.path, &self.node)
    }

    /// Joins: creates our ephemeral member node. Ok if we are already in
    /// (also after a lost reply, which is retried).
    pub async fn join(&self) -> Result<()> {
        ensure_path(&self.client, &self.path).await?;
        let mut tries = 0;
        loop {
            match self
                .client
                .create(
                    &self.our_path(),
                    &self.identifier,
                    &CreateOptions::ephemeral(),
                )
                .await
            {
                Ok(_) | Err(Error::NodeExists) => return Ok(()),
                Err(e) if e.is_retryable() && tries < 5 => {
                    tries += 1;
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Leaves: deletes our member node. Ok if we were not in.
    pub async fn leave(&self) -> Result<()> {
        delete_if_exists(&self.client, &self.our_path()).await
    }

    /// Whether our member node exists (false after session loss).
    pub async fn is_member(&self) -> Result<bool> {
        Ok(self.client.exists(&self.our_path()).await?.is_some())
    }

    /// The members now, ordered by node name. A member that leaves while
    /// we read is skipped.
    pub async fn members(&self) -> Result<Vec<Member>> {
        let mut out = Vec::new();
        for name in self.member_names().await? {
            match self.client.get_data(&join_path(&self.path, &name)).await {
                Ok((data, _)) => out.push(Member { name, data }),
                Err(Error::NoNode) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }

    /// The members now and a one-shot watch that fires when a member
    /// joins or leaves (NodeChildrenChanged on the party node).
    pub async fn members_w(&self) -> Result<(Vec<Member>, crate::Watch)> {
        ensure_path(&self.client, &self.path).await?;
        let (_, _, watch) = self.client.get_children_w(&self.path).await?;
        Ok((self.members().await?, watch))
    }

    /// The number of members now.
    pub async fn count(&self) -> Result<usize> {
        Ok(self.member_names().await?.len())
    }

    /// Waits until the number of members differs from `known`:
    /// `Ok(Some(n))` with the new count, `Ok(None)` if `timeout` passed
    /// first. Survives connection losses; SessionExpired if the session is
    /// lost.
    pub async fn wait_for_change(&self, known: usize, timeout: Duration) -> Result<Option<usize>> {
        let deadline = Instant::now() + timeout;
        ensure_path(&self.client, &self.path).await?;
        loop {
            let attempt = tokio::time::timeout_at(deadline, self.client.get_children_w(&self.path));
            let (children, watch) = match attempt.await {
                Err(_) => return Ok(None),
                Ok(Ok((c, _, w))) => (c, w),
                Ok(Err(e)) if e.is_retryable() => {
                    retry_pause(deadline).await;
                    continue;
                }
                Ok(Err(e)) => return Err(e),
            };
            let n = children.iter().filter(|c| c.contains(PARTY_MARKER)).count();
            if n != known {
                return Ok(Some(n));
            }
            if wait_event(watch, deadline).await?.is_none() {
                return Ok(None);
            }
        }
    }

    async fn member_names(&self) -> Result<Vec<String>> {
        let mut names = match self.client.get_children(&self.path).await {
            Ok(c) => c,
            Err(Error::NoNode) => Vec::new(),
            Err(e) => return Err(e),
        };
        names.retain(|c| c.contains(PARTY_MARKER));
        names.sort();
        Ok(names)
    }
}
