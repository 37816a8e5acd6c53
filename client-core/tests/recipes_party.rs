//! Party: members join and leave (one session each), a member whose
//! session ends disappears, watchers see the changes; kazoo's layout.
//! Against corral-server and ZooKeeper.

mod support;

use std::time::Duration;

use corral_client::recipes::party::{Party, PARTY_MARKER};
use corral_client::Client;
use support::{within, Kind, Server};

const WAIT: Duration = Duration::from_secs(30);

async fn connect(server: &Server) -> Client {
    Client::builder(&server.hosts())
        .session_timeout(Duration::from_secs(10))
        .connect()
        .await
        .unwrap()
}

async fn membership(kind: Kind) {
    support::init_tracing();
    let server = Server::start(kind);
    let observer_client = connect(&server).await;
    let observer = Party::new(observer_client.clone(), "/app/party", b"observer");
    assert_eq!(observer.count().await.unwrap(), 0);
    let (members, watch) = observer.members_w().await.unwrap();
    assert!(members.is_empty());

    let mut clients = Vec::new();
    let mut parties = Vec::new();
    for i in 0..3 {
        let c = connect(&server).await;
        let p = Party::new(c.clone(), "/app/party", format!("worker-{i}").as_bytes());
        p.join().await.unwrap();
        p.join().await.unwrap(); // idempotent
        assert!(p.is_member().await.unwrap());
        clients.push(c);
        parties.push(p);
    }
    // the first join fired the watch
    assert!(!within(WAIT, "members watch", watch)
        .await
        .is_session_event());
    let mut ids: Vec<Vec<u8>> = observer
        .members()
        .await
        .unwrap()
        .into_iter()
        .map(|m| {
            assert!(m.name.ends_with(PARTY_MARKER), "kazoo's name: {}", m.name);
            m.data
        })
        .collect();
    ids.sort();
    assert_eq!(
        ids,
        vec![
            b"worker-0".to_vec(),
            b"worker-1".to_vec(),
            b"worker-2".to_vec()
        ]
    );
    // a node without the marker is not a member
    observer_client
        .create("/app/party/stray", b"", &Default::default())
        .await
        .unwrap();
    assert_eq!(observer.count().await.unwrap(), 3);

    // leave
    parties[0].leave().await.unwrap();
    parties[0].leave().await.unwrap(); // idempotent
    assert!(!parties[0].is_member().await.unwrap());
    assert_eq!(
        within(WAIT, "leave seen", observer.wait_for_change(3, WAIT))
            .await
            .unwrap(),
        Some(2)
    );
    // a member whose session ends is gone
    clients[1].close().await;
    assert_eq!(
        within(WAIT, "session end seen", observer.wait_for_change(2, WAIT))
            .await
            .unwrap(),
        Some(1)
    );
    let left: Vec<Vec<u8>> = observer
        .members()
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.data)
        .collect();
    assert_eq!(left, vec![b"worker-2".to_vec()]);
    // nothing changes: a bounded wait says so
    assert_eq!(
        observer
            .wait_for_change(1, Duration::from_millis(200))
            .await
            .unwrap(),
        None
    );
    for c in clients {
        c.close().await;
    }
    observer_client.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn membership_corral() {
    membership(Kind::Corral).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn membership_zookeeper() {
    membership(Kind::ZooKeeper).await;
}
