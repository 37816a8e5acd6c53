//! Forming a new ensemble. openraft starts a group from one
//! `initialize(members)` call on pristine servers; every voter of zoo.cfg
//! may make it with the same members. A server started later to join a
//! running ensemble (zoo.cfg naming the ensemble and itself) must not:
//! its own group would claim a membership the others never agreed to. So a
//! server with an empty log asks the other voters of its zoo.cfg first and
//! forms the group only when a majority of them (itself included) answer
//! that they have not formed one either. Otherwise it waits, as a learner,
//! until the leader brings it in (the leader's log carries the membership:
//! a reconfig for a new server, or the original membership for one that
//! lost its data).

use crate::server::Server;
use crate::storage::pb::{self, peer_reply, peer_request};
use std::sync::Arc;
use std::time::Duration;
use tracing::{debug, info};

/// Between rounds of asking.
const RETRY: Duration = Duration::from_millis(100);
/// How long one peer has to answer.
const ASK_TIMEOUT: Duration = Duration::from_millis(500);

/// Runs once at start-up, until this server is in a group or knows it
/// must wait to be added to one.
pub async fn run(server: Arc<Server>) {
    let Some(ensemble) = server.ensemble.clone() else {
        return;
    };
    if !ensemble.voters.contains_key(&ensemble.me) {
        return;
    }
    loop {
        match server.raft.is_initialized().await {
            Ok(false) => {}
            _ => return,
        }
        let mut asks = tokio::task::JoinSet::new();
        for (id, node) in ensemble.voters.iter().filter(|(id, _)| **id != ensemble.me) {
            let link = ensemble.links.get(&node.addr);
            let id = *id;
            asks.spawn(async move {
                let body = peer_request::Body::Formation(pb::FormationProbe {});
                (id, link.call(body, ASK_TIMEOUT).await)
            });
        }
        let mut pristine = 1;
        while let Some(answer) = asks.join_next().await {
            match answer {
                Ok((_, Ok(peer_reply::Body::Formation(r)))) if !r.initialized => pristine += 1,
                Ok((id, Ok(peer_reply::Body::Formation(_)))) => {
                    info!(
                        peer = id,
                        "the ensemble is already formed; waiting for its leader to bring this \
                         server in"
                    );
                    return;
                }
                Ok((id, answer)) => debug!(peer = id, ?answer, "no formation answer"),
                Err(_) => {}
            }
        }
        if pristine * 2 > ensemble.voters.len() {
            // Ours or another's: the same members either way.
            if let Err(e) = server.raft.initialize(ensemble.voters.clone()).await {
                debug!(error = %e, "ensemble already formed");
            }
            return;
        }
        tokio::time::sleep(RETRY).await;
    }
}

/// The answer to another server's [`run`].
pub async fn answer(server: &Server) -> peer_reply::Body {
    let initialized = server.raft.is_initialized().await.unwrap_or(true);
    peer_reply::Body::Formation(pb::FormationReply { initialized })
}
