//! Byte-for-byte tests against traffic captured from a real Apache ZooKeeper
//! 3.8 (fixtures in tests/captures/, written by tests/captures/capture.py;
//! see its README). ZooKeeper is not needed to run these tests.
//!
//! Every fixture is checked generically: each client frame decodes as a
//! request and re-encodes to the identical bytes; each server frame decodes
//! by the opcode of its request (paired by xid) and our encoding of the
//! decoded values is identical to ZooKeeper's bytes. Then the interesting
//! exchanges are checked value by value.

mod common;

use common::decoders::{decode_reply, encode_reply, Reply};
use common::fixtures::{self, Fixture};
use corral_protocol::jute::Writer;
use corral_protocol::multi::encode_multi_results;
use corral_protocol::*;
use std::collections::HashMap;

/// One decoded exchange file.
#[derive(Debug, Default)]
struct Decoded {
    connect: Option<(ConnectRequest, ConnectResponse)>,
    requests: Vec<(RequestHeader, Request)>,
    /// Replies with the opcode of their request; `None` for notifications.
    replies: Vec<(Option<OpCode>, ReplyHeader, Reply)>,
}

impl Decoded {
    fn request(&self, i: usize) -> &Request {
        &self.requests[i].1
    }

    /// The reply to the request with this xid.
    fn reply_to(&self, xid: i32) -> (&ReplyHeader, &Reply) {
        self.replies
            .iter()
            .find(|(op, h, _)| op.is_some() && h.xid == xid)
            .map(|(_, h, r)| (h, r))
            .unwrap_or_else(|| panic!("no reply to xid {xid}"))
    }

    /// The only reply, with its header.
    fn reply(&self) -> (&ReplyHeader, &Reply) {
        let xid = self.requests.last().expect("a request").0.xid;
        self.reply_to(xid)
    }

    fn notifications(&self) -> Vec<&WatcherEvent> {
        self.replies
            .iter()
            .filter_map(|(op, _, r)| match (op, r) {
                (None, Reply::Notification(e)) => Some(e),
                _ => None,
            })
            .collect()
    }
}

fn payload<'a>(f: &Fixture, fr: &'a [u8]) -> &'a [u8] {
    let len = check_frame(fr, DEFAULT_MAX_BUFFER)
        .unwrap_or_else(|e| panic!("{}: frame: {e}", f.name))
        .unwrap_or_else(|| panic!("{}: incomplete frame", f.name));
    assert_eq!(4 + len, fr.len(), "{}: frame length", f.name);
    &fr[4..]
}

/// Decodes every frame of `f` and checks that our encoding reproduces it.
fn decode_fixture(f: &Fixture) -> Decoded {
    let mut d = Decoded::default();
    let mut ops: HashMap<i32, OpCode> = HashMap::new();
    let mut frames = f.frames.iter().peekable();
    if f.is_connect() {
        let (dir, req) = frames.next().expect("connect request");
        assert_eq!(*dir, fixtures::Dir::Client, "{}", f.name);
        let (dir, rsp) = frames.next().expect("connect response");
        assert_eq!(*dir, fixtures::Dir::Server, "{}", f.name);
        let creq = ConnectRequest::decode(payload(f, req))
            .unwrap_or_else(|e| panic!("{}: connect request: {e}", f.name));
        let crsp = ConnectResponse::decode(payload(f, rsp))
            .unwrap_or_else(|e| panic!("{}: connect response: {e}", f.name));
        let mut w = Writer::new();
        creq.encode(&mut w);
        assert_eq!(
            frame(&w.buf),
            *req,
            "{}: connect request re-encoding",
            f.name
        );
        let mut w = Writer::new();
        crsp.encode(&mut w);
        assert_eq!(
            frame(&w.buf),
            *rsp,
            "{}: connect response re-encoding",
            f.name
        );
        d.connect = Some((creq, crsp));
    }
    for (dir, fr) in frames {
        let p = payload(f, fr);
        match dir {
            fixtures::Dir::Client => {
                let (h, req) = Request::decode_frame(p)
                    .unwrap_or_else(|e| panic!("{}: request {}: {e}", f.name, hex(fr)));
                assert_eq!(req.to_frame(h.xid), *fr, "{}: request re-encoding", f.name);
                ops.insert(h.xid, req.op_code());
                d.requests.push((h, req));
            }
            fixtures::Dir::Server => {
                let xid = i32::from_be_bytes(p[..4].try_into().unwrap());
                let op = if xid == xid::NOTIFICATION {
                    None
                } else {
                    Some(*ops.get(&xid).unwrap_or_else(|| {
                        panic!("{}: reply xid {xid} answers no request", f.name)
                    }))
                };
                let (h, reply) = decode_reply(op, p)
                    .unwrap_or_else(|e| panic!("{}: reply {}: {e}", f.name, hex(fr)));
                assert_eq!(
                    encode_reply(&h, &reply),
                    *fr,
                    "{}: our encoding of the reply differs from ZooKeeper's",
                    f.name
                );
                if h.err != 0 {
                    assert!(
                        ErrorCode::from_i32(h.err).is_some(),
                        "{}: unknown error code {}",
                        f.name,
                        h.err
                    );
                }
                d.replies.push((op, h, reply));
            }
        }
    }
    d
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn load(name: &str) -> Decoded {
    decode_fixture(&fixtures::load(name))
}

fn err(code: ErrorCode) -> i32 {
    code.code()
}

#[test]
fn every_fixture_decodes_and_reencodes_identically() {
    let all = fixtures::load_all();
    assert!(all.len() >= 60, "only {} fixtures", all.len());
    let mut frames = 0;
    for f in &all {
        assert!(!f.frames.is_empty(), "{}: no frames", f.name);
        decode_fixture(f);
        frames += f.frames.len();
    }
    assert!(frames >= 150, "only {frames} frames");
}

#[test]
fn every_prefix_of_a_captured_frame_is_an_error() {
    for f in fixtures::load_all() {
        let d = decode_fixture(&f);
        let mut ops: HashMap<i32, OpCode> = HashMap::new();
        for (h, r) in &d.requests {
            ops.insert(h.xid, r.op_code());
        }
        for (i, (dir, fr)) in f.frames.iter().enumerate() {
            for n in 0..fr.len() {
                assert_eq!(check_frame(&fr[..n], DEFAULT_MAX_BUFFER), Ok(None));
            }
            let p = &fr[4..];
            for n in 0..p.len() {
                let prefix = &p[..n];
                let ok = match (f.is_connect() && i < 2, dir) {
                    // The 44-byte prefix of a 45-byte connect is the old form.
                    (true, fixtures::Dir::Client) => {
                        ConnectRequest::decode(prefix).is_ok() && !(n == 44 && p.len() == 45)
                    }
                    (true, fixtures::Dir::Server) => {
                        ConnectResponse::decode(prefix).is_ok() && !(n == 36 && p.len() == 37)
                    }
                    (false, fixtures::Dir::Client) => Request::decode_frame(prefix).is_ok(),
                    (false, fixtures::Dir::Server) => {
                        let xid = i32::from_be_bytes(p[..4].try_into().unwrap());
                        let op = ops.get(&xid).copied();
                        decode_reply(op, prefix).is_ok()
                    }
                };
                assert!(
                    !ok,
                    "{}: frame {i}: prefix of {n}/{} bytes decoded",
                    f.name,
                    p.len()
                );
            }
        }
    }
}

#[test]
fn fixtures_cover_three_clients() {
    let all = fixtures::load_all();
    for prefix in ["raw_", "kazoo_", "zkcli_"] {
        assert!(
            all.iter().filter(|f| f.name.starts_with(prefix)).count() >= 10,
            "few {prefix} fixtures"
        );
    }
}

// -- connect --------------------------------------------------------------

fn connect(name: &str) -> (ConnectRequest, ConnectResponse, usize, usize) {
    let f = fixtures::load(name);
    let d = decode_fixture(&f);
    let lens: Vec<usize> = f.frames.iter().map(|(_, fr)| fr.len() - 4).collect();
    let (req, rsp) = d.connect.expect("connect");
    (req, rsp, lens[0], lens[1])
}

#[test]
fn connect_old_client_44_bytes_gets_36_byte_answer() {
    let (req, rsp, req_len, rsp_len) = connect("raw_connect_old_44");
    assert_eq!(req_len, 44);
    assert_eq!(req.read_only, None);
    assert_eq!(req.passwd, [0u8; 16]);
    assert_eq!(
        (req.protocol_version, req.time_out, req.session_id),
        (0, 30000, 0)
    );
    // No readOnly byte in the answer either.
    assert_eq!(rsp_len, 36);
    assert_eq!(rsp.read_only, None);
    assert_eq!(rsp.protocol_version, 0);
    assert_eq!(rsp.time_out, 30000);
    assert_ne!(rsp.session_id, 0);
    assert_eq!(rsp.passwd.len(), 16);
}

#[test]
fn connect_45_bytes_from_raw_kazoo_and_java_clients() {
    for (name, timeout) in [
        ("raw_connect_45", 30000),
        ("kazoo_connect", 10000),
        ("zkcli_connect", 30000),
    ] {
        let (req, rsp, req_len, rsp_len) = connect(name);
        assert_eq!(req_len, 45, "{name}");
        assert_eq!(req.read_only, Some(false), "{name}");
        assert_eq!(
            req.passwd, [0u8; 16],
            "{name}: a new session sends 16 zero bytes"
        );
        assert_eq!(
            (req.protocol_version, req.last_zxid_seen, req.session_id),
            (0, 0, 0),
            "{name}"
        );
        assert_eq!(req.time_out, timeout, "{name}");
        assert_eq!(rsp_len, 37, "{name}");
        assert_eq!(rsp.read_only, Some(false), "{name}");
        assert_eq!(rsp.time_out, timeout, "{name}");
        assert_ne!(rsp.session_id, 0, "{name}");
        assert_eq!(rsp.passwd.len(), 16, "{name}");
    }
}

#[test]
fn connect_resume_and_expired() {
    let (req, rsp, _, _) = connect("raw_connect_resume");
    assert_ne!(req.session_id, 0);
    assert!(req.last_zxid_seen > 0);
    assert_eq!(rsp.session_id, req.session_id);
    assert_eq!(rsp.passwd, req.passwd);
    assert_eq!(rsp.time_out, 10000);

    // A closed session: timeout 0, session 0, 16 zero bytes; then EOF.
    let (req, rsp, _, _) = connect("raw_connect_expired");
    assert_ne!(req.session_id, 0);
    assert_eq!(
        rsp,
        ConnectResponse {
            protocol_version: 0,
            time_out: 0,
            session_id: 0,
            passwd: vec![0; 16],
            read_only: Some(false),
        }
    );
}

// -- single operations ------------------------------------------------------

#[test]
fn create2_with_acl() {
    let d = load("raw_create2_acl");
    let Request::Create2(c) = d.request(0) else {
        panic!("{:?}", d.request(0))
    };
    assert_eq!(c.path, "/corral-capture");
    assert_eq!(c.data.as_deref(), Some(&b"hello"[..]));
    assert_eq!(c.flags, 0);
    assert_eq!(
        c.acl,
        vec![
            Acl::new(
                perms::ALL,
                Id::new("digest", "alice:aYXlLOpEooaV1cRAvUL1fp9Qt7E=")
            ),
            Acl::new(perms::READ, Id::anyone()),
        ]
    );
    let (h, Reply::Create2(r)) = d.reply() else {
        panic!()
    };
    assert_eq!(h.err, 0);
    assert_eq!(r.path, "/corral-capture");
    assert_eq!((r.stat.version, r.stat.data_length), (0, 5));
    assert_eq!(r.stat.czxid, h.zxid);
    assert_eq!(r.stat.czxid, r.stat.mzxid);
    assert_eq!(r.stat.pzxid, r.stat.czxid);

    let d = load("kazoo_create");
    let Request::Create(c) = d.request(0) else {
        panic!()
    };
    assert_eq!(c.acl[0].id.scheme, "digest");
    assert!(matches!(d.reply(), (_, Reply::Create(r)) if r.path == "/kazoo"));

    // zkCli's `create` sends a plain create (op 1), not create2.
    let d = load("zkcli_create");
    assert!(
        matches!(d.request(0), Request::Create(c) if c.path == "/zkcli"
        && c.acl == Acl::open_unsafe() && c.data.as_deref() == Some(&b"v"[..])
        && c.flags == 0)
    );
    assert!(matches!(d.reply().1, Reply::Create(r) if r.path == "/zkcli"));
    let d = load("zkcli_create_2");
    assert!(matches!(d.request(0), Request::Create(c) if c.flags == 1));

    let d = load("kazoo_create2");
    assert!(matches!(d.request(0), Request::Create2(c) if c.path == "/kazoo/c"));
    assert!(matches!(d.reply().1, Reply::Create2(r) if r.path == "/kazoo/c"));
}

#[test]
fn create_variants() {
    let d = load("raw_create");
    assert!(matches!(d.reply().1, Reply::Create(r) if r.path == "/corral-capture/child1"));

    let d = load("raw_create_null_data");
    assert!(matches!(d.request(0), Request::Create(c) if c.data.is_none()));

    let d = load("raw_create2_ephemeral_sequential");
    let (_, Reply::Create2(r)) = d.reply() else {
        panic!()
    };
    assert_eq!(r.path, "/corral-capture/eph-0000000002");
    assert_ne!(r.stat.ephemeral_owner, 0);

    let d = load("raw_create_container");
    assert!(matches!(d.request(0), Request::CreateContainer(c) if c.flags == 4));
    let (_, Reply::Create2(r)) = d.reply() else {
        panic!()
    };
    assert_eq!(r.path, "/corral-container");
    // ZooKeeper shows clients 0, not its container marker, as ephemeralOwner.
    assert_eq!(r.stat.ephemeral_owner, 0);

    let d = load("raw_create_ttl");
    assert!(matches!(d.request(0), Request::CreateTtl(c) if c.flags == 5 && c.ttl == 60000));
    let (_, Reply::Create2(r)) = d.reply() else {
        panic!()
    };
    assert_eq!(r.path, "/corral-ttl");
    // ZooKeeper hides the TTL marker of ephemeralOwner from clients.
    assert_eq!(r.stat.ephemeral_owner, 0);

    let d = load("raw_create2_nodeexists");
    assert_eq!(d.reply(), (d.reply().0, &Reply::Empty));
    assert_eq!(d.reply().0.err, err(ErrorCode::NodeExists));
}

#[test]
fn get_and_set_data() {
    let d = load("raw_getdata");
    let (_, Reply::GetData(r)) = d.reply() else {
        panic!()
    };
    assert_eq!(r.data.as_deref(), Some(&b"hello"[..]));
    assert_eq!(r.stat.data_length, 5);

    // A node created with null data reads back as a null buffer (-1).
    let d = load("raw_getdata_null_data");
    let (_, Reply::GetData(r)) = d.reply() else {
        panic!()
    };
    assert_eq!(r.data, None);
    assert_eq!(r.stat.data_length, 0);

    let d = load("raw_getdata_nonode");
    assert_eq!(d.reply().0.err, err(ErrorCode::NoNode));
    assert_eq!(d.reply().1, &Reply::Empty);

    let d = load("raw_setdata");
    assert!(matches!(d.request(0), Request::SetData(s) if s.version == 0));
    let (h, Reply::SetData(r)) = d.reply() else {
        panic!()
    };
    assert_eq!((r.stat.version, r.stat.data_length), (1, 5));
    assert_eq!(r.stat.mzxid, h.zxid);

    let d = load("raw_setdata_badversion");
    assert_eq!(d.reply().0.err, err(ErrorCode::BadVersion));
    assert_eq!(d.reply().1, &Reply::Empty);

    let d = load("kazoo_getData");
    assert!(matches!(d.reply().1, Reply::GetData(r) if r.data.as_deref() == Some(&b"k"[..])));
    let d = load("zkcli_getData");
    assert!(matches!(d.reply().1, Reply::GetData(r) if r.data.as_deref() == Some(&b"v"[..])));
    let d = load("zkcli_setData");
    assert!(matches!(d.request(0), Request::SetData(s) if s.version == -1));
}

#[test]
fn exists_present_and_nonode() {
    let d = load("raw_exists");
    assert!(matches!(d.reply().1, Reply::Exists(r) if r.stat.version == 1));

    // NoNode: the header carries the error and there is no body at all.
    for name in ["raw_exists_nonode", "raw_exists_nonode_watch"] {
        let f = fixtures::load(name);
        let d = decode_fixture(&f);
        assert_eq!(d.reply().0.err, err(ErrorCode::NoNode), "{name}");
        assert_eq!(f.server().next().unwrap().len(), 4 + 16, "{name}");
    }
    assert!(matches!(
        load("raw_exists_nonode_watch").request(0),
        Request::Exists(e) if e.watch
    ));
    let d = load("kazoo_exists_2");
    assert_eq!(d.reply().0.err, err(ErrorCode::NoNode));
    let d = load("zkcli_exists_2");
    assert_eq!(d.reply().0.err, err(ErrorCode::NoNode));
}

#[test]
fn children() {
    let d = load("raw_getchildren");
    let (_, Reply::GetChildren(r)) = d.reply() else {
        panic!()
    };
    let mut kids = r.children.clone();
    kids.sort();
    assert_eq!(kids, ["child1", "eph-0000000002", "nulldata"]);

    let d = load("raw_getchildren2");
    let (_, Reply::GetChildren2(r)) = d.reply() else {
        panic!()
    };
    assert_eq!(r.children.len(), 3);
    assert_eq!(r.stat.num_children, 3);
    assert_eq!(r.stat.cversion, 3);

    let d = load("kazoo_getChildren2");
    assert!(matches!(d.reply().1, Reply::GetChildren2(r) if r.children == ["c"]));
    let d = load("zkcli_getChildren2");
    assert!(matches!(d.request(0), Request::GetChildren2(g) if g.path == "/zkcli"));
}

#[test]
fn acls() {
    let d = load("raw_getacl");
    let (_, Reply::GetAcl(r)) = d.reply() else {
        panic!()
    };
    assert_eq!(r.acl.len(), 2);
    assert_eq!(r.acl[0].id.scheme, "digest");
    assert_eq!(r.acl[1], Acl::new(perms::READ, Id::anyone()));

    let d = load("raw_setacl");
    assert!(matches!(d.request(0), Request::SetAcl(s) if s.version == -1 && s.acl.len() == 1));
    assert!(matches!(d.reply().1, Reply::SetAcl(r) if r.stat.aversion == 1));

    let d = load("zkcli_getACL");
    assert!(matches!(d.reply().1, Reply::GetAcl(r) if r.acl == Acl::open_unsafe()));
}

#[test]
fn delete_sync_and_counts() {
    let d = load("raw_delete");
    assert!(matches!(d.request(0), Request::Delete(r) if r.version == -1));
    assert_eq!(d.reply(), (d.reply().0, &Reply::Empty));
    assert_eq!(d.reply().0.err, 0);
    assert_eq!(
        load("raw_delete_notempty").reply().0.err,
        err(ErrorCode::NotEmpty)
    );
    assert_eq!(
        load("raw_delete_nonode").reply().0.err,
        err(ErrorCode::NoNode)
    );

    let d = load("raw_sync");
    assert!(matches!(d.reply().1, Reply::Sync(r) if r.path == "/corral-capture"));

    let d = load("raw_get_all_children_number");
    assert!(matches!(
        d.reply().1,
        Reply::GetAllChildrenNumber(r) if r.total_number == 3
    ));
    let d = load("raw_get_ephemerals");
    assert!(
        matches!(d.request(0), Request::GetEphemerals(g) if g.prefix_path == "/corral-capture")
    );
    assert!(matches!(
        d.reply().1,
        Reply::GetEphemerals(r) if r.ephemerals == ["/corral-capture/eph-0000000002"]
    ));
    assert!(matches!(
        load("zkcli_getEphemerals").reply().1,
        Reply::GetEphemerals(_)
    ));
    assert!(matches!(
        load("zkcli_getAllChildrenNumber").reply().1,
        Reply::GetAllChildrenNumber(_)
    ));
}

// -- multi --------------------------------------------------------------------

fn multi_results(d: &Decoded) -> (&ReplyHeader, &Vec<MultiResult>) {
    match d.reply() {
        (h, Reply::Multi(r)) => (h, r),
        other => panic!("{other:?}"),
    }
}

#[test]
fn multi_ok() {
    let d = load("raw_multi_ok");
    let Request::Multi(ops) = d.request(0) else {
        panic!()
    };
    let codes: Vec<OpCode> = ops.iter().map(MultiOp::op_code).collect();
    assert_eq!(
        codes,
        [
            OpCode::Create,
            OpCode::Create2,
            OpCode::SetData,
            OpCode::Check,
            OpCode::Delete
        ]
    );
    let (h, results) = multi_results(&d);
    assert_eq!(h.err, 0);
    assert_eq!(results.len(), 5);
    assert!(
        matches!(&results[0], MultiResult::Create { op: OpCode::Create, path, .. }
        if path == "/corral-capture/m1")
    );
    // A create2 op inside a multi is answered like a create: op 1 in the
    // result header and the path only, no Stat (ZooKeeper's server turns
    // every multi create into Op.create when it deserializes the request).
    assert_eq!(
        results[1],
        MultiResult::Create {
            op: OpCode::Create,
            path: "/corral-capture/m2".into(),
            stat: Stat::default(),
        }
    );
    assert!(matches!(&results[2], MultiResult::SetData(s) if s.version == 2));
    assert_eq!(results[3], MultiResult::Check);
    assert_eq!(results[4], MultiResult::Delete);

    let d = load("kazoo_multi");
    assert_eq!(multi_results(&d).1.len(), 3);
    let d = load("zkcli_multi");
    assert_eq!(
        multi_results(&d).1,
        &[MultiResult::Delete, MultiResult::Delete]
    );
}

#[test]
fn failed_multi_has_ok_header_and_per_op_errors() {
    for name in ["raw_multi_fail", "kazoo_multi_2"] {
        let d = load(name);
        let (h, results) = multi_results(&d);
        // ZooKeeper 3.8 answers a failed multi with err 0 in the reply
        // header; the failure is only in the results.
        assert_eq!(h.err, 0, "{name}");
        assert!(h.zxid > 0, "{name}");
        let expected = if name == "raw_multi_fail" {
            vec![
                MultiResult::Error(0),
                MultiResult::Error(err(ErrorCode::BadVersion)),
                MultiResult::Error(err(ErrorCode::RuntimeInconsistency)),
            ]
        } else {
            vec![
                MultiResult::Error(0),
                MultiResult::Error(err(ErrorCode::BadVersion)),
            ]
        };
        assert_eq!(results, &expected, "{name}");
    }
}

#[test]
fn multi_create_results_are_create2_on_the_wire() {
    let f = fixtures::load("raw_multi_create_variants");
    let d = decode_fixture(&f);
    let Request::Multi(ops) = d.request(0) else {
        panic!()
    };
    assert_eq!(ops[0].op_code(), OpCode::CreateContainer);
    assert_eq!(ops[1].op_code(), OpCode::CreateTtl);
    let (h, results) = multi_results(&d);
    let (paths, stats): (Vec<_>, Vec<_>) = results
        .iter()
        .map(|r| match r {
            MultiResult::Create { op, path, stat } => {
                assert_eq!(*op, OpCode::Create2);
                (path.clone(), stat.clone())
            }
            other => panic!("{other:?}"),
        })
        .unzip();
    assert_eq!(paths, ["/corral-capture/mc", "/corral-capture/mt"]);

    // A server that keeps the request's opcode in its results must still
    // produce ZooKeeper's bytes (create2 in the result headers).
    let as_server = vec![
        MultiResult::Create {
            op: OpCode::CreateContainer,
            path: paths[0].clone(),
            stat: stats[0].clone(),
        },
        MultiResult::Create {
            op: OpCode::CreateTtl,
            path: paths[1].clone(),
            stat: stats[1].clone(),
        },
    ];
    let mut w = Writer::new();
    h.encode(&mut w);
    encode_multi_results(&as_server, &mut w);
    assert_eq!(frame(&w.buf), f.server().next().unwrap());
}

#[test]
fn multi_read() {
    let d = load("raw_multi_read");
    assert!(matches!(d.request(0), Request::MultiRead(ops) if ops.len() == 3));
    let (h, results) = multi_results(&d);
    assert_eq!(h.err, 0);
    assert!(matches!(&results[0], MultiResult::GetChildren(c) if c.len() == 6));
    assert!(matches!(&results[1], MultiResult::GetData { data: Some(d), .. } if d == b"multi"));
    // A failed read inside multiRead is just that op's error; the others
    // keep their results.
    assert_eq!(results[2], MultiResult::Error(err(ErrorCode::NoNode)));
}

// -- watches ------------------------------------------------------------------

fn event(t: EventType, path: &str) -> WatcherEvent {
    WatcherEvent {
        event_type: t as i32,
        state: KeeperState::SyncConnected as i32,
        path: path.into(),
    }
}

#[test]
fn watch_notifications() {
    let d = load("raw_watch_notification");
    assert!(matches!(d.request(0), Request::GetData(g) if g.watch));
    let (_, h, _) = d.replies.iter().find(|(op, _, _)| op.is_none()).unwrap();
    // Notifications: xid -1, zxid -1, err 0.
    assert_eq!((h.xid, h.zxid, h.err), (-1, -1, 0));
    assert_eq!(
        d.notifications(),
        [&event(EventType::NodeDataChanged, "/corral-capture/child1")]
    );
    assert_eq!(
        load("raw_watch_node_created").notifications(),
        [&event(EventType::NodeCreated, "/corral-capture/new")]
    );
    assert_eq!(
        load("raw_watch_children_changed").notifications(),
        [&event(EventType::NodeChildrenChanged, "/corral-capture")]
    );
    assert_eq!(
        load("raw_watch_persistent_recursive").notifications(),
        [&event(EventType::NodeDataChanged, "/corral-capture/child1")]
    );
}

#[test]
fn add_check_and_remove_watches() {
    let d = load("raw_addwatch");
    assert!(matches!(d.request(0), Request::AddWatch(a)
        if a.mode == AddWatchMode::PersistentRecursive as i32));
    // addWatch answers with an ErrorResponse body.
    assert_eq!(d.reply().1, &Reply::AddWatch(ErrorResponse { err: 0 }));
    let d = load("zkcli_addWatch");
    assert!(matches!(d.request(0), Request::AddWatch(a)
        if a.mode == AddWatchMode::PersistentRecursive as i32));
    assert_eq!(d.reply().1, &Reply::AddWatch(ErrorResponse { err: 0 }));
    let d = load("raw_addwatch_persistent");
    assert!(matches!(d.request(0), Request::AddWatch(a) if a.mode == 0));

    assert_eq!(load("raw_check_watches").reply().0.err, 0);
    assert_eq!(
        load("raw_check_watches_none").reply().0.err,
        err(ErrorCode::NoWatcher)
    );
    let d = load("raw_remove_watches");
    assert!(matches!(d.request(1), Request::RemoveWatches(r)
        if r.watcher_type == WatcherType::Data as i32));
    assert_eq!(d.reply().0.err, 0);
}

#[test]
fn set_watches_fires_missed_events_before_its_reply() {
    let f = fixtures::load("raw_setwatches");
    let d = decode_fixture(&f);
    let Request::SetWatches(s) = d.request(0) else {
        panic!()
    };
    assert_eq!(d.requests[0].0.xid, xid::SET_WATCHES);
    assert_eq!(s.relative_zxid, 0);
    assert_eq!(s.data_watches, ["/corral-capture"]);
    // ZooKeeper sends the triggered notifications first, then the reply.
    let xids: Vec<i32> = d.replies.iter().map(|(_, h, _)| h.xid).collect();
    assert_eq!(xids, [-1, -1, xid::SET_WATCHES]);
    assert_eq!(
        d.notifications(),
        [
            &event(EventType::NodeDataChanged, "/corral-capture"),
            &event(EventType::NodeChildrenChanged, "/corral-capture"),
        ]
    );
    assert_eq!(d.reply().1, &Reply::Empty);

    let d = load("raw_setwatches2");
    let Request::SetWatches2(s) = d.request(0) else {
        panic!()
    };
    assert!(s.relative_zxid > 0);
    assert_eq!(s.persistent_watches, ["/corral-container"]);
    assert_eq!(s.persistent_recursive_watches, ["/corral-ttl"]);
    assert_eq!(d.reply().0.xid, xid::SET_WATCHES);
    assert_eq!(d.reply().0.err, 0);
    assert!(d.notifications().is_empty());
}

// -- session-level packets -------------------------------------------------------

#[test]
fn ping() {
    let d = load("raw_ping");
    assert_eq!(
        d.requests[0],
        (
            RequestHeader {
                xid: -2,
                op_type: 11
            },
            Request::Ping
        )
    );
    let (h, r) = d.reply();
    assert_eq!((h.xid, h.err), (xid::PING, 0));
    assert!(h.zxid > 0, "a ping reply carries the last zxid");
    assert_eq!(r, &Reply::Empty);
}

#[test]
fn auth() {
    let d = load("raw_auth_digest");
    assert_eq!(d.requests[0].0.xid, xid::AUTH);
    assert_eq!(
        d.request(0),
        &Request::Auth(AuthPacket {
            auth_type: 0,
            scheme: "digest".into(),
            auth: b"alice:secret".to_vec(),
        })
    );
    let (h, r) = d.reply();
    assert_eq!((h.xid, h.zxid, h.err), (xid::AUTH, 0, 0));
    assert_eq!(r, &Reply::Empty);

    let d = load("kazoo_auth");
    assert!(matches!(d.request(0), Request::Auth(a) if a.auth == b"bob:pw"));

    // An unknown scheme: AuthFailed, then the server closes the connection.
    let f = fixtures::load("raw_auth_failed");
    let d = decode_fixture(&f);
    let (h, _) = d.reply();
    assert_eq!(
        (h.xid, h.zxid, h.err),
        (xid::AUTH, 0, err(ErrorCode::AuthFailed))
    );
    assert_eq!(f.server().count(), 1);
}

#[test]
fn who_am_i() {
    let d = load("raw_whoami");
    assert_eq!(d.request(0), &Request::WhoAmI);
    let info = |s: &str, u: &str| ClientInfo {
        auth_scheme: s.into(),
        user: u.into(),
    };
    assert_eq!(
        d.reply().1,
        &Reply::WhoAmI(WhoAmIResponse {
            client_info: vec![info("digest", "alice"), info("ip", "127.0.0.1")],
        })
    );
    assert_eq!(
        load("zkcli_whoAmI").reply().1,
        &Reply::WhoAmI(WhoAmIResponse {
            client_info: vec![info("ip", "127.0.0.1")],
        })
    );
}

#[test]
fn close_session() {
    for name in [
        "raw_close_session",
        "raw_close_session_old_client",
        "kazoo_closeSession",
    ] {
        let f = fixtures::load(name);
        let d = decode_fixture(&f);
        assert_eq!(d.request(0), &Request::CloseSession, "{name}");
        let (h, r) = d.reply();
        assert_eq!(h.err, 0, "{name}");
        assert!(h.zxid > 0, "{name}: closeSession is a txn");
        assert_eq!(r, &Reply::Empty, "{name}");
        assert_eq!(f.client().next().unwrap().len(), 12, "{name}");
    }
}
