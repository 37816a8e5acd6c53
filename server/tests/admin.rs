//! The admin HTTP server: `/metrics` scraped and parsed as Prometheus
//! text, its values moving as requests are made; `/commands/<name>`
//! answering ZooKeeper's JSON, with `mntr`'s keys those of the four-letter
//! word.

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::Duration;

use corral_client::{Client, CreateOptions};
use corral_server::{Server, ServerConfig};
use prometheus_parse::{Scrape, Value};

struct Running {
    client_addr: SocketAddr,
    admin_addr: SocketAddr,
    server: Arc<Server>,
    runtime: tokio::runtime::Runtime,
    _dir: tempfile::TempDir,
}

/// A standalone server with its admin routes on another free port.
fn start() -> Running {
    let dir = tempfile::tempdir().unwrap();
    let cfg = format!(
        "tickTime=200\ndataDir={}\nclientPortAddress=127.0.0.1\nclientPort=0\n\
         4lw.commands.whitelist=*\nadmin.enableServer=true\n",
        dir.path().display()
    );
    let config = ServerConfig::from_cfg_str(&cfg).unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (client_addr, admin_addr, server) = runtime.block_on(async {
        let clients = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let admin = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let (client_addr, admin_addr) =
            (clients.local_addr().unwrap(), admin.local_addr().unwrap());
        let server = Server::start(config).await.unwrap();
        tokio::spawn(corral_server::admin::serve(server.clone(), admin));
        tokio::spawn(server.clone().serve(clients, std::future::pending()));
        (client_addr, admin_addr, server)
    });
    Running {
        client_addr,
        admin_addr,
        server,
        runtime,
        _dir: dir,
    }
}

/// GET over HTTP/1.1: (status, body).
fn get(addr: SocketAddr, path: &str) -> (u16, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = String::new();
    s.read_to_string(&mut raw).unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    (status, body.to_owned())
}

fn json(addr: SocketAddr, command: &str) -> serde_json::Value {
    let (status, body) = get(addr, &format!("/commands/{command}"));
    assert_eq!(status, 200, "{body}");
    serde_json::from_str(&body).unwrap()
}

fn scrape(addr: SocketAddr) -> Scrape {
    let (status, body) = get(addr, "/metrics");
    assert_eq!(status, 200);
    Scrape::parse(body.lines().map(|l| Ok(l.to_owned()))).unwrap()
}

/// The value of a gauge or counter without labels.
fn value(scrape: &Scrape, name: &str) -> f64 {
    let sample = scrape
        .samples
        .iter()
        .find(|s| s.metric == name)
        .unwrap_or_else(|| panic!("no {name}"));
    match sample.value {
        Value::Gauge(v) | Value::Counter(v) | Value::Untyped(v) => v,
        ref other => panic!("{name} is {other:?}"),
    }
}

/// How many observations a histogram has (its +Inf bucket), 0 if absent.
fn observations(scrape: &Scrape, name: &str, op: Option<&str>) -> f64 {
    scrape
        .samples
        .iter()
        .filter(|s| s.metric == name && s.labels.get("op") == op)
        .find_map(|s| match &s.value {
            Value::Histogram(buckets) => buckets
                .iter()
                .find(|b| b.less_than.is_infinite())
                .map(|b| b.count),
            _ => None,
        })
        .unwrap_or(0.0)
}

/// A four-letter word on the client port.
fn four_letter(addr: SocketAddr, word: &str) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    s.write_all(word.as_bytes()).unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

#[test]
fn metrics_move_as_requests_are_made() {
    let r = start();
    let before = scrape(r.admin_addr);
    let znodes = value(&before, "corral_znode_count");
    let creates = observations(&before, "corral_request_latency_seconds", Some("create"));
    let fsyncs = observations(&before, "corral_fsync_latency_seconds", None);

    let hosts = r.client_addr.to_string();
    let (client, _watch) = r.runtime.block_on(async {
        let client = Client::connect(&hosts).await.unwrap();
        for i in 0..5 {
            client
                .create(&format!("/m{i}"), b"x", &CreateOptions::default())
                .await
                .unwrap();
            client.get_data(&format!("/m{i}")).await.unwrap();
        }
        let (_, watch) = client.exists_w("/m0").await.unwrap();
        (client, watch)
    });
    let after = scrape(r.admin_addr);
    assert_eq!(value(&after, "corral_znode_count"), znodes + 5.0);
    // The histograms are process-wide: other tests may add to them.
    assert!(
        observations(&after, "corral_request_latency_seconds", Some("create")) >= creates + 5.0
    );
    assert!(observations(&after, "corral_request_latency_seconds", Some("getData")) >= 5.0);
    assert!(observations(&after, "corral_fsync_latency_seconds", None) > fsyncs);
    assert!(
        after
            .samples
            .iter()
            .any(|s| s.metric == "corral_snapshot_duration_seconds"),
        "the snapshot duration histogram is exported"
    );
    assert_eq!(value(&after, "corral_global_sessions"), 1.0);
    assert_eq!(value(&after, "corral_alive_connections"), 1.0);
    assert_eq!(value(&after, "corral_watch_count"), 1.0);
    assert!(value(&after, "corral_raft_applied_index") >= 6.0);
    assert!(value(&after, "corral_raft_term") >= 1.0);
    assert!(value(&after, "corral_last_zxid") >= 6.0);
    assert!(
        value(&after, "corral_packets_received_total")
            > value(&before, "corral_packets_received_total")
    );
    let role = after
        .samples
        .iter()
        .find(|s| s.metric == "corral_server_role" && s.labels.get("role") == Some("standalone"))
        .unwrap();
    assert_eq!(role.value, Value::Gauge(1.0));
    r.runtime.block_on(client.close());
}

#[test]
fn commands_answer_zookeepers_json() {
    let r = start();
    let (status, body) = get(r.admin_addr, "/commands");
    assert_eq!(status, 200);
    assert!(body.contains("\"monitor\""), "{body}");

    let ruok = json(r.admin_addr, "ruok");
    assert_eq!(ruok, serde_json::json!({"command": "ruok", "error": null}));

    // mntr: the keys of the four-letter word, without `zk_`.
    let mntr = json(r.admin_addr, "mntr");
    assert_eq!(mntr["command"], "monitor");
    assert_eq!(mntr["server_state"], "standalone");
    let words: BTreeSet<String> = four_letter(r.client_addr, "mntr")
        .lines()
        .map(|l| {
            l.split('\t')
                .next()
                .unwrap()
                .trim_start_matches("zk_")
                .to_owned()
        })
        .collect();
    let keys: BTreeSet<String> = mntr
        .as_object()
        .unwrap()
        .keys()
        .filter(|k| *k != "command" && *k != "error")
        .cloned()
        .collect();
    assert_eq!(keys, words);
    assert!(mntr["znode_count"].is_u64());
    assert_eq!(json(r.admin_addr, "monitor")["command"], "monitor");

    let srvr = json(r.admin_addr, "srvr");
    assert_eq!(srvr["command"], "server_stats");
    assert_eq!(srvr["server_stats"]["server_state"], "standalone");
    assert!(srvr["version"]
        .as_str()
        .unwrap()
        .starts_with("3.8.0-corral-"));
    let conf = json(r.admin_addr, "conf");
    assert_eq!(conf["tick_time"], 200);
    assert_eq!(conf["command"], "configuration");
    assert_eq!(json(r.admin_addr, "isro")["read_only"], false);
    assert!(json(r.admin_addr, "dirs")["datadir_size"].is_u64());
    assert!(json(r.admin_addr, "envi")["zookeeper.version"].is_string());
    assert_eq!(
        json(r.admin_addr, "leader")["error"],
        "server is not initialized"
    );
    assert_eq!(
        json(r.admin_addr, "voting_view")["current_config"],
        serde_json::json!({})
    );

    // Sessions, connections, watches and ephemerals show up.
    let hosts = r.client_addr.to_string();
    let (client, _watch) = r.runtime.block_on(async {
        let client = Client::connect(&hosts).await.unwrap();
        client
            .create("/eph", b"", &CreateOptions::ephemeral())
            .await
            .unwrap();
        let (_, _, watch) = client.get_data_w("/eph").await.unwrap();
        (client, watch)
    });
    let session = client.session_id();
    let cons = json(r.admin_addr, "cons");
    assert_eq!(
        cons["connections"][0]["session_id"],
        format!("0x{session:x}")
    );
    assert_eq!(
        json(r.admin_addr, "stat")["connections"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let wchs = json(r.admin_addr, "wchs");
    assert_eq!(
        (
            wchs["num_connections"].as_u64(),
            wchs["num_total_watches"].as_u64()
        ),
        (Some(1), Some(1))
    );
    let wchc = json(r.admin_addr, "wchc");
    assert_eq!(
        wchc["session_id_to_watched_paths"][session.to_string()],
        serde_json::json!(["/eph"])
    );
    let wchp = json(r.admin_addr, "wchp");
    assert_eq!(
        wchp["path_to_session_ids"]["/eph"],
        serde_json::json!([session])
    );
    let dump = json(r.admin_addr, "dump");
    assert_eq!(
        dump["session_id_to_ephemeral_paths"][session.to_string()],
        serde_json::json!(["/eph"])
    );
    let expiring: Vec<i64> = dump["expiry_time_to_session_ids"]
        .as_object()
        .unwrap()
        .values()
        .flat_map(|ids| ids.as_array().unwrap().iter().map(|i| i.as_i64().unwrap()))
        .collect();
    assert_eq!(expiring, [session]);

    let (status, body) = get(r.admin_addr, "/commands/nope");
    assert_eq!(status, 404);
    assert!(body.contains("Unknown command: nope"), "{body}");
    r.runtime.block_on(client.close());
    drop(r.server);
}

#[test]
fn admin_address_follows_the_config() {
    let r = start();
    let addr = corral_server::admin::address(&r.server).unwrap();
    assert_eq!(addr.port(), 8080);
    assert!(addr.ip().is_unspecified());
}

/// The binary starts the admin server from its config and logs JSON lines
/// with `--log-format json`.
#[test]
fn binary_serves_admin_and_logs_json() {
    use std::io::BufRead;
    use std::process::{Command, Stdio};

    let dir = tempfile::tempdir().unwrap();
    let free = || {
        std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    };
    let (port, admin_port) = (free(), free());
    let cfg = dir.path().join("zoo.cfg");
    std::fs::write(
        &cfg,
        format!(
            "tickTime=200\ndataDir={}\nclientPort={port}\nclientPortAddress=127.0.0.1\n\
             admin.enableServer=true\nadmin.serverAddress=127.0.0.1\nadmin.serverPort={admin_port}\n",
            dir.path().join("data").display()
        ),
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_corral-server"))
        .args(["--config", cfg.to_str().unwrap(), "--log-format", "json"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    struct Kill(std::process::Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let stderr = child.stderr.take().unwrap();
    let _guard = Kill(child);
    let mut lines = std::io::BufReader::new(stderr).lines();
    let mut messages = Vec::new();
    while !messages.iter().any(|m: &String| m == "serving clients") {
        let line = lines
            .next()
            .expect("the server logs until it serves")
            .unwrap();
        let v: serde_json::Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("not a JSON log line ({e}): {line}"));
        assert!(
            v["level"].is_string() && v["timestamp"].is_string(),
            "{line}"
        );
        messages.push(
            v["fields"]["message"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        );
    }
    assert!(
        messages
            .iter()
            .any(|m| m.starts_with("admin server listening")),
        "{messages:?}"
    );
    let admin: SocketAddr = format!("127.0.0.1:{admin_port}").parse().unwrap();
    assert_eq!(json(admin, "ruok")["error"], serde_json::Value::Null);
    assert_eq!(json(admin, "conf")["client_port"], port);
}

/// In a three-server ensemble: `leader`, `voting_view`, the role metric,
/// and the leader's `mntr` (with its learner keys) equal to the word's.
#[test]
fn ensemble_commands() {
    let dirs: Vec<tempfile::TempDir> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    let free = || {
        std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    };
    let peers: Vec<(u16, u16)> = (0..3).map(|_| (free(), free())).collect();
    let lines: String = peers
        .iter()
        .enumerate()
        .map(|(i, (p, e))| format!("server.{}=127.0.0.1:{p}:{e}\n", i + 1))
        .collect();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let members: Vec<(Arc<Server>, SocketAddr)> = runtime.block_on(async {
        let mut started = Vec::new();
        for (i, dir) in dirs.iter().enumerate() {
            let cfg = format!(
                "tickTime=200\ninitLimit=10\nsyncLimit=5\ndataDir={}\nclientPort={}\n\
                 clientPortAddress=127.0.0.1\n4lw.commands.whitelist=*\n{lines}",
                dir.path().display(),
                free()
            );
            let mut config = ServerConfig::from_cfg_str(&cfg).unwrap();
            config.server_id = i as u64 + 1;
            started.push(tokio::spawn(Server::start(config)));
        }
        let mut members = Vec::new();
        for s in started {
            let server = s.await.unwrap().unwrap();
            let admin = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = admin.local_addr().unwrap();
            tokio::spawn(corral_server::admin::serve(server.clone(), admin));
            members.push((server, addr));
        }
        members
    });
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let leader = loop {
        if let Some(i) = members.iter().position(|(s, _)| s.mode() == "leader") {
            if members.iter().all(|(s, _)| s.has_quorum()) {
                break i;
            }
        }
        assert!(std::time::Instant::now() < deadline, "no leader elected");
        std::thread::sleep(Duration::from_millis(50));
    };
    for (i, (server, admin)) in members.iter().enumerate() {
        let v = json(*admin, "leader");
        assert_eq!(v["is_leader"], i == leader, "{v}");
        assert_eq!(v["leader_id"], leader as i64 + 1, "{v}");
        let view = json(*admin, "voting_view");
        assert_eq!(
            view["current_config"].as_object().unwrap().len(),
            3,
            "{view}"
        );
        let role = if i == leader { "leader" } else { "follower" };
        assert_eq!(json(*admin, "mntr")["server_state"], role);
        let metrics = scrape(*admin);
        let one = metrics
            .samples
            .iter()
            .find(|s| s.metric == "corral_server_role" && s.value == Value::Gauge(1.0))
            .unwrap();
        assert_eq!(one.labels.get("role"), Some(role));
        assert_eq!(
            value(&metrics, "corral_raft_leader_id"),
            leader as f64 + 1.0
        );
        let words: BTreeSet<String> = corral_server::four_letter::run(server, "mntr")
            .lines()
            .map(|l| {
                l.split('\t')
                    .next()
                    .unwrap()
                    .trim_start_matches("zk_")
                    .to_owned()
            })
            .collect();
        let keys: BTreeSet<String> = json(*admin, "mntr")
            .as_object()
            .unwrap()
            .keys()
            .filter(|k| *k != "command" && *k != "error")
            .cloned()
            .collect();
        assert_eq!(keys, words, "server {}", i + 1);
        if i == leader {
            assert!(keys.contains("synced_followers"), "{keys:?}");
        }
    }
    runtime.shutdown_background();
}
