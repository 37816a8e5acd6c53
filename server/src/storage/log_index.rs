//! What the log keeps in memory: the vote, the purge point, where each
//! durable entry lies on disk, and a cache of the newest entries.
//!
//! Entries are cached from append until they are durable and beyond, up to
//! [`CACHE_BYTES`] of encoded entries; older durable entries are read back
//! from their segment when asked for (a lagging follower, a restart). So
//! memory does not grow with the number of entries kept between snapshots.

use crate::raft::{NodeId, TypeConfig};
use openraft::{Entry, LogId, Vote};
use std::collections::BTreeMap;
use std::ops::RangeBounds;

/// Encoded bytes of entries kept in memory beyond the newest one.
pub const CACHE_BYTES: usize = 16 << 20;

/// Where a durable entry's record starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Location {
    pub log_id: LogId<NodeId>,
    /// First index of the segment (names the file).
    pub segment: u64,
    pub offset: u64,
}

/// An entry of a range: in memory, or to be read from disk.
pub enum Found {
    Cached(Entry<TypeConfig>),
    OnDisk(u64, Location),
}

#[derive(Default)]
pub struct LogIndex {
    pub vote: Option<Vote<NodeId>>,
    pub last_purged: Option<LogId<NodeId>>,
    last: Option<LogId<NodeId>>,
    /// Newest entries with their encoded size.
    cached: BTreeMap<u64, (Entry<TypeConfig>, usize)>,
    cached_bytes: usize,
    /// Every durable entry since the last purge.
    located: BTreeMap<u64, Location>,
}

impl LogIndex {
    /// The last entry's id, or the last purged one's.
    pub fn last_log_id(&self) -> Option<LogId<NodeId>> {
        self.last.or(self.last_purged)
    }

    /// Number of entries since the last purge.
    pub fn entry_count(&self) -> usize {
        let first = [self.located.keys().next(), self.cached.keys().next()]
            .into_iter()
            .flatten()
            .min();
        match (first, self.last) {
            (Some(first), Some(last)) if last.index >= *first => (last.index - first + 1) as usize,
            _ => 0,
        }
    }

    /// A new entry, not yet durable.
    pub fn append(&mut self, entry: Entry<TypeConfig>, size: usize) {
        self.last = Some(entry.log_id);
        self.cached_bytes += size;
        if let Some((_, old)) = self.cached.insert(entry.log_id.index, (entry, size)) {
            self.cached_bytes -= old;
        }
    }

    /// Entries now durable at these places; the cache is trimmed.
    pub fn locate(&mut self, places: impl IntoIterator<Item = (u64, Location)>) {
        self.located.extend(places);
        self.evict();
    }

    /// Drops the oldest cached entries that are on disk while the cache is
    /// over budget, always keeping the newest entry.
    fn evict(&mut self) {
        while self.cached_bytes > CACHE_BYTES && self.cached.len() > 1 {
            let (&oldest, _) = self.cached.first_key_value().expect("not empty");
            if !self.located.contains_key(&oldest) {
                break;
            }
            let (_, size) = self.cached.remove(&oldest).expect("present");
            self.cached_bytes -= size;
        }
    }

    /// Forgets entries from `from` on; returns where the first of them lay
    /// on disk, if it was durable.
    pub fn truncate(&mut self, from: u64) -> Option<Location> {
        let cut = self.located.get(&from).copied();
        for (_, (_, size)) in self.cached.split_off(&from) {
            self.cached_bytes -= size;
        }
        self.located.split_off(&from);
        let cached = self.cached.values().next_back().map(|(e, _)| e.log_id);
        let located = self.located.values().next_back().map(|l| l.log_id);
        self.last = cached.max(located);
        cut
    }

    /// Forgets entries up to `upto`.
    pub fn purge(&mut self, upto: LogId<NodeId>) {
        self.last_purged = Some(upto);
        let keep = self.cached.split_off(&(upto.index + 1));
        for (_, (_, size)) in std::mem::replace(&mut self.cached, keep) {
            self.cached_bytes -= size;
        }
        self.located = self.located.split_off(&(upto.index + 1));
        if self.last.is_some_and(|l| l.index <= upto.index) {
            self.last = None;
        }
    }

    /// The entries of `range`, cached or where to read them.
    pub fn find(&self, range: impl RangeBounds<u64> + Clone) -> Vec<Found> {
        let first_cached = self.cached.keys().next().copied().unwrap_or(u64::MAX);
        let mut found: Vec<Found> = self
            .located
            .range(range.clone())
            .take_while(|(i, _)| **i < first_cached)
            .map(|(i, l)| Found::OnDisk(*i, *l))
            .collect();
        found.extend(
            self.cached
                .range(range)
                .map(|(_, (e, _))| Found::Cached(e.clone())),
        );
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use openraft::{CommittedLeaderId, EntryPayload};

    fn entry(index: u64) -> Entry<TypeConfig> {
        Entry {
            log_id: LogId::new(CommittedLeaderId::new(1, 0), index),
            payload: EntryPayload::Blank,
        }
    }

    fn at(index: u64) -> Location {
        Location {
            log_id: entry(index).log_id,
            segment: 0,
            offset: index * 100,
        }
    }

    fn kinds(found: &[Found]) -> Vec<(u64, bool)> {
        found
            .iter()
            .map(|f| match f {
                Found::Cached(e) => (e.log_id.index, true),
                Found::OnDisk(i, _) => (*i, false),
            })
            .collect()
    }

    #[test]
    fn old_durable_entries_leave_the_cache_newest_stays() {
        let mut index = LogIndex::default();
        let big = CACHE_BYTES / 2;
        for i in 1..=4 {
            index.append(entry(i), big);
        }
        // nothing durable yet: nothing may leave
        assert_eq!(
            kinds(&index.find(1..)),
            [(1, true), (2, true), (3, true), (4, true)]
        );
        index.locate((1..=4).map(|i| (i, at(i))));
        assert_eq!(
            kinds(&index.find(1..)),
            [(1, false), (2, false), (3, true), (4, true)]
        );
        assert_eq!(kinds(&index.find(2..=3)), [(2, false), (3, true)]);
        assert_eq!(index.last_log_id().unwrap().index, 4);
        assert_eq!(index.entry_count(), 4);
    }

    #[test]
    fn truncate_and_purge() {
        let mut index = LogIndex::default();
        for i in 1..=5 {
            index.append(entry(i), 10);
        }
        index.locate((1..=4).map(|i| (i, at(i))));
        assert_eq!(index.truncate(3), Some(at(3)));
        assert_eq!(index.last_log_id().unwrap().index, 2);
        assert_eq!(kinds(&index.find(..)), [(1, true), (2, true)]);
        index.purge(entry(2).log_id);
        assert!(index.find(..).is_empty());
        assert_eq!(index.last_log_id().unwrap().index, 2);
        assert_eq!(index.entry_count(), 0);
    }
}
