//! A connection to one peer, dialed on demand: requests are framed
//! protobuf with an id, pipelined, and matched to their replies. When the
//! connection breaks, every request in flight fails and the next request
//! dials again.

use crate::storage::pb::{self, peer_reply, peer_request};
use bytes::{Buf, BytesMut};
use parking_lot::Mutex;
use prost::Message;
use std::collections::HashMap;
use std::io;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufWriter};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};
use tracing::debug;

/// Largest frame a peer may send (a log batch or a snapshot chunk).
pub const MAX_FRAME: usize = 64 << 20;
/// Requests queued to one peer before callers wait (backpressure).
const QUEUE: usize = 1024;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);

type Pending = Arc<Mutex<HashMap<u64, oneshot::Sender<peer_reply::Body>>>>;

struct Conn {
    requests: mpsc::Sender<pb::PeerRequest>,
    pending: Pending,
    /// Cleared by the reply reader when the connection ends, before it
    /// fails what is pending.
    alive: Arc<AtomicBool>,
}

impl Conn {
    fn is_alive(&self) -> bool {
        self.alive.load(Ordering::SeqCst) && !self.requests.is_closed()
    }
}

/// The link to one peer. Cheap to share.
pub struct Link {
    addr: String,
    next_id: AtomicU64,
    conn: tokio::sync::Mutex<Option<Conn>>,
}

impl Link {
    pub fn new(addr: String) -> Link {
        Link {
            addr,
            next_id: AtomicU64::new(1),
            conn: tokio::sync::Mutex::new(None),
        }
    }

    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// Queues a request (in call order) and returns the reply to await.
    pub async fn send(
        &self,
        body: peer_request::Body,
    ) -> io::Result<oneshot::Receiver<peer_reply::Body>> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        let mut conn = self.conn.lock().await;
        if !conn.as_ref().is_some_and(Conn::is_alive) {
            *conn = Some(self.dial().await?);
        }
        let c = conn.as_ref().expect("dialed");
        c.pending.lock().insert(id, tx);
        // Checked after the insert: a reader that ended before it did not
        // see this request, one that ends after it fails it.
        if !c.alive.load(Ordering::SeqCst) {
            c.pending.lock().remove(&id);
            *conn = None;
            return Err(io::Error::new(
                io::ErrorKind::BrokenPipe,
                "peer connection closed",
            ));
        }
        let request = pb::PeerRequest {
            id,
            body: Some(body),
        };
        if c.requests.send(request).await.is_err() {
            c.pending.lock().remove(&id);
            *conn = None;
            return Err(io::Error::new(
                io::ErrorKind::BrokenPipe,
                "peer connection closed",
            ));
        }
        Ok(rx)
    }

    /// Sends a request and waits for its reply, at most `timeout`.
    pub async fn call(
        &self,
        body: peer_request::Body,
        timeout: Duration,
    ) -> io::Result<peer_reply::Body> {
        let work = async {
            let rx = self.send(body).await?;
            rx.await.map_err(|_| {
                io::Error::new(io::ErrorKind::ConnectionAborted, "peer connection lost")
            })
        };
        tokio::time::timeout(timeout, work)
            .await
            .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "peer did not answer in time"))?
    }

    async fn dial(&self) -> io::Result<Conn> {
        let stream = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(&self.addr))
            .await
            .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "connect timed out"))??;
        stream.set_nodelay(true)?;
        debug!(peer = %self.addr, "peer connection up");
        let (read, write) = stream.into_split();
        let (requests, queue) = mpsc::channel(QUEUE);
        let pending: Pending = Default::default();
        let alive = Arc::new(AtomicBool::new(true));
        tokio::spawn(write_requests(write, queue));
        tokio::spawn(read_replies(read, pending.clone(), alive.clone()));
        Ok(Conn {
            requests,
            pending,
            alive,
        })
    }
}

async fn write_requests(
    write: tokio::net::tcp::OwnedWriteHalf,
    mut queue: mpsc::Receiver<pb::PeerRequest>,
) {
    let mut out = BufWriter::new(write);
    let mut buf = Vec::new();
    while let Some(first) = queue.recv().await {
        let mut next = Some(first);
        while let Some(request) = next.take() {
            buf.clear();
            request.encode(&mut buf).expect("vec grows");
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

async fn read_replies(
    mut read: tokio::net::tcp::OwnedReadHalf,
    pending: Pending,
    alive: Arc<AtomicBool>,
) {
    let mut buf = BytesMut::with_capacity(64 << 10);
    // Whatever ends this loop drops `pending`'s senders: their callers see
    // the connection as lost.
    while let Ok(frame) = read_frame(&mut read, &mut buf).await {
        let Ok(reply) = pb::PeerReply::decode(frame) else {
            break;
        };
        let waiter = pending.lock().remove(&reply.id);
        if let (Some(waiter), Some(body)) = (waiter, reply.body) {
            let _ = waiter.send(body);
        }
    }
    alive.store(false, Ordering::SeqCst);
    pending.lock().clear();
}

pub async fn write_frame(out: &mut (impl AsyncWriteExt + Unpin), payload: &[u8]) -> io::Result<()> {
    out.write_all(&(payload.len() as u32).to_be_bytes()).await?;
    out.write_all(payload).await
}

/// Reads one length-prefixed frame.
pub async fn read_frame(
    read: &mut (impl AsyncReadExt + Unpin),
    buf: &mut BytesMut,
) -> io::Result<BytesMut> {
    while buf.len() < 4 {
        if read.read_buf(buf).await? == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
    }
    let len = u32::from_be_bytes([buf[0], buf[1], buf[2], buf[3]]) as usize;
    if len > MAX_FRAME {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("peer frame of {len} bytes is over the limit"),
        ));
    }
    while buf.len() < 4 + len {
        buf.reserve(4 + len - buf.len());
        if read.read_buf(buf).await? == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
    }
    buf.advance(4);
    Ok(buf.split_to(len))
}
