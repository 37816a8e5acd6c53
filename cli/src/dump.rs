//! `corral dump` / `corral load`: a subtree as JSON and back.
//!
//! ```json
//! {"format": "corral-dump/1", "root": "/app",
//!  "nodes": [{"path": "/app", "data": "text", "acl": [...]},
//!            {"path": "/app/bin", "data_base64": "AAE=", "acl": [...],
//!             "mode": "container"}],
//!  "skipped_ephemerals": ["/app/lock/n-0001"]}
//! ```
//!
//! Parents come before children. Data is `data` when it is UTF-8, else
//! `data_base64`. `mode` is left out for persistent nodes; `load` also
//! takes `"mode": "container"` and `"mode": "ttl"` with `"ttl"` (ms), but
//! `dump` cannot tell those apart from persistent nodes: ZooKeeper (and
//! corral-server) report them with `ephemeralOwner = 0`. Ephemeral nodes
//! belong to a session and are not exported: they are listed in
//! `skipped_ephemerals`, and a note goes to stderr. `/zookeeper` (the
//! server's own nodes) is never exported.

use std::path::PathBuf;

use clap::Args;
use corral_client::{Acl, Client, CreateMode, CreateOptions, Error};
use futures::{StreamExt, TryStreamExt};
use serde_json::{json, Value};

use crate::exit::Failure;
use crate::format;
use crate::Outcome;

const FORMAT: &str = "corral-dump/1";
/// Requests kept in flight while reading or writing nodes.
const IN_FLIGHT: usize = 32;

#[derive(Debug, Clone, Args)]
pub struct DumpArgs {
    /// The root of the subtree to export.
    #[arg(default_value = "/")]
    pub path: String,
    /// Write to this file instead of stdout.
    #[arg(short, long)]
    pub output: Option<PathBuf>,
}

#[derive(Debug, Clone, Args)]
pub struct LoadArgs {
    /// A file written by `corral dump` (stdin if absent or `-`).
    pub file: Option<PathBuf>,
    /// Load the subtree here instead of at its original root.
    #[arg(long)]
    pub to: Option<String>,
    /// Replace the data and ACL of nodes that exist (else they are an error).
    #[arg(long)]
    pub overwrite: bool,
}

fn is_system(path: &str) -> bool {
    path == "/zookeeper" || path.starts_with("/zookeeper/")
}

/// One node as exported; `None` for an ephemeral (or vanished) node.
async fn export_node(client: &Client, path: String) -> Result<(String, Option<Value>), Failure> {
    let (data, stat) = match client.get_data(&path).await {
        Ok(r) => r,
        Err(Error::NoNode) => return Ok((path, None)),
        Err(e) => return Err(Failure::zk(e, &path)),
    };
    let owner = stat.ephemeral_owner;
    let mut node = json!({ "path": path });
    if owner == i64::MIN {
        node["mode"] = json!("container");
    } else if (owner as u64) >> 56 == 0xff {
        node["mode"] = json!("ttl");
        node["ttl"] = json!(owner & 0x00ff_ffff_ffff_ffff);
    } else if owner != 0 {
        return Ok((path, Some(json!({ "ephemeral": true }))));
    }
    format::put_data(&mut node, &data);
    let (acl, _) = client
        .get_acl(&path)
        .await
        .map_err(|e| Failure::zk(e, &path))?;
    node["acl"] = format::acl_json(&acl);
    Ok((path, Some(node)))
}

pub async fn dump(client: &Client, args: &DumpArgs) -> Outcome {
    let paths: Vec<String> = crate::tree::walk(client, &args.path)
        .await
        .map_err(|e| Failure::zk(e, &args.path))?
        .into_iter()
        .map(|(p, _)| p)
        .filter(|p| !is_system(p))
        .collect();
    let exported: Vec<(String, Option<Value>)> = futures::stream::iter(paths)
        .map(|p| export_node(client, p))
        .buffered(IN_FLIGHT)
        .try_collect()
        .await?;
    let mut nodes = Vec::new();
    let mut skipped = Vec::new();
    for (path, node) in exported {
        match node {
            Some(n) if n.get("ephemeral").is_some() => skipped.push(path),
            Some(n) => nodes.push(n),
            None => {}
        }
    }
    // Children of ephemerals cannot exist, so nothing else is lost.
    if !skipped.is_empty() {
        eprintln!(
            "note: {} ephemeral node(s) not exported (they belong to a session): {}",
            skipped.len(),
            skipped.join(", ")
        );
    }
    let doc = json!({
        "format": FORMAT,
        "root": args.path,
        "nodes": nodes,
        "skipped_ephemerals": skipped,
    });
    let text = serde_json::to_string_pretty(&doc).expect("JSON values serialize") + "\n";
    match &args.output {
        Some(file) => {
            std::fs::write(file, &text)
                .map_err(|e| Failure::Other(format!("cannot write {}: {e}", file.display())))?;
            Ok(format!(
                "dumped {} node(s) of {} to {}\n",
                nodes.len(),
                args.path,
                file.display()
            ))
        }
        None => Ok(text),
    }
}

/// A node to create: path, data, options.
struct Import {
    path: String,
    data: Vec<u8>,
    options: CreateOptions,
}

fn parse_node(v: &Value, root: &str, to: Option<&str>) -> Result<Import, String> {
    let path = v
        .get("path")
        .and_then(Value::as_str)
        .ok_or_else(|| format!("node without a path: {v}"))?;
    let path = match to {
        Some(to) => {
            let rest = path
                .strip_prefix(root)
                .ok_or_else(|| format!("{path} is not under the dump's root {root}"))?;
            let to = to.trim_end_matches('/');
            match (to.is_empty(), rest.is_empty()) {
                (true, true) => "/".to_owned(),
                (true, false) if rest.starts_with('/') => rest.to_owned(),
                (true, false) => format!("/{rest}"),
                (false, _) if rest.is_empty() || rest.starts_with('/') => format!("{to}{rest}"),
                (false, _) => format!("{to}/{rest}"),
            }
        }
        None => path.to_owned(),
    };
    let acl = match v.get("acl") {
        Some(a) => format::acl_from_json(a)?,
        None => Acl::open_unsafe(),
    };
    let (mode, ttl) = match v.get("mode").and_then(Value::as_str) {
        None | Some("persistent") => (CreateMode::Persistent, None),
        Some("container") => (CreateMode::Container, None),
        Some("ttl") => (
            CreateMode::PersistentWithTtl,
            Some(
                v.get("ttl")
                    .and_then(Value::as_i64)
                    .ok_or("ttl node without ttl")?,
            ),
        ),
        Some(m) => return Err(format!("unknown mode {m:?} of {path}")),
    };
    Ok(Import {
        path,
        data: format::get_data(v)?,
        options: CreateOptions { mode, acl, ttl },
    })
}

/// Creates the node, or (with `overwrite`) updates the one that exists.
/// A node with children in the dump is created with an open ACL, so that
/// its children can be created whatever its own ACL says; and an existing
/// node is opened before it is written. Returns whether it was created and
/// whether its ACL is still to be set (by [`finish_acl`]).
async fn import_node(
    client: &Client,
    node: &Import,
    overwrite: bool,
    has_children: bool,
) -> Result<(bool, bool), Failure> {
    let at = |e| Failure::zk(e, &node.path);
    let open = Acl::open_unsafe();
    let restricted = node.options.acl != open;
    if node.path != "/" {
        let mut options = node.options.clone();
        if has_children {
            options.acl = open.clone();
        }
        match client.create(&node.path, &node.data, &options).await {
            Ok(_) => return Ok((true, restricted && has_children)),
            Err(Error::NodeExists) if overwrite => {}
            Err(e) => return Err(at(e)),
        }
    } else if !overwrite {
        return Ok((false, false));
    }
    client.set_acl(&node.path, &open, None).await.map_err(at)?;
    client
        .set_data(&node.path, &node.data, None)
        .await
        .map_err(at)?;
    Ok((false, restricted))
}

/// Gives a node its ACL from the dump, once its children exist.
async fn finish_acl(client: &Client, node: &Import) -> Result<(), Failure> {
    client
        .set_acl(&node.path, &node.options.acl, None)
        .await
        .map(drop)
        .map_err(|e| Failure::zk(e, &node.path))
}

/// Creates the missing ancestors of `path` as empty persistent nodes.
async fn ensure_parents(client: &Client, path: &str) -> Result<(), Failure> {
    let mut at = 0;
    while let Some(i) = path[at + 1..].find('/') {
        at += 1 + i;
        let parent = &path[..at];
        match client.create(parent, b"", &CreateOptions::default()).await {
            Ok(_) | Err(Error::NodeExists) => {}
            Err(e) => return Err(Failure::zk(e, parent)),
        }
    }
    Ok(())
}

pub async fn load(client: &Client, args: &LoadArgs) -> Outcome {
    let text = match args.file.as_deref() {
        None => std::io::read_to_string(std::io::stdin()),
        Some(p) if p.as_os_str() == "-" => std::io::read_to_string(std::io::stdin()),
        Some(p) => std::fs::read_to_string(p),
    }
    .map_err(|e| Failure::Other(format!("cannot read the dump: {e}")))?;
    let doc: Value = serde_json::from_str(&text)
        .map_err(|e| Failure::Other(format!("the dump is not JSON: {e}")))?;
    if doc.get("format").and_then(Value::as_str) != Some(FORMAT) {
        return Err(Failure::Other(format!(
            "not a corral dump (no \"format\": \"{FORMAT}\")"
        )));
    }
    let root = doc.get("root").and_then(Value::as_str).unwrap_or("/");
    let nodes: Vec<Import> = doc
        .get("nodes")
        .and_then(Value::as_array)
        .ok_or_else(|| Failure::Other("the dump has no \"nodes\" list".into()))?
        .iter()
        .map(|v| parse_node(v, root, args.to.as_deref()))
        .collect::<Result<_, _>>()
        .map_err(Failure::Other)?;
    if let Some(first) = nodes.first() {
        ensure_parents(client, &first.path).await?;
    }
    let parents: std::collections::HashSet<&str> = nodes
        .iter()
        .filter_map(|n| n.path.rsplit_once('/').map(|(parent, _)| parent))
        .collect();
    // Parents come first: create level by level, each level concurrently.
    let depth = |p: &str| p.matches('/').count();
    let mut depths: Vec<usize> = nodes.iter().map(|n| depth(&n.path)).collect();
    depths.sort_unstable();
    depths.dedup();
    let mut created = 0;
    let mut acl_later: Vec<&Import> = Vec::new();
    for d in depths {
        let level: Vec<&Import> = nodes
            .iter()
            .filter(|n| depth(&n.path) == d && !is_system(&n.path))
            .collect();
        let results: Vec<(bool, bool)> = futures::stream::iter(level.iter())
            .map(|n| {
                let has_children = parents.contains(n.path.as_str());
                import_node(client, n, args.overwrite, has_children)
            })
            .buffered(IN_FLIGHT)
            .try_collect()
            .await?;
        for (n, (was_created, later)) in level.iter().zip(results) {
            created += usize::from(was_created);
            if later {
                acl_later.push(n);
            }
        }
    }
    futures::stream::iter(acl_later)
        .map(|n| finish_acl(client, n))
        .buffered(IN_FLIGHT)
        .try_collect::<Vec<()>>()
        .await?;
    Ok(format!(
        "loaded {} node(s): {created} created, {} updated\n",
        nodes.len(),
        nodes.len() - created
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relocation() {
        let v = json!({"path": "/a/b", "data": "x"});
        assert_eq!(parse_node(&v, "/a", None).unwrap().path, "/a/b");
        assert_eq!(parse_node(&v, "/a", Some("/c")).unwrap().path, "/c/b");
        assert_eq!(parse_node(&v, "/a", Some("/")).unwrap().path, "/b");
        let root = json!({"path": "/a"});
        assert_eq!(parse_node(&root, "/a", Some("/c/d")).unwrap().path, "/c/d");
        let top = json!({"path": "/x"});
        assert_eq!(parse_node(&top, "/", Some("/c")).unwrap().path, "/c/x");
        assert!(parse_node(&json!({"path": "/z"}), "/a", Some("/c")).is_err());
        let ttl = json!({"path": "/t", "mode": "ttl", "ttl": 5000});
        let n = parse_node(&ttl, "/", None).unwrap();
        assert_eq!(
            (n.options.mode, n.options.ttl),
            (CreateMode::PersistentWithTtl, Some(5000))
        );
    }
}
