//! What an ensemble member does in the background: a follower tells the
//! leader which sessions its clients keep alive; the leader keeps openraft's
//! membership to the configuration (`reconfig::membership::reconcile`).
//! Leader changes are logged.

use super::forward::leader_addr;
use crate::server::Server;
use crate::storage::pb::{self, peer_request};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tracing::{info, warn};

pub async fn run(server: Arc<Server>) {
    let Some(ensemble) = server.ensemble.clone() else {
        return;
    };
    let period = (server.core.config.tick_time / 2)
        .clamp(Duration::from_millis(20), Duration::from_millis(1000));
    let mut ticker = tokio::time::interval(period);
    let mut known_leader = None;
    // Clients are let go once the quorum has been gone this long, so they
    // reconnect to a server that has one while their sessions live on.
    let patience = server.core.config.tick_time.max(Duration::from_millis(600));
    let mut quorum_lost_at: Option<Instant> = None;
    let mut last_tick = Instant::now();
    loop {
        ticker.tick().await;
        // Sessions heard from since the previous tick: a client that went
        // silent with its connection still open must not be kept alive.
        let since = std::mem::replace(&mut last_tick, Instant::now());
        crate::reconfig::check_membership(&server);
        if server.has_quorum() {
            quorum_lost_at = None;
        } else {
            let since = *quorum_lost_at.get_or_insert_with(Instant::now);
            if since.elapsed() >= patience {
                let closed = server.core.sessions.lock().close_all_connections();
                if closed > 0 {
                    warn!(closed, "no quorum: closing client connections");
                }
            }
        }
        let metrics = server.raft.metrics().borrow().clone();
        if metrics.current_leader != known_leader {
            match metrics.current_leader {
                Some(leader) => info!(
                    leader,
                    term = metrics.current_term,
                    me = ensemble.me,
                    "leader elected"
                ),
                None => warn!(me = ensemble.me, "no leader: lost contact with the quorum"),
            }
            known_leader = metrics.current_leader;
        }
        if server.is_leader() {
            crate::reconfig::membership::reconcile(&server).await;
            continue;
        }
        let sessions: Vec<i64> = {
            let table = server.core.sessions.lock();
            let mut heard = table.attached_sessions();
            heard.retain(|id| table.last_seen(*id).is_some_and(|seen| seen >= since));
            heard
        };
        if sessions.is_empty() {
            continue;
        }
        let Some(addr) = leader_addr(&server.raft) else {
            continue;
        };
        let link = ensemble.links.get(&addr);
        let touch = peer_request::Body::TouchSessions(pb::TouchSessions { sessions });
        tokio::spawn(async move {
            let _ = link.call(touch, Duration::from_secs(2)).await;
        });
    }
}
