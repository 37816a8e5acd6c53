//! The state every part of one server shares: the data tree, the watches of
//! its connections, which connection holds which session, and counters.

use crate::apply::{self, ApplyConfig};
use crate::config::ServerConfig;
use crate::tree::{Change, DataTree};
use crate::txn::{Txn, TxnOp, TxnOutcome};
use crate::watches::{ConnId, Outbound, Outbox, WatchManager};
use parking_lot::{Mutex, RwLock};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

pub struct Core {
    pub config: ServerConfig,
    pub apply_config: ApplyConfig,
    pub tree: RwLock<DataTree>,
    pub watches: Mutex<WatchManager>,
    pub sessions: Mutex<SessionTable>,
    pub connections: Mutex<HashMap<ConnId, ConnInfo>>,
    pub stats: Stats,
    /// Txns applied since the last snapshot began (`snapCount` counts txns,
    /// not log entries: one entry carries a whole group commit).
    pub txns_since_snapshot: AtomicU64,
    /// Size in bytes of the newest snapshot file (written, or loaded at
    /// start); 0 before the first.
    pub snapshot_bytes: AtomicU64,
    pub started: Instant,
    next_conn: AtomicU64,
    /// The zxid of the last applied txn, for waiting on it.
    applied: tokio::sync::watch::Sender<i64>,
}

/// What `cons`/`stat` show of a connection.
#[derive(Debug, Clone)]
pub struct ConnInfo {
    pub peer: SocketAddr,
    pub session_id: i64,
    pub timeout_ms: i32,
    pub opened: Instant,
    pub counters: Arc<ConnCounters>,
}

/// Per-connection packet counters (`cons`: queued, recved, sent).
#[derive(Debug, Default)]
pub struct ConnCounters {
    /// Requests read but not yet answered.
    pub queued: AtomicU64,
    pub received: AtomicU64,
    pub sent: AtomicU64,
}

impl ConnCounters {
    pub fn reset(&self) {
        self.received.store(0, Ordering::Relaxed);
        self.sent.store(0, Ordering::Relaxed);
    }
}

/// Liveness of sessions and which connection holds each one. Only the
/// leader expires sessions; this table is volatile, the sessions themselves
/// live in the data tree.
#[derive(Default)]
pub struct SessionTable {
    last_seen: HashMap<i64, Instant>,
    attached: HashMap<i64, (ConnId, Outbox)>,
    /// Sessions with a CloseSession txn in flight.
    closing: std::collections::HashSet<i64>,
}

impl SessionTable {
    pub fn touch(&mut self, session: i64) {
        self.last_seen.insert(session, Instant::now());
    }

    /// Binds a session to a connection, closing the connection that held it.
    pub fn attach(&mut self, session: i64, conn: ConnId, outbox: Outbox) {
        if let Some((old, old_outbox)) = self.attached.insert(session, (conn, outbox)) {
            if old != conn {
                let _ = old_outbox.send(Outbound::Close);
            }
        }
        self.touch(session);
    }

    /// Forgets when sessions were heard from: each gets a full timeout from
    /// `now` (a new leader did not see the touches the old one got).
    pub fn restart_liveness(&mut self, now: Instant) {
        for seen in self.last_seen.values_mut() {
            *seen = now;
        }
    }

    /// Closes every client connection (this server lost its quorum: the
    /// clients should move to a server that has one).
    pub fn close_all_connections(&mut self) -> usize {
        let count = self.attached.len();
        for (_, outbox) in self.attached.values() {
            let _ = outbox.send(Outbound::Close);
        }
        count
    }

    /// Sessions held by this server's connections.
    pub fn attached_sessions(&self) -> Vec<i64> {
        self.attached.keys().copied().collect()
    }

    /// When the session was last heard from, if this server has seen it.
    pub fn last_seen(&self, session: i64) -> Option<Instant> {
        self.last_seen.get(&session).copied()
    }

    pub fn detach(&mut self, session: i64, conn: ConnId) {
        if self.attached.get(&session).is_some_and(|(c, _)| *c == conn) {
            self.attached.remove(&session);
        }
    }

    /// Sessions not heard from for longer than their timeout, marked closing.
    pub fn take_expired(&mut self, tree: &DataTree, now: Instant) -> Vec<i64> {
        let mut out = Vec::new();
        for (id, record) in &tree.sessions {
            let seen = *self.last_seen.entry(*id).or_insert(now);
            let timeout = std::time::Duration::from_millis(record.timeout_ms.max(0) as u64);
            if now.duration_since(seen) > timeout && self.closing.insert(*id) {
                out.push(*id);
            }
        }
        out
    }

    /// The session is gone: a connection still attached to it here (the
    /// one that asked for the close let go of it first) is closed, so its
    /// client learns of the end when it reconnects, as from ZooKeeper.
    fn closed(&mut self, session: i64) {
        self.last_seen.remove(&session);
        self.closing.remove(&session);
        if let Some((_, outbox)) = self.attached.remove(&session) {
            let _ = outbox.send(Outbound::Close);
        }
    }

    /// The session's client now talks to another server: its connection
    /// here, if any, is closed (the session lives on).
    fn moved_away(&mut self, session: i64) {
        if let Some((_, outbox)) = self.attached.remove(&session) {
            let _ = outbox.send(Outbound::Close);
        }
    }

    /// Gives up on a close that could not be proposed (it will be retried).
    pub fn close_failed(&mut self, session: i64) {
        self.closing.remove(&session);
    }
}

/// Server-wide counters for `srvr`, `stat` and `mntr`.
#[derive(Default)]
pub struct Stats {
    pub packets_received: AtomicU64,
    pub packets_sent: AtomicU64,
    pub outstanding: AtomicI64,
    pub latency_total_us: AtomicU64,
    pub latency_count: AtomicU64,
    pub latency_max_us: AtomicU64,
    pub latency_min_us: AtomicU64,
}

impl Stats {
    pub fn record_latency(&self, started: Instant) {
        let us = started.elapsed().as_micros() as u64;
        self.latency_total_us.fetch_add(us, Ordering::Relaxed);
        self.latency_count.fetch_add(1, Ordering::Relaxed);
        self.latency_max_us.fetch_max(us, Ordering::Relaxed);
        let min = self.latency_min_us.load(Ordering::Relaxed);
        if min == 0 || us < min {
            self.latency_min_us.store(us.max(1), Ordering::Relaxed);
        }
    }

    pub fn reset(&self) {
        for c in [
            &self.packets_received,
            &self.packets_sent,
            &self.latency_total_us,
            &self.latency_count,
            &self.latency_max_us,
            &self.latency_min_us,
        ] {
            c.store(0, Ordering::Relaxed);
        }
    }
}

impl Core {
    pub fn new(config: ServerConfig) -> Core {
        let apply_config = ApplyConfig {
            extended_types: config.extended_types_enabled,
        };
        Core {
            config,
            apply_config,
            tree: RwLock::new(DataTree::new()),
            watches: Mutex::new(WatchManager::default()),
            sessions: Mutex::new(SessionTable::default()),
            connections: Mutex::new(HashMap::new()),
            stats: Stats::default(),
            txns_since_snapshot: AtomicU64::new(0),
            snapshot_bytes: AtomicU64::new(0),
            started: Instant::now(),
            next_conn: AtomicU64::new(1),
            applied: tokio::sync::watch::Sender::new(0),
        }
    }

    pub fn next_conn_id(&self) -> ConnId {
        self.next_conn.fetch_add(1, Ordering::Relaxed)
    }

    /// Applies the txns of a committed log entry. Each takes the next zxid
    /// (a count of applied txns, the same on every server). The tree changes
    /// and watchers are notified in one critical section, so a read that set
    /// a watch never misses a change; closed sessions' connections are let go.
    pub fn apply(&self, txns: &[Txn]) -> Vec<TxnOutcome> {
        let mut outcomes = Vec::with_capacity(txns.len());
        let mut changes: Vec<Change> = Vec::new();
        let mut tree = self.tree.write();
        for txn in txns {
            let zxid = tree.last_zxid + 1;
            changes.clear();
            outcomes.push(apply::apply(
                &mut tree,
                zxid,
                txn,
                self.apply_config,
                &mut changes,
            ));
            if !changes.is_empty() {
                let mut watches = self.watches.lock();
                for change in &changes {
                    watches.trigger(change);
                }
            }
        }
        let applied = tree.last_zxid;
        drop(tree);
        self.applied.send_replace(applied);
        self.txns_since_snapshot
            .fetch_add(txns.len() as u64, Ordering::Relaxed);
        for txn in txns {
            match txn.op {
                TxnOp::CloseSession { expired } => {
                    if !expired {
                        // Expiry is logged by the leader that decides it.
                        tracing::info!(
                            session = format_args!("0x{:x}", txn.session_id),
                            "session closed by its client"
                        );
                    }
                    self.sessions.lock().closed(txn.session_id)
                }
                TxnOp::MoveSession { server } if server != self.config.server_id => {
                    self.sessions.lock().moved_away(txn.session_id)
                }
                _ => {}
            }
        }
        outcomes
    }

    pub fn last_zxid(&self) -> i64 {
        self.tree.read().last_zxid
    }

    /// Replaces the whole tree (recovery, a snapshot from the leader).
    pub fn replace_tree(&self, tree: DataTree) {
        let applied = tree.last_zxid;
        *self.tree.write() = tree;
        self.applied.send_replace(applied);
    }

    /// Waits until the txn with this zxid has been applied here.
    pub async fn wait_applied(&self, zxid: i64) {
        let mut applied = self.applied.subscribe();
        let _ = applied.wait_for(|z| *z >= zxid).await;
    }
}
