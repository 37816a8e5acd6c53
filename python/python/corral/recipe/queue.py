"""Queues with kazoo's call shapes (``kazoo.recipe.queue``) on the client
core's queue, which has kazoo's ``LockingQueue`` layout: items are
``<path>/entries/entry-PPP-<seq>`` (``PPP``: the priority, lower first),
taken items are locked by an ephemeral ``<path>/taken/<item>`` node.

- ``LockingQueue``: ``get()`` locks an item, ``consume()`` removes it,
  ``release()`` puts it back; an item whose consumer dies goes back to the
  queue. Shares queues with kazoo's ``LockingQueue``.
- ``Queue``: ``get()`` removes the next item at once (None if the queue is
  empty). Same layout as ``LockingQueue`` — not kazoo's ``Queue`` layout,
  which keeps its items directly under ``<path>``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, List, Optional

from .. import _corral

if TYPE_CHECKING:
    from ..client import Client

__all__ = ["LockingQueue", "Queue"]


def _check_put(value: object, priority: object) -> None:
    if not isinstance(value, bytes):
        raise TypeError("value must be a byte string")
    if not isinstance(priority, int):
        raise TypeError("priority must be an int")
    if priority < 0 or priority > 999:
        raise ValueError("priority must be between 0 and 999")


class _BaseQueue:
    def __init__(self, client: "Client", path: str) -> None:
        self.client = client
        self.path = path
        self._native = _corral._Queue(client, path)

    def put(self, value: bytes, priority: int = 100) -> None:
        """Appends an item (``priority`` 0-999, lower is taken first)."""
        _check_put(value, priority)
        self._native.put(value, priority)

    def __len__(self) -> int:
        """The number of items (locked ones included)."""
        count: int = self._native.count()
        return count


class Queue(_BaseQueue):
    def get(self) -> Optional[bytes]:
        """Removes and returns the next item; None if the queue is empty
        (or every item stays locked by a consumer for about a second)."""
        item: Optional[bytes] = self._native.take(None)
        return item


class LockingQueue(_BaseQueue):
    def put_all(self, values: List[bytes], priority: int = 100) -> None:
        """Appends several items atomically."""
        if not isinstance(values, list):
            raise TypeError("values must be a list of byte strings")
        for v in values:
            _check_put(v, priority)
        self._native.put_all(values, priority)

    def get(self, timeout: Optional[float] = None) -> Optional[bytes]:
        """Locks the next item and returns it (the item taken before, if it
        was neither consumed nor released); None after ``timeout`` seconds."""
        item: Optional[bytes] = self._native.take_locked(timeout)
        return item

    def holds_lock(self) -> bool:
        """Whether we still hold the lock of the item taken."""
        held: bool = self._native.holds_lock()
        return held

    def consume(self) -> bool:
        """Removes the item taken: True, or False if none was taken."""
        done: bool = self._native.consume()
        return done

    def release(self) -> bool:
        """Puts the item taken back: True, or False if none was taken."""
        done: bool = self._native.release()
        return done
