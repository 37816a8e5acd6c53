//! ZooKeeper snapshot files (`FileSnap`): `snapshot.<hex zxid>` holding
//!
//! ```text
//! FileHeader      int magic "ZKSN", int version 2, long dbid
//! sessions        int count, then count x (long id, int timeout)
//! ACL cache       int count, then count x (long key, vector<ACL>)
//! nodes           (ustring path, buffer data, long acl key, StatPersisted)...
//!                 parents first, the root as "", until the path "/"
//! seal            long Adler32 of every byte before it, ustring "/"
//! digest (3.6+)   long zxid, int version, long digest (or a hex string
//!                 before version 2), then another seal
//! ```
//!
//! The zxid of a snapshot is in its name; since ZooKeeper snapshots while
//! it applies txns ("fuzzy" snapshots), the tree may already hold some
//! txns after that zxid, which replaying the log tolerates.

use super::java::adler32;
use super::jute_reader::{FormatError, JuteReader};
use crate::path;
use crate::tree::NodeStat;
use bytes::Bytes;
use corral_protocol::Acl;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

/// `ReferenceCountedACLCache.OPEN_UNSAFE_ACL_ID`.
const OPEN_UNSAFE_ACL_ID: i64 = -1;

/// A znode as a snapshot stores it.
#[derive(Debug, Clone)]
pub struct ZkNode {
    pub data: Option<Bytes>,
    pub acl: Arc<Vec<Acl>>,
    pub stat: NodeStat,
}

/// A parsed snapshot file.
#[derive(Debug)]
pub struct ZkSnapshot {
    pub dbid: i64,
    /// Session id and timeout (ms), as the file lists them.
    pub sessions: Vec<(i64, i32)>,
    /// Every node, parents first; the root is `/`.
    pub nodes: Vec<(String, ZkNode)>,
    /// The zxid of the tree digest stored after the nodes, if any.
    pub digest_zxid: Option<i64>,
}

/// The zxid in a file name `<prefix>.<hex zxid>` (ZooKeeper's
/// `Util.getZxidFromName`); `None` for other names.
pub fn zxid_from_name(name: &str, prefix: &str) -> Option<i64> {
    let hex = name.strip_prefix(prefix)?.strip_prefix('.')?;
    u64::from_str_radix(hex, 16).ok().map(|z| z as i64)
}

pub fn parse(buf: &[u8]) -> Result<ZkSnapshot, FormatError> {
    let mut r = JuteReader::new(buf);
    let dbid = r.read_file_header(b"ZKSN", "snapshot")?;

    let count = r.read_count(12)?;
    let mut sessions = Vec::with_capacity(count);
    for _ in 0..count {
        let id = r.read_i64()?;
        let timeout = r.read_i32()?;
        sessions.push((id, timeout));
    }

    let count = r.read_count(12)?;
    let mut acls: HashMap<i64, Arc<Vec<Acl>>> = HashMap::with_capacity(count);
    for _ in 0..count {
        let key = r.read_i64()?;
        acls.insert(key, Arc::new(r.read_acls()?));
    }
    let open = Arc::new(Acl::open_unsafe());

    let mut nodes = Vec::new();
    let mut seen = HashSet::new();
    loop {
        let at = r.position();
        let zk_path = r
            .read_string()?
            .ok_or_else(|| FormatError::at(at, "null node path"))?;
        if zk_path == "/" {
            break;
        }
        let p = if zk_path.is_empty() {
            "/".to_owned()
        } else {
            zk_path
        };
        if path::validate(&p).is_err() {
            return Err(FormatError::at(at, format!("invalid node path {p:?}")));
        }
        if p != "/" && !seen.contains(path::parent(&p)) {
            return Err(FormatError::at(
                at,
                format!("node {p} comes before its parent"),
            ));
        }
        if !seen.insert(p.clone()) {
            return Err(FormatError::at(at, format!("node {p} appears twice")));
        }
        let data = r.read_buffer()?.map(Bytes::copy_from_slice);
        let key_at = r.position();
        let key = r.read_i64()?;
        let acl = if key == OPEN_UNSAFE_ACL_ID {
            open.clone()
        } else {
            acls.get(&key).cloned().ok_or_else(|| {
                FormatError::at(key_at, format!("node {p} refers to unknown ACL {key}"))
            })?
        };
        let stat = read_stat_persisted(&mut r)?;
        nodes.push((p, ZkNode { data, acl, stat }));
    }
    if nodes.first().map(|(p, _)| p.as_str()) != Some("/") {
        return Err(r.error("snapshot has no root node"));
    }
    check_seal(&mut r)?;

    // Optional sections, each sealed by its own checksum: the tree digest
    // (3.6+) and the last processed zxid (3.9+, when enabled). Which one
    // comes is told by whose seal checks out.
    let mut digest_zxid = None;
    while r.remaining() > 0 {
        let mut digest = r.clone();
        if let Ok(zxid) = read_digest(&mut digest).and_then(|z| check_seal(&mut digest).map(|_| z))
        {
            digest_zxid = Some(zxid);
            r = digest;
            continue;
        }
        let mut last = r.clone();
        if last.read_i64().and_then(|_| check_seal(&mut last)).is_ok() {
            r = last;
            continue;
        }
        return Err(r.error("unrecognized or truncated data after the snapshot's nodes"));
    }
    Ok(ZkSnapshot {
        dbid,
        sessions,
        nodes,
        digest_zxid,
    })
}

/// `StatPersisted`: czxid, mzxid, ctime, mtime, version, cversion,
/// aversion, ephemeralOwner, pzxid.
fn read_stat_persisted(r: &mut JuteReader<'_>) -> Result<NodeStat, FormatError> {
    Ok(NodeStat {
        czxid: r.read_i64()?,
        mzxid: r.read_i64()?,
        ctime: r.read_i64()?,
        mtime: r.read_i64()?,
        version: r.read_i32()?,
        cversion: r.read_i32()?,
        aversion: r.read_i32()?,
        ephemeral_owner: r.read_i64()?,
        pzxid: r.read_i64()?,
    })
}

/// `DataTree.ZxidDigest`: zxid, version, then the digest (a hex string
/// before version 2); returns the zxid.
fn read_digest(r: &mut JuteReader<'_>) -> Result<i64, FormatError> {
    let zxid = r.read_i64()?;
    if r.read_i32()? < 2 {
        r.read_string()?;
    } else {
        r.read_i64()?;
    }
    Ok(zxid)
}

/// `SnapStream.checkSealIntegrity`: the Adler32 of everything so far, then "/".
fn check_seal(r: &mut JuteReader<'_>) -> Result<(), FormatError> {
    let expected = adler32(r.consumed());
    let at = r.position();
    let found = r.read_i64().map_err(|mut e| {
        e.reason = format!("snapshot ends before its checksum: {}", e.reason);
        e
    })?;
    let marker = r.read_string()?;
    if found != expected {
        return Err(FormatError::at(
            at,
            format!(
                "snapshot checksum mismatch: file says {found:#x}, content gives {expected:#x}"
            ),
        ));
    }
    if marker.as_deref() != Some("/") {
        return Err(FormatError::at(
            at + 8,
            "snapshot checksum is not followed by \"/\"",
        ));
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use corral_protocol::{Encode, Writer};

    fn stat(w: &mut Writer, czxid: i64, owner: i64) {
        for v in [czxid, czxid, 1000, 1000] {
            w.write_i64(v);
        }
        for v in [0, 0, 0] {
            w.write_i32(v);
        }
        w.write_i64(owner);
        w.write_i64(czxid);
    }

    /// A small snapshot as ZooKeeper writes it: `/`, `/a` (ACL key 1),
    /// `/a/e` (ephemeral of session 5); sessions 5 and 6; a digest.
    pub(crate) fn sample() -> Vec<u8> {
        let mut w = Writer::new();
        w.write_i32(0x5a4b_534e);
        w.write_i32(2);
        w.write_i64(-1);
        w.write_i32(2);
        for (id, timeout) in [(5i64, 30_000), (6, 10_000)] {
            w.write_i64(id);
            w.write_i32(timeout);
        }
        w.write_i32(1);
        w.write_i64(1);
        Acl::read_unsafe().encode(&mut w);
        for (p, data, acl, czxid, owner) in [
            ("", Some(&b""[..]), -1i64, 0i64, 0i64),
            ("/a", Some(b"x"), 1, 2, 0),
            ("/a/e", None, -1, 3, 5),
        ] {
            w.write_string(p);
            w.write_buffer(data);
            w.write_i64(acl);
            stat(&mut w, czxid, owner);
        }
        w.write_string("/");
        seal(&mut w);
        w.write_i64(3);
        w.write_i32(2);
        w.write_i64(0x1234);
        seal(&mut w);
        w.write_i64(3); // 3.9's lastProcessedZxid section
        seal(&mut w);
        w.into_inner()
    }

    fn seal(w: &mut Writer) {
        let sum = adler32(&w.clone().into_inner());
        w.write_i64(sum);
        w.write_string("/");
    }

    #[test]
    fn parses_a_snapshot() {
        let snap = parse(&sample()).unwrap();
        assert_eq!(snap.sessions, vec![(5, 30_000), (6, 10_000)]);
        let paths: Vec<&str> = snap.nodes.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(paths, ["/", "/a", "/a/e"]);
        assert_eq!(*snap.nodes[1].1.acl, Acl::read_unsafe());
        assert_eq!(*snap.nodes[2].1.acl, Acl::open_unsafe());
        assert_eq!(snap.nodes[2].1.data, None);
        assert_eq!(snap.nodes[2].1.stat.ephemeral_owner, 5);
        assert_eq!(snap.digest_zxid, Some(3));
    }

    #[test]
    fn damage_is_reported() {
        let good = sample();
        let mut flipped = good.clone();
        let data_at = good.windows(5).position(|w| w == b"\0\0\0\x01x").unwrap() + 4;
        flipped[data_at] ^= 1;
        let e = parse(&flipped).unwrap_err();
        assert!(e.reason.contains("checksum mismatch"), "{e}");

        let e = parse(&good[..good.len() - 80]).unwrap_err();
        assert!(e.eof, "{e}");
        let e = parse(&good[..good.len() - 5]).unwrap_err();
        assert!(e.reason.contains("unrecognized or truncated"), "{e}");

        let mut magic = good.clone();
        magic[..4].copy_from_slice(b"ZKLG");
        let e = parse(&magic).unwrap_err();
        assert!(e.reason.contains("not a ZooKeeper snapshot"), "{e}");
    }

    #[test]
    fn names_carry_hex_zxids() {
        assert_eq!(zxid_from_name("snapshot.1c", "snapshot"), Some(0x1c));
        assert_eq!(zxid_from_name("log.100000001", "log"), Some(0x1_0000_0001));
        assert_eq!(zxid_from_name("snapshot.1c.snappy", "snapshot"), None);
        assert_eq!(zxid_from_name("logger.1", "log"), None);
    }
}
