//! Watches held by this server's connections: one-shot data/exist and child
//! watches, persistent and persistent-recursive watches (`WatchManager`).

use crate::path;
use crate::tree::Change;
use bytes::Bytes;
use corral_protocol::{xid, Encode, EventType, KeeperState, ReplyHeader, WatcherEvent, Writer};
use std::collections::{HashMap, HashSet};
use tokio::sync::mpsc::UnboundedSender;

pub type ConnId = u64;

/// What a connection's writer task is sent.
#[derive(Debug)]
pub enum Outbound {
    Frame(Bytes),
    /// Flush what came before, then close the connection.
    Close,
}

pub type Outbox = UnboundedSender<Outbound>;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WatchKind {
    /// getData / exists watches (ZooKeeper keeps both as data watches).
    Data,
    Child,
    Persistent,
    PersistentRecursive,
}

impl WatchKind {
    pub const ALL: [WatchKind; 4] = [
        WatchKind::Data,
        WatchKind::Child,
        WatchKind::Persistent,
        WatchKind::PersistentRecursive,
    ];

    fn index(self) -> usize {
        self as usize
    }
}

struct ConnWatches {
    outbox: Outbox,
    paths: [HashSet<String>; 4],
}

#[derive(Default)]
pub struct WatchManager {
    tables: [HashMap<String, HashSet<ConnId>>; 4],
    conns: HashMap<ConnId, ConnWatches>,
}

/// Encodes a notification frame (xid -1, zxid -1) for `event` on `path`.
pub fn notification(event: EventType, state: KeeperState, path: &str) -> Bytes {
    let mut w = Writer::with_capacity(32 + path.len());
    w.write_i32(0);
    ReplyHeader {
        xid: xid::NOTIFICATION,
        zxid: -1,
        err: 0,
    }
    .encode(&mut w);
    WatcherEvent {
        event_type: event as i32,
        state: state as i32,
        path: path.to_owned(),
    }
    .encode(&mut w);
    let len = (w.buf.len() - 4) as i32;
    w.buf[..4].copy_from_slice(&len.to_be_bytes());
    Bytes::from(w.into_inner())
}

impl WatchManager {
    pub fn add_connection(&mut self, conn: ConnId, outbox: Outbox) {
        self.conns.insert(
            conn,
            ConnWatches {
                outbox,
                paths: Default::default(),
            },
        );
    }

    /// Drops every watch of a closed connection.
    pub fn remove_connection(&mut self, conn: ConnId) {
        let Some(entry) = self.conns.remove(&conn) else {
            return;
        };
        for kind in WatchKind::ALL {
            for p in &entry.paths[kind.index()] {
                self.unindex(kind, p, conn);
            }
        }
    }

    fn unindex(&mut self, kind: WatchKind, p: &str, conn: ConnId) {
        let table = &mut self.tables[kind.index()];
        if let Some(set) = table.get_mut(p) {
            set.remove(&conn);
            if set.is_empty() {
                table.remove(p);
            }
        }
    }

    pub fn add(&mut self, conn: ConnId, kind: WatchKind, p: &str) {
        let Some(entry) = self.conns.get_mut(&conn) else {
            return;
        };
        if entry.paths[kind.index()].insert(p.to_owned()) {
            self.tables[kind.index()]
                .entry(p.to_owned())
                .or_default()
                .insert(conn);
        }
    }

    pub fn contains(&self, conn: ConnId, kind: WatchKind, p: &str) -> bool {
        self.conns
            .get(&conn)
            .is_some_and(|e| e.paths[kind.index()].contains(p))
    }

    /// Removes one watch; false if the connection had none of that kind there.
    pub fn remove(&mut self, conn: ConnId, kind: WatchKind, p: &str) -> bool {
        let removed = self
            .conns
            .get_mut(&conn)
            .is_some_and(|e| e.paths[kind.index()].remove(p));
        if removed {
            self.unindex(kind, p, conn);
        }
        removed
    }

    /// Sends the notifications a change causes and drops fired one-shot watches.
    pub fn trigger(&mut self, change: &Change) {
        let p = change.path.as_str();
        let mut targets: Vec<ConnId> = Vec::new();
        let take = |this: &mut Self, kind: WatchKind, targets: &mut Vec<ConnId>| {
            if let Some(set) = this.tables[kind.index()].remove(p) {
                for conn in set {
                    if let Some(e) = this.conns.get_mut(&conn) {
                        e.paths[kind.index()].remove(p);
                    }
                    targets.push(conn);
                }
            }
        };
        match change.event {
            EventType::NodeCreated | EventType::NodeDataChanged => {
                take(self, WatchKind::Data, &mut targets);
            }
            EventType::NodeDeleted => {
                take(self, WatchKind::Data, &mut targets);
                take(self, WatchKind::Child, &mut targets);
            }
            EventType::NodeChildrenChanged => take(self, WatchKind::Child, &mut targets),
            _ => {}
        }
        if let Some(set) = self.tables[WatchKind::Persistent.index()].get(p) {
            targets.extend(set.iter().copied());
        }
        if change.event != EventType::NodeChildrenChanged {
            let recursive = &self.tables[WatchKind::PersistentRecursive.index()];
            if !recursive.is_empty() {
                for at in std::iter::once(p).chain(path::ancestors(p)) {
                    if let Some(set) = recursive.get(at) {
                        targets.extend(set.iter().copied());
                    }
                }
            }
        }
        if targets.is_empty() {
            return;
        }
        targets.sort_unstable();
        targets.dedup();
        let frame = notification(change.event, KeeperState::SyncConnected, p);
        for conn in targets {
            if let Some(e) = self.conns.get(&conn) {
                let _ = e.outbox.send(Outbound::Frame(frame.clone()));
            }
        }
    }

    /// Sends one notification to one connection (SetWatches catch-up).
    pub fn notify(&self, conn: ConnId, event: EventType, p: &str) {
        if let Some(e) = self.conns.get(&conn) {
            let frame = notification(event, KeeperState::SyncConnected, p);
            let _ = e.outbox.send(Outbound::Frame(frame));
        }
    }

    pub fn watch_count(&self) -> usize {
        self.tables
            .iter()
            .map(|t| t.values().map(HashSet::len).sum::<usize>())
            .sum()
    }

    pub fn watched_path_count(&self) -> usize {
        self.tables
            .iter()
            .flat_map(|t| t.keys())
            .collect::<HashSet<_>>()
            .len()
    }

    pub fn connections_with_watches(&self) -> usize {
        self.conns
            .values()
            .filter(|e| e.paths.iter().any(|s| !s.is_empty()))
            .count()
    }

    /// Paths watched by each connection (`wchc`).
    pub fn by_connection(&self) -> Vec<(ConnId, Vec<String>)> {
        let mut out: Vec<(ConnId, Vec<String>)> = self
            .conns
            .iter()
            .map(|(c, e)| {
                let mut paths: Vec<String> = e.paths.iter().flatten().cloned().collect();
                paths.sort();
                paths.dedup();
                (*c, paths)
            })
            .filter(|(_, p)| !p.is_empty())
            .collect();
        out.sort();
        out
    }

    /// Connections watching each path (`wchp`).
    pub fn by_path(&self) -> Vec<(String, Vec<ConnId>)> {
        let mut map: HashMap<&String, HashSet<ConnId>> = HashMap::new();
        for t in &self.tables {
            for (p, set) in t {
                map.entry(p).or_default().extend(set);
            }
        }
        let mut out: Vec<(String, Vec<ConnId>)> = map
            .into_iter()
            .map(|(p, s)| {
                let mut v: Vec<ConnId> = s.into_iter().collect();
                v.sort();
                (p.clone(), v)
            })
            .collect();
        out.sort();
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::sync::mpsc::unbounded_channel;

    fn change(p: &str, event: EventType) -> Change {
        Change {
            path: p.into(),
            event,
        }
    }

    #[test]
    fn one_shot_fires_once_and_persistent_stays() {
        let mut wm = WatchManager::default();
        let (tx, mut rx) = unbounded_channel();
        wm.add_connection(1, tx);
        wm.add(1, WatchKind::Data, "/a");
        wm.add(1, WatchKind::Persistent, "/a");
        wm.trigger(&change("/a", EventType::NodeDataChanged));
        assert!(rx.try_recv().is_ok(), "one event");
        assert!(rx.try_recv().is_err(), "deduplicated");
        assert!(!wm.contains(1, WatchKind::Data, "/a"));
        wm.trigger(&change("/a", EventType::NodeDataChanged));
        assert!(rx.try_recv().is_ok(), "persistent fires again");
    }

    #[test]
    fn recursive_sees_descendants_but_not_child_events() {
        let mut wm = WatchManager::default();
        let (tx, mut rx) = unbounded_channel();
        wm.add_connection(1, tx);
        wm.add(1, WatchKind::PersistentRecursive, "/a");
        wm.trigger(&change("/a/b/c", EventType::NodeCreated));
        assert!(rx.try_recv().is_ok());
        wm.trigger(&change("/a", EventType::NodeChildrenChanged));
        assert!(rx.try_recv().is_err());
        wm.remove_connection(1);
        assert_eq!(wm.watch_count(), 0);
    }
}
