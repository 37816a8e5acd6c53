"""``TreeCache`` with kazoo's call shape (``kazoo.recipe.cache``) on the
client core's tree cache: a local mirror of a subtree kept current by
watches (one persistent recursive watch on ZooKeeper >= 3.6), with
kazoo's ``TreeEvent`` / ``NodeData`` events.

``start()`` returns once the subtree is loaded (kazoo's loads in the
background). Listeners run on the client's callback thread. After a
session expiry the cache carries on with a session of its own until
``close()``.
"""

from __future__ import annotations

import logging
import operator
from typing import TYPE_CHECKING, Any, Callable, FrozenSet, List, Optional, Tuple, TypeVar

from .. import _corral
from ..exceptions import KazooException
from ..states import ZnodeStat

if TYPE_CHECKING:
    from ..client import Client

__all__ = ["NodeData", "TreeCache", "TreeEvent"]

log = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., Any])


class NodeData(Tuple[str, bytes, ZnodeStat]):
    """A cached node: ``(path, data, stat)``."""

    path = property(operator.itemgetter(0))
    data = property(operator.itemgetter(1))
    stat = property(operator.itemgetter(2))

    @classmethod
    def make(cls, path: str, data: bytes, stat: ZnodeStat) -> "NodeData":
        return cls((path, data, stat))


class TreeEvent(Tuple[int, Optional[NodeData]]):
    """A cache event: ``(event_type, event_data)``."""

    NODE_ADDED = 0
    NODE_UPDATED = 1
    NODE_REMOVED = 2
    CONNECTION_SUSPENDED = 3
    CONNECTION_RECONNECTED = 4
    CONNECTION_LOST = 5
    INITIALIZED = 6

    event_type = property(operator.itemgetter(0))
    event_data = property(operator.itemgetter(1))

    @classmethod
    def make(cls, event_type: int, event_data: Optional[NodeData]) -> "TreeEvent":
        return cls((event_type, event_data))


class TreeCache:
    STATE_LATENT = 0
    STATE_STARTED = 1
    STATE_CLOSED = 2

    def __init__(self, client: "Client", path: str) -> None:
        self._client = client
        self._path = path.rstrip("/") or "/"
        self._state = self.STATE_LATENT
        self._event_listeners: List[Callable[[TreeEvent], Any]] = []
        self._error_listeners: List[Callable[[Exception], Any]] = []
        self._native = _corral._TreeCache(client, self._path)

    def start(self) -> None:
        """Loads the subtree and keeps it current (until ``close()``)."""
        if self._state == self.STATE_CLOSED:
            raise KazooException("already closed")
        if self._state == self.STATE_STARTED:
            raise KazooException("already started")
        self._state = self.STATE_STARTED
        self._native.start(self._on_event)

    def close(self) -> None:
        """Stops the cache; it cannot be started again."""
        if self._state == self.STATE_STARTED:
            self._state = self.STATE_CLOSED
            self._native.close()

    def listen(self, listener: F) -> F:
        """Registers ``listener(event)`` for every TreeEvent (a decorator too)."""
        self._event_listeners.append(listener)
        return listener

    def listen_fault(self, listener: F) -> F:
        """Registers ``listener(exception)`` for exceptions of listeners."""
        self._error_listeners.append(listener)
        return listener

    def _check(self, path: str) -> None:
        root = self._path
        if not (path == root or path.startswith(root if root == "/" else root + "/")):
            raise ValueError("outside of tree")

    def get_data(self, path: str, default: Optional[NodeData] = None) -> Optional[NodeData]:
        """The cached node at ``path``, or ``default``."""
        self._check(path)
        found = self._native.get_data(path)
        return default if found is None else NodeData.make(*found)

    def get_children(
        self, path: str, default: Optional[FrozenSet[str]] = None
    ) -> Optional[FrozenSet[str]]:
        """The names of the cached children of ``path``, or ``default``."""
        self._check(path)
        found = self._native.get_children(path)
        return default if found is None else frozenset(found)

    def _on_event(self, raw: Tuple[int, Optional[Tuple[str, bytes, ZnodeStat]]]) -> None:
        kind, node = raw
        event = TreeEvent.make(kind, None if node is None else NodeData.make(*node))
        for listener in list(self._event_listeners):
            try:
                listener(event)
            except Exception as e:
                if not self._error_listeners:
                    log.exception("TreeCache listener failed")
                for fault in list(self._error_listeners):
                    try:
                        fault(e)
                    except Exception:
                        log.exception("TreeCache fault listener failed")
