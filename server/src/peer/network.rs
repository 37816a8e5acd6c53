//! openraft's network over [`Link`]s: append entries, vote and snapshot
//! chunks as protobuf requests to the peer's quorum port.

use super::codec;
use super::link::Link;
use crate::raft::{NodeId, TypeConfig};
use crate::storage::pb::{peer_reply, peer_request};
use openraft::error::{InstallSnapshotError, NetworkError, RPCError, RaftError, Unreachable};
use openraft::network::RPCOption;
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, InstallSnapshotRequest, InstallSnapshotResponse,
    VoteRequest, VoteResponse,
};
use openraft::{BasicNode, RaftNetwork, RaftNetworkFactory};
use parking_lot::Mutex;
use std::collections::HashMap;
use std::io;
use std::sync::Arc;
use std::time::Duration;

/// One [`Link`] per peer address, shared by Raft and the write forwarder.
#[derive(Clone, Default)]
pub struct Links {
    links: Arc<Mutex<HashMap<String, Arc<Link>>>>,
}

impl Links {
    pub fn get(&self, addr: &str) -> Arc<Link> {
        self.links
            .lock()
            .entry(addr.to_owned())
            .or_insert_with(|| Arc::new(Link::new(addr.to_owned())))
            .clone()
    }
}

impl RaftNetworkFactory<TypeConfig> for Links {
    type Network = PeerNetwork;

    async fn new_client(&mut self, target: NodeId, node: &BasicNode) -> PeerNetwork {
        PeerNetwork {
            target,
            link: self.get(&node.addr),
        }
    }
}

pub struct PeerNetwork {
    target: NodeId,
    link: Arc<Link>,
}

type Rpc<E = openraft::error::Infallible> = RPCError<NodeId, BasicNode, RaftError<NodeId, E>>;

impl PeerNetwork {
    async fn call<E: std::error::Error>(
        &self,
        body: peer_request::Body,
        option: &RPCOption,
    ) -> Result<peer_reply::Body, Rpc<E>> {
        match self
            .link
            .call(body, crate::raft_runtime::rpc_timeout(option.hard_ttl()))
            .await
        {
            Ok(peer_reply::Body::Error(e)) => Err(RPCError::Network(NetworkError::new(
                &io::Error::other(format!("peer {}: {}", self.target, e.message)),
            ))),
            Ok(reply) => Ok(reply),
            Err(e) if e.kind() == io::ErrorKind::TimedOut => {
                Err(RPCError::Network(NetworkError::new(&e)))
            }
            Err(e) => Err(RPCError::Unreachable(Unreachable::new(&e))),
        }
    }
}

fn unexpected<E: std::error::Error>(what: &str) -> Rpc<E> {
    RPCError::Network(NetworkError::new(&io::Error::new(
        io::ErrorKind::InvalidData,
        format!("unexpected reply to {what}"),
    )))
}

fn undecodable<E: std::error::Error>(e: crate::storage::codec::InvalidRecord) -> Rpc<E> {
    RPCError::Network(NetworkError::new(&io::Error::new(
        io::ErrorKind::InvalidData,
        e.0,
    )))
}

impl RaftNetwork<TypeConfig> for PeerNetwork {
    /// After a peer is found unreachable, retry soon, then less often: a
    /// restarted server hears from the leader before it thinks of an
    /// election (openraft's default waits 500 ms every time).
    fn backoff(&self) -> openraft::network::Backoff {
        let delays = (0..5)
            .map(|i| Duration::from_millis(20 << i))
            .chain(std::iter::repeat(Duration::from_millis(500)));
        openraft::network::Backoff::new(delays)
    }

    async fn append_entries(
        &mut self,
        rpc: AppendEntriesRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<AppendEntriesResponse<NodeId>, Rpc> {
        let body = peer_request::Body::AppendEntries(codec::append_to_pb(&rpc));
        match self.call(body, &option).await? {
            peer_reply::Body::AppendEntries(r) => {
                codec::append_reply_from_pb(r).map_err(undecodable)
            }
            _ => Err(unexpected("append entries")),
        }
    }

    async fn install_snapshot(
        &mut self,
        rpc: InstallSnapshotRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<InstallSnapshotResponse<NodeId>, Rpc<InstallSnapshotError>> {
        let body = peer_request::Body::InstallSnapshot(codec::snapshot_to_pb(&rpc));
        match self.call(body, &option).await? {
            peer_reply::Body::InstallSnapshot(r) => {
                codec::snapshot_reply_from_pb(r).map_err(undecodable)
            }
            _ => Err(unexpected("install snapshot")),
        }
    }

    async fn vote(
        &mut self,
        rpc: VoteRequest<NodeId>,
        option: RPCOption,
    ) -> Result<VoteResponse<NodeId>, Rpc> {
        let body = peer_request::Body::Vote(codec::vote_request_to_pb(&rpc));
        match self.call(body, &option).await? {
            peer_reply::Body::Vote(r) => codec::vote_reply_from_pb(r).map_err(undecodable),
            _ => Err(unexpected("vote")),
        }
    }
}
