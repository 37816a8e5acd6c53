//! A client request: header plus the body its opcode calls for.

use crate::jute::{Decode, Encode, Reader, Writer};
use crate::multi::{decode_multi_ops, encode_multi_ops, MultiOp};
use crate::records::*;
use crate::{DecodeError, OpCode};

/// A decoded request body. Variants sharing a record keep their own opcode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    Create(CreateRequest),
    Create2(CreateRequest),
    CreateContainer(CreateRequest),
    CreateTtl(CreateTtlRequest),
    Delete(DeleteRequest),
    Exists(ExistsRequest),
    GetData(GetDataRequest),
    SetData(SetDataRequest),
    GetAcl(GetAclRequest),
    SetAcl(SetAclRequest),
    GetChildren(GetChildrenRequest),
    GetChildren2(GetChildrenRequest),
    Sync(SyncRequest),
    Ping,
    Check(CheckVersionRequest),
    Multi(Vec<MultiOp>),
    MultiRead(Vec<MultiOp>),
    Reconfig(ReconfigRequest),
    CheckWatches(CheckWatchesRequest),
    RemoveWatches(RemoveWatchesRequest),
    Auth(AuthPacket),
    SetWatches(SetWatches),
    SetWatches2(SetWatches2),
    Sasl(GetSaslRequest),
    GetEphemerals(GetEphemeralsRequest),
    GetAllChildrenNumber(GetAllChildrenNumberRequest),
    AddWatch(AddWatchRequest),
    WhoAmI,
    CloseSession,
}

/// A request whose path (its first field) is null: ZooKeeper fails it with
/// MARSHALLINGERROR, where an empty path is BADARGUMENTS or NONODE.
pub(crate) fn reject_null_path(body: &[u8]) -> Result<(), DecodeError> {
    match body.get(..4) {
        Some(len) if len == (-1i32).to_be_bytes() => Err(DecodeError::NullString),
        _ => Ok(()),
    }
}

fn watcher_type(v: i32) -> Result<crate::WatcherType, DecodeError> {
    crate::WatcherType::from_i32(v).ok_or(DecodeError::BadEnum {
        field: "watcher type",
        value: v,
    })
}

fn checked_watcher_type(req: CheckWatchesRequest) -> Result<CheckWatchesRequest, DecodeError> {
    watcher_type(req.watcher_type)?;
    Ok(req)
}

impl Request {
    /// Decodes the body that follows a `RequestHeader` of type `op`.
    /// Trailing bytes are ignored, as ZooKeeper does.
    pub fn decode(op: OpCode, body: &[u8]) -> Result<Request, DecodeError> {
        if op.has_path() {
            reject_null_path(body)?;
        }
        let r = &mut Reader::new(body);
        Ok(match op {
            OpCode::Create => Request::Create(CreateRequest::decode(r)?),
            OpCode::Create2 => Request::Create2(CreateRequest::decode(r)?),
            OpCode::CreateContainer => Request::CreateContainer(CreateRequest::decode(r)?),
            OpCode::CreateTtl => Request::CreateTtl(CreateTtlRequest::decode(r)?),
            OpCode::Delete => Request::Delete(DeleteRequest::decode(r)?),
            OpCode::Exists => Request::Exists(ExistsRequest::decode(r)?),
            OpCode::GetData => Request::GetData(GetDataRequest::decode(r)?),
            OpCode::SetData => Request::SetData(SetDataRequest::decode(r)?),
            OpCode::GetAcl => Request::GetAcl(GetAclRequest::decode(r)?),
            OpCode::SetAcl => Request::SetAcl(SetAclRequest::decode(r)?),
            OpCode::GetChildren => Request::GetChildren(GetChildrenRequest::decode(r)?),
            OpCode::GetChildren2 => Request::GetChildren2(GetChildrenRequest::decode(r)?),
            OpCode::Sync => Request::Sync(SyncRequest::decode(r)?),
            OpCode::Ping => Request::Ping,
            OpCode::Check => Request::Check(CheckVersionRequest::decode(r)?),
            OpCode::Multi => {
                let ops = decode_multi_ops(r)?;
                if let Some(op) = ops.iter().find(|op| op.is_read()) {
                    return Err(DecodeError::BadMultiOp(op.op_code() as i32));
                }
                Request::Multi(ops)
            }
            OpCode::MultiRead => {
                let ops = decode_multi_ops(r)?;
                if let Some(op) = ops.iter().find(|op| !op.is_read()) {
                    return Err(DecodeError::BadMultiOp(op.op_code() as i32));
                }
                Request::MultiRead(ops)
            }
            OpCode::Reconfig => Request::Reconfig(ReconfigRequest::decode(r)?),
            OpCode::CheckWatches => {
                Request::CheckWatches(checked_watcher_type(CheckWatchesRequest::decode(r)?)?)
            }
            OpCode::RemoveWatches => {
                let req = RemoveWatchesRequest::decode(r)?;
                watcher_type(req.watcher_type)?;
                Request::RemoveWatches(req)
            }
            OpCode::Auth => Request::Auth(AuthPacket::decode(r)?),
            OpCode::SetWatches => Request::SetWatches(SetWatches::decode(r)?),
            OpCode::SetWatches2 => Request::SetWatches2(SetWatches2::decode(r)?),
            OpCode::Sasl => Request::Sasl(GetSaslRequest::decode(r)?),
            OpCode::GetEphemerals => Request::GetEphemerals(GetEphemeralsRequest::decode(r)?),
            OpCode::GetAllChildrenNumber => {
                Request::GetAllChildrenNumber(GetAllChildrenNumberRequest::decode(r)?)
            }
            OpCode::AddWatch => {
                let req = AddWatchRequest::decode(r)?;
                crate::AddWatchMode::from_i32(req.mode).ok_or(DecodeError::BadEnum {
                    field: "addWatch mode",
                    value: req.mode,
                })?;
                Request::AddWatch(req)
            }
            OpCode::WhoAmI => Request::WhoAmI,
            OpCode::CloseSession => Request::CloseSession,
            OpCode::Notification
            | OpCode::DeleteContainer
            | OpCode::CreateSession
            | OpCode::Error => return Err(DecodeError::UnexpectedOpCode(op as i32)),
        })
    }

    /// Decodes a whole request frame (after the length prefix).
    pub fn decode_frame(frame: &[u8]) -> Result<(RequestHeader, Request), DecodeError> {
        let mut r = Reader::new(frame);
        let header = RequestHeader::decode(&mut r)?;
        let op =
            OpCode::from_i32(header.op_type).ok_or(DecodeError::UnknownOpCode(header.op_type))?;
        Ok((header, Request::decode(op, r.rest())?))
    }

    pub fn op_code(&self) -> OpCode {
        match self {
            Request::Create(_) => OpCode::Create,
            Request::Create2(_) => OpCode::Create2,
            Request::CreateContainer(_) => OpCode::CreateContainer,
            Request::CreateTtl(_) => OpCode::CreateTtl,
            Request::Delete(_) => OpCode::Delete,
            Request::Exists(_) => OpCode::Exists,
            Request::GetData(_) => OpCode::GetData,
            Request::SetData(_) => OpCode::SetData,
            Request::GetAcl(_) => OpCode::GetAcl,
            Request::SetAcl(_) => OpCode::SetAcl,
            Request::GetChildren(_) => OpCode::GetChildren,
            Request::GetChildren2(_) => OpCode::GetChildren2,
            Request::Sync(_) => OpCode::Sync,
            Request::Ping => OpCode::Ping,
            Request::Check(_) => OpCode::Check,
            Request::Multi(_) => OpCode::Multi,
            Request::MultiRead(_) => OpCode::MultiRead,
            Request::Reconfig(_) => OpCode::Reconfig,
            Request::CheckWatches(_) => OpCode::CheckWatches,
            Request::RemoveWatches(_) => OpCode::RemoveWatches,
            Request::Auth(_) => OpCode::Auth,
            Request::SetWatches(_) => OpCode::SetWatches,
            Request::SetWatches2(_) => OpCode::SetWatches2,
            Request::Sasl(_) => OpCode::Sasl,
            Request::GetEphemerals(_) => OpCode::GetEphemerals,
            Request::GetAllChildrenNumber(_) => OpCode::GetAllChildrenNumber,
            Request::AddWatch(_) => OpCode::AddWatch,
            Request::WhoAmI => OpCode::WhoAmI,
            Request::CloseSession => OpCode::CloseSession,
        }
    }

    /// The path the request is about, if it has one.
    pub fn path(&self) -> Option<&str> {
        Some(match self {
            Request::Create(r) | Request::Create2(r) | Request::CreateContainer(r) => &r.path,
            Request::CreateTtl(r) => &r.path,
            Request::Delete(r) => &r.path,
            Request::Exists(r) => &r.path,
            Request::GetData(r) => &r.path,
            Request::SetData(r) => &r.path,
            Request::GetAcl(r) => &r.path,
            Request::SetAcl(r) => &r.path,
            Request::GetChildren(r) | Request::GetChildren2(r) => &r.path,
            Request::Sync(r) => &r.path,
            Request::Check(r) => &r.path,
            Request::CheckWatches(r) => &r.path,
            Request::RemoveWatches(r) => &r.path,
            Request::GetEphemerals(r) => &r.prefix_path,
            Request::GetAllChildrenNumber(r) => &r.path,
            Request::AddWatch(r) => &r.path,
            _ => return None,
        })
    }

    pub fn encode_body(&self, w: &mut Writer) {
        match self {
            Request::Create(r) | Request::Create2(r) | Request::CreateContainer(r) => r.encode(w),
            Request::CreateTtl(r) => r.encode(w),
            Request::Delete(r) => r.encode(w),
            Request::Exists(r) => r.encode(w),
            Request::GetData(r) => r.encode(w),
            Request::SetData(r) => r.encode(w),
            Request::GetAcl(r) => r.encode(w),
            Request::SetAcl(r) => r.encode(w),
            Request::GetChildren(r) | Request::GetChildren2(r) => r.encode(w),
            Request::Sync(r) => r.encode(w),
            Request::Check(r) => r.encode(w),
            Request::Multi(ops) | Request::MultiRead(ops) => encode_multi_ops(ops, w),
            Request::Reconfig(r) => r.encode(w),
            Request::CheckWatches(r) => r.encode(w),
            Request::RemoveWatches(r) => r.encode(w),
            Request::Auth(r) => r.encode(w),
            Request::SetWatches(r) => r.encode(w),
            Request::SetWatches2(r) => r.encode(w),
            Request::Sasl(r) => r.encode(w),
            Request::GetEphemerals(r) => r.encode(w),
            Request::GetAllChildrenNumber(r) => r.encode(w),
            Request::AddWatch(r) => r.encode(w),
            Request::Ping | Request::WhoAmI | Request::CloseSession => {}
        }
    }

    /// A whole frame: length prefix, header with `xid`, body.
    pub fn to_frame(&self, xid: i32) -> Vec<u8> {
        let mut w = Writer::with_capacity(64);
        w.write_i32(0);
        RequestHeader {
            xid,
            op_type: self.op_code() as i32,
        }
        .encode(&mut w);
        self.encode_body(&mut w);
        let len = (w.buf.len() - 4) as i32;
        w.buf[..4].copy_from_slice(&len.to_be_bytes());
        w.into_inner()
    }
}
