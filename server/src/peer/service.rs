//! The quorum port: answers other servers' Raft RPCs, and as the leader,
//! proposes the writes followers forward and takes their session touches.

use super::codec;
use super::link::{read_frame, write_frame};
use super::prevote::Election;
use crate::raft::{Raft, TypeConfig};
use crate::server::Server;
use crate::storage::codec::txn_from_pb;
use crate::storage::pb::{self, peer_reply, peer_request};
use bytes::BytesMut;
use openraft::raft::{AppendEntriesRequest, AppendEntriesResponse};
use prost::Message;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncWriteExt, BufWriter};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tracing::{debug, warn};

/// Accepts peer connections until the process ends.
pub async fn serve(server: Arc<Server>, listener: TcpListener) {
    loop {
        match listener.accept().await {
            Ok((stream, from)) => {
                let _ = stream.set_nodelay(true);
                debug!(%from, "peer connected");
                tokio::spawn(serve_peer(server.clone(), stream));
            }
            Err(e) => {
                warn!(error = %e, "peer accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

async fn serve_peer(server: Arc<Server>, stream: TcpStream) {
    let (mut read, write) = stream.into_split();
    let (replies, queue) = mpsc::channel::<pb::PeerReply>(1024);
    tokio::spawn(write_replies(write, queue));
    let mut buf = BytesMut::with_capacity(64 << 10);
    while let Ok(frame) = read_frame(&mut read, &mut buf).await {
        let Ok(request) = pb::PeerRequest::decode(frame) else {
            warn!("undecodable peer request; closing the connection");
            return;
        };
        let (id, Some(body)) = (request.id, request.body) else {
            continue;
        };
        let replies = replies.clone();
        let reply = move |body: peer_reply::Body| async move {
            let _ = replies
                .send(pb::PeerReply {
                    id,
                    body: Some(body),
                })
                .await;
        };
        match body {
            // Proposed here, in arrival order, so a follower's writes keep
            // the order its clients sent them in.
            peer_request::Body::Forward(f) => {
                let txns: Result<Vec<_>, _> = f.txns.into_iter().map(txn_from_pb).collect();
                let proposed = match txns {
                    Ok(txns) => server.propose_forwarded(txns),
                    Err(e) => Err(format!("undecodable txn: {}", e.0)),
                };
                tokio::spawn(async move {
                    let body = match proposed {
                        Ok(waiting) => {
                            let mut outcomes = Vec::with_capacity(waiting.len());
                            for rx in waiting {
                                match rx.await {
                                    Ok(o) => outcomes.push(codec::outcome_to_pb(&o)),
                                    Err(_) => {
                                        outcomes.clear();
                                        break;
                                    }
                                }
                            }
                            if outcomes.is_empty() {
                                error("the write was not committed")
                            } else {
                                peer_reply::Body::Forward(pb::ForwardReply { outcomes })
                            }
                        }
                        Err(message) => error(&message),
                    };
                    reply(body).await;
                });
            }
            body => {
                let server = server.clone();
                tokio::spawn(async move { reply(handle(&server, body).await).await });
            }
        }
    }
}

fn error(message: &str) -> peer_reply::Body {
    peer_reply::Body::Error(pb::PeerError {
        message: message.to_owned(),
    })
}

async fn handle(server: &Server, body: peer_request::Body) -> peer_reply::Body {
    let raft = &server.raft;
    let Some(election) = server.ensemble.as_ref().map(|e| &e.election) else {
        return error("not a member of an ensemble");
    };
    let arrived = Instant::now();
    match body {
        peer_request::Body::AppendEntries(r) => match codec::append_from_pb(r) {
            Ok(r) => append_entries(raft, election, r, arrived).await,
            Err(e) => error(e.0),
        },
        peer_request::Body::Vote(r) => match codec::vote_request_from_pb(r) {
            Ok(r) => match raft.vote(r).await {
                Ok(resp) => {
                    if resp.vote_granted {
                        election.restart_timer();
                    }
                    peer_reply::Body::Vote(codec::vote_reply_to_pb(&resp))
                }
                Err(e) => error(&e.to_string()),
            },
            Err(e) => error(e.0),
        },
        peer_request::Body::InstallSnapshot(r) => match codec::snapshot_from_pb(r) {
            Ok(r) => {
                let vote = r.vote;
                match raft.install_snapshot(r).await {
                    Ok(resp) => {
                        if resp.vote == vote {
                            election.heard_from_leader(arrived);
                        }
                        peer_reply::Body::InstallSnapshot(codec::snapshot_reply_to_pb(&resp))
                    }
                    Err(e) => error(&e.to_string()),
                }
            }
            Err(e) => error(e.0),
        },
        peer_request::Body::PreVote(r) => peer_reply::Body::PreVote(election.answer(r).await),
        peer_request::Body::TouchSessions(t) => {
            let mut sessions = server.core.sessions.lock();
            for s in t.sessions {
                sessions.touch(s);
            }
            peer_reply::Body::Touched(pb::Blank {})
        }
        peer_request::Body::ReadIndex(_) => match server.read_index().await {
            Ok(zxid) => peer_reply::Body::ReadIndex(pb::ReadIndexReply { zxid }),
            Err(e) => error(&e),
        },
        peer_request::Body::Forward(_) => error("forward handled by the read loop"),
        peer_request::Body::Reconfig(r) => {
            peer_reply::Body::Reconfig(crate::reconfig::execute_forwarded(server, r).await)
        }
        peer_request::Body::Formation(_) => crate::reconfig::formation::answer(server).await,
    }
}

/// Appends the leader's entries. A leader at least as new as the one we
/// know is heard when its request arrives, not once our disk has the
/// entries: a slow fsync must not look like a silent leader.
async fn append_entries(
    raft: &Raft,
    election: &Election,
    r: AppendEntriesRequest<TypeConfig>,
    arrived: Instant,
) -> peer_reply::Body {
    if r.vote >= raft.metrics().borrow().vote {
        election.heard_from_leader(arrived);
    }
    match raft.append_entries(r).await {
        Ok(resp) => {
            // Anything but "your term is over" comes from our leader.
            if !matches!(resp, AppendEntriesResponse::HigherVote(_)) {
                election.heard_from_leader(arrived);
            }
            peer_reply::Body::AppendEntries(codec::append_reply_to_pb(&resp))
        }
        Err(e) => error(&e.to_string()),
    }
}

async fn write_replies(
    write: tokio::net::tcp::OwnedWriteHalf,
    mut queue: mpsc::Receiver<pb::PeerReply>,
) {
    let mut out = BufWriter::new(write);
    let mut buf = Vec::new();
    while let Some(first) = queue.recv().await {
        let mut next = Some(first);
        while let Some(reply) = next.take() {
            buf.clear();
            reply.encode(&mut buf).expect("vec grows");
            if write_frame(&mut out, &buf).await.is_err() {
                return;
            }
            next = queue.try_recv().ok();
        }
        if out.flush().await.is_err() {
            return;
        }
    }
}
