//! Every operation and error kind, against corral-server and ZooKeeper.

mod support;

use std::time::Duration;

use corral_client::{
    perms, Acl, Client, CreateMode, CreateOptions, Error, Id, Op, OpResult, SessionState,
    WatcherType,
};
use support::{Kind, Server};

async fn connect(server: &Server) -> Client {
    Client::builder(&server.hosts())
        .session_timeout(Duration::from_secs(4))
        .connect()
        .await
        .unwrap()
}

fn digest(user: &str, pw: &str) -> String {
    use base64::Engine;
    use sha1::Digest;
    let hash = sha1::Sha1::digest(format!("{user}:{pw}").as_bytes());
    format!(
        "{user}:{}",
        base64::engine::general_purpose::STANDARD.encode(hash)
    )
}

async fn all_ops(kind: Kind) {
    support::init_tracing();
    let server = Server::start(kind);
    let c = connect(&server).await;
    assert_eq!(c.state(), SessionState::Connected);
    assert_ne!(c.session_id(), 0);
    assert_eq!(c.session_password().len(), 16);
    assert_eq!(c.session_timeout(), Duration::from_secs(4));
    let d = CreateOptions::default();

    // create, every mode
    assert_eq!(c.create("/ops", b"root", &d).await.unwrap(), "/ops");
    let (p, stat) = c.create2("/ops/c2", b"x", &d).await.unwrap();
    assert_eq!(p, "/ops/c2");
    assert_eq!(stat.data_length, 1);
    assert!(stat.czxid > 0);
    assert_eq!(c.last_zxid(), stat.czxid);
    let e = c
        .create("/ops/eph", b"", &CreateOptions::ephemeral())
        .await
        .unwrap();
    assert_eq!(e, "/ops/eph");
    let (_, st) = c.get_data("/ops/eph").await.unwrap();
    assert_eq!(st.ephemeral_owner, c.session_id());
    let s1 = c
        .create("/ops/seq-", b"", &CreateOptions::sequential())
        .await
        .unwrap();
    let s2 = c
        .create("/ops/seq-", b"", &CreateOptions::ephemeral_sequential())
        .await
        .unwrap();
    assert!(
        s1.starts_with("/ops/seq-") && s1.len() == "/ops/seq-".len() + 10,
        "{s1}"
    );
    assert!(s2 > s1, "{s2} > {s1}");
    let (p, st) = c
        .create2("/ops/container", b"", &CreateOptions::container())
        .await
        .unwrap();
    assert_eq!(p, "/ops/container");
    assert!(st.czxid > 0);
    let (p, st) = c
        .create2("/ops/ttl", b"t", &CreateOptions::ttl(60_000))
        .await
        .unwrap();
    assert_eq!(p, "/ops/ttl");
    assert_eq!(st.data_length, 1);
    let p = c
        .create(
            "/ops/ttlseq-",
            b"",
            &CreateOptions::new(CreateMode::PersistentSequentialWithTtl).with_ttl(60_000),
        )
        .await
        .unwrap();
    assert!(p.starts_with("/ops/ttlseq-"));
    // TTL checks before anything is sent
    assert!(matches!(
        c.create(
            "/ops/x",
            b"",
            &CreateOptions::new(CreateMode::PersistentWithTtl)
        )
        .await,
        Err(Error::BadArguments(_))
    ));
    assert!(matches!(
        c.create("/ops/x", b"", &CreateOptions::default().with_ttl(5))
            .await,
        Err(Error::BadArguments(_))
    ));

    // errors of create
    assert_eq!(c.create("/ops", b"", &d).await, Err(Error::NodeExists));
    assert_eq!(c.create("/missing/x", b"", &d).await, Err(Error::NoNode));
    assert_eq!(
        c.create("/ops/eph/child", b"", &d).await,
        Err(Error::NoChildrenForEphemerals)
    );
    assert_eq!(
        c.create(
            "/ops/noacl",
            b"",
            &CreateOptions::default().with_acl(vec![])
        )
        .await,
        Err(Error::InvalidAcl)
    );
    for bad in ["", "ops", "/ops/", "/ops//x", "/ops/./x", "/ops/\u{1}"] {
        assert!(
            matches!(c.create(bad, b"", &d).await, Err(Error::BadArguments(_))),
            "{bad:?}"
        );
        assert!(matches!(c.get_data(bad).await, Err(Error::BadArguments(_))));
    }

    // exists / get_data / set_data
    assert_eq!(c.exists("/ops/none").await, Ok(None));
    let st = c.exists("/ops").await.unwrap().unwrap();
    assert_eq!(st.num_children, 7);
    let (data, st) = c.get_data("/ops").await.unwrap();
    assert_eq!(data, b"root");
    assert_eq!(st.version, 0);
    assert_eq!(c.get_data("/ops/none").await, Err(Error::NoNode));
    let st2 = c.set_data("/ops", b"v1", Some(0)).await.unwrap();
    assert_eq!(st2.version, 1);
    assert_eq!(
        c.set_data("/ops", b"v2", Some(0)).await,
        Err(Error::BadVersion)
    );
    assert_eq!(c.set_data("/ops", b"v2", None).await.unwrap().version, 2);
    assert_eq!(c.set_data("/ops/none", b"", None).await, Err(Error::NoNode));
    // empty data reads as empty
    c.create("/ops/empty", b"", &d).await.unwrap();
    assert_eq!(c.get_data("/ops/empty").await.unwrap().0, b"");

    // children
    let mut kids = c.get_children("/ops").await.unwrap();
    kids.sort();
    assert_eq!(kids.len(), 8);
    assert!(kids.contains(&"eph".to_string()));
    let (kids2, st) = c.get_children2("/ops").await.unwrap();
    assert_eq!(kids2.len(), 8);
    assert_eq!(st.num_children, 8);
    assert_eq!(c.get_children("/ops/none").await, Err(Error::NoNode));
    assert_eq!(c.get_all_children_number("/ops").await, Ok(8));
    assert_eq!(
        c.get_all_children_number("/").await.map(|n| n >= 9),
        Ok(true)
    );

    // delete
    assert_eq!(c.delete("/ops", None).await, Err(Error::NotEmpty));
    assert_eq!(
        c.delete("/ops/empty", Some(3)).await,
        Err(Error::BadVersion)
    );
    c.delete("/ops/empty", Some(0)).await.unwrap();
    assert_eq!(c.delete("/ops/empty", None).await, Err(Error::NoNode));

    // ACLs and auth
    let (acl, _) = c.get_acl("/ops").await.unwrap();
    assert_eq!(acl, Acl::open_unsafe());
    c.add_auth("digest", b"alice:secret").await.unwrap();
    let alice = Id::new("digest", &digest("alice", "secret"));
    let st = c
        .set_acl("/ops/c2", &[Acl::new(perms::ALL, alice.clone())], Some(0))
        .await
        .unwrap();
    assert_eq!(st.aversion, 1);
    assert_eq!(
        c.set_acl("/ops/c2", &Acl::open_unsafe(), Some(0)).await,
        Err(Error::BadVersion)
    );
    let (acl, st) = c.get_acl("/ops/c2").await.unwrap();
    assert_eq!(acl, vec![Acl::new(perms::ALL, alice)]);
    assert_eq!(st.aversion, 1);
    assert_eq!(c.get_data("/ops/c2").await.unwrap().0, b"x");
    c.create(
        "/ops/creator",
        b"",
        &CreateOptions::default().with_acl(Acl::creator_all()),
    )
    .await
    .unwrap();
    let who = c.who_am_i().await.unwrap();
    assert!(
        who.iter()
            .any(|i| i.auth_scheme == "digest" && i.user == "alice"),
        "{who:?}"
    );
    assert!(who.iter().any(|i| i.auth_scheme == "ip"), "{who:?}");
    // another session without the credentials (through a proxy, cut below)
    let proxy = support::Proxy::start(server.port).await;
    let other = Client::builder(&proxy.hosts())
        .session_timeout(Duration::from_secs(4))
        .connect()
        .await
        .unwrap();
    assert_eq!(other.get_data("/ops/c2").await, Err(Error::NoAuth));
    assert_eq!(
        other.set_data("/ops/creator", b"", None).await,
        Err(Error::NoAuth)
    );
    assert_eq!(other.get_ephemerals("/").await, Ok(vec![]));
    // credentials given to the builder
    let alice_client = Client::builder(&server.hosts())
        .auth("digest", b"alice:secret")
        .connect()
        .await
        .unwrap();
    assert_eq!(alice_client.get_data("/ops/c2").await.unwrap().0, b"x");
    alice_client.close().await;
    // a bad scheme: AuthFailed, and the session is done
    let bad = connect(&server).await;
    assert_eq!(
        bad.add_auth("nosuchscheme", b"x").await,
        Err(Error::AuthFailed)
    );
    support::wait_state(&bad, SessionState::AuthFailed, Duration::from_secs(5)).await;
    assert_eq!(bad.exists("/").await, Err(Error::AuthFailed));

    // ephemerals
    let mut eph = c.get_ephemerals("/").await.unwrap();
    eph.sort();
    assert_eq!(eph, vec!["/ops/eph".to_string(), s2.clone()]);
    assert_eq!(
        c.get_ephemerals("/ops/seq").await.unwrap(),
        vec![s2.clone()]
    );

    // sync
    assert_eq!(c.sync("/ops").await.unwrap(), "/ops");

    // multi: success
    let r = c
        .multi(vec![
            Op::create("/ops/m1", b"a".to_vec(), d.clone()),
            Op::create("/ops/m-", b"".to_vec(), CreateOptions::sequential()),
            Op::create("/ops/m-c", b"".to_vec(), CreateOptions::container()),
            Op::set_data("/ops/m1", b"b".to_vec(), Some(0)),
            Op::check("/ops/m1", Some(1)),
            Op::check("/ops", None),
            Op::delete(s1.clone(), None),
        ])
        .await
        .unwrap();
    assert_eq!(r.len(), 7);
    assert_eq!(
        r[0],
        OpResult::Create {
            path: "/ops/m1".into(),
            stat: None
        }
    );
    assert!(matches!(&r[1], OpResult::Create { path, .. } if path.starts_with("/ops/m-")));
    assert!(matches!(&r[2], OpResult::Create { path, stat: Some(_) } if path == "/ops/m-c"));
    assert!(matches!(&r[3], OpResult::SetData(st) if st.version == 1));
    assert_eq!(r[4], OpResult::Check);
    assert_eq!(r[6], OpResult::Delete);
    // multi: failure applies nothing and names the failing op
    let err = c
        .multi(vec![
            Op::create("/ops/m2", b"".to_vec(), d.clone()),
            Op::set_data("/ops/m1", b"c".to_vec(), Some(0)),
            Op::delete("/ops/m1", None),
        ])
        .await
        .unwrap_err();
    assert_eq!(
        err,
        Error::Multi {
            index: 1,
            error: Box::new(Error::BadVersion)
        }
    );
    assert_eq!(err.code(), -103);
    assert_eq!(c.exists("/ops/m2").await, Ok(None));
    let err = c
        .multi(vec![Op::check("/ops/none", None)])
        .await
        .unwrap_err();
    assert_eq!(err.root(), &Error::NoNode);
    assert_eq!(c.multi(vec![]).await, Ok(vec![]));
    assert!(matches!(
        c.multi(vec![Op::get_data("/ops")]).await,
        Err(Error::BadArguments(_))
    ));

    // multiRead: independent results
    let r = c
        .multi_read(vec![
            Op::get_data("/ops/m1"),
            Op::get_children("/ops/c2"),
            Op::get_data("/ops/none"),
        ])
        .await
        .unwrap();
    assert!(matches!(&r[0], OpResult::GetData { data, stat } if data == b"b" && stat.version == 1));
    assert_eq!(r[1], OpResult::GetChildren(vec![]));
    assert_eq!(r[2], OpResult::Error(Error::NoNode));
    assert!(matches!(
        c.multi_read(vec![Op::delete("/ops", None)]).await,
        Err(Error::BadArguments(_))
    ));

    // watches without a watcher
    assert_eq!(
        c.check_watches("/ops", WatcherType::Data).await,
        Err(Error::NoWatcher)
    );
    assert_eq!(
        c.remove_watches("/ops", WatcherType::Any).await,
        Err(Error::NoWatcher)
    );

    // a saved session resumes (same id) elsewhere while its first client
    // is cut off; closing it there ends it for the first client too
    proxy.cut();
    support::wait_state(&other, SessionState::Suspended, Duration::from_secs(5)).await;
    let resumed = Client::builder(&server.hosts())
        .saved_session(other.session_id(), other.session_password())
        .connect()
        .await
        .unwrap();
    assert_eq!(resumed.session_id(), other.session_id());
    assert!(resumed.exists("/ops").await.unwrap().is_some());
    resumed.close().await;
    assert_eq!(resumed.state(), SessionState::Closed);
    assert_eq!(resumed.exists("/").await, Err(Error::Closed));
    // ... and cannot be resumed again
    let again = Client::builder(&server.hosts())
        .saved_session(other.session_id(), other.session_password())
        .connect()
        .await;
    assert_eq!(again.unwrap_err(), Error::SessionExpired);
    proxy.restore();
    support::wait_state(&other, SessionState::Lost, Duration::from_secs(5)).await;
    assert_eq!(other.exists("/").await, Err(Error::SessionExpired));

    // close: ephemerals go, every later call fails with Closed
    let sid = c.session_id();
    c.close().await;
    assert_eq!(c.state(), SessionState::Closed);
    assert_eq!(c.get_data("/ops").await, Err(Error::Closed));
    assert_eq!(c.create("/ops/y", b"", &d).await, Err(Error::Closed));
    c.close().await;
    let third = connect(&server).await;
    assert_eq!(third.exists("/ops/eph").await, Ok(None));
    assert_ne!(third.session_id(), sid);
    third.close().await;
    drop(other);
}

async fn chroot_ops(kind: Kind) {
    support::init_tracing();
    let server = Server::start(kind);
    let root = connect(&server).await;
    root.create("/app", b"", &CreateOptions::default())
        .await
        .unwrap();
    let c = Client::builder(&format!("{}/app", server.hosts()))
        .connect()
        .await
        .unwrap();
    assert_eq!(c.chroot(), Some("/app"));
    let d = CreateOptions::default();
    assert_eq!(c.create("/a", b"1", &d).await.unwrap(), "/a");
    assert_eq!(root.get_data("/app/a").await.unwrap().0, b"1");
    let (p, _) = c
        .create2("/s-", b"", &CreateOptions::sequential())
        .await
        .unwrap();
    assert!(p.starts_with("/s-"), "{p}");
    let e = c
        .create("/e", b"", &CreateOptions::ephemeral())
        .await
        .unwrap();
    assert_eq!(e, "/e");
    assert_eq!(c.get_ephemerals("/").await.unwrap(), vec!["/e".to_string()]);
    let mut kids = c.get_children("/").await.unwrap();
    kids.sort();
    assert_eq!(kids.len(), 3);
    assert!(c.exists("/").await.unwrap().is_some());
    assert_eq!(c.sync("/a").await.unwrap(), "/a");
    let r = c
        .multi(vec![Op::create("/m", b"".to_vec(), d.clone())])
        .await
        .unwrap();
    assert_eq!(
        r[0],
        OpResult::Create {
            path: "/m".into(),
            stat: None
        }
    );
    // watch events carry client paths
    let (_, _, w) = c.get_data_w("/a").await.unwrap();
    let (_, w2) = c.exists_w("/new").await.unwrap();
    root.set_data("/app/a", b"2", None).await.unwrap();
    root.create("/app/new", b"", &d).await.unwrap();
    let ev = support::within(Duration::from_secs(5), "data watch", w).await;
    assert_eq!(ev.path, "/a");
    let ev = support::within(Duration::from_secs(5), "exist watch", w2).await;
    assert_eq!(ev.path, "/new");
    let mut pw = c
        .add_watch("/", corral_client::AddWatchMode::PersistentRecursive)
        .await
        .unwrap();
    root.create("/app/new/deep", b"", &d).await.unwrap();
    use futures::StreamExt;
    let ev = support::within(Duration::from_secs(5), "recursive watch", pw.next())
        .await
        .unwrap();
    assert_eq!(ev.path, "/new/deep");
    c.close().await;
    root.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn all_ops_corral() {
    all_ops(Kind::Corral).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn all_ops_zookeeper() {
    all_ops(Kind::ZooKeeper).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chroot_corral() {
    chroot_ops(Kind::Corral).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chroot_zookeeper() {
    chroot_ops(Kind::ZooKeeper).await;
}
