//! Applying txns to the data tree with ZooKeeper's checks and results
//! (`PrepRequestProcessor` + `DataTree.processTxn` + `FinalRequestProcessor`).

use crate::auth;
use crate::path;
use crate::tree::{self, Change, DataTree, Node, NodeStat, SessionRecord};
use crate::txn::{Txn, TxnOp, TxnOutcome};
use bytes::Bytes;
use corral_protocol::multi::encode_multi_results;
use corral_protocol::{
    perms, Acl, CreateMode, CreateRequest, Encode, ErrorCode, Id, MultiOp, MultiResult, OpCode,
    SetAclRequest, Stat, Writer,
};
use std::sync::Arc;

/// Settings that change how txns apply; equal on every server.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApplyConfig {
    /// ZooKeeper's `zookeeper.extendedTypesEnabled` (TTL nodes).
    pub extended_types: bool,
}

/// Paths clients may not delete (`ZKDatabase.isSpecialPath`).
fn is_special(path: &str) -> bool {
    matches!(
        path,
        "/zookeeper" | "/zookeeper/quota" | "/zookeeper/config"
    )
}

/// How to undo one step of a multi that later fails.
enum Undo {
    Created {
        path: String,
        parent_stat: NodeStat,
    },
    Deleted {
        path: String,
        node: Node,
        parent_stat: NodeStat,
    },
    Changed {
        path: String,
        data: Option<Bytes>,
        acl: Arc<Vec<Acl>>,
        stat: NodeStat,
    },
}

struct Ctx<'a> {
    zxid: i64,
    txn: &'a Txn,
    config: ApplyConfig,
}

/// Applies one txn at `zxid`, pushing the changes watchers should hear of.
pub fn apply(
    tree: &mut DataTree,
    zxid: i64,
    txn: &Txn,
    config: ApplyConfig,
    changes: &mut Vec<Change>,
) -> TxnOutcome {
    tree.last_zxid = zxid;
    let ctx = Ctx { zxid, txn, config };
    let needs_session = !matches!(
        txn.op,
        TxnOp::CreateSession { .. } | TxnOp::DeleteContainer(_) | TxnOp::SetConfig { .. }
    );
    if needs_session && !tree.sessions.contains_key(&txn.session_id) {
        return TxnOutcome::error(zxid, ErrorCode::SessionExpired);
    }
    match &txn.op {
        TxnOp::Single(op) => {
            let mut undo = Vec::new();
            match apply_op(tree, &ctx, op, &mut undo, changes) {
                Ok(result) => TxnOutcome {
                    zxid,
                    err: None,
                    body: single_result_body(&result),
                },
                Err(e) => TxnOutcome::error(zxid, e),
            }
        }
        TxnOp::SetAcl(req) => match set_acl(tree, &ctx, req) {
            Ok(stat) => TxnOutcome {
                zxid,
                err: None,
                body: stat.to_bytes(),
            },
            Err(e) => TxnOutcome::error(zxid, e),
        },
        TxnOp::Multi(ops) => apply_multi(tree, &ctx, ops, changes),
        TxnOp::CreateSession {
            session_id,
            timeout_ms,
            passwd,
        } => {
            tree.sessions.insert(
                *session_id,
                SessionRecord {
                    timeout_ms: *timeout_ms,
                    passwd: passwd.clone(),
                },
            );
            TxnOutcome {
                zxid,
                ..Default::default()
            }
        }
        TxnOp::CloseSession { .. } => {
            let paths: Vec<String> = tree.ephemerals_of(txn.session_id).cloned().collect();
            for p in paths {
                tree.delete_node(&p, zxid, changes);
            }
            tree.sessions.remove(&txn.session_id);
            TxnOutcome {
                zxid,
                ..Default::default()
            }
        }
        TxnOp::MoveSession { .. } => TxnOutcome {
            zxid,
            ..Default::default()
        },
        TxnOp::SetConfig {
            members,
            expected_version,
        } => {
            crate::reconfig::apply_config(tree, zxid, txn.time, members, *expected_version, changes)
        }
        TxnOp::DeleteContainer(p) => {
            let reapable = tree.get(p).is_some_and(|n| {
                n.children.is_empty()
                    && (n.stat.ephemeral_owner == tree::CONTAINER_OWNER
                        || tree::ttl_of(n.stat.ephemeral_owner).is_some())
            });
            if !reapable {
                return TxnOutcome::error(zxid, ErrorCode::BadArguments);
            }
            tree.delete_node(p, zxid, changes);
            TxnOutcome {
                zxid,
                ..Default::default()
            }
        }
    }
}

fn single_result_body(result: &MultiResult) -> Vec<u8> {
    let mut w = Writer::new();
    match result {
        MultiResult::Create { op, path, stat } => {
            w.write_string(path);
            if *op != OpCode::Create {
                stat.encode(&mut w);
            }
        }
        MultiResult::SetData(stat) => stat.encode(&mut w),
        _ => {}
    }
    w.into_inner()
}

fn apply_multi(
    tree: &mut DataTree,
    ctx: &Ctx,
    ops: &[MultiOp],
    changes: &mut Vec<Change>,
) -> TxnOutcome {
    let mut undo = Vec::new();
    let mut staged = Vec::new();
    let mut results = Vec::with_capacity(ops.len());
    let mut failed_at = None;
    for (i, op) in ops.iter().enumerate() {
        match apply_op(tree, ctx, op, &mut undo, &mut staged) {
            Ok(r) => results.push(r),
            Err(e) => {
                failed_at = Some((i, e));
                break;
            }
        }
    }
    if let Some((index, err)) = failed_at {
        rollback(tree, undo);
        // ZooKeeper: OK for the ops before the failure, its code for the
        // failing op, RUNTIMEINCONSISTENCY for the ops after it.
        results = (0..ops.len())
            .map(|i| {
                MultiResult::Error(match i.cmp(&index) {
                    std::cmp::Ordering::Less => 0,
                    std::cmp::Ordering::Equal => err.code(),
                    std::cmp::Ordering::Greater => ErrorCode::RuntimeInconsistency.code(),
                })
            })
            .collect();
    } else {
        changes.append(&mut staged);
        results.iter_mut().for_each(label_create_result);
    }
    let mut w = Writer::new();
    encode_multi_results(&results, &mut w);
    TxnOutcome {
        zxid: ctx.zxid,
        err: None,
        body: w.into_inner(),
    }
}

/// How ZooKeeper 3.8 labels create results inside a multi reply (seen in
/// captures): a `create2` op gets a plain `create` result (path only), while
/// `createContainer` and `createTTL` ops get `create2` results (path + stat).
fn label_create_result(result: &mut MultiResult) {
    if let MultiResult::Create { op, .. } = result {
        *op = match *op {
            OpCode::CreateContainer | OpCode::CreateTtl => OpCode::Create2,
            _ => OpCode::Create,
        };
    }
}

fn rollback(tree: &mut DataTree, undo: Vec<Undo>) {
    for step in undo.into_iter().rev() {
        match step {
            Undo::Created { path, parent_stat } => {
                tree.unlink_node(&path);
                tree.set_node_stat(path::parent(&path), parent_stat);
            }
            Undo::Deleted {
                path,
                node,
                parent_stat,
            } => {
                tree.restore_node(&path, node);
                tree.set_node_stat(path::parent(&path), parent_stat);
            }
            Undo::Changed {
                path,
                data,
                acl,
                stat,
            } => tree.replace_node_state(&path, data, acl, stat),
        }
    }
}

/// `checkAndIncVersion`.
fn next_version(current: i32, expected: i32) -> Result<i32, ErrorCode> {
    if expected != -1 && expected != current {
        return Err(ErrorCode::BadVersion);
    }
    Ok(current.wrapping_add(1))
}

fn node_acl(tree: &DataTree, p: &str) -> Result<Arc<Vec<Acl>>, ErrorCode> {
    tree.get(p).map(|n| n.acl.clone()).ok_or(ErrorCode::NoNode)
}

fn apply_op(
    tree: &mut DataTree,
    ctx: &Ctx,
    op: &MultiOp,
    undo: &mut Vec<Undo>,
    changes: &mut Vec<Change>,
) -> Result<MultiResult, ErrorCode> {
    let ids = &ctx.txn.auth;
    match op {
        MultiOp::Create(opcode, req) => create(tree, ctx, *opcode, req, -1, undo, changes),
        MultiOp::CreateTtl(req) => {
            let as_create = CreateRequest {
                path: req.path.clone(),
                data: req.data.clone(),
                acl: req.acl.clone(),
                flags: req.flags,
            };
            create(
                tree,
                ctx,
                OpCode::CreateTtl,
                &as_create,
                req.ttl,
                undo,
                changes,
            )
        }
        MultiOp::Delete(req) => {
            let p = req.path.as_str();
            if p == "/" || p.contains('\0') || is_special(p) {
                return Err(ErrorCode::BadArguments);
            }
            path::validate(p)?;
            let parent_path = path::parent(p);
            let parent_acl = node_acl(tree, parent_path)?;
            auth::check(&parent_acl, perms::DELETE, ids)?;
            let node = tree.get(p).ok_or(ErrorCode::NoNode)?;
            next_version(node.stat.version, req.version)?;
            if !node.children.is_empty() {
                return Err(ErrorCode::NotEmpty);
            }
            let parent_stat = tree.get(parent_path).expect("parent exists").stat;
            let node = tree.delete_node(p, ctx.zxid, changes);
            undo.push(Undo::Deleted {
                path: p.to_owned(),
                node,
                parent_stat,
            });
            Ok(MultiResult::Delete)
        }
        MultiOp::SetData(req) => {
            path::validate(&req.path)?;
            let node = tree.get(&req.path).ok_or(ErrorCode::NoNode)?;
            auth::check(&node.acl, perms::WRITE, ids)?;
            let version = next_version(node.stat.version, req.version)?;
            undo.push(Undo::Changed {
                path: req.path.clone(),
                data: node.data.clone(),
                acl: node.acl.clone(),
                stat: node.stat,
            });
            let stat = tree.set_data(
                &req.path,
                req.data.as_deref().map(Bytes::copy_from_slice),
                version,
                ctx.zxid,
                ctx.txn.time,
                changes,
            );
            Ok(MultiResult::SetData(stat))
        }
        MultiOp::Check(req) => {
            path::validate(&req.path)?;
            let node = tree.get(&req.path).ok_or(ErrorCode::NoNode)?;
            auth::check(&node.acl, perms::READ, ids)?;
            next_version(node.stat.version, req.version)?;
            Ok(MultiResult::Check)
        }
        MultiOp::GetChildren(_) | MultiOp::GetData(_) => Err(ErrorCode::BadArguments),
    }
}

#[allow(clippy::too_many_arguments)]
fn create(
    tree: &mut DataTree,
    ctx: &Ctx,
    opcode: OpCode,
    req: &CreateRequest,
    ttl: i64,
    undo: &mut Vec<Undo>,
    changes: &mut Vec<Change>,
) -> Result<MultiResult, ErrorCode> {
    let ids = &ctx.txn.auth;
    let mode = CreateMode::from_flags(req.flags).ok_or(ErrorCode::BadArguments)?;
    if mode.is_ttl() && !ctx.config.extended_types {
        return Err(ErrorCode::Unimplemented);
    }
    let ttl_ok = if mode.is_ttl() {
        ttl > 0 && ttl <= tree::MAX_TTL
    } else {
        ttl < 0
    };
    if !ttl_ok {
        return Err(ErrorCode::BadArguments);
    }
    let p = req.path.as_str();
    if !p.contains('/') || p.contains('\0') {
        return Err(ErrorCode::BadArguments);
    }
    path::validate_for_create(p, mode.is_sequential())?;
    let acl = auth::fixup_acl(&req.acl, ids)?;
    let parent_path = path::parent(p).to_owned();
    let parent = tree.get(&parent_path).ok_or(ErrorCode::NoNode)?;
    auth::check(&parent.acl, perms::CREATE, ids)?;
    let parent_stat = parent.stat;
    let full_path = if mode.is_sequential() {
        format!("{p}{:010}", parent_stat.cversion)
    } else {
        p.to_owned()
    };
    path::validate(&full_path)?;
    if tree.get(&full_path).is_some() {
        return Err(ErrorCode::NodeExists);
    }
    if parent.ephemeral_session().is_some() {
        return Err(ErrorCode::NoChildrenForEphemerals);
    }
    let owner = if mode.is_ephemeral() {
        ctx.txn.session_id
    } else if mode.is_container() {
        tree::CONTAINER_OWNER
    } else if mode.is_ttl() {
        tree::ttl_owner(ttl)
    } else {
        0
    };
    let acl = tree.intern_acl(acl);
    let stat = tree.create_node(
        &full_path,
        req.data.as_deref().map(Bytes::copy_from_slice),
        acl,
        owner,
        parent_stat.cversion.wrapping_add(1),
        ctx.zxid,
        ctx.txn.time,
        changes,
    );
    undo.push(Undo::Created {
        path: full_path.clone(),
        parent_stat,
    });
    Ok(MultiResult::Create {
        op: opcode,
        path: full_path,
        stat,
    })
}

fn set_acl(tree: &mut DataTree, ctx: &Ctx, req: &SetAclRequest) -> Result<Stat, ErrorCode> {
    path::validate(&req.path)?;
    let acl = auth::fixup_acl(&req.acl, &ctx.txn.auth)?;
    let node = tree.get(&req.path).ok_or(ErrorCode::NoNode)?;
    auth::check(&node.acl, perms::ADMIN, &ctx.txn.auth)?;
    let aversion = next_version(node.stat.aversion, req.version)?;
    let acl = tree.intern_acl(acl);
    Ok(tree.set_acl(&req.path, acl, aversion))
}

/// Identities of a connection from `ids`, for `whoAmI`: the user name of a
/// digest id (`AuthenticationProvider.getUserName`), other ids as they are.
pub fn client_info(ids: &[Id]) -> Vec<corral_protocol::ClientInfo> {
    ids.iter()
        .map(|id| corral_protocol::ClientInfo {
            auth_scheme: id.scheme.clone(),
            user: match id.scheme.as_str() {
                "digest" => id.id.split(':').next().unwrap_or("").to_owned(),
                _ => id.id.clone(),
            },
        })
        .collect()
}
