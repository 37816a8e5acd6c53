//! The watch registry, owned by the session task: one-shot data / exist /
//! child watches by server path, persistent and persistent-recursive
//! watches as channels; routing of notifications (as ZooKeeper's
//! `ZKWatchManager.materialize`); SetWatches(2) batches for reconnects.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use corral_protocol::{EventType, KeeperState, Request, SetWatches, SetWatches2, WatcherType};
use futures::Stream;
use tokio::sync::{mpsc, oneshot, watch};

use crate::connect_string::Chroot;
use crate::state::{Job, SessionState};
use crate::types::WatchedEvent;

/// ZooKeeper's `SET_WATCHES_MAX_LENGTH`: the path bytes of one SetWatches
/// packet, so that re-registering many watches never exceeds
/// `jute.maxbuffer`.
pub const SET_WATCHES_MAX_LENGTH: usize = 128 * 1024;

/// Who is told when a one-shot watch fires.
pub(crate) enum Watcher {
    /// A [`Watch`] future.
    Oneshot(oneshot::Sender<WatchedEvent>),
    /// A callback, run on the client's dispatcher task.
    Callback(Box<dyn FnOnce(WatchedEvent) + Send>),
}

/// What to do with the watch of a request once its reply arrives.
pub(crate) enum WatchReg {
    /// getData: a data watch if the node exists.
    Data(String, Watcher),
    /// exists: a data watch if the node exists, an exist watch if NoNode.
    Exists(String, Watcher),
    /// getChildren: a child watch if the node exists.
    Child(String, Watcher),
    /// addWatch: a persistent (or recursive) watch on success.
    Persistent {
        path: String,
        recursive: bool,
        tx: mpsc::UnboundedSender<WatchedEvent>,
    },
    /// removeWatches succeeded: drop the local watches of this type and tell
    /// them with a `*WatchRemoved` event.
    Remove(String, WatcherType),
}

#[derive(Default)]
pub(crate) struct Registry {
    chroot: Chroot,
    data: HashMap<String, Vec<Watcher>>,
    exist: HashMap<String, Vec<Watcher>>,
    child: HashMap<String, Vec<Watcher>>,
    persistent: HashMap<String, Vec<mpsc::UnboundedSender<WatchedEvent>>>,
    recursive: HashMap<String, Vec<mpsc::UnboundedSender<WatchedEvent>>>,
}

impl Registry {
    pub fn new(chroot: Chroot) -> Registry {
        Registry {
            chroot,
            ..Default::default()
        }
    }

    /// Applies `reg` after a reply with error code `err` (0 = ok).
    pub fn on_reply(&mut self, reg: WatchReg, err: i32, jobs: &mpsc::UnboundedSender<Job>) {
        const NO_NODE: i32 = corral_protocol::ErrorCode::NoNode as i32;
        match (reg, err) {
            (WatchReg::Data(p, w), 0) | (WatchReg::Exists(p, w), 0) => {
                self.data.entry(p).or_default().push(w)
            }
            (WatchReg::Exists(p, w), NO_NODE) => self.exist.entry(p).or_default().push(w),
            (WatchReg::Child(p, w), 0) => self.child.entry(p).or_default().push(w),
            (
                WatchReg::Persistent {
                    path,
                    recursive,
                    tx,
                },
                0,
            ) => {
                let map = if recursive {
                    &mut self.recursive
                } else {
                    &mut self.persistent
                };
                map.entry(path).or_default().push(tx);
            }
            (WatchReg::Remove(path, wtype), 0) => self.remove(&path, wtype, jobs),
            _ => {}
        }
    }

    fn remove(&mut self, path: &str, wtype: WatcherType, jobs: &mpsc::UnboundedSender<Job>) {
        let client_path = self.chroot.strip(path);
        let ev = |t: EventType| WatchedEvent {
            event_type: t,
            state: KeeperState::SyncConnected,
            path: client_path.clone(),
        };
        let (data, child, persistent, recursive) = match wtype {
            WatcherType::Data => (true, false, false, false),
            WatcherType::Children => (false, true, false, false),
            WatcherType::Any => (true, true, true, true),
            WatcherType::Persistent => (false, false, true, false),
            WatcherType::PersistentRecursive => (false, false, false, true),
        };
        if data {
            for w in take(&mut self.data, path).chain(take(&mut self.exist, path)) {
                fire(w, ev(EventType::DataWatchRemoved), jobs);
            }
        }
        if child {
            for w in take(&mut self.child, path) {
                fire(w, ev(EventType::ChildWatchRemoved), jobs);
            }
        }
        let mut removed = Vec::new();
        if persistent {
            removed.extend(self.persistent.remove(path).unwrap_or_default());
        }
        if recursive {
            removed.extend(self.recursive.remove(path).unwrap_or_default());
        }
        for tx in removed {
            let _ = tx.send(ev(EventType::PersistentWatchRemoved));
        }
    }

    /// Routes a notification (server path) to its watchers.
    pub fn on_event(
        &mut self,
        event_type: EventType,
        state: KeeperState,
        server_path: &str,
        jobs: &mpsc::UnboundedSender<Job>,
    ) {
        let event = WatchedEvent {
            event_type,
            state,
            path: self.chroot.strip(server_path),
        };
        let mut fired: Vec<Watcher> = Vec::new();
        match event_type {
            EventType::NodeCreated | EventType::NodeDataChanged => {
                fired.extend(take(&mut self.data, server_path));
                fired.extend(take(&mut self.exist, server_path));
            }
            EventType::NodeChildrenChanged => fired.extend(take(&mut self.child, server_path)),
            EventType::NodeDeleted => {
                fired.extend(take(&mut self.data, server_path));
                fired.extend(take(&mut self.exist, server_path));
                fired.extend(take(&mut self.child, server_path));
            }
            _ => {}
        }
        for w in fired {
            fire(w, event.clone(), jobs);
        }
        if event_type == EventType::None {
            return;
        }
        send_all(&mut self.persistent, server_path, &event);
        if event_type != EventType::NodeChildrenChanged {
            let mut p = server_path;
            loop {
                send_all(&mut self.recursive, p, &event);
                if p == "/" {
                    break;
                }
                p = match p.rfind('/') {
                    Some(0) => "/",
                    Some(i) => &p[..i],
                    None => break,
                };
            }
        }
    }

    /// Tells every watcher the session is over (`Expired`, `Closed` or
    /// `AuthFailed`) and forgets them.
    pub fn close_all(&mut self, state: KeeperState, jobs: &mpsc::UnboundedSender<Job>) {
        let event = WatchedEvent::session(state);
        for map in [&mut self.data, &mut self.exist, &mut self.child] {
            for (_, ws) in map.drain() {
                for w in ws {
                    fire(w, event.clone(), jobs);
                }
            }
        }
        for map in [&mut self.persistent, &mut self.recursive] {
            for (_, txs) in map.drain() {
                for tx in txs {
                    let _ = tx.send(event.clone());
                }
            }
        }
    }

    /// Number of watch registrations (for tests and tracing).
    pub fn len(&self) -> usize {
        [&self.data, &self.exist, &self.child]
            .iter()
            .map(|m| m.values().map(Vec::len).sum::<usize>())
            .sum::<usize>()
            + [&self.persistent, &self.recursive]
                .iter()
                .map(|m| m.values().map(Vec::len).sum::<usize>())
                .sum::<usize>()
    }

    /// The requests that re-register every watch after a reconnect,
    /// relative to `last_zxid`: SetWatches when there are only one-shot
    /// watches (understood by servers older than 3.6), SetWatches2
    /// otherwise; split so that each carries at most
    /// [`SET_WATCHES_MAX_LENGTH`] bytes of paths. Persistent watches whose
    /// stream was dropped are forgotten here instead of re-registered.
    pub fn set_watches(&mut self, last_zxid: i64) -> Vec<Request> {
        for map in [&mut self.persistent, &mut self.recursive] {
            map.retain(|_, txs| {
                txs.retain(|tx| !tx.is_closed());
                !txs.is_empty()
            });
        }
        for map in [&mut self.data, &mut self.exist, &mut self.child] {
            map.retain(|_, ws| {
                ws.retain(|w| !matches!(w, Watcher::Oneshot(tx) if tx.is_closed()));
                !ws.is_empty()
            });
        }
        let lists: [Vec<String>; 5] = [
            self.data.keys().cloned().collect(),
            self.exist.keys().cloned().collect(),
            self.child.keys().cloned().collect(),
            self.persistent.keys().cloned().collect(),
            self.recursive.keys().cloned().collect(),
        ];
        let use_v2 = !lists[3].is_empty() || !lists[4].is_empty();
        let mut out = Vec::new();
        let mut batch: [Vec<String>; 5] = Default::default();
        let mut len = 0usize;
        let flush = |batch: &mut [Vec<String>; 5], out: &mut Vec<Request>| {
            let [d, e, c, p, r] = std::mem::take(batch);
            out.push(if use_v2 {
                Request::SetWatches2(SetWatches2 {
                    relative_zxid: last_zxid,
                    data_watches: d,
                    exist_watches: e,
                    child_watches: c,
                    persistent_watches: p,
                    persistent_recursive_watches: r,
                })
            } else {
                Request::SetWatches(SetWatches {
                    relative_zxid: last_zxid,
                    data_watches: d,
                    exist_watches: e,
                    child_watches: c,
                })
            });
        };
        for (i, list) in lists.into_iter().enumerate() {
            for path in list {
                let n = path.len() + 4;
                if len > 0 && len + n > SET_WATCHES_MAX_LENGTH {
                    flush(&mut batch, &mut out);
                    len = 0;
                }
                len += n;
                batch[i].push(path);
            }
        }
        if len > 0 {
            flush(&mut batch, &mut out);
        }
        out
    }
}

fn take(map: &mut HashMap<String, Vec<Watcher>>, path: &str) -> std::vec::IntoIter<Watcher> {
    map.remove(path).unwrap_or_default().into_iter()
}

fn send_all(
    map: &mut HashMap<String, Vec<mpsc::UnboundedSender<WatchedEvent>>>,
    path: &str,
    event: &WatchedEvent,
) {
    if let Some(txs) = map.get_mut(path) {
        // A dropped stream is forgotten locally (the server keeps its watch
        // until `remove()` or the session ends; see `PersistentWatch`).
        txs.retain(|tx| tx.send(event.clone()).is_ok());
        if txs.is_empty() {
            map.remove(path);
        }
    }
}

fn fire(w: Watcher, event: WatchedEvent, jobs: &mpsc::UnboundedSender<Job>) {
    match w {
        Watcher::Oneshot(tx) => {
            let _ = tx.send(event);
        }
        Watcher::Callback(f) => {
            let _ = jobs.send(Box::new(move || f(event)));
        }
    }
}

/// A one-shot watch: a future resolving to the first event on its node
/// (`NodeCreated`, `NodeDeleted`, `NodeDataChanged`,
/// `NodeChildrenChanged`, or `DataWatchRemoved` / `ChildWatchRemoved` after
/// [`crate::Client::remove_watches`]). If the session ends first it
/// resolves with a session event (`event_type` `None`, state `Expired`,
/// `Closed` or `AuthFailed`). Connection losses do not resolve it: the
/// watch is re-registered on reconnection, and a change made meanwhile is
/// delivered then. Dropping it is fine (the server-side watch stays until it
/// fires).
#[must_use = "a Watch does nothing unless awaited"]
pub struct Watch {
    rx: oneshot::Receiver<WatchedEvent>,
    state: watch::Receiver<SessionState>,
}

impl Watch {
    pub(crate) fn new(
        rx: oneshot::Receiver<WatchedEvent>,
        state: watch::Receiver<SessionState>,
    ) -> Watch {
        Watch { rx, state }
    }
}

impl Future for Watch {
    type Output = WatchedEvent;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<WatchedEvent> {
        match Pin::new(&mut self.rx).poll(cx) {
            Poll::Ready(Ok(ev)) => Poll::Ready(ev),
            Poll::Ready(Err(_)) => {
                // The task forgot the watcher without firing it: only when it
                // ended abnormally. Report the end of the session.
                let state = match *self.state.borrow() {
                    SessionState::Closed => KeeperState::Closed,
                    SessionState::AuthFailed => KeeperState::AuthFailed,
                    _ => KeeperState::Expired,
                };
                Poll::Ready(WatchedEvent::session(state))
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

/// A persistent or persistent-recursive watch added with
/// [`crate::Client::add_watch`]: a `Stream` of every event on the node (or,
/// recursive, on the node and its descendants; recursive watches get no
/// `NodeChildrenChanged`). It survives reconnections.
///
/// After a session event (`Expired`, `Closed`, `AuthFailed`) or a
/// `PersistentWatchRemoved` event the stream ends. Connection losses are
/// not reported on the stream (see [`crate::Client::add_listener`]); events
/// that the server reports after a reconnection for a one-shot watch on the
/// same path (changes made while disconnected) are routed to the stream
/// too, once.
///
/// Dropping the stream does **not** remove the watch from the server: the
/// client forgets it locally (and does not re-register it after a
/// reconnection), but the server keeps sending its events until the session
/// ends. Call [`PersistentWatch::remove`] to remove it from the server.
pub struct PersistentWatch {
    pub(crate) rx: mpsc::UnboundedReceiver<WatchedEvent>,
    pub(crate) path: String,
    pub(crate) mode: corral_protocol::AddWatchMode,
    pub(crate) client: std::sync::Weak<crate::client::Inner>,
    pub(crate) done: bool,
}

impl Stream for PersistentWatch {
    type Item = WatchedEvent;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<WatchedEvent>> {
        if self.done {
            return Poll::Ready(None);
        }
        match self.rx.poll_recv(cx) {
            Poll::Ready(Some(ev)) => {
                if ev.is_session_event() || ev.event_type == EventType::PersistentWatchRemoved {
                    self.done = true;
                }
                Poll::Ready(Some(ev))
            }
            Poll::Ready(None) => {
                self.done = true;
                Poll::Ready(None)
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jobs() -> mpsc::UnboundedSender<Job> {
        mpsc::unbounded_channel().0
    }

    #[test]
    fn routes_like_zookeeper() {
        let j = jobs();
        let mut r = Registry::new(Chroot::new(Some("/app".into())));
        let (dtx, mut drx) = oneshot::channel();
        let (etx, mut erx) = oneshot::channel();
        let (ctx, mut crx) = oneshot::channel();
        r.on_reply(
            WatchReg::Data("/app/a".into(), Watcher::Oneshot(dtx)),
            0,
            &j,
        );
        r.on_reply(
            WatchReg::Exists("/app/b".into(), Watcher::Oneshot(etx)),
            -101,
            &j,
        );
        r.on_reply(
            WatchReg::Child("/app/a".into(), Watcher::Oneshot(ctx)),
            0,
            &j,
        );
        let (ptx, mut prx) = mpsc::unbounded_channel();
        r.on_reply(
            WatchReg::Persistent {
                path: "/app".into(),
                recursive: true,
                tx: ptx,
            },
            0,
            &j,
        );
        assert_eq!(r.len(), 4);
        r.on_event(
            EventType::NodeChildrenChanged,
            KeeperState::SyncConnected,
            "/app/a",
            &j,
        );
        assert_eq!(crx.try_recv().unwrap().path, "/a");
        assert!(
            prx.try_recv().is_err(),
            "recursive watches get no child events"
        );
        r.on_event(
            EventType::NodeCreated,
            KeeperState::SyncConnected,
            "/app/b",
            &j,
        );
        assert_eq!(erx.try_recv().unwrap().event_type, EventType::NodeCreated);
        assert_eq!(prx.try_recv().unwrap().path, "/b");
        assert!(drx.try_recv().is_err());
        r.on_event(
            EventType::NodeDeleted,
            KeeperState::SyncConnected,
            "/app/a",
            &j,
        );
        assert_eq!(drx.try_recv().unwrap().event_type, EventType::NodeDeleted);
        assert_eq!(r.len(), 1);
        r.close_all(KeeperState::Expired, &j);
        assert_eq!(prx.try_recv().unwrap().path, "/a");
        assert_eq!(
            prx.try_recv().unwrap(),
            WatchedEvent::session(KeeperState::Expired)
        );
        assert_eq!(r.len(), 0);
    }

    #[test]
    fn set_watches_batches() {
        let j = jobs();
        let mut r = Registry::new(Chroot::default());
        let mut keep = Vec::new();
        for i in 0..10_000 {
            let (tx, rx) = oneshot::channel();
            keep.push(rx);
            let p = format!("/some/fairly/long/path/for/watch/number/{i:06}");
            r.on_reply(WatchReg::Data(p, Watcher::Oneshot(tx)), 0, &j);
        }
        let reqs = r.set_watches(42);
        assert!(reqs.len() > 1);
        let mut total = 0;
        for req in &reqs {
            let Request::SetWatches(sw) = req else {
                panic!("expected SetWatches without persistent watches")
            };
            assert_eq!(sw.relative_zxid, 42);
            let bytes: usize = sw.data_watches.iter().map(|p| p.len() + 4).sum();
            assert!(bytes <= SET_WATCHES_MAX_LENGTH);
            total += sw.data_watches.len();
        }
        assert_eq!(total, 10_000);
        let (ptx, _prx) = mpsc::unbounded_channel();
        r.on_reply(
            WatchReg::Persistent {
                path: "/p".into(),
                recursive: false,
                tx: ptx,
            },
            0,
            &j,
        );
        assert!(matches!(r.set_watches(1)[0], Request::SetWatches2(_)));
        drop(keep);
        // Dropped one-shot futures are not re-registered.
        let reqs = r.set_watches(1);
        assert_eq!(reqs.len(), 1);
    }
}
