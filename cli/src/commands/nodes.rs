//! Commands on znodes: ls, get, set, create, delete, deleteall, stat,
//! getAcl, setAcl, sync, getEphemerals, getAllChildrenNumber, tree.

use corral_client::{Acl, CreateMode, CreateOptions, Error, Stat};
use serde_json::{json, Value};

use super::args::Parsed;
use super::Context;
use crate::exit::Failure;
use crate::format;
use crate::Outcome;

fn zk(path: &str) -> impl FnOnce(Error) -> Failure + '_ {
    move |e| Failure::zk(e, path)
}

fn json_line(v: Value) -> String {
    format!("{v}\n")
}

fn with_stat(mut out: String, stat: Option<&Stat>) -> String {
    if let Some(s) = stat {
        out.push_str(&format::stat_text(s));
    }
    out
}

pub async fn ls(ctx: &Context, words: &[String]) -> Outcome {
    const USAGE: &str = "ls [-s] [-w] [-R] path";
    let p = Parsed::new(words, "swR", "", USAGE)?;
    let path = p.operands(1, 1, USAGE)?[0].as_str();
    if p.has('R') {
        let mut nodes = crate::tree::walk(&ctx.client, path)
            .await
            .map_err(zk(path))?;
        // Breadth first, as zkCli.sh lists (siblings sorted).
        nodes.sort_by_key(|(_, depth)| *depth);
        let paths: Vec<String> = nodes.into_iter().map(|(p, _)| p).collect();
        if ctx.json {
            return Ok(json_line(json!({ "path": path, "paths": paths })));
        }
        return Ok(paths.iter().map(|p| format!("{p}\n")).collect());
    }
    let (mut children, stat) = if p.has('w') {
        ctx.client.get_children_cb(path, ctx.watcher()).await
    } else {
        ctx.client.get_children2(path).await
    }
    .map_err(zk(path))?;
    children.sort();
    if ctx.json {
        let mut v = json!({ "path": path, "children": children });
        if p.has('s') {
            v["stat"] = format::stat_json(&stat);
        }
        return Ok(json_line(v));
    }
    let out = format!("{}\n", format::java_list(&children));
    Ok(with_stat(out, p.has('s').then_some(&stat)))
}

pub async fn get(ctx: &Context, words: &[String]) -> Outcome {
    const USAGE: &str = "get [-s] [-w] path";
    let p = Parsed::new(words, "sw", "", USAGE)?;
    let path = p.operands(1, 1, USAGE)?[0].as_str();
    let (data, stat) = if p.has('w') {
        ctx.client.get_data_cb(path, ctx.watcher()).await
    } else {
        ctx.client.get_data(path).await
    }
    .map_err(zk(path))?;
    if ctx.json {
        let mut v = json!({ "path": path, "stat": format::stat_json(&stat) });
        format::put_data(&mut v, &data);
        return Ok(json_line(v));
    }
    let out = format!("{}\n", format::data_text(&data, &stat));
    Ok(with_stat(out, p.has('s').then_some(&stat)))
}

pub async fn set(ctx: &Context, words: &[String]) -> Outcome {
    const USAGE: &str = "set [-s] [-v version] path data";
    let p = Parsed::new(words, "s", "v", USAGE)?;
    let ops = p.operands(2, 2, USAGE)?;
    let (path, data) = (ops[0].as_str(), ops[1].as_bytes());
    let version = p.number('v')?;
    let stat = ctx
        .client
        .set_data(path, data, version)
        .await
        .map_err(zk(path))?;
    if ctx.json {
        return Ok(json_line(
            json!({ "path": path, "stat": format::stat_json(&stat) }),
        ));
    }
    Ok(with_stat(String::new(), p.has('s').then_some(&stat)))
}

pub async fn create(ctx: &Context, words: &[String]) -> Outcome {
    const USAGE: &str = "create [-s] [-e] [-c] [-t ttl] path [data] [acl]";
    let p = Parsed::new(words, "sec", "t", USAGE)?;
    let ops = p.operands(1, 3, USAGE)?;
    let path = ops[0].as_str();
    let data = ops.get(1).map_or(&[][..], |d| d.as_bytes());
    let ttl: Option<i64> = p.number('t')?;
    let (seq, eph, container) = (p.has('s'), p.has('e'), p.has('c'));
    let mode = match (eph, container, ttl.is_some(), seq) {
        (true, false, false, false) => CreateMode::Ephemeral,
        (true, false, false, true) => CreateMode::EphemeralSequential,
        (false, true, false, false) => CreateMode::Container,
        (false, false, true, false) => CreateMode::PersistentWithTtl,
        (false, false, true, true) => CreateMode::PersistentSequentialWithTtl,
        (false, false, false, false) => CreateMode::Persistent,
        (false, false, false, true) => CreateMode::PersistentSequential,
        _ => {
            return Err(Failure::usage(
                "-c, -e and -t cannot be combined (and -c not with -s)",
            ))
        }
    };
    let acl: Vec<Acl> = match ops.get(2) {
        Some(text) => format::parse_acl(text).map_err(Failure::usage)?,
        None => Acl::open_unsafe(),
    };
    let options = CreateOptions { mode, acl, ttl };
    let created = ctx
        .client
        .create(path, data, &options)
        .await
        .map_err(zk(path))?;
    if ctx.json {
        return Ok(json_line(json!({ "path": created })));
    }
    Ok(format!("Created {created}\n"))
}

pub async fn delete(ctx: &Context, words: &[String]) -> Outcome {
    const USAGE: &str = "delete [-v version] path";
    let p = Parsed::new(words, "", "v", USAGE)?;
    let path = p.operands(1, 1, USAGE)?[0].as_str();
    ctx.client
        .delete(path, p.number('v')?)
        .await
        .map_err(zk(path))?;
    if ctx.json {
        return Ok(json_line(json!({ "path": path, "deleted": 1 })));
    }
    Ok(String::new())
}

pub async fn delete_all(ctx: &Context, words: &[String]) -> Outcome {
    const USAGE: &str = "deleteall path [-b batch size]";
    let p = Parsed::new(words, "", "b", USAGE)?;
    let path = p.operands(1, 1, USAGE)?[0].as_str();
    let mut nodes = crate::tree::walk(&ctx.client, path)
        .await
        .map_err(zk(path))?;
    // Children before parents.
    nodes.reverse();
    let mut deleted = 0;
    for (node, _) in &nodes {
        if node == "/" || node == "/zookeeper" || node.starts_with("/zookeeper/") {
            continue;
        }
        match ctx.client.delete(node, None).await {
            Ok(()) | Err(Error::NoNode) => deleted += 1,
            Err(e) => return Err(Failure::zk(e, node)),
        }
    }
    if ctx.json {
        return Ok(json_line(json!({ "path": path, "deleted": deleted })));
    }
    Ok(String::new())
}

pub async fn stat(ctx: &Context, words: &[String]) -> Outcome {
    const USAGE: &str = "stat [-w] path";
    let p = Parsed::new(words, "w", "", USAGE)?;
    let path = p.operands(1, 1, USAGE)?[0].as_str();
    let stat = if p.has('w') {
        ctx.client.exists_cb(path, ctx.watcher()).await
    } else {
        ctx.client.exists(path).await
    }
    .map_err(zk(path))?
    .ok_or_else(|| Failure::zk(Error::NoNode, path))?;
    if ctx.json {
        return Ok(json_line(
            json!({ "path": path, "stat": format::stat_json(&stat) }),
        ));
    }
    Ok(format::stat_text(&stat))
}

pub async fn get_acl(ctx: &Context, words: &[String]) -> Outcome {
    const USAGE: &str = "getAcl [-s] path";
    let p = Parsed::new(words, "s", "", USAGE)?;
    let path = p.operands(1, 1, USAGE)?[0].as_str();
    let (acl, stat) = ctx.client.get_acl(path).await.map_err(zk(path))?;
    if ctx.json {
        return Ok(json_line(json!({
            "path": path,
            "acl": format::acl_json(&acl),
            "stat": format::stat_json(&stat),
        })));
    }
    Ok(with_stat(
        format::acl_text(&acl),
        p.has('s').then_some(&stat),
    ))
}

pub async fn set_acl(ctx: &Context, words: &[String]) -> Outcome {
    const USAGE: &str = "setAcl [-s] [-v version] [-R] path acl";
    let p = Parsed::new(words, "sR", "v", USAGE)?;
    let ops = p.operands(2, 2, USAGE)?;
    let path = ops[0].as_str();
    let acl = format::parse_acl(&ops[1]).map_err(Failure::usage)?;
    let version = p.number('v')?;
    let targets: Vec<String> = if p.has('R') {
        crate::tree::walk(&ctx.client, path)
            .await
            .map_err(zk(path))?
            .into_iter()
            .map(|(p, _)| p)
            .collect()
    } else {
        vec![path.to_owned()]
    };
    let mut last = None;
    for target in &targets {
        let v = if target == path { version } else { None };
        last = Some(
            ctx.client
                .set_acl(target, &acl, v)
                .await
                .map_err(zk(target))?,
        );
    }
    if ctx.json {
        return Ok(json_line(json!({ "path": path, "updated": targets.len() })));
    }
    Ok(with_stat(
        String::new(),
        last.as_ref().filter(|_| p.has('s')),
    ))
}

pub async fn sync(ctx: &Context, words: &[String]) -> Outcome {
    const USAGE: &str = "sync path";
    let p = Parsed::new(words, "", "", USAGE)?;
    let path = p.operands(1, 1, USAGE)?[0].as_str();
    ctx.client.sync(path).await.map_err(zk(path))?;
    if ctx.json {
        return Ok(json_line(json!({ "path": path, "synced": true })));
    }
    Ok("Sync is OK\n".to_owned())
}

pub async fn get_ephemerals(ctx: &Context, words: &[String]) -> Outcome {
    const USAGE: &str = "getEphemerals [path]";
    let p = Parsed::new(words, "", "", USAGE)?;
    let prefix = p.operands(0, 1, USAGE)?.first().map_or("/", |s| s.as_str());
    let mut paths = ctx
        .client
        .get_ephemerals(prefix)
        .await
        .map_err(zk(prefix))?;
    paths.sort();
    if ctx.json {
        return Ok(json_line(json!({ "path": prefix, "ephemerals": paths })));
    }
    Ok(format!("{}\n", format::java_list(&paths)))
}

pub async fn all_children_number(ctx: &Context, words: &[String]) -> Outcome {
    const USAGE: &str = "getAllChildrenNumber path";
    let p = Parsed::new(words, "", "", USAGE)?;
    let path = p.operands(1, 1, USAGE)?[0].as_str();
    let n = ctx
        .client
        .get_all_children_number(path)
        .await
        .map_err(zk(path))?;
    if ctx.json {
        return Ok(json_line(json!({ "path": path, "count": n })));
    }
    Ok(format!("{n}\n"))
}

pub async fn tree(ctx: &Context, words: &[String]) -> Outcome {
    const USAGE: &str = "tree [path]";
    let p = Parsed::new(words, "", "", USAGE)?;
    let path = p.operands(0, 1, USAGE)?.first().map_or("/", |s| s.as_str());
    let args = crate::tree::TreeArgs {
        path: path.to_owned(),
        json: ctx.json,
    };
    crate::tree::run(&ctx.client, &args, ctx.json).await
}
