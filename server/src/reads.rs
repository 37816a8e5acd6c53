//! Requests answered from the local tree: reads, watch management, pings.
//! Each reply is queued while the tree lock is held, so it always precedes
//! any notification for a watch it set.

use crate::apply::client_info;
use crate::auth;
use crate::core::Core;
use crate::tree::DataTree;
use crate::watches::{ConnId, Outbound, Outbox, WatchManager};
use bytes::Bytes;
use corral_protocol::multi::encode_multi_results;
use corral_protocol::*;

/// Encodes a whole reply frame.
pub fn reply_frame(xid: i32, zxid: i64, err: i32, body: &[u8]) -> Bytes {
    let mut w = Writer::with_capacity(20 + body.len());
    w.write_i32((16 + body.len()) as i32);
    ReplyHeader { xid, zxid, err }.encode(&mut w);
    w.buf.extend_from_slice(body);
    Bytes::from(w.into_inner())
}

/// The connection a read runs for.
pub struct Caller<'a> {
    pub conn: ConnId,
    pub session: i64,
    pub ids: &'a [Id],
    pub outbox: &'a Outbox,
}

/// Runs a read-side request and queues its reply (and any catch-up events).
pub fn execute(core: &Core, caller: &Caller, xid: i32, request: &Request) {
    let tree = core.tree.read();
    let result = {
        let mut watches = core.watches.lock();
        answer(&tree, &mut watches, caller, request)
    };
    let (err, body) = match result {
        Ok(body) => (0, body),
        Err(e) => (e.code(), Vec::new()),
    };
    // ZooKeeper answers every ping on the ping xid, whatever the request's.
    let xid = if matches!(request, Request::Ping) {
        xid::PING
    } else {
        xid
    };
    let frame = reply_frame(xid, tree.last_zxid, err, &body);
    let _ = caller.outbox.send(Outbound::Frame(frame));
}

fn node<'t>(tree: &'t DataTree, p: &str) -> Result<&'t crate::tree::Node, ErrorCode> {
    tree.get(p).ok_or(ErrorCode::NoNode)
}

fn answer(
    tree: &DataTree,
    watches: &mut WatchManager,
    caller: &Caller,
    request: &Request,
) -> Result<Vec<u8>, ErrorCode> {
    let ids = caller.ids;
    Ok(match request {
        Request::Ping => Vec::new(),
        Request::Exists(r) => {
            if r.path.contains('\0') {
                return Err(ErrorCode::BadArguments);
            }
            if r.watch {
                watches.add_data(caller.conn, &r.path);
            }
            node(tree, &r.path)?.stat().to_bytes()
        }
        Request::GetData(r) => {
            let n = node(tree, &r.path)?;
            auth::check(&n.acl, perms::READ, ids)?;
            if r.watch {
                watches.add_data(caller.conn, &r.path);
            }
            let mut w = Writer::with_capacity(80 + n.data.as_ref().map_or(0, |d| d.len()));
            w.write_buffer(n.data.as_deref());
            n.stat().encode(&mut w);
            w.into_inner()
        }
        Request::GetChildren(r) | Request::GetChildren2(r) => {
            let n = node(tree, &r.path)?;
            auth::check(&n.acl, perms::READ, ids)?;
            if r.watch {
                watches.add_child(caller.conn, &r.path);
            }
            let children: Vec<String> = n.children.names().map(str::to_owned).collect();
            let mut w = Writer::new();
            children.encode(&mut w);
            if matches!(request, Request::GetChildren2(_)) {
                n.stat().encode(&mut w);
            }
            w.into_inner()
        }
        Request::GetAcl(r) => {
            let n = node(tree, &r.path)?;
            auth::check(&n.acl, perms::READ | perms::ADMIN, ids)?;
            let mut acl = n.acl.to_vec();
            if auth::check(&n.acl, perms::ADMIN, ids).is_err() {
                // Without ADMIN, digest hashes are hidden (ZooKeeper 3.6+).
                for a in acl.iter_mut().filter(|a| a.id.scheme == "digest") {
                    let user = a.id.id.split(':').next().unwrap_or("");
                    a.id.id = format!("{user}:x");
                }
            }
            GetAclResponse {
                acl,
                stat: n.stat(),
            }
            .to_bytes()
        }
        Request::Sync(r) => SyncResponse {
            path: r.path.clone(),
        }
        .to_bytes(),
        Request::GetAllChildrenNumber(r) => {
            let n = node(tree, &r.path)?;
            auth::check(&n.acl, perms::READ, ids)?;
            GetAllChildrenNumberResponse {
                total_number: tree.descendant_count(&r.path) as i32,
            }
            .to_bytes()
        }
        Request::GetEphemerals(r) => GetEphemeralsResponse {
            ephemerals: tree
                .ephemerals_of(caller.session)
                .filter(|p| p.starts_with(&r.prefix_path))
                .cloned()
                .collect(),
        }
        .to_bytes(),
        Request::WhoAmI => WhoAmIResponse {
            client_info: client_info(ids),
        }
        .to_bytes(),
        Request::CheckWatches(CheckWatchesRequest { path, watcher_type })
        | Request::RemoveWatches(RemoveWatchesRequest { path, watcher_type }) => {
            let kind = WatcherType::from_i32(*watcher_type).ok_or(ErrorCode::BadArguments)?;
            let found = if matches!(request, Request::RemoveWatches(_)) {
                watches.remove(caller.conn, kind, path)
            } else {
                watches.contains(caller.conn, kind, path)
            };
            if !found {
                return Err(ErrorCode::NoWatcher);
            }
            Vec::new()
        }
        Request::AddWatch(r) => {
            let recursive = match AddWatchMode::from_i32(r.mode) {
                Some(AddWatchMode::Persistent) => false,
                Some(AddWatchMode::PersistentRecursive) => true,
                None => return Err(ErrorCode::BadArguments),
            };
            watches.add_persistent(caller.conn, &r.path, recursive);
            ErrorResponse { err: 0 }.to_bytes()
        }
        Request::SetWatches(r) => {
            set_watches(
                tree,
                watches,
                caller.conn,
                r.relative_zxid,
                [&r.data_watches, &r.exist_watches, &r.child_watches],
                [&[], &[]],
            );
            Vec::new()
        }
        Request::SetWatches2(r) => {
            set_watches(
                tree,
                watches,
                caller.conn,
                r.relative_zxid,
                [&r.data_watches, &r.exist_watches, &r.child_watches],
                [&r.persistent_watches, &r.persistent_recursive_watches],
            );
            Vec::new()
        }
        Request::MultiRead(ops) => {
            let results: Vec<MultiResult> = ops
                .iter()
                .map(|op| read_op(tree, ids, op).unwrap_or_else(|e| MultiResult::Error(e.code())))
                .collect();
            let mut w = Writer::new();
            encode_multi_results(&results, &mut w);
            w.into_inner()
        }
        Request::Reconfig(_) => return Err(ErrorCode::ReconfigDisabled),
        // No SASL is configured: ZooKeeper answers OK with a null token.
        Request::Sasl(_) => (-1i32).to_be_bytes().to_vec(),
        _ => return Err(ErrorCode::Unimplemented),
    })
}

fn read_op(tree: &DataTree, ids: &[Id], op: &MultiOp) -> Result<MultiResult, ErrorCode> {
    match op {
        MultiOp::GetData(r) => {
            let n = node(tree, &r.path)?;
            auth::check(&n.acl, perms::READ, ids)?;
            Ok(MultiResult::GetData {
                data: n.data.as_ref().map(|d| d.to_vec()),
                stat: n.stat(),
            })
        }
        MultiOp::GetChildren(r) => {
            let n = node(tree, &r.path)?;
            auth::check(&n.acl, perms::READ, ids)?;
            Ok(MultiResult::GetChildren(
                n.children.names().map(str::to_owned).collect(),
            ))
        }
        _ => Err(ErrorCode::BadArguments),
    }
}

/// `DataTree.setWatches`: re-registers a reconnecting client's watches and
/// fires at once what changed after `relative_zxid`.
fn set_watches(
    tree: &DataTree,
    watches: &mut WatchManager,
    conn: ConnId,
    relative_zxid: i64,
    [data, exist, child]: [&Vec<String>; 3],
    [persistent, recursive]: [&[String]; 2],
) {
    for p in data {
        match tree.get(p) {
            None => watches.notify(conn, EventType::NodeDeleted, p),
            Some(n) if n.stat.mzxid > relative_zxid => {
                watches.notify(conn, EventType::NodeDataChanged, p)
            }
            Some(_) => watches.add_data(conn, p),
        }
    }
    for p in exist {
        match tree.get(p) {
            Some(_) => watches.notify(conn, EventType::NodeCreated, p),
            None => watches.add_data(conn, p),
        }
    }
    for p in child {
        match tree.get(p) {
            None => watches.notify(conn, EventType::NodeDeleted, p),
            Some(n) if n.stat.pzxid > relative_zxid => {
                watches.notify(conn, EventType::NodeChildrenChanged, p)
            }
            Some(_) => watches.add_child(conn, p),
        }
    }
    for p in persistent {
        watches.add_persistent(conn, p, false);
    }
    for p in recursive {
        watches.add_persistent(conn, p, true);
    }
}
