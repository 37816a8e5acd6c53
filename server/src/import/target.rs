//! The Corral side of an import: refusing to overwrite a data directory
//! that already holds Corral data (unless forced), and writing the
//! imported tree as a snapshot the server recovers from.
//!
//! Corral's zxid is the Raft log index, so the snapshot stands at log index
//! = ZooKeeper's last zxid (term 1, node 1, a one-voter membership) and the
//! log's `purged` mark says the log starts right after it: the next write
//! gets the next zxid, and clients' last seen zxids stay valid.

use crate::raft::NodeId;
use crate::storage::codec::log_id_to_pb;
use crate::storage::snapshot::{self, SnapshotInfo};
use crate::storage::{log, Layout};
use crate::tree::DataTree;
use openraft::{BasicNode, CommittedLeaderId, LogId, Membership, StoredMembership};
use prost::Message;
use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::path::PathBuf;

/// `storage::log`'s record of the last purged log id.
const PURGED_FILE: &str = "purged";

/// The Corral files already under `layout`: snapshots, log segments, the
/// purge mark and the vote.
pub fn existing_files(layout: &Layout) -> io::Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    for dir in [&layout.snapshot_dir, &layout.log_dir] {
        match std::fs::read_dir(dir) {
            Ok(entries) => {
                for e in entries {
                    let e = e?;
                    if e.file_type()?.is_file() {
                        found.push(e.path());
                    }
                }
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
    }
    if layout.vote_file.is_file() {
        found.push(layout.vote_file.clone());
    }
    found.sort();
    Ok(found)
}

/// Removes what [`existing_files`] found (for `--force`).
pub fn remove_files(files: &[PathBuf]) -> io::Result<()> {
    for f in files {
        match std::fs::remove_file(f) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
    }
    Ok(())
}

/// The log id an imported tree stands at.
pub fn log_id(last_zxid: i64) -> LogId<NodeId> {
    LogId::new(CommittedLeaderId::new(1, 1), last_zxid.max(0) as u64)
}

/// Writes `tree` as the snapshot at `log_id(tree.last_zxid)` and marks the
/// log purged up to it; returns the snapshot's path.
pub fn write(layout: &Layout, tree: &DataTree) -> io::Result<PathBuf> {
    let log_id = log_id(tree.last_zxid);
    let nodes: BTreeMap<NodeId, BasicNode> = [(1, BasicNode::default())].into();
    let membership = Membership::new(vec![BTreeSet::from([1])], nodes);
    let info = SnapshotInfo {
        last_applied: Some(log_id),
        membership: StoredMembership::new(Some(log_id), membership),
    };
    let path = snapshot::write(&layout.snapshot_dir, tree, &info)?;
    std::fs::create_dir_all(&layout.log_dir)?;
    log::write_atomically(
        &layout.log_dir.join(PURGED_FILE),
        &log_id_to_pb(&log_id).encode_to_vec(),
    )?;
    Ok(path)
}
