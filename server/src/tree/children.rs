//! The children of a znode, by name, in name order.
//!
//! Most znodes have no children or a handful; a few (queues, lock dirs,
//! service registries) have thousands. A sorted vector holds the small
//! sets (one allocation, exact order, binary search) and a persistent
//! B-tree the large ones, where copying the whole set on a write would
//! cost too much while a snapshot shares it.

use super::Node;
use compact_str::CompactString;
use imbl::OrdMap;
use std::sync::Arc;

/// A znode name; names up to 24 bytes are stored inline.
pub type Name = CompactString;

/// Up to this many children live in a sorted vector.
const SMALL_MAX: usize = 16;
/// A large set shrinking to this size goes back to a vector (below
/// `SMALL_MAX`, so a set hovering at the boundary does not flap).
const SMALL_AGAIN: usize = SMALL_MAX / 2;

#[derive(Debug, Clone)]
pub enum Children {
    Small(Vec<(Name, Arc<Node>)>),
    Large(OrdMap<Name, Arc<Node>>),
}

impl Default for Children {
    fn default() -> Self {
        Children::Small(Vec::new())
    }
}

impl Children {
    pub fn len(&self) -> usize {
        match self {
            Children::Small(v) => v.len(),
            Children::Large(m) => m.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn get(&self, name: &str) -> Option<&Arc<Node>> {
        match self {
            Children::Small(v) => search(v, name).ok().map(|i| &v[i].1),
            Children::Large(m) => m.get(name),
        }
    }

    pub fn get_mut(&mut self, name: &str) -> Option<&mut Arc<Node>> {
        match self {
            Children::Small(v) => match search(v, name) {
                Ok(i) => Some(&mut v[i].1),
                Err(_) => None,
            },
            Children::Large(m) => m.get_mut(name),
        }
    }

    /// Adds or replaces the child `name`.
    pub fn insert(&mut self, name: &str, node: Arc<Node>) {
        match self {
            Children::Small(v) => match search(v, name) {
                Ok(i) => v[i].1 = node,
                Err(i) if v.len() < SMALL_MAX => v.insert(i, (Name::new(name), node)),
                Err(_) => {
                    let mut map: OrdMap<Name, Arc<Node>> = std::mem::take(v).into_iter().collect();
                    map.insert(Name::new(name), node);
                    *self = Children::Large(map);
                }
            },
            Children::Large(m) => {
                m.insert(Name::new(name), node);
            }
        }
    }

    pub fn remove(&mut self, name: &str) -> Option<Arc<Node>> {
        match self {
            Children::Small(v) => search(v, name).ok().map(|i| v.remove(i).1),
            Children::Large(m) => {
                let removed = m.remove(name);
                if m.len() <= SMALL_AGAIN {
                    let small: Vec<(Name, Arc<Node>)> = std::mem::take(m).into_iter().collect();
                    *self = Children::Small(small);
                }
                removed
            }
        }
    }

    /// Children in name order.
    pub fn iter(&self) -> Box<dyn Iterator<Item = (&str, &Arc<Node>)> + '_> {
        match self {
            Children::Small(v) => Box::new(v.iter().map(|(n, c)| (n.as_str(), c))),
            Children::Large(m) => Box::new(m.iter().map(|(n, c)| (n.as_str(), c))),
        }
    }

    /// Child names in name order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.iter().map(|(name, _)| name)
    }
}

fn search(v: &[(Name, Arc<Node>)], name: &str) -> Result<usize, usize> {
    v.binary_search_by(|(n, _)| n.as_str().cmp(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaf() -> Arc<Node> {
        Arc::new(Node::default())
    }

    #[test]
    fn grows_into_a_btree_and_shrinks_back_keeping_order() {
        let mut c = Children::default();
        let names: Vec<String> = (0..40).rev().map(|i| format!("n{i:02}")).collect();
        for n in &names {
            c.insert(n, leaf());
        }
        assert!(matches!(c, Children::Large(_)));
        assert_eq!(c.len(), 40);
        let listed: Vec<&str> = c.names().collect();
        let mut sorted = names.clone();
        sorted.sort();
        assert_eq!(listed, sorted);
        for n in &names[..35] {
            assert!(c.remove(n).is_some());
        }
        assert!(matches!(c, Children::Small(_)));
        assert_eq!(
            c.names().collect::<Vec<_>>(),
            ["n00", "n01", "n02", "n03", "n04"]
        );
        assert!(c.get("n03").is_some());
        assert!(c.get("n39").is_none());
        assert!(c.remove("missing").is_none());
    }

    #[test]
    fn insert_replaces_an_existing_child() {
        let mut c = Children::default();
        c.insert("a", leaf());
        let mut replacement = Node::default();
        replacement.stat.version = 7;
        c.insert("a", Arc::new(replacement));
        assert_eq!(c.len(), 1);
        assert_eq!(c.get("a").unwrap().stat.version, 7);
    }
}
