//! Watch event types, keeper states and watch modes (`Watcher.Event`).

/// `Watcher.Event.EventType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(i32)]
pub enum EventType {
    None = -1,
    NodeCreated = 1,
    NodeDeleted = 2,
    NodeDataChanged = 3,
    NodeChildrenChanged = 4,
    DataWatchRemoved = 5,
    ChildWatchRemoved = 6,
    PersistentWatchRemoved = 7,
}

impl EventType {
    pub fn from_i32(v: i32) -> Option<EventType> {
        use EventType::*;
        [
            None,
            NodeCreated,
            NodeDeleted,
            NodeDataChanged,
            NodeChildrenChanged,
            DataWatchRemoved,
            ChildWatchRemoved,
            PersistentWatchRemoved,
        ]
        .into_iter()
        .find(|t| *t as i32 == v)
    }
}

/// `Watcher.Event.KeeperState`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(i32)]
pub enum KeeperState {
    Unknown = -1,
    Disconnected = 0,
    NoSyncConnected = 1,
    SyncConnected = 3,
    AuthFailed = 4,
    ConnectedReadOnly = 5,
    SaslAuthenticated = 6,
    Expired = -112,
    Closed = 7,
}

impl KeeperState {
    /// The state with wire value `v`; `Unknown` for values ZooKeeper does
    /// not define.
    pub fn from_i32(v: i32) -> KeeperState {
        use KeeperState::*;
        [
            Disconnected,
            NoSyncConnected,
            SyncConnected,
            AuthFailed,
            ConnectedReadOnly,
            SaslAuthenticated,
            Expired,
            Closed,
        ]
        .into_iter()
        .find(|s| *s as i32 == v)
        .unwrap_or(Unknown)
    }
}

/// `Watcher.WatcherType` as used by checkWatches/removeWatches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(i32)]
pub enum WatcherType {
    Children = 1,
    Data = 2,
    Any = 3,
    Persistent = 4,
    PersistentRecursive = 5,
}

impl WatcherType {
    pub fn from_i32(v: i32) -> Option<WatcherType> {
        use WatcherType::*;
        [Children, Data, Any, Persistent, PersistentRecursive]
            .into_iter()
            .find(|t| *t as i32 == v)
    }
}

/// `AddWatchMode` of the addWatch request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(i32)]
pub enum AddWatchMode {
    Persistent = 0,
    PersistentRecursive = 1,
}

impl AddWatchMode {
    pub fn from_i32(v: i32) -> Option<AddWatchMode> {
        match v {
            0 => Some(AddWatchMode::Persistent),
            1 => Some(AddWatchMode::PersistentRecursive),
            _ => None,
        }
    }
}
