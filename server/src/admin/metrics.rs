//! `/metrics`: the server's numbers in the Prometheus text format (0.0.4).
//!
//! Latencies are recorded where they happen, into process-wide histograms
//! ([`request_done`] when a request is answered, [`fsync_done`] after each
//! log fsync, [`snapshot_done`] after each snapshot); everything else is read from the server when scraped, from
//! the same sources as the four-letter words.

use super::histogram::Histogram;
use crate::four_letter;
use crate::server::Server;
use corral_protocol::OpCode;
use std::fmt::Write;
use std::sync::atomic::Ordering;
use std::sync::LazyLock;
use std::time::{Duration, Instant, UNIX_EPOCH};

/// The content type of the text format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

struct Latencies {
    /// Indexed like `OpCode::ALL`.
    requests: Vec<Histogram>,
    fsync: Histogram,
    snapshot: Histogram,
}

static LATENCIES: LazyLock<Latencies> = LazyLock::new(|| Latencies {
    requests: OpCode::ALL.iter().map(|_| Histogram::default()).collect(),
    fsync: Histogram::default(),
    snapshot: Histogram::default(),
});

/// Records a request answered `started.elapsed()` after it was read.
pub fn request_done(op: OpCode, started: Instant) {
    if let Some(i) = OpCode::ALL.iter().position(|o| *o == op) {
        LATENCIES.requests[i].observe(started.elapsed());
    }
}

/// Records how long writing one snapshot took.
pub fn snapshot_done(took: Duration) {
    LATENCIES.snapshot.observe(took);
}

/// Records how long one fsync of the log took.
pub fn fsync_done(took: Duration) {
    LATENCIES.fsync.observe(took);
}

/// One metric family: `# HELP`, `# TYPE`, then samples.
fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

fn gauge(out: &mut String, name: &str, help: &str, value: impl std::fmt::Display) {
    family(out, name, "gauge", help);
    let _ = writeln!(out, "{name} {value}");
}

fn counter(out: &mut String, name: &str, help: &str, value: u64) {
    family(out, name, "counter", help);
    let _ = writeln!(out, "{name} {value}");
}

/// The whole scrape.
pub fn render(server: &Server) -> String {
    let core = &server.core;
    let mut out = String::new();

    let name = "corral_request_latency_seconds";
    family(
        &mut out,
        name,
        "histogram",
        "Time from reading a request to answering it, by opcode.",
    );
    for (i, h) in LATENCIES.requests.iter().enumerate() {
        if h.count() > 0 {
            h.render(&mut out, name, &format!("op=\"{}\"", OpCode::ALL[i].name()));
        }
    }
    let name = "corral_fsync_latency_seconds";
    family(
        &mut out,
        name,
        "histogram",
        "Time of one fsync of the transaction log (a group commit).",
    );
    LATENCIES.fsync.render(&mut out, name, "");
    let name = "corral_snapshot_duration_seconds";
    family(
        &mut out,
        name,
        "histogram",
        "Time to write one snapshot of the tree (in the background).",
    );
    LATENCIES.snapshot.render(&mut out, name, "");

    let mode = server.mode();
    let m = four_letter::monitor(core, mode);
    gauge(
        &mut out,
        "corral_outstanding_requests",
        "Requests read but not yet answered.",
        m.outstanding_requests,
    );
    gauge(
        &mut out,
        "corral_znode_count",
        "Znodes in the tree.",
        m.znode_count,
    );
    gauge(
        &mut out,
        "corral_ephemerals_count",
        "Ephemeral znodes.",
        m.ephemerals_count,
    );
    gauge(
        &mut out,
        "corral_approximate_data_size_bytes",
        "Bytes of paths and data in the tree.",
        m.approximate_data_size,
    );
    gauge(
        &mut out,
        "corral_watch_count",
        "Watches set by this server's clients.",
        m.watch_count,
    );
    gauge(
        &mut out,
        "corral_global_sessions",
        "Live sessions of the ensemble.",
        m.global_sessions,
    );
    gauge(
        &mut out,
        "corral_alive_connections",
        "Client connections to this server.",
        m.num_alive_connections,
    );
    counter(
        &mut out,
        "corral_packets_received_total",
        "Requests received (since the last srst).",
        m.packets_received,
    );
    counter(
        &mut out,
        "corral_packets_sent_total",
        "Replies and notifications sent (since the last srst).",
        m.packets_sent,
    );
    gauge(
        &mut out,
        "corral_last_zxid",
        "Zxid of the last txn applied here.",
        core.last_zxid(),
    );
    gauge(
        &mut out,
        "corral_uptime_seconds",
        "Seconds since the server started.",
        core.started.elapsed().as_secs(),
    );
    if let Some(fds) = m.open_file_descriptor_count {
        gauge(
            &mut out,
            "corral_open_file_descriptors",
            "Open file descriptors of the process.",
            fds,
        );
    }
    raft(&mut out, server, mode);
    snapshot(&mut out, server);
    out
}

fn raft(out: &mut String, server: &Server, mode: &str) {
    family(
        out,
        "corral_server_role",
        "gauge",
        "1 for this server's role (standalone, leader, follower, observer).",
    );
    for role in ["standalone", "leader", "follower", "observer"] {
        let _ = writeln!(
            out,
            "corral_server_role{{role=\"{role}\"}} {}",
            u8::from(role == mode)
        );
    }
    let metrics = server.raft.metrics().borrow().clone();
    gauge(
        out,
        "corral_raft_term",
        "Current Raft term.",
        metrics.current_term,
    );
    gauge(
        out,
        "corral_raft_last_log_index",
        "Index of the last entry in this server's Raft log.",
        metrics.last_log_index.unwrap_or(0),
    );
    gauge(
        out,
        "corral_raft_applied_index",
        "Index of the last Raft entry applied to the tree (committed entries \
         are applied in order, so the commit index is at least this).",
        metrics.last_applied.map_or(0, |l| l.index),
    );
    gauge(
        out,
        "corral_raft_leader_id",
        "Server id of the current leader (-1: none known).",
        metrics.current_leader.map_or(-1, |id| id as i64),
    );
    gauge(
        out,
        "corral_raft_snapshot_index",
        "Last Raft index covered by the newest snapshot (0: none).",
        metrics.snapshot.map_or(0, |l| l.index),
    );
}

/// When the newest snapshot file was written, from its modification time.
fn snapshot(out: &mut String, server: &Server) {
    let config = &server.core.config;
    let layout = crate::storage::Layout::new(&config.data_dir, &config.data_log_dir);
    let newest = std::fs::read_dir(&layout.snapshot_dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".snap"))
        .filter_map(|e| e.metadata().ok()?.modified().ok())
        .max();
    if let Some(t) = newest.and_then(|t| t.duration_since(UNIX_EPOCH).ok()) {
        gauge(
            out,
            "corral_last_snapshot_timestamp_seconds",
            "When the newest snapshot was written (Unix time).",
            t.as_secs(),
        );
    }
    gauge(
        out,
        "corral_txns_since_snapshot",
        "Txns applied since the last snapshot began (snapCount counts these).",
        server.core.txns_since_snapshot.load(Ordering::Relaxed),
    );
}
