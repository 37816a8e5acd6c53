//! A tiny in-process server speaking just enough of the ZooKeeper protocol to
//! test the load generator: handshake, in-order replies, injected pings and
//! notifications, error replies and dropped connections.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use bytes::{Buf, BytesMut};
use corral_protocol::{
    check_frame, frame, xid, ConnectRequest, ConnectResponse, CreateMode, CreateResponse, Encode,
    ErrorCode, GetDataResponse, ReplyHeader, Request, SetDataResponse, Stat, WatcherEvent, Writer,
    DEFAULT_MAX_BUFFER,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// Answer every setData with NoNode.
    pub fail_set_data: bool,
    /// Before every n-th reply, also send a notification and a ping reply.
    pub notify_every: Option<u64>,
    /// Close each connection after this many requests (handshake excluded).
    pub die_after: Option<u64>,
    /// Answer getData with an empty value instead of the last value written.
    pub lose_data: bool,
    /// Answer every n-th request with NodeExists when it is a sequential
    /// create.
    pub fail_create_every: Option<u64>,
}

/// Starts the server on a free loopback port; returns its address.
pub async fn start(opts: Options) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let sessions = Arc::new(AtomicI64::new(0x100));
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let id = sessions.fetch_add(1, Ordering::Relaxed);
            tokio::spawn(serve(stream, opts, id));
        }
    });
    addr
}

fn packet(header: ReplyHeader, body: Option<&dyn Encode>) -> Vec<u8> {
    let mut w = Writer::new();
    header.encode(&mut w);
    if let Some(body) = body {
        body.encode(&mut w);
    }
    frame(&w.into_inner())
}

async fn serve(mut stream: TcpStream, opts: Options, session_id: i64) {
    let mut buf = BytesMut::new();
    let mut handshaken = false;
    let mut count = 0u64;
    let mut zxid = 0i64;
    // The size of the last value written on this connection: what getData
    // returns (enough for the setup's read-back check).
    let mut value_len = 0;
    loop {
        match stream.read_buf(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let mut out = Vec::new();
        while let Ok(Some(len)) = check_frame(&buf, DEFAULT_MAX_BUFFER) {
            let body = buf[4..4 + len].to_vec();
            buf.advance(4 + len);
            if !handshaken {
                let req = ConnectRequest::decode(&body).unwrap();
                let mut w = Writer::new();
                ConnectResponse {
                    protocol_version: 0,
                    time_out: req.time_out,
                    session_id,
                    passwd: vec![0; 16],
                    read_only: req.read_only,
                }
                .encode(&mut w);
                out.extend(frame(&w.into_inner()));
                handshaken = true;
                continue;
            }
            let (header, req) = Request::decode_frame(&body).unwrap();
            count += 1;
            if opts.die_after.is_some_and(|n| count > n) {
                let _ = stream.write_all(&out).await;
                return;
            }
            if opts
                .notify_every
                .is_some_and(|n| count.checked_rem(n) == Some(0))
            {
                let event = WatcherEvent {
                    event_type: 3,
                    state: 3,
                    path: "/bench/n-000000".into(),
                };
                let h = |x| ReplyHeader {
                    xid: x,
                    zxid: -1,
                    err: 0,
                };
                out.extend(packet(h(xid::NOTIFICATION), Some(&event)));
                out.extend(packet(h(xid::PING), None));
            }
            let mut reply = ReplyHeader {
                xid: header.xid,
                zxid,
                err: 0,
            };
            let bytes = match &req {
                Request::GetData(_) => {
                    let len = if opts.lose_data { 0 } else { value_len };
                    let body = GetDataResponse {
                        data: Some(vec![b'x'; len]),
                        stat: Stat::default(),
                    };
                    packet(reply, Some(&body))
                }
                Request::SetData(_) if opts.fail_set_data => {
                    reply.err = ErrorCode::NoNode.code();
                    packet(reply, None)
                }
                Request::SetData(set) => {
                    value_len = set.data.as_ref().map_or(0, Vec::len);
                    zxid += 1;
                    reply.zxid = zxid;
                    packet(reply, Some(&SetDataResponse::default()))
                }
                Request::Create(c)
                    if c.flags == CreateMode::PersistentSequential.flags()
                        && opts
                            .fail_create_every
                            .is_some_and(|n| count.checked_rem(n) == Some(0)) =>
                {
                    reply.err = ErrorCode::NodeExists.code();
                    packet(reply, None)
                }
                Request::Create(c) => {
                    value_len = c.data.as_ref().map_or(0, Vec::len);
                    zxid += 1;
                    reply.zxid = zxid;
                    let path = format!("{}{:010}", c.path, zxid);
                    packet(reply, Some(&CreateResponse { path }))
                }
                _ => packet(reply, None),
            };
            out.extend(bytes);
            if matches!(req, Request::CloseSession) {
                let _ = stream.write_all(&out).await;
                return;
            }
        }
        if stream.write_all(&out).await.is_err() {
            return;
        }
    }
}
