//! Watches held by this server's connections, as ZooKeeper keeps them: two
//! managers (data and child), each mapping a path to its watchers with a
//! mode per (watcher, path). A persistent or recursive watch (addWatch) is
//! registered in both; a one-shot watch in one.

use crate::path;
use crate::tree::Change;
use bytes::Bytes;
use corral_protocol::{
    xid, Encode, EventType, KeeperState, ReplyHeader, WatcherEvent, WatcherType, Writer,
};
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

/// `WatcherMode`: one-shot, or staying after it fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WatchMode {
    Standard,
    Persistent,
    PersistentRecursive,
}

/// One of ZooKeeper's two `WatchManager`s.
#[derive(Default)]
struct Table {
    by_path: HashMap<String, HashMap<ConnId, WatchMode>>,
    by_conn: HashMap<ConnId, HashSet<String>>,
    recursive: usize,
}

impl Table {
    /// Adds or re-modes a watch; a later watch on the same path replaces
    /// the earlier one's mode, as in ZooKeeper.
    fn add(&mut self, conn: ConnId, p: &str, mode: WatchMode) {
        let previous = self
            .by_path
            .entry(p.to_owned())
            .or_default()
            .insert(conn, mode);
        if previous == Some(WatchMode::PersistentRecursive) {
            self.recursive -= 1;
        }
        if mode == WatchMode::PersistentRecursive {
            self.recursive += 1;
        }
        self.by_conn.entry(conn).or_default().insert(p.to_owned());
    }

    fn mode(&self, conn: ConnId, p: &str) -> Option<WatchMode> {
        self.by_path.get(p).and_then(|m| m.get(&conn).copied())
    }

    /// Removes `conn`'s watch on `p` if its mode passes `filter`.
    fn remove(&mut self, conn: ConnId, p: &str, filter: impl Fn(WatchMode) -> bool) -> bool {
        let Some(watchers) = self.by_path.get_mut(p) else {
            return false;
        };
        match watchers.get(&conn) {
            Some(mode) if filter(*mode) => {
                if *mode == WatchMode::PersistentRecursive {
                    self.recursive -= 1;
                }
                watchers.remove(&conn);
            }
            _ => return false,
        }
        if watchers.is_empty() {
            self.by_path.remove(p);
        }
        if let Some(paths) = self.by_conn.get_mut(&conn) {
            paths.remove(p);
        }
        true
    }

    fn remove_conn(&mut self, conn: ConnId) {
        for p in self.by_conn.remove(&conn).unwrap_or_default() {
            if let Some(watchers) = self.by_path.get_mut(&p) {
                if watchers.remove(&conn) == Some(WatchMode::PersistentRecursive) {
                    self.recursive -= 1;
                }
                if watchers.is_empty() {
                    self.by_path.remove(&p);
                }
            }
        }
    }

    /// `WatchManager.triggerWatch`: collects who hears of `event` on `p`,
    /// dropping fired one-shot watches. Recursive watches on `p` and its
    /// ancestors hear every event but NodeChildrenChanged.
    fn trigger(&mut self, p: &str, event: EventType, out: &mut Vec<ConnId>) {
        let ancestors = (self.recursive > 0)
            .then(|| path::ancestors(p))
            .into_iter()
            .flatten();
        for (i, at) in std::iter::once(p).chain(ancestors).enumerate() {
            let at_parent = i > 0;
            let Some(watchers) = self.by_path.get_mut(at) else {
                continue;
            };
            let mut fired_once = Vec::new();
            for (conn, mode) in watchers.iter() {
                match mode {
                    WatchMode::PersistentRecursive => {
                        if event != EventType::NodeChildrenChanged {
                            out.push(*conn);
                        }
                    }
                    _ if at_parent => {}
                    WatchMode::Persistent => out.push(*conn),
                    WatchMode::Standard => {
                        out.push(*conn);
                        fired_once.push(*conn);
                    }
                }
            }
            for conn in fired_once {
                watchers.remove(&conn);
                if let Some(paths) = self.by_conn.get_mut(&conn) {
                    paths.remove(at);
                }
            }
            if watchers.is_empty() {
                self.by_path.remove(at);
            }
        }
    }

    fn count(&self) -> usize {
        self.by_path.values().map(HashMap::len).sum()
    }
}

#[derive(Default)]
pub struct WatchManager {
    data: Table,
    child: Table,
    outboxes: HashMap<ConnId, Outbox>,
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
        self.outboxes.insert(conn, outbox);
    }

    /// Drops every watch of a closed connection.
    pub fn remove_connection(&mut self, conn: ConnId) {
        self.outboxes.remove(&conn);
        self.data.remove_conn(conn);
        self.child.remove_conn(conn);
    }

    /// A getData or exists watch.
    pub fn add_data(&mut self, conn: ConnId, p: &str) {
        if self.outboxes.contains_key(&conn) {
            self.data.add(conn, p, WatchMode::Standard);
        }
    }

    /// A getChildren watch.
    pub fn add_child(&mut self, conn: ConnId, p: &str) {
        if self.outboxes.contains_key(&conn) {
            self.child.add(conn, p, WatchMode::Standard);
        }
    }

    /// An addWatch watch: registered with both managers.
    pub fn add_persistent(&mut self, conn: ConnId, p: &str, recursive: bool) {
        if self.outboxes.contains_key(&conn) {
            let mode = if recursive {
                WatchMode::PersistentRecursive
            } else {
                WatchMode::Persistent
            };
            self.data.add(conn, p, mode);
            self.child.add(conn, p, mode);
        }
    }

    /// `checkWatches`: whether the connection has a watch of that type on `p`.
    pub fn contains(&self, conn: ConnId, kind: WatcherType, p: &str) -> bool {
        let data = self.data.mode(conn, p);
        let child = self.child.mode(conn, p);
        match kind {
            WatcherType::Children => child.is_some(),
            WatcherType::Data => data.is_some(),
            WatcherType::Any => data.is_some() || child.is_some(),
            WatcherType::Persistent => [data, child].contains(&Some(WatchMode::Persistent)),
            WatcherType::PersistentRecursive => {
                [data, child].contains(&Some(WatchMode::PersistentRecursive))
            }
        }
    }

    /// `removeWatches`: false if there was no such watch.
    pub fn remove(&mut self, conn: ConnId, kind: WatcherType, p: &str) -> bool {
        let any = |_: WatchMode| true;
        match kind {
            WatcherType::Children => self.child.remove(conn, p, any),
            WatcherType::Data => self.data.remove(conn, p, any),
            WatcherType::Any => {
                let child = self.child.remove(conn, p, any);
                self.data.remove(conn, p, any) | child
            }
            WatcherType::Persistent | WatcherType::PersistentRecursive => {
                let wanted = if kind == WatcherType::Persistent {
                    WatchMode::Persistent
                } else {
                    WatchMode::PersistentRecursive
                };
                let child = self.child.remove(conn, p, |m| m == wanted);
                self.data.remove(conn, p, |m| m == wanted) | child
            }
        }
    }

    /// Sends the notifications a change causes (`DataTree`'s triggers).
    pub fn trigger(&mut self, change: &Change) {
        let p = change.path.as_str();
        let mut targets: Vec<ConnId> = Vec::new();
        match change.event {
            EventType::NodeCreated | EventType::NodeDataChanged => {
                self.data.trigger(p, change.event, &mut targets);
            }
            EventType::NodeDeleted => {
                self.data.trigger(p, change.event, &mut targets);
                self.child.trigger(p, change.event, &mut targets);
            }
            EventType::NodeChildrenChanged => self.child.trigger(p, change.event, &mut targets),
            _ => {}
        }
        if targets.is_empty() {
            return;
        }
        targets.sort_unstable();
        targets.dedup();
        let frame = notification(change.event, KeeperState::SyncConnected, p);
        for conn in targets {
            if let Some(outbox) = self.outboxes.get(&conn) {
                let _ = outbox.send(Outbound::Frame(frame.clone()));
            }
        }
    }

    /// Sends one notification to one connection (SetWatches catch-up).
    pub fn notify(&self, conn: ConnId, event: EventType, p: &str) {
        if let Some(outbox) = self.outboxes.get(&conn) {
            let frame = notification(event, KeeperState::SyncConnected, p);
            let _ = outbox.send(Outbound::Frame(frame));
        }
    }

    /// Watches in both managers, counted as ZooKeeper's `wchs` does.
    pub fn watch_count(&self) -> usize {
        self.data.count() + self.child.count()
    }

    pub fn watched_path_count(&self) -> usize {
        self.data
            .by_path
            .keys()
            .chain(self.child.by_path.keys())
            .collect::<HashSet<_>>()
            .len()
    }

    pub fn connections_with_watches(&self) -> usize {
        self.data
            .by_conn
            .iter()
            .chain(self.child.by_conn.iter())
            .filter(|(_, paths)| !paths.is_empty())
            .map(|(c, _)| c)
            .collect::<HashSet<_>>()
            .len()
    }

    /// The paths each connection watches in the data manager: what
    /// ZooKeeper's `wchs`, `wchc` and `wchp` list (getData/exists and
    /// persistent watches; getChildren watches live in the child manager
    /// only and are not shown there).
    pub fn data_watches(&self) -> impl Iterator<Item = (ConnId, &HashSet<String>)> {
        self.data.by_conn.iter().map(|(conn, paths)| (*conn, paths))
    }

    /// Paths watched by each connection (`wchc`).
    pub fn by_connection(&self) -> Vec<(ConnId, Vec<String>)> {
        let mut map: HashMap<ConnId, HashSet<&String>> = HashMap::new();
        for table in [&self.data, &self.child] {
            for (conn, paths) in &table.by_conn {
                map.entry(*conn).or_default().extend(paths);
            }
        }
        let mut out: Vec<(ConnId, Vec<String>)> = map
            .into_iter()
            .filter(|(_, paths)| !paths.is_empty())
            .map(|(c, paths)| {
                let mut v: Vec<String> = paths.into_iter().cloned().collect();
                v.sort();
                (c, v)
            })
            .collect();
        out.sort();
        out
    }

    /// Connections watching each path (`wchp`).
    pub fn by_path(&self) -> Vec<(String, Vec<ConnId>)> {
        let mut map: HashMap<&String, HashSet<ConnId>> = HashMap::new();
        for table in [&self.data, &self.child] {
            for (p, watchers) in &table.by_path {
                map.entry(p).or_default().extend(watchers.keys());
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
    use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver};

    fn change(p: &str, event: EventType) -> Change {
        Change {
            path: p.into(),
            event,
        }
    }

    fn manager() -> (WatchManager, UnboundedReceiver<Outbound>) {
        let mut wm = WatchManager::default();
        let (tx, rx) = unbounded_channel();
        wm.add_connection(1, tx);
        (wm, rx)
    }

    fn count(rx: &mut UnboundedReceiver<Outbound>) -> usize {
        std::iter::from_fn(|| rx.try_recv().ok()).count()
    }

    #[test]
    fn one_shot_fires_once_persistent_stays() {
        let (mut wm, mut rx) = manager();
        wm.add_data(1, "/a");
        wm.trigger(&change("/a", EventType::NodeDataChanged));
        wm.trigger(&change("/a", EventType::NodeDataChanged));
        assert_eq!(count(&mut rx), 1);
        wm.add_persistent(1, "/a", false);
        wm.trigger(&change("/a", EventType::NodeDataChanged));
        wm.trigger(&change("/a", EventType::NodeChildrenChanged));
        assert_eq!(count(&mut rx), 2);
    }

    #[test]
    fn deletion_is_reported_once_to_a_data_and_child_watcher() {
        let (mut wm, mut rx) = manager();
        wm.add_data(1, "/a");
        wm.add_child(1, "/a");
        wm.trigger(&change("/a", EventType::NodeDeleted));
        assert_eq!(count(&mut rx), 1);
        assert_eq!(wm.watch_count(), 0);
    }

    #[test]
    fn recursive_sees_descendants_but_not_child_events() {
        let (mut wm, mut rx) = manager();
        wm.add_persistent(1, "/a", true);
        wm.trigger(&change("/a/b/c", EventType::NodeCreated));
        assert_eq!(count(&mut rx), 1);
        wm.trigger(&change("/a", EventType::NodeChildrenChanged));
        assert_eq!(count(&mut rx), 0);
        wm.add_child(1, "/x");
        wm.trigger(&change("/x/y", EventType::NodeDeleted));
        assert_eq!(
            count(&mut rx),
            0,
            "child watch on an ancestor is not recursive"
        );
        wm.remove_connection(1);
        assert_eq!(wm.watch_count(), 0);
    }

    #[test]
    fn persistent_watch_is_removed_per_manager() {
        let (mut wm, _rx) = manager();
        wm.add_persistent(1, "/a", false);
        assert!(wm.remove(1, WatcherType::Data, "/a"));
        assert!(wm.contains(1, WatcherType::Children, "/a"));
        assert!(wm.remove(1, WatcherType::Children, "/a"));
        assert!(!wm.remove(1, WatcherType::Any, "/a"));
    }
}
