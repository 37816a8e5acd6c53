//! Multi-request conveniences over the single operations, with kazoo's
//! semantics: create a path with its missing ancestors, delete a subtree.
//! The bindings' `makepath` / `ensure_path` and `recursive` use these.

use crate::{Acl, Client, CreateOptions, Error, Result};

/// The parent of a path (`/a/b` -> `/a`, `/a` -> `/`).
pub fn parent_path(path: &str) -> &str {
    match path.rfind('/') {
        Some(0) | None => "/",
        Some(i) => &path[..i],
    }
}

impl Client {
    /// Creates `path` and every missing ancestor (empty, persistent, `acl`);
    /// Ok if it exists already. As kazoo: walks up with `exists` to the first
    /// existing ancestor, then creates down, ignoring NodeExists (a
    /// concurrent creator).
    pub async fn ensure_path(&self, path: &str, acl: &[Acl]) -> Result<()> {
        let mut missing = Vec::new();
        let mut cur = path;
        while cur != "/" && self.exists(cur).await?.is_none() {
            missing.push(cur);
            cur = parent_path(cur);
        }
        let opts = CreateOptions::default().with_acl(acl.to_vec());
        for p in missing.into_iter().rev() {
            match self.create(p, b"", &opts).await {
                Ok(_) | Err(Error::NodeExists) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Deletes `path` and its descendants, children first; nodes that
    /// vanish meanwhile are fine. As kazoo, a child created concurrently
    /// makes it fail with NotEmpty.
    pub async fn delete_recursive(&self, path: &str) -> Result<()> {
        // (path, children already pushed)
        let mut stack = vec![(path.to_owned(), false)];
        while let Some((p, expanded)) = stack.pop() {
            if expanded {
                match self.delete(&p, None).await {
                    Ok(()) | Err(Error::NoNode) => {}
                    Err(e) => return Err(e),
                }
                continue;
            }
            let children = match self.get_children(&p).await {
                Ok(ch) => ch,
                Err(Error::NoNode) => continue,
                Err(e) => return Err(e),
            };
            stack.push((p.clone(), true));
            for child in children {
                let child_path = if p == "/" {
                    format!("/{child}")
                } else {
                    format!("{p}/{child}")
                };
                stack.push((child_path, false));
            }
        }
        Ok(())
    }
}
