//! Read-only mode end to end, against corral and Apache ZooKeeper 3.8: a
//! 3-member ensemble with read-only mode on loses two members; a client
//! built with `read_only(true)` gets a read-only session on the survivor
//! (reads work, writes fail with NotReadOnly), a client without it gets
//! none. A read-only client that lists a read-write server too finds it
//! (`isro`) and moves there. When the quorum is back, the read-only client
//! gets a read-write session and writes again.

mod support;

use std::time::Duration;

use corral_client::{Client, CreateOptions, Error, SessionState};
use support::{wait_until, within, Ensemble, Kind, Server};

const WAIT: Duration = Duration::from_secs(30);

fn read_only_ensemble(kind: Kind) -> Ensemble {
    match kind {
        Kind::Corral => Ensemble::start_kind(kind, &["readonlymode.enabled=true"], &[]),
        // ZooKeeper reads readonlymode.enabled as a system property only,
        // and since 3.6 grants read-only sessions only as local sessions.
        Kind::ZooKeeper => Ensemble::start_kind(
            kind,
            &[
                "localSessionsEnabled=true",
                "localSessionsUpgradingEnabled=true",
            ],
            &["-Dreadonlymode.enabled=true"],
        ),
    }
}

async fn state_becomes(client: &Client, state: SessionState) -> bool {
    wait_until(WAIT, || async { client.state() == state }).await
}

async fn read_only_then_read_write(kind: Kind) {
    support::init_tracing();
    let mut ensemble = read_only_ensemble(kind);
    let setup = Client::connect(&ensemble.servers[0].hosts()).await.unwrap();
    setup
        .create("/ro", b"before", &CreateOptions::default())
        .await
        .unwrap();
    setup.close().await;
    // A read-write server the ensemble's clients may also list.
    let elsewhere = Server::start(Kind::Corral);

    ensemble.servers[1].kill9();
    ensemble.servers[2].kill9();
    let survivor_hosts = ensemble.servers[0].hosts();
    let survivor_port = ensemble.servers[0].port;
    assert!(
        wait_until(WAIT, || async {
            support::four_letter(survivor_port, "isro") == "ro"
        })
        .await,
        "the survivor goes read-only"
    );

    let refused = Client::builder(&survivor_hosts)
        .connect_timeout(Duration::from_secs(2))
        .connect()
        .await;
    assert!(
        matches!(refused, Err(Error::Timeout)),
        "no session for a client that did not ask for read-only: {refused:?}"
    );

    let ro = Client::builder(&survivor_hosts)
        .read_only(true)
        .connect()
        .await
        .unwrap();
    assert_eq!(ro.state(), SessionState::ReadOnly);
    assert_eq!(ro.get_data("/ro").await.unwrap().0, b"before");
    assert!(ro.get_children("/").await.unwrap().contains(&"ro".into()));
    let created = ro.create("/ro/new", b"", &CreateOptions::default()).await;
    assert!(matches!(created, Err(Error::NotReadOnly)), "{created:?}");
    let set = ro.set_data("/ro", b"changed", None).await;
    assert!(matches!(set, Err(Error::NotReadOnly)), "{set:?}");
    let deleted = ro.delete("/ro", None).await;
    assert!(matches!(deleted, Err(Error::NotReadOnly)), "{deleted:?}");

    // Listing a read-write server too: the client asks it `isro` in the
    // background and moves there, with a new session.
    let both = format!("{survivor_hosts},{}", elsewhere.hosts());
    let mover = Client::builder(&both)
        .shuffle_hosts(false)
        .read_only(true)
        .connect()
        .await
        .unwrap();
    let read_only_session = mover.session_id();
    assert!(
        state_becomes(&mover, SessionState::Connected).await,
        "the client moves to the read-write server"
    );
    assert_ne!(mover.session_id(), read_only_session);
    within(WAIT, "write after the move", async {
        mover
            .create("/moved", b"", &CreateOptions::default())
            .await
            .unwrap()
    })
    .await;
    mover.close().await;

    // The quorum comes back: the survivor leaves read-only mode and its
    // read-only client reconnects read-write.
    ensemble.servers[1].start_again();
    ensemble.servers[2].start_again();
    assert!(
        state_becomes(&ro, SessionState::Connected).await,
        "read-write again; state {:?}",
        ro.state()
    );
    within(WAIT, "write after the quorum is back", async {
        ro.create("/ro/after", b"x", &CreateOptions::default())
            .await
            .unwrap()
    })
    .await;
    assert_eq!(ro.get_data("/ro/after").await.unwrap().0, b"x");
    ro.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corral_read_only_then_read_write() {
    read_only_then_read_write(Kind::Corral).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zookeeper_read_only_then_read_write() {
    read_only_then_read_write(Kind::ZooKeeper).await;
}
