"""Value types with kazoo's names (``kazoo.protocol.states``)."""

from __future__ import annotations

from typing import NamedTuple, Optional


class KazooState:
    """What state listeners are told."""

    SUSPENDED = "SUSPENDED"
    CONNECTED = "CONNECTED"
    LOST = "LOST"


class KeeperState:
    """The ``state`` of a :class:`WatchedEvent`."""

    AUTH_FAILED = "AUTH_FAILED"
    CONNECTED = "CONNECTED"
    CONNECTED_RO = "CONNECTED_RO"
    CONNECTING = "CONNECTING"
    CLOSED = "CLOSED"
    EXPIRED_SESSION = "EXPIRED_SESSION"


class EventType:
    """The ``type`` of a :class:`WatchedEvent`. ``NONE`` is a session event
    (the session ended: state ``EXPIRED_SESSION``, ``CLOSED`` or
    ``AUTH_FAILED``; path ``None``)."""

    CREATED = "CREATED"
    DELETED = "DELETED"
    CHANGED = "CHANGED"
    CHILD = "CHILD"
    NONE = "NONE"
    # ZooKeeper 3.6+ (removeWatches); kazoo has no names for them.
    DATA_WATCH_REMOVED = "DATA_WATCH_REMOVED"
    CHILD_WATCH_REMOVED = "CHILD_WATCH_REMOVED"
    PERSISTENT_WATCH_REMOVED = "PERSISTENT_WATCH_REMOVED"


class WatchedEvent(NamedTuple):
    """What a watch callback receives."""

    type: str
    state: str
    path: Optional[str]


class ZnodeStat(NamedTuple):
    """A node's Stat, with ZooKeeper's field names (times in ms) and kazoo's
    convenience properties (times in seconds)."""

    czxid: int
    mzxid: int
    ctime: int
    mtime: int
    version: int
    cversion: int
    aversion: int
    ephemeralOwner: int
    dataLength: int
    numChildren: int
    pzxid: int

    @property
    def acl_version(self) -> int:
        return self.aversion

    @property
    def children_version(self) -> int:
        return self.cversion

    @property
    def created(self) -> float:
        return self.ctime / 1000.0

    @property
    def last_modified(self) -> float:
        return self.mtime / 1000.0

    @property
    def owner_session_id(self) -> Optional[int]:
        return self.ephemeralOwner or None

    @property
    def creation_transaction_id(self) -> int:
        return self.czxid

    @property
    def last_modified_transaction_id(self) -> int:
        return self.mzxid

    @property
    def data_length(self) -> int:
        return self.dataLength

    @property
    def children_count(self) -> int:
        return self.numChildren
