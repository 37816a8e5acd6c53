//! Sample values: one of every `Request` variant, `MultiOp` and
//! `MultiResult`, with non-default fields so that a field dropped or swapped
//! by the codec shows.

use corral_protocol::*;

pub fn stat(seed: i64) -> Stat {
    Stat {
        czxid: seed + 1,
        mzxid: seed + 2,
        ctime: 1_700_000_000_000 + seed,
        mtime: 1_700_000_000_001 + seed,
        version: 3,
        cversion: -4,
        aversion: 5,
        ephemeral_owner: 0x0123_4567_89ab_cdef,
        data_length: 6,
        num_children: 7,
        pzxid: seed + 8,
    }
}

pub fn acls() -> Vec<Acl> {
    vec![
        Acl::new(perms::ALL, Id::anyone()),
        Acl::new(
            perms::READ | perms::ADMIN,
            Id::new("digest", "alice:o2f1ViU1a7VxzaYnSxVi7Rkn/Ng="),
        ),
        Acl::new(perms::WRITE, Id::new("ip", "10.0.0.0/8")),
    ]
}

pub fn create(path: &str, data: Option<&[u8]>, flags: i32) -> CreateRequest {
    CreateRequest {
        path: path.into(),
        data: data.map(<[u8]>::to_vec),
        acl: acls(),
        flags,
    }
}

pub fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

/// Every `MultiOp` variant (and every create opcode it can carry).
pub fn multi_write_ops() -> Vec<MultiOp> {
    vec![
        MultiOp::Create(OpCode::Create, create("/a", Some(b"x"), 0)),
        MultiOp::Create(OpCode::Create2, create("/b", None, 3)),
        MultiOp::Create(OpCode::CreateContainer, create("/c", Some(b""), 4)),
        MultiOp::CreateTtl(CreateTtlRequest {
            path: "/t".into(),
            data: Some(b"ttl".to_vec()),
            acl: acls(),
            flags: 5,
            ttl: 60_000,
        }),
        MultiOp::Delete(DeleteRequest {
            path: "/d".into(),
            version: -1,
        }),
        MultiOp::SetData(SetDataRequest {
            path: "/e".into(),
            data: Some(vec![0, 1, 2, 255]),
            version: 9,
        }),
        MultiOp::Check(CheckVersionRequest {
            path: "/f".into(),
            version: 2,
        }),
    ]
}

pub fn multi_read_ops() -> Vec<MultiOp> {
    vec![
        MultiOp::GetChildren(GetChildrenRequest {
            path: "/g".into(),
            watch: false,
        }),
        MultiOp::GetData(GetDataRequest {
            path: "/h".into(),
            watch: true,
        }),
    ]
}

/// Every `Request` variant.
pub fn requests() -> Vec<Request> {
    let ttl = CreateTtlRequest {
        path: "/ttl".into(),
        data: Some(b"t".to_vec()),
        acl: acls(),
        flags: 6,
        ttl: 1234,
    };
    vec![
        Request::Create(create("/create", Some(b"data"), 0)),
        Request::Create2(create("/create2", None, 1)),
        Request::CreateContainer(create("/container", Some(b""), 4)),
        Request::CreateTtl(ttl),
        Request::Delete(DeleteRequest {
            path: "/del".into(),
            version: 3,
        }),
        Request::Exists(ExistsRequest {
            path: "/exists".into(),
            watch: true,
        }),
        Request::GetData(GetDataRequest {
            path: "/get".into(),
            watch: false,
        }),
        Request::SetData(SetDataRequest {
            path: "/set".into(),
            data: Some("héllo".as_bytes().to_vec()),
            version: -1,
        }),
        Request::GetAcl(GetAclRequest {
            path: "/getacl".into(),
        }),
        Request::SetAcl(SetAclRequest {
            path: "/setacl".into(),
            acl: acls(),
            version: 2,
        }),
        Request::GetChildren(GetChildrenRequest {
            path: "/kids".into(),
            watch: true,
        }),
        Request::GetChildren2(GetChildrenRequest {
            path: "/kids2".into(),
            watch: false,
        }),
        Request::Sync(SyncRequest {
            path: "/sync".into(),
        }),
        Request::Ping,
        Request::Check(CheckVersionRequest {
            path: "/check".into(),
            version: 7,
        }),
        Request::Multi(multi_write_ops()),
        Request::MultiRead(multi_read_ops()),
        Request::Reconfig(ReconfigRequest {
            joining_servers: "server.4=127.0.0.1:2888:3888;2181".into(),
            leaving_servers: "1".into(),
            new_members: String::new(),
            cur_config_id: -1,
        }),
        Request::CheckWatches(CheckWatchesRequest {
            path: "/cw".into(),
            watcher_type: WatcherType::Data as i32,
        }),
        Request::RemoveWatches(RemoveWatchesRequest {
            path: "/rw".into(),
            watcher_type: WatcherType::Any as i32,
        }),
        Request::Auth(AuthPacket {
            auth_type: 0,
            scheme: "digest".into(),
            auth: b"alice:secret".to_vec(),
        }),
        Request::SetWatches(SetWatches {
            relative_zxid: 0x1234,
            data_watches: strings(&["/a", "/b"]),
            exist_watches: strings(&["/c"]),
            child_watches: vec![],
        }),
        Request::SetWatches2(SetWatches2 {
            relative_zxid: 0x5678,
            data_watches: strings(&["/a"]),
            exist_watches: vec![],
            child_watches: strings(&["/b", "/c"]),
            persistent_watches: strings(&["/p"]),
            persistent_recursive_watches: strings(&["/r", "/r/s"]),
        }),
        Request::Sasl(GetSaslRequest {
            token: vec![0x60, 0x82, 0x01],
        }),
        Request::GetEphemerals(GetEphemeralsRequest {
            prefix_path: "/eph".into(),
        }),
        Request::GetAllChildrenNumber(GetAllChildrenNumberRequest {
            path: "/all".into(),
        }),
        Request::AddWatch(AddWatchRequest {
            path: "/aw".into(),
            mode: AddWatchMode::PersistentRecursive as i32,
        }),
        Request::WhoAmI,
        Request::CloseSession,
    ]
}

/// A number per `Request` variant; the match has no wildcard so a new
/// variant without a sample fails to compile here.
pub fn request_variant(r: &Request) -> usize {
    match r {
        Request::Create(_) => 0,
        Request::Create2(_) => 1,
        Request::CreateContainer(_) => 2,
        Request::CreateTtl(_) => 3,
        Request::Delete(_) => 4,
        Request::Exists(_) => 5,
        Request::GetData(_) => 6,
        Request::SetData(_) => 7,
        Request::GetAcl(_) => 8,
        Request::SetAcl(_) => 9,
        Request::GetChildren(_) => 10,
        Request::GetChildren2(_) => 11,
        Request::Sync(_) => 12,
        Request::Ping => 13,
        Request::Check(_) => 14,
        Request::Multi(_) => 15,
        Request::MultiRead(_) => 16,
        Request::Reconfig(_) => 17,
        Request::CheckWatches(_) => 18,
        Request::RemoveWatches(_) => 19,
        Request::Auth(_) => 20,
        Request::SetWatches(_) => 21,
        Request::SetWatches2(_) => 22,
        Request::Sasl(_) => 23,
        Request::GetEphemerals(_) => 24,
        Request::GetAllChildrenNumber(_) => 25,
        Request::AddWatch(_) => 26,
        Request::WhoAmI => 27,
        Request::CloseSession => 28,
    }
}
pub const REQUEST_VARIANTS: usize = 29;

/// Every `MultiResult` variant in its canonical (decodable-as-is) form.
pub fn multi_results() -> Vec<MultiResult> {
    vec![
        MultiResult::Create {
            op: OpCode::Create,
            path: "/a".into(),
            stat: Stat::default(),
        },
        MultiResult::Create {
            op: OpCode::Create2,
            path: "/b".into(),
            stat: stat(10),
        },
        MultiResult::Delete,
        MultiResult::Check,
        MultiResult::SetData(stat(20)),
        MultiResult::GetChildren(strings(&["x", "y", "z"])),
        MultiResult::GetData {
            data: Some(b"payload".to_vec()),
            stat: stat(30),
        },
        MultiResult::GetData {
            data: None,
            stat: stat(40),
        },
        MultiResult::Error(ErrorCode::Ok.code()),
        MultiResult::Error(ErrorCode::BadVersion.code()),
        MultiResult::Error(ErrorCode::RuntimeInconsistency.code()),
    ]
}

pub fn multi_result_variant(r: &MultiResult) -> usize {
    match r {
        MultiResult::Create { .. } => 0,
        MultiResult::Delete => 1,
        MultiResult::Check => 2,
        MultiResult::SetData(_) => 3,
        MultiResult::GetChildren(_) => 4,
        MultiResult::GetData { .. } => 5,
        MultiResult::Error(_) => 6,
    }
}
pub const MULTI_RESULT_VARIANTS: usize = 7;

pub fn multi_op_variant(op: &MultiOp) -> usize {
    match op {
        MultiOp::Create(..) => 0,
        MultiOp::CreateTtl(_) => 1,
        MultiOp::Delete(_) => 2,
        MultiOp::SetData(_) => 3,
        MultiOp::Check(_) => 4,
        MultiOp::GetChildren(_) => 5,
        MultiOp::GetData(_) => 6,
    }
}
pub const MULTI_OP_VARIANTS: usize = 7;
