//! A raw, pipelined ZooKeeper connection: the handshake, then request frames
//! written in batches and replies read back in order. No client library, no
//! background tasks: the caller drives both directions.

use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use bytes::{Buf, BytesMut};
use corral_protocol::{
    check_frame, xid, ConnectRequest, ConnectResponse, Decode, Reader, ReplyHeader, Request,
    Writer, DEFAULT_MAX_BUFFER,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// How long to wait for the TCP connection and for the handshake answer.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// The header of one reply; the body is skipped (the benchmark only needs
/// the result code).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reply {
    pub xid: i32,
    pub zxid: i64,
    pub err: i32,
}

impl Reply {
    /// Server pings and watch notifications, which answer no request of ours.
    pub fn is_unsolicited(&self) -> bool {
        self.xid == xid::PING || self.xid == xid::NOTIFICATION
    }
}

/// One ZooKeeper session over one TCP connection.
pub struct Conn {
    addr: String,
    stream: TcpStream,
    rbuf: BytesMut,
    wbuf: Vec<u8>,
}

impl Conn {
    /// Connects to `addr` and opens a new session asking for `timeout_ms`.
    pub async fn connect(addr: &str, timeout_ms: i32) -> Result<Conn> {
        let stream = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(addr))
            .await
            .map_err(|_| anyhow!("cannot connect to {addr}: timed out"))?
            .with_context(|| format!("cannot connect to {addr}"))?;
        stream.set_nodelay(true)?;
        let mut conn = Conn {
            addr: addr.to_owned(),
            stream,
            rbuf: BytesMut::with_capacity(64 * 1024),
            wbuf: Vec::with_capacity(64 * 1024),
        };
        tokio::time::timeout(CONNECT_TIMEOUT, conn.handshake(timeout_ms))
            .await
            .map_err(|_| anyhow!("{addr}: no answer to the session handshake"))??;
        Ok(conn)
    }

    async fn handshake(&mut self, timeout_ms: i32) -> Result<()> {
        let req = ConnectRequest {
            protocol_version: 0,
            last_zxid_seen: 0,
            time_out: timeout_ms,
            session_id: 0,
            passwd: vec![0; 16],
            read_only: Some(false),
        };
        let mut w = Writer::with_capacity(64);
        w.write_i32(0);
        req.encode(&mut w);
        let len = (w.buf.len() - 4) as i32;
        w.buf[..4].copy_from_slice(&len.to_be_bytes());
        self.wbuf.extend_from_slice(&w.buf);
        self.flush().await?;
        let frame = loop {
            if let Some(frame) = self.take_frame()? {
                break frame;
            }
            self.fill().await.with_context(|| {
                "no session: the server dropped the handshake \
                 (too many connections from this host? see maxClientCnxns)"
            })?;
        };
        let resp = ConnectResponse::decode(&frame)
            .with_context(|| format!("{}: malformed handshake answer", self.addr))?;
        if resp.session_id == 0 || resp.time_out <= 0 {
            bail!("{}: the server refused to open a session", self.addr);
        }
        Ok(())
    }

    /// Appends a request frame to the write buffer (sent by [`Conn::flush`]).
    pub fn queue(&mut self, xid: i32, req: &Request) {
        self.wbuf.extend_from_slice(&req.to_frame(xid));
    }

    /// Appends a prebuilt request frame, patching its xid in place.
    pub fn queue_template(&mut self, frame: &[u8], xid: i32) {
        let at = self.wbuf.len();
        self.wbuf.extend_from_slice(frame);
        self.wbuf[at + 4..at + 8].copy_from_slice(&xid.to_be_bytes());
    }

    /// Writes everything queued.
    pub async fn flush(&mut self) -> Result<()> {
        if self.wbuf.is_empty() {
            return Ok(());
        }
        self.stream
            .write_all(&self.wbuf)
            .await
            .with_context(|| format!("connection to {} lost while sending", self.addr))?;
        self.wbuf.clear();
        Ok(())
    }

    /// Reads whatever the socket has (at least one byte); a closed
    /// connection is an error.
    pub async fn fill(&mut self) -> Result<()> {
        if self.rbuf.capacity() - self.rbuf.len() < 16 * 1024 {
            self.rbuf.reserve(64 * 1024);
        }
        let n = self
            .stream
            .read_buf(&mut self.rbuf)
            .await
            .with_context(|| format!("connection to {} lost", self.addr))?;
        if n == 0 {
            bail!("{} closed the connection", self.addr);
        }
        Ok(())
    }

    /// The length of the next whole frame already buffered, if any.
    fn frame_len(&self) -> Result<Option<usize>> {
        check_frame(&self.rbuf, DEFAULT_MAX_BUFFER + 1024)
            .with_context(|| format!("{}: bad frame", self.addr))
    }

    /// The next whole frame already buffered, without its length prefix.
    fn take_frame(&mut self) -> Result<Option<BytesMut>> {
        let Some(len) = self.frame_len()? else {
            return Ok(None);
        };
        self.rbuf.advance(4);
        Ok(Some(self.rbuf.split_to(len)))
    }

    fn decode_header(&self, frame: &[u8]) -> Result<(Reply, usize)> {
        let mut r = Reader::new(frame);
        let header = ReplyHeader::decode(&mut r)
            .with_context(|| format!("{}: malformed reply header", self.addr))?;
        let reply = Reply {
            xid: header.xid,
            zxid: header.zxid,
            err: header.err,
        };
        Ok((reply, r.position()))
    }

    /// The next reply already buffered, if any (no I/O); its body is skipped.
    pub fn try_reply(&mut self) -> Result<Option<Reply>> {
        let Some(len) = self.frame_len()? else {
            return Ok(None);
        };
        let (reply, _) = self.decode_header(&self.rbuf[4..4 + len])?;
        self.rbuf.advance(4 + len);
        Ok(Some(reply))
    }

    /// The next reply already buffered, if any (no I/O), with its body.
    pub fn try_reply_with_body(&mut self) -> Result<Option<(Reply, BytesMut)>> {
        let Some(mut frame) = self.take_frame()? else {
            return Ok(None);
        };
        let (reply, at) = self.decode_header(&frame)?;
        frame.advance(at);
        Ok(Some((reply, frame)))
    }

    /// Waits for the next reply to one of our requests, with its body,
    /// skipping pings and notifications.
    pub async fn next_reply_with_body(&mut self) -> Result<(Reply, BytesMut)> {
        loop {
            match self.take_frame()? {
                Some(mut frame) => {
                    let (reply, at) = self.decode_header(&frame)?;
                    if !reply.is_unsolicited() {
                        frame.advance(at);
                        return Ok((reply, frame));
                    }
                }
                None => self.fill().await?,
            }
        }
    }

    /// Waits for the next reply to one of our requests, skipping pings and
    /// notifications.
    pub async fn next_reply(&mut self) -> Result<Reply> {
        Ok(self.next_reply_with_body().await?.0)
    }

    /// Sends one request and waits for its reply and the reply's body.
    pub async fn call_with_body(&mut self, xid: i32, req: &Request) -> Result<(Reply, BytesMut)> {
        self.queue(xid, req);
        self.flush().await?;
        let (reply, body) = self.next_reply_with_body().await?;
        if reply.xid != xid {
            bail!(
                "{}: reply for xid {} while waiting for {xid}",
                self.addr,
                reply.xid
            );
        }
        Ok((reply, body))
    }

    /// Sends one request and waits for its reply.
    pub async fn call(&mut self, xid: i32, req: &Request) -> Result<Reply> {
        Ok(self.call_with_body(xid, req).await?.0)
    }

    /// Closes the session politely; errors are ignored (the run is over).
    pub async fn close(mut self, xid: i32) {
        let close = async {
            self.queue(xid, &Request::CloseSession);
            self.flush().await?;
            loop {
                if self.next_reply().await?.xid == xid {
                    return Ok::<_, anyhow::Error>(());
                }
            }
        };
        let _ = tokio::time::timeout(Duration::from_secs(2), close).await;
    }
}
