//! Four-letter words over TCP against an in-process server with two
//! sessions, ephemerals and watches, checked against the formats ZooKeeper
//! 3.8 prints.

use corral_protocol::{
    Acl, ConnectRequest, ConnectResponse, CreateRequest, Encode, ExistsRequest, GetDataRequest,
    OpCode, ReplyHeader, RequestHeader, Writer,
};
use corral_protocol::{AddWatchRequest, Decode, GetChildrenRequest};
use corral_server::config::FourLetterWhitelist;
use corral_server::four_letter::VERSION;
use corral_server::{Server, ServerConfig};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;

/// A fresh directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("corral-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A running server; stops when dropped.
struct Running {
    addr: SocketAddr,
    _stop: oneshot::Sender<()>,
}

async fn start(mut config: ServerConfig) -> Running {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    config.client_address = addr.ip();
    config.client_port = addr.port();
    let server = Server::start(config).await.unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(server.serve(listener, async {
        let _ = stopped.await;
    }));
    Running { addr, _stop: stop }
}

/// Sends a four-letter word and reads the answer until the server closes.
async fn ask(addr: SocketAddr, word: &str) -> String {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(word.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut out))
        .await
        .expect("answer in time")
        .unwrap();
    String::from_utf8(out).unwrap()
}

/// A bare-bones ZooKeeper client session.
struct Client {
    stream: TcpStream,
    session_id: i64,
    local: SocketAddr,
    xid: i32,
}

impl Client {
    async fn connect(addr: SocketAddr) -> Client {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        let local = stream.local_addr().unwrap();
        let req = ConnectRequest {
            protocol_version: 0,
            last_zxid_seen: 0,
            time_out: 30_000,
            session_id: 0,
            passwd: vec![0; 16],
            read_only: Some(false),
        };
        let mut w = Writer::new();
        req.encode(&mut w);
        send_frame(&mut stream, &w.into_inner()).await;
        let frame = read_frame(&mut stream).await;
        let resp = ConnectResponse::decode(&frame).unwrap();
        assert_ne!(resp.session_id, 0);
        Client {
            stream,
            session_id: resp.session_id,
            local,
            xid: 0,
        }
    }

    /// Sends a request and waits for its reply, skipping notifications;
    /// returns the error code.
    async fn call(&mut self, op: OpCode, body: &impl Encode) -> i32 {
        self.xid += 1;
        let mut w = Writer::new();
        RequestHeader {
            xid: self.xid,
            op_type: op as i32,
        }
        .encode(&mut w);
        body.encode(&mut w);
        send_frame(&mut self.stream, &w.into_inner()).await;
        loop {
            let frame = read_frame(&mut self.stream).await;
            let header = ReplyHeader::decode(&mut corral_protocol::Reader::new(&frame)).unwrap();
            if header.xid == self.xid {
                return header.err;
            }
        }
    }

    async fn create(&mut self, path: &str, data: &[u8], flags: i32) {
        let req = CreateRequest {
            path: path.into(),
            data: Some(data.to_vec()),
            acl: Acl::open_unsafe(),
            flags,
        };
        assert_eq!(self.call(OpCode::Create, &req).await, 0, "create {path}");
    }
}

async fn send_frame(s: &mut TcpStream, payload: &[u8]) {
    let mut buf = (payload.len() as i32).to_be_bytes().to_vec();
    buf.extend_from_slice(payload);
    s.write_all(&buf).await.unwrap();
}

async fn read_frame(s: &mut TcpStream) -> Vec<u8> {
    let read = async {
        let mut len = [0u8; 4];
        s.read_exact(&mut len).await.unwrap();
        let mut buf = vec![0u8; i32::from_be_bytes(len) as usize];
        s.read_exact(&mut buf).await.unwrap();
        buf
    };
    tokio::time::timeout(Duration::from_secs(10), read)
        .await
        .expect("reply in time")
}

/// An empty request body (closeSession).
struct Empty;

impl Encode for Empty {
    fn encode(&self, _: &mut Writer) {}
}

/// Asks `word` until the answer is `expected` (cleanup after a connection
/// closes is asynchronous).
async fn eventually(addr: SocketAddr, word: &str, expected: &str) {
    let mut answer = String::new();
    for _ in 0..100 {
        answer = ask(addr, word).await;
        if answer == expected {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{word}: expected {expected:?}, last answer {answer:?}");
}

fn mntr_map(text: &str) -> HashMap<String, String> {
    text.lines()
        .map(|l| {
            let (k, v) = l.split_once('\t').expect("tab-separated");
            (k.to_owned(), v.to_owned())
        })
        .collect()
}

fn java_addr(a: SocketAddr) -> String {
    format!("/{}:{}", a.ip(), a.port())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_word_over_tcp() {
    let dir = TempDir::new("4lw");
    let data_dir = dir.0.join("data");
    let log_dir = dir.0.join("log");
    std::fs::create_dir_all(data_dir.join("version-2")).unwrap();
    std::fs::create_dir_all(&log_dir).unwrap();
    std::fs::write(data_dir.join("version-2/snapshot.0"), [0u8; 100]).unwrap();
    std::fs::write(log_dir.join("log.1"), [0u8; 7]).unwrap();
    let server = start(ServerConfig {
        four_letter_whitelist: FourLetterWhitelist::All,
        data_dir: data_dir.clone(),
        data_log_dir: log_dir.clone(),
        ..ServerConfig::default()
    })
    .await;
    let addr = server.addr;

    assert_eq!(ask(addr, "ruok").await, "imok");
    assert_eq!(ask(addr, "isro").await, "rw");

    // Two sessions: a owns /app/e1 and /app/e2, b owns /app/e3.
    let mut a = Client::connect(addr).await;
    let mut b = Client::connect(addr).await;
    a.create("/app", b"hello", 0).await;
    a.create("/app/e1", b"x", 1).await;
    a.create("/app/e2", b"yy", 1).await;
    b.create("/app/e3", b"", 1).await;
    // Data watches: a on /app; b on /app/e1 and (exists) /nope; a child
    // watch of a's on /app; a persistent watch of b's on /x.
    let get = |p: &str| GetDataRequest {
        path: p.into(),
        watch: true,
    };
    assert_eq!(a.call(OpCode::GetData, &get("/app")).await, 0);
    let children = GetChildrenRequest {
        path: "/app".into(),
        watch: true,
    };
    assert_eq!(a.call(OpCode::GetChildren, &children).await, 0);
    assert_eq!(b.call(OpCode::GetData, &get("/app/e1")).await, 0);
    let exists = ExistsRequest {
        path: "/nope".into(),
        watch: true,
    };
    assert_eq!(b.call(OpCode::Exists, &exists).await, -101);
    let add_watch = AddWatchRequest {
        path: "/x".into(),
        mode: 0,
    };
    assert_eq!(b.call(OpCode::AddWatch, &add_watch).await, 0);
    let (sa, sb) = (a.session_id, b.session_id);

    let srvr = ask(addr, "srvr").await;
    let lines: Vec<&str> = srvr.lines().collect();
    assert_eq!(lines.len(), 9, "{srvr}");
    assert_eq!(lines[0], format!("Zookeeper version: {VERSION}"));
    assert!(lines[1].starts_with("Latency min/avg/max: "), "{srvr}");
    let latency: Vec<&str> = lines[1]["Latency min/avg/max: ".len()..]
        .split('/')
        .collect();
    assert_eq!(latency.len(), 3);
    assert!(latency[0].parse::<u64>().is_ok() && latency[2].parse::<u64>().is_ok());
    assert!(latency[1].contains('.'), "Java double: {}", latency[1]);
    assert_eq!(lines[2], "Received: 9");
    assert!(lines[3].starts_with("Sent: "));
    assert_eq!(lines[4], "Connections: 2");
    assert_eq!(lines[5], "Outstanding: 0");
    assert!(
        lines[6].starts_with("Zxid: 0x") && lines[6] != "Zxid: 0x0",
        "{srvr}"
    );
    assert_eq!(lines[7], "Mode: standalone");
    assert_eq!(lines[8], "Node count: 8");
    assert!(srvr.ends_with('\n'));

    let stat = ask(addr, "stat").await;
    let stat_lines: Vec<&str> = stat.lines().collect();
    assert_eq!(stat_lines[0], format!("Zookeeper version: {VERSION}"));
    assert_eq!(stat_lines[1], "Clients:");
    let mut listed: Vec<String> = stat_lines[2..4].iter().map(|l| strip_counters(l)).collect();
    listed.sort();
    let mut clients = [
        format!(" {}[1]()", java_addr(a.local)),
        format!(" {}[1]()", java_addr(b.local)),
    ];
    clients.sort();
    assert_eq!(listed, clients, "{stat}");
    assert_eq!(stat_lines[4], "", "{stat}");
    assert!(stat_lines[5].starts_with("Latency min/avg/max: "), "{stat}");
    assert!(
        stat.ends_with("Mode: standalone\nNode count: 8\n"),
        "{stat}"
    );

    let cons = ask(addr, "cons").await;
    assert!(cons.ends_with("\n\n"), "{cons:?}");
    let cons_lines: Vec<&str> = cons.trim_end().lines().collect();
    assert_eq!(cons_lines.len(), 2, "{cons}");
    for (client, session) in [(&a, sa), (&b, sb)] {
        let prefix = format!(" {}[1](sid=0x{session:x},est=", java_addr(client.local));
        let line = cons_lines
            .iter()
            .map(|l| strip_counters(l))
            .find(|l| l.starts_with(&prefix))
            .unwrap_or_else(|| panic!("{prefix} in {cons}"));
        assert!(line.ends_with(",to=30000)"), "{line}");
        let est: i64 = line[prefix.len()..line.len() - ",to=30000)".len()]
            .parse()
            .unwrap();
        let now = corral_server::server::now_millis();
        assert!((now - 60_000..=now).contains(&est), "{est} vs {now}");
    }

    let mntr = ask(addr, "mntr").await;
    assert!(mntr.starts_with(&format!(
        "zk_version\t{VERSION}\nzk_server_state\tstandalone\n"
    )));
    let m = mntr_map(&mntr);
    for (key, value) in [
        ("zk_ephemerals_count", "3"),
        ("zk_num_alive_connections", "2"),
        ("zk_outstanding_requests", "0"),
        ("zk_znode_count", "8"),
        ("zk_global_sessions", "2"),
        ("zk_local_sessions", "0"),
        ("zk_packets_received", "9"),
        // getData x2, exists, getChildren, and the persistent watch (in
        // both managers, as ZooKeeper counts it).
        ("zk_watch_count", "6"),
        // "/" + "/zookeeper" + "/zookeeper/quota" + "/zookeeper/config"
        // + "/app"(4+5) + "/app/e1"(7+1) + "/app/e2"(7+2) + "/app/e3"(7).
        ("zk_approximate_data_size", "77"),
    ] {
        assert_eq!(m.get(key).map(String::as_str), Some(value), "{key}\n{mntr}");
    }
    for key in [
        "zk_avg_latency",
        "zk_min_latency",
        "zk_max_latency",
        "zk_packets_sent",
        "zk_uptime",
    ] {
        assert!(m.contains_key(key), "{key}\n{mntr}");
    }
    if cfg!(target_os = "linux") {
        let open: u64 = m["zk_open_file_descriptor_count"].parse().unwrap();
        let max: u64 = m["zk_max_file_descriptor_count"].parse().unwrap();
        assert!(open > 2 && open <= max, "{open} {max}");
    }
    assert!(m["zk_avg_latency"].contains('.'));

    assert_eq!(
        ask(addr, "wchs").await,
        "2 connections watching 4 paths\nTotal watches:4\n"
    );
    let mut expected_wchc = vec![(sa, vec!["/app"]), (sb, vec!["/app/e1", "/nope", "/x"])];
    expected_wchc.sort();
    let mut wchc = String::new();
    for (session, paths) in &expected_wchc {
        wchc.push_str(&format!("0x{session:x}\n"));
        for p in paths {
            wchc.push_str(&format!("\t{p}\n"));
        }
    }
    wchc.push('\n');
    assert_eq!(ask(addr, "wchc").await, wchc);
    assert_eq!(
        ask(addr, "wchp").await,
        format!("/app\n\t0x{sa:x}\n/app/e1\n\t0x{sb:x}\n/nope\n\t0x{sb:x}\n/x\n\t0x{sb:x}\n\n")
    );

    let dump = ask(addr, "dump").await;
    assert!(
        dump.starts_with("SessionTracker dump:\nSession Sets ("),
        "{dump}"
    );
    let mut sessions = [sa, sb];
    sessions.sort();
    let ephemerals = format!(
        "ephemeral nodes dump:\nSessions with Ephemerals (2):\n{}Connections dump:\nConnections Sets (",
        sessions
            .iter()
            .map(|s| if *s == sa {
                format!("0x{s:x}:\n\t/app/e1\n\t/app/e2\n")
            } else {
                format!("0x{s:x}:\n\t/app/e3\n")
            })
            .collect::<String>()
    );
    assert!(dump.contains(&ephemerals), "{dump}");
    for s in sessions {
        assert!(dump.contains(&format!("\n\t0x{s:x}\n")), "{dump}");
    }
    for (client, s) in [(&a, sa), (&b, sb)] {
        let line = format!("\n\tip: {} sessionId: 0x{s:x}\n", java_addr(client.local));
        assert!(dump.contains(&line), "{line} in {dump}");
    }
    assert!(dump.contains(" expire at "), "{dump}");
    assert!(dump.contains(" UTC "), "{dump}");

    // The planted files plus what the server itself keeps there.
    let data_size = bytes_under(&data_dir);
    let log_size = bytes_under(&log_dir);
    assert!(data_size > 100 && log_size > 7, "{data_size} {log_size}");
    let conf = ask(addr, "conf").await;
    assert!(
        conf.starts_with(&format!(
            "clientPort={}\nsecureClientPort=-1\ndataDir={}\ndataDirSize={data_size}\n\
             dataLogDir={}\ndataLogSize={log_size}\ntickTime=2000\n",
            addr.port(),
            data_dir.display(),
            log_dir.display()
        )),
        "{conf}"
    );
    assert!(conf.ends_with("serverId=0\n"), "{conf}");
    assert_eq!(
        ask(addr, "dirs").await,
        format!("datadir_size: {data_size}\nlogdir_size: {log_size}\n")
    );

    let envi = ask(addr, "envi").await;
    assert!(
        envi.starts_with(&format!("Environment:\nzookeeper.version={VERSION}\n")),
        "{envi}"
    );
    let keys: Vec<&str> = envi
        .lines()
        .skip(1)
        .map(|l| l.split_once('=').expect("key=value").0)
        .collect();
    assert!(
        keys.contains(&"user.dir") && keys.contains(&"os.arch"),
        "{envi}"
    );
    assert!(!keys.iter().any(|k| k.starts_with("java.")), "{envi}");

    assert_eq!(ask(addr, "crst").await, "Connection stats reset.\n");
    assert!(ask(addr, "srvr").await.contains("\nReceived: 9\n"));
    assert_eq!(ask(addr, "srst").await, "Server stats reset.\n");
    let srvr = ask(addr, "srvr").await;
    assert!(
        srvr.contains("\nLatency min/avg/max: 0/0.0/0\nReceived: 0\nSent: 0\nConnections: 2\n"),
        "{srvr}"
    );

    // A closed session's ephemerals and watches are gone, and deleting
    // /app/e1 fired b's one-shot watch there.
    assert_eq!(a.call(OpCode::CloseSession, &Empty).await, 0);
    let wchp = format!("/nope\n\t0x{sb:x}\n/x\n\t0x{sb:x}\n\n");
    eventually(addr, "wchp", &wchp).await;
    eventually(
        addr,
        "wchs",
        "1 connections watching 2 paths\nTotal watches:2\n",
    )
    .await;
    let mntr = mntr_map(&ask(addr, "mntr").await);
    assert_eq!(mntr["zk_ephemerals_count"], "1");
    assert_eq!(mntr["zk_global_sessions"], "1");
    drop(b);
}

#[tokio::test]
async fn whitelist_rejects_as_zookeeper_does() {
    let server = start(ServerConfig {
        four_letter_whitelist: FourLetterWhitelist::parse("ruok"),
        data_dir: "/nonexistent/corral".into(),
        data_log_dir: "/nonexistent/corral".into(),
        ..ServerConfig::default()
    })
    .await;
    assert_eq!(ask(server.addr, "ruok").await, "imok");
    assert!(ask(server.addr, "srvr")
        .await
        .starts_with("Zookeeper version: "));
    for word in ["stat", "mntr", "dump", "envi", "wchc", "srst", "gtmk"] {
        assert_eq!(
            ask(server.addr, word).await,
            format!("{word} is not executed because it is not in the whitelist.\n")
        );
    }
}

/// Checks and removes a connection line's `queued=0,recved=N,sent=N`
/// counters (every request answered: nothing queued, one reply per packet).
fn strip_counters(line: &str) -> String {
    let start = line.find("(queued=").expect("counters") + 1;
    let end = line[start..].find(')').map(|i| start + i).unwrap();
    let fields: Vec<&str> = line[start..end].split(',').collect();
    let value = |name: &str| -> u64 {
        fields
            .iter()
            .find_map(|f| f.strip_prefix(&format!("{name}=")))
            .unwrap_or_else(|| panic!("{name} in {line}"))
            .parse()
            .unwrap()
    };
    assert_eq!(value("queued"), 0, "{line}");
    assert!(value("recved") > 1, "{line}");
    assert_eq!(value("recved"), value("sent"), "{line}");
    let rest: Vec<&str> = fields[3..].to_vec();
    format!("{}{}{}", &line[..start], rest.join(","), &line[end..])
}

/// Total size of the files under `dir`, counted independently of the server.
fn bytes_under(dir: &std::path::Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok())
                .map(|e| match e.metadata() {
                    Ok(m) if m.is_dir() => bytes_under(&e.path()),
                    Ok(m) => m.len(),
                    Err(_) => 0,
                })
                .sum()
        })
        .unwrap_or(0)
}
