//! `corral tree`: a subtree, drawn or as JSON; and the walk that `ls -R`,
//! `deleteall`, `setAcl -R` and `dump` share.

use clap::Args;
use corral_client::{Client, Error};
use serde_json::json;

use crate::exit::Failure;
use crate::Outcome;

#[derive(Debug, Clone, Args)]
pub struct TreeArgs {
    /// The root of the subtree.
    #[arg(default_value = "/")]
    pub path: String,
    /// One JSON object: {"path": ..., "children": [...]} nested.
    #[arg(long)]
    pub json: bool,
}

/// Every node of the subtree at `root`, parents before children, siblings
/// sorted: (path, depth below `root`). Nodes deleted during the walk are
/// left out.
pub async fn walk(client: &Client, root: &str) -> Result<Vec<(String, usize)>, Error> {
    // Fails with NoNode if the root itself is missing.
    client.get_children(root).await?;
    let mut out = Vec::new();
    let mut stack = vec![(root.to_owned(), 0usize)];
    while let Some((path, depth)) = stack.pop() {
        let mut children = match client.get_children(&path).await {
            Ok(c) => c,
            Err(Error::NoNode) => continue,
            Err(e) => return Err(e),
        };
        children.sort();
        for child in children.into_iter().rev() {
            stack.push((join(&path, &child), depth + 1));
        }
        out.push((path, depth));
    }
    Ok(out)
}

/// `parent` + `/` + `child`.
pub fn join(parent: &str, child: &str) -> String {
    if parent.ends_with('/') {
        format!("{parent}{child}")
    } else {
        format!("{parent}/{child}")
    }
}

fn name(path: &str) -> &str {
    path.rsplit('/')
        .next()
        .filter(|n| !n.is_empty())
        .unwrap_or(path)
}

pub async fn run(client: &Client, args: &TreeArgs, json: bool) -> Outcome {
    let nodes = walk(client, &args.path)
        .await
        .map_err(|e| Failure::zk(e, &args.path))?;
    if json {
        return Ok(format!("{}\n", nested(&nodes)));
    }
    Ok(draw(&nodes))
}

/// The root's path, then one line per node with box-drawing guides.
pub fn draw(nodes: &[(String, usize)]) -> String {
    let mut out = String::new();
    // For each depth: whether a later sibling follows (draw a `│`).
    let mut open: Vec<bool> = Vec::new();
    for (i, (path, depth)) in nodes.iter().enumerate() {
        if *depth == 0 {
            out.push_str(path);
            out.push('\n');
            continue;
        }
        let last = !nodes[i + 1..]
            .iter()
            .take_while(|(_, d)| d >= depth)
            .any(|(_, d)| d == depth);
        open.truncate(depth - 1);
        for more in &open {
            out.push_str(if *more { "│   " } else { "    " });
        }
        out.push_str(if last { "└── " } else { "├── " });
        out.push_str(name(path));
        out.push('\n');
        open.push(!last);
    }
    out
}

/// `{"path", "children": [...]}`, nested.
fn nested(nodes: &[(String, usize)]) -> serde_json::Value {
    fn build(nodes: &[(String, usize)], i: &mut usize) -> serde_json::Value {
        let (path, depth) = &nodes[*i];
        *i += 1;
        let mut children = Vec::new();
        while *i < nodes.len() && nodes[*i].1 == depth + 1 {
            children.push(build(nodes, i));
        }
        json!({ "path": path, "children": children })
    }
    if nodes.is_empty() {
        return json!(null);
    }
    build(nodes, &mut 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nodes() -> Vec<(String, usize)> {
        [
            ("/a", 0),
            ("/a/b", 1),
            ("/a/b/c", 2),
            ("/a/b/d", 2),
            ("/a/e", 1),
        ]
        .iter()
        .map(|(p, d)| (p.to_string(), *d))
        .collect()
    }

    #[test]
    fn drawing() {
        assert_eq!(draw(&nodes()), "/a\n├── b\n│   ├── c\n│   └── d\n└── e\n");
    }

    #[test]
    fn nesting() {
        let v = nested(&nodes());
        assert_eq!(v["children"][0]["children"][1]["path"], "/a/b/d");
        assert_eq!(v["children"][1]["path"], "/a/e");
    }

    #[test]
    fn joining() {
        assert_eq!(join("/", "a"), "/a");
        assert_eq!(join("/a", "b"), "/a/b");
        assert_eq!(name("/a/b"), "b");
        assert_eq!(name("/"), "/");
    }
}
