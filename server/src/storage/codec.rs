//! Conversions between in-memory values (txns, log entries, membership)
//! and their protobuf records in `proto/corral.proto`.

use super::pb;
use crate::raft::{NodeId, TypeConfig};
use crate::txn::{Txn, TxnBatch, TxnOp};
use bytes::Bytes;
use corral_protocol as zk;
use openraft::{BasicNode, CommittedLeaderId, Entry, EntryPayload, LogId, Membership};
use std::collections::{BTreeMap, BTreeSet};

/// A record that does not describe a valid value (a bug or a foreign file).
#[derive(Debug, thiserror::Error)]
#[error("invalid record: {0}")]
pub struct InvalidRecord(pub &'static str);

fn data_to_pb(data: &Option<Vec<u8>>) -> Option<pb::Data> {
    data.as_ref().map(|v| pb::Data {
        value: Bytes::copy_from_slice(v),
    })
}

fn data_from_pb(data: Option<pb::Data>) -> Option<Vec<u8>> {
    data.map(|d| d.value.to_vec())
}

pub fn id_to_pb(id: &zk::Id) -> pb::Id {
    pb::Id {
        scheme: id.scheme.clone(),
        id: id.id.clone(),
    }
}

pub fn id_from_pb(id: pb::Id) -> zk::Id {
    zk::Id {
        scheme: id.scheme,
        id: id.id,
    }
}

pub fn acl_to_pb(acl: &[zk::Acl]) -> Vec<pb::Acl> {
    acl.iter()
        .map(|a| pb::Acl {
            perms: a.perms,
            id: Some(id_to_pb(&a.id)),
        })
        .collect()
}

pub fn acl_from_pb(acl: Vec<pb::Acl>) -> Vec<zk::Acl> {
    acl.into_iter()
        .map(|a| zk::Acl {
            perms: a.perms,
            id: a.id.map(id_from_pb).unwrap_or_default(),
        })
        .collect()
}

fn op_to_pb(op: &zk::MultiOp) -> pb::Op {
    use pb::op::Op;
    let op = match op {
        zk::MultiOp::Create(code, r) => Op::Create(pb::CreateOp {
            opcode: *code as i32,
            path: r.path.clone(),
            data: data_to_pb(&r.data),
            acl: acl_to_pb(&r.acl),
            flags: r.flags,
            ttl: -1,
        }),
        zk::MultiOp::CreateTtl(r) => Op::Create(pb::CreateOp {
            opcode: zk::OpCode::CreateTtl as i32,
            path: r.path.clone(),
            data: data_to_pb(&r.data),
            acl: acl_to_pb(&r.acl),
            flags: r.flags,
            ttl: r.ttl,
        }),
        zk::MultiOp::Delete(r) => Op::Delete(pb::DeleteOp {
            path: r.path.clone(),
            version: r.version,
        }),
        zk::MultiOp::SetData(r) => Op::SetData(pb::SetDataOp {
            path: r.path.clone(),
            data: data_to_pb(&r.data),
            version: r.version,
        }),
        zk::MultiOp::Check(r) => Op::Check(pb::CheckOp {
            path: r.path.clone(),
            version: r.version,
        }),
        // Reads never reach the log: prep only logs writes.
        zk::MultiOp::GetChildren(r) => Op::Check(pb::CheckOp {
            path: r.path.clone(),
            version: -1,
        }),
        zk::MultiOp::GetData(r) => Op::Check(pb::CheckOp {
            path: r.path.clone(),
            version: -1,
        }),
    };
    pb::Op { op: Some(op) }
}

fn op_from_pb(op: pb::Op) -> Result<zk::MultiOp, InvalidRecord> {
    use pb::op::Op;
    Ok(match op.op.ok_or(InvalidRecord("op without a kind"))? {
        Op::Create(c) => {
            let code = zk::OpCode::from_i32(c.opcode).ok_or(InvalidRecord("create opcode"))?;
            let data = data_from_pb(c.data);
            let acl = acl_from_pb(c.acl);
            if code == zk::OpCode::CreateTtl {
                zk::MultiOp::CreateTtl(zk::CreateTtlRequest {
                    path: c.path,
                    data,
                    acl,
                    flags: c.flags,
                    ttl: c.ttl,
                })
            } else {
                zk::MultiOp::Create(
                    code,
                    zk::CreateRequest {
                        path: c.path,
                        data,
                        acl,
                        flags: c.flags,
                    },
                )
            }
        }
        Op::Delete(d) => zk::MultiOp::Delete(zk::DeleteRequest {
            path: d.path,
            version: d.version,
        }),
        Op::SetData(s) => zk::MultiOp::SetData(zk::SetDataRequest {
            path: s.path,
            data: data_from_pb(s.data),
            version: s.version,
        }),
        Op::Check(c) => zk::MultiOp::Check(zk::CheckVersionRequest {
            path: c.path,
            version: c.version,
        }),
    })
}

pub fn txn_to_pb(txn: &Txn) -> pb::Txn {
    use pb::txn::Op;
    let op = match &txn.op {
        TxnOp::Single(op) => Op::Single(op_to_pb(op)),
        TxnOp::SetAcl(r) => Op::SetAcl(pb::SetAclOp {
            path: r.path.clone(),
            acl: acl_to_pb(&r.acl),
            version: r.version,
        }),
        TxnOp::Multi(ops) => Op::Multi(pb::MultiOp {
            ops: ops.iter().map(op_to_pb).collect(),
        }),
        TxnOp::CreateSession {
            session_id,
            timeout_ms,
            passwd,
        } => Op::CreateSession(pb::CreateSession {
            session_id: *session_id,
            timeout_ms: *timeout_ms,
            passwd: Bytes::copy_from_slice(passwd),
        }),
        TxnOp::CloseSession { expired } => Op::CloseSession(pb::CloseSession { expired: *expired }),
        TxnOp::DeleteContainer(path) => {
            Op::DeleteContainer(pb::DeleteContainer { path: path.clone() })
        }
        TxnOp::MoveSession { server } => Op::MoveSession(pb::MoveSession { server: *server }),
        TxnOp::SetConfig {
            members,
            expected_version,
        } => Op::SetConfig(pb::SetConfig {
            members: members.clone(),
            expected_version: *expected_version,
        }),
    };
    pb::Txn {
        session_id: txn.session_id,
        time: txn.time,
        auth: txn.auth.iter().map(id_to_pb).collect(),
        op: Some(op),
    }
}

pub fn txn_from_pb(txn: pb::Txn) -> Result<Txn, InvalidRecord> {
    use pb::txn::Op;
    let op = match txn.op.ok_or(InvalidRecord("txn without an op"))? {
        Op::Single(op) => TxnOp::Single(op_from_pb(op)?),
        Op::SetAcl(s) => TxnOp::SetAcl(zk::SetAclRequest {
            path: s.path,
            acl: acl_from_pb(s.acl),
            version: s.version,
        }),
        Op::Multi(m) => TxnOp::Multi(
            m.ops
                .into_iter()
                .map(op_from_pb)
                .collect::<Result<_, _>>()?,
        ),
        Op::CreateSession(c) => TxnOp::CreateSession {
            session_id: c.session_id,
            timeout_ms: c.timeout_ms,
            passwd: c.passwd.to_vec(),
        },
        Op::CloseSession(c) => TxnOp::CloseSession { expired: c.expired },
        Op::DeleteContainer(d) => TxnOp::DeleteContainer(d.path),
        Op::MoveSession(m) => TxnOp::MoveSession { server: m.server },
        Op::SetConfig(c) => TxnOp::SetConfig {
            members: c.members,
            expected_version: c.expected_version,
        },
    };
    Ok(Txn {
        session_id: txn.session_id,
        time: txn.time,
        auth: txn.auth.into_iter().map(id_from_pb).collect(),
        op,
    })
}

pub fn log_id_to_pb(id: &LogId<NodeId>) -> pb::LogId {
    pb::LogId {
        term: id.leader_id.term,
        node_id: id.leader_id.node_id,
        index: id.index,
    }
}

pub fn log_id_from_pb(id: &pb::LogId) -> LogId<NodeId> {
    LogId::new(CommittedLeaderId::new(id.term, id.node_id), id.index)
}

pub fn membership_to_pb(m: &Membership<NodeId, BasicNode>) -> pb::Membership {
    pb::Membership {
        configs: m
            .get_joint_config()
            .iter()
            .map(|set| pb::VoterSet {
                ids: set.iter().copied().collect(),
            })
            .collect(),
        nodes: m
            .nodes()
            .map(|(id, node)| pb::NodeAddr {
                id: *id,
                addr: node.addr.clone(),
            })
            .collect(),
    }
}

pub fn membership_from_pb(m: pb::Membership) -> Membership<NodeId, BasicNode> {
    let configs: Vec<BTreeSet<NodeId>> = m
        .configs
        .into_iter()
        .map(|set| set.ids.into_iter().collect())
        .collect();
    let nodes: BTreeMap<NodeId, BasicNode> = m
        .nodes
        .into_iter()
        .map(|n| (n.id, BasicNode { addr: n.addr }))
        .collect();
    Membership::new(configs, nodes)
}

pub fn entry_to_pb(entry: &Entry<TypeConfig>) -> pb::LogEntry {
    use pb::log_entry::Payload;
    let payload = match &entry.payload {
        EntryPayload::Blank => Payload::Blank(pb::Blank {}),
        EntryPayload::Normal(batch) => Payload::Batch(pb::TxnBatch {
            txns: batch.0.iter().map(txn_to_pb).collect(),
        }),
        EntryPayload::Membership(m) => Payload::Membership(membership_to_pb(m)),
    };
    pb::LogEntry {
        log_id: Some(log_id_to_pb(&entry.log_id)),
        payload: Some(payload),
    }
}

pub fn entry_from_pb(entry: pb::LogEntry) -> Result<Entry<TypeConfig>, InvalidRecord> {
    use pb::log_entry::Payload;
    let log_id = log_id_from_pb(&entry.log_id.ok_or(InvalidRecord("entry without log id"))?);
    let payload = match entry
        .payload
        .ok_or(InvalidRecord("entry without payload"))?
    {
        Payload::Blank(_) => EntryPayload::Blank,
        Payload::Batch(b) => EntryPayload::Normal(TxnBatch(
            b.txns
                .into_iter()
                .map(txn_from_pb)
                .collect::<Result<_, _>>()?,
        )),
        Payload::Membership(m) => EntryPayload::Membership(membership_from_pb(m)),
    };
    Ok(Entry { log_id, payload })
}
