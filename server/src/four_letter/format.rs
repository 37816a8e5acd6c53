//! The text of each four-letter word, byte for byte as Apache ZooKeeper 3.8
//! prints it, built from plain values: no locks and no I/O here, so every
//! format is unit-tested. Values Corral does not have are left out rather
//! than made up; the field order of what remains is ZooKeeper's.

use std::fmt::Write;
use std::net::{IpAddr, SocketAddr};

/// The numbers of `srvr` and `stat` (`ServerStats.toString` + node count).
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    pub version: String,
    pub latency: Latency,
    pub received: u64,
    pub sent: u64,
    pub connections: usize,
    pub outstanding: i64,
    pub zxid: i64,
    /// `standalone`, `leader`, `follower` or `observer`.
    pub mode: &'static str,
    pub node_count: usize,
}

/// Request latency in milliseconds, as ZooKeeper's `AvgMinMaxCounter`
/// reports it: `0/0.0/0` before the first request, the average rounded to
/// four decimals.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Latency {
    pub min: u64,
    pub avg: f64,
    pub max: u64,
}

impl Latency {
    /// From microsecond counters. ZooKeeper's fields are whole
    /// milliseconds for min and max; Corral rounds min down and max up, so
    /// that min <= avg <= max holds with the average kept exact (a 0.3 ms
    /// request shows as `0/0.3/1`).
    pub fn from_micros(total: u64, count: u64, min: u64, max: u64) -> Latency {
        if count == 0 {
            return Latency::default();
        }
        Latency {
            min: min / 1000,
            avg: round4(total as f64 / count as f64 / 1000.0),
            max: max.div_ceil(1000),
        }
    }
}

/// One client connection as `stat` and `cons` show it.
#[derive(Debug, Clone, PartialEq)]
pub struct Conn {
    pub peer: SocketAddr,
    /// NIO interest ops: 1 (`OP_READ`) while the server reads requests.
    pub interest_ops: u32,
    /// `queued`, `recved` and `sent`, when the connection counts them.
    pub counters: Option<ConnCounters>,
    /// The session, once the handshake is done.
    pub session: Option<ConnSession>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnCounters {
    pub queued: u64,
    pub received: u64,
    pub sent: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnSession {
    pub id: i64,
    /// When the connection was established, in ms since the epoch.
    pub established_ms: i64,
    /// The negotiated session timeout.
    pub timeout_ms: i32,
}

/// What `mntr` prints; `None` leaves a key out.
#[derive(Debug, Clone, PartialEq)]
pub struct Monitor {
    pub version: String,
    pub server_state: &'static str,
    pub ephemerals_count: usize,
    pub num_alive_connections: usize,
    pub latency: Latency,
    pub outstanding_requests: i64,
    pub znode_count: usize,
    pub global_sessions: usize,
    pub local_sessions: usize,
    pub packets_sent: u64,
    pub packets_received: u64,
    pub watch_count: usize,
    pub approximate_data_size: usize,
    pub open_file_descriptor_count: Option<u64>,
    pub max_file_descriptor_count: Option<u64>,
    pub uptime_ms: u64,
    /// Only on the leader of an ensemble.
    pub leader: Option<LeaderStats>,
}

/// What `mntr` adds on a leader (`LeaderZooKeeperServer.dumpMonitorValues`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LeaderStats {
    /// Followers and observers the leader replicates to.
    pub learners: usize,
    /// Voting followers whose log is within reach of the leader's.
    pub synced_followers: usize,
    pub synced_observers: usize,
    /// `sync` requests waiting for the leader (they are answered at once).
    pub pending_syncs: usize,
}

/// A group of an `ExpiryQueue` (sessions or connections) due at one time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bucket<T> {
    /// ms since the epoch.
    pub expires_ms: i64,
    pub items: Vec<T>,
}

/// The answer to a word the whitelist (`4lw.commands.whitelist`) leaves out.
pub fn not_whitelisted(cmd: &str) -> String {
    format!("{cmd} is not executed because it is not in the whitelist.\n")
}

/// `srvr`, or `stat` when `clients` is given.
pub fn stat(s: &Summary, clients: Option<&[Conn]>) -> String {
    let mut out = format!("Zookeeper version: {}\n", s.version);
    if let Some(clients) = clients {
        out.push_str("Clients:\n");
        for c in clients {
            out.push_str(&conn_line(c, true));
            out.push('\n');
        }
        out.push('\n');
    }
    let l = s.latency;
    let _ = write!(
        out,
        "Latency min/avg/max: {}/{}/{}\n\
         Received: {}\n\
         Sent: {}\n\
         Connections: {}\n\
         Outstanding: {}\n\
         Zxid: 0x{:x}\n\
         Mode: {}\n\
         Node count: {}\n",
        l.min,
        java_double(l.avg),
        l.max,
        s.received,
        s.sent,
        s.connections,
        s.outstanding,
        s.zxid,
        s.mode,
        s.node_count,
    );
    out
}

/// `cons`: one line per connection, then an empty line.
pub fn cons(conns: &[Conn]) -> String {
    let mut out = String::new();
    for c in conns {
        out.push_str(&conn_line(c, false));
        out.push('\n');
    }
    out.push('\n');
    out
}

/// `ServerCnxn.dumpConnectionInfo`: ` /ip:port[ops](queued=..,recved=..,
/// sent=..[,sid=0x..,est=..,to=..])`; `brief` (for `stat`) stops before the
/// session.
pub fn conn_line(c: &Conn, brief: bool) -> String {
    let mut fields: Vec<String> = Vec::new();
    if let Some(n) = c.counters {
        fields.push(format!("queued={}", n.queued));
        fields.push(format!("recved={}", n.received));
        fields.push(format!("sent={}", n.sent));
    }
    match c.session {
        Some(s) if !brief && s.id != 0 => {
            fields.push(format!("sid=0x{:x}", s.id));
            fields.push(format!("est={}", s.established_ms));
            fields.push(format!("to={}", s.timeout_ms));
        }
        _ => {}
    }
    let ops = if c.interest_ops == 0 {
        "0".to_owned()
    } else {
        format!("{:x}", c.interest_ops)
    };
    format!(
        " {}[{ops}]({})",
        java_socket_addr(&c.peer),
        fields.join(",")
    )
}

/// `mntr`: `zk_<key>\t<value>` lines, in the order ZooKeeper 3.8 prints them.
pub fn mntr(m: &Monitor) -> String {
    let mut lines: Vec<(&str, String)> = vec![
        ("version", m.version.clone()),
        ("server_state", m.server_state.to_owned()),
        ("ephemerals_count", m.ephemerals_count.to_string()),
        ("num_alive_connections", m.num_alive_connections.to_string()),
        ("avg_latency", java_double(m.latency.avg)),
        ("outstanding_requests", m.outstanding_requests.to_string()),
        ("znode_count", m.znode_count.to_string()),
        ("global_sessions", m.global_sessions.to_string()),
        ("packets_sent", m.packets_sent.to_string()),
        ("packets_received", m.packets_received.to_string()),
        ("watch_count", m.watch_count.to_string()),
        ("min_latency", m.latency.min.to_string()),
    ];
    if let Some(n) = m.max_file_descriptor_count {
        lines.push(("max_file_descriptor_count", n.to_string()));
    }
    lines.push(("approximate_data_size", m.approximate_data_size.to_string()));
    if let Some(n) = m.open_file_descriptor_count {
        lines.push(("open_file_descriptor_count", n.to_string()));
    }
    lines.extend([
        ("local_sessions", m.local_sessions.to_string()),
        ("uptime", m.uptime_ms.to_string()),
        ("max_latency", m.latency.max.to_string()),
    ]);
    if let Some(l) = &m.leader {
        lines.extend([
            ("learners", l.learners.to_string()),
            // ZooKeeper 3.4's name, which older dashboards read.
            ("followers", l.learners.to_string()),
            ("synced_followers", l.synced_followers.to_string()),
            ("synced_non_voting_followers", "0".to_owned()),
            ("synced_observers", l.synced_observers.to_string()),
            ("pending_syncs", l.pending_syncs.to_string()),
        ]);
    }
    let mut out = String::new();
    for (key, value) in lines {
        let _ = writeln!(out, "zk_{key}\t{value}");
    }
    out
}

/// `wchs` (`WatchManager.toString` and a newline).
pub fn wchs(connections: usize, paths: usize, total: usize) -> String {
    format!("{connections} connections watching {paths} paths\nTotal watches:{total}\n")
}

/// `wchc`: each session, then the paths it watches, tab-indented.
pub fn wchc(by_session: &[(i64, Vec<String>)]) -> String {
    let mut out = String::new();
    for (session, paths) in by_session {
        let _ = writeln!(out, "0x{session:x}");
        for p in paths {
            let _ = writeln!(out, "\t{p}");
        }
    }
    out.push('\n');
    out
}

/// `wchp`: each path, then the sessions watching it, tab-indented.
pub fn wchp(by_path: &[(String, Vec<i64>)]) -> String {
    let mut out = String::new();
    for (p, sessions) in by_path {
        let _ = writeln!(out, "{p}");
        for session in sessions {
            let _ = writeln!(out, "\t0x{session:x}");
        }
    }
    out.push('\n');
    out
}

/// `dump`: sessions by expiry time, the ephemerals of each session, and
/// connections (peer, session) by expiry time.
pub fn dump(
    sessions: &[Bucket<i64>],
    ephemerals: &[(i64, Vec<String>)],
    connections: &[Bucket<(SocketAddr, i64)>],
) -> String {
    let mut out = String::from("SessionTracker dump:\nSession ");
    expiry_queue(&mut out, sessions, |s| format!("0x{s:x}"));
    out.push_str("ephemeral nodes dump:\n");
    let _ = writeln!(out, "Sessions with Ephemerals ({}):", ephemerals.len());
    for (session, paths) in ephemerals {
        let _ = writeln!(out, "0x{session:x}:");
        for p in paths {
            let _ = writeln!(out, "\t{p}");
        }
    }
    out.push_str("Connections dump:\nConnections ");
    expiry_queue(&mut out, connections, |(peer, session)| {
        format!("ip: {} sessionId: 0x{session:x}", java_socket_addr(peer))
    });
    out
}

/// `ExpiryQueue.dump`.
fn expiry_queue<T>(out: &mut String, buckets: &[Bucket<T>], item: impl Fn(&T) -> String) {
    let total: usize = buckets.iter().map(|b| b.items.len()).sum();
    let _ = writeln!(out, "Sets ({})/({total}):", buckets.len());
    for b in buckets {
        let _ = writeln!(
            out,
            "{} expire at {}:",
            b.items.len(),
            java_date(b.expires_ms)
        );
        for i in &b.items {
            let _ = writeln!(out, "\t{}", item(i));
        }
    }
}

/// Groups `(deadline_ms, item)` pairs into ZooKeeper's expiry buckets: a
/// deadline is rounded up to the next multiple of the tick
/// (`ExpiryQueue.roundToNextInterval`). Buckets come out in time order,
/// items in the order given.
pub fn buckets<T>(items: impl IntoIterator<Item = (i64, T)>, tick_ms: i64) -> Vec<Bucket<T>> {
    let tick = tick_ms.max(1);
    let mut out: Vec<Bucket<T>> = Vec::new();
    for (deadline, item) in items {
        let expires_ms = (deadline.div_euclid(tick) + 1) * tick;
        match out.iter_mut().find(|b| b.expires_ms == expires_ms) {
            Some(b) => b.items.push(item),
            None => out.push(Bucket {
                expires_ms,
                items: vec![item],
            }),
        }
    }
    out.sort_by_key(|b| b.expires_ms);
    out
}

/// `envi`.
pub fn envi(entries: &[(&str, String)]) -> String {
    let mut out = String::from("Environment:\n");
    for (key, value) in entries {
        let _ = writeln!(out, "{key}={value}");
    }
    out
}

/// `conf`: the configuration lines with `dataDirSize` after `dataDir` and
/// `dataLogSize` after `dataLogDir`, as `ZooKeeperServer.dumpConf` has them.
pub fn conf(lines: &[(String, String)], data_dir_size: u64, log_dir_size: u64) -> String {
    let mut out = String::new();
    for (key, value) in lines {
        let _ = writeln!(out, "{key}={value}");
        match key.as_str() {
            "dataDir" => {
                let _ = writeln!(out, "dataDirSize={data_dir_size}");
            }
            "dataLogDir" => {
                let _ = writeln!(out, "dataLogSize={log_dir_size}");
            }
            _ => {}
        }
    }
    out
}

/// `dirs`.
pub fn dirs(data_dir_size: u64, log_dir_size: u64) -> String {
    format!("datadir_size: {data_dir_size}\nlogdir_size: {log_dir_size}\n")
}

/// Java's `Double.toString`: at least one decimal (`3.0`), and the
/// computerized scientific notation (`1.0E7`, `1.0E-4`) outside [10^-3, 10^7).
pub fn java_double(v: f64) -> String {
    if v.is_nan() {
        return "NaN".to_owned();
    }
    if v.is_infinite() {
        return if v > 0.0 { "Infinity" } else { "-Infinity" }.to_owned();
    }
    if v == 0.0 {
        return if v.is_sign_negative() { "-0.0" } else { "0.0" }.to_owned();
    }
    if (1e-3..1e7).contains(&v.abs()) {
        let s = v.to_string();
        return if s.contains('.') { s } else { s + ".0" };
    }
    let s = format!("{v:e}");
    let (mantissa, exponent) = s.split_once('e').unwrap_or((&s, "0"));
    if mantissa.contains('.') {
        format!("{mantissa}E{exponent}")
    } else {
        format!("{mantissa}.0E{exponent}")
    }
}

/// Rounds half up to four decimals, as `AvgMinMaxCounter.getAvg` does.
fn round4(v: f64) -> f64 {
    (v * 10_000.0).round() / 10_000.0
}

/// Java's `Date.toString` in UTC: `Sun Nov 22 04:16:44 UTC 2026`.
pub fn java_date(ms: i64) -> String {
    const DAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let secs = ms.div_euclid(1000);
    let days = secs.div_euclid(86_400);
    let of_day = secs.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    format!(
        "{} {} {day:02} {:02}:{:02}:{:02} UTC {year}",
        DAYS[(days + 4).rem_euclid(7) as usize],
        MONTHS[month as usize - 1],
        of_day / 3600,
        of_day % 3600 / 60,
        of_day % 60,
    )
}

/// (year, month 1-12, day 1-31) of a day counted from 1970-01-01
/// (Howard Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Java's `InetSocketAddress.toString` for an accepted socket:
/// `/127.0.0.1:40104`, `/[0:0:0:0:0:0:0:1]:40104` (Java 14 and later
/// bracket IPv6 and never compress it); IPv4-mapped addresses show as IPv4,
/// as Java turns them into `Inet4Address`.
pub fn java_socket_addr(addr: &SocketAddr) -> String {
    let port = addr.port();
    let v6 = match addr.ip() {
        IpAddr::V4(ip) => return format!("/{ip}:{port}"),
        IpAddr::V6(ip) => ip,
    };
    if let Some(v4) = v6.to_ipv4_mapped() {
        return format!("/{v4}:{port}");
    }
    let segments: Vec<String> = v6.segments().iter().map(|s| format!("{s:x}")).collect();
    let scope = match addr {
        SocketAddr::V6(a) if a.scope_id() != 0 => format!("%{}", a.scope_id()),
        _ => String::new(),
    };
    format!("/[{}{scope}]:{port}", segments.join(":"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const VERSION: &str = "3.8.0-corral-0.1.0";

    fn addr(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    fn summary() -> Summary {
        Summary {
            version: VERSION.into(),
            latency: Latency {
                min: 0,
                avg: 11.1667,
                max: 81,
            },
            received: 15,
            sent: 14,
            connections: 3,
            outstanding: 0,
            zxid: 6,
            mode: "standalone",
            node_count: 9,
        }
    }

    fn session_conn(port: u16, id: i64) -> Conn {
        Conn {
            peer: addr(&format!("127.0.0.1:{port}")),
            interest_ops: 1,
            counters: None,
            session: Some(ConnSession {
                id,
                established_ms: 1_795_320_787_789,
                timeout_ms: 30_000,
            }),
        }
    }

    #[test]
    fn srvr_as_zookeeper_prints_it() {
        assert_eq!(
            stat(&summary(), None),
            "Zookeeper version: 3.8.0-corral-0.1.0\n\
             Latency min/avg/max: 0/11.1667/81\n\
             Received: 15\nSent: 14\nConnections: 3\nOutstanding: 0\n\
             Zxid: 0x6\nMode: standalone\nNode count: 9\n"
        );
        let idle = Summary {
            latency: Latency::default(),
            zxid: 0,
            ..summary()
        };
        assert!(stat(&idle, None).contains("\nLatency min/avg/max: 0/0.0/0\n"));
        assert!(stat(&idle, None).contains("\nZxid: 0x0\n"));
    }

    #[test]
    fn stat_lists_clients_briefly() {
        let clients = [session_conn(40104, 0x100000ef35b0001)];
        let text = stat(&summary(), Some(&clients));
        assert!(
            text.starts_with(
                "Zookeeper version: 3.8.0-corral-0.1.0\nClients:\n /127.0.0.1:40104[1]()\n\n\
                 Latency min/avg/max: "
            ),
            "{text}"
        );
        let empty = stat(&summary(), Some(&[]));
        assert!(empty.contains("\nClients:\n\nLatency"), "{empty}");
    }

    #[test]
    fn connection_lines() {
        // Exactly what ZooKeeper 3.8 printed for these values.
        let mut c = session_conn(40104, 0x100000ef35b0001);
        c.counters = Some(ConnCounters {
            queued: 0,
            received: 5,
            sent: 5,
        });
        assert_eq!(
            conn_line(&c, true),
            " /127.0.0.1:40104[1](queued=0,recved=5,sent=5)"
        );
        assert!(conn_line(&c, false).starts_with(
            " /127.0.0.1:40104[1](queued=0,recved=5,sent=5,sid=0x100000ef35b0001,\
             est=1795320787789,to=30000"
        ));
        let handshaking = Conn {
            peer: addr("127.0.0.1:40124"),
            interest_ops: 0,
            counters: Some(ConnCounters {
                queued: 0,
                received: 1,
                sent: 0,
            }),
            session: None,
        };
        assert_eq!(
            conn_line(&handshaking, false),
            " /127.0.0.1:40124[0](queued=0,recved=1,sent=0)"
        );
        // Without per-connection counters: only what we know.
        assert_eq!(
            cons(&[session_conn(40104, 0x100000ef35b0001)]),
            " /127.0.0.1:40104[1](sid=0x100000ef35b0001,est=1795320787789,to=30000)\n\n"
        );
        assert_eq!(cons(&[]), "\n");
        let wide = Conn {
            interest_ops: 5,
            ..session_conn(1, 0)
        };
        assert_eq!(conn_line(&wide, false), " /127.0.0.1:1[5]()");
    }

    #[test]
    fn socket_addresses_as_java() {
        assert_eq!(java_socket_addr(&addr("127.0.0.1:2181")), "/127.0.0.1:2181");
        assert_eq!(
            java_socket_addr(&addr("[::1]:49636")),
            "/[0:0:0:0:0:0:0:1]:49636"
        );
        assert_eq!(
            java_socket_addr(&addr("[fe80::1:2%3]:7")),
            "/[fe80:0:0:0:0:0:1:2%3]:7"
        );
        assert_eq!(
            java_socket_addr(&addr("[::ffff:10.0.0.1]:9")),
            "/10.0.0.1:9"
        );
    }

    #[test]
    fn mntr_keys_and_order() {
        let m = Monitor {
            version: VERSION.into(),
            server_state: "standalone",
            ephemerals_count: 3,
            num_alive_connections: 3,
            latency: Latency {
                min: 0,
                avg: 2.6667,
                max: 22,
            },
            outstanding_requests: 0,
            znode_count: 9,
            global_sessions: 2,
            local_sessions: 0,
            packets_sent: 20,
            packets_received: 20,
            watch_count: 8,
            approximate_data_size: 77,
            open_file_descriptor_count: Some(41),
            max_file_descriptor_count: Some(20000),
            uptime_ms: 211_252,
            leader: None,
        };
        assert_eq!(
            mntr(&m),
            "zk_version\t3.8.0-corral-0.1.0\n\
             zk_server_state\tstandalone\n\
             zk_ephemerals_count\t3\n\
             zk_num_alive_connections\t3\n\
             zk_avg_latency\t2.6667\n\
             zk_outstanding_requests\t0\n\
             zk_znode_count\t9\n\
             zk_global_sessions\t2\n\
             zk_packets_sent\t20\n\
             zk_packets_received\t20\n\
             zk_watch_count\t8\n\
             zk_min_latency\t0\n\
             zk_max_file_descriptor_count\t20000\n\
             zk_approximate_data_size\t77\n\
             zk_open_file_descriptor_count\t41\n\
             zk_local_sessions\t0\n\
             zk_uptime\t211252\n\
             zk_max_latency\t22\n"
        );
        let no_fds = Monitor {
            open_file_descriptor_count: None,
            max_file_descriptor_count: None,
            latency: Latency::default(),
            ..m
        };
        let text = mntr(&no_fds);
        assert!(!text.contains("file_descriptor"), "{text}");
        assert!(text.contains("zk_avg_latency\t0.0\n"), "{text}");
    }

    #[test]
    fn watch_listings() {
        assert_eq!(
            wchs(2, 4, 5),
            "2 connections watching 4 paths\nTotal watches:5\n"
        );
        assert_eq!(
            wchs(0, 0, 0),
            "0 connections watching 0 paths\nTotal watches:0\n"
        );
        let by_session = vec![
            (0x100000ef35b0002, vec!["/app".to_owned(), "/x".to_owned()]),
            (0x100000ef35b0003, vec!["/app/e1".to_owned()]),
        ];
        assert_eq!(
            wchc(&by_session),
            "0x100000ef35b0002\n\t/app\n\t/x\n0x100000ef35b0003\n\t/app/e1\n\n"
        );
        let by_path = vec![
            (
                "/app".to_owned(),
                vec![0x100000ef35b0002, 0x100000ef35b0003],
            ),
            ("/x".to_owned(), vec![0x100000ef35b0002]),
        ];
        assert_eq!(
            wchp(&by_path),
            "/app\n\t0x100000ef35b0002\n\t0x100000ef35b0003\n/x\n\t0x100000ef35b0002\n\n"
        );
        assert_eq!(wchc(&[]), "\n");
        assert_eq!(wchp(&[]), "\n");
        // Long.toHexString: negative ids as unsigned.
        assert_eq!(wchc(&[(-1, vec![])]), "0xffffffffffffffff\n\n");
    }

    #[test]
    fn dump_as_zookeeper_prints_it() {
        // 2026-11-22 04:16:44 UTC and 10 s before.
        let t = 1_795_321_004_000;
        let sessions = vec![Bucket {
            expires_ms: t,
            items: vec![0x100000ef35b0002, 0x100000ef35b0003],
        }];
        let ephemerals = vec![
            (0x100000ef35b0003, vec!["/app/e3".to_owned()]),
            (
                0x100000ef35b0002,
                vec!["/app/e1".to_owned(), "/app/e2".to_owned()],
            ),
        ];
        let connections = vec![
            Bucket {
                expires_ms: t - 10_000,
                items: vec![],
            },
            Bucket {
                expires_ms: t,
                items: vec![
                    (addr("127.0.0.1:49476"), 0x100000ef35b0002),
                    (addr("127.0.0.1:49492"), 0x100000ef35b0003),
                ],
            },
        ];
        assert_eq!(
            dump(&sessions, &ephemerals, &connections),
            "SessionTracker dump:\n\
             Session Sets (1)/(2):\n\
             2 expire at Sun Nov 22 04:16:44 UTC 2026:\n\
             \t0x100000ef35b0002\n\
             \t0x100000ef35b0003\n\
             ephemeral nodes dump:\n\
             Sessions with Ephemerals (2):\n\
             0x100000ef35b0003:\n\
             \t/app/e3\n\
             0x100000ef35b0002:\n\
             \t/app/e1\n\
             \t/app/e2\n\
             Connections dump:\n\
             Connections Sets (2)/(2):\n\
             0 expire at Sun Nov 22 04:16:34 UTC 2026:\n\
             2 expire at Sun Nov 22 04:16:44 UTC 2026:\n\
             \tip: /127.0.0.1:49476 sessionId: 0x100000ef35b0002\n\
             \tip: /127.0.0.1:49492 sessionId: 0x100000ef35b0003\n"
        );
        assert_eq!(
            dump(&[], &[], &[]),
            "SessionTracker dump:\nSession Sets (0)/(0):\nephemeral nodes dump:\n\
             Sessions with Ephemerals (0):\nConnections dump:\nConnections Sets (0)/(0):\n"
        );
    }

    #[test]
    fn expiry_buckets_round_up_to_the_tick() {
        let b = buckets(
            [(4_500, 'a'), (1_999, 'b'), (5_999, 'c'), (2_000, 'd')],
            2000,
        );
        assert_eq!(
            b,
            vec![
                Bucket {
                    expires_ms: 2000,
                    items: vec!['b']
                },
                Bucket {
                    expires_ms: 4000,
                    items: vec!['d']
                },
                Bucket {
                    expires_ms: 6000,
                    items: vec!['a', 'c']
                },
            ]
        );
        assert!(buckets(Vec::<(i64, u8)>::new(), 0).is_empty());
    }

    #[test]
    fn other_words() {
        assert_eq!(
            not_whitelisted("stat"),
            "stat is not executed because it is not in the whitelist.\n"
        );
        assert_eq!(
            dirs(67_108_880, 457),
            "datadir_size: 67108880\nlogdir_size: 457\n"
        );
        assert_eq!(
            envi(&[
                ("zookeeper.version", VERSION.to_owned()),
                ("os.name", "Linux".to_owned())
            ]),
            "Environment:\nzookeeper.version=3.8.0-corral-0.1.0\nos.name=Linux\n"
        );
        let lines: Vec<(String, String)> = [
            ("clientPort", "2181"),
            ("dataDir", "/d"),
            ("dataLogDir", "/l"),
            ("tickTime", "2000"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        assert_eq!(
            conf(&lines, 10, 457),
            "clientPort=2181\ndataDir=/d\ndataDirSize=10\ndataLogDir=/l\ndataLogSize=457\n\
             tickTime=2000\n"
        );
    }

    #[test]
    fn doubles_as_java_prints_them() {
        for (v, s) in [
            (0.0, "0.0"),
            (11.1667, "11.1667"),
            (2.0, "2.0"),
            (0.5, "0.5"),
            (0.001, "0.001"),
            (0.0001, "1.0E-4"),
            (0.00015, "1.5E-4"),
            (1234567.125, "1234567.125"),
            (1e7, "1.0E7"),
            (12_345_678.9, "1.23456789E7"),
            (-2.5, "-2.5"),
        ] {
            assert_eq!(java_double(v), s, "{v}");
        }
        assert_eq!(round4(2.666_666), 2.6667);
        assert_eq!(round4(0.000_04), 0.0);
        assert_eq!(round4(0.000_05), 0.0001);
    }

    #[test]
    fn latency_from_micros() {
        assert_eq!(Latency::from_micros(0, 0, 0, 0), Latency::default());
        let l = Latency::from_micros(33_500, 3, 900, 22_400);
        assert_eq!(
            l,
            Latency {
                min: 0,
                avg: 11.1667,
                max: 23
            }
        );
        let fast = Latency::from_micros(450, 3, 100, 300);
        assert_eq!(
            fast,
            Latency {
                min: 0,
                avg: 0.15,
                max: 1
            }
        );
        let exact = Latency::from_micros(4000, 2, 2000, 2000);
        assert_eq!((exact.min, exact.max), (2, 2));
    }

    #[test]
    fn dates_as_java_prints_them() {
        assert_eq!(java_date(0), "Thu Jan 01 00:00:00 UTC 1970");
        assert_eq!(java_date(1_795_321_004_999), "Sun Nov 22 04:16:44 UTC 2026");
        assert_eq!(java_date(951_782_400_000), "Tue Feb 29 00:00:00 UTC 2000");
        assert_eq!(java_date(-1), "Wed Dec 31 23:59:59 UTC 1969");
        assert_eq!(java_date(4_102_444_800_000), "Fri Jan 01 00:00:00 UTC 2100");
    }
}
