//! The data tree: znodes with ZooKeeper's exact `Stat` bookkeeping, the
//! ephemerals of each session, container and TTL nodes. Mutations here are
//! unchecked; `apply` validates requests before calling them.

use crate::path;
use bytes::Bytes;
use corral_protocol::{Acl, EventType, Stat};
use imbl::{HashMap, OrdSet};
use std::sync::Arc;

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

/// A znode. Every field is cheap to clone (shared buffers and persistent
/// sets), so cloning the whole tree for a snapshot costs O(1).
#[derive(Debug, Clone)]
pub struct Node {
    pub data: Option<Bytes>,
    pub acl: Arc<Vec<Acl>>,
    pub stat: NodeStat,
    pub children: OrdSet<String>,
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
        let owner = self.stat.ephemeral_owner;
        (owner != 0 && owner != CONTAINER_OWNER && ttl_of(owner).is_none()).then_some(owner)
    }
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

/// The replicated state. Built on persistent maps: `clone` is O(1) and
/// shares structure, which is how snapshots are taken without stopping
/// writes.
#[derive(Debug, Clone)]
pub struct DataTree {
    nodes: HashMap<String, Node>,
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
    /// A fresh tree: `/`, `/zookeeper`, `/zookeeper/quota` and
    /// `/zookeeper/config`, as a new ZooKeeper has them.
    pub fn new() -> DataTree {
        let mut tree = DataTree {
            nodes: HashMap::new(),
            ephemerals: HashMap::new(),
            containers: OrdSet::new(),
            ttls: OrdSet::new(),
            sessions: HashMap::new(),
            acls: HashMap::new(),
            last_zxid: 0,
        };
        let open = tree.intern_acl(Acl::open_unsafe());
        let blank = |acl: &Arc<Vec<Acl>>| Node {
            data: Some(Bytes::new()),
            acl: acl.clone(),
            stat: NodeStat::default(),
            children: OrdSet::new(),
        };
        tree.nodes.insert("/".into(), blank(&open));
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
            tree.nodes.insert(path.into(), node);
            let parent = path::parent(path).to_owned();
            tree.nodes
                .get_mut(&parent)
                .expect("parent inserted first")
                .children
                .insert(path::name(path).to_owned());
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

    pub fn get(&self, path: &str) -> Option<&Node> {
        self.nodes.get(path)
    }

    pub fn node_count(&self) -> usize {
        self.nodes.len()
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
        self.nodes
            .iter()
            .map(|(p, n)| p.len() + n.data.as_ref().map_or(0, Bytes::len))
            .sum()
    }

    /// Number of nodes below `path` (not counting it).
    pub fn descendant_count(&self, path: &str) -> usize {
        let Some(node) = self.nodes.get(path) else {
            return 0;
        };
        node.children
            .iter()
            .map(|c| 1 + self.descendant_count(&path::join(path, c)))
            .sum()
    }

    /// Every path in the tree (for `dump`-like listings and tests).
    pub fn paths(&self) -> impl Iterator<Item = &String> {
        self.nodes.keys()
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
        let parent_path = path::parent(path);
        let parent = self.nodes.get_mut(parent_path).expect("parent checked");
        parent.children.insert(path::name(path).to_owned());
        parent.stat.cversion = parent_cversion;
        parent.stat.pzxid = zxid;
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
            children: OrdSet::new(),
        };
        let stat = node.stat();
        self.index_owner(path, &node);
        self.nodes.insert(path.to_owned(), node);
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
        let node = self.nodes.remove(path).expect("node checked");
        let parent_path = path::parent(path);
        if let Some(parent) = self.nodes.get_mut(parent_path) {
            parent.children.remove(path::name(path));
            if zxid > parent.stat.pzxid {
                parent.stat.pzxid = zxid;
            }
        }
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
        let node = self.nodes.get_mut(path).expect("node checked");
        node.data = data;
        node.stat.version = version;
        node.stat.mzxid = zxid;
        node.stat.mtime = time;
        changes.push(Change {
            path: path.to_owned(),
            event: EventType::NodeDataChanged,
        });
        node.stat()
    }

    pub fn set_acl(&mut self, path: &str, acl: Arc<Vec<Acl>>, aversion: i32) -> Stat {
        let node = self.nodes.get_mut(path).expect("node checked");
        node.acl = acl;
        node.stat.aversion = aversion;
        node.stat()
    }

    /// Files a node under its owner: its session's ephemerals, the
    /// containers or the TTL nodes.
    fn index_owner(&mut self, path: &str, node: &Node) {
        let owner = node.stat.ephemeral_owner;
        if let Some(session) = node.ephemeral_session() {
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

    /// Undo helpers for a failed multi: restore a node exactly as it was.
    pub fn restore_node(&mut self, path: &str, node: Node) {
        self.index_owner(path, &node);
        if let Some(parent) = self.nodes.get_mut(path::parent(path)) {
            parent.children.insert(path::name(path).to_owned());
        }
        self.nodes.insert(path.to_owned(), node);
    }

    /// Undo of `create_node`: removes the node without touching its parent's
    /// counters (the caller restores those).
    pub fn unlink_node(&mut self, path: &str) {
        let mut scratch = Vec::new();
        let parent = path::parent(path).to_owned();
        let saved = self.nodes.get(&parent).map(|p| p.stat);
        self.delete_node(path, 0, &mut scratch);
        if let (Some(p), Some(stat)) = (self.nodes.get_mut(&parent), saved) {
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
        if let Some(node) = self.nodes.get_mut(path) {
            node.data = data;
            node.acl = acl;
            node.stat = stat;
        }
    }

    pub fn set_node_stat(&mut self, path: &str, stat: NodeStat) {
        if let Some(node) = self.nodes.get_mut(path) {
            node.stat = stat;
        }
    }
}

impl DataTree {
    /// Every node, parents before children (the order snapshots use).
    pub fn nodes_in_order(&self) -> impl Iterator<Item = (String, &Node)> + '_ {
        let mut queue = std::collections::VecDeque::from([String::from("/")]);
        std::iter::from_fn(move || {
            let p = queue.pop_front()?;
            let node = self.nodes.get(&p)?;
            for child in &node.children {
                queue.push_back(path::join(&p, child));
            }
            Some((p, node))
        })
    }

    /// Rebuilds a tree from nodes (children sets are derived from paths,
    /// any given ones are ignored) and sessions.
    pub fn from_parts(
        nodes: impl IntoIterator<Item = (String, Node)>,
        sessions: impl IntoIterator<Item = (i64, SessionRecord)>,
        last_zxid: i64,
    ) -> DataTree {
        let mut tree = DataTree {
            nodes: HashMap::new(),
            ephemerals: HashMap::new(),
            containers: OrdSet::new(),
            ttls: OrdSet::new(),
            sessions: sessions.into_iter().collect(),
            acls: HashMap::new(),
            last_zxid,
        };
        for (p, mut node) in nodes {
            node.children = OrdSet::new();
            node.acl = tree.intern_acl(node.acl.to_vec());
            tree.index_owner(&p, &node);
            tree.nodes.insert(p, node);
        }
        let paths: Vec<String> = tree.nodes.keys().filter(|p| *p != "/").cloned().collect();
        for p in paths {
            if let Some(parent) = tree.nodes.get_mut(path::parent(&p)) {
                parent.children.insert(path::name(&p).to_owned());
            }
        }
        tree
    }
}
