//! The state machine's semantics, txn by txn: Stat bookkeeping, sequence
//! numbers, multi atomicity, ACLs, sessions and containers.

use corral_protocol::multi::decode_multi_results;
use corral_protocol::*;
use corral_server::apply::{apply, ApplyConfig};
use corral_server::auth::digest;
use corral_server::tree::{Change, DataTree};
use corral_server::txn::{Txn, TxnOp, TxnOutcome};

const SESSION: i64 = 0x100;

struct Fixture {
    tree: DataTree,
    zxid: i64,
    changes: Vec<Change>,
    config: ApplyConfig,
}

impl Fixture {
    fn new() -> Fixture {
        let mut f = Fixture {
            tree: DataTree::new(),
            zxid: 0,
            changes: Vec::new(),
            config: ApplyConfig {
                extended_types: true,
            },
        };
        f.run_as(
            SESSION,
            vec![],
            TxnOp::CreateSession {
                session_id: SESSION,
                timeout_ms: 10_000,
                passwd: vec![1; 16],
            },
        );
        f
    }

    fn run_as(&mut self, session_id: i64, auth: Vec<Id>, op: TxnOp) -> TxnOutcome {
        self.zxid += 1;
        let txn = Txn {
            session_id,
            time: 1000 + self.zxid,
            auth,
            op,
        };
        self.changes.clear();
        apply(
            &mut self.tree,
            self.zxid,
            &txn,
            self.config,
            &mut self.changes,
        )
    }

    fn run(&mut self, op: TxnOp) -> TxnOutcome {
        self.run_as(SESSION, vec![], op)
    }

    fn create(&mut self, path: &str, flags: i32) -> Result<String, ErrorCode> {
        let out = self.run(TxnOp::Single(MultiOp::Create(
            OpCode::Create,
            CreateRequest {
                path: path.into(),
                data: Some(b"v".to_vec()),
                acl: Acl::open_unsafe(),
                flags,
            },
        )));
        match out.err {
            Some(e) => Err(e),
            None => Ok(CreateResponse::from_bytes(&out.body).unwrap().path),
        }
    }

    fn stat(&self, path: &str) -> Stat {
        self.tree.get(path).expect(path).stat()
    }
}

fn delete(path: &str, version: i32) -> MultiOp {
    MultiOp::Delete(DeleteRequest {
        path: path.into(),
        version,
    })
}

#[test]
fn create_sets_stat_and_parent_counters() {
    let mut f = Fixture::new();
    f.create("/a", 0).unwrap();
    let a = f.stat("/a");
    assert_eq!((a.czxid, a.mzxid, a.pzxid), (f.zxid, f.zxid, f.zxid));
    assert_eq!((a.version, a.cversion, a.data_length), (0, 0, 1));
    f.create("/a/b", 0).unwrap();
    let a = f.stat("/a");
    assert_eq!((a.cversion, a.num_children, a.pzxid), (1, 1, f.zxid));
    assert_eq!(
        a.mzxid, a.czxid,
        "children do not change the parent's mzxid"
    );
    assert_eq!(f.create("/a/b", 0), Err(ErrorCode::NodeExists));
    assert_eq!(f.create("/x/y", 0), Err(ErrorCode::NoNode));
    assert_eq!(f.create("/a/", 0), Err(ErrorCode::BadArguments));
    assert_eq!(f.create("/a", 9), Err(ErrorCode::BadArguments));
}

#[test]
fn sequence_numbers_come_from_parent_cversion() {
    let mut f = Fixture::new();
    f.create("/q", 0).unwrap();
    assert_eq!(f.create("/q/n-", 2).unwrap(), "/q/n-0000000000");
    f.run(TxnOp::Single(delete("/q/n-0000000000", -1)));
    assert_eq!(
        f.stat("/q").cversion,
        2,
        "clients see creations and deletions"
    );
    assert_eq!(f.create("/q/n-", 2).unwrap(), "/q/n-0000000001");
    assert_eq!(f.create("/q/", 2).unwrap(), "/q/0000000002");
    assert_eq!(f.stat("/q").cversion, 4);
}

#[test]
fn ephemerals_belong_to_their_session_and_cannot_have_children() {
    let mut f = Fixture::new();
    f.create("/e", 1).unwrap();
    assert_eq!(f.stat("/e").ephemeral_owner, SESSION);
    assert_eq!(f.create("/e/c", 0), Err(ErrorCode::NoChildrenForEphemerals));
    f.run(TxnOp::CloseSession { expired: true });
    assert!(f.tree.get("/e").is_none());
    assert!(f
        .changes
        .iter()
        .any(|c| c.path == "/e" && c.event == EventType::NodeDeleted));
    let out = f.run(TxnOp::Single(MultiOp::Check(CheckVersionRequest {
        path: "/".into(),
        version: -1,
    })));
    assert_eq!(out.err, Some(ErrorCode::SessionExpired));
}

#[test]
fn delete_checks_version_and_emptiness() {
    let mut f = Fixture::new();
    f.create("/d", 0).unwrap();
    f.create("/d/c", 0).unwrap();
    assert_eq!(
        f.run(TxnOp::Single(delete("/d", -1))).err,
        Some(ErrorCode::NotEmpty)
    );
    assert_eq!(
        f.run(TxnOp::Single(delete("/d/c", 3))).err,
        Some(ErrorCode::BadVersion)
    );
    assert_eq!(f.run(TxnOp::Single(delete("/d/c", 0))).err, None);
    assert_eq!(
        f.run(TxnOp::Single(delete("/zookeeper", -1))).err,
        Some(ErrorCode::BadArguments)
    );
}

#[test]
fn failed_multi_changes_nothing_and_reports_each_op() {
    let mut f = Fixture::new();
    f.create("/m", 0).unwrap();
    let before = f.stat("/m");
    let ops = vec![
        MultiOp::Create(
            OpCode::Create,
            CreateRequest {
                path: "/m/new".into(),
                data: None,
                acl: Acl::open_unsafe(),
                flags: 0,
            },
        ),
        MultiOp::SetData(SetDataRequest {
            path: "/m".into(),
            data: Some(b"changed".to_vec()),
            version: -1,
        }),
        delete("/missing", -1),
        delete("/m", -1),
    ];
    let out = f.run(TxnOp::Multi(ops));
    assert_eq!(
        out.err, None,
        "a failed multi still replies OK in the header"
    );
    let results = decode_multi_results(&mut Reader::new(&out.body)).unwrap();
    assert_eq!(
        results,
        vec![
            MultiResult::Error(0),
            MultiResult::Error(0),
            MultiResult::Error(ErrorCode::NoNode.code()),
            MultiResult::Error(ErrorCode::RuntimeInconsistency.code()),
        ]
    );
    assert!(f.tree.get("/m/new").is_none());
    assert_eq!(f.stat("/m"), before, "stat restored exactly");
    assert_eq!(f.tree.get("/m").unwrap().data.as_deref(), Some(&b"v"[..]));
    assert!(f.changes.is_empty(), "no watch fires for a failed multi");
}

#[test]
fn successful_multi_sees_its_own_earlier_ops() {
    let mut f = Fixture::new();
    let ops = vec![
        MultiOp::Create(
            OpCode::Create2,
            CreateRequest {
                path: "/p".into(),
                data: None,
                acl: Acl::open_unsafe(),
                flags: 0,
            },
        ),
        MultiOp::Create(
            OpCode::Create,
            CreateRequest {
                path: "/p/s-".into(),
                data: None,
                acl: Acl::open_unsafe(),
                flags: 2,
            },
        ),
        MultiOp::Check(CheckVersionRequest {
            path: "/p".into(),
            version: 0,
        }),
    ];
    let out = f.run(TxnOp::Multi(ops));
    let results = decode_multi_results(&mut Reader::new(&out.body)).unwrap();
    assert!(matches!(&results[1], MultiResult::Create { path, .. } if path == "/p/s-0000000000"));
    assert_eq!(results[2], MultiResult::Check);
    assert!(
        matches!(
            &results[0],
            MultiResult::Create {
                op: OpCode::Create,
                ..
            }
        ),
        "ZooKeeper answers a create2 op inside a multi with a create result"
    );
    assert_eq!(f.stat("/p").czxid, f.stat("/p/s-0000000000").czxid);
}

#[test]
fn acls_are_enforced_and_auth_scheme_expands() {
    let mut f = Fixture::new();
    let me = Id::new("digest", &digest("user:secret"));
    let out = f.run_as(
        SESSION,
        vec![me.clone()],
        TxnOp::Single(MultiOp::Create(
            OpCode::Create,
            CreateRequest {
                path: "/secure".into(),
                data: None,
                acl: Acl::creator_all(),
                flags: 0,
            },
        )),
    );
    assert_eq!(out.err, None);
    assert_eq!(
        *f.tree.get("/secure").unwrap().acl,
        vec![Acl::new(perms::ALL, me.clone())]
    );
    let set = |version| {
        TxnOp::Single(MultiOp::SetData(SetDataRequest {
            path: "/secure".into(),
            data: None,
            version,
        }))
    };
    assert_eq!(f.run(set(-1)).err, Some(ErrorCode::NoAuth));
    assert_eq!(f.run_as(SESSION, vec![me], set(-1)).err, None);
    assert_eq!(
        f.run_as(SESSION, vec![Id::new("super", "")], set(-1)).err,
        None
    );
    let no_auth_create = f.run(TxnOp::Single(MultiOp::Create(
        OpCode::Create,
        CreateRequest {
            path: "/x".into(),
            data: None,
            acl: Acl::creator_all(),
            flags: 0,
        },
    )));
    assert_eq!(no_auth_create.err, Some(ErrorCode::InvalidAcl));
}

#[test]
fn containers_and_ttl_nodes_carry_zookeepers_owner_markers() {
    let mut f = Fixture::new();
    f.create("/c", 4).unwrap();
    let owner = |f: &Fixture, p: &str| f.tree.get(p).unwrap().stat.ephemeral_owner;
    assert_eq!(owner(&f, "/c"), i64::MIN);
    assert_eq!(f.stat("/c").ephemeral_owner, 0, "clients see no owner");
    let out = f.run(TxnOp::Single(MultiOp::CreateTtl(CreateTtlRequest {
        path: "/t".into(),
        data: None,
        acl: Acl::open_unsafe(),
        flags: 5,
        ttl: 500,
    })));
    assert_eq!(out.err, None);
    assert_eq!(owner(&f, "/t") as u64, 0xFF00_0000_0000_01F4);
    assert_eq!(
        f.create("/t2", 5),
        Err(ErrorCode::BadArguments),
        "TTL mode needs a ttl"
    );
    f.config.extended_types = false;
    let out = f.run(TxnOp::Single(MultiOp::CreateTtl(CreateTtlRequest {
        path: "/t3".into(),
        data: None,
        acl: Acl::open_unsafe(),
        flags: 5,
        ttl: 500,
    })));
    assert_eq!(out.err, Some(ErrorCode::Unimplemented));
    assert_eq!(
        f.run(TxnOp::DeleteContainer("/c".into())).err,
        None,
        "an empty container can be reaped"
    );
}
