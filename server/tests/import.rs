//! `corral-server import` on a data directory written by a real Apache
//! ZooKeeper 3.8 (`tests/fixtures/zk-data`, made by its `make_fixture.py`):
//! the imported server must show every node exactly as ZooKeeper did
//! (`expected.json`), and ZooKeeper's open sessions must resume.

use corral_protocol::{
    Acl, ConnectRequest, ConnectResponse, CreateRequest, Decode, Encode, GetAclRequest,
    GetAclResponse, GetChildrenRequest, GetChildrenResponse, GetDataRequest, GetDataResponse,
    GetEphemeralsRequest, GetEphemeralsResponse, OpCode, Reader, ReplyHeader, RequestHeader,
    Writer,
};
use corral_server::import::{self, txnlog, ImportError, ImportOptions, Summary};
use corral_server::storage::snapshot;
use corral_server::{Server, ServerConfig};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/zk-data")
}

fn run_import(from: &Path, data: &Path, force: bool) -> Result<Summary, ImportError> {
    import::run(&ImportOptions {
        sources: vec![from.to_owned()],
        data_dir: data.to_owned(),
        data_log_dir: data.to_owned(),
        force,
    })
}

#[path = "fixtures/zk-data/expected.rs"]
mod expected;

fn expected() -> expected::Expected {
    expected::load(&fixture())
}

// ---- a server and a bare-bones client -----------------------------------

async fn start(data: &Path) -> (SocketAddr, oneshot::Sender<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let config = ServerConfig {
        client_address: addr.ip(),
        client_port: addr.port(),
        data_dir: data.to_owned(),
        data_log_dir: data.to_owned(),
        extended_types_enabled: true,
        // The fixture's TTL nodes and containers must not be reaped mid-test.
        container_check_interval: Duration::from_secs(3600),
        ..ServerConfig::default()
    };
    let server = Server::start(config).await.unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(server.serve(listener, async {
        let _ = stopped.await;
    }));
    (addr, stop)
}

struct Client {
    stream: TcpStream,
    xid: i32,
}

impl Client {
    /// Connects, resuming `session` (id, password) if given; returns the
    /// server's answer.
    async fn connect(
        addr: SocketAddr,
        session: Option<(i64, &[u8])>,
        last_zxid: i64,
    ) -> (Client, ConnectResponse) {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        let (session_id, passwd) = session.unwrap_or((0, &[0; 16]));
        let mut w = Writer::new();
        ConnectRequest {
            protocol_version: 0,
            last_zxid_seen: last_zxid,
            time_out: 30_000,
            session_id,
            passwd: passwd.to_vec(),
            read_only: Some(false),
        }
        .encode(&mut w);
        send_frame(&mut stream, &w.into_inner()).await;
        let resp = ConnectResponse::decode(&read_frame(&mut stream).await).unwrap();
        (Client { stream, xid: 0 }, resp)
    }

    /// Sends a request (with `xid`, or the next one) and returns the error
    /// code and reply body.
    async fn call_xid(
        &mut self,
        xid: Option<i32>,
        op: OpCode,
        body: &impl Encode,
    ) -> (i32, Vec<u8>) {
        let xid = xid.unwrap_or_else(|| {
            self.xid += 1;
            self.xid
        });
        let mut w = Writer::new();
        RequestHeader {
            xid,
            op_type: op as i32,
        }
        .encode(&mut w);
        body.encode(&mut w);
        send_frame(&mut self.stream, &w.into_inner()).await;
        loop {
            let frame = read_frame(&mut self.stream).await;
            let mut r = Reader::new(&frame);
            let header = ReplyHeader::decode(&mut r).unwrap();
            if header.xid == xid {
                return (header.err, r.rest().to_vec());
            }
        }
    }

    async fn call<R: Decode>(&mut self, op: OpCode, body: &impl Encode) -> Result<R, i32> {
        match self.call_xid(None, op, body).await {
            (0, reply) => Ok(R::from_bytes(&reply).unwrap()),
            (err, _) => Err(err),
        }
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

struct Empty;

impl Encode for Empty {
    fn encode(&self, _: &mut Writer) {}
}

// ---- tests ----------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn imported_server_shows_what_zookeeper_showed() {
    let exp = expected();
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let summary = run_import(&fixture().join("version-2"), &data, false).unwrap();
    assert_eq!(summary.last_zxid, exp.last_zxid, "{summary}");
    assert_eq!(summary.nodes, exp.nodes.len(), "{summary}");
    assert_eq!(summary.sessions, exp.sessions.len(), "{summary}");
    assert!(summary.warnings.is_empty(), "{summary}");
    let newest = summary.snapshot.as_ref().unwrap().1;
    assert!(
        newest < exp.last_zxid && summary.replay.txns > 0,
        "{summary}"
    );

    let (addr, _stop) = start(&data).await;
    // ZooKeeper's sessions resume with the id and password it gave them...
    let mut sessions = Vec::new();
    for s in &exp.sessions {
        let (client, resp) = Client::connect(addr, Some((s.id, &s.passwd)), exp.last_zxid).await;
        assert_eq!(resp.session_id, s.id, "session {:#x} resumed", s.id);
        assert_eq!(resp.passwd, s.passwd);
        assert!(resp.time_out > 0);
        sessions.push(client);
    }
    // ...and not with another password.
    let s = &exp.sessions[1];
    let (_, resp) = Client::connect(addr, Some((s.id, &[7; 16])), 0).await;
    assert_eq!(resp.session_id, 0, "a wrong password is refused");

    // Every node: data, stat as clients see it, ACL, children.
    let c = &mut sessions[0];
    let auth = corral_protocol::AuthPacket {
        auth_type: 0,
        scheme: "digest".into(),
        auth: b"alice:secret".to_vec(),
    };
    assert_eq!(c.call_xid(Some(-4), OpCode::Auth, &auth).await.0, 0);
    for n in &exp.nodes {
        let get = GetDataRequest {
            path: n.path.clone(),
            watch: false,
        };
        let got: GetDataResponse = c.call(OpCode::GetData, &get).await.unwrap();
        assert_eq!(got.data, n.data, "{} data", n.path);
        assert_eq!(got.stat, n.stat, "{} stat", n.path);
        let path = n.path.clone();
        let acl: GetAclResponse = c
            .call(OpCode::GetAcl, &GetAclRequest { path })
            .await
            .unwrap();
        assert_eq!(
            (acl.acl, acl.stat),
            (n.acl.clone(), n.stat.clone()),
            "{} ACL",
            n.path
        );
        let list = GetChildrenRequest {
            path: n.path.clone(),
            watch: false,
        };
        let children: GetChildrenResponse = c.call(OpCode::GetChildren, &list).await.unwrap();
        let mut children: Vec<String> = children.children;
        children.sort();
        let prefix = if n.path == "/" {
            "/".to_owned()
        } else {
            format!("{}/", n.path)
        };
        let mut want: Vec<String> = exp
            .nodes
            .iter()
            .filter_map(|m| m.path.strip_prefix(&prefix))
            .filter(|rest| !rest.is_empty() && !rest.contains('/'))
            .map(str::to_owned)
            .collect();
        want.sort();
        assert_eq!(children, want, "{} children", n.path);
    }

    // Each resumed session still owns its ephemerals.
    for (client, s) in sessions.iter_mut().zip(&exp.sessions) {
        let req = GetEphemeralsRequest {
            prefix_path: "/".into(),
        };
        let got: GetEphemeralsResponse = client.call(OpCode::GetEphemerals, &req).await.unwrap();
        let mut got = got.ephemerals;
        got.sort();
        assert_eq!(got, s.ephemerals, "ephemerals of {:#x}", s.id);
    }

    // Zxids keep growing after ZooKeeper's.
    let create = CreateRequest {
        path: "/after-import".into(),
        data: Some(b"x".to_vec()),
        acl: Acl::open_unsafe(),
        flags: 0,
    };
    let c = &mut sessions[0];
    c.call::<corral_protocol::CreateResponse>(OpCode::Create, &create)
        .await
        .unwrap();
    let get = GetDataRequest {
        path: "/after-import".into(),
        watch: false,
    };
    let got: GetDataResponse = c.call(OpCode::GetData, &get).await.unwrap();
    assert!(
        got.stat.czxid > exp.last_zxid,
        "czxid {:#x}",
        got.stat.czxid
    );

    // Closing an imported session removes its ephemerals.
    let (err, _) = c.call_xid(None, OpCode::CloseSession, &Empty).await;
    assert_eq!(err, 0);
    let other = &mut sessions[1];
    for p in &exp.sessions[0].ephemerals {
        let get = GetDataRequest {
            path: p.clone(),
            watch: false,
        };
        let err = other
            .call::<GetDataResponse>(OpCode::GetData, &get)
            .await
            .unwrap_err();
        assert_eq!(err, -101, "{p} gone with its session");
    }
}

/// Every node and session of the Corral snapshot an import wrote.
fn imported_state(data: &Path) -> Vec<String> {
    let dir = data.join("corral/snapshots");
    let (_, newest) = snapshot::list(&dir).unwrap().into_iter().next().unwrap();
    let (tree, info) = snapshot::read(&newest).unwrap();
    let mut out: Vec<String> = tree
        .nodes_in_order()
        .map(|(p, n)| format!("{p} {:?} {:?} {:?}", n.data, n.acl, n.stat))
        .collect();
    let mut sessions: Vec<String> = tree
        .sessions
        .iter()
        .map(|(id, s)| format!("{id} {s:?}"))
        .collect();
    sessions.sort();
    out.extend(sessions);
    out.push(format!("{:?} {}", info.last_applied, tree.last_zxid));
    out
}

/// A copy of the fixture's files for which `keep` says yes.
fn fixture_copy(dir: &Path, keep: impl Fn(&str) -> bool) -> PathBuf {
    let out = dir.join("version-2");
    std::fs::create_dir_all(&out).unwrap();
    for e in std::fs::read_dir(fixture().join("version-2")).unwrap() {
        let name = e.unwrap().file_name().into_string().unwrap();
        if keep(&name) {
            std::fs::copy(fixture().join("version-2").join(&name), out.join(&name)).unwrap();
        }
    }
    out
}

fn zxid_of(name: &str) -> Option<i64> {
    let hex = name.strip_prefix("snapshot.")?;
    i64::from_str_radix(hex, 16).ok()
}

#[test]
fn every_snapshot_replays_to_the_same_tree() {
    let tmp = tempfile::tempdir().unwrap();
    run_import(&fixture().join("version-2"), &tmp.path().join("all"), false).unwrap();
    let baseline = imported_state(&tmp.path().join("all"));
    let mut starts: Vec<Option<i64>> = std::fs::read_dir(fixture().join("version-2"))
        .unwrap()
        .filter_map(|e| zxid_of(&e.unwrap().file_name().into_string().unwrap()))
        .map(Some)
        .collect();
    assert!(starts.len() >= 3, "the fixture has several snapshots");
    starts.push(None); // no snapshot: the logs alone, from an empty tree
    for start in starts {
        let dir = tmp.path().join(format!("from-{start:?}"));
        let from = fixture_copy(&dir, |name| match zxid_of(name) {
            Some(z) => Some(z) <= start,
            None => true,
        });
        let summary = run_import(&from, &dir.join("data"), false).unwrap();
        assert_eq!(summary.snapshot.map(|s| s.1), start);
        assert_eq!(
            imported_state(&dir.join("data")),
            baseline,
            "from {start:?}"
        );
    }
}

#[test]
fn damaged_newest_snapshot_falls_back_to_an_older_one() {
    let tmp = tempfile::tempdir().unwrap();
    run_import(&fixture().join("version-2"), &tmp.path().join("all"), false).unwrap();
    let from = fixture_copy(tmp.path(), |_| true);
    let newest = std::fs::read_dir(&from)
        .unwrap()
        .filter_map(|e| zxid_of(&e.unwrap().file_name().into_string().unwrap()))
        .max()
        .unwrap();
    let path = from.join(format!("snapshot.{newest:x}"));
    let mut bytes = std::fs::read(&path).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x55;
    std::fs::write(&path, bytes).unwrap();
    let summary = run_import(&from, &tmp.path().join("data"), false).unwrap();
    assert!(summary.snapshot.as_ref().unwrap().1 < newest, "{summary}");
    assert!(
        summary.warnings[0].contains(&format!("snapshot.{newest:x}")),
        "{summary}"
    );
    assert_eq!(
        imported_state(&tmp.path().join("data")),
        imported_state(&tmp.path().join("all"))
    );
}

#[test]
fn fixture_logs_end_in_zero_padding_and_a_torn_tail_is_cut() {
    let exp = expected();
    let mut logs: Vec<(i64, PathBuf)> = std::fs::read_dir(fixture().join("version-2"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter_map(|p| {
            let hex = p.file_name()?.to_str()?.strip_prefix("log.")?.to_owned();
            Some((i64::from_str_radix(&hex, 16).ok()?, p))
        })
        .collect();
    logs.sort();
    let mut next = 1;
    for (start, path) in &logs {
        let log = txnlog::parse(&std::fs::read(path).unwrap()).unwrap();
        assert_eq!(log.tail, txnlog::Tail::Padding, "{}", path.display());
        assert_eq!(log.entries[0].0.zxid, *start);
        for (h, _) in &log.entries {
            assert_eq!(h.zxid, next, "{}", path.display());
            next += 1;
        }
    }
    assert_eq!(next - 1, exp.last_zxid);

    // Cut the newest log in the middle of its last entry: the import keeps
    // what is whole and says what it dropped.
    let tmp = tempfile::tempdir().unwrap();
    let from = fixture_copy(tmp.path(), |_| true);
    let newest = from.join(logs.last().unwrap().1.file_name().unwrap());
    let bytes = std::fs::read(&newest).unwrap();
    let end = bytes.iter().rposition(|b| *b == b'B').unwrap();
    std::fs::write(&newest, &bytes[..end - 10]).unwrap();
    let summary = run_import(&from, &tmp.path().join("data"), false).unwrap();
    assert_eq!(summary.last_zxid, exp.last_zxid - 1, "{summary}");
    assert!(
        summary.warnings[0].contains("incomplete entry"),
        "{summary}"
    );
}

#[test]
fn refuses_existing_data_unless_forced_and_bad_files_are_clear_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    run_import(&fixture().join("version-2"), &data, false).unwrap();
    let e = run_import(&fixture().join("version-2"), &data, false).unwrap_err();
    assert!(e.to_string().contains("already holds Corral data"), "{e}");
    let again = run_import(&fixture().join("version-2"), &data, true).unwrap();
    assert!(again.replaced >= 2, "{again}");

    // A log file that is not one.
    let bad = tmp.path().join("bad");
    let from = fixture_copy(&bad, |_| true);
    let log = std::fs::read_dir(&from)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter_map(|p| {
            let hex = p.file_name()?.to_str()?.strip_prefix("log.")?.to_owned();
            Some((i64::from_str_radix(&hex, 16).ok()?, p))
        })
        .max()
        .unwrap()
        .1;
    let mut bytes = std::fs::read(&log).unwrap();
    bytes[..4].copy_from_slice(b"ZKXX");
    std::fs::write(&log, bytes).unwrap();
    let e = run_import(&from, &bad.join("data"), false).unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.contains(log.to_str().unwrap()) && msg.contains("not a ZooKeeper txn log"),
        "{msg}"
    );
    assert!(
        !bad.join("data/corral").exists(),
        "nothing written on error"
    );

    // A missing log between the snapshot and the rest: refused, not a
    // silently shorter history.
    let names: Vec<String> = std::fs::read_dir(fixture().join("version-2"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    let newest = names.iter().filter_map(|n| zxid_of(n)).max().unwrap();
    let covering = names
        .iter()
        .filter_map(|n| Some((i64::from_str_radix(n.strip_prefix("log.")?, 16).ok()?, n)))
        .filter(|(start, _)| *start <= newest + 1)
        .max()
        .unwrap()
        .1;
    let gap = tmp.path().join("gap");
    let from = fixture_copy(&gap, |name| name != covering);
    let e = run_import(&from, &gap.join("data"), false).unwrap_err();
    assert!(e.to_string().contains("missing"), "{e}");

    // Nothing to import.
    let empty = tmp.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let e = run_import(&empty, &empty.join("data"), false).unwrap_err();
    assert!(e.to_string().contains("no ZooKeeper"), "{e}");
}
