//! Snapshot files: the whole tree and its sessions at one applied log id,
//! as CRC-framed protobuf records (a header, one record per node, parents
//! first, one per session). Written to a temp file, fsynced, then renamed,
//! so a crash never leaves a half snapshot under a final name.

use super::codec::{
    acl_from_pb, acl_to_pb, log_id_from_pb, log_id_to_pb, membership_from_pb, membership_to_pb,
};
use super::pb;
use super::record::{self, Damage, ReadError, RecordReader};
use super::writeback::WritebackFile;
use crate::raft::NodeId;
use crate::tree::{DataTree, Node, NodeStat, SessionRecord};
use bytes::Bytes;
use corral_protocol::Acl;
use openraft::{BasicNode, LogId, StoredMembership};
use prost::Message;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

const FORMAT: u32 = 2;

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
///
/// The work runs on a thread of its own at a lower CPU priority: a
/// snapshot of millions of nodes takes a core for a second or more, and
/// requests being served should come first.
pub fn write(dir: &Path, tree: &DataTree, info: &SnapshotInfo) -> io::Result<PathBuf> {
    std::thread::scope(|scope| {
        let writer = std::thread::Builder::new()
            .name("corral-snapshot".into())
            .spawn_scoped(scope, || {
                lower_priority();
                write_now(dir, tree, info)
            })?;
        writer
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}

/// Niceness of the snapshot thread (0 is normal, 19 the lowest priority).
const SNAPSHOT_NICE: libc::c_int = 10;

/// Lowers the calling thread's CPU priority (on Linux `setpriority` with a
/// thread id applies to that thread only); best effort.
fn lower_priority() {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: plain syscalls on the calling thread; no memory is shared.
        let result = unsafe {
            let tid = libc::gettid();
            libc::setpriority(libc::PRIO_PROCESS, tid as libc::id_t, SNAPSHOT_NICE)
        };
        if result != 0 {
            tracing::debug!(error = %io::Error::last_os_error(), "snapshot thread keeps its priority");
        }
    }
}

fn write_now(dir: &Path, tree: &DataTree, info: &SnapshotInfo) -> io::Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    let index = info.last_applied.map_or(0, |l| l.index);
    let path = dir.join(file_name(index));
    let tmp = path.with_extension("tmp");
    let file = WritebackFile::new(std::fs::File::create(&tmp)?);
    let mut out = BufWriter::with_capacity(4 << 20, file);
    let lists: Vec<&Arc<Vec<Acl>>> = tree.acl_lists().collect();
    let header = pb::SnapshotHeader {
        format: FORMAT,
        acl_lists: lists
            .iter()
            .map(|acl| pb::AclList {
                acl: acl_to_pb(acl),
            })
            .collect(),
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
    let mut acl_index = AclIndex::new(&lists);
    tree.try_for_each_in_order(|path, node| -> io::Result<()> {
        buf.clear();
        encode_node(path, node, acl_index.of(&node.acl), &mut buf);
        record::write_record(&mut out, &buf)
    })?;
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
    let file = out.into_inner().map_err(|e| e.into_error())?.into_file();
    file.sync_all()?;
    std::fs::rename(&tmp, &path)?;
    record::sync_dir(dir)?;
    Ok(path)
}

/// The header's number (1-based) of each shared ACL list, by address;
/// remembers the last answer, as neighbouring nodes mostly share a list.
struct AclIndex {
    by_address: std::collections::HashMap<*const Vec<Acl>, u32>,
    last: (*const Vec<Acl>, u32),
}

impl AclIndex {
    fn new(lists: &[&Arc<Vec<Acl>>]) -> AclIndex {
        let by_address = lists
            .iter()
            .enumerate()
            .map(|(i, acl)| (Arc::as_ptr(acl), i as u32 + 1))
            .collect();
        AclIndex {
            by_address,
            last: (std::ptr::null(), 0),
        }
    }

    /// 0 for a list that is not in the header (written out in the node).
    fn of(&mut self, acl: &Arc<Vec<Acl>>) -> u32 {
        let address = Arc::as_ptr(acl);
        if address != self.last.0 {
            let index = self.by_address.get(&address).copied().unwrap_or(0);
            self.last = (address, index);
        }
        self.last.1
    }
}

/// Encodes `node` as a `pb::SnapshotNode` message, field by field as prost
/// would (default values left out), without copying the node into a
/// message first: snapshots encode millions of nodes.
fn encode_node(path: &str, node: &Node, acl_list: u32, buf: &mut Vec<u8>) {
    use prost::encoding::{encode_key, encode_varint, int32, int64, uint32, WireType};
    let s = &node.stat;
    if !path.is_empty() {
        encode_key(1, WireType::LengthDelimited, buf);
        encode_varint(path.len() as u64, buf);
        buf.extend_from_slice(path.as_bytes());
    }
    if let Some(data) = &node.data {
        // A `Data { value }` message: the bytes field is left out when empty.
        let inner = if data.is_empty() {
            0
        } else {
            1 + prost::encoding::encoded_len_varint(data.len() as u64) + data.len()
        };
        encode_key(2, WireType::LengthDelimited, buf);
        encode_varint(inner as u64, buf);
        if !data.is_empty() {
            encode_key(1, WireType::LengthDelimited, buf);
            encode_varint(data.len() as u64, buf);
            buf.extend_from_slice(data);
        }
    }
    if acl_list == 0 {
        for acl in acl_to_pb(&node.acl) {
            prost::encoding::message::encode(3, &acl, buf);
        }
    }
    for (tag, value) in [(4, s.czxid), (5, s.mzxid), (6, s.ctime), (7, s.mtime)] {
        if value != 0 {
            int64::encode(tag, &value, buf);
        }
    }
    for (tag, value) in [(8, s.version), (9, s.cversion), (10, s.aversion)] {
        if value != 0 {
            int32::encode(tag, &value, buf);
        }
    }
    for (tag, value) in [(11, s.ephemeral_owner), (12, s.pzxid)] {
        if value != 0 {
            int64::encode(tag, &value, buf);
        }
    }
    if acl_list != 0 {
        uint32::encode(13, &acl_list, buf);
    }
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

/// Reads a snapshot file back into a tree, streaming: nodes go into the
/// tree as they are decoded.
pub fn read(path: &Path) -> Result<(DataTree, SnapshotInfo), SnapshotError> {
    let file = std::fs::File::open(path).map_err(|source| SnapshotError::Io {
        path: path.to_owned(),
        source,
    })?;
    let mut reader = RecordReader::new(std::io::BufReader::with_capacity(1 << 20, file));
    let fail = |e: ReadError| match e {
        ReadError::Io(source) => SnapshotError::Io {
            path: path.to_owned(),
            source,
        },
        ReadError::Damaged(offset, damage) => SnapshotError::Corrupt {
            path: path.to_owned(),
            offset,
            damage,
        },
    };
    let undecodable = |at: u64, e: prost::DecodeError| SnapshotError::Undecodable {
        path: path.to_owned(),
        offset: at,
        reason: e.to_string(),
    };
    // A record the header promised: running out of bytes is corruption.
    let truncated = |at: u64| SnapshotError::Corrupt {
        path: path.to_owned(),
        offset: at,
        damage: Damage::Truncated,
    };

    let header = match reader.next_record().map_err(fail)? {
        Some(payload) => pb::SnapshotHeader::decode(payload).map_err(|e| undecodable(0, e))?,
        None => return Err(truncated(0)),
    };
    if header.format > FORMAT {
        return Err(SnapshotError::Undecodable {
            path: path.to_owned(),
            offset: 0,
            reason: format!(
                "snapshot format {} is newer than this server reads ({FORMAT})",
                header.format
            ),
        });
    }
    let acl_lists: Vec<Arc<Vec<Acl>>> = header
        .acl_lists
        .iter()
        .map(|list| Arc::new(acl_from_pb(list.acl.clone())))
        .collect();

    let mut failure = None;
    let mut remaining = header.node_count;
    let nodes = std::iter::from_fn(|| {
        if remaining == 0 || failure.is_some() {
            return None;
        }
        remaining -= 1;
        let at = reader.offset();
        let decoded = match reader.next_record() {
            Ok(Some(payload)) => pb::SnapshotNode::decode(payload).map_err(|e| undecodable(at, e)),
            Ok(None) => Err(truncated(at)),
            Err(e) => Err(fail(e)),
        };
        match decoded.and_then(|n| node_from_pb(n, &acl_lists, at, path)) {
            Ok(node) => Some(node),
            Err(e) => {
                failure = Some(e);
                None
            }
        }
    });
    let mut tree = DataTree::from_parts(nodes, [], header.last_zxid);
    if let Some(e) = failure {
        return Err(e);
    }

    for _ in 0..header.session_count {
        let at = reader.offset();
        let payload = reader
            .next_record()
            .map_err(fail)?
            .ok_or_else(|| truncated(at))?;
        let s = pb::SnapshotSession::decode(payload).map_err(|e| undecodable(at, e))?;
        let record = SessionRecord {
            timeout_ms: s.timeout_ms,
            passwd: s.passwd.to_vec(),
        };
        tree.sessions.insert(s.session_id, record);
    }
    let end = reader.offset();
    if reader.next_record().map_err(fail)?.is_some() {
        return Err(SnapshotError::Corrupt {
            path: path.to_owned(),
            offset: end,
            damage: Damage::BadLength,
        });
    }
    Ok((tree, info_of(&header)))
}

fn node_from_pb(
    n: pb::SnapshotNode,
    acl_lists: &[Arc<Vec<Acl>>],
    at: u64,
    path: &Path,
) -> Result<(String, Node), SnapshotError> {
    let acl = match n.acl_list {
        0 => Arc::new(acl_from_pb(n.acl)),
        i => acl_lists
            .get(i as usize - 1)
            .cloned()
            .ok_or_else(|| SnapshotError::Undecodable {
                path: path.to_owned(),
                offset: at,
                reason: format!("ACL list {i} is not in the header"),
            })?,
    };
    let node = Node {
        data: n.data.map(|d| d.value),
        acl,
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
    Ok((n.path, node))
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tree::DataTree;

    fn sample() -> DataTree {
        let mut tree = DataTree::new();
        let read_only = tree.intern_acl(corral_protocol::Acl::read_unsafe());
        let open = tree.intern_acl(corral_protocol::Acl::open_unsafe());
        let mut changes = Vec::new();
        tree.create_node(
            "/a",
            Some(Bytes::from_static(b"A")),
            open,
            0,
            1,
            1,
            10,
            &mut changes,
        );
        tree.create_node("/a/ro", None, read_only, 42, 1, 2, 11, &mut changes);
        tree.last_zxid = 2;
        tree.sessions.insert(
            42,
            SessionRecord {
                timeout_ms: 4000,
                passwd: vec![1; 16],
            },
        );
        tree
    }

    #[test]
    fn round_trip_shares_each_acl_list() {
        let dir = tempfile::tempdir().unwrap();
        let tree = sample();
        let path = write(dir.path(), &tree, &SnapshotInfo::default()).unwrap();
        let (back, _) = read(&path).unwrap();
        assert_eq!(
            back.paths().collect::<Vec<_>>(),
            tree.paths().collect::<Vec<_>>()
        );
        for (p, node) in tree.nodes_in_order() {
            let other = back.get(&p).unwrap();
            assert_eq!(other.stat(), node.stat(), "{p}");
            assert_eq!(other.data, node.data, "{p}");
            assert_eq!(other.acl, node.acl, "{p}");
        }
        assert_eq!(back.acl_lists().count(), 2);
        assert!(Arc::ptr_eq(
            &back.get("/").unwrap().acl,
            &back.get("/a").unwrap().acl
        ));
        assert_eq!(back.ephemerals_of(42).collect::<Vec<_>>(), ["/a/ro"]);
        assert_eq!(back.sessions.get(&42).unwrap().timeout_ms, 4000);
        assert_eq!(back.last_zxid, 2);
    }

    #[test]
    fn nodes_encode_as_prost_encodes_the_message() {
        let acl = Arc::new(corral_protocol::Acl::read_unsafe());
        let stat = NodeStat {
            czxid: 1,
            mzxid: -2,
            ctime: 1_700_000_000_000,
            mtime: 0,
            version: 3,
            cversion: 0,
            aversion: -1,
            ephemeral_owner: i64::MIN,
            pzxid: 5,
        };
        for data in [
            None,
            Some(Bytes::new()),
            Some(Bytes::from_static(&[9; 300])),
        ] {
            for acl_list in [0, 2] {
                let node = Node {
                    data: data.clone(),
                    acl: acl.clone(),
                    stat,
                    children: Default::default(),
                };
                let mut ours = Vec::new();
                encode_node("/a/b", &node, acl_list, &mut ours);
                let message = pb::SnapshotNode {
                    path: "/a/b".into(),
                    data: data.clone().map(|value| pb::Data { value }),
                    acl: if acl_list == 0 {
                        acl_to_pb(&acl)
                    } else {
                        Vec::new()
                    },
                    acl_list,
                    czxid: stat.czxid,
                    mzxid: stat.mzxid,
                    ctime: stat.ctime,
                    mtime: stat.mtime,
                    version: stat.version,
                    cversion: stat.cversion,
                    aversion: stat.aversion,
                    ephemeral_owner: stat.ephemeral_owner,
                    pzxid: stat.pzxid,
                };
                assert_eq!(ours, message.encode_to_vec(), "{data:?} {acl_list}");
            }
        }
    }

    #[test]
    fn damage_is_reported_with_its_offset() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), &sample(), &SnapshotInfo::default()).unwrap();
        let bytes = std::fs::read(&path).unwrap();

        std::fs::write(&path, &bytes[..bytes.len() - 3]).unwrap();
        assert!(matches!(
            read(&path),
            Err(SnapshotError::Corrupt {
                damage: Damage::Truncated,
                ..
            })
        ));

        let mut flipped = bytes.clone();
        let middle = bytes.len() / 2;
        flipped[middle] ^= 0x10;
        std::fs::write(&path, &flipped).unwrap();
        match read(&path) {
            Err(SnapshotError::Corrupt { offset, .. }) => assert!(offset <= middle as u64),
            other => panic!("expected corruption, got {other:?}"),
        }

        let mut longer = bytes.clone();
        longer.extend_from_slice(&bytes[..64]);
        std::fs::write(&path, &longer).unwrap();
        assert!(read(&path).is_err());
    }
}
