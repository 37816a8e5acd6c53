//! Public value types: create options, multi ops and results, watch events.

pub use corral_protocol::{
    perms, Acl, AddWatchMode, CreateMode, EventType, Id, KeeperState, Stat, WatcherType,
};

/// How [`crate::Client::create`] makes a node.
///
/// `ttl` (milliseconds) is required by, and only allowed with,
/// [`CreateMode::PersistentWithTtl`] and
/// [`CreateMode::PersistentSequentialWithTtl`] (the server must run with
/// `extendedTypesEnabled=true`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateOptions {
    pub mode: CreateMode,
    pub acl: Vec<Acl>,
    pub ttl: Option<i64>,
}

impl Default for CreateOptions {
    /// Persistent, `OPEN_ACL_UNSAFE`, no TTL.
    fn default() -> Self {
        CreateOptions {
            mode: CreateMode::Persistent,
            acl: Acl::open_unsafe(),
            ttl: None,
        }
    }
}

impl CreateOptions {
    /// `mode` with `OPEN_ACL_UNSAFE`.
    pub fn new(mode: CreateMode) -> Self {
        CreateOptions {
            mode,
            ..Default::default()
        }
    }

    pub fn ephemeral() -> Self {
        Self::new(CreateMode::Ephemeral)
    }

    pub fn sequential() -> Self {
        Self::new(CreateMode::PersistentSequential)
    }

    pub fn ephemeral_sequential() -> Self {
        Self::new(CreateMode::EphemeralSequential)
    }

    pub fn container() -> Self {
        Self::new(CreateMode::Container)
    }

    /// A persistent node removed by the server once it has had no children
    /// and no change for `ttl_ms`.
    pub fn ttl(ttl_ms: i64) -> Self {
        Self::new(CreateMode::PersistentWithTtl).with_ttl(ttl_ms)
    }

    pub fn with_acl(mut self, acl: Vec<Acl>) -> Self {
        self.acl = acl;
        self
    }

    pub fn with_ttl(mut self, ttl_ms: i64) -> Self {
        self.ttl = Some(ttl_ms);
        self
    }
}

/// One operation of [`crate::Client::multi`] (writes: create, delete,
/// set_data, check) or [`crate::Client::multi_read`] (get_data,
/// get_children). Paths are client paths (the chroot is added).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    Create {
        path: String,
        data: Vec<u8>,
        options: CreateOptions,
    },
    /// `version` `None` = any version.
    Delete {
        path: String,
        version: Option<i32>,
    },
    SetData {
        path: String,
        data: Vec<u8>,
        version: Option<i32>,
    },
    /// Fails the multi unless the node exists with this version (`None`:
    /// just exists).
    Check {
        path: String,
        version: Option<i32>,
    },
    GetData {
        path: String,
    },
    GetChildren {
        path: String,
    },
}

impl Op {
    pub fn create(path: impl Into<String>, data: impl Into<Vec<u8>>, options: CreateOptions) -> Op {
        Op::Create {
            path: path.into(),
            data: data.into(),
            options,
        }
    }

    pub fn delete(path: impl Into<String>, version: Option<i32>) -> Op {
        Op::Delete {
            path: path.into(),
            version,
        }
    }

    pub fn set_data(path: impl Into<String>, data: impl Into<Vec<u8>>, version: Option<i32>) -> Op {
        Op::SetData {
            path: path.into(),
            data: data.into(),
            version,
        }
    }

    pub fn check(path: impl Into<String>, version: Option<i32>) -> Op {
        Op::Check {
            path: path.into(),
            version,
        }
    }

    pub fn get_data(path: impl Into<String>) -> Op {
        Op::GetData { path: path.into() }
    }

    pub fn get_children(path: impl Into<String>) -> Op {
        Op::GetChildren { path: path.into() }
    }

    pub fn path(&self) -> &str {
        match self {
            Op::Create { path, .. }
            | Op::Delete { path, .. }
            | Op::SetData { path, .. }
            | Op::Check { path, .. }
            | Op::GetData { path }
            | Op::GetChildren { path } => path,
        }
    }

    pub fn is_read(&self) -> bool {
        matches!(self, Op::GetData { .. } | Op::GetChildren { .. })
    }
}

/// The result of one [`Op`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OpResult {
    /// The created path (client path, sequence suffix included). `stat` is
    /// `Some` when the server sent it: ZooKeeper 3.8 sends it for container
    /// and TTL creates only.
    Create {
        path: String,
        stat: Option<Stat>,
    },
    Delete,
    SetData(Stat),
    Check,
    /// Null data reads as empty.
    GetData {
        data: Vec<u8>,
        stat: Stat,
    },
    GetChildren(Vec<String>),
    /// Only in [`crate::Client::multi_read`] results: this read failed
    /// (reads are independent; the others still ran).
    Error(crate::Error),
}

/// A watch notification, or a session event (`event_type` `None`).
///
/// `path` is a client path (chroot removed); empty for session events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatchedEvent {
    pub event_type: EventType,
    pub state: KeeperState,
    pub path: String,
}

impl WatchedEvent {
    /// A session event (no path): `Expired` when the session is lost,
    /// `Closed` after `close()`, `AuthFailed` after failed authentication.
    pub fn session(state: KeeperState) -> WatchedEvent {
        WatchedEvent {
            event_type: EventType::None,
            state,
            path: String::new(),
        }
    }

    /// Whether this is a session event rather than a node event.
    pub fn is_session_event(&self) -> bool {
        self.event_type == EventType::None
    }
}

/// What [`crate::Client::who_am_i`] returns: one entry per identity of the
/// session (`ip`, `digest`, ...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientInfo {
    pub auth_scheme: String,
    pub user: String,
}
