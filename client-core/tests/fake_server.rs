//! Misbehaving servers (a tokio listener in the test): never answers, goes
//! silent, closes mid-frame, replies with an unknown xid, answers with
//! another session, says the session expired, rejects credentials. The
//! client must fail requests with ConnectionLoss (or report Lost /
//! AuthFailed), never panic and never hang.

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use corral_client::protocol::{
    xid, ConnectRequest, ConnectResponse, Encode, ReplyHeader, Request, Writer,
};
use corral_client::{Client, Error, KeeperState, SessionState, WatchedEvent};
use support::within;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const T_MS: i32 = 600;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Handshake {
    Never,
    Answer {
        session: i64,
    },
    /// A read-only server.
    ReadOnly {
        session: i64,
    },
    Expired,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum OnRequest {
    /// Pings, exists (NoNode), closeSession and auth are answered.
    Answer,
    Silent,
    CloseMidFrame,
    /// Closes mid-frame on the next request, then answers.
    CloseMidFrameOnce,
    WrongXid,
    Close,
}

struct Ctl {
    handshake: Mutex<Handshake>,
    on_request: Mutex<OnRequest>,
    connections: AtomicUsize,
    close_sessions: AtomicUsize,
}

struct Fake {
    port: u16,
    ctl: Arc<Ctl>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Fake {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Fake {
    async fn start(handshake: Handshake, on_request: OnRequest) -> Fake {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let ctl = Arc::new(Ctl {
            handshake: Mutex::new(handshake),
            on_request: Mutex::new(on_request),
            connections: AtomicUsize::new(0),
            close_sessions: AtomicUsize::new(0),
        });
        let c = ctl.clone();
        let task = tokio::spawn(async move {
            let mut conns = Vec::new();
            while let Ok((s, _)) = listener.accept().await {
                c.connections.fetch_add(1, Ordering::SeqCst);
                conns.push(tokio::spawn(serve(s, c.clone())));
            }
        });
        Fake { port, ctl, task }
    }

    fn hosts(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    fn set(&self, handshake: Option<Handshake>, on_request: Option<OnRequest>) {
        if let Some(h) = handshake {
            *self.ctl.handshake.lock().unwrap() = h;
        }
        if let Some(o) = on_request {
            *self.ctl.on_request.lock().unwrap() = o;
        }
    }
}

async fn read_frame(s: &mut TcpStream) -> Option<Vec<u8>> {
    let mut len = [0u8; 4];
    s.read_exact(&mut len).await.ok()?;
    let mut buf = vec![0u8; i32::from_be_bytes(len) as usize];
    s.read_exact(&mut buf).await.ok()?;
    Some(buf)
}

fn framed(f: impl FnOnce(&mut Writer)) -> Vec<u8> {
    let mut w = Writer::new();
    w.write_i32(0);
    f(&mut w);
    let len = (w.buf.len() - 4) as i32;
    w.buf[..4].copy_from_slice(&len.to_be_bytes());
    w.into_inner()
}

fn reply(xid: i32, err: i32) -> Vec<u8> {
    framed(|w| ReplyHeader { xid, zxid: 1, err }.encode(w))
}

async fn serve(mut s: TcpStream, ctl: Arc<Ctl>) {
    let Some(frame) = read_frame(&mut s).await else {
        return;
    };
    let req = ConnectRequest::decode(&frame).unwrap();
    let handshake = *ctl.handshake.lock().unwrap();
    let (time_out, session_id) = match handshake {
        Handshake::Never => {
            // Read and ignore everything.
            while read_frame(&mut s).await.is_some() {}
            return;
        }
        Handshake::Answer { session } | Handshake::ReadOnly { session } => (T_MS, session),
        Handshake::Expired => (0, 0),
    };
    let read_only = matches!(handshake, Handshake::ReadOnly { .. });
    let resp = ConnectResponse {
        protocol_version: 0,
        time_out,
        session_id,
        passwd: vec![7; 16],
        read_only: req.read_only.map(|_| read_only),
    };
    if s.write_all(&framed(|w| resp.encode(w))).await.is_err() || time_out == 0 {
        return;
    }
    while let Some(frame) = read_frame(&mut s).await {
        let Ok((header, request)) = Request::decode_frame(&frame) else {
            return;
        };
        if matches!(request, Request::CloseSession) {
            ctl.close_sessions.fetch_add(1, Ordering::SeqCst);
        }
        let mode = *ctl.on_request.lock().unwrap();
        if mode == OnRequest::CloseMidFrameOnce && header.xid != xid::PING {
            *ctl.on_request.lock().unwrap() = OnRequest::Answer;
            let mut partial = reply(header.xid, 0);
            partial[3] = 100;
            let _ = s.write_all(&partial).await;
            return;
        }
        let out = match mode {
            OnRequest::Silent => continue,
            OnRequest::Close => return,
            OnRequest::CloseMidFrame => {
                let mut partial = reply(header.xid, 0);
                partial[3] = 100; // announce more than is sent
                let _ = s.write_all(&partial).await;
                return;
            }
            OnRequest::WrongXid if header.xid != xid::PING => reply(999, 0),
            _ => match request {
                Request::Exists(_) => reply(header.xid, -101),
                Request::Auth(a) if a.scheme == "bad" => reply(xid::AUTH, -115),
                Request::Auth(_) => reply(xid::AUTH, 0),
                _ => reply(header.xid, 0),
            },
        };
        if s.write_all(&out).await.is_err() {
            return;
        }
    }
}

async fn connect(fake: &Fake) -> Client {
    Client::builder(&fake.hosts())
        .session_timeout(Duration::from_millis(T_MS as u64))
        .connect_timeout(Duration::from_secs(2))
        .connect()
        .await
        .unwrap()
}

fn record_states(c: &Client) -> Arc<Mutex<Vec<SessionState>>> {
    let states = Arc::new(Mutex::new(Vec::new()));
    let s = states.clone();
    c.add_listener(move |st| s.lock().unwrap().push(st));
    states
}

const LIMIT: Duration = Duration::from_secs(10);

#[tokio::test]
async fn handshake_never_answered_times_out() {
    support::init_tracing();
    let fake = Fake::start(Handshake::Never, OnRequest::Answer).await;
    let start = Instant::now();
    let r = within(
        LIMIT,
        "connect",
        Client::builder(&fake.hosts())
            .connect_timeout(Duration::from_millis(500))
            .connect(),
    )
    .await;
    assert_eq!(r.unwrap_err(), Error::Timeout);
    assert!(start.elapsed() < Duration::from_secs(3));
    // nothing listens at all
    let port = support::free_port();
    let r = Client::builder(&format!("127.0.0.1:{port}"))
        .connect_timeout(Duration::from_millis(300))
        .connect()
        .await;
    assert_eq!(r.unwrap_err(), Error::Timeout);
}

#[tokio::test]
async fn silent_server_connection_loss_then_lost() {
    support::init_tracing();
    let fake = Fake::start(Handshake::Answer { session: 0x1234 }, OnRequest::Answer).await;
    let c = connect(&fake).await;
    assert_eq!(c.session_id(), 0x1234);
    assert_eq!(c.session_timeout(), Duration::from_millis(T_MS as u64));
    let states = record_states(&c);
    let (stat, watch) = c.exists_w("/x").await.unwrap();
    assert!(stat.is_none());
    // pings keep the idle connection alive
    tokio::time::sleep(Duration::from_millis(2 * T_MS as u64)).await;
    assert_eq!(c.state(), SessionState::Connected);
    assert_eq!(fake.ctl.connections.load(Ordering::SeqCst), 1);

    fake.set(None, Some(OnRequest::Silent));
    let start = Instant::now();
    assert_eq!(
        within(LIMIT, "exists", c.exists("/x")).await,
        Err(Error::ConnectionLoss)
    );
    assert!(start.elapsed() < Duration::from_millis(T_MS as u64 * 2));
    // the server stays unreachable: Lost after T of Suspended
    fake.set(Some(Handshake::Never), None);
    support::wait_state(&c, SessionState::Lost, LIMIT).await;
    assert_eq!(c.exists("/x").await, Err(Error::SessionExpired));
    assert_eq!(
        within(LIMIT, "watch", watch).await,
        WatchedEvent::session(KeeperState::Expired)
    );
    support::wait_until(LIMIT, || async { states.lock().unwrap().len() >= 2 }).await;
    assert_eq!(
        *states.lock().unwrap(),
        vec![SessionState::Suspended, SessionState::Lost]
    );
    within(LIMIT, "close", c.close()).await;
    assert_eq!(c.state(), SessionState::Lost);
}

#[tokio::test]
async fn silent_server_close_does_not_hang() {
    support::init_tracing();
    let fake = Fake::start(Handshake::Answer { session: 5 }, OnRequest::Silent).await;
    let c = connect(&fake).await;
    let start = Instant::now();
    let pending = {
        let c = c.clone();
        tokio::spawn(async move { c.get_data("/a").await })
    };
    tokio::time::sleep(Duration::from_millis(50)).await;
    within(LIMIT, "close", c.close()).await;
    assert!(start.elapsed() < Duration::from_secs(3));
    assert_eq!(c.state(), SessionState::Closed);
    let r = within(LIMIT, "pending", pending).await.unwrap();
    assert!(
        matches!(r, Err(Error::Closed | Error::ConnectionLoss)),
        "{r:?}"
    );
}

#[tokio::test]
async fn close_mid_frame_is_connection_loss() {
    support::init_tracing();
    let fake = Fake::start(Handshake::Answer { session: 7 }, OnRequest::CloseMidFrame).await;
    let c = connect(&fake).await;
    assert_eq!(
        within(LIMIT, "exists", c.exists("/a")).await,
        Err(Error::ConnectionLoss)
    );
    fake.set(None, Some(OnRequest::Answer));
    support::wait_state(&c, SessionState::Reconnected, LIMIT).await;
    assert_eq!(c.exists("/a").await, Ok(None));
    assert_eq!(c.session_id(), 7);
    c.close().await;
    assert_eq!(fake.ctl.close_sessions.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn unknown_xid_is_connection_loss() {
    support::init_tracing();
    let fake = Fake::start(Handshake::Answer { session: 8 }, OnRequest::WrongXid).await;
    let c = connect(&fake).await;
    let (a, b) = tokio::join!(c.exists("/a"), c.exists("/b"));
    assert_eq!(a, Err(Error::ConnectionLoss));
    assert_eq!(b, Err(Error::ConnectionLoss));
    fake.set(None, Some(OnRequest::Answer));
    support::wait_state(&c, SessionState::Reconnected, LIMIT).await;
    assert_eq!(c.exists("/a").await, Ok(None));
    c.close().await;
}

#[tokio::test]
async fn another_session_on_reconnect_is_lost() {
    support::init_tracing();
    let fake = Fake::start(Handshake::Answer { session: 1 }, OnRequest::Answer).await;
    let c = connect(&fake).await;
    let states = record_states(&c);
    fake.set(
        Some(Handshake::Answer { session: 2 }),
        Some(OnRequest::Close),
    );
    assert_eq!(c.exists("/a").await, Err(Error::ConnectionLoss));
    support::wait_state(&c, SessionState::Lost, LIMIT).await;
    assert_eq!(c.session_id(), 1, "never silently replaced");
    assert_eq!(c.exists("/a").await, Err(Error::SessionExpired));
    support::wait_until(LIMIT, || async { states.lock().unwrap().len() >= 2 }).await;
    assert_eq!(
        *states.lock().unwrap(),
        vec![SessionState::Suspended, SessionState::Lost]
    );
}

#[tokio::test]
async fn expired_on_reconnect_is_lost() {
    support::init_tracing();
    let fake = Fake::start(Handshake::Answer { session: 3 }, OnRequest::Answer).await;
    let c = connect(&fake).await;
    let (_, watch) = c.exists_w("/w").await.unwrap();
    fake.set(Some(Handshake::Expired), Some(OnRequest::Close));
    assert_eq!(c.exists("/a").await, Err(Error::ConnectionLoss));
    support::wait_state(&c, SessionState::Lost, LIMIT).await;
    assert_eq!(
        within(LIMIT, "watch", watch).await,
        WatchedEvent::session(KeeperState::Expired)
    );
    // a saved session the server says is expired
    let r = Client::builder(&fake.hosts())
        .saved_session(3, vec![7; 16])
        .connect()
        .await;
    assert_eq!(r.unwrap_err(), Error::SessionExpired);
}

#[tokio::test]
async fn auth_failed() {
    support::init_tracing();
    let fake = Fake::start(Handshake::Answer { session: 4 }, OnRequest::Answer).await;
    let c = connect(&fake).await;
    c.add_auth("digest", b"u:p").await.unwrap();
    let (_, watch) = c.exists_w("/w").await.unwrap();
    assert_eq!(c.add_auth("bad", b"x").await, Err(Error::AuthFailed));
    support::wait_state(&c, SessionState::AuthFailed, LIMIT).await;
    assert_eq!(c.exists("/a").await, Err(Error::AuthFailed));
    assert_eq!(
        within(LIMIT, "watch", watch).await,
        WatchedEvent::session(KeeperState::AuthFailed)
    );
    // rejected credentials given to the builder fail the connect
    let r = Client::builder(&fake.hosts())
        .auth("bad", b"x")
        .connect()
        .await;
    assert_eq!(r.unwrap_err(), Error::AuthFailed);
}

#[tokio::test]
async fn read_only_server() {
    support::init_tracing();
    let fake = Fake::start(Handshake::ReadOnly { session: 9 }, OnRequest::Answer).await;
    let c = Client::builder(&fake.hosts())
        .read_only(true)
        .connect()
        .await
        .unwrap();
    assert_eq!(c.state(), SessionState::ReadOnly);
    assert!(c.state().is_connected());
    assert_eq!(c.exists("/a").await, Ok(None));
    c.close().await;
}

#[tokio::test]
async fn dropping_every_handle_closes_the_session() {
    support::init_tracing();
    let fake = Fake::start(Handshake::Answer { session: 10 }, OnRequest::Answer).await;
    let c = connect(&fake).await;
    let c2 = c.clone();
    drop(c);
    assert_eq!(c2.exists("/a").await, Ok(None));
    drop(c2);
    let closed = support::wait_until(LIMIT, || async {
        fake.ctl.close_sessions.load(Ordering::SeqCst) == 1
    })
    .await;
    assert!(closed, "no closeSession after the last handle was dropped");
}

#[tokio::test]
async fn request_timeout() {
    support::init_tracing();
    let fake = Fake::start(Handshake::Answer { session: 11 }, OnRequest::Silent).await;
    let c = Client::builder(&fake.hosts())
        .session_timeout(Duration::from_secs(10))
        .request_timeout(Duration::from_millis(100))
        .connect()
        .await
        .unwrap();
    let start = Instant::now();
    assert_eq!(c.exists("/a").await, Err(Error::Timeout));
    assert!(start.elapsed() < Duration::from_secs(2));
    within(LIMIT, "close", c.close()).await;
}

#[tokio::test]
async fn retry_policy_only_where_safe() {
    use corral_client::{CreateOptions, RetryPolicy};
    support::init_tracing();
    let fake = Fake::start(Handshake::Answer { session: 12 }, OnRequest::Answer).await;
    let c = Client::builder(&fake.hosts())
        .session_timeout(Duration::from_millis(T_MS as u64))
        .retry(RetryPolicy::bounded(5, Duration::from_millis(20)))
        .connect()
        .await
        .unwrap();
    // a read is retried after the connection loss
    fake.set(None, Some(OnRequest::CloseMidFrameOnce));
    assert_eq!(within(LIMIT, "exists", c.exists("/a")).await, Ok(None));
    assert_eq!(fake.ctl.connections.load(Ordering::SeqCst), 2);
    // so are versioned writes
    fake.set(None, Some(OnRequest::CloseMidFrameOnce));
    assert!(within(LIMIT, "delete", c.delete("/a", Some(1)))
        .await
        .is_ok());
    // a plain create is not
    support::wait_state(&c, SessionState::Reconnected, LIMIT).await;
    fake.set(None, Some(OnRequest::CloseMidFrameOnce));
    assert_eq!(
        within(
            LIMIT,
            "create",
            c.create("/a", b"", &CreateOptions::default())
        )
        .await,
        Err(Error::ConnectionLoss)
    );
    // neither is an unversioned set_data
    support::wait_state(&c, SessionState::Reconnected, LIMIT).await;
    fake.set(None, Some(OnRequest::CloseMidFrameOnce));
    assert_eq!(
        within(LIMIT, "set", c.set_data("/a", b"", None)).await,
        Err(Error::ConnectionLoss)
    );
    c.close().await;
}
