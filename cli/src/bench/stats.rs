//! What a session measured: latency histograms (µs) overall and per
//! operation, and result codes other than OK.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

use super::workload::Op;

/// Latencies above this (µs) are recorded as this.
const MAX_LATENCY_US: u64 = 60_000_000;

pub fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, MAX_LATENCY_US, 3).expect("valid histogram bounds")
}

#[derive(Debug)]
pub struct Stats {
    /// Every measured reply, errors included.
    pub all: Histogram<u64>,
    /// Indexed by [`Op::index`].
    pub by_op: Vec<Histogram<u64>>,
    /// Result code -> count, for replies with err != 0.
    pub errors: BTreeMap<i32, u64>,
    /// Successful creates over the whole run (warmup included).
    pub created: u64,
    /// The zxid and path of the successful create with the highest zxid
    /// (tracked by `--count` runs only).
    pub last_create: Option<(i64, String)>,
    /// When the last measured reply arrived.
    pub last_reply: Option<Instant>,
    /// The measured time ops/s refer to (set by `measure`).
    pub window: Duration,
}

impl Default for Stats {
    fn default() -> Self {
        Stats {
            all: histogram(),
            by_op: Op::ALL.iter().map(|_| histogram()).collect(),
            errors: BTreeMap::new(),
            created: 0,
            last_create: None,
            last_reply: None,
            window: Duration::ZERO,
        }
    }
}

impl Stats {
    pub fn record(&mut self, op: Op, latency_us: u64, err: i32) {
        let v = latency_us.clamp(1, MAX_LATENCY_US);
        self.all.saturating_record(v);
        self.by_op[op.index()].saturating_record(v);
        if err != 0 {
            *self.errors.entry(err).or_default() += 1;
        }
    }

    /// Records into the operation's histogram only, not into `all` (the
    /// watch workload's per-watcher times).
    pub fn record_only(&mut self, op: Op, latency_us: u64) {
        self.by_op[op.index()].saturating_record(latency_us.clamp(1, MAX_LATENCY_US));
    }

    pub fn merge(&mut self, other: &Stats) {
        // Same bounds everywhere, so `add` cannot fail.
        self.all.add(&other.all).expect("same histogram bounds");
        for (mine, theirs) in self.by_op.iter_mut().zip(&other.by_op) {
            mine.add(theirs).expect("same histogram bounds");
        }
        for (code, n) in &other.errors {
            *self.errors.entry(*code).or_default() += n;
        }
        self.created += other.created;
        if let Some((zxid, path)) = &other.last_create {
            if self
                .last_create
                .as_ref()
                .is_none_or(|(mine, _)| zxid > mine)
            {
                self.last_create = Some((*zxid, path.clone()));
            }
        }
        self.last_reply = self.last_reply.max(other.last_reply);
    }

    /// Notes a successful create answered with `zxid`, whose path is only
    /// decoded (by `path`) when it is the newest so far.
    pub fn note_create(&mut self, zxid: i64, path: impl FnOnce() -> Option<String>) {
        self.created += 1;
        if self
            .last_create
            .as_ref()
            .is_none_or(|(mine, _)| zxid > *mine)
        {
            if let Some(p) = path() {
                self.last_create = Some((zxid, p));
            }
        }
    }

    pub fn ops(&self) -> u64 {
        self.all.len()
    }

    pub fn error_total(&self) -> u64 {
        self.errors.values().sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_adds_counts_and_errors() {
        let mut a = Stats::default();
        a.record(Op::Read, 100, 0);
        a.record(Op::Write, 0, -101);
        let mut b = Stats::default();
        b.record(Op::Read, 200, -101);
        b.record(Op::Create, 120_000_000, 0);
        a.merge(&b);
        assert_eq!(a.ops(), 4);
        assert_eq!(a.by_op[Op::Read.index()].len(), 2);
        assert_eq!(a.errors.get(&-101), Some(&2));
        assert_eq!(a.error_total(), 2);
        assert!(a.all.max() >= 59_000_000);
    }

    #[test]
    fn merge_keeps_the_newest_create() {
        let mut a = Stats::default();
        a.note_create(5, || Some("/a5".into()));
        a.note_create(3, || panic!("older than the newest: not decoded"));
        let mut b = Stats::default();
        b.note_create(9, || Some("/b9".into()));
        a.merge(&b);
        assert_eq!(a.created, 3);
        assert_eq!(a.last_create, Some((9, "/b9".into())));
        a.merge(&Stats::default());
        assert_eq!(a.last_create, Some((9, "/b9".into())));
    }
}
