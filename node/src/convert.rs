//! Value types between the core and JavaScript: stats, ACLs, events,
//! create modes, session states, node data.

use corral_client::{
    Acl as CoreAcl, CreateMode, CreateOptions as CoreCreateOptions, EventType, Id, KeeperState,
    SessionState, Stat as CoreStat, WatchedEvent,
};
use napi::bindgen_prelude::*;
use napi_derive::napi;

use crate::errors::bad_args;

/// A node's metadata, as ZooKeeper's `Stat`. Times are milliseconds since
/// the epoch; `ephemeralOwner` is the owner's session id (0n if the node is
/// not ephemeral), a bigint as `Client.sessionId` is.
// Made into a JS object by `objects.rs`.
#[napi(object, object_to_js = false)]
#[derive(Clone)]
pub struct Stat {
    pub czxid: i64,
    pub mzxid: i64,
    pub ctime: i64,
    pub mtime: i64,
    pub version: i32,
    pub cversion: i32,
    pub aversion: i32,
    pub ephemeral_owner: BigInt,
    pub data_length: i32,
    pub num_children: i32,
    pub pzxid: i64,
}

impl From<CoreStat> for Stat {
    fn from(s: CoreStat) -> Stat {
        Stat {
            czxid: s.czxid,
            mzxid: s.mzxid,
            ctime: s.ctime,
            mtime: s.mtime,
            version: s.version,
            cversion: s.cversion,
            aversion: s.aversion,
            ephemeral_owner: BigInt::from(s.ephemeral_owner),
            data_length: s.data_length,
            num_children: s.num_children,
            pzxid: s.pzxid,
        }
    }
}

/// One ACL entry: `perms` (a sum of `Perms`) for the identity `scheme:id`,
/// e.g. `{ perms: Perms.All, scheme: 'world', id: 'anyone' }`.
#[napi(object)]
#[derive(Clone)]
pub struct Acl {
    pub perms: i32,
    pub scheme: String,
    pub id: String,
}

impl From<CoreAcl> for Acl {
    fn from(a: CoreAcl) -> Acl {
        Acl {
            perms: a.perms,
            scheme: a.id.scheme,
            id: a.id.id,
        }
    }
}

impl From<Acl> for CoreAcl {
    fn from(a: Acl) -> CoreAcl {
        CoreAcl {
            perms: a.perms,
            id: Id {
                scheme: a.scheme,
                id: a.id,
            },
        }
    }
}

pub fn acls(list: Option<Vec<Acl>>) -> Vec<CoreAcl> {
    match list {
        Some(l) => l.into_iter().map(CoreAcl::from).collect(),
        None => CoreAcl::open_unsafe(),
    }
}

/// Permission bits of an ACL entry (ZooKeeper's `ZooDefs.Perms`).
#[napi]
pub enum Perms {
    Read = 1,
    Write = 2,
    Create = 4,
    Delete = 8,
    Admin = 16,
    All = 31,
}

/// A watch notification: `type` is what happened (`'none'` for the end of
/// the session, with `state` `'expired'`, `'closed'` or `'auth_failed'`);
/// `path` is the node's path (chroot removed; empty for session events).
#[napi(object)]
#[derive(Clone)]
pub struct WatchEvent {
    #[napi(
        js_name = "type",
        ts_type = "'node_created' | 'node_deleted' | 'node_data_changed' | 'node_children_changed' | 'data_watch_removed' | 'child_watch_removed' | 'persistent_watch_removed' | 'none'"
    )]
    pub kind: String,
    #[napi(
        ts_type = "'sync_connected' | 'disconnected' | 'expired' | 'auth_failed' | 'read_only' | 'closed' | 'sasl_authenticated' | 'unknown'"
    )]
    pub state: String,
    pub path: String,
}

impl From<WatchedEvent> for WatchEvent {
    fn from(e: WatchedEvent) -> WatchEvent {
        WatchEvent {
            kind: event_type_name(e.event_type).to_owned(),
            state: keeper_state_name(e.state).to_owned(),
            path: e.path,
        }
    }
}

pub fn event_type_name(t: EventType) -> &'static str {
    match t {
        EventType::None => "none",
        EventType::NodeCreated => "node_created",
        EventType::NodeDeleted => "node_deleted",
        EventType::NodeDataChanged => "node_data_changed",
        EventType::NodeChildrenChanged => "node_children_changed",
        EventType::DataWatchRemoved => "data_watch_removed",
        EventType::ChildWatchRemoved => "child_watch_removed",
        EventType::PersistentWatchRemoved => "persistent_watch_removed",
    }
}

pub fn keeper_state_name(s: KeeperState) -> &'static str {
    match s {
        KeeperState::SyncConnected => "sync_connected",
        KeeperState::Disconnected | KeeperState::NoSyncConnected => "disconnected",
        KeeperState::Expired => "expired",
        KeeperState::AuthFailed => "auth_failed",
        KeeperState::ConnectedReadOnly => "read_only",
        KeeperState::Closed => "closed",
        KeeperState::SaslAuthenticated => "sasl_authenticated",
        _ => "unknown",
    }
}

/// The name of a session state, as `'state'` events and `Client.state` have
/// them.
pub fn state_name(s: SessionState) -> &'static str {
    match s {
        SessionState::Connected => "connected",
        SessionState::Suspended => "suspended",
        SessionState::Reconnected => "reconnected",
        SessionState::Lost => "lost",
        SessionState::ReadOnly => "read_only",
        SessionState::AuthFailed => "auth_failed",
        SessionState::Closed => "closed",
    }
}

/// Options of `create` (and of a transaction's create).
#[napi(object)]
#[derive(Default)]
pub struct CreateOptions {
    /// Default `'persistent'`.
    #[napi(
        ts_type = "'persistent' | 'ephemeral' | 'persistent_sequential' | 'ephemeral_sequential' | 'container'"
    )]
    pub mode: Option<String>,
    /// Time to live in ms of a persistent (sequential) node without children
    /// (the server needs `extendedTypesEnabled=true`).
    pub ttl: Option<i64>,
    /// Default: open to everyone (`world:anyone`, all permissions).
    pub acl: Option<Vec<Acl>>,
    /// Create missing parents (persistent, empty, with the same ACL).
    pub makepath: Option<bool>,
}

/// The core's create options for `opts`.
pub fn create_options(opts: &CreateOptions) -> corral_client::Result<CoreCreateOptions> {
    let mode = match (opts.mode.as_deref().unwrap_or("persistent"), opts.ttl) {
        ("persistent", None) => CreateMode::Persistent,
        ("persistent", Some(_)) => CreateMode::PersistentWithTtl,
        ("persistent_sequential", None) => CreateMode::PersistentSequential,
        ("persistent_sequential", Some(_)) => CreateMode::PersistentSequentialWithTtl,
        ("ephemeral", _) => CreateMode::Ephemeral,
        ("ephemeral_sequential", _) => CreateMode::EphemeralSequential,
        ("container", _) => CreateMode::Container,
        (other, _) => return Err(bad_args(format!("unknown create mode {other:?}"))),
    };
    Ok(CoreCreateOptions {
        mode,
        acl: acls(opts.acl.clone()),
        ttl: opts.ttl,
    })
}

/// Node data from JS: a Buffer, a string (UTF-8), or nothing (empty).
pub fn bytes(data: Option<Either<Buffer, String>>) -> Vec<u8> {
    match data {
        Some(Either::A(b)) => b.to_vec(),
        Some(Either::B(s)) => s.into_bytes(),
        None => Vec::new(),
    }
}

/// A version argument: -1 (or undefined) is "any version".
pub fn version(v: Option<i32>) -> Option<i32> {
    v.filter(|v| *v != -1)
}
