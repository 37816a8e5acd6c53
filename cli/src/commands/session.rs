//! Commands on the session: addauth, whoami, addWatch, removewatches,
//! history.

use corral_client::{AddWatchMode, WatcherType};
use futures::StreamExt;
use serde_json::json;

use super::args::Parsed;
use super::{event_text, Context};
use crate::exit::Failure;
use crate::Outcome;

pub async fn add_auth(ctx: &Context, words: &[String]) -> Outcome {
    const USAGE: &str = "addauth scheme auth";
    let p = Parsed::new(words, "", "", USAGE)?;
    let ops = p.operands(2, 2, USAGE)?;
    ctx.client
        .add_auth(&ops[0], ops[1].as_bytes())
        .await
        .map_err(|e| Failure::zk(e, ""))?;
    if ctx.json {
        return Ok(format!("{}\n", json!({ "scheme": ops[0], "added": true })));
    }
    Ok(String::new())
}

pub async fn who_am_i(ctx: &Context) -> Outcome {
    let ids = ctx
        .client
        .who_am_i()
        .await
        .map_err(|e| Failure::zk(e, ""))?;
    if ctx.json {
        let list: Vec<_> = ids
            .iter()
            .map(|i| json!({ "scheme": i.auth_scheme, "user": i.user }))
            .collect();
        return Ok(format!("{}\n", json!({ "identities": list })));
    }
    let mut out = String::from("Auth scheme: User\n");
    for i in ids {
        out.push_str(&format!("{}: {}\n", i.auth_scheme, i.user));
    }
    Ok(out)
}

pub async fn add_watch(ctx: &Context, words: &[String]) -> Outcome {
    const USAGE: &str = "addWatch [-m mode] path # optional mode is one of [PERSISTENT, PERSISTENT_RECURSIVE] - default is PERSISTENT_RECURSIVE";
    let p = Parsed::new(words, "", "m", USAGE)?;
    let path = p.operands(1, 1, USAGE)?[0].as_str();
    let mode = match p.value('m').map(str::to_ascii_uppercase).as_deref() {
        None | Some("PERSISTENT_RECURSIVE") => AddWatchMode::PersistentRecursive,
        Some("PERSISTENT") => AddWatchMode::Persistent,
        Some(other) => {
            return Err(Failure::usage(format!(
                "{other} is not a valid mode\nusage: {USAGE}"
            )))
        }
    };
    let mut watch = ctx
        .client
        .add_watch(path, mode)
        .await
        .map_err(|e| Failure::zk(e, path))?;
    let notify = ctx.notify.clone();
    tokio::spawn(async move {
        while let Some(event) = watch.next().await {
            notify(event_text(&event));
        }
    });
    if ctx.json {
        return Ok(format!(
            "{}\n",
            json!({ "path": path, "mode": format!("{mode:?}") })
        ));
    }
    Ok(String::new())
}

pub async fn remove_watches(ctx: &Context, words: &[String]) -> Outcome {
    const USAGE: &str = "removewatches path [-c|-d|-a|-p|-r] [-l]";
    let p = Parsed::new(words, "cdaprl", "", USAGE)?;
    let path = p.operands(1, 1, USAGE)?[0].as_str();
    let kind = if p.has('c') {
        WatcherType::Children
    } else if p.has('d') {
        WatcherType::Data
    } else if p.has('p') {
        WatcherType::Persistent
    } else if p.has('r') {
        WatcherType::PersistentRecursive
    } else {
        WatcherType::Any
    };
    ctx.client
        .remove_watches(path, kind)
        .await
        .map_err(|e| Failure::zk(e, path))?;
    if ctx.json {
        return Ok(format!("{}\n", json!({ "path": path, "removed": true })));
    }
    Ok(String::new())
}

/// The last 10 lines, numbered as zkCli.sh numbers them.
pub fn history(ctx: &Context) -> String {
    let lines = ctx.history.lock().unwrap_or_else(|e| e.into_inner());
    let start = lines.len().saturating_sub(10);
    lines[start..]
        .iter()
        .enumerate()
        .map(|(i, l)| format!("{} - {l}\n", start + i))
        .collect()
}
