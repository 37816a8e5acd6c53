//! The Raft log on disk: segment files of CRC-framed protobuf entries.
//!
//! Appends go to one writer thread that drains every queued batch, writes
//! it, and fsyncs once (group commit); only then does openraft hear that the
//! entries are durable, so a reply never precedes its fsync. The newest
//! entries are also cached in memory ([`LogIndex`]); older ones are read
//! back from their segment.

use super::codec::{entry_from_pb, entry_to_pb, log_id_from_pb, log_id_to_pb};
use super::log_index::{Found, Location, LogIndex};
use super::pb;
use super::record::{self, Damage, ReadError, RecordReader};
use crate::raft::{NodeId, TypeConfig};
use openraft::storage::{LogFlushed, LogState, RaftLogStorage};
use openraft::{Entry, ErrorSubject, ErrorVerb, LogId, RaftLogReader, StorageError, Vote};
use parking_lot::Mutex;
use prost::Message;
use std::fmt::Debug;
use std::fs::{File, OpenOptions};
use std::io::{self, BufReader, BufWriter, Seek, SeekFrom, Write};
use std::ops::RangeBounds;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;
use tracing::{error, info, warn};

/// Records the last purged log id (entries up to it may be gone).
const PURGED_FILE: &str = "purged";

/// Client writes are refused while the log's filesystem has less free space
/// than this, so the writes already accepted still fit.
const FREE_SPACE_RESERVE: u64 = 1 << 20;

/// A new segment starts once the current one is this large.
const SEGMENT_BYTES: u64 = 64 << 20;

/// What went wrong reading the log at start-up.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error(
        "{path}: corrupt record at offset {offset} ({damage:?}) with valid records after it; \
         refusing to start (pass --truncate-corrupt-log to drop everything from there on)"
    )]
    Corrupt {
        path: PathBuf,
        offset: u64,
        damage: Damage,
    },
    #[error("{path}: record at offset {offset} does not decode: {reason}")]
    Undecodable {
        path: PathBuf,
        offset: u64,
        reason: String,
    },
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> LogError + '_ {
    move |source| LogError::Io {
        path: path.to_owned(),
        source,
    }
}

struct Segment {
    first_index: u64,
    path: PathBuf,
}

fn segment_name(first_index: u64) -> String {
    format!("log-{first_index:020}.seg")
}

/// Where each entry lives on disk, and the open segment.
struct Files {
    dir: PathBuf,
    segments: Vec<Segment>,
    current: BufWriter<File>,
    current_len: u64,
    /// Told where each entry lies once it is durable.
    index: Arc<Mutex<LogIndex>>,
}

enum Command {
    Append {
        records: Vec<(LogId<NodeId>, Vec<u8>)>,
        callback: LogFlushed<TypeConfig>,
    },
    Truncate {
        from: u64,
        done: mpsc::Sender<io::Result<()>>,
    },
    Purge {
        upto: LogId<NodeId>,
    },
}

/// The log store handed to openraft. Cheap to clone (for the log reader).
#[derive(Clone)]
pub struct DiskLog {
    dir: PathBuf,
    memory: Arc<Mutex<LogIndex>>,
    commands: mpsc::Sender<Command>,
    vote_path: PathBuf,
    /// Set while the disk refuses writes (ENOSPC and the like).
    pub unwritable: Arc<AtomicBool>,
    /// Encoded bytes of the entries appended since start: what the
    /// snapshot policy weighs against the size of the newest snapshot.
    pub appended_bytes: Arc<AtomicU64>,
}

impl DiskLog {
    /// Opens (or creates) the log in `dir`, recovering what is there. A torn
    /// tail of the newest segment is cut off; damage followed by valid
    /// records refuses to start unless `truncate_corrupt` is set.
    pub fn open(dir: &Path, vote_path: &Path, truncate_corrupt: bool) -> Result<DiskLog, LogError> {
        std::fs::create_dir_all(dir).map_err(io_err(dir))?;
        let mut names: Vec<(u64, PathBuf)> = std::fs::read_dir(dir)
            .map_err(io_err(dir))?
            .filter_map(|e| e.ok())
            .filter_map(|e| {
                let name = e.file_name().into_string().ok()?;
                let first = name
                    .strip_prefix("log-")?
                    .strip_suffix(".seg")?
                    .parse()
                    .ok()?;
                Some((first, e.path()))
            })
            .collect();
        names.sort();

        let mut memory = LogIndex::default();
        memory.last_purged = read_purged(&dir.join(PURGED_FILE))?;
        let purged_index = memory.last_purged.map(|l| l.index);
        let mut segments = Vec::new();
        let count = names.len();
        for (i, (first_index, path)) in names.into_iter().enumerate() {
            let newest = i + 1 == count;
            let bytes = record::read_file(&path).map_err(io_err(&path))?;
            let scan = record::scan(&bytes);
            let mut located = Vec::with_capacity(scan.records.len());
            for (offset, payload) in &scan.records {
                let entry = pb::LogEntry::decode(*payload)
                    .map_err(|e| e.to_string())
                    .and_then(|e| entry_from_pb(e).map_err(|e| e.to_string()))
                    .map_err(|reason| LogError::Undecodable {
                        path: path.clone(),
                        offset: *offset,
                        reason,
                    })?;
                if purged_index.is_some_and(|p| entry.log_id.index <= p) {
                    continue;
                }
                let place = Location {
                    log_id: entry.log_id,
                    segment: first_index,
                    offset: *offset,
                };
                located.push((entry.log_id.index, place));
                memory.append(entry, payload.len());
            }
            memory.locate(located);
            if let Some(damage) = scan.damage {
                let torn_tail = newest && !scan.valid_after_damage;
                if !torn_tail && !truncate_corrupt {
                    return Err(LogError::Corrupt {
                        path,
                        offset: scan.valid_len,
                        damage,
                    });
                }
                warn!(
                    file = %path.display(),
                    offset = scan.valid_len,
                    dropped_bytes = bytes.len() as u64 - scan.valid_len,
                    ?damage,
                    "truncating the log after its last valid record"
                );
                let f = OpenOptions::new()
                    .write(true)
                    .open(&path)
                    .map_err(io_err(&path))?;
                f.set_len(scan.valid_len).map_err(io_err(&path))?;
                f.sync_all().map_err(io_err(&path))?;
            }
            segments.push(Segment { first_index, path });
        }
        memory.vote = read_vote(vote_path)?;
        let last_index = memory.last_log_id().map(|l| l.index);
        if let Some(last_index) = last_index {
            info!(entries = memory.entry_count(), last_index, "log recovered");
        }

        let next_index = last_index.map_or(0, |i| i + 1);
        if segments.is_empty() {
            let path = dir.join(segment_name(next_index));
            File::create(&path).map_err(io_err(&path))?;
            record::sync_dir(dir).map_err(io_err(dir))?;
            segments.push(Segment {
                first_index: next_index,
                path,
            });
        }
        let current_path = &segments.last().expect("one segment").path;
        let file = OpenOptions::new()
            .append(true)
            .open(current_path)
            .map_err(io_err(current_path))?;
        let current_len = file.metadata().map_err(io_err(current_path))?.len();
        let memory = Arc::new(Mutex::new(memory));
        let files = Files {
            dir: dir.to_owned(),
            segments,
            current: BufWriter::with_capacity(1 << 20, file),
            current_len,
            index: memory.clone(),
        };
        let (tx, rx) = mpsc::channel();
        let unwritable = Arc::new(AtomicBool::new(false));
        let flag = unwritable.clone();
        std::thread::Builder::new()
            .name("corral-log-writer".into())
            .spawn(move || write_loop(files, rx, flag))
            .map_err(io_err(dir))?;
        Ok(DiskLog {
            dir: dir.to_owned(),
            memory,
            commands: tx,
            vote_path: vote_path.to_owned(),
            unwritable,
            appended_bytes: Arc::new(AtomicU64::new(0)),
        })
    }

    /// Forgets the vote of a node whose log and snapshots are gone (an
    /// operator cut the log back to nothing): it starts pristine.
    pub fn clear_vote(&self) -> io::Result<()> {
        match std::fs::remove_file(&self.vote_path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
        self.memory.lock().vote = None;
        Ok(())
    }

    /// Index of the last purged entry: entries up to it may be gone.
    pub fn last_purged_index(&self) -> Option<u64> {
        self.memory.lock().last_purged.map(|l| l.index)
    }

    /// Index of the last entry (or of the last purged one).
    pub fn last_index(&self) -> Option<u64> {
        self.memory.lock().last_log_id().map(|l| l.index)
    }

    /// Reads durable entries back from their segments.
    fn read_from_disk(&self, places: &[(u64, Location)]) -> io::Result<Vec<Entry<TypeConfig>>> {
        let mut entries = Vec::with_capacity(places.len());
        let mut open: Option<(u64, RecordReader<BufReader<File>>)> = None;
        for (index, place) in places {
            let reusable = open
                .as_ref()
                .is_some_and(|(seg, r)| *seg == place.segment && r.offset() == place.offset);
            if !reusable {
                let mut file = File::open(self.dir.join(segment_name(place.segment)))?;
                file.seek(SeekFrom::Start(place.offset))?;
                let reader = RecordReader::at_offset(BufReader::new(file), place.offset);
                open = Some((place.segment, reader));
            }
            let (_, reader) = open.as_mut().expect("opened above");
            let bad = |what: String| io::Error::new(io::ErrorKind::InvalidData, what);
            let payload = match reader.next_record() {
                Ok(Some(payload)) => payload,
                Ok(None) => return Err(bad(format!("log entry {index} is missing"))),
                Err(ReadError::Io(e)) => return Err(e),
                Err(ReadError::Damaged(at, damage)) => {
                    return Err(bad(format!("log entry {index} at offset {at}: {damage:?}")))
                }
            };
            let entry = pb::LogEntry::decode(payload)
                .map_err(|e| e.to_string())
                .and_then(|e| entry_from_pb(e).map_err(|e| e.to_string()))
                .map_err(bad)?;
            entries.push(entry);
        }
        Ok(entries)
    }

    fn send(&self, cmd: Command) -> io::Result<()> {
        self.commands
            .send(cmd)
            .map_err(|_| io::Error::other("log writer stopped"))
    }
}

/// Reads a one-record file written by [`write_atomically`]; `None` if absent.
fn read_small<M: Message + Default>(path: &Path) -> Result<Option<M>, LogError> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_err(path)(e)),
    };
    let (payload, _) = record::parse_record(&bytes).map_err(|damage| LogError::Corrupt {
        path: path.to_owned(),
        offset: 0,
        damage,
    })?;
    M::decode(payload)
        .map(Some)
        .map_err(|e| LogError::Undecodable {
            path: path.to_owned(),
            offset: 0,
            reason: e.to_string(),
        })
}

fn read_purged(path: &Path) -> Result<Option<LogId<NodeId>>, LogError> {
    Ok(read_small::<pb::LogId>(path)?.map(|r| log_id_from_pb(&r)))
}

fn read_vote(path: &Path) -> Result<Option<Vote<NodeId>>, LogError> {
    let Some(v) = read_small::<pb::Vote>(path)? else {
        return Ok(None);
    };
    let mut vote = Vote::new(v.term, v.node_id);
    if v.committed {
        vote.commit();
    }
    Ok(Some(vote))
}

/// Writes `payload` as `path` atomically: temp file, fsync, rename, fsync dir.
pub fn write_atomically(path: &Path, payload: &[u8]) -> io::Result<()> {
    let tmp = path.with_extension("tmp");
    let mut f = File::create(&tmp)?;
    record::write_record(&mut f, payload)?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)?;
    record::sync_dir(path.parent().unwrap_or(Path::new(".")))
}

/// Free bytes on the filesystem holding `dir` (`statvfs`).
fn free_space(dir: &Path) -> io::Result<u64> {
    use std::os::unix::ffi::OsStrExt;
    let path = std::ffi::CString::new(dir.as_os_str().as_bytes())?;
    let mut stat: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: `path` is a valid C string and `stat` a writable statvfs.
    if unsafe { libc::statvfs(path.as_ptr(), &mut stat) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(stat.f_bavail as u64 * stat.f_frsize as u64)
}

/// Sets or clears `unwritable` from the free space left.
fn check_space(dir: &Path, unwritable: &AtomicBool) {
    let Ok(free) = free_space(dir) else {
        return;
    };
    let low = free < FREE_SPACE_RESERVE;
    if unwritable.swap(low, Ordering::Relaxed) != low {
        if low {
            error!(
                free_bytes = free,
                "disk almost full; refusing client writes"
            );
        } else {
            info!(free_bytes = free, "disk space is back; accepting writes");
        }
    }
}

fn write_loop(mut files: Files, rx: mpsc::Receiver<Command>, unwritable: Arc<AtomicBool>) {
    loop {
        check_space(&files.dir, &unwritable);
        let first = match rx.recv_timeout(Duration::from_millis(200)) {
            Ok(cmd) => cmd,
            Err(mpsc::RecvTimeoutError::Timeout) => continue,
            Err(mpsc::RecvTimeoutError::Disconnected) => return,
        };
        let mut callbacks = Vec::new();
        let mut batch = Vec::new();
        let mut next = Some(first);
        while let Some(cmd) = next.take() {
            match cmd {
                Command::Append { records, callback } => {
                    batch.extend(records);
                    callbacks.push(callback);
                }
                Command::Truncate { from, done } => {
                    let result = write_batch(&mut files, &mut batch, &unwritable)
                        .and_then(|_| truncate(&mut files, from));
                    let _ = done.send(result);
                }
                Command::Purge { upto } => {
                    let _ = write_batch(&mut files, &mut batch, &unwritable);
                    purge(&mut files, upto);
                }
            }
            next = rx.try_recv().ok();
        }
        let result = write_batch(&mut files, &mut batch, &unwritable);
        for cb in callbacks {
            cb.log_io_completed(
                result
                    .as_ref()
                    .map(|_| ())
                    .map_err(|e| io::Error::new(e.kind(), e.to_string())),
            );
        }
    }
}

/// Writes and fsyncs a batch. While the disk refuses (ENOSPC, EIO), the
/// partial write is cut off and the batch retried, so openraft never sees
/// a failed append (that would stop the node); writes wait, reads go on.
fn write_batch(
    files: &mut Files,
    batch: &mut Vec<(LogId<NodeId>, Vec<u8>)>,
    unwritable: &AtomicBool,
) -> io::Result<()> {
    if batch.is_empty() {
        return Ok(());
    }
    let mut delay = Duration::from_millis(10);
    loop {
        let start_len = files.current_len;
        match try_write(files, batch) {
            Ok(()) => {
                batch.clear();
                return Ok(());
            }
            Err(e) => {
                if !unwritable.swap(true, Ordering::Relaxed) {
                    error!(error = %e, "log write failed; client writes are refused until it succeeds");
                }
                if let Err(e) = rollback_partial(files, start_len) {
                    error!(error = %e, "cannot cut off a partial log write");
                }
                std::thread::sleep(delay);
                delay = (delay * 2).min(Duration::from_secs(1));
            }
        }
    }
}

/// Appends a batch to the current segment (rotating first if it is full)
/// and fsyncs. Offsets are recorded only once the batch is durable.
fn try_write(files: &mut Files, batch: &[(LogId<NodeId>, Vec<u8>)]) -> io::Result<()> {
    if files.current_len >= SEGMENT_BYTES {
        rotate(files, batch[0].0.index)?;
    }
    let segment = files.segments.last().expect("current segment").first_index;
    let mut places = Vec::with_capacity(batch.len());
    let mut len = files.current_len;
    for (log_id, payload) in batch {
        record::write_record(&mut files.current, payload)?;
        let place = Location {
            log_id: *log_id,
            segment,
            offset: len,
        };
        places.push((log_id.index, place));
        len += record::encoded_len(payload);
    }
    files.current.flush()?;
    let fsync_started = std::time::Instant::now();
    files.current.get_ref().sync_data()?;
    crate::admin::metrics::fsync_done(fsync_started.elapsed());
    files.current_len = len;
    files.index.lock().locate(places);
    Ok(())
}

/// Cuts the current segment back to `len` after a failed write, dropping
/// whatever the buffer still holds.
fn rollback_partial(files: &mut Files, len: u64) -> io::Result<()> {
    let path = files.segments.last().expect("current segment").path.clone();
    let file = OpenOptions::new().append(true).open(&path)?;
    file.set_len(len)?;
    files.current = BufWriter::with_capacity(1 << 20, file);
    files.current_len = len;
    Ok(())
}

fn rotate(files: &mut Files, first_index: u64) -> io::Result<()> {
    files.current.flush()?;
    files.current.get_ref().sync_data()?;
    let path = files.dir.join(segment_name(first_index));
    let file = OpenOptions::new().create(true).append(true).open(&path)?;
    record::sync_dir(&files.dir)?;
    files.segments.push(Segment { first_index, path });
    files.current = BufWriter::with_capacity(1 << 20, file);
    files.current_len = 0;
    Ok(())
}

fn truncate(files: &mut Files, from: u64) -> io::Result<()> {
    files.current.flush()?;
    while files.segments.len() > 1 && files.segments.last().expect("segment").first_index >= from {
        let seg = files.segments.pop().expect("segment");
        std::fs::remove_file(&seg.path)?;
    }
    let seg = files.segments.last().expect("segment");
    let cut = files.index.lock().truncate(from).map(|place| place.offset);
    let len = match cut {
        Some(offset) if seg.first_index <= from => offset,
        _ if seg.first_index >= from => 0,
        _ => files.current_len,
    };
    let file = OpenOptions::new().append(true).open(&seg.path)?;
    file.set_len(len)?;
    file.sync_all()?;
    files.current = BufWriter::with_capacity(1 << 20, file);
    files.current_len = len;
    record::sync_dir(&files.dir)
}

fn purge(files: &mut Files, purged: LogId<NodeId>) {
    let record = log_id_to_pb(&purged).encode_to_vec();
    if let Err(e) = write_atomically(&files.dir.join(PURGED_FILE), &record) {
        warn!(error = %e, "cannot record the purge point; keeping the segments");
        return;
    }
    let upto = purged.index;
    // A segment can go when the next one starts at or before `upto + 1`.
    while files.segments.len() > 1 && files.segments[1].first_index <= upto + 1 {
        let seg = files.segments.remove(0);
        if let Err(e) = std::fs::remove_file(&seg.path) {
            warn!(file = %seg.path.display(), error = %e, "cannot remove a purged segment");
        }
    }
}

fn log_write_error(e: io::Error) -> StorageError<NodeId> {
    StorageError::from_io_error(ErrorSubject::Logs, ErrorVerb::Write, e)
}

impl RaftLogReader<TypeConfig> for DiskLog {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + Send>(
        &mut self,
        range: RB,
    ) -> Result<Vec<Entry<TypeConfig>>, StorageError<NodeId>> {
        let found = self.memory.lock().find(range);
        let on_disk: Vec<(u64, Location)> = found
            .iter()
            .filter_map(|f| match f {
                Found::OnDisk(index, place) => Some((*index, *place)),
                Found::Cached(_) => None,
            })
            .collect();
        let mut from_disk = if on_disk.is_empty() {
            Vec::new()
        } else {
            self.read_from_disk(&on_disk)
                .map_err(|e| StorageError::from_io_error(ErrorSubject::Logs, ErrorVerb::Read, e))?
        }
        .into_iter();
        Ok(found
            .into_iter()
            .map(|f| match f {
                Found::Cached(entry) => entry,
                Found::OnDisk(..) => from_disk.next().expect("read every on-disk entry"),
            })
            .collect())
    }
}

impl RaftLogStorage<TypeConfig> for DiskLog {
    type LogReader = DiskLog;

    async fn get_log_state(&mut self) -> Result<LogState<TypeConfig>, StorageError<NodeId>> {
        let m = self.memory.lock();
        Ok(LogState {
            last_purged_log_id: m.last_purged,
            last_log_id: m.last_log_id(),
        })
    }

    async fn get_log_reader(&mut self) -> Self::LogReader {
        self.clone()
    }

    async fn save_vote(&mut self, vote: &Vote<NodeId>) -> Result<(), StorageError<NodeId>> {
        let record = pb::Vote {
            term: vote.leader_id.term,
            node_id: vote.leader_id.node_id,
            committed: vote.is_committed(),
        };
        write_atomically(&self.vote_path, &record.encode_to_vec())
            .map_err(|e| StorageError::from_io_error(ErrorSubject::Vote, ErrorVerb::Write, e))?;
        self.memory.lock().vote = Some(*vote);
        Ok(())
    }

    async fn read_vote(&mut self) -> Result<Option<Vote<NodeId>>, StorageError<NodeId>> {
        Ok(self.memory.lock().vote)
    }

    async fn append<I>(
        &mut self,
        entries: I,
        callback: LogFlushed<TypeConfig>,
    ) -> Result<(), StorageError<NodeId>>
    where
        I: IntoIterator<Item = Entry<TypeConfig>> + Send,
        I::IntoIter: Send,
    {
        let mut records = Vec::new();
        let mut bytes = 0;
        {
            let mut m = self.memory.lock();
            for entry in entries {
                let payload = entry_to_pb(&entry).encode_to_vec();
                let log_id = entry.log_id;
                bytes += record::encoded_len(&payload);
                m.append(entry, payload.len());
                records.push((log_id, payload));
            }
        }
        self.appended_bytes.fetch_add(bytes, Ordering::Relaxed);
        self.send(Command::Append { records, callback })
            .map_err(log_write_error)
    }

    async fn truncate(&mut self, log_id: LogId<NodeId>) -> Result<(), StorageError<NodeId>> {
        let (done, wait) = mpsc::channel();
        self.send(Command::Truncate {
            from: log_id.index,
            done,
        })
        .map_err(log_write_error)?;
        let result = tokio::task::spawn_blocking(move || wait.recv())
            .await
            .ok()
            .and_then(Result::ok)
            .unwrap_or_else(|| Err(io::Error::other("log writer stopped")));
        result.map_err(log_write_error)
    }

    async fn purge(&mut self, log_id: LogId<NodeId>) -> Result<(), StorageError<NodeId>> {
        {
            self.memory.lock().purge(log_id);
        }
        self.send(Command::Purge { upto: log_id })
            .map_err(log_write_error)
    }
}
