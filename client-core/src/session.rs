//! The session task: one per client. It owns the socket, the queue of
//! requests in flight (matched to replies in order by xid), the ping timer,
//! the read deadline, the watch registry and the reconnect loop, and it
//! publishes state transitions. Client handles talk to it over a channel.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::{Buf, BytesMut};
use corral_protocol::{
    check_frame, xid, AuthPacket, ConnectRequest, ConnectResponse, Decode, Encode, ErrorCode,
    EventType, KeeperState, OpCode, Reader, ReplyHeader, Request, RequestHeader, WatcherEvent,
    Writer,
};
use rand::seq::SliceRandom;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};
use tokio::time::{sleep_until, timeout_at, Instant};
use tracing::{debug, info, warn, Instrument};

use crate::connect_string::{Chroot, HostPort};
use crate::error::{Error, Result};
use crate::retry::reconnect_backoff;
use crate::rw_search::RwSearch;
use crate::state::{Job, SessionState, StatePublisher};
use crate::watches::{Registry, WatchReg};

/// Largest frame accepted from a server (a guard against garbage lengths;
/// ZooKeeper's own replies are bounded by its `jute.maxbuffer`).
const MAX_FRAME: usize = 64 << 20;

/// At most this many queued commands (or this many bytes of them) are
/// encoded before the task goes back to reading and writing the socket.
const MAX_BATCH: usize = 1024;
const MAX_BATCH_BYTES: usize = 1 << 20;

/// What the task needs to know to connect.
#[derive(Debug, Clone)]
pub(crate) struct Config {
    pub hosts: Vec<HostPort>,
    pub chroot: Chroot,
    pub session_timeout: Duration,
    pub connect_timeout: Duration,
    pub read_only: bool,
    pub shuffle: bool,
    pub auths: Vec<(String, Vec<u8>)>,
    pub saved_session: Option<(i64, Vec<u8>)>,
}

/// A reply as received: the caller decodes the body.
#[derive(Debug)]
pub(crate) struct RawReply {
    pub err: i32,
    pub body: Vec<u8>,
}

pub(crate) type ReplyTx = oneshot::Sender<Result<RawReply>>;

/// A message from a client handle to its session task.
pub(crate) enum Command {
    Request {
        req: Request,
        watch: Option<WatchReg>,
        reply: ReplyTx,
    },
    Auth {
        scheme: String,
        auth: Vec<u8>,
        reply: oneshot::Sender<Result<()>>,
    },
    Close {
        done: oneshot::Sender<()>,
    },
}

/// Session facts the task publishes for the handles.
#[derive(Default)]
pub(crate) struct Shared {
    pub session_id: AtomicI64,
    pub passwd: Mutex<Vec<u8>>,
    pub timeout_ms: AtomicU64,
    pub last_zxid: AtomicI64,
    pub host: Mutex<Option<String>>,
}

/// How a connection (or the whole session) ended.
#[derive(Debug)]
enum End {
    /// The connection is gone; the session may be alive.
    Disconnected(String),
    /// The server said the session is expired, or the client was suspended
    /// for longer than the session timeout.
    Expired,
    /// Closed by the user (or every handle dropped).
    Closed,
    AuthFailed,
    /// No first session before the connect timeout.
    Timeout,
}

/// A request sent and waiting for its reply.
struct InFlight {
    xid: i32,
    op: OpCode,
    watch: Option<WatchReg>,
    reply: Option<ReplyTx>,
}

/// Something to send once connected.
enum Outgoing {
    Request {
        req: Request,
        watch: Option<WatchReg>,
        reply: ReplyTx,
    },
    Auth {
        scheme: String,
        auth: Vec<u8>,
        reply: oneshot::Sender<Result<()>>,
    },
}

/// A live connection: the socket and bytes read but not yet parsed.
struct Conn {
    stream: TcpStream,
    rbuf: BytesMut,
}

pub(crate) struct SessionTask {
    cfg: Config,
    hosts: Vec<HostPort>,
    next_host: usize,
    /// The host of the current (or last) connection.
    current_host: usize,
    /// Whether the current connection is to a server in read-only mode.
    read_only_conn: bool,
    /// Whether a read-write server ever granted this session. Until then
    /// the session is a read-only server's local one, unknown elsewhere:
    /// a reconnection asks for a new session (as ZooKeeper's client does).
    seen_rw: bool,
    session_id: i64,
    passwd: Vec<u8>,
    timeout: Duration,
    last_zxid: i64,
    next_xid: i32,
    cmds: mpsc::UnboundedReceiver<Command>,
    queued: VecDeque<Outgoing>,
    in_flight: VecDeque<InFlight>,
    auth_waiters: VecDeque<Option<oneshot::Sender<Result<()>>>>,
    auths: Vec<(String, Vec<u8>)>,
    registry: Registry,
    state: StatePublisher,
    shared: Arc<Shared>,
    jobs: mpsc::UnboundedSender<Job>,
    close_waiters: Vec<oneshot::Sender<()>>,
    /// Set when a close was asked for while disconnected: until then the
    /// task keeps trying to reconnect, to send closeSession.
    close_deadline: Option<Instant>,
    /// Replies handed to callers since commands were last taken from the
    /// channel (see `serve`).
    woken: usize,
}

impl SessionTask {
    pub fn new(
        cfg: Config,
        cmds: mpsc::UnboundedReceiver<Command>,
        state: StatePublisher,
        shared: Arc<Shared>,
        jobs: mpsc::UnboundedSender<Job>,
    ) -> SessionTask {
        let mut hosts = cfg.hosts.clone();
        if cfg.shuffle {
            hosts.shuffle(&mut rand::thread_rng());
        }
        let (session_id, passwd) = cfg.saved_session.clone().unwrap_or((0, vec![0; 16]));
        SessionTask {
            hosts,
            next_host: 0,
            current_host: 0,
            read_only_conn: false,
            seen_rw: cfg.saved_session.is_some(),
            session_id,
            passwd,
            timeout: cfg.session_timeout,
            last_zxid: 0,
            next_xid: 1,
            cmds,
            queued: VecDeque::new(),
            in_flight: VecDeque::new(),
            auth_waiters: VecDeque::new(),
            auths: cfg.auths.clone(),
            registry: Registry::new(cfg.chroot.clone()),
            state,
            shared,
            jobs,
            close_waiters: Vec::new(),
            close_deadline: None,
            woken: 0,
            cfg,
        }
    }

    /// Runs the session until it ends. `ready` gets the outcome of the first
    /// connection.
    pub async fn run(mut self, ready: oneshot::Sender<Result<()>>) {
        let span = tracing::info_span!("session", id = tracing::field::Empty);
        async move {
            let deadline = Instant::now() + self.cfg.connect_timeout;
            let mut conn = match self.establish(Some(deadline), None, 0).await {
                Ok(conn) => conn,
                Err(end) => {
                    let err = match end {
                        End::Expired => Error::SessionExpired,
                        End::AuthFailed => Error::AuthFailed,
                        End::Closed => Error::Closed,
                        End::Timeout | End::Disconnected(_) => Error::Timeout,
                    };
                    let _ = ready.send(Err(err));
                    self.finish(SessionState::Closed).await;
                    return;
                }
            };
            tracing::Span::current().record("id", format!("0x{:x}", self.session_id));
            let mut ready = Some(ready);
            loop {
                let connected_at = Instant::now();
                let end = self.serve(&mut conn, &mut ready).await;
                if let Some(ready) = ready.take() {
                    // The first connection failed before it was usable.
                    let _ = ready.send(Err(match &end {
                        End::AuthFailed => Error::AuthFailed,
                        End::Expired => Error::SessionExpired,
                        _ => Error::ConnectionLoss,
                    }));
                    self.finish(SessionState::Closed).await;
                    return;
                }
                match end {
                    End::Disconnected(why) => {
                        warn!(reason = %why, "connection lost");
                        self.fail_in_flight(Error::ConnectionLoss);
                        self.state.set(SessionState::Suspended);
                        let lost_at = Instant::now() + self.timeout;
                        // A connection that dies at once (e.g. two clients
                        // resuming one session take it from each other):
                        // back off before the next attempt.
                        let failures = u32::from(connected_at.elapsed() < Duration::from_secs(1));
                        match self.establish(None, Some(lost_at), failures).await {
                            Ok(c) => conn = c,
                            Err(_) if self.close_deadline.is_some() => {
                                return self.finish(SessionState::Closed).await
                            }
                            Err(End::Closed) => return self.finish(SessionState::Closed).await,
                            Err(End::AuthFailed) => {
                                return self.finish(SessionState::AuthFailed).await
                            }
                            Err(_) => return self.finish(SessionState::Lost).await,
                        }
                    }
                    End::Closed => return self.finish(SessionState::Closed).await,
                    End::AuthFailed => return self.finish(SessionState::AuthFailed).await,
                    End::Expired | End::Timeout => return self.finish(SessionState::Lost).await,
                }
            }
        }
        .instrument(span)
        .await
    }

    fn connect_request(&self) -> ConnectRequest {
        ConnectRequest {
            protocol_version: 0,
            last_zxid_seen: self.last_zxid,
            time_out: self.cfg.session_timeout.as_millis().min(i32::MAX as u128) as i32,
            session_id: if self.seen_rw { self.session_id } else { 0 },
            passwd: self.passwd.clone(),
            read_only: Some(self.cfg.read_only),
        }
    }

    /// Connects to the next hosts in turn (backing off after failures)
    /// until a server accepts the session. `first_deadline`: the connect
    /// timeout of the first session; `lost_at`: when a suspended session is
    /// given up. Meanwhile requests are queued and a close is honoured.
    async fn establish(
        &mut self,
        first_deadline: Option<Instant>,
        lost_at: Option<Instant>,
        mut failures: u32,
    ) -> Result<Conn, End> {
        let base_deadline = first_deadline.or(lost_at).expect("a deadline");
        loop {
            let deadline = self
                .close_deadline
                .map_or(base_deadline, |c| c.min(base_deadline));
            if failures > 0 {
                let cap = Duration::from_secs(1).min(self.timeout / 3);
                let wake = Instant::now() + reconnect_backoff(failures, cap);
                loop {
                    tokio::select! {
                        _ = sleep_until(wake) => break,
                        _ = sleep_until(deadline) => return Err(self.deadline_end(first_deadline)),
                        cmd = self.cmds.recv(), if self.close_deadline.is_none() => {
                            self.on_command_disconnected(cmd)?
                        }
                    }
                }
            }
            let deadline = self
                .close_deadline
                .map_or(base_deadline, |c| c.min(base_deadline));
            if Instant::now() >= deadline {
                return Err(self.deadline_end(first_deadline));
            }
            let host_index = self.next_host % self.hosts.len();
            let host = self.hosts[host_index].clone();
            self.next_host = (host_index + 1) % self.hosts.len();
            let attempt_deadline = if first_deadline.is_some() {
                deadline
            } else {
                deadline.min(Instant::now() + self.cfg.connect_timeout.min(self.timeout * 2 / 3))
            };
            let request = self.connect_request();
            let asked_session = request.session_id;
            let attempt = connect_once(host.clone(), request, attempt_deadline);
            tokio::pin!(attempt);
            let result = loop {
                tokio::select! {
                    r = &mut attempt => break r,
                    cmd = self.cmds.recv(), if self.close_deadline.is_none() => {
                        self.on_command_disconnected(cmd)?
                    }
                }
            };
            let (mut conn, resp) = match result {
                Ok(ok) => ok,
                Err(why) => {
                    debug!(%host, reason = %why, "connection attempt failed");
                    failures += 1;
                    continue;
                }
            };
            if resp.time_out <= 0 || resp.session_id == 0 {
                info!(%host, "server says the session expired");
                return Err(End::Expired);
            }
            if asked_session != 0 && resp.session_id != asked_session {
                warn!(
                    %host,
                    ours = format_args!("0x{:x}", self.session_id),
                    theirs = format_args!("0x{:x}", resp.session_id),
                    "server answered with another session: ours is lost"
                );
                // Close the session we did not ask for.
                let _ = conn
                    .stream
                    .write_all(&Request::CloseSession.to_frame(self.take_xid()))
                    .await;
                return Err(End::Expired);
            }
            let resumed = asked_session != 0;
            self.session_id = resp.session_id;
            self.passwd = resp.passwd.clone();
            self.timeout = Duration::from_millis(resp.time_out as u64);
            self.shared
                .session_id
                .store(resp.session_id, Ordering::SeqCst);
            *self.shared.passwd.lock().unwrap() = resp.passwd.clone();
            self.shared
                .timeout_ms
                .store(resp.time_out as u64, Ordering::SeqCst);
            *self.shared.host.lock().unwrap() = Some(host.to_string());
            let read_only = resp.read_only == Some(true);
            info!(
                %host,
                session = format_args!("0x{:x}", resp.session_id),
                timeout_ms = resp.time_out,
                read_only,
                resumed,
                "connected"
            );
            self.current_host = host_index;
            self.read_only_conn = read_only;
            self.seen_rw |= !read_only;
            self.state.set(if read_only {
                SessionState::ReadOnly
            } else if first_deadline.is_some() || !resumed {
                SessionState::Connected
            } else {
                SessionState::Reconnected
            });
            return Ok(conn);
        }
    }

    fn deadline_end(&self, first_deadline: Option<Instant>) -> End {
        if self.close_deadline.is_some() {
            End::Closed
        } else if first_deadline.is_some() {
            End::Timeout
        } else {
            info!("suspended for longer than the session timeout: session lost");
            End::Expired
        }
    }

    /// A command while disconnected: queue it. A close (or every handle
    /// dropped) keeps trying to reconnect for a short while, to close the
    /// session on the server rather than leave it to expire; before the
    /// first session it stops at once.
    fn on_command_disconnected(&mut self, cmd: Option<Command>) -> Result<(), End> {
        match cmd {
            Some(Command::Request { req, watch, reply }) => self
                .queued
                .push_back(Outgoing::Request { req, watch, reply }),
            Some(Command::Auth {
                scheme,
                auth,
                reply,
            }) => self.queued.push_back(Outgoing::Auth {
                scheme,
                auth,
                reply,
            }),
            Some(Command::Close { done }) => {
                self.close_waiters.push(done);
                return self.request_close();
            }
            None => return self.request_close(),
        }
        Ok(())
    }

    fn request_close(&mut self) -> Result<(), End> {
        if self.session_id == 0 || !self.seen_rw {
            // No session, or a read-only server's local one: nothing to
            // close elsewhere (that server forgets it after its timeout).
            return Err(End::Closed);
        }
        info!("close requested while disconnected: reconnecting to close the session");
        self.close_deadline = Some(Instant::now() + self.timeout.min(Duration::from_secs(2)));
        Ok(())
    }

    fn take_xid(&mut self) -> i32 {
        let x = self.next_xid;
        self.next_xid = if x >= i32::MAX - 1 { 1 } else { x + 1 };
        x
    }

    fn send_request(
        &mut self,
        req: Request,
        watch: Option<WatchReg>,
        reply: Option<ReplyTx>,
        wbuf: &mut Vec<u8>,
    ) {
        let op = req.op_code();
        let xid = if matches!(op, OpCode::SetWatches | OpCode::SetWatches2) {
            xid::SET_WATCHES
        } else {
            self.take_xid()
        };
        debug!(xid, op = op.name(), path = req.path(), "request");
        encode_frame(&req, xid, wbuf);
        self.in_flight.push_back(InFlight {
            xid,
            op,
            watch,
            reply,
        });
    }

    fn send_auth(
        &mut self,
        scheme: &str,
        auth: &[u8],
        reply: Option<oneshot::Sender<Result<()>>>,
        wbuf: &mut Vec<u8>,
    ) {
        let req = Request::Auth(AuthPacket {
            auth_type: 0,
            scheme: scheme.to_owned(),
            auth: auth.to_vec(),
        });
        wbuf.extend_from_slice(&req.to_frame(xid::AUTH));
        self.auth_waiters.push_back(reply);
    }

    /// Runs one connection until it ends: credentials, watch
    /// re-registration and queued requests first, then new requests, replies,
    /// notifications, pings and the read deadline.
    async fn serve(
        &mut self,
        conn: &mut Conn,
        ready: &mut Option<oneshot::Sender<Result<()>>>,
    ) -> End {
        let mut wbuf: Vec<u8> = Vec::new();
        for (scheme, auth) in self.auths.clone() {
            self.send_auth(&scheme, &auth, None, &mut wbuf);
        }
        let set_watches = self.registry.set_watches(self.last_zxid);
        if !set_watches.is_empty() {
            info!(
                watches = self.registry.len(),
                packets = set_watches.len(),
                relative_zxid = format_args!("0x{:x}", self.last_zxid),
                "re-registering watches"
            );
        }
        for req in set_watches {
            self.send_request(req, None, None, &mut wbuf);
        }
        while let Some(out) = self.queued.pop_front() {
            match out {
                Outgoing::Request { req, watch, reply } => {
                    self.send_request(req, watch, Some(reply), &mut wbuf)
                }
                Outgoing::Auth {
                    scheme,
                    auth,
                    reply,
                } => {
                    self.auths.push((scheme.clone(), auth.clone()));
                    self.send_auth(&scheme, &auth, Some(reply), &mut wbuf);
                }
            }
        }
        // The first session is usable once its credentials are accepted:
        // wait for the auth replies of the builder's credentials.
        let mut initial_auths = if ready.is_some() {
            self.auth_waiters.len()
        } else {
            0
        };
        if initial_auths == 0 {
            if let Some(r) = ready.take() {
                let _ = r.send(Ok(()));
            }
        }

        let read_timeout = self.timeout * 2 / 3;
        let ping_every = self.timeout / 3;
        let mut last_recv = Instant::now();
        let mut last_send = Instant::now();
        if self.close_deadline.is_some() {
            self.start_close(&mut wbuf);
        }
        // Timers live across iterations and are only re-armed when they
        // fire (then checked against the latest send / receive time): a
        // fresh timer per iteration would be registered with the runtime's
        // timer wheel, and wake its driver, once per request and reply.
        let ping_timer = sleep_until(last_send + ping_every);
        let read_timer = sleep_until(last_recv + read_timeout);
        let close_timer = sleep_until(self.close_deadline.unwrap_or(last_recv + self.timeout));
        tokio::pin!(ping_timer, read_timer, close_timer);
        // Connected read-only: look for a read-write server meanwhile.
        let mut rw_search = self.read_only_conn.then(|| {
            let probe_timeout = self.cfg.connect_timeout.min(self.timeout);
            RwSearch::new(self.hosts.clone(), self.current_host, probe_timeout)
        });
        let rw_found = async {
            match rw_search.as_mut() {
                Some(search) => search.find().await,
                None => std::future::pending().await,
            }
        };
        tokio::pin!(rw_found);
        let (mut rd, mut wr) = conn.stream.split();
        loop {
            if conn.rbuf.capacity() - conn.rbuf.len() < 16 * 1024 {
                conn.rbuf.reserve(64 * 1024);
            }
            if let Some(d) = self.close_deadline {
                if close_timer.deadline() != d {
                    close_timer.as_mut().reset(d);
                }
            }
            tokio::select! {
                r = rd.read_buf(&mut conn.rbuf) => {
                    match r {
                        Ok(0) => return End::Disconnected("server closed the connection".into()),
                        Ok(_) => last_recv = Instant::now(),
                        Err(e) => return End::Disconnected(format!("read: {e}")),
                    }
                    loop {
                        let len = match check_frame(&conn.rbuf, MAX_FRAME) {
                            Ok(Some(len)) => len,
                            Ok(None) => break,
                            Err(e) => return End::Disconnected(format!("bad frame: {e}")),
                        };
                        conn.rbuf.advance(4);
                        let frame = conn.rbuf.split_to(len);
                        let was_auth = frame.len() >= 4 && frame[..4] == xid::AUTH.to_be_bytes();
                        if let Some(end) = self.on_frame(&frame) {
                            return end;
                        }
                        if was_auth && initial_auths > 0 {
                            initial_auths -= 1;
                            if initial_auths == 0 {
                                if let Some(r) = ready.take() {
                                    let _ = r.send(Ok(()));
                                }
                            }
                        }
                    }
                }
                r = wr.write(&wbuf), if !wbuf.is_empty() => {
                    match r {
                        Ok(n) => {
                            wbuf.drain(..n);
                            last_send = Instant::now();
                        }
                        Err(e) => return End::Disconnected(format!("write: {e}")),
                    }
                }
                cmd = self.cmds.recv(), if self.close_deadline.is_none() => {
                    self.on_command(cmd, &mut wbuf);
                    // Take the commands already queued too, so that a burst
                    // of pipelined requests goes out in one write rather
                    // than one write (and one server read) per request.
                    let taken = 1 + self.take_queued(MAX_BATCH - 1, &mut wbuf);
                    if self.woken > taken && self.close_deadline.is_none() {
                        // More callers got their replies than have sent a
                        // new request: on a multi-threaded runtime they may
                        // be about to (this task is often run right after
                        // the first one sends). Let them, then take theirs
                        // too.
                        tokio::task::yield_now().await;
                        self.take_queued(MAX_BATCH - taken, &mut wbuf);
                    }
                    self.woken = 0;
                }
                _ = &mut ping_timer, if wbuf.is_empty() && self.close_deadline.is_none() => {
                    if Instant::now() >= last_send + ping_every {
                        wbuf.extend_from_slice(&Request::Ping.to_frame(xid::PING));
                        last_send = Instant::now();
                    }
                    ping_timer.as_mut().reset(last_send + ping_every);
                }
                _ = &mut read_timer => {
                    if Instant::now() >= last_recv + read_timeout {
                        return End::Disconnected(format!(
                            "nothing received for {} ms", read_timeout.as_millis()
                        ));
                    }
                    read_timer.as_mut().reset(last_recv + read_timeout);
                }
                _ = &mut close_timer, if self.close_deadline.is_some() => {
                    debug!("no reply to closeSession in time");
                    return End::Closed;
                }
                i = &mut rw_found, if self.close_deadline.is_none() => {
                    let host = &self.hosts[i];
                    info!(%host, "a read-write server answers: leaving the read-only one");
                    self.next_host = i;
                    return End::Disconnected(format!("moving to read-write server {host}"));
                }
            }
        }
    }

    /// Encodes up to `max` commands already in the channel (fewer once
    /// `MAX_BATCH_BYTES` are waiting to be written); returns how many.
    fn take_queued(&mut self, max: usize, wbuf: &mut Vec<u8>) -> usize {
        let mut n = 0;
        while n < max && wbuf.len() < MAX_BATCH_BYTES && self.close_deadline.is_none() {
            match self.cmds.try_recv() {
                Ok(cmd) => self.on_command(Some(cmd), wbuf),
                Err(_) => break,
            }
            n += 1;
        }
        n
    }

    /// A command while connected: encode it into `wbuf`.
    fn on_command(&mut self, cmd: Option<Command>, wbuf: &mut Vec<u8>) {
        match cmd {
            Some(Command::Request { req, watch, reply }) => {
                self.send_request(req, watch, Some(reply), wbuf)
            }
            Some(Command::Auth {
                scheme,
                auth,
                reply,
            }) => {
                self.auths.push((scheme.clone(), auth.clone()));
                self.send_auth(&scheme, &auth, Some(reply), wbuf);
            }
            Some(Command::Close { done }) => {
                self.close_waiters.push(done);
                self.start_close(wbuf);
            }
            None => self.start_close(wbuf),
        }
    }

    /// Queues closeSession; its reply (or the close deadline, also across
    /// a reconnection) ends the session.
    fn start_close(&mut self, wbuf: &mut Vec<u8>) {
        info!("closing session");
        self.send_request(Request::CloseSession, None, None, wbuf);
        if self.close_deadline.is_none() {
            self.close_deadline = Some(Instant::now() + self.timeout.min(Duration::from_secs(2)));
        }
    }

    /// Handles one frame from the server; `Some` ends the connection.
    fn on_frame(&mut self, frame: &[u8]) -> Option<End> {
        let mut r = Reader::new(frame);
        let header = match ReplyHeader::decode(&mut r) {
            Ok(h) => h,
            Err(e) => return Some(End::Disconnected(format!("bad reply header: {e}"))),
        };
        match header.xid {
            xid::NOTIFICATION => {
                let ev = match WatcherEvent::decode(&mut r) {
                    Ok(ev) => ev,
                    Err(e) => return Some(End::Disconnected(format!("bad notification: {e}"))),
                };
                if header.zxid > self.last_zxid {
                    self.set_last_zxid(header.zxid);
                }
                let Some(event_type) = EventType::from_i32(ev.event_type) else {
                    warn!(event_type = ev.event_type, "unknown event type ignored");
                    return None;
                };
                debug!(?event_type, path = %ev.path, "notification");
                self.registry.on_event(
                    event_type,
                    KeeperState::from_i32(ev.state),
                    &ev.path,
                    &self.jobs,
                );
                None
            }
            xid::PING => None,
            xid::AUTH => {
                let waiter = self.auth_waiters.pop_front().flatten();
                if header.err == ErrorCode::AuthFailed as i32 {
                    warn!("authentication failed");
                    if let Some(w) = waiter {
                        let _ = w.send(Err(Error::AuthFailed));
                    }
                    return Some(End::AuthFailed);
                }
                if let Some(w) = waiter {
                    let _ = w.send(if header.err == 0 {
                        Ok(())
                    } else {
                        Err(Error::from_code(header.err))
                    });
                }
                None
            }
            x => {
                let Some(p) = self.in_flight.pop_front() else {
                    return Some(End::Disconnected(format!(
                        "reply with xid {x} but no request in flight"
                    )));
                };
                if p.xid != x {
                    let end =
                        End::Disconnected(format!("xid out of order: expected {}, got {x}", p.xid));
                    self.in_flight.push_front(p);
                    return Some(end);
                }
                if header.zxid > self.last_zxid {
                    self.set_last_zxid(header.zxid);
                }
                debug!(xid = x, err = header.err, "reply");
                if let Some(w) = p.watch {
                    self.registry.on_reply(w, header.err, &self.jobs);
                }
                match p.op {
                    OpCode::CloseSession => {
                        if let Some(reply) = p.reply {
                            let _ = reply.send(Ok(RawReply {
                                err: header.err,
                                body: Vec::new(),
                            }));
                        }
                        return Some(End::Closed);
                    }
                    OpCode::SetWatches | OpCode::SetWatches2 if header.err != 0 => {
                        warn!(err = header.err, "SetWatches failed");
                    }
                    _ => {}
                }
                if let Some(reply) = p.reply {
                    let _ = reply.send(Ok(RawReply {
                        err: header.err,
                        body: r.rest().to_vec(),
                    }));
                    self.woken += 1;
                }
                None
            }
        }
    }

    fn set_last_zxid(&mut self, zxid: i64) {
        self.last_zxid = zxid;
        self.shared.last_zxid.store(zxid, Ordering::SeqCst);
    }

    fn fail_in_flight(&mut self, err: Error) {
        for p in self.in_flight.drain(..) {
            if let Some(reply) = p.reply {
                let _ = reply.send(Err(err.clone()));
            }
        }
        for w in self.auth_waiters.drain(..).flatten() {
            let _ = w.send(Err(err.clone()));
        }
    }

    /// Ends the session: publishes the terminal state, tells every watcher
    /// and fails everything pending, including commands still in the
    /// channel.
    async fn finish(mut self, state: SessionState) {
        let (err, keeper) = match state {
            SessionState::Lost => (Error::SessionExpired, KeeperState::Expired),
            SessionState::AuthFailed => (Error::AuthFailed, KeeperState::AuthFailed),
            _ => (Error::Closed, KeeperState::Closed),
        };
        self.state.set(state);
        self.registry.close_all(keeper, &self.jobs);
        self.fail_in_flight(err.clone());
        for out in self.queued.drain(..) {
            match out {
                Outgoing::Request { reply, .. } => {
                    let _ = reply.send(Err(err.clone()));
                }
                Outgoing::Auth { reply, .. } => {
                    let _ = reply.send(Err(err.clone()));
                }
            }
        }
        self.cmds.close();
        while let Some(cmd) = self.cmds.recv().await {
            match cmd {
                Command::Request { reply, .. } => {
                    let _ = reply.send(Err(err.clone()));
                }
                Command::Auth { reply, .. } => {
                    let _ = reply.send(Err(err.clone()));
                }
                Command::Close { done } => self.close_waiters.push(done),
            }
        }
        for w in self.close_waiters.drain(..) {
            let _ = w.send(());
        }
        info!(?state, "session ended");
    }
}

/// Appends `req`'s frame (length, header with `xid`, body) to `wbuf`:
/// `Request::to_frame` without its intermediate buffer.
fn encode_frame(req: &Request, xid: i32, wbuf: &mut Vec<u8>) {
    let start = wbuf.len();
    let mut w = Writer {
        buf: std::mem::take(wbuf),
    };
    w.write_i32(0);
    RequestHeader {
        xid,
        op_type: req.op_code() as i32,
    }
    .encode(&mut w);
    req.encode_body(&mut w);
    let len = (w.buf.len() - start - 4) as i32;
    w.buf[start..start + 4].copy_from_slice(&len.to_be_bytes());
    *wbuf = w.buf;
}

/// One connection attempt: resolve, connect, handshake.
async fn connect_once(
    host: HostPort,
    request: ConnectRequest,
    deadline: Instant,
) -> std::result::Result<(Conn, ConnectResponse), String> {
    let attempt = async {
        let addrs = tokio::net::lookup_host((host.host.as_str(), host.port))
            .await
            .map_err(|e| format!("resolve: {e}"))?;
        let mut last = String::from("no address");
        let mut stream = None;
        for addr in addrs {
            match TcpStream::connect(addr).await {
                Ok(s) => {
                    stream = Some(s);
                    break;
                }
                Err(e) => last = format!("connect {addr}: {e}"),
            }
        }
        let mut stream = stream.ok_or(last)?;
        let _ = stream.set_nodelay(true);
        let mut w = Writer::new();
        w.write_i32(0);
        request.encode(&mut w);
        let len = (w.buf.len() - 4) as i32;
        w.buf[..4].copy_from_slice(&len.to_be_bytes());
        stream
            .write_all(&w.buf)
            .await
            .map_err(|e| format!("write: {e}"))?;
        let mut rbuf = BytesMut::with_capacity(4096);
        loop {
            match check_frame(&rbuf, MAX_FRAME) {
                Ok(Some(len)) => {
                    rbuf.advance(4);
                    let frame = rbuf.split_to(len);
                    let resp = ConnectResponse::decode(&frame)
                        .map_err(|e| format!("bad connect response: {e}"))?;
                    return Ok((Conn { stream, rbuf }, resp));
                }
                Ok(None) => {}
                Err(e) => return Err(format!("bad frame: {e}")),
            }
            match stream.read_buf(&mut rbuf).await {
                Ok(0) => return Err("closed during handshake".to_string()),
                Ok(_) => {}
                Err(e) => return Err(format!("read: {e}")),
            }
        }
    };
    match timeout_at(deadline, attempt).await {
        Ok(r) => r,
        Err(_) => Err("timed out".to_string()),
    }
}
