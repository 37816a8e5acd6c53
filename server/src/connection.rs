//! One client connection: the four-letter-word check, the session handshake,
//! then three tasks — the reader (decodes requests, proposes writes in
//! order), the responder (answers in request order, so a read waits for the
//! session's earlier writes) and the writer (batches frames to the socket).

use crate::core::{ConnCounters, ConnInfo};
use crate::four_letter;
use crate::read_only;
use crate::reads::{self, reply_frame, Caller};
use crate::server::{outcome, Server, WriteReceiver};
use crate::txn::TxnOp;
use crate::watches::{ConnId, Outbound, Outbox};
use bytes::{Buf, BytesMut};
use corral_protocol::{
    check_frame, ConnectRequest, ConnectResponse, Decode, ErrorCode, Id, MultiOp, OpCode, Reader,
    Request, RequestHeader, Writer,
};
use rand::RngCore;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufWriter};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tracing::{debug, info, info_span, warn, Instrument};

/// Requests a connection may have queued before the server stops reading
/// from it (ZooKeeper's outstanding-request throttle, per connection).
const MAX_QUEUED: usize = 1000;

/// Why a connection was closed by the server.
#[derive(Debug, thiserror::Error)]
enum Closed {
    #[error("peer closed the connection")]
    Eof,
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
    #[error("bad frame: {0}")]
    Frame(corral_protocol::DecodeError),
    #[error("{0}")]
    Protocol(String),
}

/// Reads length-prefixed frames, refusing any larger than `max`.
struct FrameReader {
    socket: OwnedReadHalf,
    buf: BytesMut,
    max: usize,
}

impl FrameReader {
    async fn fill(&mut self, n: usize) -> Result<(), Closed> {
        while self.buf.len() < n {
            if self.socket.read_buf(&mut self.buf).await? == 0 {
                return Err(Closed::Eof);
            }
        }
        Ok(())
    }

    async fn next_frame(&mut self) -> Result<BytesMut, Closed> {
        loop {
            if let Some(len) = check_frame(&self.buf, self.max).map_err(Closed::Frame)? {
                self.buf.advance(4);
                return Ok(self.buf.split_to(len));
            }
            if self.socket.read_buf(&mut self.buf).await? == 0 {
                return Err(Closed::Eof);
            }
        }
    }
}

/// Serves one accepted socket until it closes.
pub async fn serve(server: Arc<Server>, stream: TcpStream, peer: SocketAddr) {
    let (read_half, write_half) = stream.into_split();
    let mut reader = FrameReader {
        socket: read_half,
        buf: BytesMut::with_capacity(4096),
        max: server.core.config.jute_max_buffer,
    };
    if reader.fill(4).await.is_err() {
        return;
    }
    let word = [reader.buf[0], reader.buf[1], reader.buf[2], reader.buf[3]];
    if let Some(cmd) = four_letter::command(&word) {
        let text = four_letter::run(&server, cmd);
        let mut w = write_half;
        let _ = w.write_all(text.as_bytes()).await;
        let _ = w.shutdown().await;
        return;
    }
    let conn = server.core.next_conn_id();
    let span = info_span!("conn", id = conn, %peer);
    if let Err(reason) = session(server, conn, peer, reader, write_half)
        .instrument(span.clone())
        .await
    {
        match reason {
            Closed::Eof => debug!(parent: &span, "closed by client"),
            other => info!(parent: &span, reason = %other, "connection closed"),
        }
    }
}

struct Session {
    id: i64,
    passwd: Vec<u8>,
    timeout_ms: i32,
    /// A local session of read-only mode ([`crate::read_only`]).
    read_only: bool,
}

fn negotiated_timeout(server: &Server, req: &ConnectRequest) -> i32 {
    let config = &server.core.config;
    (req.time_out as i64).clamp(
        config.min_session_timeout.as_millis() as i64,
        config.max_session_timeout.as_millis() as i64,
    ) as i32
}

/// Grants a session of read-only mode; `None` if the client must be told it
/// expired.
fn read_only_handshake(server: &Server, req: &ConnectRequest) -> Result<Option<Session>, Closed> {
    let timeout_ms = negotiated_timeout(server, req);
    let tree = server.core.tree.read();
    let granted = server
        .read_only
        .open_session(
            &tree,
            req.read_only == Some(true),
            req.session_id,
            &req.passwd,
            || server.new_session_id(),
            timeout_ms,
        )
        .map_err(|e| Closed::Protocol(e.to_string()))?;
    Ok(granted.map(|g| Session {
        id: g.id,
        passwd: g.passwd,
        timeout_ms,
        read_only: true,
    }))
}

/// Negotiates or resumes a session; `None` if the client must be told it
/// expired.
async fn handshake(server: &Server, req: &ConnectRequest) -> Result<Option<Session>, Closed> {
    let config = &server.core.config;
    let timeout_ms = negotiated_timeout(server, req);
    if req.session_id == 0 {
        let id = server.new_session_id();
        let mut passwd = vec![0u8; 16];
        rand::thread_rng().fill_bytes(&mut passwd);
        let op = TxnOp::CreateSession {
            session_id: id,
            timeout_ms,
            passwd: passwd.clone(),
        };
        server
            .write(id, op)
            .await
            .map_err(|e| Closed::Protocol(format!("could not create session: {e}")))?;
        info!(
            session = format_args!("0x{id:x}"),
            timeout_ms, "session created"
        );
        return Ok(Some(Session {
            id,
            passwd,
            timeout_ms,
            read_only: false,
        }));
    }
    let lookup = || {
        let tree = server.core.tree.read();
        match tree.sessions.get(&req.session_id) {
            Some(s) if s.passwd == req.passwd => Some(Session {
                id: req.session_id,
                passwd: s.passwd.clone(),
                timeout_ms,
                read_only: false,
            }),
            _ => None,
        }
    };
    let mut resumed = lookup();
    if resumed.is_none() && server.ensemble.is_some() {
        // A session made through another member may not be applied here
        // yet: catch up with the leader before calling it expired.
        server
            .sync_with_leader()
            .await
            .map_err(|e| Closed::Protocol(format!("could not sync with the leader: {e}")))?;
        resumed = lookup();
    }
    if let (Some(session), Some(_)) = (&resumed, &server.ensemble) {
        // Other servers let go of the session's old connection.
        let op = TxnOp::MoveSession {
            server: config.server_id,
        };
        let moved = server
            .write(session.id, op)
            .await
            .map_err(|e| Closed::Protocol(format!("could not move the session here: {e}")))?;
        if moved.err.is_some() {
            // The session was closed or expired before the move was
            // ordered: this server had not applied that when it looked.
            return Ok(None);
        }
    }
    Ok(resumed)
}

async fn session(
    server: Arc<Server>,
    conn: ConnId,
    peer: SocketAddr,
    mut reader: FrameReader,
    write_half: OwnedWriteHalf,
) -> Result<(), Closed> {
    let frame = reader.next_frame().await?;
    let req = ConnectRequest::decode(&frame).map_err(Closed::Frame)?;
    let read_only = !server.has_quorum();
    if read_only && !server.read_only.is_active() {
        // As a ZooKeeper server out of its quorum: the client tries another.
        return Err(Closed::Protocol(
            "not serving: no contact with a quorum".into(),
        ));
    }
    let last_zxid = server.core.last_zxid();
    if req.last_zxid_seen > last_zxid {
        return Err(Closed::Protocol(format!(
            "client has seen zxid 0x{:x}, ours is 0x{last_zxid:x}",
            req.last_zxid_seen
        )));
    }
    let session = if read_only {
        read_only_handshake(&server, &req)?
    } else {
        handshake(&server, &req).await?
    };
    let (outbox, outbox_rx) = mpsc::unbounded_channel();
    let writer_done = Arc::new(tokio::sync::Notify::new());
    let writer = tokio::spawn(write_frames(
        server.clone(),
        write_half,
        outbox_rx,
        writer_done.clone(),
    ));
    let response = ConnectResponse {
        protocol_version: 0,
        time_out: session.as_ref().map_or(0, |s| s.timeout_ms),
        session_id: session.as_ref().map_or(0, |s| s.id),
        passwd: session
            .as_ref()
            .map_or_else(|| vec![0; 16], |s| s.passwd.clone()),
        read_only: req.read_only.map(|_| read_only),
    };
    let mut w = Writer::new();
    w.write_i32(0);
    response.encode(&mut w);
    let len = (w.buf.len() - 4) as i32;
    w.buf[..4].copy_from_slice(&len.to_be_bytes());
    let _ = outbox.send(Outbound::Frame(w.into_inner().into()));
    let Some(session) = session else {
        let _ = outbox.send(Outbound::Close);
        let _ = writer.await;
        return Err(Closed::Protocol(format!(
            "session 0x{:x} expired or bad password",
            req.session_id
        )));
    };

    let core = &server.core;
    let counters = Arc::new(ConnCounters::default());
    counters.received.store(1, Ordering::Relaxed);
    counters.sent.store(1, Ordering::Relaxed);
    core.connections.lock().insert(
        conn,
        ConnInfo {
            peer,
            session_id: session.id,
            timeout_ms: session.timeout_ms,
            opened: Instant::now(),
            counters: counters.clone(),
        },
    );
    core.watches.lock().add_connection(conn, outbox.clone());
    if !session.read_only {
        core.sessions
            .lock()
            .attach(session.id, conn, outbox.clone());
        // A close applied between the handshake and the attach found no
        // connection to close: this one would serve a dead session.
        if !core.tree.read().sessions.contains_key(&session.id) {
            core.sessions.lock().detach(session.id, conn);
            let _ = outbox.send(Outbound::Close);
        }
    } else if !server.read_only.attach(session.id, conn, outbox.clone()) {
        // Read-only mode ended during the handshake.
        let _ = outbox.send(Outbound::Close);
    }

    let (work_tx, work_rx) = mpsc::channel(MAX_QUEUED);
    let responder = tokio::spawn(respond(
        server.clone(),
        conn,
        session.id,
        outbox.clone(),
        work_rx,
        counters.clone(),
    ));
    let mut ids = Arc::new(vec![Id::new("ip", &peer.ip().to_string())]);
    // The writer stops when the server closes the connection (expiry,
    // session moved, auth failure): stop reading then too.
    let result = tokio::select! {
        r = read_requests(&server, conn, &mut reader, &session, &mut ids, &work_tx, &counters) => r,
        _ = writer_done.notified() => Err(Closed::Protocol("closed by the server".into())),
    };

    drop(work_tx);
    let _ = responder.await;
    core.watches.lock().remove_connection(conn);
    if session.read_only {
        server.read_only.detach(session.id, conn);
    } else {
        core.sessions.lock().detach(session.id, conn);
    }
    core.connections.lock().remove(&conn);
    let _ = outbox.send(Outbound::Close);
    let _ = writer.await;
    result
}

/// Work for the responder, in request order.
enum Work {
    Reply(bytes::Bytes),
    Write {
        xid: i32,
        rx: WriteReceiver,
        started: Instant,
        op: OpCode,
    },
    Read {
        xid: i32,
        request: Request,
        ids: Arc<Vec<Id>>,
        started: Instant,
    },
    Close,
}

async fn read_requests(
    server: &Arc<Server>,
    conn: ConnId,
    reader: &mut FrameReader,
    session: &Session,
    ids: &mut Arc<Vec<Id>>,
    work: &mpsc::Sender<Work>,
    counters: &ConnCounters,
) -> Result<(), Closed> {
    let core = &server.core;
    loop {
        let frame = reader.next_frame().await?;
        let started = Instant::now();
        core.stats.packets_received.fetch_add(1, Ordering::Relaxed);
        counters.received.fetch_add(1, Ordering::Relaxed);
        counters.queued.fetch_add(1, Ordering::Relaxed);
        if !session.read_only {
            core.sessions.lock().touch(session.id);
        }
        let mut r = Reader::new(&frame);
        let header = RequestHeader::decode(&mut r).map_err(Closed::Frame)?;
        let Some(op) = OpCode::from_i32(header.op_type) else {
            // ZooKeeper's UnimplementedRequestProcessor: answer, then close
            // the connection (the session lives on).
            warn!(
                op = header.op_type,
                "unknown opcode; closing the connection"
            );
            let reply = reply_frame(
                header.xid,
                core.last_zxid(),
                ErrorCode::Unimplemented.code(),
                &[],
            );
            send(work, Work::Reply(reply)).await?;
            send(work, Work::Close).await?;
            return Ok(());
        };
        if session.read_only && (read_only::refuses(op) || op == OpCode::CloseSession) {
            let err = if op == OpCode::CloseSession {
                server.read_only.close_session(session.id);
                0
            } else {
                ErrorCode::NotReadOnly.code()
            };
            let reply = reply_frame(header.xid, core.last_zxid(), err, &[]);
            send(work, Work::Reply(reply)).await?;
            if op == OpCode::CloseSession {
                send(work, Work::Close).await?;
                return Ok(());
            }
            continue;
        }
        let request = match Request::decode(op, r.rest()) {
            Ok(req) => req,
            Err(e) => {
                warn!(op = op.name(), error = %e, "undecodable request");
                // As ZooKeeper: deleteContainer is the server's own op,
                // other misplaced opcodes are not implemented for clients,
                // and anything that does not decode is a marshalling error.
                let err = match e {
                    corral_protocol::DecodeError::UnexpectedOpCode(op)
                        if op == OpCode::DeleteContainer as i32 =>
                    {
                        ErrorCode::BadArguments
                    }
                    corral_protocol::DecodeError::UnexpectedOpCode(_) => ErrorCode::Unimplemented,
                    _ => ErrorCode::MarshallingError,
                };
                let reply = reply_frame(header.xid, core.last_zxid(), err.code(), &[]);
                send(work, Work::Reply(reply)).await?;
                continue;
            }
        };
        core.stats.outstanding.fetch_add(1, Ordering::Relaxed);
        let xid = header.xid;
        let write_op = match request {
            Request::Auth(ref packet) => {
                core.stats.outstanding.fetch_sub(1, Ordering::Relaxed);
                let peer_ip = ids
                    .iter()
                    .find(|i| i.scheme == "ip")
                    .and_then(|i| i.id.parse().ok())
                    .unwrap_or(std::net::IpAddr::from([127, 0, 0, 1]));
                match crate::auth::authenticate(
                    &packet.scheme,
                    &packet.auth,
                    peer_ip,
                    core.config.super_digest.as_deref(),
                ) {
                    Ok(new_ids) => {
                        let mut all = ids.as_ref().clone();
                        for id in new_ids {
                            if !all.contains(&id) {
                                all.push(id);
                            }
                        }
                        *ids = Arc::new(all);
                        send(work, Work::Reply(reply_frame(xid, 0, 0, &[]))).await?;
                    }
                    Err(e) => {
                        warn!(scheme = %packet.scheme, "authentication failed");
                        send(work, Work::Reply(reply_frame(xid, 0, e.code(), &[]))).await?;
                        send(work, Work::Close).await?;
                        return Ok(());
                    }
                }
                continue;
            }
            Request::Create(r) => TxnOp::Single(MultiOp::Create(OpCode::Create, r)),
            Request::Create2(r) => TxnOp::Single(MultiOp::Create(OpCode::Create2, r)),
            Request::CreateContainer(r) => {
                TxnOp::Single(MultiOp::Create(OpCode::CreateContainer, r))
            }
            Request::CreateTtl(r) => TxnOp::Single(MultiOp::CreateTtl(r)),
            Request::Delete(r) => TxnOp::Single(MultiOp::Delete(r)),
            Request::SetData(r) => TxnOp::Single(MultiOp::SetData(r)),
            Request::Check(r) => TxnOp::Single(MultiOp::Check(r)),
            Request::SetAcl(r) => TxnOp::SetAcl(r),
            Request::Multi(ops) => TxnOp::Multi(ops),
            Request::CloseSession => TxnOp::CloseSession { expired: false },
            // In an ensemble, sync waits until this server has every write
            // the leader committed before it; answered in request order.
            Request::Sync(r) if server.ensemble.is_some() => {
                let (tx, rx) = tokio::sync::oneshot::channel();
                let server = server.clone();
                tokio::spawn(async move {
                    let outcome = match server.sync_with_leader().await {
                        Ok(()) => crate::txn::TxnOutcome {
                            zxid: server.core.last_zxid(),
                            err: None,
                            body: corral_protocol::Encode::to_bytes(
                                &corral_protocol::SyncResponse { path: r.path },
                            ),
                        },
                        Err(e) => crate::txn::TxnOutcome::error(server.core.last_zxid(), e),
                    };
                    let _ = tx.send(outcome);
                });
                queue_write(work, xid, rx, started, op).await?;
                continue;
            }
            Request::Reconfig(r) => {
                let rx = crate::reconfig::start(server.clone(), ids.to_vec(), r);
                queue_write(work, xid, rx, started, op).await?;
                continue;
            }
            request => {
                let ids = ids.clone();
                send(
                    work,
                    Work::Read {
                        xid,
                        request,
                        ids,
                        started,
                    },
                )
                .await?;
                continue;
            }
        };
        let closing = matches!(write_op, TxnOp::CloseSession { .. });
        if closing && !session.read_only {
            // The close closes the session's connections; this one answers
            // it first.
            core.sessions.lock().detach(session.id, conn);
        }
        let rx = match server.propose(session.id, ids.to_vec(), write_op) {
            Ok(rx) => rx,
            Err(e) => {
                let reply = reply_frame(xid, core.last_zxid(), e.code(), &[]);
                send(work, Work::Reply(reply)).await?;
                continue;
            }
        };
        queue_write(work, xid, rx, started, op).await?;
        if closing {
            send(work, Work::Close).await?;
            return Ok(());
        }
    }
}

async fn send(work: &mpsc::Sender<Work>, item: Work) -> Result<(), Closed> {
    work.send(item)
        .await
        .map_err(|_| Closed::Protocol("responder stopped".into()))
}

/// Queues a write's answer, `rx`, behind what the connection queued before.
async fn queue_write(
    work: &mpsc::Sender<Work>,
    xid: i32,
    rx: WriteReceiver,
    started: Instant,
    op: OpCode,
) -> Result<(), Closed> {
    send(
        work,
        Work::Write {
            xid,
            rx,
            started,
            op,
        },
    )
    .await
}

/// Answers queued work in order.
async fn respond(
    server: Arc<Server>,
    conn: ConnId,
    session: i64,
    outbox: Outbox,
    mut work: mpsc::Receiver<Work>,
    counters: Arc<ConnCounters>,
) {
    let core = &server.core;
    while let Some(item) = work.recv().await {
        if !matches!(item, Work::Close) {
            counters.queued.fetch_sub(1, Ordering::Relaxed);
            counters.sent.fetch_add(1, Ordering::Relaxed);
        }
        match item {
            Work::Reply(frame) => {
                let _ = outbox.send(Outbound::Frame(frame));
            }
            Work::Close => {
                let _ = outbox.send(Outbound::Close);
                return;
            }
            Work::Write {
                xid,
                rx,
                started,
                op,
            } => {
                let frame = match outcome(rx).await {
                    Ok(o) => reply_frame(xid, o.zxid, o.err.map_or(0, ErrorCode::code), &o.body),
                    Err(e) => reply_frame(xid, core.last_zxid(), e.code(), &[]),
                };
                let _ = outbox.send(Outbound::Frame(frame));
                finish(core, started, op);
            }
            Work::Read {
                xid,
                request,
                ids,
                started,
            } => {
                let caller = Caller {
                    conn,
                    session,
                    ids: &ids,
                    outbox: &outbox,
                };
                reads::execute(core, &caller, xid, &request);
                finish(core, started, request.op_code());
            }
        }
    }
}

fn finish(core: &crate::core::Core, started: Instant, op: OpCode) {
    core.stats.outstanding.fetch_sub(1, Ordering::Relaxed);
    core.stats.record_latency(started);
    crate::admin::metrics::request_done(op, started);
}

/// Writes queued frames, flushing when the queue runs dry.
async fn write_frames(
    server: Arc<Server>,
    socket: OwnedWriteHalf,
    mut rx: mpsc::UnboundedReceiver<Outbound>,
    done: Arc<tokio::sync::Notify>,
) {
    write_until_closed(&server, socket, &mut rx).await;
    done.notify_one();
}

async fn write_until_closed(
    server: &Server,
    socket: OwnedWriteHalf,
    rx: &mut mpsc::UnboundedReceiver<Outbound>,
) {
    let mut out = BufWriter::with_capacity(64 * 1024, socket);
    let sent = &server.core.stats.packets_sent;
    'outer: while let Some(first) = rx.recv().await {
        let mut next = Some(first);
        while let Some(item) = next.take() {
            match item {
                Outbound::Frame(frame) => {
                    if out.write_all(&frame).await.is_err() {
                        break 'outer;
                    }
                    sent.fetch_add(1, Ordering::Relaxed);
                }
                Outbound::Close => {
                    let _ = out.flush().await;
                    let _ = out.shutdown().await;
                    break 'outer;
                }
            }
            next = rx.try_recv().ok();
        }
        if out.flush().await.is_err() {
            break;
        }
    }
}
