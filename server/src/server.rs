//! The server: the Raft group, the accept loop with per-IP connection
//! limits, and the leader's background duties (session expiry, reaping
//! containers and TTL nodes).

use crate::config::ServerConfig;
use crate::connection;
use crate::core::Core;
use crate::peer::Forwarder;
use crate::proposer::Proposer;
use crate::raft::{self, Raft};
use crate::txn::{Txn, TxnOp, TxnOutcome};
use corral_protocol::{ErrorCode, Id};
use std::collections::HashMap;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::net::TcpListener;
use tracing::{info, warn};

pub struct Server {
    pub core: Arc<Core>,
    pub raft: Raft,
    /// Set when this server is a member of an ensemble.
    pub ensemble: Option<raft::Ensemble>,
    proposer: Proposer,
    /// Sends writes to the leader while this server is not the leader.
    forwarder: Option<Forwarder>,
    log: crate::storage::log::DiskLog,
    next_session: AtomicI64,
    per_ip: parking_lot::Mutex<HashMap<IpAddr, u32>>,
    pub read_only: crate::read_only::ReadOnlyMode,
    /// Reconfig's state: one at a time, and whether this server is
    /// still in the configuration.
    pub reconfig: crate::reconfig::State,
}

pub use crate::proposer::WriteReceiver;

/// How long shutdown waits for Raft to stop before exiting anyway.
const RAFT_SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// A learner whose log is at most this many entries behind the leader's
/// counts as synced in `mntr`.
const SYNCED_LAG: u64 = 1000;

pub fn now_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

impl Server {
    pub async fn start(config: ServerConfig) -> anyhow::Result<Arc<Server>> {
        let server_id = config.server_id as i64;
        let ensemble = raft::Ensemble::from_config(&config);
        let peer_listener = match &ensemble {
            Some(e) => {
                let me = config
                    .servers
                    .iter()
                    .find(|p| p.id == e.me)
                    .ok_or_else(|| anyhow::anyhow!("no server.{} line for this server", e.me))?;
                let addr = (me.host.as_str(), me.peer_port);
                let listener = TcpListener::bind(addr).await.map_err(|err| {
                    anyhow::anyhow!(
                        "cannot listen on quorum port {}:{}: {err}",
                        me.host,
                        me.peer_port
                    )
                })?;
                Some(listener)
            }
            None => None,
        };
        let core = Arc::new(Core::new(config));
        let raft::Started { raft, log } = raft::start(core.clone(), ensemble.clone()).await?;
        // ZooKeeper's `initializeNextSessionId`: time in the middle bits,
        // the server id in the top byte.
        let base = ((now_millis() << 24) as u64 >> 8) as i64 | (server_id << 56);
        let forwarder = ensemble
            .as_ref()
            .map(|e| Forwarder::start(raft.clone(), core.clone(), e.links.clone()));
        let server = Arc::new(Server {
            read_only: crate::read_only::ReadOnlyMode::new(core.config.read_only_mode),
            core,
            proposer: Proposer::start(raft.clone()),
            raft,
            ensemble,
            forwarder,
            log,
            next_session: AtomicI64::new(base),
            per_ip: Default::default(),
            reconfig: Default::default(),
        });
        if let Some(listener) = peer_listener {
            tokio::spawn(crate::peer::service::serve(server.clone(), listener));
            tokio::spawn(crate::peer::duties::run(server.clone()));
            tokio::spawn(crate::read_only::run(server.clone()));
            tokio::spawn(crate::reconfig::formation::run(server.clone()));
        }
        Ok(server)
    }

    /// Whether this server leads (always, standalone).
    pub fn is_leader(&self) -> bool {
        self.ensemble.is_none()
            || self.raft.metrics().borrow().state == openraft::ServerState::Leader
    }

    /// What `srvr` calls this server's mode.
    pub fn mode(&self) -> &'static str {
        let Some(ensemble) = &self.ensemble else {
            return "standalone";
        };
        if self.read_only.is_active() {
            return "read-only";
        }
        if crate::reconfig::is_observer(self, ensemble.me) {
            return "observer";
        }
        match self.raft.metrics().borrow().state {
            openraft::ServerState::Leader => "leader",
            _ => "follower",
        }
    }

    /// What `mntr` shows on the leader of an ensemble.
    pub fn leader_stats(&self) -> Option<crate::four_letter::format::LeaderStats> {
        let ensemble = self.ensemble.as_ref()?;
        if !self.is_leader() {
            return None;
        }
        let metrics = self.raft.metrics().borrow().clone();
        let last = metrics.last_log_index.unwrap_or(0);
        let mut stats = crate::four_letter::format::LeaderStats::default();
        for (id, matched) in metrics.replication.iter().flatten() {
            if *id == ensemble.me {
                continue;
            }
            stats.learners += 1;
            let synced = matched.is_some_and(|m| m.index + SYNCED_LAG >= last);
            match (synced, crate::reconfig::is_observer(self, *id)) {
                (true, true) => stats.synced_observers += 1,
                (true, false) => stats.synced_followers += 1,
                _ => {}
            }
        }
        Some(stats)
    }

    /// Whether clients may be served: standalone always; in an ensemble
    /// while a leader is known (a server cut off from the quorum stops).
    pub fn has_quorum(&self) -> bool {
        let Some(ensemble) = &self.ensemble else {
            return true;
        };
        if !self.reconfig.is_member() {
            return false;
        }
        // A few heartbeats, more than an election timeout (raft.* keys).
        let lease = ensemble.election.timings().lease();
        let metrics = self.raft.metrics();
        let m = metrics.borrow();
        match m.state {
            // A leader cut off from its followers does not know it was
            // replaced: it leads only while a quorum acknowledges it.
            openraft::ServerState::Leader => m
                .millis_since_quorum_ack
                .is_some_and(|ms| u128::from(ms) <= lease.as_millis()),
            // A follower cut off from its leader still names it (it does
            // not stand without winning a pre-vote): it follows only while
            // it hears from it.
            _ => m.current_leader.is_some() && ensemble.election.leader_heard_within(lease),
        }
    }

    /// As the leader: proposes writes a follower forwarded, in order.
    pub fn propose_forwarded(&self, txns: Vec<Txn>) -> Result<Vec<WriteReceiver>, String> {
        if !self.is_leader() {
            return Err("not the leader".into());
        }
        txns.into_iter()
            .map(|txn| self.proposer.propose(txn).map_err(|e| format!("{e:?}")))
            .collect()
    }

    /// A zxid covering every write committed before this call (the leader
    /// confirms it still leads first), for `sync`.
    pub async fn read_index(&self) -> Result<i64, String> {
        if !self.is_leader() {
            return Err("not the leader".into());
        }
        self.raft
            .ensure_linearizable()
            .await
            .map_err(|e| e.to_string())?;
        Ok(self.core.last_zxid())
    }

    /// Waits until this server has applied every write committed before
    /// the call, asking the leader where that is (`sync`).
    pub async fn sync_with_leader(&self) -> Result<(), ErrorCode> {
        let Some(ensemble) = &self.ensemble else {
            return Ok(());
        };
        let zxid = if self.is_leader() {
            self.read_index()
                .await
                .map_err(|_| ErrorCode::ConnectionLoss)?
        } else {
            let addr =
                crate::peer::forward::leader_addr(&self.raft).ok_or(ErrorCode::ConnectionLoss)?;
            let request = crate::storage::pb::peer_request::Body::ReadIndex(Default::default());
            match ensemble
                .links
                .get(&addr)
                .call(request, Duration::from_secs(10))
                .await
            {
                Ok(crate::storage::pb::peer_reply::Body::ReadIndex(r)) => r.zxid,
                _ => return Err(ErrorCode::ConnectionLoss),
            }
        };
        self.core.wait_applied(zxid).await;
        Ok(())
    }

    pub fn new_session_id(&self) -> i64 {
        self.next_session.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// Appends a txn to the log. Calls made in order are applied in order.
    pub fn propose(
        &self,
        session_id: i64,
        auth: Vec<Id>,
        op: TxnOp,
    ) -> Result<WriteReceiver, ErrorCode> {
        if !self.has_quorum() {
            return Err(ErrorCode::ConnectionLoss);
        }
        if self.log.unwritable.load(Ordering::Relaxed) {
            // The disk refuses writes (full?): fail fast instead of queueing.
            return Err(ErrorCode::SystemError);
        }
        let txn = Txn {
            session_id,
            time: now_millis(),
            auth,
            op,
        };
        match &self.forwarder {
            Some(forwarder) if !self.is_leader() => forwarder.forward(txn),
            _ => self.proposer.propose(txn),
        }
    }

    /// Proposes and waits for the outcome.
    pub async fn write(&self, session_id: i64, op: TxnOp) -> Result<TxnOutcome, ErrorCode> {
        let rx = self.propose(session_id, Vec::new(), op)?;
        outcome(rx).await
    }

    fn admit(&self, ip: IpAddr) -> bool {
        let max = self.core.config.max_client_cnxns;
        let mut per_ip = self.per_ip.lock();
        let count = per_ip.entry(ip).or_insert(0);
        if max > 0 && *count >= max {
            return false;
        }
        *count += 1;
        true
    }

    pub(crate) fn release(&self, ip: IpAddr) {
        let mut per_ip = self.per_ip.lock();
        if let Some(count) = per_ip.get_mut(&ip) {
            *count -= 1;
            if *count == 0 {
                per_ip.remove(&ip);
            }
        }
    }

    /// Accepts clients until `shutdown` resolves.
    pub async fn serve(
        self: Arc<Self>,
        listener: TcpListener,
        shutdown: impl Future<Output = ()>,
    ) -> anyhow::Result<()> {
        let local = listener.local_addr()?;
        info!(%local, "serving clients");
        tokio::spawn(expire_sessions(self.clone()));
        tokio::spawn(raft::trigger_snapshots(
            self.raft.clone(),
            self.core.clone(),
            self.log.appended_bytes.clone(),
        ));
        tokio::spawn(reap_containers(self.clone()));
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                accepted = listener.accept() => {
                    let (stream, peer) = match accepted {
                        Ok(a) => a,
                        Err(e) => {
                            warn!(error = %e, "accept failed");
                            tokio::time::sleep(Duration::from_millis(50)).await;
                            continue;
                        }
                    };
                    self.spawn_connection(stream, peer);
                }
                _ = &mut shutdown => break,
            }
        }
        info!("shutting down");
        match tokio::time::timeout(RAFT_SHUTDOWN_GRACE, self.raft.shutdown()).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => warn!(error = %e, "raft shutdown"),
            // Raft waits for a log write that the disk keeps refusing. What
            // was acknowledged is on disk already; stopping now is a crash
            // as far as the log is concerned, and recovery handles those.
            Err(_) => warn!(
                grace_ms = RAFT_SHUTDOWN_GRACE.as_millis() as u64,
                "raft did not stop in time (the log cannot be written); exiting without it"
            ),
        }
        Ok(())
    }

    fn spawn_connection(self: &Arc<Self>, stream: tokio::net::TcpStream, peer: SocketAddr) {
        if !self.admit(peer.ip()) {
            warn!(%peer, max = self.core.config.max_client_cnxns,
                "too many connections from this address; closing");
            return;
        }
        let _ = stream.set_nodelay(true);
        let server = self.clone();
        tokio::spawn(async move {
            connection::serve(server.clone(), stream, peer).await;
            server.release(peer.ip());
        });
    }
}

/// Waits for a proposed txn's outcome.
pub async fn outcome(rx: WriteReceiver) -> Result<TxnOutcome, ErrorCode> {
    rx.await.map_err(|_| ErrorCode::ConnectionLoss)
}

/// Closes sessions not heard from within their timeout (the leader's duty).
async fn expire_sessions(server: Arc<Server>) {
    let period = (server.core.config.tick_time / 2).max(Duration::from_millis(10));
    let mut ticker = tokio::time::interval(period);
    let mut was_leader = false;
    loop {
        ticker.tick().await;
        let leader = server.is_leader();
        if leader && !was_leader {
            // Touches went to the previous leader: every session gets a
            // full timeout from now.
            server.core.sessions.lock().restart_liveness(Instant::now());
        }
        was_leader = leader;
        if !leader {
            continue;
        }
        let expired = {
            let tree = server.core.tree.read();
            server
                .core
                .sessions
                .lock()
                .take_expired(&tree, Instant::now())
        };
        for session in expired {
            info!(session = format_args!("0x{session:x}"), "session expired");
            let closed = server
                .write(session, TxnOp::CloseSession { expired: true })
                .await;
            if closed.is_err() {
                server.core.sessions.lock().close_failed(session);
            }
        }
    }
}

/// Deletes empty containers (that once had children) and expired TTL
/// nodes, as ZooKeeper's `ContainerManager` does.
async fn reap_containers(server: Arc<Server>) {
    let config = &server.core.config;
    let mut ticker = tokio::time::interval(config.container_check_interval);
    ticker.tick().await;
    loop {
        ticker.tick().await;
        if !server.is_leader() {
            continue;
        }
        let now = now_millis();
        let candidates: Vec<String> = {
            let tree = server.core.tree.read();
            let containers = tree.containers().filter(|p| {
                tree.get(p)
                    .is_some_and(|n| n.stat.cversion > 0 && n.children.is_empty())
            });
            let ttls = tree.ttl_nodes().filter(|p| {
                tree.get(p).is_some_and(|n| {
                    let ttl = crate::tree::ttl_of(n.stat.ephemeral_owner).unwrap_or(i64::MAX);
                    n.children.is_empty() && now - n.stat.mtime > ttl
                })
            });
            containers
                .chain(ttls)
                .take(config.container_max_per_minute as usize)
                .cloned()
                .collect()
        };
        for p in candidates {
            let _ = server.write(0, TxnOp::DeleteContainer(p)).await;
        }
    }
}
