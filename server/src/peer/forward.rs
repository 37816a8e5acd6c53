//! A follower's client writes go to the leader: batched, in the order the
//! clients sent them, one forward request at a time in flight order. Each
//! write is answered once this server has applied it too, so a client
//! never reads older data than its own last write.

use super::codec;
use super::network::Links;
use crate::core::Core;
use crate::raft::Raft;
use crate::storage::codec::txn_to_pb;
use crate::storage::pb::{self, peer_reply, peer_request};
use crate::txn::{Txn, TxnOutcome};
use corral_protocol::ErrorCode;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use tracing::debug;

/// Most txns in one forward request.
const MAX_BATCH: usize = 4096;
/// How long a forwarded write may take before its client hears ConnectionLoss.
const FORWARD_TIMEOUT: Duration = Duration::from_secs(10);

struct Pending {
    txn: Txn,
    reply: oneshot::Sender<TxnOutcome>,
}

#[derive(Clone)]
pub struct Forwarder {
    queue: mpsc::UnboundedSender<Pending>,
}

impl Forwarder {
    pub fn start(raft: Raft, core: Arc<Core>, links: Links) -> Forwarder {
        let (queue, rx) = mpsc::unbounded_channel();
        tokio::spawn(run(raft, core, links, rx));
        Forwarder { queue }
    }

    /// Sends a txn to the leader; calls made in order are applied in order.
    pub fn forward(&self, txn: Txn) -> Result<oneshot::Receiver<TxnOutcome>, ErrorCode> {
        let (reply, rx) = oneshot::channel();
        self.queue
            .send(Pending { txn, reply })
            .map_err(|_| ErrorCode::ConnectionLoss)?;
        Ok(rx)
    }
}

/// The leader's quorum address, if one is known.
pub fn leader_addr(raft: &Raft) -> Option<String> {
    let metrics = raft.metrics().borrow().clone();
    let leader = metrics.current_leader?;
    let node = metrics.membership_config.membership().get_node(&leader)?;
    Some(node.addr.clone())
}

async fn run(
    raft: Raft,
    core: Arc<Core>,
    links: Links,
    mut queue: mpsc::UnboundedReceiver<Pending>,
) {
    let mut batch = Vec::new();
    while let Some(first) = queue.recv().await {
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(next) => batch.push(next),
                Err(_) => break,
            }
        }
        let (txns, replies): (Vec<Txn>, Vec<_>) = batch.drain(..).map(|p| (p.txn, p.reply)).unzip();
        // Dropping `replies` fails those writes with ConnectionLoss.
        let Some(addr) = leader_addr(&raft) else {
            debug!("no leader to forward writes to");
            continue;
        };
        let request = peer_request::Body::Forward(pb::ForwardRequest {
            txns: txns.iter().map(txn_to_pb).collect(),
        });
        let Ok(answer) = links.get(&addr).send(request).await else {
            continue;
        };
        let core = core.clone();
        tokio::spawn(async move {
            let Ok(Ok(peer_reply::Body::Forward(reply))) =
                tokio::time::timeout(FORWARD_TIMEOUT, answer).await
            else {
                return;
            };
            for (reply, outcome) in replies.into_iter().zip(reply.outcomes) {
                let outcome = codec::outcome_from_pb(outcome);
                core.wait_applied(outcome.zxid).await;
                let _ = reply.send(outcome);
            }
        });
    }
}
