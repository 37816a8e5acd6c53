//! `create({ makepath })` and `delete(..., { recursive })`: kazoo's
//! multi-request conveniences over the core's single operations.

use corral_client::{Acl, Client, CreateOptions, Error, Result};

/// The parent of a path (`/a/b` -> `/a`, `/a` -> `/`).
pub fn parent(path: &str) -> &str {
    match path.rfind('/') {
        Some(0) | None => "/",
        Some(i) => &path[..i],
    }
}

/// Creates `path` and every missing ancestor (empty, persistent, `acl`); Ok
/// if it exists already (concurrent creators are fine).
pub async fn ensure_path(c: &Client, path: &str, acl: &[Acl]) -> Result<()> {
    let mut missing = Vec::new();
    let mut cur = path;
    while cur != "/" && c.exists(cur).await?.is_none() {
        missing.push(cur);
        cur = parent(cur);
    }
    let opts = CreateOptions::default().with_acl(acl.to_vec());
    for p in missing.into_iter().rev() {
        match c.create(p, b"", &opts).await {
            Ok(_) | Err(Error::NodeExists) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Deletes `path` and its descendants, children first; nodes that vanish
/// meanwhile are fine; a child created concurrently fails it with NotEmpty.
pub async fn delete_recursive(c: &Client, path: &str) -> Result<()> {
    let mut stack = vec![(path.to_owned(), false)];
    while let Some((p, expanded)) = stack.pop() {
        if expanded {
            match c.delete(&p, None).await {
                Ok(()) | Err(Error::NoNode) => {}
                Err(e) => return Err(e),
            }
            continue;
        }
        let children = match c.get_children(&p).await {
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
