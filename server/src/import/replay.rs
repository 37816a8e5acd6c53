//! Replays ZooKeeper txns on a tree as ZooKeeper's `DataTree.processTxn`
//! and `FileTxnSnapLog.processTransaction` do when it restarts: the same
//! stat bookkeeping (the parent cversion carried by a create, pzxid only
//! moving forward), and the same tolerance of the fuzzy snapshot (a create
//! of a node that is already there, a delete of one that is gone: skipped).

use super::java::session_password;
use super::records::{op, CreateKind, TxnHeader, ZkTxn};
use crate::path;
use crate::tree::{ttl_owner, DataTree, SessionRecord, CONTAINER_OWNER};
use bytes::Bytes;
use corral_protocol::Acl;

/// What replaying did, for the summary.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ReplayStats {
    /// Txns applied (error txns and failed multis included: they take a zxid).
    pub txns: u64,
    /// `error` txns: failed requests, nothing to apply.
    pub errors: u64,
    /// Multis that failed as a whole (an error sub-txn): nothing applied.
    pub failed_multis: u64,
    /// Operations that found the tree already changed (the fuzzy
    /// snapshot already held them) and were skipped, as ZooKeeper does.
    pub conflicts: u64,
    /// Ephemerals of sessions that no longer exist, removed at the end as
    /// ZooKeeper does when it loads its data.
    pub dead_ephemerals: u64,
}

pub struct Replayer {
    pub tree: DataTree,
    pub stats: ReplayStats,
    scratch: Vec<crate::tree::Change>,
}

impl Replayer {
    pub fn new(tree: DataTree) -> Replayer {
        Replayer {
            tree,
            stats: ReplayStats::default(),
            scratch: Vec::new(),
        }
    }

    /// Applies one log entry.
    pub fn apply(&mut self, h: &TxnHeader, txn: &ZkTxn) {
        self.stats.txns += 1;
        match txn {
            ZkTxn::Error { .. } => self.stats.errors += 1,
            ZkTxn::Multi(subs) if subs.iter().any(|(o, _)| *o == op::ERROR) => {
                self.stats.failed_multis += 1
            }
            ZkTxn::Multi(subs) => {
                for (sub_op, sub) in subs {
                    self.apply_one(h, *sub_op, sub, true);
                }
            }
            _ => self.apply_one(h, h.op, txn, false),
        }
        if h.zxid > self.tree.last_zxid {
            self.tree.last_zxid = h.zxid;
        }
        self.scratch.clear();
    }

    fn apply_one(&mut self, h: &TxnHeader, op_code: i32, txn: &ZkTxn, sub: bool) {
        let done = match txn {
            ZkTxn::Create {
                path,
                data,
                acl,
                kind,
                parent_cversion,
            } => {
                let created = self.create(h, path, data, acl, *kind, *parent_cversion);
                if !created && !sub && op_code == op::CREATE && self.tree.get(path).is_some() {
                    // `processTxn`: a create found already done by the fuzzy
                    // snapshot still brings the parent's cversion up to date.
                    self.raise_cversion(path::parent(path), *parent_cversion, h.zxid);
                }
                created
            }
            ZkTxn::Delete { path } => self.delete(path, h.zxid),
            ZkTxn::SetData {
                path,
                data,
                version,
            } => {
                let found = self.tree.get(path).is_some();
                if found {
                    let (zxid, time) = (h.zxid, h.time);
                    let data = data.clone();
                    self.tree
                        .set_data(path, data, *version, zxid, time, &mut self.scratch);
                }
                found
            }
            ZkTxn::SetAcl { path, acl, version } => {
                let found = self.tree.get(path).is_some();
                if found {
                    let acl = self.tree.intern_acl(acl.clone());
                    self.tree.set_acl(path, acl, *version);
                }
                found
            }
            ZkTxn::CreateSession { timeout_ms } => {
                self.tree.sessions.insert(
                    h.client_id,
                    SessionRecord {
                        timeout_ms: *timeout_ms,
                        passwd: session_password(h.client_id),
                    },
                );
                true
            }
            ZkTxn::CloseSession => {
                self.tree.sessions.remove(&h.client_id);
                self.kill_ephemerals(h.client_id, h.zxid);
                true
            }
            ZkTxn::Check | ZkTxn::Error { .. } | ZkTxn::Multi(_) => true,
        };
        if !done {
            self.stats.conflicts += 1;
        }
    }

    /// `DataTree.createNode`; false when the parent is missing or the node
    /// exists.
    fn create(
        &mut self,
        h: &TxnHeader,
        p: &str,
        data: &Option<Bytes>,
        acl: &[Acl],
        kind: CreateKind,
        parent_cversion: i32,
    ) -> bool {
        if p == "/" || path::validate(p).is_err() || self.tree.get(p).is_some() {
            return false;
        }
        let parent_path = path::parent(p);
        let Some(parent) = self.tree.get(parent_path) else {
            return false;
        };
        let before = parent.stat;
        let cversion = match parent_cversion {
            -1 => before.cversion + 1,
            v => v,
        };
        let owner = match kind {
            CreateKind::Persistent => 0,
            CreateKind::Ephemeral => h.client_id,
            CreateKind::Container => CONTAINER_OWNER,
            CreateKind::Ttl(ttl) => ttl_owner(ttl),
        };
        let acl = self.tree.intern_acl(acl.to_vec());
        self.tree.create_node(
            p,
            data.clone(),
            acl,
            owner,
            cversion,
            h.zxid,
            h.time,
            &mut self.scratch,
        );
        // A replayed create older than what the snapshot shows of the
        // parent leaves the parent's cversion and pzxid alone.
        if cversion <= before.cversion {
            self.tree.set_node_stat(parent_path, before);
        }
        true
    }

    /// `DataTree.setCversionPzxid`.
    fn raise_cversion(&mut self, p: &str, cversion: i32, zxid: i64) {
        let Some(node) = self.tree.get(p) else {
            return;
        };
        let mut stat = node.stat;
        let cversion = match cversion {
            -1 => stat.cversion + 1,
            v => v,
        };
        if cversion > stat.cversion {
            stat.cversion = cversion;
            stat.pzxid = zxid;
            self.tree.set_node_stat(p, stat);
        }
    }

    /// `DataTree.deleteNode`. A node that still has children (which only a
    /// damaged log could cause) goes with them, as ZooKeeper's next
    /// snapshot would drop the orphans.
    fn delete(&mut self, p: &str, zxid: i64) -> bool {
        let Some(node) = self.tree.get(p) else {
            return false;
        };
        if p == "/" {
            return false;
        }
        let children: Vec<String> = node.children.names().map(|c| path::join(p, c)).collect();
        for child in children {
            self.delete(&child, zxid);
        }
        self.tree.delete_node(p, zxid, &mut self.scratch);
        true
    }

    /// `DataTree.killSession`: deletes the session's ephemerals.
    fn kill_ephemerals(&mut self, session: i64, zxid: i64) -> u64 {
        let paths: Vec<String> = self.tree.ephemerals_of(session).cloned().collect();
        let mut n = 0;
        for p in paths {
            if self.delete(&p, zxid) {
                n += 1;
            }
        }
        n
    }

    /// Ends the replay: ephemerals whose session is gone are deleted at the
    /// last zxid (`ZooKeeperServer.loadData` does the same).
    pub fn finish(mut self) -> (DataTree, ReplayStats) {
        let dead: Vec<i64> = self
            .tree
            .sessions_with_ephemerals()
            .map(|(s, _)| s)
            .filter(|s| !self.tree.sessions.contains_key(s))
            .collect();
        let zxid = self.tree.last_zxid;
        for session in dead {
            self.stats.dead_ephemerals += self.kill_ephemerals(session, zxid);
        }
        (self.tree, self.stats)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(client_id: i64, zxid: i64, op: i32) -> TxnHeader {
        TxnHeader {
            client_id,
            cxid: 0,
            zxid,
            time: 1000 + zxid,
            op,
        }
    }

    fn create(p: &str, kind: CreateKind, parent_cversion: i32) -> ZkTxn {
        ZkTxn::Create {
            path: p.into(),
            data: Some(Bytes::from_static(b"d")),
            acl: Acl::open_unsafe(),
            kind,
            parent_cversion,
        }
    }

    #[test]
    fn creates_deletes_and_sessions() {
        let mut r = Replayer::new(DataTree::new());
        r.apply(
            &header(7, 1, op::CREATE_SESSION),
            &ZkTxn::CreateSession { timeout_ms: 5000 },
        );
        r.apply(
            &header(7, 2, op::CREATE),
            &create("/a", CreateKind::Persistent, 2),
        );
        r.apply(
            &header(7, 3, op::CREATE),
            &create("/a/e", CreateKind::Ephemeral, 1),
        );
        r.apply(
            &header(7, 4, op::CREATE),
            &create("/a/t", CreateKind::Ttl(60), 2),
        );
        r.apply(
            &header(7, 5, op::DELETE),
            &ZkTxn::Delete {
                path: "/a/t".into(),
            },
        );
        let (tree, stats) = r.finish();
        let a = tree.get("/a").unwrap();
        assert_eq!((a.stat.cversion, a.stat.pzxid, a.children.len()), (2, 5, 1));
        assert_eq!(a.stat().cversion, 3, "2 creations, 1 deletion");
        assert_eq!(tree.get("/a/e").unwrap().stat.ephemeral_owner, 7);
        assert_eq!(tree.sessions[&7].passwd, session_password(7));
        assert_eq!((tree.last_zxid, stats.txns, stats.conflicts), (5, 5, 0));

        let mut r = Replayer::new(tree);
        r.apply(&header(7, 6, op::CLOSE_SESSION), &ZkTxn::CloseSession);
        let (tree, _) = r.finish();
        assert!(tree.get("/a/e").is_none() && tree.sessions.is_empty());
        assert_eq!(tree.get("/a").unwrap().stat.pzxid, 6);
    }

    #[test]
    fn fuzzy_replay_keeps_the_newer_parent_stat() {
        let mut r = Replayer::new(DataTree::new());
        r.apply(
            &header(0, 1, op::CREATE),
            &create("/a", CreateKind::Persistent, 2),
        );
        r.apply(
            &header(0, 2, op::CREATE),
            &create("/a/x", CreateKind::Persistent, 1),
        );
        r.apply(
            &header(0, 3, op::CREATE),
            &create("/a/y", CreateKind::Persistent, 2),
        );
        // Replayed again over a tree that already holds them: skipped, and
        // the parent's cversion and pzxid do not go back.
        r.apply(
            &header(0, 2, op::CREATE),
            &create("/a/x", CreateKind::Persistent, 1),
        );
        r.apply(
            &header(0, 4, op::DELETE),
            &ZkTxn::Delete {
                path: "/a/y".into(),
            },
        );
        r.apply(
            &header(0, 3, op::CREATE),
            &create("/a/y", CreateKind::Persistent, 2),
        );
        let (tree, stats) = r.finish();
        let a = tree.get("/a").unwrap();
        assert_eq!((a.stat.cversion, a.stat.pzxid), (2, 4));
        assert!(tree.get("/a/y").is_some());
        assert_eq!(stats.conflicts, 1);
    }

    #[test]
    fn failed_multi_changes_nothing_and_dead_sessions_lose_ephemerals() {
        let mut r = Replayer::new(DataTree::new());
        r.apply(
            &header(9, 1, op::CREATE),
            &create("/e", CreateKind::Ephemeral, 2),
        );
        let multi = ZkTxn::Multi(vec![
            (op::CREATE, create("/m", CreateKind::Persistent, 3)),
            (op::ERROR, ZkTxn::Error { code: -101 }),
        ]);
        r.apply(&header(9, 2, op::MULTI), &multi);
        let (tree, stats) = r.finish();
        assert!(tree.get("/m").is_none());
        assert!(tree.get("/e").is_none(), "session 9 was never created");
        assert_eq!((stats.failed_multis, stats.dead_ephemerals), (1, 1));
        assert_eq!(tree.get("/").unwrap().stat.pzxid, 2);
    }
}
