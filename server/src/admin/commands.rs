//! `/commands/<name>`: ZooKeeper's AdminServer commands as JSON, with the
//! names, aliases and keys of ZooKeeper's `Commands.java`. Every answer
//! has `command` (the primary name) and `error` (null, or why it failed).
//! The numbers come from the four-letter words' sources
//! ([`crate::four_letter`]); the 4lw whitelist does not apply here.

use crate::four_letter::{self, format, system, VERSION};
use crate::server::{now_millis, Server};
use serde_json::{json, Map, Value};

/// A command's names: the primary one first, then its aliases.
const NAMES: [&[&str]; 15] = [
    &["ruok"],
    &["server_stats", "srvr"],
    &["stats", "stat"],
    &["monitor", "mntr"],
    &["configuration", "conf", "config"],
    &["connections", "cons"],
    &["watch_summary", "wchs"],
    &["watches", "wchc"],
    &["watches_by_path", "wchp"],
    &["dump"],
    &["environment", "env", "envi"],
    &["is_read_only", "isro"],
    &["dirs"],
    &["leader", "lead"],
    &["voting_view"],
];

/// Commands that answer without a running server (ZooKeeper's
/// `serverRequired = false`).
const WITHOUT_SERVER: [&str; 2] = ["monitor", "environment"];

/// The primary name of the command called `name`, if there is one.
pub fn primary_name(name: &str) -> Option<&'static str> {
    NAMES
        .iter()
        .find(|names| names.contains(&name))
        .map(|names| names[0])
}

/// Every primary name.
pub fn primary_names() -> Vec<&'static str> {
    NAMES.iter().map(|names| names[0]).collect()
}

/// Runs `name`: `None` when no command has that name.
pub fn run(server: &Server, name: &str) -> Option<Value> {
    let primary = primary_name(name)?;
    let mut out = Map::new();
    out.insert("command".into(), json!(primary));
    let serving = server.has_quorum() || server.read_only.is_active();
    if !serving && !WITHOUT_SERVER.contains(&primary) {
        out.insert(
            "error".into(),
            json!("This ZooKeeper instance is not currently serving requests"),
        );
        return Some(Value::Object(out));
    }
    out.insert("error".into(), Value::Null);
    let body = answer(server, primary);
    if let Value::Object(fields) = body {
        out.extend(fields);
    }
    Some(Value::Object(out))
}

fn answer(server: &Server, primary: &str) -> Value {
    let core = &server.core;
    let mode = server.mode();
    match primary {
        "ruok" => json!({}),
        "server_stats" => server_stats(server, mode),
        "stats" => {
            let mut v = server_stats(server, mode);
            v["connections"] = connections(server);
            v
        }
        "monitor" => monitor(server, mode),
        "configuration" => {
            let mut m = Map::new();
            for (key, value) in core.config.conf_lines() {
                m.insert(snake_case(&key), typed(&value));
            }
            let (data, log) = dir_sizes(server);
            m.insert("data_dir_size".into(), json!(data));
            m.insert("data_log_size".into(), json!(log));
            Value::Object(m)
        }
        "connections" => json!({
            "connections": connections(server),
            "secure_connections": [],
        }),
        "watch_summary" => {
            let by_session = four_letter::data_watches(core);
            json!({
                "num_connections": by_session.len(),
                "num_paths": four_letter::by_path(&by_session).len(),
                "num_total_watches": by_session.iter().map(|(_, p)| p.len()).sum::<usize>(),
            })
        }
        "watches" => {
            let m: Map<String, Value> = four_letter::data_watches(core)
                .into_iter()
                .map(|(session, paths)| (session.to_string(), json!(paths)))
                .collect();
            json!({ "session_id_to_watched_paths": m })
        }
        "watches_by_path" => {
            let by_session = four_letter::data_watches(core);
            let m: Map<String, Value> = four_letter::by_path(&by_session)
                .into_iter()
                .map(|(path, sessions)| (path, json!(sessions)))
                .collect();
            json!({ "path_to_session_ids": m })
        }
        "dump" => dump(server),
        "environment" => {
            let m: Map<String, Value> = system::environment(VERSION)
                .into_iter()
                .map(|(k, v)| (k.to_owned(), json!(v)))
                .collect();
            Value::Object(m)
        }
        "is_read_only" => json!({ "read_only": server.read_only.is_active() }),
        "dirs" => {
            let (data, log) = dir_sizes(server);
            json!({ "datadir_size": data, "logdir_size": log })
        }
        "leader" => leader(server),
        "voting_view" => {
            let m: Map<String, Value> = match &server.ensemble {
                Some(_) => core
                    .config
                    .servers
                    .iter()
                    .map(|p| (p.id.to_string(), json!(p.to_string())))
                    .collect(),
                None => Map::new(),
            };
            json!({ "current_config": m })
        }
        other => json!({ "error": format!("Unknown command: {other}") }),
    }
}

fn dir_sizes(server: &Server) -> (u64, u64) {
    let config = &server.core.config;
    (
        system::dir_size(&config.data_dir),
        system::dir_size(&config.data_log_dir),
    )
}

/// `srvr`: ZooKeeper's `ServerStats` serialized by Jackson.
fn server_stats(server: &Server, mode: &'static str) -> Value {
    let s = four_letter::summary(&server.core, mode);
    let (data, log) = dir_sizes(server);
    json!({
        "version": s.version,
        "read_only": server.read_only.is_active(),
        "server_stats": {
            "packets_sent": s.sent,
            "packets_received": s.received,
            "max_latency": s.latency.max,
            "min_latency": s.latency.min,
            "avg_latency": s.latency.avg,
            "num_alive_client_connections": s.connections,
            "outstanding_requests": s.outstanding,
            "server_state": s.mode,
            "data_dir_size": data,
            "log_dir_size": log,
            "last_processed_zxid": s.zxid,
            "uptime": server.core.started.elapsed().as_millis() as u64,
        },
        "node_count": s.node_count,
    })
}

/// `mntr`: the four-letter word's keys without their `zk_` prefix (as
/// ZooKeeper's `dumpMonitorValues` names them), numbers as numbers.
fn monitor(server: &Server, mode: &'static str) -> Value {
    let mut m = four_letter::monitor(&server.core, mode);
    // The leader's learner counts, as the four-letter word shows them.
    m.leader = server.leader_stats();
    let text = format::mntr(&m);
    let m: Map<String, Value> = text
        .lines()
        .filter_map(|line| line.split_once('\t'))
        .map(|(key, value)| (key.trim_start_matches("zk_").to_owned(), typed(value)))
        .collect();
    Value::Object(m)
}

/// `ServerCnxn.getConnectionInfo` of each connection.
fn connections(server: &Server) -> Value {
    let list: Vec<Value> = four_letter::connections(&server.core)
        .into_iter()
        .map(|c| {
            let mut v = json!({
                "remote_socket_address": format!("{}:{}", c.peer.ip(), c.peer.port()),
                "interest_ops": c.interest_ops,
            });
            if let Some(n) = c.counters {
                v["outstanding_requests"] = json!(n.queued);
                v["packets_received"] = json!(n.received);
                v["packets_sent"] = json!(n.sent);
            }
            if let Some(s) = c.session {
                v["session_id"] = json!(format!("0x{:x}", s.id));
                v["established"] = json!(format::java_date(s.established_ms));
                v["session_timeout"] = json!(s.timeout_ms);
            }
            v
        })
        .collect();
    Value::Array(list)
}

/// Sessions by expiry time (ms since the epoch, rounded up to the tick)
/// and the ephemerals of each session.
fn dump(server: &Server) -> Value {
    let core = &server.core;
    let tick_ms = (core.config.tick_time.as_millis() as i64).max(1);
    let now = std::time::Instant::now();
    let now_ms = now_millis();
    let (sessions, ephemerals) = {
        let tree = core.tree.read();
        let sessions: Vec<(i64, i32)> = tree
            .sessions
            .iter()
            .map(|(id, r)| (*id, r.timeout_ms))
            .collect();
        let ephemerals: Map<String, Value> = tree
            .sessions_with_ephemerals()
            .map(|(session, paths)| (session.to_string(), json!(paths.iter().collect::<Vec<_>>())))
            .collect();
        (sessions, ephemerals)
    };
    let table = core.sessions.lock();
    let mut expiry: std::collections::BTreeMap<i64, Vec<i64>> = Default::default();
    for (id, timeout_ms) in sessions {
        let idle = table.last_seen(id).map_or(0, |seen| {
            now.saturating_duration_since(seen).as_millis() as i64
        });
        let deadline = now_ms - idle + i64::from(timeout_ms.max(0));
        let bucket = (deadline.div_euclid(tick_ms) + 1) * tick_ms;
        expiry.entry(bucket).or_default().push(id);
    }
    let expiry: Map<String, Value> = expiry
        .into_iter()
        .map(|(t, ids)| (t.to_string(), json!(ids)))
        .collect();
    json!({
        "expiry_time_to_session_ids": expiry,
        "session_id_to_ephemeral_paths": ephemerals,
    })
}

fn leader(server: &Server) -> Value {
    let Some(ensemble) = &server.ensemble else {
        return json!({ "error": "server is not initialized" });
    };
    let leader = server.raft.metrics().borrow().current_leader;
    let address = leader
        .and_then(|id| ensemble.voters.get(&id))
        .map_or(String::new(), |node| node.addr.clone());
    json!({
        "is_leader": server.is_leader(),
        "leader_id": leader.map_or(-1, |id| id as i64),
        "leader_ip": address,
    })
}

/// `clientPort` -> `client_port`.
fn snake_case(key: &str) -> String {
    let mut out = String::with_capacity(key.len() + 4);
    for c in key.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// A number when the text is one, else the text.
fn typed(value: &str) -> Value {
    if let Ok(n) = value.parse::<i64>() {
        return json!(n);
    }
    match value.parse::<f64>() {
        Ok(f) if f.is_finite() => json!(f),
        _ => json!(value),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_aliases() {
        assert_eq!(primary_name("mntr"), Some("monitor"));
        assert_eq!(primary_name("monitor"), Some("monitor"));
        assert_eq!(primary_name("config"), Some("configuration"));
        assert_eq!(primary_name("srvr"), Some("server_stats"));
        assert_eq!(primary_name("nope"), None);
        assert_eq!(primary_names().len(), 15);
    }

    #[test]
    fn keys_and_values() {
        assert_eq!(snake_case("minSessionTimeout"), "min_session_timeout");
        assert_eq!(snake_case("server.1"), "server.1");
        assert_eq!(typed("12"), json!(12));
        assert_eq!(typed("0.5"), json!(0.5));
        assert_eq!(typed("3.8.0-corral"), json!("3.8.0-corral"));
        assert_eq!(typed("NaN"), json!("NaN"));
    }
}
