//! Round trips of every record, `Request`, `MultiOp` and `MultiResult`;
//! null buffers, strings and vectors; the 44/45-byte connect forms; every
//! truncation of a valid encoding fails cleanly; hostile vector counts fail
//! without allocating.

mod common;

use common::samples;
use corral_protocol::jute::{Decode, Encode, Reader, Writer};
use corral_protocol::multi::{
    decode_multi_ops, decode_multi_results, encode_multi_ops, encode_multi_results,
};
use corral_protocol::*;
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::fmt::Debug;
use std::time::{Duration, Instant};

// -- a per-thread allocation counter -------------------------------------------

struct Counting;

thread_local! {
    static ALLOCATED: Cell<usize> = const { Cell::new(0) };
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATED.with(|a| a.set(a.get() + layout.size()));
        System.alloc(layout)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATED.with(|a| a.set(a.get() + new_size));
        System.realloc(ptr, layout, new_size)
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Bytes allocated by this thread while running `f`.
fn allocated_by<R>(f: impl FnOnce() -> R) -> (R, usize) {
    let before = ALLOCATED.with(Cell::get);
    let r = f();
    (r, ALLOCATED.with(Cell::get) - before)
}

// -- helpers -------------------------------------------------------------------------

/// Encodes, decodes back to the same value with nothing left over, and
/// checks that every strict prefix and one extra byte are errors.
fn roundtrip<T: Encode + Decode + PartialEq + Debug>(v: &T) -> Vec<u8> {
    let bytes = v.to_bytes();
    assert_eq!(&T::from_bytes(&bytes).expect("decode"), v);
    for n in 0..bytes.len() {
        assert!(
            T::from_bytes(&bytes[..n]).is_err(),
            "{v:?}: prefix of {n}/{} bytes decoded",
            bytes.len()
        );
    }
    let mut longer = bytes.clone();
    longer.push(0);
    assert_eq!(T::from_bytes(&longer), Err(DecodeError::TrailingBytes(1)));
    bytes
}

fn be32(v: i32) -> [u8; 4] {
    v.to_be_bytes()
}

fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

// -- records ---------------------------------------------------------------------------

#[test]
fn every_record_roundtrips() {
    let stat = samples::stat(100);
    let acl = samples::acls();
    let s = samples::strings;
    roundtrip(&Id::new("digest", "bob:x"));
    roundtrip(&acl[1]);
    roundtrip(&stat);
    roundtrip(&ClientInfo {
        auth_scheme: "ip".into(),
        user: "127.0.0.1".into(),
    });
    roundtrip(&ConnectRequestBody {
        protocol_version: 0,
        last_zxid_seen: 77,
        time_out: 30000,
        session_id: 0x0100_0008_e000_0001,
        passwd: vec![7; 16],
    });
    roundtrip(&ConnectResponseBody {
        protocol_version: 0,
        time_out: 4000,
        session_id: -5,
        passwd: vec![9; 16],
    });
    roundtrip(&SetWatches {
        relative_zxid: 12,
        data_watches: s(&["/a"]),
        exist_watches: s(&["/b", "/c"]),
        child_watches: s(&["/d"]),
    });
    roundtrip(&SetWatches2 {
        relative_zxid: 13,
        data_watches: s(&["/a"]),
        exist_watches: s(&[]),
        child_watches: s(&["/d"]),
        persistent_watches: s(&["/p"]),
        persistent_recursive_watches: s(&["/r", ""]),
    });
    roundtrip(&RequestHeader { xid: 5, op_type: 4 });
    roundtrip(&MultiHeader {
        op_type: 13,
        done: false,
        err: -1,
    });
    roundtrip(&AuthPacket {
        auth_type: 0,
        scheme: "digest".into(),
        auth: b"u:p".to_vec(),
    });
    roundtrip(&ReplyHeader {
        xid: -1,
        zxid: -1,
        err: 0,
    });
    roundtrip(&GetDataRequest {
        path: "/x".into(),
        watch: true,
    });
    roundtrip(&SetDataRequest {
        path: "/x".into(),
        data: Some(b"d".to_vec()),
        version: 1,
    });
    roundtrip(&ReconfigRequest {
        joining_servers: "a".into(),
        leaving_servers: "b".into(),
        new_members: "c".into(),
        cur_config_id: 4,
    });
    roundtrip(&SetDataResponse { stat: stat.clone() });
    roundtrip(&GetSaslRequest { token: vec![1, 2] });
    roundtrip(&SetSaslResponse { token: vec![3] });
    roundtrip(&samples::create("/c", Some(b"v"), 2));
    roundtrip(&CreateTtlRequest {
        path: "/t".into(),
        data: None,
        acl: acl.clone(),
        flags: 5,
        ttl: i64::MAX,
    });
    roundtrip(&DeleteRequest {
        path: "/d".into(),
        version: -1,
    });
    roundtrip(&GetChildrenRequest {
        path: "/g".into(),
        watch: false,
    });
    roundtrip(&GetAllChildrenNumberRequest { path: "/n".into() });
    roundtrip(&CheckVersionRequest {
        path: "/v".into(),
        version: 3,
    });
    roundtrip(&SyncRequest { path: "/s".into() });
    roundtrip(&SyncResponse { path: "/s".into() });
    roundtrip(&GetAclRequest { path: "/a".into() });
    roundtrip(&SetAclRequest {
        path: "/a".into(),
        acl: acl.clone(),
        version: 0,
    });
    roundtrip(&SetAclResponse { stat: stat.clone() });
    roundtrip(&AddWatchRequest {
        path: "/w".into(),
        mode: 1,
    });
    roundtrip(&WatcherEvent {
        event_type: EventType::NodeDeleted as i32,
        state: KeeperState::SyncConnected as i32,
        path: "/gone".into(),
    });
    roundtrip(&ErrorResponse { err: -101 });
    roundtrip(&CreateResponse { path: "/c".into() });
    roundtrip(&Create2Response {
        path: "/c".into(),
        stat: stat.clone(),
    });
    roundtrip(&ExistsRequest {
        path: "/e".into(),
        watch: true,
    });
    roundtrip(&ExistsResponse { stat: stat.clone() });
    roundtrip(&GetDataResponse {
        data: Some(vec![0xff; 300]),
        stat: stat.clone(),
    });
    roundtrip(&GetDataResponse {
        data: None,
        stat: stat.clone(),
    });
    roundtrip(&GetChildrenResponse {
        children: s(&["a", "b"]),
    });
    roundtrip(&GetAllChildrenNumberResponse { total_number: 42 });
    roundtrip(&GetChildren2Response {
        children: s(&["ü", ""]),
        stat: stat.clone(),
    });
    roundtrip(&GetAclResponse {
        acl: acl.clone(),
        stat,
    });
    roundtrip(&CheckWatchesRequest {
        path: "/cw".into(),
        watcher_type: 1,
    });
    roundtrip(&RemoveWatchesRequest {
        path: "/rw".into(),
        watcher_type: 3,
    });
    roundtrip(&GetEphemeralsRequest {
        prefix_path: "/".into(),
    });
    roundtrip(&GetEphemeralsResponse {
        ephemerals: s(&["/e1", "/e2"]),
    });
    roundtrip(&WhoAmIResponse {
        client_info: vec![
            ClientInfo {
                auth_scheme: "ip".into(),
                user: "127.0.0.1".into(),
            },
            ClientInfo {
                auth_scheme: "digest".into(),
                user: "alice".into(),
            },
        ],
    });
}

#[test]
fn stat_is_68_bytes_in_zookeepers_field_order() {
    let bytes = samples::stat(0).to_bytes();
    assert_eq!(bytes.len(), 68);
    // czxid, mzxid, ctime, mtime (i64), version, cversion, aversion (i32),
    // ephemeralOwner (i64), dataLength, numChildren (i32), pzxid (i64).
    assert_eq!(bytes[..8], 1i64.to_be_bytes());
    assert_eq!(bytes[8..16], 2i64.to_be_bytes());
    assert_eq!(bytes[32..36], 3i32.to_be_bytes());
    assert_eq!(bytes[36..40], (-4i32).to_be_bytes());
    assert_eq!(bytes[40..44], 5i32.to_be_bytes());
    assert_eq!(bytes[44..52], 0x0123_4567_89ab_cdefi64.to_be_bytes());
    assert_eq!(bytes[52..56], 6i32.to_be_bytes());
    assert_eq!(bytes[56..60], 7i32.to_be_bytes());
    assert_eq!(bytes[60..68], 8i64.to_be_bytes());
}

// -- requests ----------------------------------------------------------------------------

#[test]
fn every_request_variant_roundtrips() {
    let requests = samples::requests();
    let mut seen = [false; samples::REQUEST_VARIANTS];
    for (i, req) in requests.iter().enumerate() {
        seen[samples::request_variant(req)] = true;
        let xid = i as i32 + 1;
        let bytes = req.to_frame(xid);
        let len = check_frame(&bytes, DEFAULT_MAX_BUFFER)
            .unwrap()
            .expect("whole frame");
        assert_eq!(len + 4, bytes.len());
        let (h, back) = Request::decode_frame(&bytes[4..]).expect("decode");
        assert_eq!(
            h,
            RequestHeader {
                xid,
                op_type: req.op_code() as i32
            }
        );
        assert_eq!(&back, req);

        // The body alone, through Request::decode.
        let body = &bytes[12..];
        assert_eq!(&Request::decode(req.op_code(), body).unwrap(), req);
        // Every strict prefix of the body is an error (bodiless requests
        // have no prefix), and so is every prefix of the header.
        for n in 0..body.len() {
            assert!(
                Request::decode(req.op_code(), &body[..n]).is_err(),
                "{req:?}: body prefix {n}/{}",
                body.len()
            );
        }
        for n in 0..8 {
            assert!(Request::decode_frame(&bytes[4..4 + n]).is_err());
        }
        // Incomplete frames ask for more bytes.
        for n in 0..bytes.len() {
            assert_eq!(check_frame(&bytes[..n], DEFAULT_MAX_BUFFER), Ok(None));
        }
    }
    assert!(seen.iter().all(|s| *s), "a Request variant has no sample");
}

#[test]
fn request_decoding_ignores_trailing_bytes_like_zookeeper() {
    let req = Request::Sync(SyncRequest { path: "/x".into() });
    let mut bytes = req.to_frame(1)[4..].to_vec();
    bytes.extend_from_slice(&[1, 2, 3]);
    assert_eq!(Request::decode_frame(&bytes).unwrap().1, req);
}

#[test]
fn bad_opcodes_are_errors() {
    let frame = |op: i32| cat(&[&be32(1), &be32(op)]);
    assert_eq!(
        Request::decode_frame(&frame(10)),
        Err(DecodeError::UnknownOpCode(10))
    );
    assert_eq!(
        Request::decode_frame(&frame(999)),
        Err(DecodeError::UnknownOpCode(999))
    );
    for op in [
        OpCode::Notification,
        OpCode::DeleteContainer,
        OpCode::CreateSession,
        OpCode::Error,
    ] {
        assert_eq!(
            Request::decode_frame(&frame(op as i32)),
            Err(DecodeError::UnexpectedOpCode(op as i32))
        );
    }
    // A read inside multi, a write inside multiRead.
    let mut w = Writer::new();
    encode_multi_ops(&samples::multi_read_ops(), &mut w);
    assert!(matches!(
        Request::decode(OpCode::Multi, &w.buf),
        Err(DecodeError::BadMultiOp(_))
    ));
    let mut w = Writer::new();
    encode_multi_ops(&samples::multi_write_ops(), &mut w);
    assert!(matches!(
        Request::decode(OpCode::MultiRead, &w.buf),
        Err(DecodeError::BadMultiOp(_))
    ));
    // An op that cannot be inside a multi at all.
    let bad = cat(&[&be32(OpCode::Sync as i32), &[0], &be32(-1), &be32(0)]);
    assert_eq!(
        decode_multi_ops(&mut Reader::new(&bad)),
        Err(DecodeError::BadMultiOp(9))
    );
}

#[test]
fn every_multi_op_roundtrips() {
    let mut ops = samples::multi_write_ops();
    ops.extend(samples::multi_read_ops());
    let mut seen = [false; samples::MULTI_OP_VARIANTS];
    for op in &ops {
        seen[samples::multi_op_variant(op)] = true;
    }
    assert!(seen.iter().all(|s| *s));
    let mut w = Writer::new();
    encode_multi_ops(&ops, &mut w);
    let bytes = w.into_inner();
    // Each op header carries err -1 as the Java client writes it; the list
    // ends with {-1, done, -1}.
    assert_eq!(
        bytes[bytes.len() - 9..],
        cat(&[&be32(-1), &[1], &be32(-1)])[..]
    );
    let mut r = Reader::new(&bytes);
    assert_eq!(decode_multi_ops(&mut r).unwrap(), ops);
    assert_eq!(r.remaining(), 0);
    for n in 0..bytes.len() {
        assert!(decode_multi_ops(&mut Reader::new(&bytes[..n])).is_err());
    }
    // An empty multi is just the closing header.
    let mut w = Writer::new();
    encode_multi_ops(&[], &mut w);
    assert_eq!(w.buf.len(), 9);
    assert_eq!(decode_multi_ops(&mut Reader::new(&w.buf)).unwrap(), vec![]);
}

#[test]
fn every_multi_result_roundtrips() {
    let results = samples::multi_results();
    let mut seen = [false; samples::MULTI_RESULT_VARIANTS];
    for r in &results {
        seen[samples::multi_result_variant(r)] = true;
    }
    assert!(seen.iter().all(|s| *s));
    let mut w = Writer::new();
    encode_multi_results(&results, &mut w);
    let bytes = w.into_inner();
    let mut r = Reader::new(&bytes);
    assert_eq!(decode_multi_results(&mut r).unwrap(), results);
    assert_eq!(r.remaining(), 0);
    for n in 0..bytes.len() {
        assert!(decode_multi_results(&mut Reader::new(&bytes[..n])).is_err());
    }
    // One at a time too.
    for result in &results {
        let mut w = Writer::new();
        encode_multi_results(std::slice::from_ref(result), &mut w);
        assert_eq!(
            decode_multi_results(&mut Reader::new(&w.buf)).unwrap(),
            vec![result.clone()]
        );
    }
}

#[test]
fn multi_result_wire_shapes() {
    let enc = |r: MultiResult| {
        let mut w = Writer::new();
        encode_multi_results(&[r], &mut w);
        w.into_inner()
    };
    let end = cat(&[&be32(-1), &[1], &be32(-1)]);
    // An error result: header {-1, false, err} + ErrorResponse(err).
    assert_eq!(
        enc(MultiResult::Error(-103)),
        cat(&[&be32(-1), &[0], &be32(-103), &be32(-103), &end])
    );
    // create: path only; the stat is not sent (and decodes as default).
    let with_stat = MultiResult::Create {
        op: OpCode::Create,
        path: "/p".into(),
        stat: samples::stat(1),
    };
    let bytes = enc(with_stat);
    assert_eq!(
        bytes,
        cat(&[&be32(1), &[0], &be32(0), &be32(2), b"/p", &end])
    );
    assert_eq!(
        decode_multi_results(&mut Reader::new(&bytes)).unwrap(),
        vec![MultiResult::Create {
            op: OpCode::Create,
            path: "/p".into(),
            stat: Stat::default(),
        }]
    );
    // createContainer / createTtl results go out as create2 (op 15), as
    // ZooKeeper sends them; Java clients reject op 19/21 in a multi reply.
    for op in [OpCode::CreateContainer, OpCode::CreateTtl, OpCode::Create2] {
        let bytes = enc(MultiResult::Create {
            op,
            path: "/p".into(),
            stat: samples::stat(2),
        });
        assert_eq!(bytes[..4], be32(15));
        assert_eq!(
            decode_multi_results(&mut Reader::new(&bytes)).unwrap(),
            vec![MultiResult::Create {
                op: OpCode::Create2,
                path: "/p".into(),
                stat: samples::stat(2),
            }]
        );
    }
    // delete / check: header only.
    assert_eq!(
        enc(MultiResult::Delete),
        cat(&[&be32(2), &[0], &be32(0), &end])
    );
    assert_eq!(
        enc(MultiResult::Check),
        cat(&[&be32(13), &[0], &be32(0), &end])
    );
}

// -- nulls -------------------------------------------------------------------------------

#[test]
fn null_buffers_strings_and_vectors() {
    let null = be32(-1);
    // Nullable buffer: None <-> -1, Some(empty) <-> 0.
    assert_eq!(None::<Vec<u8>>.to_bytes(), null);
    assert_eq!(Some(Vec::<u8>::new()).to_bytes(), be32(0));
    assert_eq!(Option::<Vec<u8>>::from_bytes(&null), Ok(None));
    assert_eq!(Option::<Vec<u8>>::from_bytes(&be32(0)), Ok(Some(vec![])));
    // Plain buffer, string, vector: null reads as empty (kazoo sends the
    // `auth` id of CREATOR_ALL_ACL as a null string).
    assert_eq!(Vec::<u8>::from_bytes(&null), Ok(vec![]));
    assert_eq!(String::from_bytes(&null), Ok(String::new()));
    assert_eq!(Vec::<String>::from_bytes(&null), Ok(vec![]));
    assert_eq!(Vec::<Acl>::from_bytes(&null), Ok(vec![]));
    let mut r = Reader::new(&null);
    assert_eq!(r.read_string(), Ok(None));
    let mut r = Reader::new(&null);
    assert_eq!(r.read_buffer(), Ok(None));
    let mut r = Reader::new(&null);
    assert_eq!(r.read_count(), Ok(None));
    // Other negative lengths and counts are errors.
    for bad in [-2, i32::MIN] {
        let b = be32(bad);
        assert_eq!(
            Option::<Vec<u8>>::from_bytes(&b),
            Err(DecodeError::NegativeLength(bad))
        );
        assert_eq!(
            String::from_bytes(&b),
            Err(DecodeError::NegativeLength(bad))
        );
        assert_eq!(
            Vec::<String>::from_bytes(&b),
            Err(DecodeError::NegativeLength(bad))
        );
    }
    // Records with null data and a null ACL vector decode; a null path
    // does not.
    let create = cat(&[&be32(2), b"/a", &null, &null, &be32(0)]);
    assert_eq!(
        CreateRequest::from_bytes(&create),
        Ok(CreateRequest {
            path: "/a".into(),
            data: None,
            acl: vec![],
            flags: 0,
        })
    );
    // A request with a null path is an error (ZooKeeper: MARSHALLINGERROR).
    let null_path = cat(&[&null, &null, &null, &be32(0)]);
    assert_eq!(
        Request::decode(OpCode::Create, &null_path),
        Err(DecodeError::NullString)
    );
    let auth_acl = cat(&[&be32(1), &be32(31), &be32(4), b"auth", &null]);
    assert_eq!(
        Vec::<Acl>::from_bytes(&auth_acl),
        Ok(vec![Acl::new(31, Id::new("auth", ""))])
    );
    let reply = cat(&[&null, &samples::stat(0).to_bytes()]);
    assert_eq!(
        GetDataResponse::from_bytes(&reply).unwrap().data,
        None,
        "getData of a node with null data"
    );
    let children = cat(&[&null, &samples::stat(0).to_bytes()]);
    assert!(GetChildren2Response::from_bytes(&children)
        .unwrap()
        .children
        .is_empty());
    // Invalid UTF-8 in a string is an error, not a panic or lossy text.
    let bad = cat(&[&be32(2), &[0xc3, 0x28]]);
    assert_eq!(String::from_bytes(&bad), Err(DecodeError::InvalidUtf8));
    // Booleans: any non-zero byte is true.
    assert_eq!(bool::from_bytes(&[2]), Ok(true));
}

// -- connect -------------------------------------------------------------------------------

fn encode_connect(c: &ConnectRequest) -> Vec<u8> {
    let mut w = Writer::new();
    c.encode(&mut w);
    w.into_inner()
}

#[test]
fn connect_request_44_and_45_bytes() {
    // What the classic Java client (and kazoo) send for a new session:
    // protocolVersion(4) + lastZxidSeen(8) + timeOut(4) + sessionId(8) +
    // passwd(4 + 16 zero bytes) = 44, + readOnly(1) = 45.
    let new_client = ConnectRequest {
        protocol_version: 0,
        last_zxid_seen: 0,
        time_out: 30000,
        session_id: 0,
        passwd: vec![0; 16],
        read_only: Some(false),
    };
    let bytes = encode_connect(&new_client);
    assert_eq!(bytes.len(), 45);
    let mut expected = vec![0u8; 45];
    expected[12..16].copy_from_slice(&30000i32.to_be_bytes());
    expected[24..28].copy_from_slice(&16i32.to_be_bytes());
    assert_eq!(bytes, expected);
    assert_eq!(ConnectRequest::decode(&bytes).unwrap(), new_client);

    let old_client = ConnectRequest {
        read_only: None,
        ..new_client.clone()
    };
    let bytes = encode_connect(&old_client);
    assert_eq!(bytes.len(), 44);
    assert_eq!(bytes, expected[..44]);
    assert_eq!(ConnectRequest::decode(&bytes).unwrap(), old_client);

    // The 44-byte prefix of a 45-byte request *is* the old form; anything
    // shorter is an error, and so is more than one extra byte.
    let long = encode_connect(&new_client);
    for n in 0..44 {
        assert!(ConnectRequest::decode(&long[..n]).is_err(), "prefix {n}");
    }
    assert_eq!(ConnectRequest::decode(&long[..44]).unwrap(), old_client);
    let mut extra = long.clone();
    extra.extend_from_slice(&[0, 0]);
    assert_eq!(
        ConnectRequest::decode(&extra),
        Err(DecodeError::TrailingBytes(3))
    );

    // readOnly = true, resumed session with a real password.
    let resume = ConnectRequest {
        protocol_version: 0,
        last_zxid_seen: 0x1b,
        time_out: 10000,
        session_id: 0x0100_0008_e000_0004,
        passwd: (1..=16).collect(),
        read_only: Some(true),
    };
    let bytes = encode_connect(&resume);
    assert_eq!(bytes.len(), 45);
    assert_eq!(bytes[44], 1);
    assert_eq!(ConnectRequest::decode(&bytes).unwrap(), resume);

    // An empty password: 28 / 29 bytes.
    let empty = ConnectRequest {
        passwd: vec![],
        ..new_client.clone()
    };
    assert_eq!(encode_connect(&empty).len(), 29);
    assert_eq!(
        encode_connect(&ConnectRequest {
            read_only: None,
            ..empty.clone()
        })
        .len(),
        28
    );
    assert_eq!(
        ConnectRequest::decode(&encode_connect(&empty)).unwrap(),
        empty
    );
    // A null password reads as empty.
    let mut null_pw = encode_connect(&empty);
    null_pw[24..28].copy_from_slice(&be32(-1));
    assert_eq!(
        ConnectRequest::decode(&null_pw).unwrap().passwd,
        vec![0u8; 0]
    );
}

#[test]
fn connect_response_36_and_37_bytes() {
    let rsp = ConnectResponse {
        protocol_version: 0,
        time_out: 30000,
        session_id: 0x0100_0008_e000_0001,
        passwd: vec![0xab; 16],
        read_only: Some(false),
    };
    let mut w = Writer::new();
    rsp.encode(&mut w);
    assert_eq!(w.buf.len(), 37);
    assert_eq!(ConnectResponse::decode(&w.buf).unwrap(), rsp);
    let old = ConnectResponse {
        read_only: None,
        ..rsp.clone()
    };
    let mut w = Writer::new();
    old.encode(&mut w);
    assert_eq!(w.buf.len(), 36);
    assert_eq!(ConnectResponse::decode(&w.buf).unwrap(), old);
    for n in 0..36 {
        assert!(ConnectResponse::decode(&w.buf[..n]).is_err());
    }
}

// -- framing ----------------------------------------------------------------------------------

#[test]
fn framing() {
    assert_eq!(frame(b"abc"), cat(&[&be32(3), b"abc"]));
    assert_eq!(check_frame(&[], 100), Ok(None));
    assert_eq!(check_frame(&[0, 0, 0], 100), Ok(None));
    assert_eq!(check_frame(&be32(0), 100), Ok(Some(0)));
    assert_eq!(check_frame(&cat(&[&be32(3), b"ab"]), 100), Ok(None));
    assert_eq!(check_frame(&cat(&[&be32(3), b"abcd"]), 100), Ok(Some(3)));
    assert_eq!(check_frame(&be32(100), 100), Ok(None));
    assert!(matches!(
        check_frame(&be32(101), 100),
        Err(DecodeError::FrameTooLarge { len: 101, max: 100 })
    ));
    assert!(matches!(
        check_frame(&be32(-1), 100),
        Err(DecodeError::FrameTooLarge { len: -1, .. })
    ));
    assert!(check_frame(&be32(i32::MIN), usize::MAX).is_err());
    // The default jute.maxbuffer.
    assert!(check_frame(&be32(0xfffff), DEFAULT_MAX_BUFFER).is_ok());
    assert!(check_frame(&be32(0x100000), DEFAULT_MAX_BUFFER).is_err());
}

// -- hostile input ---------------------------------------------------------------------------

#[test]
fn hostile_vector_counts_fail_fast_without_allocating() {
    let huge = cat(&[&be32(0x7fff_ffff), &[b'a'; 10]]);
    let start = Instant::now();
    let (r, bytes) = allocated_by(|| Vec::<String>::from_bytes(&huge));
    assert!(matches!(r, Err(DecodeError::UnexpectedEof { .. })), "{r:?}");
    assert_eq!(bytes, 0, "allocated {bytes} bytes for a hostile count");
    let (r, bytes) = allocated_by(|| Vec::<Acl>::from_bytes(&huge));
    assert!(r.is_err());
    assert_eq!(bytes, 0);
    let (r, bytes) = allocated_by(|| GetChildrenResponse::from_bytes(&huge));
    assert!(r.is_err());
    assert_eq!(bytes, 0);
    let (r, bytes) = allocated_by(|| WhoAmIResponse::from_bytes(&huge));
    assert!(r.is_err());
    assert_eq!(bytes, 0);

    // Inside records and requests.
    let set_watches = cat(&[&0i64.to_be_bytes(), &huge]);
    let (r, bytes) = allocated_by(|| Request::decode(OpCode::SetWatches2, &set_watches));
    assert!(r.is_err());
    assert_eq!(bytes, 0);
    let set_acl = cat(&[&be32(2), b"/x", &huge]);
    let (r, bytes) = allocated_by(|| Request::decode(OpCode::SetAcl, &set_acl));
    assert!(r.is_err());
    assert!(bytes < 64, "{bytes}");
    // A huge buffer or string length.
    let (r, bytes) = allocated_by(|| Option::<Vec<u8>>::from_bytes(&huge));
    assert!(r.is_err());
    assert_eq!(bytes, 0);
    let (r, bytes) = allocated_by(|| String::from_bytes(&huge));
    assert!(r.is_err());
    assert_eq!(bytes, 0);

    // A count that fits the bytes left but whose elements are garbage:
    // the decoder gives up on the first element, having allocated little
    // (not count * size_of::<Acl>() = 5.6 MB).
    let n = 100_000;
    let garbage = cat(&[&be32(n), &vec![0x80; n as usize]]);
    let (r, bytes) = allocated_by(|| Vec::<Acl>::from_bytes(&garbage));
    assert!(r.is_err());
    assert!(bytes < 128 * 1024, "allocated {bytes} bytes");
    let (r, bytes) = allocated_by(|| Vec::<String>::from_bytes(&garbage));
    assert!(r.is_err());
    assert!(bytes < 128 * 1024, "allocated {bytes} bytes");

    // Many empty strings are a legitimate large vector.
    let many = cat(&[&be32(n), &vec![0; 4 * n as usize]]);
    assert_eq!(Vec::<String>::from_bytes(&many).unwrap().len(), n as usize);

    assert!(start.elapsed() < Duration::from_secs(5));
}

#[test]
fn multi_with_endless_ops_is_bounded_by_input() {
    // A multi with no closing header: ends in an error at the end of input.
    let op = cat(&[
        &be32(OpCode::Check as i32),
        &[0],
        &be32(-1),
        &be32(1),
        b"/",
        &be32(0),
    ]);
    let body: Vec<u8> = op.repeat(10_000);
    assert!(matches!(
        Request::decode(OpCode::Multi, &body),
        Err(DecodeError::UnexpectedEof { .. })
    ));
    // Results without the closing header, likewise.
    let delete = cat(&[&be32(OpCode::Delete as i32), &[0], &be32(0)]);
    assert!(matches!(
        decode_multi_results(&mut Reader::new(&delete.repeat(10_000))),
        Err(DecodeError::UnexpectedEof { .. })
    ));
}
