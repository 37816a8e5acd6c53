//! `corral-server import`: moves an Apache ZooKeeper (3.5-3.9) data
//! directory into Corral's. The newest readable ZooKeeper snapshot is
//! loaded, every logged txn after it is replayed as ZooKeeper would on
//! restart, and the result is written as a Corral snapshot at log index =
//! ZooKeeper's last zxid, so zxids keep growing and sessions (with the
//! passwords ZooKeeper derived for them) can be resumed by their clients.
//!
//! Nothing is written until everything has been read and replayed.

pub mod java;
pub mod jute_reader;
pub mod records;
pub mod replay;
pub mod snapshot;
pub mod target;
pub mod txnlog;

use crate::config::{ConfigError, ServerArgs, ServerConfig};
use crate::storage::Layout;
use crate::tree::{DataTree, Node, SessionRecord};
use jute_reader::FormatError;
use replay::{ReplayStats, Replayer};
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use txnlog::Tail;

/// Flags of `corral-server import`.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ImportArgs {
    /// ZooKeeper's `version-2` directory (or the directory holding it) with
    /// its snapshot.* and log.* files; repeat it when dataDir and
    /// dataLogDir differ [default: version-2 under the configured dataDir
    /// and dataLogDir]
    #[arg(long, value_name = "DIR")]
    pub from: Vec<PathBuf>,
    /// Path to a zoo.cfg naming Corral's dataDir (and dataLogDir)
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Directory for Corral's snapshots (dataDir)
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Directory for Corral's log (dataLogDir) [default: the data dir]
    #[arg(long)]
    pub data_log_dir: Option<PathBuf>,
    /// Replace the Corral data already in the data directories
    #[arg(long)]
    pub force: bool,
}

/// What to import from where.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    pub sources: Vec<PathBuf>,
    pub data_dir: PathBuf,
    pub data_log_dir: PathBuf,
    pub force: bool,
}

impl ImportArgs {
    /// Resolves the flags and zoo.cfg as the server would.
    pub fn options(&self) -> Result<ImportOptions, ConfigError> {
        let config = ServerConfig::load(&ServerArgs {
            config: self.config.clone(),
            data_dir: self.data_dir.clone(),
            data_log_dir: self.data_log_dir.clone(),
            ..ServerArgs::default()
        })?;
        let mut sources = self.from.clone();
        if sources.is_empty() {
            // ZooKeeper's own layout; a dataLogDir without logs is skipped.
            sources.push(config.data_dir.join("version-2"));
            let logs = config.data_log_dir.join("version-2");
            if config.data_log_dir != config.data_dir && logs.is_dir() {
                sources.push(logs);
            }
        }
        Ok(ImportOptions {
            sources,
            data_dir: config.data_dir,
            data_log_dir: config.data_log_dir,
            force: self.force,
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("{}: {error}", path.display())]
    Io { path: PathBuf, error: io::Error },
    #[error("{}: {error}", path.display())]
    Format { path: PathBuf, error: FormatError },
    #[error("{0}")]
    Refused(String),
}

fn io_error(path: &Path) -> impl FnOnce(io::Error) -> ImportError + '_ {
    move |error| ImportError::Io {
        path: path.to_owned(),
        error,
    }
}

/// What an import did.
#[derive(Debug)]
pub struct Summary {
    /// The ZooKeeper snapshot the tree started from, with its zxid.
    pub snapshot: Option<(PathBuf, i64)>,
    pub logs: Vec<PathBuf>,
    pub replay: ReplayStats,
    pub nodes: usize,
    pub ephemerals: usize,
    pub sessions: usize,
    pub last_zxid: i64,
    /// The Corral snapshot written.
    pub written: PathBuf,
    /// Corral files removed first (`--force`).
    pub replaced: usize,
    pub warnings: Vec<String>,
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "imported ZooKeeper data into {}", self.written.display())?;
        match &self.snapshot {
            Some((path, zxid)) => writeln!(f, "  snapshot:  {} (zxid {zxid:#x})", path.display())?,
            None => writeln!(f, "  snapshot:  none (replayed from an empty tree)")?,
        }
        let names: Vec<String> = self.logs.iter().map(|p| p.display().to_string()).collect();
        writeln!(
            f,
            "  logs:      {}",
            if names.is_empty() {
                "none".into()
            } else {
                names.join(", ")
            }
        )?;
        let r = &self.replay;
        writeln!(
            f,
            "  replayed:  {} txns after the snapshot ({} error txns, {} failed multis, \
             {} already in the snapshot)",
            r.txns, r.errors, r.failed_multis, r.conflicts
        )?;
        writeln!(
            f,
            "  nodes:     {} ({} ephemeral)",
            self.nodes, self.ephemerals
        )?;
        writeln!(f, "  sessions:  {}", self.sessions)?;
        write!(
            f,
            "  last zxid: {:#x}; Corral's next write gets zxid {:#x}",
            self.last_zxid,
            self.last_zxid + 1
        )?;
        if r.dead_ephemerals > 0 {
            write!(
                f,
                "\n  removed {} ephemerals of sessions that had ended",
                r.dead_ephemerals
            )?;
        }
        if self.replaced > 0 {
            write!(
                f,
                "\n  replaced {} files of earlier Corral data",
                self.replaced
            )?;
        }
        for w in &self.warnings {
            write!(f, "\nwarning: {w}")?;
        }
        Ok(())
    }
}

/// The ZooKeeper files found in the sources.
#[derive(Debug, Default)]
struct Found {
    /// Newest first.
    snapshots: Vec<(i64, PathBuf)>,
    /// Oldest first.
    logs: Vec<(i64, PathBuf)>,
    compressed: Vec<PathBuf>,
}

fn discover(sources: &[PathBuf]) -> Result<Found, ImportError> {
    let mut found = Found::default();
    for source in sources {
        let dir = match source.join("version-2") {
            nested if nested.is_dir() => nested,
            _ => source.clone(),
        };
        for entry in std::fs::read_dir(&dir).map_err(io_error(&dir))? {
            let entry = entry.map_err(io_error(&dir))?;
            let Ok(name) = entry.file_name().into_string() else {
                continue;
            };
            if let Some(zxid) = snapshot::zxid_from_name(&name, "snapshot") {
                found.snapshots.push((zxid, entry.path()));
            } else if let Some(zxid) = snapshot::zxid_from_name(&name, "log") {
                found.logs.push((zxid, entry.path()));
            } else if name.starts_with("snapshot.")
                && (name.ends_with(".gz") || name.ends_with(".snappy"))
            {
                found.compressed.push(entry.path());
            }
        }
    }
    for list in [&mut found.snapshots, &mut found.logs] {
        list.sort();
        list.dedup();
    }
    found.snapshots.reverse();
    Ok(found)
}

fn read(path: &Path) -> Result<Vec<u8>, ImportError> {
    std::fs::read(path).map_err(io_error(path))
}

/// The tree of the newest snapshot that reads back whole (older ones are
/// tried when a newer one is damaged, as ZooKeeper does).
fn load_snapshot(
    found: &Found,
    warnings: &mut Vec<String>,
) -> Result<(DataTree, Option<(PathBuf, i64)>), ImportError> {
    let mut first_error = None;
    for (zxid, path) in &found.snapshots {
        match snapshot::parse(&read(path)?) {
            Ok(snap) => {
                let nodes = snap.nodes.into_iter().map(|(p, n)| {
                    let node = Node {
                        data: n.data,
                        acl: n.acl,
                        stat: n.stat,
                        children: Default::default(),
                    };
                    (p, node)
                });
                let sessions = snap.sessions.into_iter().map(|(id, timeout_ms)| {
                    let passwd = java::session_password(id);
                    (id, SessionRecord { timeout_ms, passwd })
                });
                let tree = DataTree::from_parts(nodes, sessions, *zxid);
                return Ok((tree, Some((path.clone(), *zxid))));
            }
            Err(error) => {
                warnings.push(format!(
                    "{}: {error}; using an older snapshot",
                    path.display()
                ));
                first_error.get_or_insert(ImportError::Format {
                    path: path.clone(),
                    error,
                });
            }
        }
    }
    if let Some(e) = first_error {
        return Err(e);
    }
    if found.logs.is_empty() {
        return Err(ImportError::Refused(
            "no ZooKeeper snapshot.* or log.* files found".into(),
        ));
    }
    warnings.push("no snapshot found: replaying the logs from an empty tree".into());
    Ok((DataTree::new(), None))
}

/// The logs that can hold txns after `zxid` (`FileTxnLog.getLogFiles`):
/// the newest starting at or before it, and every later one.
fn logs_after(logs: &[(i64, PathBuf)], zxid: i64) -> &[(i64, PathBuf)] {
    let first = logs
        .iter()
        .rposition(|(start, _)| *start <= zxid)
        .unwrap_or(0);
    &logs[first..]
}

/// Reads ZooKeeper's files, replays them, and writes Corral's.
pub fn run(opts: &ImportOptions) -> Result<Summary, ImportError> {
    let layout = Layout::new(&opts.data_dir, &opts.data_log_dir);
    let existing = target::existing_files(&layout).map_err(io_error(&opts.data_dir))?;
    if !existing.is_empty() && !opts.force {
        return Err(ImportError::Refused(format!(
            "{} already holds Corral data ({}); refusing to import over it (pass --force to \
             replace it)",
            opts.data_dir.display(),
            existing[0].display()
        )));
    }
    let found = discover(&opts.sources)?;
    let mut warnings = Vec::new();
    for path in &found.compressed {
        warnings.push(format!(
            "{}: compressed snapshots are not supported; skipped",
            path.display()
        ));
    }
    let (tree, snapshot) = load_snapshot(&found, &mut warnings)?;
    let mut last = tree.last_zxid;
    let mut replayer = Replayer::new(tree);
    let mut logs = Vec::new();
    let selected = logs_after(&found.logs, last);
    for (i, (_, path)) in selected.iter().enumerate() {
        let log = txnlog::parse(&read(path)?).map_err(|error| ImportError::Format {
            path: path.clone(),
            error,
        })?;
        if let Tail::Partial { offset, reason } = &log.tail {
            let newest = i + 1 == selected.len();
            warnings.push(format!(
                "{}: incomplete entry at byte offset {offset} ignored{} ({reason})",
                path.display(),
                if newest { "" } else { ", as ZooKeeper does" }
            ));
        }
        for (header, txn) in &log.entries {
            if header.zxid <= last {
                continue;
            }
            if header.zxid >> 32 == last >> 32 && header.zxid != last + 1 {
                return Err(ImportError::Refused(format!(
                    "{}: txn {:#x} follows {:#x}: the txns in between are missing \
                     (a removed or lost log file?)",
                    path.display(),
                    header.zxid,
                    last
                )));
            }
            replayer.apply(header, txn);
            last = header.zxid;
        }
        logs.push(path.clone());
    }
    let (mut tree, replay) = replayer.finish();
    // ZooKeeper's ensemble configuration means nothing here (an ensemble's
    // leader writes its own from zoo.cfg).
    crate::reconfig::forget_config(&mut tree);

    if !existing.is_empty() {
        target::remove_files(&existing).map_err(io_error(&opts.data_dir))?;
    }
    let written = target::write(&layout, &tree).map_err(io_error(&layout.snapshot_dir))?;
    Ok(Summary {
        snapshot,
        logs,
        replay,
        nodes: tree.node_count(),
        ephemerals: tree.ephemeral_count(),
        sessions: tree.sessions.len(),
        last_zxid: tree.last_zxid,
        written,
        replaced: existing.len(),
        warnings,
    })
}
