//! The data tree: znodes with ZooKeeper's exact `Stat` bookkeeping, the
//! ephemerals of each session, container and TTL nodes. Mutations here are
//! unchecked; `apply` validates requests before calling them.

use crate::path;
use bytes::Bytes;
use corral_protocol::{Acl, EventType, Stat};
use imbl::{HashMap, OrdSet};
use std::sync::Arc;

mod children;
pub use children::{Children, Name};

/// `ephemeralOwner` of a container node (`EphemeralType.CONTAINER`).
pub const CONTAINER_OWNER: i64 = i64::MIN;
/// High byte of `ephemeralOwner` marking a TTL node (`EphemeralType.TTL`).
const TTL_MARKER: i64 = 0xFF << 56;
/// Largest TTL that fits in the owner field (`EphemeralType.MAX_EXTENDED_TTL`).
pub const MAX_TTL: i64 = 0x00FF_FFFF_FFFF;

pub fn ttl_owner(ttl: i64) -> i64 {
    TTL_MARKER | ttl
}

/// The TTL of a TTL node, from its owner field.
pub fn ttl_of(owner: i64) -> Option<i64> {
    (owner != CONTAINER_OWNER && owner & TTL_MARKER == TTL_MARKER).then_some(owner & MAX_TTL)
}

/// What the server keeps of a node's stat (`StatPersisted`). `cversion`
/// here counts child creations only (sequence numbers come from it); the
/// cversion clients see is derived in [`Node::stat`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NodeStat {
    pub czxid: i64,
    pub mzxid: i64,
    pub ctime: i64,
    pub mtime: i64,
    pub version: i32,
    pub cversion: i32,
    pub aversion: i32,
    pub ephemeral_owner: i64,
    pub pzxid: i64,
}

/// A znode. Cloning is cheap (shared buffers; children are shared
/// `Arc`s), and the tree is persistent: a snapshot holds the old root and
/// writes copy only the nodes on the path they change.
#[derive(Debug, Clone, Default)]
pub struct Node {
    pub data: Option<Bytes>,
    pub acl: Arc<Vec<Acl>>,
    pub stat: NodeStat,
    pub children: Children,
}

/// A session as the replicated state knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    pub timeout_ms: i32,
    pub passwd: Vec<u8>,
}

/// A change that watchers may be told about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub path: String,
    pub event: EventType,
}

impl Node {
    /// The stat clients see (`DataNode.copyStat`): every child creation
    /// except for those still present has a matching deletion, so the
    /// visible cversion is `2 * creations - children`; container and TTL
    /// markers show as owner 0.
    pub fn stat(&self) -> Stat {
        let s = &self.stat;
        let children = self.children.len() as i32;
        Stat {
            czxid: s.czxid,
            mzxid: s.mzxid,
            ctime: s.ctime,
            mtime: s.mtime,
            version: s.version,
            cversion: s.cversion.wrapping_mul(2).wrapping_sub(children),
            aversion: s.aversion,
            ephemeral_owner: self.ephemeral_session().unwrap_or(0),
            data_length: self.data.as_ref().map_or(0, |d| d.len() as i32),
            num_children: children,
            pzxid: s.pzxid,
        }
    }

    /// The session owning this node, if it is a plain ephemeral.
    pub fn ephemeral_session(&self) -> Option<i64> {
        session_of(self.stat.ephemeral_owner)
    }
}

/// The session an `ephemeralOwner` value names, if it names one (not a
/// container or TTL marker).
fn session_of(owner: i64) -> Option<i64> {
    (owner != 0 && owner != CONTAINER_OWNER && ttl_of(owner).is_none()).then_some(owner)
}

/// The names along a path below the root (none for `/`).
fn components(path: &str) -> impl Iterator<Item = &str> {
    path.split('/').filter(|c| !c.is_empty())
}

/// The replicated state: a persistent tree of znodes from the root down,
/// so `clone` is O(1) and shares structure, which is how snapshots are
/// taken without stopping writes. A path is looked up name by name.
#[derive(Debug, Clone)]
pub struct DataTree {
    root: Arc<Node>,
    node_count: usize,
    ephemerals: HashMap<i64, OrdSet<String>>,
    containers: OrdSet<String>,
    ttls: OrdSet<String>,
    pub sessions: HashMap<i64, SessionRecord>,
    /// Each distinct ACL list once, shared by the nodes that use it (as
    /// ZooKeeper's ACL cache). Entries are never dropped: distinct ACL
    /// lists are few in practice.
    acls: HashMap<Vec<Acl>, Arc<Vec<Acl>>>,
    /// Zxid of the last applied txn.
    pub last_zxid: i64,
}

impl Default for DataTree {
    fn default() -> Self {
        DataTree::new()
    }
}

impl DataTree {
    fn empty() -> DataTree {
        DataTree {
            root: Arc::new(Node::default()),
            node_count: 1,
            ephemerals: HashMap::new(),
            containers: OrdSet::new(),
            ttls: OrdSet::new(),
            sessions: HashMap::new(),
            acls: HashMap::new(),
            last_zxid: 0,
        }
    }

    /// A fresh tree: `/`, `/zookeeper`, `/zookeeper/quota` and
    /// `/zookeeper/config`, as a new ZooKeeper has them.
    pub fn new() -> DataTree {
        let mut tree = DataTree::empty();
        let open = tree.intern_acl(Acl::open_unsafe());
        let blank = |acl: &Arc<Vec<Acl>>| Node {
            data: Some(Bytes::new()),
            acl: acl.clone(),
            ..Node::default()
        };
        tree.root = Arc::new(blank(&open));
        for (path, acl) in [
            ("/zookeeper", open.clone()),
            ("/zookeeper/quota", open.clone()),
            ("/zookeeper/config", tree.intern_acl(Acl::read_unsafe())),
        ] {
            let mut node = blank(&acl);
            if path == "/zookeeper/config" {
                // As ZooKeeper creates it (`DataTree.addConfigNode`).
                node.stat.aversion = -1;
            }
            assert!(tree.attach(path, node), "parent inserted first");
            tree.node_count += 1;
        }
        tree
    }

    /// The shared copy of an ACL list.
    pub fn intern_acl(&mut self, acl: Vec<Acl>) -> Arc<Vec<Acl>> {
        if let Some(shared) = self.acls.get(&acl) {
            return shared.clone();
        }
        let shared = Arc::new(acl.clone());
        self.acls.insert(acl, shared.clone());
        shared
    }

    /// The shared copy of an ACL list that may already be shared elsewhere.
    fn intern_shared_acl(&mut self, acl: Arc<Vec<Acl>>) -> Arc<Vec<Acl>> {
        if let Some(shared) = self.acls.get(acl.as_ref()) {
            return shared.clone();
        }
        self.acls.insert(acl.to_vec(), acl.clone());
        acl
    }

    /// Every distinct ACL list the nodes share.
    pub fn acl_lists(&self) -> impl Iterator<Item = &Arc<Vec<Acl>>> {
        self.acls.values()
    }

    pub fn get(&self, path: &str) -> Option<&Node> {
        let mut node: &Node = &self.root;
        for name in components(path) {
            node = node.children.get(name)?;
        }
        Some(node)
    }

    /// The node at `path`, copied first where a snapshot still shares it.
    fn get_mut(&mut self, path: &str) -> Option<&mut Node> {
        let mut node: &mut Node = Arc::make_mut(&mut self.root);
        for name in components(path) {
            node = Arc::make_mut(node.children.get_mut(name)?);
        }
        Some(node)
    }

    /// Puts `node` (whose own children are kept) under its parent; false
    /// (and the node dropped) if the parent does not exist.
    fn attach(&mut self, path: &str, node: Node) -> bool {
        let Some(parent) = self.get_mut(path::parent(path)) else {
            return false;
        };
        parent.children.insert(path::name(path), Arc::new(node));
        true
    }

    pub fn node_count(&self) -> usize {
        self.node_count
    }

    pub fn ephemerals_of(&self, session: i64) -> impl Iterator<Item = &String> {
        self.ephemerals.get(&session).into_iter().flatten()
    }

    /// Each session that owns ephemerals, with their paths (`dump`).
    pub fn sessions_with_ephemerals(&self) -> impl Iterator<Item = (i64, &OrdSet<String>)> {
        self.ephemerals.iter().map(|(s, paths)| (*s, paths))
    }

    pub fn ephemeral_count(&self) -> usize {
        self.ephemerals.values().map(OrdSet::len).sum()
    }

    pub fn containers(&self) -> impl Iterator<Item = &String> {
        self.containers.iter()
    }

    pub fn ttl_nodes(&self) -> impl Iterator<Item = &String> {
        self.ttls.iter()
    }

    /// Total size of paths and data, as `mntr`'s `zk_approximate_data_size`.
    pub fn approximate_data_size(&self) -> usize {
        /// `prefix_len`: the length of the node's path with a trailing `/`.
        fn walk(node: &Node, path_len: usize, prefix_len: usize) -> usize {
            let own = path_len + node.data.as_ref().map_or(0, Bytes::len);
            let below: usize = node
                .children
                .iter()
                .map(|(name, child)| {
                    let len = prefix_len + name.len();
                    walk(child, len, len + 1)
                })
                .sum();
            own + below
        }
        walk(&self.root, 1, 1)
    }

    /// Number of nodes below `path` (not counting it).
    pub fn descendant_count(&self, path: &str) -> usize {
        fn count(node: &Node) -> usize {
            node.children.iter().map(|(_, c)| 1 + count(c)).sum()
        }
        self.get(path).map_or(0, count)
    }

    /// Adds a node under an existing parent and updates the parent's
    /// cversion/pzxid. `parent_cversion` is the new cversion of the parent.
    #[allow(clippy::too_many_arguments)]
    pub fn create_node(
        &mut self,
        path: &str,
        data: Option<Bytes>,
        acl: Arc<Vec<Acl>>,
        ephemeral_owner: i64,
        parent_cversion: i32,
        zxid: i64,
        time: i64,
        changes: &mut Vec<Change>,
    ) -> Stat {
        let node = Node {
            data,
            acl,
            stat: NodeStat {
                czxid: zxid,
                mzxid: zxid,
                ctime: time,
                mtime: time,
                version: 0,
                cversion: 0,
                aversion: 0,
                ephemeral_owner,
                pzxid: zxid,
            },
            children: Children::default(),
        };
        let stat = node.stat();
        self.index_owner(path, node.stat.ephemeral_owner);
        let parent_path = path::parent(path);
        let parent = self.get_mut(parent_path).expect("parent checked");
        parent.children.insert(path::name(path), Arc::new(node));
        parent.stat.cversion = parent_cversion;
        parent.stat.pzxid = zxid;
        self.node_count += 1;
        changes.push(Change {
            path: path.to_owned(),
            event: EventType::NodeCreated,
        });
        changes.push(Change {
            path: parent_path.to_owned(),
            event: EventType::NodeChildrenChanged,
        });
        stat
    }

    /// Removes a leaf node; returns it so a failed multi can put it back.
    /// The parent's (creation-counting) cversion is left alone.
    pub fn delete_node(&mut self, path: &str, zxid: i64, changes: &mut Vec<Change>) -> Node {
        let parent_path = path::parent(path);
        let parent = self.get_mut(parent_path).expect("parent checked");
        let node = parent
            .children
            .remove(path::name(path))
            .expect("node checked");
        if zxid > parent.stat.pzxid {
            parent.stat.pzxid = zxid;
        }
        let node = Arc::try_unwrap(node).unwrap_or_else(|shared| (*shared).clone());
        self.node_count -= 1;
        if let Some(session) = node.ephemeral_session() {
            if let Some(set) = self.ephemerals.get_mut(&session) {
                set.remove(path);
                if set.is_empty() {
                    self.ephemerals.remove(&session);
                }
            }
        }
        self.containers.remove(path);
        self.ttls.remove(path);
        changes.push(Change {
            path: path.to_owned(),
            event: EventType::NodeDeleted,
        });
        changes.push(Change {
            path: parent_path.to_owned(),
            event: EventType::NodeChildrenChanged,
        });
        node
    }

    pub fn set_data(
        &mut self,
        path: &str,
        data: Option<Bytes>,
        version: i32,
        zxid: i64,
        time: i64,
        changes: &mut Vec<Change>,
    ) -> Stat {
        let node = self.get_mut(path).expect("node checked");
        node.data = data;
        node.stat.version = version;
        node.stat.mzxid = zxid;
        node.stat.mtime = time;
        let stat = node.stat();
        changes.push(Change {
            path: path.to_owned(),
            event: EventType::NodeDataChanged,
        });
        stat
    }

    pub fn set_acl(&mut self, path: &str, acl: Arc<Vec<Acl>>, aversion: i32) -> Stat {
        let node = self.get_mut(path).expect("node checked");
        node.acl = acl;
        node.stat.aversion = aversion;
        node.stat()
    }

    /// Files a node under its owner: its session's ephemerals, the
    /// containers or the TTL nodes.
    fn index_owner(&mut self, path: &str, owner: i64) {
        if let Some(session) = session_of(owner) {
            self.ephemerals
                .entry(session)
                .or_default()
                .insert(path.to_owned());
        } else if owner == CONTAINER_OWNER {
            self.containers.insert(path.to_owned());
        } else if ttl_of(owner).is_some() {
            self.ttls.insert(path.to_owned());
        }
    }

    /// Undo helpers for a failed multi: restore a (leaf) node exactly as
    /// it was.
    pub fn restore_node(&mut self, path: &str, node: Node) {
        let owner = node.stat.ephemeral_owner;
        if self.attach(path, node) {
            self.node_count += 1;
            self.index_owner(path, owner);
        }
    }

    /// Undo of `create_node`: removes the node without touching its parent's
    /// counters (the caller restores those).
    pub fn unlink_node(&mut self, path: &str) {
        let mut scratch = Vec::new();
        let parent = path::parent(path);
        let saved = self.get(parent).map(|p| p.stat);
        self.delete_node(path, 0, &mut scratch);
        if let (Some(p), Some(stat)) = (self.get_mut(parent), saved) {
            p.stat = stat;
        }
    }

    pub fn replace_node_state(
        &mut self,
        path: &str,
        data: Option<Bytes>,
        acl: Arc<Vec<Acl>>,
        stat: NodeStat,
    ) {
        if let Some(node) = self.get_mut(path) {
            node.data = data;
            node.acl = acl;
            node.stat = stat;
        }
    }

    pub fn set_node_stat(&mut self, path: &str, stat: NodeStat) {
        if let Some(node) = self.get_mut(path) {
            node.stat = stat;
        }
    }
}

impl DataTree {
    /// Every node with its path, depth first, parents before children and
    /// siblings in name order (the order snapshots use).
    pub fn nodes_in_order(&self) -> impl Iterator<Item = (String, &Node)> + '_ {
        let mut stack: Vec<(String, &Node)> = vec![(String::from("/"), &self.root)];
        std::iter::from_fn(move || {
            let (p, node) = stack.pop()?;
            let below = stack.len();
            for (name, child) in node.children.iter() {
                stack.push((path::join(&p, name), child));
            }
            stack[below..].reverse();
            Some((p, node))
        })
    }

    /// Calls `f` with every node and its path, in [`Self::nodes_in_order`]'s
    /// order, building each path in one reused buffer (snapshots walk
    /// millions of nodes); stops at the first error.
    pub fn try_for_each_in_order<E>(
        &self,
        mut f: impl FnMut(&str, &Node) -> Result<(), E>,
    ) -> Result<(), E> {
        let mut path = String::from("/");
        f(&path, &self.root)?;
        // Per level: the node's children still to visit and its path's length.
        let mut stack = vec![(self.root.children.iter(), 1)];
        loop {
            let Some((children, base)) = stack.last_mut() else {
                return Ok(());
            };
            let base = *base;
            let Some((name, child)) = children.next() else {
                stack.pop();
                continue;
            };
            path.truncate(base);
            if base > 1 {
                path.push('/');
            }
            path.push_str(name);
            f(&path, child)?;
            stack.push((child.children.iter(), path.len()));
        }
    }

    /// Every path in the tree, in [`Self::nodes_in_order`]'s order.
    pub fn paths(&self) -> impl Iterator<Item = String> + '_ {
        self.nodes_in_order().map(|(p, _)| p)
    }

    /// Rebuilds a tree from nodes, parents before their children (any
    /// children the given nodes carry are dropped), and sessions. A node
    /// whose parent never comes is left out, with a warning.
    pub fn from_parts(
        nodes: impl IntoIterator<Item = (String, Node)>,
        sessions: impl IntoIterator<Item = (i64, SessionRecord)>,
        last_zxid: i64,
    ) -> DataTree {
        let mut tree = DataTree::empty();
        tree.sessions = sessions.into_iter().collect();
        tree.last_zxid = last_zxid;
        for (p, mut node) in nodes {
            node.children = Children::default();
            node.acl = tree.intern_shared_acl(node.acl);
            if p == "/" {
                tree.root = Arc::new(node);
                continue;
            }
            let owner = node.stat.ephemeral_owner;
            if tree.attach(&p, node) {
                tree.node_count += 1;
                tree.index_owner(&p, owner);
            } else {
                tracing::warn!(path = %p, "node without a parent left out of the tree");
            }
        }
        tree
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn create(tree: &mut DataTree, path: &str, data: &[u8], owner: i64) {
        let acl = tree.intern_acl(Acl::open_unsafe());
        let parent = tree.get(path::parent(path)).unwrap().stat.cversion + 1;
        let zxid = tree.last_zxid + 1;
        tree.last_zxid = zxid;
        let data = Some(Bytes::copy_from_slice(data));
        tree.create_node(path, data, acl, owner, parent, zxid, 0, &mut Vec::new());
    }

    #[test]
    fn a_clone_keeps_its_state_while_the_original_changes() {
        let mut tree = DataTree::new();
        create(&mut tree, "/a", b"1", 0);
        for i in 0..40 {
            create(&mut tree, &format!("/a/n{i:02}"), b"x", 0);
        }
        let snapshot = tree.clone();
        tree.set_data(
            "/a/n07",
            Some(Bytes::from_static(b"new")),
            1,
            99,
            0,
            &mut Vec::new(),
        );
        tree.delete_node("/a/n08", 100, &mut Vec::new());
        create(&mut tree, "/a/n99", b"y", 7);

        assert_eq!(snapshot.node_count(), 4 + 1 + 40);
        assert_eq!(tree.node_count(), 4 + 1 + 40);
        assert_eq!(
            snapshot.get("/a/n07").unwrap().data.as_deref(),
            Some(&b"x"[..])
        );
        assert_eq!(
            tree.get("/a/n07").unwrap().data.as_deref(),
            Some(&b"new"[..])
        );
        assert!(snapshot.get("/a/n08").is_some() && tree.get("/a/n08").is_none());
        assert!(snapshot.get("/a/n99").is_none() && tree.get("/a/n99").is_some());
        assert_eq!(snapshot.ephemeral_count(), 0);
        assert_eq!(tree.ephemerals_of(7).collect::<Vec<_>>(), ["/a/n99"]);
        assert_eq!(snapshot.get("/a").unwrap().stat().num_children, 40);
    }

    #[test]
    fn nodes_come_depth_first_parents_first_in_name_order() {
        let mut tree = DataTree::new();
        for p in ["/b", "/a", "/a/z", "/a/c", "/a/c/d"] {
            create(&mut tree, p, b"", 0);
        }
        let paths: Vec<String> = tree.paths().collect();
        let mut visited = Vec::new();
        tree.try_for_each_in_order(|p, _| -> Result<(), ()> {
            visited.push(p.to_owned());
            Ok(())
        })
        .unwrap();
        assert_eq!(visited, paths);
        assert_eq!(
            paths,
            [
                "/",
                "/a",
                "/a/c",
                "/a/c/d",
                "/a/z",
                "/b",
                "/zookeeper",
                "/zookeeper/config",
                "/zookeeper/quota"
            ]
        );
        assert_eq!(tree.descendant_count("/a"), 3);
        // paths + data, as ZooKeeper counts them
        let expected: usize = paths.iter().map(String::len).sum();
        assert_eq!(tree.approximate_data_size(), expected);

        let rebuilt = DataTree::from_parts(
            tree.nodes_in_order().map(|(p, n)| (p, n.clone())),
            [],
            tree.last_zxid,
        );
        assert_eq!(rebuilt.paths().collect::<Vec<_>>(), paths);
        assert_eq!(rebuilt.node_count(), tree.node_count());
    }

    #[test]
    fn from_parts_leaves_out_orphans() {
        let nodes = [
            ("/".to_owned(), Node::default()),
            ("/x/y".to_owned(), Node::default()),
            ("/a".to_owned(), Node::default()),
        ];
        let tree = DataTree::from_parts(nodes, [], 0);
        assert_eq!(tree.paths().collect::<Vec<_>>(), ["/", "/a"]);
        assert_eq!(tree.node_count(), 2);
    }
}
