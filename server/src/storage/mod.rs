//! Durable state: the Raft log in segment files, snapshots of the tree,
//! and the vote, all under the configured data directories.
//!
//! ```text
//! <dataLogDir>/corral/log/log-<first index>.seg   Raft log segments
//! <dataLogDir>/corral/log/purged                  last purged log id
//! <dataDir>/corral/snapshots/snapshot-<index>.snap
//! <dataDir>/corral/vote
//! ```

pub mod codec;
pub mod log;
pub mod log_index;
pub mod record;
pub mod snapshot;
pub mod writeback;

/// Generated from `proto/corral.proto` and `proto/peer.proto`.
#[allow(clippy::all, missing_docs)]
pub mod pb {
    include!(concat!(env!("OUT_DIR"), "/corral.v1.rs"));
}

use std::path::{Path, PathBuf};

/// The files of one server.
#[derive(Debug, Clone)]
pub struct Layout {
    pub log_dir: PathBuf,
    pub snapshot_dir: PathBuf,
    pub vote_file: PathBuf,
}

impl Layout {
    pub fn new(data_dir: &Path, data_log_dir: &Path) -> Layout {
        Layout {
            log_dir: data_log_dir.join("corral").join("log"),
            snapshot_dir: data_dir.join("corral").join("snapshots"),
            vote_file: data_dir.join("corral").join("vote"),
        }
    }
}
