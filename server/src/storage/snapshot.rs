//! Snapshot files: the whole tree and its sessions at one applied log id,
//! as CRC-framed protobuf records (a header, one record per node, parents
//! first, one per session). Written to a temp file, fsynced, then renamed,
//! so a crash never leaves a half snapshot under a final name.

use super::codec::{
    acl_from_pb, acl_to_pb, log_id_from_pb, log_id_to_pb, membership_from_pb, membership_to_pb,
};
use super::pb;
use super::record::{self, Damage};
use crate::raft::NodeId;
use crate::tree::{DataTree, Node, NodeStat, SessionRecord};
use bytes::Bytes;
use openraft::{BasicNode, LogId, StoredMembership};
use prost::Message;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

const FORMAT: u32 = 1;

/// Where a snapshot stands in the log.
#[derive(Debug, Clone, Default)]
pub struct SnapshotInfo {
    pub last_applied: Option<LogId<NodeId>>,
    pub membership: StoredMembership<NodeId, BasicNode>,
}

#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("{path}: corrupt snapshot at offset {offset} ({damage:?}); refusing to start")]
    Corrupt {
        path: PathBuf,
        offset: u64,
        damage: Damage,
    },
    #[error("{path}: snapshot record at offset {offset} does not decode: {reason}")]
    Undecodable {
        path: PathBuf,
        offset: u64,
        reason: String,
    },
}

pub fn file_name(index: u64) -> String {
    format!("snapshot-{index:020}.snap")
}

/// Snapshot files in `dir`, newest first.
pub fn list(dir: &Path) -> io::Result<Vec<(u64, PathBuf)>> {
    let mut found: Vec<(u64, PathBuf)> = match std::fs::read_dir(dir) {
        Ok(entries) => entries
            .filter_map(|e| e.ok())
            .filter_map(|e| {
                let name = e.file_name().into_string().ok()?;
                let index = name
                    .strip_prefix("snapshot-")?
                    .strip_suffix(".snap")?
                    .parse()
                    .ok()?;
                Some((index, e.path()))
            })
            .collect(),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(e),
    };
    found.sort_by_key(|f| std::cmp::Reverse(f.0));
    Ok(found)
}

/// Writes `tree` as the snapshot of `info` into `dir`; returns its path.
pub fn write(dir: &Path, tree: &DataTree, info: &SnapshotInfo) -> io::Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    let index = info.last_applied.map_or(0, |l| l.index);
    let path = dir.join(file_name(index));
    let tmp = path.with_extension("tmp");
    let file = std::fs::File::create(&tmp)?;
    let mut out = BufWriter::with_capacity(1 << 20, file);
    let header = pb::SnapshotHeader {
        format: FORMAT,
        last_applied: info.last_applied.as_ref().map(log_id_to_pb),
        membership_log_id: info.membership.log_id().as_ref().map(log_id_to_pb),
        membership: Some(membership_to_pb(info.membership.membership())),
        last_zxid: tree.last_zxid,
        node_count: tree.node_count() as u64,
        session_count: tree.sessions.len() as u64,
    };
    let mut buf = Vec::with_capacity(256);
    header.encode(&mut buf)?;
    record::write_record(&mut out, &buf)?;
    for (p, node) in tree.nodes_in_order() {
        buf.clear();
        let s = &node.stat;
        pb::SnapshotNode {
            path: p,
            data: node.data.clone().map(|value| pb::Data { value }),
            acl: acl_to_pb(&node.acl),
            czxid: s.czxid,
            mzxid: s.mzxid,
            ctime: s.ctime,
            mtime: s.mtime,
            version: s.version,
            cversion: s.cversion,
            aversion: s.aversion,
            ephemeral_owner: s.ephemeral_owner,
            pzxid: s.pzxid,
        }
        .encode(&mut buf)?;
        record::write_record(&mut out, &buf)?;
    }
    for (id, session) in tree.sessions.iter() {
        buf.clear();
        pb::SnapshotSession {
            session_id: *id,
            timeout_ms: session.timeout_ms,
            passwd: Bytes::copy_from_slice(&session.passwd),
        }
        .encode(&mut buf)?;
        record::write_record(&mut out, &buf)?;
    }
    let file = out.into_inner().map_err(|e| e.into_error())?;
    file.sync_all()?;
    std::fs::rename(&tmp, &path)?;
    record::sync_dir(dir)?;
    Ok(path)
}

/// Reads only a snapshot's header: where it stands in the log.
pub fn read_info(path: &Path) -> Result<SnapshotInfo, SnapshotError> {
    let io = |source| SnapshotError::Io {
        path: path.to_owned(),
        source,
    };
    let mut file = std::fs::File::open(path).map_err(io)?;
    let mut head = [0u8; record::HEADER_LEN];
    std::io::Read::read_exact(&mut file, &mut head).map_err(io)?;
    let len = u32::from_be_bytes([head[0], head[1], head[2], head[3]]) as usize;
    let mut buf = head.to_vec();
    buf.resize(record::HEADER_LEN + len.min(record::MAX_RECORD), 0);
    std::io::Read::read_exact(&mut file, &mut buf[record::HEADER_LEN..]).map_err(io)?;
    let (payload, _) = record::parse_record(&buf).map_err(|damage| SnapshotError::Corrupt {
        path: path.to_owned(),
        offset: 0,
        damage,
    })?;
    let header = pb::SnapshotHeader::decode(payload).map_err(|e| SnapshotError::Undecodable {
        path: path.to_owned(),
        offset: 0,
        reason: e.to_string(),
    })?;
    Ok(info_of(&header))
}

fn info_of(header: &pb::SnapshotHeader) -> SnapshotInfo {
    SnapshotInfo {
        last_applied: header.last_applied.as_ref().map(log_id_from_pb),
        membership: StoredMembership::new(
            header.membership_log_id.as_ref().map(log_id_from_pb),
            header
                .membership
                .clone()
                .map(membership_from_pb)
                .unwrap_or_default(),
        ),
    }
}

/// Reads a snapshot file back into a tree.
pub fn read(path: &Path) -> Result<(DataTree, SnapshotInfo), SnapshotError> {
    let bytes = record::read_file(path).map_err(|source| SnapshotError::Io {
        path: path.to_owned(),
        source,
    })?;
    let mut offset = 0usize;
    let next = |offset: &mut usize| -> Result<Option<(usize, &[u8])>, SnapshotError> {
        if *offset == bytes.len() {
            return Ok(None);
        }
        match record::parse_record(&bytes[*offset..]) {
            Ok((payload, len)) => {
                let at = *offset;
                *offset += len;
                Ok(Some((at, payload)))
            }
            Err(damage) => Err(SnapshotError::Corrupt {
                path: path.to_owned(),
                offset: *offset as u64,
                damage,
            }),
        }
    };
    let undecodable = |at: usize, e: prost::DecodeError| SnapshotError::Undecodable {
        path: path.to_owned(),
        offset: at as u64,
        reason: e.to_string(),
    };
    // A record the header promised: running out of bytes is corruption.
    let required = |offset: &mut usize| -> Result<(usize, &[u8]), SnapshotError> {
        let at = *offset as u64;
        next(offset)?.ok_or(SnapshotError::Corrupt {
            path: path.to_owned(),
            offset: at,
            damage: Damage::Truncated,
        })
    };
    let (at, payload) = required(&mut offset)?;
    let header = pb::SnapshotHeader::decode(payload).map_err(|e| undecodable(at, e))?;
    let mut nodes = Vec::with_capacity(header.node_count as usize);
    for _ in 0..header.node_count {
        let (at, payload) = required(&mut offset)?;
        let n = pb::SnapshotNode::decode(payload).map_err(|e| undecodable(at, e))?;
        let node = Node {
            data: n.data.map(|d| d.value),
            acl: Arc::new(acl_from_pb(n.acl)),
            stat: NodeStat {
                czxid: n.czxid,
                mzxid: n.mzxid,
                ctime: n.ctime,
                mtime: n.mtime,
                version: n.version,
                cversion: n.cversion,
                aversion: n.aversion,
                ephemeral_owner: n.ephemeral_owner,
                pzxid: n.pzxid,
            },
            children: Default::default(),
        };
        nodes.push((n.path, node));
    }
    let mut sessions = Vec::with_capacity(header.session_count as usize);
    for _ in 0..header.session_count {
        let (at, payload) = required(&mut offset)?;
        let s = pb::SnapshotSession::decode(payload).map_err(|e| undecodable(at, e))?;
        sessions.push((
            s.session_id,
            SessionRecord {
                timeout_ms: s.timeout_ms,
                passwd: s.passwd.to_vec(),
            },
        ));
    }
    if offset != bytes.len() {
        return Err(SnapshotError::Corrupt {
            path: path.to_owned(),
            offset: offset as u64,
            damage: Damage::BadLength,
        });
    }
    let membership = StoredMembership::new(
        header.membership_log_id.as_ref().map(log_id_from_pb),
        header
            .membership
            .map(membership_from_pb)
            .unwrap_or_default(),
    );
    let info = SnapshotInfo {
        last_applied: header.last_applied.as_ref().map(log_id_from_pb),
        membership,
    };
    Ok((
        DataTree::from_parts(nodes, sessions, header.last_zxid),
        info,
    ))
}

/// Keeps the `keep` newest snapshots and removes older ones and temp files.
pub fn retain(dir: &Path, keep: usize) {
    if let Ok(found) = list(dir) {
        for (_, path) in found.into_iter().skip(keep.max(1)) {
            let _ = std::fs::remove_file(path);
        }
    }
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.filter_map(|e| e.ok()) {
            if e.path().extension().is_some_and(|x| x == "tmp") {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
}

/// Writes bytes received from a leader (a whole snapshot file) to `dir`.
pub fn flush_received(file: &mut std::fs::File) -> io::Result<()> {
    file.flush()?;
    file.sync_all()
}
