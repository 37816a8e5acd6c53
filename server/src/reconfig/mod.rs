//! Membership changes at run time: ZooKeeper's `reconfig` (opcode 16),
//! allowed with `reconfigEnabled=true`.
//!
//! The configuration lives in the `/zookeeper/config` znode, in ZooKeeper's
//! text ([`DynamicConfig`]), written only by [`TxnOp::SetConfig`] txns: it
//! is replicated, snapshotted and recovered like any znode, and it is the
//! membership the ensemble should have. openraft's membership (voters and
//! learners with their quorum addresses, kept in its log and snapshots)
//! follows it ([`membership`]). A reconfig runs on the leader (followers
//! forward it): checks as ZooKeeper's `PrepRequestProcessor`, brings new
//! servers in as learners until they caught up (else NewConfigNoQuorum),
//! commits the new text, then changes openraft's voters and removes the
//! servers that left. The client hears the outcome of the txn: a
//! `GetDataResponse` with the new text and the znode's stat.

pub mod formation;
pub mod membership;

use crate::auth;
use crate::config::dynamic::DynamicConfig;
use crate::config::PeerEntry;
use crate::server::Server;
use crate::storage::pb::{self, peer_reply, peer_request};
use crate::tree::{Change, DataTree};
use crate::txn::{TxnOp, TxnOutcome};
use bytes::Bytes;
use corral_protocol::{perms, Encode, ErrorCode, GetDataResponse, Id, ReconfigRequest};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::oneshot;
use tracing::{info, warn};

/// `ZooDefs.CONFIG_NODE`.
pub const CONFIG_NODE: &str = "/zookeeper/config";

/// How long a follower waits for the leader to carry out a reconfig.
const FORWARD_TIMEOUT: Duration = Duration::from_secs(60);

/// What a server keeps of reconfig.
#[derive(Default)]
pub struct State {
    /// Held while a reconfig or a membership change runs (one at a time:
    /// ReconfigInProgress).
    pub busy: tokio::sync::Mutex<()>,
    /// Set when the committed configuration no longer names this server:
    /// it was removed, and stops serving (as ZooKeeper's does).
    removed: AtomicBool,
}

impl State {
    pub fn is_member(&self) -> bool {
        !self.removed.load(Ordering::Relaxed)
    }
}

/// Notes whether the committed configuration still names this server
/// (run on every tick of an ensemble member's duties).
pub fn check_membership(server: &Server) {
    let me = server.core.config.server_id;
    let removed = match committed(&server.core.tree.read()) {
        Some((Ok(config), _)) => !config.members.contains_key(&me),
        _ => false,
    };
    let was = server.reconfig.removed.swap(removed, Ordering::Relaxed);
    if removed && !was {
        warn!(
            me,
            "this server is not in the committed configuration; it does not serve"
        );
    } else if was && !removed {
        info!(me, "this server is in the configuration again");
    }
}

/// Why a reconfig was refused, with ZooKeeper's code for each.
#[derive(Debug, thiserror::Error)]
pub enum ReconfigError {
    #[error("reconfig is disabled (reconfigEnabled=false)")]
    Disabled,
    #[error("reconfig needs an ensemble; this server is standalone")]
    Standalone,
    #[error("another reconfig is in progress")]
    InProgress,
    #[error("reconfiguration from version {given:x} failed: the current version is {current:x}")]
    BadVersion { given: i64, current: i64 },
    #[error("{0}")]
    BadArguments(String),
    #[error("not allowed to write {CONFIG_NODE}")]
    NoAuth,
    #[error("no quorum of the new configuration is connected and synced: {0}")]
    NoQuorum(String),
    /// Not the leader any more, the leader unreachable, the log refusing.
    #[error("{0}")]
    Unavailable(String),
}

impl ReconfigError {
    pub fn code(&self) -> ErrorCode {
        match self {
            ReconfigError::Disabled => ErrorCode::ReconfigDisabled,
            ReconfigError::Standalone => ErrorCode::Unimplemented,
            ReconfigError::InProgress => ErrorCode::ReconfigInProgress,
            ReconfigError::BadVersion { .. } => ErrorCode::BadVersion,
            ReconfigError::BadArguments(_) => ErrorCode::BadArguments,
            ReconfigError::NoAuth => ErrorCode::NoAuth,
            ReconfigError::NoQuorum(_) => ErrorCode::NewConfigNoQuorum,
            ReconfigError::Unavailable(_) => ErrorCode::ConnectionLoss,
        }
    }
}

/// Applies a [`TxnOp::SetConfig`]: the text plus `version=<zxid>`, with
/// the stat ZooKeeper gives it (mzxid = the version, version -1).
pub fn apply_config(
    tree: &mut DataTree,
    zxid: i64,
    time: i64,
    members: &str,
    expected_version: i64,
    changes: &mut Vec<Change>,
) -> TxnOutcome {
    let Some(node) = tree.get(CONFIG_NODE) else {
        return TxnOutcome::error(zxid, ErrorCode::NoNode);
    };
    if expected_version != -1 && expected_version != node.stat.mzxid {
        return TxnOutcome::error(zxid, ErrorCode::BadVersion);
    }
    let data = format!("{members}version={zxid:x}").into_bytes();
    let stat = tree.set_data(
        CONFIG_NODE,
        Some(Bytes::from(data.clone())),
        -1,
        zxid,
        time,
        changes,
    );
    TxnOutcome {
        zxid,
        err: None,
        body: GetDataResponse {
            data: Some(data),
            stat,
        }
        .to_bytes(),
    }
}

/// Empties `/zookeeper/config` as a new tree has it (an imported
/// ZooKeeper tree holds ZooKeeper's ensemble, which is not ours: read as
/// ours, it would make the leader change the membership to it).
pub fn forget_config(tree: &mut DataTree) {
    if committed(tree).is_some() {
        tree.set_data(CONFIG_NODE, Some(Bytes::new()), 0, 0, 0, &mut Vec::new());
    }
}

/// The configuration in `/zookeeper/config` and its version (the node's
/// mzxid); `None` while the node is still empty (a new ensemble whose
/// leader has not written it yet).
pub fn committed(tree: &DataTree) -> Option<(Result<DynamicConfig, String>, i64)> {
    let node = tree.get(CONFIG_NODE)?;
    let data = node.data.as_ref().filter(|d| !d.is_empty())?;
    let text = String::from_utf8_lossy(data);
    Some((DynamicConfig::parse(&text), node.stat.mzxid))
}

/// This server's zoo.cfg `server.N` lines as a configuration.
pub fn from_static(server: &Server) -> DynamicConfig {
    let config = &server.core.config;
    let client = (config.client_address.to_string(), config.client_port);
    DynamicConfig::from_static(&config.servers, config.server_id, client)
}

/// Whether server `id` is an observer: as the committed configuration
/// says, or zoo.cfg before there is one.
pub fn is_observer(server: &Server, id: u64) -> bool {
    let committed = committed(&server.core.tree.read());
    match committed {
        Some((Ok(config), _)) => config.members.get(&id).is_some_and(|p| p.observer),
        _ => server
            .ensemble
            .as_ref()
            .is_some_and(|e| e.observers.contains_key(&id)),
    }
}

/// The quorum address openraft dials for a member (`BasicNode::addr`).
pub fn quorum_addr(p: &PeerEntry) -> String {
    if p.host.contains(':') {
        format!("[{}]:{}", p.host, p.peer_port)
    } else {
        format!("{}:{}", p.host, p.peer_port)
    }
}

/// Carries out a client's reconfig (here as the leader, or forwarded to
/// it); the outcome arrives once this server has applied it too.
pub fn start(
    server: Arc<Server>,
    auth: Vec<Id>,
    request: ReconfigRequest,
) -> oneshot::Receiver<TxnOutcome> {
    let (tx, rx) = oneshot::channel();
    tokio::spawn(async move {
        let outcome = match run(&server, &auth, &request).await {
            Ok(outcome) => {
                server.core.wait_applied(outcome.zxid).await;
                outcome
            }
            Err(e) => {
                info!(error = %e, "reconfig refused");
                TxnOutcome::error(server.core.last_zxid(), e.code())
            }
        };
        let _ = tx.send(outcome);
    });
    rx
}

async fn run(
    server: &Server,
    auth: &[Id],
    request: &ReconfigRequest,
) -> Result<TxnOutcome, ReconfigError> {
    if !server.core.config.reconfig_enabled {
        return Err(ReconfigError::Disabled);
    }
    if server.ensemble.is_none() {
        return Err(ReconfigError::Standalone);
    }
    if server.is_leader() {
        execute(server, auth, request).await
    } else {
        forward(server, auth, request).await
    }
}

/// As the leader: checks the request, prepares the new members, commits
/// the new configuration and changes openraft's membership to it.
pub async fn execute(
    server: &Server,
    auth: &[Id],
    request: &ReconfigRequest,
) -> Result<TxnOutcome, ReconfigError> {
    let config = &server.core.config;
    if !config.reconfig_enabled {
        return Err(ReconfigError::Disabled);
    }
    if server.ensemble.is_none() {
        return Err(ReconfigError::Standalone);
    }
    if !server.is_leader() {
        return Err(ReconfigError::Unavailable("not the leader".into()));
    }
    let _busy = server
        .reconfig
        .busy
        .try_lock()
        .map_err(|_| ReconfigError::InProgress)?;
    let (current, version, acl) = {
        let tree = server.core.tree.read();
        let acl = tree
            .get(CONFIG_NODE)
            .map(|n| n.acl.clone())
            .unwrap_or_default();
        match committed(&tree) {
            Some((parsed, version)) => (parsed.map_err(ReconfigError::BadArguments)?, version, acl),
            None => (from_static(server), 0, acl),
        }
    };
    let given = request.cur_config_id;
    if given != -1 && given != version {
        return Err(ReconfigError::BadVersion {
            given,
            current: version,
        });
    }
    let next = if request.new_members.is_empty() {
        current.incremental(&request.joining_servers, &request.leaving_servers)
    } else {
        DynamicConfig::non_incremental(&request.new_members)
    }
    .map_err(ReconfigError::BadArguments)?;
    if config.skip_acl {
        warn!("skipACL is set: reconfig skips its ACL check");
    } else {
        auth::check(&acl, perms::WRITE, auth).map_err(|_| ReconfigError::NoAuth)?;
    }
    membership::prepare(server, &next).await?;
    let op = TxnOp::SetConfig {
        members: next.member_lines(),
        expected_version: given,
    };
    let rx = server
        .propose(0, auth.to_vec(), op)
        .map_err(|e| ReconfigError::Unavailable(format!("cannot propose: {e:?}")))?;
    let outcome = crate::server::outcome(rx)
        .await
        .map_err(|_| ReconfigError::Unavailable("the reconfig was not committed".into()))?;
    if outcome.err.is_none() {
        info!(
            version = format_args!("{:x}", outcome.zxid),
            members = %next.member_lines().trim_end().replace('\n', ", "),
            "new configuration committed"
        );
        // Once the text is committed it is the membership to reach; if
        // this fails (say this leader was removed and stepped down), the
        // next leader finishes it (`membership::reconcile`).
        if let Err(e) = membership::converge(server, &next).await {
            warn!(error = %e, "membership change left to the next leader");
        }
    }
    Ok(outcome)
}

/// As a follower: has the leader carry out the reconfig.
async fn forward(
    server: &Server,
    auth: &[Id],
    request: &ReconfigRequest,
) -> Result<TxnOutcome, ReconfigError> {
    let ensemble = server.ensemble.as_ref().ok_or(ReconfigError::Standalone)?;
    let addr = crate::peer::forward::leader_addr(&server.raft)
        .ok_or_else(|| ReconfigError::Unavailable("no leader".into()))?;
    let body = peer_request::Body::Reconfig(pb::ReconfigForward {
        joining: request.joining_servers.clone(),
        leaving: request.leaving_servers.clone(),
        new_members: request.new_members.clone(),
        cur_config_id: request.cur_config_id,
        auth: auth.iter().map(crate::storage::codec::id_to_pb).collect(),
    });
    match ensemble.links.get(&addr).call(body, FORWARD_TIMEOUT).await {
        Ok(peer_reply::Body::Reconfig(o)) => match o.err {
            0 => Ok(TxnOutcome {
                zxid: o.zxid,
                err: None,
                body: o.body.to_vec(),
            }),
            code => Ok(TxnOutcome::error(
                server.core.last_zxid(),
                ErrorCode::from_i32(code).unwrap_or(ErrorCode::SystemError),
            )),
        },
        Ok(_) => Err(ReconfigError::Unavailable(
            "the leader could not take the reconfig".into(),
        )),
        Err(e) => Err(ReconfigError::Unavailable(format!(
            "leader unreachable: {e}"
        ))),
    }
}

/// The leader's side of a forwarded reconfig (the peer service calls it).
pub async fn execute_forwarded(server: &Server, request: pb::ReconfigForward) -> pb::TxnOutcome {
    let auth: Vec<Id> = request
        .auth
        .into_iter()
        .map(crate::storage::codec::id_from_pb)
        .collect();
    let request = ReconfigRequest {
        joining_servers: request.joining,
        leaving_servers: request.leaving,
        new_members: request.new_members,
        cur_config_id: request.cur_config_id,
    };
    let outcome = match execute(server, &auth, &request).await {
        Ok(outcome) => outcome,
        Err(e) => {
            info!(error = %e, "forwarded reconfig refused");
            TxnOutcome::error(server.core.last_zxid(), e.code())
        }
    };
    pb::TxnOutcome {
        zxid: outcome.zxid,
        err: outcome.err.map_or(0, |e| e as i32),
        body: outcome.body.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use corral_protocol::{Decode, Reader};

    #[test]
    fn a_config_txn_writes_text_version_and_stat_as_zookeeper() {
        let mut tree = DataTree::new();
        let mut changes = Vec::new();
        let members = "server.1=127.0.0.1:2888:3888:participant;127.0.0.1:2181\n";
        let outcome = apply_config(&mut tree, 0x1f, 1000, members, -1, &mut changes);
        assert_eq!(outcome.err, None);
        let node = tree.get(CONFIG_NODE).unwrap();
        let text = format!("{members}version=1f");
        assert_eq!(node.data.as_deref(), Some(text.as_bytes()));
        let stat = node.stat();
        assert_eq!(
            (stat.mzxid, stat.version, stat.aversion, stat.czxid),
            (0x1f, -1, -1, 0)
        );
        let reply = GetDataResponse::decode(&mut Reader::new(&outcome.body)).unwrap();
        assert_eq!(reply.data.as_deref(), Some(text.as_bytes()));
        assert_eq!(reply.stat, stat);
        assert_eq!(changes.len(), 1, "data watches on the node fire");
        let (parsed, version) = committed(&tree).unwrap();
        assert_eq!((parsed.unwrap().members.len(), version), (1, 0x1f));

        let stale = apply_config(&mut tree, 0x20, 1000, members, 0x1e, &mut changes);
        assert_eq!(stale.err, Some(ErrorCode::BadVersion));
        let current = apply_config(&mut tree, 0x21, 1000, members, 0x1f, &mut changes);
        assert_eq!(current.err, None);

        forget_config(&mut tree);
        assert!(committed(&tree).is_none());
        let fresh = DataTree::new();
        let (a, b) = (
            tree.get(CONFIG_NODE).unwrap(),
            fresh.get(CONFIG_NODE).unwrap(),
        );
        assert_eq!((a.stat(), &a.data), (b.stat(), &b.data));
    }
}
