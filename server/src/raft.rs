//! The openraft adapter: type config, the state machine that applies txns
//! to the shared [`Core`] and snapshots it, and the network of a one-member
//! group. Standalone mode is a Raft group of one, so the write path is the
//! same as in an ensemble; the log lives on disk ([`crate::storage::log`]).

use crate::core::Core;
use crate::storage::log::DiskLog;
use crate::storage::snapshot::{self, SnapshotInfo};
use crate::storage::Layout;
use crate::txn::{TxnBatch, TxnOutcome};
use openraft::storage::{RaftStateMachine, Snapshot};
use openraft::{
    BasicNode, Entry, EntryPayload, ErrorSubject, ErrorVerb, LogId, RaftSnapshotBuilder,
    SnapshotMeta, StorageError, StoredMembership,
};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tracing::info;

openraft::declare_raft_types!(
    /// Corral's Raft types: log entries carry batches of txns, applying one
    /// yields an outcome per txn, snapshots are files.
    pub TypeConfig:
        D = TxnBatch,
        R = Vec<TxnOutcome>,
        SnapshotData = tokio::fs::File,
        AsyncRuntime = crate::raft_runtime::CorralRuntime,
);

pub type Raft = openraft::Raft<TypeConfig>;
pub type NodeId = u64;

fn snapshot_error(verb: ErrorVerb, e: impl Into<std::io::Error>) -> StorageError<NodeId> {
    StorageError::from_io_error(ErrorSubject::Snapshot(None), verb, e.into())
}

/// Applies committed entries to the shared tree.
pub struct StateMachine {
    core: Arc<Core>,
    info: SnapshotInfo,
    dir: PathBuf,
    retain: usize,
}

impl StateMachine {
    /// A state machine starting from `info` (the tree is already in `core`).
    pub fn new(core: Arc<Core>, info: SnapshotInfo, dir: PathBuf, retain: usize) -> StateMachine {
        StateMachine {
            core,
            info,
            dir,
            retain,
        }
    }

    async fn open_snapshot(
        &self,
        index: u64,
        path: PathBuf,
    ) -> Result<Snapshot<TypeConfig>, StorageError<NodeId>> {
        let file = tokio::fs::File::open(&path)
            .await
            .map_err(|e| snapshot_error(ErrorVerb::Read, e))?;
        let info = snapshot::read_info(&path)
            .map_err(|e| snapshot_error(ErrorVerb::Read, std::io::Error::other(e)))?;
        Ok(Snapshot {
            meta: SnapshotMeta {
                last_log_id: info.last_applied,
                last_membership: info.membership,
                snapshot_id: format!("{index}"),
            },
            snapshot: Box::new(file),
        })
    }
}

/// Writes a snapshot of a tree captured at `info` (an O(1) clone).
pub struct SnapshotBuilder {
    core: Arc<Core>,
    tree: crate::tree::DataTree,
    info: SnapshotInfo,
    dir: PathBuf,
    retain: usize,
}

impl RaftSnapshotBuilder<TypeConfig> for SnapshotBuilder {
    async fn build_snapshot(&mut self) -> Result<Snapshot<TypeConfig>, StorageError<NodeId>> {
        let started = Instant::now();
        let tree = self.tree.clone();
        let info = self.info.clone();
        let dir = self.dir.clone();
        // A failed snapshot (full disk) is retried rather than reported:
        // openraft treats storage errors as fatal, and the log keeps
        // everything the snapshot would have covered.
        let path = tokio::task::spawn_blocking(move || {
            let mut delay = Duration::from_millis(100);
            loop {
                match snapshot::write(&dir, &tree, &info) {
                    Ok(path) => return path,
                    Err(e) => {
                        tracing::error!(error = %e, "snapshot failed; retrying");
                        snapshot::retain(&dir, usize::MAX);
                        std::thread::sleep(delay);
                        delay = (delay * 2).min(Duration::from_secs(5));
                    }
                }
            }
        })
        .await
        .map_err(|e| snapshot_error(ErrorVerb::Write, std::io::Error::other(e)))?;
        snapshot::retain(&self.dir, self.retain);
        crate::admin::metrics::snapshot_done(started.elapsed());
        let size = remember_snapshot_size(&self.core, &path);
        info!(
            file = %path.display(),
            nodes = self.tree.node_count(),
            bytes = size,
            ms = started.elapsed().as_millis() as u64,
            "snapshot written"
        );
        let file = tokio::fs::File::open(&path)
            .await
            .map_err(|e| snapshot_error(ErrorVerb::Read, e))?;
        Ok(Snapshot {
            meta: SnapshotMeta {
                last_log_id: self.info.last_applied,
                last_membership: self.info.membership.clone(),
                snapshot_id: format!("{}", self.info.last_applied.map_or(0, |l| l.index)),
            },
            snapshot: Box::new(file),
        })
    }
}

impl RaftStateMachine<TypeConfig> for StateMachine {
    type SnapshotBuilder = SnapshotBuilder;

    async fn applied_state(
        &mut self,
    ) -> Result<(Option<LogId<NodeId>>, StoredMembership<NodeId, BasicNode>), StorageError<NodeId>>
    {
        Ok((self.info.last_applied, self.info.membership.clone()))
    }

    async fn apply<I>(&mut self, entries: I) -> Result<Vec<Vec<TxnOutcome>>, StorageError<NodeId>>
    where
        I: IntoIterator<Item = Entry<TypeConfig>> + Send,
        I::IntoIter: Send,
    {
        let mut out = Vec::new();
        for entry in entries {
            self.info.last_applied = Some(entry.log_id);
            match entry.payload {
                EntryPayload::Normal(batch) => out.push(self.core.apply(&batch.0)),
                EntryPayload::Blank => out.push(Vec::new()),
                EntryPayload::Membership(m) => {
                    self.info.membership = StoredMembership::new(Some(entry.log_id), m);
                    out.push(Vec::new());
                }
            }
        }
        Ok(out)
    }

    async fn get_snapshot_builder(&mut self) -> Self::SnapshotBuilder {
        self.core
            .txns_since_snapshot
            .store(0, std::sync::atomic::Ordering::Relaxed);
        SnapshotBuilder {
            core: self.core.clone(),
            tree: self.core.tree.read().clone(),
            info: self.info.clone(),
            dir: self.dir.clone(),
            retain: self.retain,
        }
    }

    async fn begin_receiving_snapshot(
        &mut self,
    ) -> Result<Box<tokio::fs::File>, StorageError<NodeId>> {
        tokio::fs::create_dir_all(&self.dir)
            .await
            .map_err(|e| snapshot_error(ErrorVerb::Write, e))?;
        let file = tokio::fs::File::create(self.dir.join("incoming.tmp"))
            .await
            .map_err(|e| snapshot_error(ErrorVerb::Write, e))?;
        Ok(Box::new(file))
    }

    async fn install_snapshot(
        &mut self,
        meta: &SnapshotMeta<NodeId, BasicNode>,
        snapshot: Box<tokio::fs::File>,
    ) -> Result<(), StorageError<NodeId>> {
        let mut file = snapshot.into_std().await;
        snapshot::flush_received(&mut file).map_err(|e| snapshot_error(ErrorVerb::Write, e))?;
        let index = meta.last_log_id.map_or(0, |l| l.index);
        let path = self.dir.join(snapshot::file_name(index));
        std::fs::rename(self.dir.join("incoming.tmp"), &path)
            .map_err(|e| snapshot_error(ErrorVerb::Write, e))?;
        let (tree, info) = snapshot::read(&path)
            .map_err(|e| snapshot_error(ErrorVerb::Read, std::io::Error::other(e)))?;
        info!(
            index,
            nodes = tree.node_count(),
            "snapshot installed from the leader"
        );
        remember_snapshot_size(&self.core, &path);
        self.core.replace_tree(tree);
        self.info = info;
        Ok(())
    }

    async fn get_current_snapshot(
        &mut self,
    ) -> Result<Option<Snapshot<TypeConfig>>, StorageError<NodeId>> {
        let newest = snapshot::list(&self.dir)
            .map_err(|e| snapshot_error(ErrorVerb::Read, e))?
            .into_iter()
            .next();
        match newest {
            Some((index, path)) => Ok(Some(self.open_snapshot(index, path).await?)),
            None => Ok(None),
        }
    }
}

/// The network of a one-member group: there is nobody to talk to.
pub struct NoPeers;

impl openraft::RaftNetworkFactory<TypeConfig> for NoPeers {
    type Network = NoPeers;

    async fn new_client(&mut self, _target: NodeId, _node: &BasicNode) -> NoPeers {
        NoPeers
    }
}

fn unreachable<E: std::error::Error>(
) -> openraft::error::RPCError<NodeId, BasicNode, openraft::error::RaftError<NodeId, E>> {
    openraft::error::RPCError::Unreachable(openraft::error::Unreachable::new(&std::io::Error::new(
        std::io::ErrorKind::NotConnected,
        "standalone server has no peers",
    )))
}

impl openraft::RaftNetwork<TypeConfig> for NoPeers {
    async fn append_entries(
        &mut self,
        _rpc: openraft::raft::AppendEntriesRequest<TypeConfig>,
        _option: openraft::network::RPCOption,
    ) -> Result<
        openraft::raft::AppendEntriesResponse<NodeId>,
        openraft::error::RPCError<NodeId, BasicNode, openraft::error::RaftError<NodeId>>,
    > {
        Err(unreachable())
    }

    async fn install_snapshot(
        &mut self,
        _rpc: openraft::raft::InstallSnapshotRequest<TypeConfig>,
        _option: openraft::network::RPCOption,
    ) -> Result<
        openraft::raft::InstallSnapshotResponse<NodeId>,
        openraft::error::RPCError<
            NodeId,
            BasicNode,
            openraft::error::RaftError<NodeId, openraft::error::InstallSnapshotError>,
        >,
    > {
        Err(unreachable())
    }

    async fn vote(
        &mut self,
        _rpc: openraft::raft::VoteRequest<NodeId>,
        _option: openraft::network::RPCOption,
    ) -> Result<
        openraft::raft::VoteResponse<NodeId>,
        openraft::error::RPCError<NodeId, BasicNode, openraft::error::RaftError<NodeId>>,
    > {
        Err(unreachable())
    }
}

/// Records the size of `path`, the snapshot now newest (written, loaded
/// or installed), for [`snapshot_due`]; returns it.
fn remember_snapshot_size(core: &Core, path: &std::path::Path) -> u64 {
    let size = std::fs::metadata(path).map_or(0, |m| m.len());
    core.snapshot_bytes
        .store(size, std::sync::atomic::Ordering::Relaxed);
    size
}

/// The newest snapshot that reads back whole (its tree and file), and the
/// errors of the newer ones that did not.
fn load_newest_snapshot(
    dir: &std::path::Path,
) -> (
    Option<(crate::tree::DataTree, PathBuf)>,
    SnapshotInfo,
    Vec<snapshot::SnapshotError>,
) {
    let mut skipped = Vec::new();
    for (_, path) in snapshot::list(dir).unwrap_or_default() {
        match snapshot::read(&path) {
            Ok((tree, info)) => {
                info!(file = %path.display(), nodes = tree.node_count(), "snapshot loaded");
                return (Some((tree, path)), info, skipped);
            }
            Err(e) => {
                tracing::error!(error = %e, "snapshot unusable; trying an older one");
                skipped.push(e);
            }
        }
    }
    (None, SnapshotInfo::default(), skipped)
}

/// A snapshot waits until the log written since the last one is at least
/// this fraction (1/N) of that snapshot's size.
const SNAPSHOT_TO_LOG_RATIO: u64 = 2;

/// Whether a snapshot is due: `txns` applied and `log_bytes` logged since
/// the last one, which was `snapshot_bytes` long.
fn snapshot_due(txns: u64, snap_count: u64, log_bytes: u64, snapshot_bytes: u64) -> bool {
    txns >= snap_count && log_bytes >= snapshot_bytes / SNAPSHOT_TO_LOG_RATIO
}

/// Takes a snapshot once `snapCount` txns were applied since the last one
/// (openraft's own policy counts log entries, which are batches) and the log
/// written meanwhile is at least half the size of the last snapshot. The
/// second condition keeps a large tree from being rewritten in full every
/// `snapCount` small txns: snapshot I/O stays within twice the log's, and a
/// restart replays at most that much log after the snapshot.
///
/// Purges the log up to the previous snapshot: a damaged newest snapshot can
/// still be replaced by the one before it plus the log.
pub async fn trigger_snapshots(raft: Raft, core: Arc<Core>, log_bytes: Arc<AtomicU64>) {
    use std::sync::atomic::Ordering::Relaxed;
    let snap_count = core.config.snap_count.max(1);
    let newest = |raft: &Raft| raft.metrics().borrow().snapshot.map(|l| l.index);
    let mut previous = newest(&raft);
    let mut log_bytes_at_snapshot = log_bytes.load(Relaxed);
    let mut ticker = tokio::time::interval(Duration::from_millis(200));
    loop {
        ticker.tick().await;
        let due = snapshot_due(
            core.txns_since_snapshot.load(Relaxed),
            snap_count,
            log_bytes.load(Relaxed) - log_bytes_at_snapshot,
            core.snapshot_bytes.load(Relaxed),
        );
        if due {
            if raft.trigger().snapshot().await.is_err() {
                return;
            }
            log_bytes_at_snapshot = log_bytes.load(Relaxed);
        }
        let current = newest(&raft);
        if current > previous {
            if let Some(upto) = previous {
                if raft.trigger().purge_log(upto).await.is_err() {
                    return;
                }
            }
            previous = current;
        }
    }
}

/// What recovery found, for the start-up log line and the caller.
pub struct Started {
    pub raft: Raft,
    pub log: DiskLog,
}

/// The members of an ensemble, as zoo.cfg's `server.N` lines give them.
#[derive(Clone)]
pub struct Ensemble {
    /// This server's id (`myid`).
    pub me: NodeId,
    /// Voting members and their quorum addresses.
    pub voters: BTreeMap<NodeId, BasicNode>,
    /// Observers: Raft learners that serve clients but never vote.
    pub observers: BTreeMap<NodeId, BasicNode>,
    pub links: crate::peer::Links,
    /// Our election timer with pre-vote (openraft's own is off).
    pub election: Arc<crate::peer::Election>,
}

impl Ensemble {
    /// openraft's heartbeat and election timeout range (ms). Its election
    /// timer is off ([`crate::peer::prevote`] runs ours); what is left of
    /// the range is its leader lease, `max`: a voter refuses a candidate
    /// while it heard from its leader within that time. It is our pre-vote
    /// threshold, so a candidate that won the pre-vote is not refused for
    /// it. openraft also uses the heartbeat interval as the timeout of
    /// every append-entries call; [`crate::raft_runtime`] raises that to
    /// `raft.electionTimeoutMaxMs`.
    pub fn raft_timeouts(&self) -> (u64, u64, u64) {
        let t = self.election.timings();
        let ms = |d: Duration| d.as_millis() as u64;
        let (heartbeat, lease) = (ms(t.heartbeat), ms(t.election_timeout_min));
        (heartbeat, (heartbeat + lease) / 2, lease)
    }

    pub fn from_config(config: &crate::config::ServerConfig) -> Option<Ensemble> {
        if config.servers.len() < 2 {
            return None;
        }
        let mut voters = BTreeMap::new();
        let mut observers = BTreeMap::new();
        for peer in &config.servers {
            let host = if peer.host.contains(':') {
                format!("[{}]", peer.host)
            } else {
                peer.host.clone()
            };
            let node = BasicNode::new(format!("{host}:{}", peer.peer_port));
            if peer.observer {
                observers.insert(peer.id, node);
            } else {
                voters.insert(peer.id, node);
            }
        }
        Some(Ensemble {
            me: config.server_id,
            voters,
            observers,
            links: Default::default(),
            election: Arc::new(crate::peer::Election::new(config.raft)),
        })
    }
}

/// Recovers the newest snapshot and the log after it and starts Raft with
/// `core` as its state machine. Standalone (`ensemble` is `None`): a
/// one-member group, waiting until every entry on disk is applied, so the
/// first client reads everything acknowledged before. In an ensemble, the
/// voters form the group on first start; the rest comes from the leader.
pub async fn start(core: Arc<Core>, ensemble: Option<Ensemble>) -> anyhow::Result<Started> {
    let started = Instant::now();
    let config = &core.config;
    let layout = Layout::new(&config.data_dir, &config.data_log_dir);
    std::fs::create_dir_all(&layout.snapshot_dir)?;
    snapshot::retain(
        &layout.snapshot_dir,
        config.autopurge_snap_retain_count as usize,
    );

    let (tree, info, skipped) = load_newest_snapshot(&layout.snapshot_dir);
    let log = DiskLog::open(
        &layout.log_dir,
        &layout.vote_file,
        config.truncate_corrupt_log,
    )?;
    // The log must hold every entry after the snapshot we start from.
    let base = info.last_applied.map(|l| l.index);
    if log.last_purged_index() > base {
        return Err(match skipped.into_iter().next() {
            Some(e) => anyhow::anyhow!(e),
            None => anyhow::anyhow!(
                "the log is purged past every snapshot in {}; refusing to start",
                layout.snapshot_dir.display()
            ),
        });
    }
    for e in &skipped {
        if let snapshot::SnapshotError::Corrupt { path, .. }
        | snapshot::SnapshotError::Undecodable { path, .. } = e
        {
            let aside = path.with_extension("corrupt");
            tracing::warn!(file = %aside.display(), "damaged snapshot set aside");
            let _ = std::fs::rename(path, aside);
        }
    }
    match tree {
        Some((tree, path)) => {
            remember_snapshot_size(&core, &path);
            core.replace_tree(tree);
        }
        None if log.last_index().is_none() => log.clear_vote()?,
        None => {}
    }
    let last_index = log.last_index();

    let (heartbeat, election_min, election_max) = match &ensemble {
        None => (50, 100, 150),
        Some(e) => e.raft_timeouts(),
    };
    if let Some(e) = &ensemble {
        crate::raft_runtime::set_min_rpc_timeout(e.election.timings().election_timeout_max);
    }
    let raft_config = openraft::Config {
        cluster_name: "corral".into(),
        heartbeat_interval: heartbeat,
        election_timeout_min: election_min,
        election_timeout_max: election_max,
        // Snapshots are triggered by txn count ([`trigger_snapshots`]).
        snapshot_policy: openraft::SnapshotPolicy::Never,
        // Purged by [`trigger_snapshots`] instead, back to the previous
        // snapshot (openraft's own count is in entries, which are batches).
        max_in_snapshot_log_to_keep: u64::MAX,
        purge_batch_size: 256,
        // A lone voter elects itself; an ensemble's voters stand through
        // our pre-vote.
        enable_elect: ensemble.is_none(),
        ..Default::default()
    };
    let raft_config = Arc::new(raft_config.validate()?);
    let state_machine = StateMachine::new(
        core.clone(),
        info,
        layout.snapshot_dir.clone(),
        config.autopurge_snap_retain_count as usize,
    );
    let Some(ensemble) = ensemble else {
        let raft = Raft::new(1, raft_config, NoPeers, log.clone(), state_machine).await?;
        return finish_standalone(raft, log, core, last_index, started).await;
    };
    let network = ensemble.links.clone();
    let raft = Raft::new(
        ensemble.me,
        raft_config,
        network,
        log.clone(),
        state_machine,
    )
    .await?;
    ensemble.election.start(
        ensemble.me,
        raft.clone(),
        log.clone(),
        ensemble.links.clone(),
    );
    // A pristine server forms the group (or waits to be added to one)
    // once its peer service answers: `crate::reconfig::formation`.
    crate::memory::return_free_pages();
    info!(
        id = ensemble.me,
        nodes = core.tree.read().node_count(),
        last_zxid = core.last_zxid(),
        ms = started.elapsed().as_millis() as u64,
        "recovered; joining the ensemble"
    );
    Ok(Started { raft, log })
}

async fn finish_standalone(
    raft: Raft,
    log: DiskLog,
    core: Arc<Core>,
    last_index: Option<u64>,
    started: Instant,
) -> anyhow::Result<Started> {
    if !raft.is_initialized().await? {
        let mut members = BTreeMap::new();
        members.insert(1, BasicNode::default());
        raft.initialize(members).await?;
    }
    let wait = Duration::from_secs(60);
    raft.wait(Some(wait))
        .state(openraft::ServerState::Leader, "standalone node leads")
        .await?;
    if let Some(index) = last_index {
        raft.wait(Some(wait))
            .applied_index_at_least(Some(index), "recovered log applied")
            .await?;
    }
    crate::memory::return_free_pages();
    info!(
        nodes = core.tree.read().node_count(),
        last_zxid = core.last_zxid(),
        ms = started.elapsed().as_millis() as u64,
        "recovered"
    );
    Ok(Started { raft, log })
}

#[cfg(test)]
mod tests {
    use super::snapshot_due;

    #[test]
    fn a_snapshot_needs_snap_count_txns() {
        assert!(!snapshot_due(99_999, 100_000, 1 << 30, 0));
        assert!(snapshot_due(100_000, 100_000, 0, 0));
    }

    #[test]
    fn a_large_tree_waits_for_half_its_snapshot_in_log() {
        let snapshot = 400 << 20;
        assert!(!snapshot_due(1_000_000, 100_000, (200 << 20) - 1, snapshot));
        assert!(snapshot_due(1_000_000, 100_000, 200 << 20, snapshot));
        // small trees keep ZooKeeper's cadence: every snapCount txns
        assert!(snapshot_due(100_000, 100_000, 20 << 20, 10 << 20));
    }
}
