//! Every decoder of corral-protocol behind one function, for the
//! deterministic random-input test and the cargo-fuzz target (which includes
//! this file with `#[path]`), plus [`Reply`]: a server reply body decoded by
//! the opcode of its request, as a client does.
//!
//! Depends on `corral_protocol` only.

use corral_protocol::jute::{Decode, Encode, Reader, Writer};
use corral_protocol::multi::{
    decode_multi_ops, decode_multi_results, encode_multi_ops, encode_multi_results,
};
use corral_protocol::*;
use std::fmt::Debug;

/// The body of a reply, by the opcode of the request it answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// No body: errors, and delete/setWatches/auth/ping/closeSession/...
    Empty,
    Create(CreateResponse),
    Create2(Create2Response),
    Exists(ExistsResponse),
    GetData(GetDataResponse),
    SetData(SetDataResponse),
    GetAcl(GetAclResponse),
    SetAcl(SetAclResponse),
    GetChildren(GetChildrenResponse),
    GetChildren2(GetChildren2Response),
    Sync(SyncResponse),
    Multi(Vec<MultiResult>),
    GetEphemerals(GetEphemeralsResponse),
    GetAllChildrenNumber(GetAllChildrenNumberResponse),
    AddWatch(ErrorResponse),
    WhoAmI(WhoAmIResponse),
    Notification(WatcherEvent),
}

impl Reply {
    /// Decodes a reply body (after the `ReplyHeader`). `op` is `None` for a
    /// notification (xid -1). With `err != 0` ZooKeeper sends no body.
    pub fn decode(op: Option<OpCode>, err: i32, body: &[u8]) -> Result<Reply, DecodeError> {
        let Some(op) = op else {
            return WatcherEvent::from_bytes(body).map(Reply::Notification);
        };
        if err != 0 {
            return Reader::new(body).finish().map(|_| Reply::Empty);
        }
        Ok(match op {
            OpCode::Create => Reply::Create(CreateResponse::from_bytes(body)?),
            OpCode::Create2 | OpCode::CreateContainer | OpCode::CreateTtl => {
                Reply::Create2(Create2Response::from_bytes(body)?)
            }
            OpCode::Exists => Reply::Exists(ExistsResponse::from_bytes(body)?),
            OpCode::GetData => Reply::GetData(GetDataResponse::from_bytes(body)?),
            OpCode::SetData => Reply::SetData(SetDataResponse::from_bytes(body)?),
            OpCode::GetAcl => Reply::GetAcl(GetAclResponse::from_bytes(body)?),
            OpCode::SetAcl => Reply::SetAcl(SetAclResponse::from_bytes(body)?),
            OpCode::GetChildren => Reply::GetChildren(GetChildrenResponse::from_bytes(body)?),
            OpCode::GetChildren2 => Reply::GetChildren2(GetChildren2Response::from_bytes(body)?),
            OpCode::Sync => Reply::Sync(SyncResponse::from_bytes(body)?),
            OpCode::Multi | OpCode::MultiRead => {
                let mut r = Reader::new(body);
                let results = decode_multi_results(&mut r)?;
                r.finish()?;
                Reply::Multi(results)
            }
            OpCode::GetEphemerals => Reply::GetEphemerals(GetEphemeralsResponse::from_bytes(body)?),
            OpCode::GetAllChildrenNumber => {
                Reply::GetAllChildrenNumber(GetAllChildrenNumberResponse::from_bytes(body)?)
            }
            OpCode::AddWatch => Reply::AddWatch(ErrorResponse::from_bytes(body)?),
            OpCode::WhoAmI => Reply::WhoAmI(WhoAmIResponse::from_bytes(body)?),
            _ => Reader::new(body).finish().map(|_| Reply::Empty)?,
        })
    }

    pub fn encode(&self, w: &mut Writer) {
        match self {
            Reply::Empty => {}
            Reply::Create(r) => r.encode(w),
            Reply::Create2(r) => r.encode(w),
            Reply::Exists(r) => r.encode(w),
            Reply::GetData(r) => r.encode(w),
            Reply::SetData(r) => r.encode(w),
            Reply::GetAcl(r) => r.encode(w),
            Reply::SetAcl(r) => r.encode(w),
            Reply::GetChildren(r) => r.encode(w),
            Reply::GetChildren2(r) => r.encode(w),
            Reply::Sync(r) => r.encode(w),
            Reply::Multi(r) => encode_multi_results(r, w),
            Reply::GetEphemerals(r) => r.encode(w),
            Reply::GetAllChildrenNumber(r) => r.encode(w),
            Reply::AddWatch(r) => r.encode(w),
            Reply::WhoAmI(r) => r.encode(w),
            Reply::Notification(r) => r.encode(w),
        }
    }
}

/// Decodes a whole reply frame payload (after the length prefix).
pub fn decode_reply(
    op: Option<OpCode>,
    payload: &[u8],
) -> Result<(ReplyHeader, Reply), DecodeError> {
    let mut r = Reader::new(payload);
    let h = ReplyHeader::decode(&mut r)?;
    let reply = Reply::decode(op, h.err, r.rest())?;
    Ok((h, reply))
}

/// Our encoding of a reply frame, length prefix included.
pub fn encode_reply(h: &ReplyHeader, reply: &Reply) -> Vec<u8> {
    let mut w = Writer::new();
    h.encode(&mut w);
    reply.encode(&mut w);
    frame(&w.into_inner())
}

/// If `T` decodes from the whole of `data`, its encoding must decode to the
/// same value. Also decodes `T` from the front of `data` (as inside a frame).
fn record<T: Decode + Encode + PartialEq + Debug>(data: &[u8]) {
    if let Ok(v) = T::from_bytes(data) {
        let again = T::from_bytes(&v.to_bytes()).expect("re-encoded record must decode");
        assert_eq!(again, v);
    }
    let _ = T::decode(&mut Reader::new(data));
}

/// Every record of `records.rs`.
pub fn decode_records(data: &[u8]) {
    record::<Id>(data);
    record::<Acl>(data);
    record::<Stat>(data);
    record::<ClientInfo>(data);
    record::<ConnectRequestBody>(data);
    record::<ConnectResponseBody>(data);
    record::<SetWatches>(data);
    record::<SetWatches2>(data);
    record::<RequestHeader>(data);
    record::<MultiHeader>(data);
    record::<AuthPacket>(data);
    record::<ReplyHeader>(data);
    record::<GetDataRequest>(data);
    record::<SetDataRequest>(data);
    record::<ReconfigRequest>(data);
    record::<SetDataResponse>(data);
    record::<GetSaslRequest>(data);
    record::<SetSaslResponse>(data);
    record::<CreateRequest>(data);
    record::<CreateTtlRequest>(data);
    record::<DeleteRequest>(data);
    record::<GetChildrenRequest>(data);
    record::<GetAllChildrenNumberRequest>(data);
    record::<CheckVersionRequest>(data);
    record::<SyncRequest>(data);
    record::<SyncResponse>(data);
    record::<GetAclRequest>(data);
    record::<SetAclRequest>(data);
    record::<SetAclResponse>(data);
    record::<AddWatchRequest>(data);
    record::<WatcherEvent>(data);
    record::<ErrorResponse>(data);
    record::<CreateResponse>(data);
    record::<Create2Response>(data);
    record::<ExistsRequest>(data);
    record::<ExistsResponse>(data);
    record::<GetDataResponse>(data);
    record::<GetChildrenResponse>(data);
    record::<GetAllChildrenNumberResponse>(data);
    record::<GetChildren2Response>(data);
    record::<GetAclResponse>(data);
    record::<CheckWatchesRequest>(data);
    record::<RemoveWatchesRequest>(data);
    record::<GetEphemeralsRequest>(data);
    record::<GetEphemeralsResponse>(data);
    record::<WhoAmIResponse>(data);
    record::<Vec<String>>(data);
    record::<Vec<Acl>>(data);
    record::<Option<Vec<u8>>>(data);
    record::<String>(data);
}

fn request_payload(payload: &[u8]) {
    if let Ok((h, req)) = Request::decode_frame(payload) {
        let bytes = req.to_frame(h.xid);
        assert_eq!(check_frame(&bytes, usize::MAX), Ok(Some(bytes.len() - 4)));
        let (h2, req2) = Request::decode_frame(&bytes[4..]).expect("re-encoded request");
        assert_eq!((&h2, &req2), (&h, &req));
        assert_eq!(req.op_code() as i32, h.op_type);
        let _ = req.path();
    }
}

/// Feeds `data` to every decoder. Panics only if a decoder panics or a
/// decoded value does not survive encode + decode.
pub fn decode_all(data: &[u8]) {
    // Framing: as a stream start, and what the frame holds.
    for max in [0, 16, DEFAULT_MAX_BUFFER, usize::MAX] {
        if let Ok(Some(len)) = check_frame(data, max) {
            assert!(len <= max && 4 + len <= data.len());
            request_payload(&data[4..4 + len]);
        }
    }
    request_payload(data);

    for op in OpCode::ALL {
        let _ = Request::decode(op, data);
    }

    if let Ok(c) = ConnectRequest::decode(data) {
        let mut w = Writer::new();
        c.encode(&mut w);
        assert_eq!(
            ConnectRequest::decode(&w.buf).expect("re-encoded connect"),
            c
        );
    }
    if let Ok(c) = ConnectResponse::decode(data) {
        let mut w = Writer::new();
        c.encode(&mut w);
        assert_eq!(
            ConnectResponse::decode(&w.buf).expect("re-encoded connect"),
            c
        );
    }

    if let Ok(results) = decode_multi_results(&mut Reader::new(data)) {
        let mut w = Writer::new();
        encode_multi_results(&results, &mut w);
        let again = decode_multi_results(&mut Reader::new(&w.buf)).expect("re-encoded results");
        assert_eq!(again, results);
    }
    if let Ok(ops) = decode_multi_ops(&mut Reader::new(data)) {
        let mut w = Writer::new();
        encode_multi_ops(&ops, &mut w);
        let again = decode_multi_ops(&mut Reader::new(&w.buf)).expect("re-encoded ops");
        assert_eq!(again, ops);
    }

    // Replies, as a client decodes them, for each opcode and notifications.
    for op in OpCode::ALL.into_iter().map(Some).chain([None]) {
        if let Ok((h, reply)) = decode_reply(op, data) {
            let bytes = encode_reply(&h, &reply);
            assert_eq!(
                decode_reply(op, &bytes[4..]).expect("re-encoded reply"),
                (h, reply)
            );
        }
    }

    decode_records(data);
}
