//! Brings openraft's membership to the committed configuration: new
//! servers become learners (observers stay learners), participants become
//! voters, servers that left are removed. The leader does it for each
//! reconfig and, in case a leader died half-way, checks it on every tick of
//! its duties ([`reconcile`]), which is also where a new ensemble's leader
//! writes the first configuration (zoo.cfg's `server.N` lines).

use super::{committed, from_static, quorum_addr, ReconfigError};
use crate::config::dynamic::DynamicConfig;
use crate::server::Server;
use crate::txn::TxnOp;
use openraft::{BasicNode, ChangeMembers};
use std::collections::BTreeSet;
use std::time::Duration;
use tracing::{debug, info, warn};

/// How long a joining server has to catch up with the leader's log.
const CATCH_UP: Duration = Duration::from_secs(15);
/// A member whose log is at most this many entries behind the leader's
/// counts as synced.
const SYNCED_LAG: u64 = 1000;

/// Before a configuration is committed: every new member is added as a
/// learner and must catch up, and a majority of the new voters must be
/// synced with this leader (ZooKeeper's `isQuorumSynced`).
pub async fn prepare(server: &Server, next: &DynamicConfig) -> Result<(), ReconfigError> {
    let raft = &server.raft;
    for p in next.members.values() {
        let known = raft
            .metrics()
            .borrow()
            .membership_config
            .membership()
            .get_node(&p.id)
            .is_some();
        if known {
            continue;
        }
        let addr = quorum_addr(p);
        info!(server = p.id, %addr, "adding a server as a learner");
        let added = tokio::time::timeout(
            CATCH_UP,
            raft.add_learner(p.id, BasicNode::new(addr.clone()), true),
        )
        .await;
        match added {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => return Err(ReconfigError::NoQuorum(format!("server {}: {e}", p.id))),
            Err(_) => {
                return Err(ReconfigError::NoQuorum(format!(
                    "server {} at {addr} did not catch up within {}s",
                    p.id,
                    CATCH_UP.as_secs()
                )))
            }
        }
    }
    let metrics = raft.metrics().borrow().clone();
    let last = metrics.last_log_index.unwrap_or(0);
    let synced = |id: u64| {
        id == server.core.config.server_id
            || metrics
                .replication
                .as_ref()
                .and_then(|r| r.get(&id))
                .is_some_and(|m| m.is_some_and(|m| m.index + SYNCED_LAG >= last))
    };
    let voters: Vec<u64> = next.voters().map(|p| p.id).collect();
    let in_sync = voters.iter().filter(|id| synced(**id)).count();
    if in_sync * 2 <= voters.len() {
        return Err(ReconfigError::NoQuorum(format!(
            "{in_sync} of the {} voters are synced",
            voters.len()
        )));
    }
    Ok(())
}

/// Changes openraft's membership to `desired`; returns whether anything
/// had to change.
pub async fn converge(server: &Server, desired: &DynamicConfig) -> Result<bool, String> {
    let raft = &server.raft;
    let membership = raft
        .metrics()
        .borrow()
        .membership_config
        .membership()
        .clone();
    let mut changed = false;
    for p in desired.members.values() {
        if membership.get_node(&p.id).is_none() {
            info!(server = p.id, "adding a server as a learner");
            raft.add_learner(p.id, BasicNode::new(quorum_addr(p)), false)
                .await
                .map_err(|e| e.to_string())?;
            changed = true;
        }
    }
    let want: BTreeSet<u64> = desired.voters().map(|p| p.id).collect();
    let have: BTreeSet<u64> = membership.voter_ids().collect();
    if want != have {
        info!(voters = ?want, was = ?have, "changing the voters");
        // Voters that leave stay learners for now: observers among them
        // keep their place, the others are removed below.
        raft.change_membership(ChangeMembers::ReplaceAllVoters(want), true)
            .await
            .map_err(|e| e.to_string())?;
        changed = true;
    }
    let mut gone: BTreeSet<u64> = membership.nodes().map(|(id, _)| *id).collect();
    gone.retain(|id| !desired.members.contains_key(id));
    if !gone.is_empty() {
        info!(servers = ?gone, "removing servers that left the configuration");
        raft.change_membership(ChangeMembers::RemoveNodes(gone), false)
            .await
            .map_err(|e| e.to_string())?;
        changed = true;
    }
    Ok(changed)
}

/// One of the leader's ticks: writes the first configuration of a new
/// ensemble, or finishes a membership change a previous leader left.
pub async fn reconcile(server: &Server) {
    if !server.is_leader() || !server.has_quorum() {
        return;
    }
    let Ok(_busy) = server.reconfig.busy.try_lock() else {
        return;
    };
    let committed = committed(&server.core.tree.read());
    match committed {
        None => {
            let initial = from_static(server);
            let op = TxnOp::SetConfig {
                members: initial.member_lines(),
                expected_version: -1,
            };
            let Ok(rx) = server.propose(0, Vec::new(), op) else {
                return;
            };
            if let Ok(o) = crate::server::outcome(rx).await {
                info!(
                    version = format_args!("{:x}", o.zxid),
                    "configuration from zoo.cfg written to /zookeeper/config"
                );
            }
        }
        Some((Err(e), _)) => debug!(error = %e, "/zookeeper/config is unreadable"),
        Some((Ok(desired), _)) => {
            if let Err(e) = converge(server, &desired).await {
                warn!(error = %e, "membership change not done yet");
            }
        }
    }
}
