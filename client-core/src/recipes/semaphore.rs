//! A distributed counting semaphore with Curator's
//! `InterProcessSemaphoreV2` layout:
//!
//! ```text
//! <path>/locks/_c_<uuid>-lock-<seq>     a mutex: one acquirer at a time counts leases
//! <path>/leases/_c_<uuid>-lease-<seq>   one ephemeral node per lease granted (or being decided)
//! ```
//!
//! To acquire, a contender takes the `locks` mutex, creates its lease node,
//! and waits (a child watch on `leases`, held by this one contender only)
//! until there are at most `max_leases` lease nodes, its own included; then
//! it releases the mutex. A lease is returned by deleting its node. So no
//! more than `max_leases` leases are ever granted, and waiting contenders
//! queue on the mutex (each watching its predecessor) rather than on the
//! lease count. All contenders must agree on `max_leases`.

use std::time::Duration;

use super::contenders::{delete_until_gone, join, retry_loss, NodeGuard, Protected};
use super::lock::Lock;
use crate::{Client, Error, Result};

/// A counting semaphore on a znode path. See the module docs.
pub struct Semaphore {
    client: Client,
    path: String,
    max_leases: usize,
    data: Vec<u8>,
}

/// One lease of a [`Semaphore`]. Give it back with [`Lease::release`];
/// dropping it deletes its node in the background. The lease is an
/// ephemeral node: it is lost with the session.
#[derive(Debug)]
pub struct Lease {
    client: Client,
    node: String,
    released: bool,
}

impl Semaphore {
    /// A semaphore of `max_leases` leases on `path` (0 counts as 1).
    pub fn new(client: &Client, path: &str, max_leases: usize) -> Semaphore {
        Semaphore {
            client: client.clone(),
            path: path.to_owned(),
            max_leases: max_leases.max(1),
            data: Vec::new(),
        }
    }

    /// The data of our lease nodes (empty by default).
    pub fn with_data(mut self, data: impl Into<Vec<u8>>) -> Semaphore {
        self.data = data.into();
        self
    }

    fn leases_dir(&self) -> String {
        join(&self.path, "leases")
    }

    /// Waits for a lease. Errors as [`Lock::acquire`]; on error, timeout or
    /// cancellation no lease node is left behind.
    pub async fn acquire(&self) -> Result<Lease> {
        // A mutex handle of our own per call: handles are re-entrant, and two
        // acquirers counting leases at once could wait for each other.
        let lock = Lock::new(&self.client, &join(&self.path, "locks"));
        lock.acquire().await?;
        let r = self.lease_while_locked().await;
        let released = lock.release().await;
        let lease = r?;
        released?;
        Ok(lease)
    }

    /// [`Semaphore::acquire`] with a deadline: `Ok(None)` if no lease came
    /// within `timeout`.
    pub async fn acquire_timeout(&self, timeout: Duration) -> Result<Option<Lease>> {
        match tokio::time::timeout(timeout, self.acquire()).await {
            Ok(r) => r.map(Some),
            Err(_) => Ok(None),
        }
    }

    async fn lease_while_locked(&self) -> Result<Lease> {
        let dir = self.leases_dir();
        let mut guard = NodeGuard::new(&self.client, Protected::new(&dir, "lease-"));
        let name = guard.create(&self.data).await?;
        loop {
            let (children, _, watch) = retry_loss(|| self.client.get_children_w(&dir)).await?;
            if !children.contains(&name) {
                tracing::warn!(path = %self.path, node = %name, "semaphore: our lease node disappeared");
                return Err(Error::NoNode);
            }
            if children.len() <= self.max_leases {
                break;
            }
            watch.await;
        }
        Ok(Lease {
            client: self.client.clone(),
            node: join(&dir, &guard.disarm()),
            released: false,
        })
    }

    /// The lease nodes (granted, or being decided by the one acquirer
    /// holding the mutex).
    pub async fn lease_nodes(&self) -> Result<Vec<String>> {
        let dir = self.leases_dir();
        match retry_loss(|| self.client.get_children(&dir)).await {
            Ok(mut c) => {
                c.sort();
                Ok(c)
            }
            Err(Error::NoNode) => Ok(Vec::new()),
            Err(e) => Err(e),
        }
    }
}

impl Lease {
    /// The lease node's path.
    pub fn node(&self) -> &str {
        &self.node
    }

    /// Returns the lease: deletes its node, retrying through connection
    /// losses until it is gone or the session has ended.
    pub async fn release(mut self) -> Result<()> {
        delete_until_gone(&self.client, &self.node).await?;
        self.released = true;
        Ok(())
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        if self.released {
            return;
        }
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            let client = self.client.clone();
            let node = std::mem::take(&mut self.node);
            rt.spawn(async move {
                if let Err(e) = delete_until_gone(&client, &node).await {
                    tracing::warn!(node = %node, error = %e, "semaphore: could not delete a dropped lease");
                }
            });
        }
    }
}
