//! The txns of a ZooKeeper log entry (`SerializeUtils.deserializeTxn`):
//! a `TxnHeader`, then the record its type calls for, then (3.6+) a tree
//! digest that the import does not need.

use super::jute_reader::{FormatError, JuteReader};
use bytes::Bytes;
use corral_protocol::Acl;

/// ZooKeeper's `OpCode`s that appear in txn logs.
pub mod op {
    pub const ERROR: i32 = -1;
    pub const CREATE: i32 = 1;
    pub const DELETE: i32 = 2;
    pub const SET_DATA: i32 = 5;
    pub const SET_ACL: i32 = 7;
    pub const CHECK: i32 = 13;
    pub const MULTI: i32 = 14;
    pub const CREATE2: i32 = 15;
    pub const RECONFIG: i32 = 16;
    pub const CREATE_CONTAINER: i32 = 19;
    pub const DELETE_CONTAINER: i32 = 20;
    pub const CREATE_TTL: i32 = 21;
    pub const CREATE_SESSION: i32 = -10;
    pub const CLOSE_SESSION: i32 = -11;
}

/// `TxnHeader`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TxnHeader {
    pub client_id: i64,
    pub cxid: i32,
    pub zxid: i64,
    pub time: i64,
    pub op: i32,
}

/// What a created node is (its `ephemeralOwner` follows from it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CreateKind {
    Persistent,
    /// Owned by the txn's session (`TxnHeader.clientId`).
    Ephemeral,
    Container,
    Ttl(i64),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ZkTxn {
    /// `CreateTxn`, `CreateContainerTxn` or `CreateTTLTxn`. A
    /// `parent_cversion` of -1 (old logs) means "the parent's plus one".
    Create {
        path: String,
        data: Option<Bytes>,
        acl: Vec<Acl>,
        kind: CreateKind,
        parent_cversion: i32,
    },
    /// `DeleteTxn` (delete and deleteContainer).
    Delete {
        path: String,
    },
    /// `SetDataTxn` (setData and reconfig).
    SetData {
        path: String,
        data: Option<Bytes>,
        version: i32,
    },
    SetAcl {
        path: String,
        acl: Vec<Acl>,
        version: i32,
    },
    /// `CheckVersionTxn` inside a multi: changes nothing.
    Check,
    CreateSession {
        timeout_ms: i32,
    },
    CloseSession,
    /// `ErrorTxn`: a failed request that still took a zxid.
    Error {
        code: i32,
    },
    /// `MultiTxn`: sub-txns with their op codes, applied in order.
    Multi(Vec<(i32, ZkTxn)>),
}

/// Decodes one log entry: header and txn (any trailing digest is ignored).
pub fn decode_entry(bytes: &[u8]) -> Result<(TxnHeader, ZkTxn), FormatError> {
    let mut r = JuteReader::new(bytes);
    let header = TxnHeader {
        client_id: r.read_i64()?,
        cxid: r.read_i32()?,
        zxid: r.read_i64()?,
        time: r.read_i64()?,
        op: r.read_i32()?,
    };
    let body_at = r.position();
    let txn = match decode_body(header.op, &mut r, true) {
        Err(e) if e.eof && header.op == op::CREATE => {
            // A `CreateTxnV0` (no parentCVersion), as ZooKeeper falls back to.
            let mut r = JuteReader::new(&bytes[body_at..]);
            ZkTxn::Create {
                path: r.read_ustring()?,
                data: read_data(&mut r)?,
                acl: r.read_acls()?,
                kind: ephemeral_kind(r.read_bool()?),
                parent_cversion: -1,
            }
        }
        other => other?,
    };
    Ok((header, txn))
}

fn read_data(r: &mut JuteReader<'_>) -> Result<Option<Bytes>, FormatError> {
    Ok(r.read_buffer()?.map(Bytes::copy_from_slice))
}

fn ephemeral_kind(ephemeral: bool) -> CreateKind {
    if ephemeral {
        CreateKind::Ephemeral
    } else {
        CreateKind::Persistent
    }
}

fn decode_body(op: i32, r: &mut JuteReader<'_>, top: bool) -> Result<ZkTxn, FormatError> {
    Ok(match op {
        op::CREATE | op::CREATE2 => {
            let (path, data, acl) = (r.read_ustring()?, read_data(r)?, r.read_acls()?);
            let kind = ephemeral_kind(r.read_bool()?);
            ZkTxn::Create {
                path,
                data,
                acl,
                kind,
                parent_cversion: r.read_i32()?,
            }
        }
        op::CREATE_CONTAINER => ZkTxn::Create {
            path: r.read_ustring()?,
            data: read_data(r)?,
            acl: r.read_acls()?,
            kind: CreateKind::Container,
            parent_cversion: r.read_i32()?,
        },
        op::CREATE_TTL => {
            let (path, data, acl) = (r.read_ustring()?, read_data(r)?, r.read_acls()?);
            let parent_cversion = r.read_i32()?;
            ZkTxn::Create {
                path,
                data,
                acl,
                kind: CreateKind::Ttl(r.read_i64()?),
                parent_cversion,
            }
        }
        op::DELETE | op::DELETE_CONTAINER => ZkTxn::Delete {
            path: r.read_ustring()?,
        },
        op::SET_DATA | op::RECONFIG => ZkTxn::SetData {
            path: r.read_ustring()?,
            data: read_data(r)?,
            version: r.read_i32()?,
        },
        op::SET_ACL => ZkTxn::SetAcl {
            path: r.read_ustring()?,
            acl: r.read_acls()?,
            version: r.read_i32()?,
        },
        op::CHECK => {
            r.read_ustring()?;
            r.read_i32()?;
            ZkTxn::Check
        }
        op::ERROR => ZkTxn::Error {
            code: r.read_i32()?,
        },
        op::CREATE_SESSION if top => ZkTxn::CreateSession {
            timeout_ms: r.read_i32()?,
        },
        // The optional `CloseSessionTxn` lists the session's ephemerals,
        // which the tree knows anyway.
        op::CLOSE_SESSION if top => ZkTxn::CloseSession,
        op::MULTI if top => {
            let n = r.read_count(8)?;
            let mut subs = Vec::with_capacity(n);
            for _ in 0..n {
                let sub_op = r.read_i32()?;
                let at = r.position();
                let data = r.read_buffer()?.unwrap_or_default();
                let mut sub = JuteReader::new(data);
                let txn = decode_body(sub_op, &mut sub, false).map_err(|e| {
                    FormatError::at(
                        at + 4 + e.offset as usize,
                        format!("multi sub-txn: {}", e.reason),
                    )
                })?;
                subs.push((sub_op, txn));
            }
            ZkTxn::Multi(subs)
        }
        other => {
            return Err(r.error(format!("unsupported txn type {other}")));
        }
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use corral_protocol::{Encode, Writer};

    pub(crate) fn header(w: &mut Writer, client: i64, zxid: i64, op: i32) {
        w.write_i64(client);
        w.write_i32(1);
        w.write_i64(zxid);
        w.write_i64(1_700_000_000_000);
        w.write_i32(op);
    }

    #[test]
    fn decodes_create_with_trailing_digest() {
        let mut w = Writer::new();
        header(&mut w, 7, 9, op::CREATE2);
        w.write_string("/a");
        w.write_buffer(Some(b"v"));
        Acl::open_unsafe().encode(&mut w);
        w.write_bool(true);
        w.write_i32(3);
        w.write_i32(2); // TxnDigest: version, digest
        w.write_i64(99);
        let (h, txn) = decode_entry(&w.into_inner()).unwrap();
        assert_eq!((h.client_id, h.zxid, h.op), (7, 9, op::CREATE2));
        assert_eq!(
            txn,
            ZkTxn::Create {
                path: "/a".into(),
                data: Some(Bytes::from_static(b"v")),
                acl: Acl::open_unsafe(),
                kind: CreateKind::Ephemeral,
                parent_cversion: 3,
            }
        );
    }

    #[test]
    fn decodes_v0_create_and_multi() {
        let mut w = Writer::new();
        header(&mut w, 7, 9, op::CREATE);
        w.write_string("/old");
        w.write_buffer(None);
        Acl::open_unsafe().encode(&mut w);
        w.write_bool(false);
        let (_, txn) = decode_entry(&w.into_inner()).unwrap();
        assert!(matches!(
            txn,
            ZkTxn::Create {
                parent_cversion: -1,
                data: None,
                ..
            }
        ));

        let mut w = Writer::new();
        header(&mut w, 7, 10, op::MULTI);
        w.write_i32(2);
        let mut sub = Writer::new();
        sub.write_string("/x");
        w.write_i32(op::DELETE);
        w.write_buffer(Some(&sub.into_inner()));
        w.write_i32(op::ERROR);
        w.write_buffer(Some(&(-101i32).to_be_bytes()));
        let (_, txn) = decode_entry(&w.into_inner()).unwrap();
        assert_eq!(
            txn,
            ZkTxn::Multi(vec![
                (op::DELETE, ZkTxn::Delete { path: "/x".into() }),
                (op::ERROR, ZkTxn::Error { code: -101 }),
            ])
        );
    }

    #[test]
    fn unknown_types_are_errors() {
        let mut w = Writer::new();
        header(&mut w, 7, 9, 4);
        let e = decode_entry(&w.into_inner()).unwrap_err();
        assert!(e.reason.contains("unsupported txn type 4"), "{e}");
    }
}
