//! `Queue`: a distributed FIFO (with kazoo's optional priorities) whose
//! items are taken under a lock, so that an item is never lost when its
//! consumer dies (kazoo's `LockingQueue`, same layout, so kazoo and Corral
//! producers and consumers can share a queue).
//!
//! Layout under the queue path (created, with its parents, as persistent
//! nodes):
//!
//! - `<path>/entries/entry-PPP-<seq>`: one persistent sequential node per
//!   item; `PPP` is the priority (3 digits, lower first, default 100) and
//!   the data is the item. Any child ending in a 10-digit sequence number
//!   is an item (so `queue-<seq>` items written by other producers are
//!   read too; a name without `entry-PPP-` counts as priority 100).
//! - `<path>/taken/<item name>`: an ephemeral node, data = the consumer's
//!   id, that locks the item while a consumer works on it.
//!
//! Order: by priority, then by sequence number (the order of `put`s, as
//! the server assigns sequence numbers from one counter per parent).
//!
//! Taking ([`Queue::take_locked`]) creates the lock node and returns the
//! item, which stays in the queue. [`QueueItem::consume`] then deletes the
//! item and its lock in one `multi`; [`QueueItem::release`] (or dropping
//! the item) deletes only the lock, putting the item back. If the
//! consumer's session ends first — it crashed, or its connection stayed
//! cut past the session timeout — the server deletes the lock and another
//! consumer takes the item. `consume` succeeds at most once per item, so
//! every item is consumed exactly once; processing is at-least-once (an
//! item whose consumer died before consuming it is processed again).
//! [`Queue::take`] consumes at once (at-most-once processing).
//!
//! A `put` whose reply is lost to a connection loss fails with
//! ConnectionLoss: the item may or may not be in the queue (the client
//! never retries creates).

use std::cmp::Ordering;
use std::time::Duration;

use tokio::time::Instant;

use super::barrier::{delete_if_exists, ensure_path, join_path, retry_pause, session_error};
use crate::types::{CreateMode, CreateOptions, Op, OpResult};
use crate::{Client, Error, Result, Watch};

/// The default priority of [`Queue::put`] (kazoo's).
pub const DEFAULT_PRIORITY: u16 = 100;

/// A queue; cheap to clone. See the module docs.
///
/// ```no_run
/// # use std::time::Duration;
/// # use corral_client::{Client, recipes::queue::Queue};
/// # async fn demo(client: Client) -> corral_client::Result<()> {
/// let queue = Queue::new(client, "/app/jobs");
/// queue.put(b"job 1").await?;
/// if let Some(item) = queue.take_locked(Duration::from_secs(5)).await? {
///     // ... process item.data() ...
///     item.consume().await?; // now it is gone for good
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Queue {
    client: Client,
    path: String,
    entries: String,
    taken: String,
    id: Vec<u8>,
}

impl Queue {
    /// A producer/consumer handle on the queue at `path`.
    pub fn new(client: Client, path: &str) -> Queue {
        Queue {
            client,
            path: path.to_owned(),
            entries: join_path(path, "entries"),
            taken: join_path(path, "taken"),
            id: uuid::Uuid::new_v4().simple().to_string().into_bytes(),
        }
    }

    pub fn path(&self) -> &str {
        &self.path
    }

    /// Appends an item with the default priority; returns its node name.
    pub async fn put(&self, data: &[u8]) -> Result<String> {
        self.put_with_priority(data, DEFAULT_PRIORITY).await
    }

    /// Appends an item with `priority` (0..=999, lower is taken first).
    pub async fn put_with_priority(&self, data: &[u8], priority: u16) -> Result<String> {
        let prefix = self.entry_prefix(priority)?;
        self.ensure().await?;
        let path = self
            .client
            .create(&prefix, data, &CreateOptions::sequential())
            .await?;
        Ok(super::barrier::split_path(&path).1.to_owned())
    }

    /// Appends several items atomically (one `multi`), in order.
    pub async fn put_all(&self, items: &[&[u8]], priority: u16) -> Result<Vec<String>> {
        let prefix = self.entry_prefix(priority)?;
        self.ensure().await?;
        let opts = CreateOptions::new(CreateMode::PersistentSequential);
        let ops = items
            .iter()
            .map(|d| Op::create(prefix.clone(), d.to_vec(), opts.clone()))
            .collect();
        let results = self.client.multi(ops).await?;
        Ok(results
            .into_iter()
            .filter_map(|r| match r {
                OpResult::Create { path, .. } => {
                    Some(super::barrier::split_path(&path).1.to_owned())
                }
                _ => None,
            })
            .collect())
    }

    /// The number of items, taken ones included.
    pub async fn count(&self) -> Result<usize> {
        match self.client.get_children(&self.entries).await {
            Ok(c) => Ok(c.iter().filter(|n| sequence(n).is_some()).count()),
            Err(Error::NoNode) => Ok(0),
            Err(e) => Err(e),
        }
    }

    /// Takes the next item and consumes it at once (at-most-once: if we die
    /// before processing it, it is lost). `Ok(None)` if none came within
    /// `timeout`.
    pub async fn take(&self, timeout: Duration) -> Result<Option<Vec<u8>>> {
        let Some(item) = self.take_locked(timeout).await? else {
            return Ok(None);
        };
        let data = item.data.clone();
        item.consume().await?;
        Ok(Some(data))
    }

    /// Locks the next free item and returns it (it stays in the queue until
    /// [`QueueItem::consume`]); waits for one at most `timeout`: `Ok(None)`
    /// then. Connection losses are ridden out; SessionExpired if the
    /// session is lost. Cancel-safe: if the future is dropped after locking
    /// an item, the lock is released.
    pub async fn take_locked(&self, timeout: Duration) -> Result<Option<QueueItem>> {
        let deadline = Instant::now() + timeout;
        self.ensure().await?;
        loop {
            let attempt = tokio::time::timeout_at(deadline, self.try_take()).await;
            let (entries_watch, taken_watch) = match attempt {
                Err(_) => return Ok(None),
                Ok(Ok(Taken::Item(item))) => return Ok(Some(item)),
                Ok(Ok(Taken::Nothing(e, t))) => (e, t),
                Ok(Err(e)) if e.is_retryable() => {
                    retry_pause(deadline).await;
                    continue;
                }
                Ok(Err(e)) => return Err(e),
            };
            // Something may free up when an item is added or a lock goes.
            let ev = tokio::select! {
                ev = entries_watch => ev,
                ev = taken_watch => ev,
                _ = tokio::time::sleep_until(deadline) => return Ok(None),
            };
            if ev.is_session_event() {
                return Err(session_error(&ev));
            }
        }
    }

    /// One pass: lists the items and locks, tries to lock the free items in
    /// order. Watches both lists, so that the caller can wait for a change.
    async fn try_take(&self) -> Result<Taken> {
        let (mut names, _, entries_watch) = self.client.get_children_w(&self.entries).await?;
        let (taken, _, taken_watch) = self.client.get_children_w(&self.taken).await?;
        names.retain(|n| sequence(n).is_some() && !taken.contains(n));
        names.sort_by(|a, b| compare_items(a, b));
        for name in names {
            if let Some(item) = self.try_lock(&name).await? {
                return Ok(Taken::Item(item));
            }
        }
        Ok(Taken::Nothing(entries_watch, taken_watch))
    }

    /// Locks the item `name` and reads it; `None` if someone else has it or
    /// it is gone.
    async fn try_lock(&self, name: &str) -> Result<Option<QueueItem>> {
        // The create runs in its own task and hands over a `QueueItem`: if
        // our caller is cancelled (a timeout) while the create is in
        // flight, the item is dropped there or in the channel, and its
        // `Drop` releases the lock instead of leaking it.
        let (tx, rx) = tokio::sync::oneshot::channel();
        let queue = self.clone();
        let item_name = name.to_owned();
        tokio::spawn(async move {
            let r = queue.create_lock(&item_name).await.map(|locked| {
                locked.then(|| QueueItem {
                    queue: queue.clone(),
                    name: item_name.clone(),
                    data: Vec::new(),
                    done: false,
                })
            });
            let _ = tx.send(r);
        });
        let Some(mut item) = rx.await.map_err(|_| Error::Closed)?? else {
            return Ok(None);
        };
        match self.client.get_data(&join_path(&self.entries, name)).await {
            Ok((data, _)) => {
                item.data = data;
                Ok(Some(item))
            }
            Err(Error::NoNode) => {
                // Consumed between our listing and our lock.
                item.release().await?;
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// Creates the lock node of item `name`: true if we got it.
    async fn create_lock(&self, name: &str) -> Result<bool> {
        let lock = join_path(&self.taken, name);
        match self
            .client
            .create(&lock, &self.id, &CreateOptions::ephemeral())
            .await
        {
            Ok(_) => Ok(true),
            Err(Error::NodeExists) => Ok(false),
            Err(e) if e.is_retryable() => {
                // Unknown outcome: the lock is ours if our session owns it.
                Ok(match self.client.exists(&lock).await? {
                    Some(st) => st.ephemeral_owner == self.client.session_id(),
                    None => false,
                })
            }
            Err(e) => Err(e),
        }
    }

    fn entry_prefix(&self, priority: u16) -> Result<String> {
        if priority > 999 {
            return Err(Error::BadArguments(format!(
                "priority {priority} is not in 0..=999"
            )));
        }
        Ok(join_path(&self.entries, &format!("entry-{priority:03}-")))
    }

    async fn ensure(&self) -> Result<()> {
        ensure_path(&self.client, &self.entries).await?;
        ensure_path(&self.client, &self.taken).await
    }
}

enum Taken {
    Item(QueueItem),
    Nothing(Watch, Watch),
}

/// An item locked by [`Queue::take_locked`]. Call [`QueueItem::consume`]
/// when done with it, or [`QueueItem::release`] to put it back; dropping it
/// without either releases it (in a spawned task).
#[derive(Debug)]
pub struct QueueItem {
    queue: Queue,
    name: String,
    data: Vec<u8>,
    done: bool,
}

impl QueueItem {
    /// The item's node name (`entry-PPP-<seq>`).
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn data(&self) -> &[u8] {
        &self.data
    }

    pub fn into_data(mut self) -> Vec<u8> {
        std::mem::take(&mut self.data)
    }

    fn lock_path(&self) -> String {
        join_path(&self.queue.taken, &self.name)
    }

    fn entry_path(&self) -> String {
        join_path(&self.queue.entries, &self.name)
    }

    /// Whether we still hold the item's lock (false once our session was
    /// lost and the lock deleted).
    pub async fn holds_lock(&self) -> Result<bool> {
        Ok(match self.queue.client.exists(&self.lock_path()).await? {
            Some(st) => st.ephemeral_owner == self.queue.client.session_id(),
            None => false,
        })
    }

    /// Removes the item from the queue for good (the item and its lock in
    /// one `multi`). Fails with SessionExpired if our session was lost —
    /// the item is then back in the queue for another consumer — and with
    /// NoNode if the lock is no longer there. A lost reply is resolved by
    /// looking: both nodes gone means it was applied.
    pub async fn consume(mut self) -> Result<()> {
        let client = self.queue.client.clone();
        let (lock, entry) = (self.lock_path(), self.entry_path());
        let mut tries = 0;
        loop {
            let ops = vec![
                Op::check(lock.clone(), None),
                Op::delete(entry.clone(), None),
                Op::delete(lock.clone(), None),
            ];
            match client.multi(ops).await {
                Ok(_) => {
                    self.done = true;
                    return Ok(());
                }
                Err(e) if e.is_retryable() && tries < 10 => {
                    tries += 1;
                    let lock_there = client.exists(&lock).await?.is_some();
                    let entry_there = client.exists(&entry).await?.is_some();
                    if !lock_there && !entry_there {
                        self.done = true;
                        return Ok(());
                    }
                }
                Err(e) => {
                    if let Error::Multi { index: 0, .. } = e {
                        self.done = true; // the lock is gone: nothing to release
                    }
                    return Err(e.root().clone());
                }
            }
        }
    }

    /// Puts the item back (deletes our lock only).
    pub async fn release(mut self) -> Result<()> {
        self.done = true;
        delete_if_exists(&self.queue.client, &self.lock_path()).await
    }
}

impl Drop for QueueItem {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        let Ok(rt) = tokio::runtime::Handle::try_current() else {
            return; // no runtime: the lock goes with the session
        };
        let client = self.queue.client.clone();
        let lock = self.lock_path();
        rt.spawn(async move {
            let _ = delete_if_exists(&client, &lock).await;
        });
    }
}

/// The sequence number at the end of an item's name (10 digits).
fn sequence(name: &str) -> Option<u64> {
    let tail = name.get(name.len().checked_sub(10)?..)?;
    if tail.bytes().all(|b| b.is_ascii_digit()) {
        tail.parse().ok()
    } else {
        None
    }
}

/// The priority in kazoo's `entry-PPP-<seq>`, else the default.
fn priority(name: &str) -> u16 {
    name.strip_prefix("entry-")
        .and_then(|rest| rest.get(..4))
        .filter(|p| p.ends_with('-'))
        .and_then(|p| p[..3].parse().ok())
        .unwrap_or(DEFAULT_PRIORITY)
}

fn compare_items(a: &str, b: &str) -> Ordering {
    (priority(a), sequence(a), a).cmp(&(priority(b), sequence(b), b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(sequence("entry-100-0000000042"), Some(42));
        assert_eq!(sequence("queue-0000000007"), Some(7));
        assert_eq!(sequence("entry-100-"), None);
        assert_eq!(sequence("x"), None);
        assert_eq!(priority("entry-005-0000000001"), 5);
        assert_eq!(priority("queue-0000000001"), DEFAULT_PRIORITY);
        let mut v = vec![
            "entry-100-0000000003",
            "queue-0000000002",
            "entry-001-0000000009",
            "entry-100-0000000001",
        ];
        v.sort_by(|a, b| compare_items(a, b));
        assert_eq!(
            v,
            vec![
                "entry-001-0000000009",
                "entry-100-0000000001",
                "queue-0000000002",
                "entry-100-0000000003"
            ]
        );
    }
}
