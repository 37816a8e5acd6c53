//! Conversions between the core's value types and kazoo's Python shapes
//! (`ZnodeStat`, `WatchedEvent`, `ACL`/`Id` of `corral.states` and
//! `corral.security`, state and event-type strings).

use corral_client::{Acl, EventType, Id, KeeperState, SessionState, Stat, WatchedEvent};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyTuple, PyType};
use pyo3::PyTypeInfo;

static ZNODE_STAT: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static WATCHED_EVENT: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static ACL: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static ID: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static TUPLE_NEW: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

/// `corral.states.ZnodeStat` (kazoo's field names and order). Built as
/// the namedtuple's own `_make` does, `tuple.__new__(ZnodeStat, fields)`,
/// but without running its Python code.
pub fn stat(py: Python<'_>, s: &Stat) -> PyResult<Py<PyAny>> {
    let class = ZNODE_STAT.import(py, "corral.states", "ZnodeStat")?;
    let tuple_new = TUPLE_NEW.get_or_try_init(py, || {
        PyTuple::type_object(py)
            .getattr("__new__")
            .map(Bound::unbind)
    })?;
    let fields = (
        s.czxid,
        s.mzxid,
        s.ctime,
        s.mtime,
        s.version,
        s.cversion,
        s.aversion,
        s.ephemeral_owner,
        s.data_length,
        s.num_children,
        s.pzxid,
    );
    tuple_new.call1(py, (class, fields))
}

/// kazoo's `EventType` string.
pub fn event_type(t: EventType) -> &'static str {
    match t {
        EventType::None => "NONE",
        EventType::NodeCreated => "CREATED",
        EventType::NodeDeleted => "DELETED",
        EventType::NodeDataChanged => "CHANGED",
        EventType::NodeChildrenChanged => "CHILD",
        EventType::DataWatchRemoved => "DATA_WATCH_REMOVED",
        EventType::ChildWatchRemoved => "CHILD_WATCH_REMOVED",
        EventType::PersistentWatchRemoved => "PERSISTENT_WATCH_REMOVED",
    }
}

/// kazoo's `KeeperState` string.
pub fn keeper_state(s: KeeperState) -> &'static str {
    match s {
        KeeperState::SyncConnected | KeeperState::NoSyncConnected => "CONNECTED",
        KeeperState::SaslAuthenticated => "CONNECTED",
        KeeperState::ConnectedReadOnly => "CONNECTED_RO",
        KeeperState::Expired => "EXPIRED_SESSION",
        KeeperState::AuthFailed => "AUTH_FAILED",
        KeeperState::Closed => "CLOSED",
        KeeperState::Disconnected | KeeperState::Unknown => "CONNECTING",
    }
}

/// kazoo's `KazooState` for a core session state: what listeners see.
pub fn kazoo_state(s: SessionState) -> &'static str {
    match s {
        SessionState::Connected | SessionState::Reconnected | SessionState::ReadOnly => "CONNECTED",
        SessionState::Suspended => "SUSPENDED",
        SessionState::Lost | SessionState::AuthFailed | SessionState::Closed => "LOST",
    }
}

/// `corral.states.WatchedEvent(type, state, path)`; `path` is None for
/// session events, as in kazoo.
pub fn watched_event(py: Python<'_>, e: &WatchedEvent) -> PyResult<Py<PyAny>> {
    let class = WATCHED_EVENT.import(py, "corral.states", "WatchedEvent")?;
    let path = (!e.is_session_event()).then_some(e.path.as_str());
    let args = (event_type(e.event_type), keeper_state(e.state), path);
    Ok(class.call1(args)?.unbind())
}

/// A list of `corral.security.ACL`.
pub fn acls_to_py(py: Python<'_>, acls: &[Acl]) -> PyResult<Py<PyAny>> {
    let acl_class = ACL.import(py, "corral.security", "ACL")?;
    let id_class = ID.import(py, "corral.security", "Id")?;
    let mut out = Vec::with_capacity(acls.len());
    for a in acls {
        let id = id_class.call1((a.id.scheme.as_str(), a.id.id.as_str()))?;
        out.push(acl_class.call1((a.perms, id))?);
    }
    Ok(pyo3::types::PyList::new(py, out)?.into_any().unbind())
}

/// ACLs from any sequence of objects with `perms` and `id.scheme` /
/// `id.id` (kazoo's or corral's `ACL` namedtuples).
pub fn acls_from_py(obj: &Bound<'_, PyAny>) -> PyResult<Vec<Acl>> {
    if obj.hasattr("perms")? {
        return Err(pyo3::exceptions::PyTypeError::new_err(
            "Invalid type for 'acl' (acl must be a tuple/list of ACL's)",
        ));
    }
    let mut out = Vec::new();
    for item in obj.try_iter()? {
        let item = item?;
        let id = item.getattr("id")?;
        out.push(Acl {
            perms: item.getattr("perms")?.extract()?,
            id: Id {
                scheme: id.getattr("scheme")?.extract()?,
                id: id.getattr("id")?.extract()?,
            },
        });
    }
    Ok(out)
}
