//! LeaderLatch and LeaderElection against corral-server and ZooKeeper:
//! one leader at a time, handover when the leader leaves or its session is
//! closed, loss of leadership reported (and the task cancelled) when the
//! connection is lost, and a fenced log showing that leaders never overlap.

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use corral_client::recipes::leader_election::{Election, ElectionState, LeaderElection};
use corral_client::recipes::leader_latch::{LatchState, LeaderLatch};
use corral_client::{Client, CreateOptions, Error, Op};
use futures::StreamExt;
use support::{wait_until, within, Kind, Proxy, Server};

const WAIT: Duration = Duration::from_secs(20);

async fn connect(hosts: &str) -> Client {
    Client::builder(hosts)
        .session_timeout(Duration::from_secs(4))
        .connect()
        .await
        .unwrap()
}

/// Three participants: the first to join leads; the others wait; closing
/// the leader hands over to the next; a participant is told NotLeader as
/// soon as its connection goes, and Leader again after reconnecting.
async fn latch(kind: Kind) {
    support::init_tracing();
    let server = Server::start(kind);
    let proxy = Proxy::start(server.port).await;
    let c0 = connect(&server.hosts()).await;
    let c1 = connect(&proxy.hosts()).await;
    let c2 = connect(&server.hosts()).await;
    let l0 = LeaderLatch::new(&c0, "/latch", "p0");
    let l1 = LeaderLatch::new(&c1, "/latch", "p1");
    let l2 = LeaderLatch::new(&c2, "/latch", "p2");
    for l in [&l0, &l1, &l2] {
        l.start().await.unwrap();
    }
    assert!(matches!(l0.start().await, Err(Error::BadArguments(_))));
    assert!(l0.await_leadership(Some(WAIT)).await.unwrap());
    assert!(l0.has_leadership());
    assert!(!l1
        .await_leadership(Some(Duration::from_millis(200)))
        .await
        .unwrap());
    assert!(!l2.has_leadership());
    let node1 = l1.node().unwrap();
    assert!(
        node1.starts_with("/latch/_c_") && node1.contains("-latch-"),
        "{node1}"
    );
    let parts = l1.participants().await.unwrap();
    let ids: Vec<&str> = parts.iter().map(|p| p.id.as_str()).collect();
    assert_eq!(ids, ["p0", "p1", "p2"]);
    assert!(parts[0].is_leader && !parts[1].is_leader);

    let mut events0 = l0.events();
    let mut events1 = l1.events();
    l0.close().await.unwrap();
    assert_eq!(
        within(WAIT, "p0 steps down", events0.next()).await,
        Some(LatchState::NotLeader)
    );
    assert_eq!(
        within(WAIT, "p0 closed", events0.next()).await,
        Some(LatchState::Closed)
    );
    assert_eq!(l0.await_leadership(None).await, Err(Error::Closed));
    assert_eq!(
        within(WAIT, "p1 leads", events1.next()).await,
        Some(LatchState::Leader)
    );
    assert!(l1.has_leadership() && !l2.has_leadership());
    assert_eq!(l2.leader().await.unwrap().unwrap().id, "p1");

    // Connection lost: told at once; the same node leads again afterwards.
    proxy.cut();
    assert_eq!(
        within(WAIT, "p1 suspended", events1.next()).await,
        Some(LatchState::NotLeader)
    );
    assert!(!l1.has_leadership());
    proxy.restore();
    assert_eq!(
        within(WAIT, "p1 back", events1.next()).await,
        Some(LatchState::Leader)
    );
    assert_eq!(l1.node().unwrap(), node1);
    assert!(!l2.has_leadership());

    drop(l1); // deletes its node in the background
    assert!(l2.await_leadership(Some(WAIT)).await.unwrap());
    l2.close().await.unwrap();
    assert!(l2.participants().await.unwrap().is_empty());
    for c in [c0, c1, c2] {
        c.close().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn latch_corral() {
    latch(Kind::Corral).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn latch_zookeeper() {
    latch(Kind::ZooKeeper).await;
}

/// A candidate whose task appends fenced `EPOCH:ID` records to `/log`
/// while it leads.
fn candidate(client: &Client, id: usize) -> Election {
    let me = format!("c{id}");
    LeaderElection::new(client, "/election", &me).start(move |leadership| {
        let me = me.clone();
        async move {
            let record = format!("{}:{me}", leadership.epoch());
            loop {
                let ops = vec![
                    leadership.check_op(),
                    Op::create("/log/rec-", record.clone(), CreateOptions::sequential()),
                ];
                // A failed check (our node is gone) writes nothing.
                let _ = leadership.client().multi(ops).await;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    })
}

/// The fenced log, in order, as (epoch, candidate id).
async fn read_log(c: &Client) -> Vec<(i64, String)> {
    let mut names = c.get_children("/log").await.unwrap();
    names.sort();
    let mut out = Vec::new();
    for n in names {
        let (d, _) = c.get_data(&format!("/log/{n}")).await.unwrap();
        let s = String::from_utf8(d).unwrap();
        let (epoch, id) = s.split_once(':').unwrap();
        out.push((epoch.parse().unwrap(), id.to_owned()));
    }
    out
}

/// The log's terms: each epoch belongs to one candidate, epochs only grow,
/// and a term's records are contiguous (no two leaders interleave).
fn terms(log: &[(i64, String)]) -> Vec<(i64, String)> {
    let mut terms: Vec<(i64, String)> = Vec::new();
    for (epoch, id) in log {
        match terms.last() {
            Some((e, i)) if e == epoch => assert_eq!(i, id, "epoch {epoch} has two leaders"),
            Some((e, _)) => {
                assert!(
                    epoch > e,
                    "epoch {epoch} after {e}: leaders overlapped: {log:?}"
                );
                terms.push((*epoch, id.clone()));
            }
            None => terms.push((*epoch, id.clone())),
        }
    }
    terms
}

/// Five candidates in five sessions; the leader's session is closed twice.
/// Each time exactly one other candidate takes over, and the fenced log
/// shows terms that never overlap.
async fn election(kind: Kind) {
    support::init_tracing();
    let server = Server::start(kind);
    let hosts = server.hosts();
    let observer = connect(&hosts).await;
    observer
        .create("/log", b"", &CreateOptions::default())
        .await
        .unwrap();
    let clients: Vec<Client> = futures::future::join_all((0..5).map(|_| connect(&hosts))).await;
    let mut elections: Vec<Option<Election>> = clients
        .iter()
        .enumerate()
        .map(|(i, c)| Some(candidate(c, i)))
        .collect();
    let leaders = |e: &[Option<Election>]| -> Vec<usize> {
        (0..e.len())
            .filter(|&i| e[i].as_ref().is_some_and(|e| e.is_leader()))
            .collect()
    };

    let mut killed = Vec::new();
    for round in 0..3 {
        // Wait for the round's leader to have written a record.
        let min_terms = round + 1;
        let ok = wait_until(WAIT, || async {
            terms(&read_log(&observer).await).len() >= min_terms
        })
        .await;
        assert!(
            ok,
            "round {round}: no new leader wrote; log {:?}",
            read_log(&observer).await
        );
        let log = read_log(&observer).await;
        let t = terms(&log);
        assert_eq!(t.len(), min_terms, "exactly one new leader: {t:?}");
        let (_, id) = t.last().unwrap().clone();
        let leader: usize = id[1..].parse().unwrap();
        assert!(!killed.contains(&leader), "a closed session leads again");
        assert!(
            wait_until(WAIT, || async { leaders(&elections) == [leader] }).await,
            "leaders seen by the handles: {:?}, log says c{leader}",
            leaders(&elections)
        );
        if round == 2 {
            break;
        }
        // Kill the leader's session.
        clients[leader].close().await;
        killed.push(leader);
        let e = elections[leader].take().unwrap();
        assert_eq!(
            within(WAIT, "closed leader's election", e.join()).await,
            Err(Error::Closed)
        );
    }
    let t = terms(&read_log(&observer).await);
    assert_eq!(t.len(), 3, "{t:?}");
    // Candidates first, then the leader, so that no new leader comes.
    let (lead, rest): (Vec<_>, Vec<_>) =
        elections.into_iter().flatten().partition(|e| e.is_leader());
    for e in rest.into_iter().chain(lead) {
        within(WAIT, "stop", e.stop()).await.unwrap();
    }
    let left = observer.get_children("/election").await.unwrap_or_default();
    assert!(left.is_empty(), "{left:?}");
    // Nothing written after everyone stopped.
    assert_eq!(terms(&read_log(&observer).await), t);
    observer.close().await;
    for c in clients {
        c.close().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn election_corral() {
    election(Kind::Corral).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn election_zookeeper() {
    election(Kind::ZooKeeper).await;
}

/// What happened to a task, in order.
type Journal = Arc<Mutex<Vec<String>>>;

/// Logs "drop <id>" when the task's future is dropped (cancelled or done).
struct OnDrop(Journal, String);

impl Drop for OnDrop {
    fn drop(&mut self) {
        self.0.lock().unwrap().push(format!("drop {}", self.1));
    }
}

fn journaled(
    client: &Client,
    id: &str,
    journal: &Journal,
    requeue: bool,
    finish: bool,
) -> Election {
    let (journal, id) = (journal.clone(), id.to_owned());
    LeaderElection::new(client, "/giveup", &id)
        .auto_requeue(requeue)
        .start(move |leadership| {
            let (journal, id) = (journal.clone(), id.clone());
            async move {
                journal.lock().unwrap().push(format!("lead {id}"));
                let _guard = OnDrop(journal, id);
                if !finish {
                    leadership.lost().await; // never, while this future lives
                }
            }
        })
}

async fn journal_has(j: &Journal, entry: &str) -> bool {
    wait_until(WAIT, || async {
        j.lock().unwrap().iter().any(|e| e == entry)
    })
    .await
}

/// Giving up: interrupting the leader cancels its task and hands over (the
/// candidate queues again with auto-requeue); stop() cancels and leaves; a
/// task that returns gives the leadership up; losing the connection
/// cancels the task at once.
async fn give_up(kind: Kind) {
    support::init_tracing();
    let server = Server::start(kind);
    let proxy = Proxy::start(server.port).await;
    let a_client = connect(&server.hosts()).await;
    let b_client = connect(&server.hosts()).await;
    let p_client = connect(&proxy.hosts()).await;
    let j: Journal = Arc::default();

    let a = journaled(&a_client, "a", &j, true, false);
    assert!(journal_has(&j, "lead a").await);
    let b = journaled(&b_client, "b", &j, false, false);
    assert!(
        wait_until(WAIT, || async {
            a_client.get_children("/giveup").await.unwrap().len() == 2
        })
        .await
    );
    assert_eq!(b.state(), ElectionState::Candidate);

    a.interrupt_leadership();
    assert!(journal_has(&j, "drop a").await);
    assert!(journal_has(&j, "lead b").await);
    assert!(wait_until(WAIT, || async { a.state() == ElectionState::Candidate }).await);

    // stop(): b's task is cancelled, b leaves; a (requeued) leads again.
    let mut a_events = a.events();
    within(WAIT, "stop b", b.stop()).await.unwrap();
    assert!(j.lock().unwrap().contains(&"drop b".to_owned()));
    assert_eq!(
        within(WAIT, "a leads", a_events.next()).await,
        Some(ElectionState::Leader)
    );
    within(WAIT, "stop a", a.stop()).await.unwrap();
    assert!(a_client.get_children("/giveup").await.unwrap().is_empty());

    // A task that returns gives the leadership up (no requeue: leaves).
    let d = journaled(&a_client, "d", &j, false, true);
    within(WAIT, "d's single term", d.join()).await.unwrap();
    assert!(j.lock().unwrap().contains(&"drop d".to_owned()));
    assert!(a_client.get_children("/giveup").await.unwrap().is_empty());

    // Connection lost: the leader's task is cancelled at once, well before
    // the session could expire; it leads again after reconnecting.
    let p = journaled(&p_client, "p", &j, true, false);
    assert!(journal_has(&j, "lead p").await);
    let mut p_events = p.events();
    proxy.cut();
    assert_eq!(
        within(WAIT, "p loses", p_events.next()).await,
        Some(ElectionState::Candidate)
    );
    assert!(j.lock().unwrap().contains(&"drop p".to_owned()));
    assert!(!p_client.state().is_terminal());
    proxy.restore();
    assert_eq!(
        within(WAIT, "p leads again", p_events.next()).await,
        Some(ElectionState::Leader)
    );
    within(WAIT, "stop p", p.stop()).await.unwrap();
    for c in [a_client, b_client, p_client] {
        c.close().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn give_up_corral() {
    give_up(Kind::Corral).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn give_up_zookeeper() {
    give_up(Kind::ZooKeeper).await;
}
