//! Four-letter words on the client port (`ruok`, `srvr`, `mntr`, ...),
//! answered in Apache ZooKeeper 3.8's exact formats so that monitoring
//! scripts, exporters and `zkServer.sh status` read Corral as they read
//! ZooKeeper. This module gathers the numbers; [`format`] turns them into
//! text and [`system`] reads what the operating system knows.
//!
//! Where ZooKeeper prints something Corral does not track (per-connection
//! packet counts, JVM memory, ZooKeeper-internal queue metrics), the field
//! or key is left out rather than filled with a made-up value.

pub mod format;
pub mod system;

use crate::core::Core;
use crate::server::{now_millis, Server};
use crate::watches::ConnId;
use format::{Bucket, Conn, ConnSession, Latency, Monitor, Summary};
use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// The version the four-letter words report (`srvr`, `mntr`'s
/// `zk_version`, `envi`'s `zookeeper.version`).
///
/// Tools parse it as ZooKeeper's `Version.getFullVersion()`, whose leading
/// `major.minor.patch` decides which features they expect (kazoo's
/// `server_version()`, for one, takes the digits before the first `-`).
/// Corral speaks ZooKeeper 3.8's protocol and prints 3.8's formats, so it
/// says `3.8.0`; what ZooKeeper puts after the dash (its git revision) is
/// `corral-` and this crate's version, so a human or a script can still
/// tell the two apart. There is no `, built on <date>` part: the build
/// time is not recorded.
pub const VERSION: &str = concat!("3.8.0-corral-", env!("CARGO_PKG_VERSION"));

/// NIO's `OP_READ`: a session's connection always has a read pending.
const OP_READ: u32 = 1;

/// The four-letter words ZooKeeper knows.
const COMMANDS: [&str; 17] = [
    "ruok", "srvr", "stat", "mntr", "conf", "cons", "crst", "srst", "wchs", "wchc", "wchp", "dump",
    "envi", "isro", "dirs", "gtmk", "stmk",
];

/// The command named by the first four bytes of a connection, if any.
pub fn command(word: &[u8; 4]) -> Option<&'static str> {
    COMMANDS.iter().copied().find(|c| c.as_bytes() == word)
}

/// Runs a command and returns the text to send before closing.
pub fn run(server: &Server, cmd: &str) -> String {
    // As ZooKeeper's `CommandExecutor`: without a running server (here: no
    // contact with a quorum, and not in read-only mode) only a few commands
    // answer, `isro` with "null".
    let serving = server.has_quorum() || server.read_only.is_active();
    let allowed = server.core.config.four_letter_whitelist.allows(cmd);
    if cmd == "isro" && allowed && !serving {
        return "null".to_owned();
    }
    let needs_server = !matches!(cmd, "ruok" | "conf" | "envi" | "isro" | "dirs");
    if needs_server && !serving && allowed {
        return "This ZooKeeper instance is not currently serving requests\n".to_owned();
    }
    if cmd == "mntr" && server.core.config.four_letter_whitelist.allows(cmd) {
        let mut m = monitor(&server.core, server.mode());
        m.leader = server.leader_stats();
        return format::mntr(&m);
    }
    answer_in_mode(&server.core, server.mode(), cmd)
}

/// The answer of a standalone server.
pub fn answer(core: &Core, cmd: &str) -> String {
    answer_in_mode(core, "standalone", cmd)
}

/// The answer to `cmd` from the server state in `core`; `mode` is
/// standalone, leader, follower, observer or read-only.
pub fn answer_in_mode(core: &Core, mode: &'static str, cmd: &str) -> String {
    if !core.config.four_letter_whitelist.allows(cmd) {
        return format::not_whitelisted(cmd);
    }
    match cmd {
        "ruok" => "imok".to_owned(),
        "isro" if mode == "read-only" => "ro".to_owned(),
        "isro" => "rw".to_owned(),
        "srvr" => format::stat(&summary(core, mode), None),
        "stat" => format::stat(&summary(core, mode), Some(&connections(core))),
        "cons" => format::cons(&connections(core)),
        "mntr" => format::mntr(&monitor(core, mode)),
        "conf" => {
            let config = &core.config;
            format::conf(
                &config.conf_lines(),
                system::dir_size(&config.data_dir),
                system::dir_size(&config.data_log_dir),
            )
        }
        "dirs" => format::dirs(
            system::dir_size(&core.config.data_dir),
            system::dir_size(&core.config.data_log_dir),
        ),
        "crst" => {
            for c in core.connections.lock().values() {
                c.counters.reset();
            }
            "Connection stats reset.\n".to_owned()
        }
        "srst" => {
            core.stats.reset();
            "Server stats reset.\n".to_owned()
        }
        "wchs" => {
            let by_session = data_watches(core);
            let paths = by_path(&by_session).len();
            let total = by_session.iter().map(|(_, p)| p.len()).sum();
            format::wchs(by_session.len(), paths, total)
        }
        "wchc" => format::wchc(&data_watches(core)),
        "wchp" => format::wchp(&by_path(&data_watches(core))),
        "dump" => dump(core),
        "envi" => format::envi(&system::environment(VERSION)),
        // Trace masks (gtmk/stmk) belong to ZooKeeper's ZooTrace logging.
        other => format!("{other} is not supported by corral.\n"),
    }
}

fn latency(core: &Core) -> Latency {
    let s = &core.stats;
    Latency::from_micros(
        s.latency_total_us.load(Ordering::Relaxed),
        s.latency_count.load(Ordering::Relaxed),
        s.latency_min_us.load(Ordering::Relaxed),
        s.latency_max_us.load(Ordering::Relaxed),
    )
}

pub fn summary(core: &Core, mode: &'static str) -> Summary {
    let (node_count, zxid) = {
        let tree = core.tree.read();
        (tree.node_count(), tree.last_zxid)
    };
    Summary {
        version: VERSION.to_owned(),
        latency: latency(core),
        received: core.stats.packets_received.load(Ordering::Relaxed),
        sent: core.stats.packets_sent.load(Ordering::Relaxed),
        connections: core.connections.lock().len(),
        outstanding: core.stats.outstanding.load(Ordering::Relaxed),
        zxid,
        mode,
        node_count,
    }
}

pub fn monitor(core: &Core, mode: &'static str) -> Monitor {
    let (znode_count, ephemerals_count, approximate_data_size, global_sessions) = {
        let tree = core.tree.read();
        (
            tree.node_count(),
            tree.ephemeral_count(),
            tree.approximate_data_size(),
            tree.sessions.len(),
        )
    };
    let s = &core.stats;
    Monitor {
        version: VERSION.to_owned(),
        server_state: mode,
        ephemerals_count,
        num_alive_connections: core.connections.lock().len(),
        latency: latency(core),
        outstanding_requests: s.outstanding.load(Ordering::Relaxed),
        znode_count,
        global_sessions,
        // Every session is global: Corral has no local sessions.
        local_sessions: 0,
        packets_sent: s.packets_sent.load(Ordering::Relaxed),
        packets_received: s.packets_received.load(Ordering::Relaxed),
        watch_count: core.watches.lock().watch_count(),
        approximate_data_size,
        open_file_descriptor_count: system::open_fd_count(),
        max_file_descriptor_count: system::max_fd_count(),
        uptime_ms: core.started.elapsed().as_millis() as u64,
        leader: None,
    }
}

/// Converts an `Instant` to ms since the epoch.
struct WallClock {
    now: Instant,
    now_ms: i64,
}

impl WallClock {
    fn new() -> WallClock {
        WallClock {
            now: Instant::now(),
            now_ms: now_millis(),
        }
    }

    fn ms(&self, at: Instant) -> i64 {
        let ahead = at.saturating_duration_since(self.now).as_millis() as i64;
        let behind = self.now.saturating_duration_since(at).as_millis() as i64;
        self.now_ms + ahead - behind
    }
}

/// Connections with a session, oldest first.
pub fn connections(core: &Core) -> Vec<Conn> {
    let clock = WallClock::new();
    let mut infos: Vec<_> = core.connections.lock().values().cloned().collect();
    infos.sort_by_key(|c| (c.opened, c.session_id));
    infos
        .into_iter()
        .map(|c| Conn {
            peer: c.peer,
            interest_ops: OP_READ,
            counters: Some(format::ConnCounters {
                queued: c.counters.queued.load(Ordering::Relaxed),
                received: c.counters.received.load(Ordering::Relaxed),
                sent: c.counters.sent.load(Ordering::Relaxed),
            }),
            session: Some(ConnSession {
                id: c.session_id,
                established_ms: clock.ms(c.opened),
                timeout_ms: c.timeout_ms,
            }),
        })
        .collect()
}

/// The session of each connection.
fn sessions_of_connections(core: &Core) -> HashMap<ConnId, i64> {
    core.connections
        .lock()
        .iter()
        .map(|(conn, info)| (*conn, info.session_id))
        .collect()
}

/// What ZooKeeper's `wchc` lists: the paths of each session's data
/// watches (getData, exists, persistent), by session id.
pub fn data_watches(core: &Core) -> Vec<(i64, Vec<String>)> {
    let by_conn: Vec<(ConnId, Vec<String>)> = core
        .watches
        .lock()
        .data_watches()
        .filter(|(_, paths)| !paths.is_empty())
        .map(|(conn, paths)| {
            let mut paths: Vec<String> = paths.iter().cloned().collect();
            paths.sort();
            (conn, paths)
        })
        .collect();
    let sessions = sessions_of_connections(core);
    let mut out: Vec<(i64, Vec<String>)> = by_conn
        .into_iter()
        .filter_map(|(conn, paths)| Some((*sessions.get(&conn)?, paths)))
        .collect();
    out.sort();
    out
}

/// `wchp`'s view of the same watches: the sessions watching each path.
pub fn by_path(by_session: &[(i64, Vec<String>)]) -> Vec<(String, Vec<i64>)> {
    let mut map: BTreeMap<&str, Vec<i64>> = BTreeMap::new();
    for (session, paths) in by_session {
        for p in paths {
            map.entry(p).or_default().push(*session);
        }
    }
    map.into_iter()
        .map(|(p, mut sessions)| {
            sessions.sort();
            sessions.dedup();
            (p.to_owned(), sessions)
        })
        .collect()
}

/// `dump`. A session's expiry is its last contact plus its timeout (the
/// expirer closes it within half a tick of that), grouped by the tick as
/// ZooKeeper's session and connection expiry queues group them; a
/// connection expires with its session.
fn dump(core: &Core) -> String {
    let clock = WallClock::new();
    let tick_ms = core.config.tick_time.as_millis() as i64;
    let (sessions, ephemerals) = {
        let tree = core.tree.read();
        let mut sessions: Vec<(i64, i32)> = tree
            .sessions
            .iter()
            .map(|(id, record)| (*id, record.timeout_ms))
            .collect();
        sessions.sort();
        let mut ephemerals: Vec<(i64, Vec<String>)> = tree
            .sessions_with_ephemerals()
            .map(|(session, paths)| (session, paths.iter().cloned().collect()))
            .collect();
        ephemerals.sort();
        (sessions, ephemerals)
    };
    let last_seen: HashMap<i64, Instant> = {
        let table = core.sessions.lock();
        sessions
            .iter()
            .filter_map(|(id, _)| Some((*id, table.last_seen(*id)?)))
            .collect()
    };
    let deadline = |session: i64, timeout_ms: i32| {
        // A session not heard from yet is timed from now, as the expirer does.
        let seen = last_seen.get(&session).copied().unwrap_or(clock.now);
        clock.ms(seen + Duration::from_millis(timeout_ms.max(0) as u64))
    };
    let timeouts: HashMap<i64, i32> = sessions.iter().copied().collect();
    let session_buckets = format::buckets(
        sessions.iter().map(|(id, t)| (deadline(*id, *t), *id)),
        tick_ms,
    );
    let mut conns: Vec<(SocketAddr, i64, i32)> = core
        .connections
        .lock()
        .values()
        .map(|c| (c.peer, c.session_id, c.timeout_ms))
        .collect();
    conns.sort_by_key(|(peer, session, _)| (*session, *peer));
    let conn_buckets: Vec<Bucket<(SocketAddr, i64)>> = format::buckets(
        conns.into_iter().map(|(peer, session, timeout)| {
            let timeout = timeouts.get(&session).copied().unwrap_or(timeout);
            (deadline(session, timeout), (peer, session))
        }),
        tick_ms,
    );
    format::dump(&session_buckets, &ephemerals, &conn_buckets)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{FourLetterWhitelist, ServerConfig};

    fn core(whitelist: FourLetterWhitelist) -> Core {
        Core::new(ServerConfig {
            four_letter_whitelist: whitelist,
            data_dir: "/nonexistent/corral/data".into(),
            data_log_dir: "/nonexistent/corral/log".into(),
            ..ServerConfig::default()
        })
    }

    #[test]
    fn words() {
        for w in COMMANDS {
            assert_eq!(command(w.as_bytes().try_into().unwrap()), Some(w));
        }
        assert_eq!(command(b"\0\0\0\x2d"), None);
        assert_eq!(command(b"RUOK"), None);
    }

    #[test]
    fn version_looks_like_zookeepers() {
        assert!(VERSION.starts_with("3.8.0-corral-"));
        assert_eq!(VERSION.split('-').next(), Some("3.8.0"));
    }

    #[test]
    fn whitelist_is_enforced() {
        let c = core(FourLetterWhitelist::default());
        assert_eq!(
            answer(&c, "ruok"),
            "ruok is not executed because it is not in the whitelist.\n"
        );
        assert!(answer(&c, "srvr").starts_with("Zookeeper version: 3.8.0-corral-"));
        let c = core(FourLetterWhitelist::parse("ruok"));
        assert_eq!(answer(&c, "ruok"), "imok");
        assert_eq!(
            answer(&c, "mntr"),
            "mntr is not executed because it is not in the whitelist.\n"
        );
    }

    #[test]
    fn fresh_server() {
        let c = core(FourLetterWhitelist::All);
        assert_eq!(answer(&c, "isro"), "rw");
        assert_eq!(answer_in_mode(&c, "read-only", "isro"), "ro");
        assert!(answer_in_mode(&c, "read-only", "srvr").contains("\nMode: read-only\n"));
        assert_eq!(
            answer(&c, "srvr"),
            format!(
                "Zookeeper version: {VERSION}\nLatency min/avg/max: 0/0.0/0\nReceived: 0\n\
                 Sent: 0\nConnections: 0\nOutstanding: 0\nZxid: 0x0\nMode: standalone\n\
                 Node count: 4\n"
            )
        );
        assert!(answer(&c, "stat").contains("\nClients:\n\nLatency"));
        assert_eq!(answer(&c, "cons"), "\n");
        assert_eq!(
            answer(&c, "wchs"),
            "0 connections watching 0 paths\nTotal watches:0\n"
        );
        assert_eq!(answer(&c, "wchc"), "\n");
        assert_eq!(answer(&c, "wchp"), "\n");
        assert_eq!(answer(&c, "dirs"), "datadir_size: 0\nlogdir_size: 0\n");
        let conf = answer(&c, "conf");
        assert!(conf.starts_with("clientPort=2181\nsecureClientPort=-1\ndataDir=/nonexistent/corral/data\ndataDirSize=0\ndataLogDir=/nonexistent/corral/log\ndataLogSize=0\ntickTime=2000\n"), "{conf}");
        let mntr = answer(&c, "mntr");
        assert!(mntr.starts_with(&format!(
            "zk_version\t{VERSION}\nzk_server_state\tstandalone\n"
        )));
        assert!(mntr.contains("\nzk_znode_count\t4\n"), "{mntr}");
        assert!(mntr.contains("\nzk_approximate_data_size\t44\n"), "{mntr}");
        assert!(
            answer(&c, "envi").starts_with(&format!("Environment:\nzookeeper.version={VERSION}\n"))
        );
        assert_eq!(answer(&c, "gtmk"), "gtmk is not supported by corral.\n");
    }

    #[test]
    fn server_stats_reset() {
        let c = core(FourLetterWhitelist::All);
        c.stats.packets_received.store(7, Ordering::Relaxed);
        c.stats
            .record_latency(Instant::now() - Duration::from_millis(5));
        assert!(answer(&c, "srvr").contains("\nReceived: 7\n"));
        assert_eq!(answer(&c, "crst"), "Connection stats reset.\n");
        assert!(answer(&c, "srvr").contains("\nReceived: 7\n"));
        assert_eq!(answer(&c, "srst"), "Server stats reset.\n");
        let srvr = answer(&c, "srvr");
        assert!(
            srvr.contains("\nLatency min/avg/max: 0/0.0/0\nReceived: 0\n"),
            "{srvr}"
        );
    }

    #[test]
    fn wall_clock() {
        let clock = WallClock::new();
        assert_eq!(clock.ms(clock.now), clock.now_ms);
        assert_eq!(
            clock.ms(clock.now + Duration::from_millis(1500)),
            clock.now_ms + 1500
        );
        if let Some(past) = clock.now.checked_sub(Duration::from_millis(250)) {
            assert_eq!(clock.ms(past), clock.now_ms - 250);
        }
    }
}
