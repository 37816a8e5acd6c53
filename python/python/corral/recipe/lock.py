"""Locks and semaphores with kazoo's call shapes (``kazoo.recipe.lock``),
on the recipes of the Corral client core, with Curator's node layouts:

- ``Lock``: ``<path>/_c_<uuid>-lock-<seq>`` (Curator's ``InterProcessMutex``);
- ``ReadLock`` / ``WriteLock``: ``__READ__`` / ``__WRIT__`` nodes (Curator's
  ``InterProcessReadWriteLock``);
- ``Semaphore``: ``<path>/locks`` and ``<path>/leases`` (Curator's
  ``InterProcessSemaphoreV2``).

Our locks honour kazoo's ``__lock__`` / ``__rlock__`` contenders on the same
path; kazoo honours ours with ``extra_lock_patterns=["-lock-"]``.

``AsyncLock`` & co. are the same for an ``AsyncClient``:
``async with client.Lock(path, "me"): ...``.
"""

from __future__ import annotations

from types import TracebackType
from typing import TYPE_CHECKING, Any, List, Optional, Sequence, Type, Union

from .. import _corral

if TYPE_CHECKING:
    from ..client import AsyncClient, Client

__all__ = [
    "AsyncLock",
    "AsyncReadLock",
    "AsyncSemaphore",
    "AsyncWriteLock",
    "Lock",
    "ReadLock",
    "Semaphore",
    "WriteLock",
]


def _identifier(identifier: Any) -> bytes:
    """kazoo's contender data: ``str(identifier or "")`` in UTF-8."""
    return str(identifier or "").encode("utf-8")


class _LockBase:
    _KIND = "lock"

    def __init__(
        self,
        client: "Union[Client, AsyncClient]",
        path: str,
        identifier: Optional[Any] = None,
        extra_lock_patterns: Sequence[str] = (),
    ) -> None:
        # extra_lock_patterns: accepted for kazoo's signature; the core
        # already honours Curator's and kazoo's contender names.
        self.client = client
        self.path = path
        self.data = _identifier(identifier)
        self._native = _corral._Lock(client, path, self.data, self._KIND)

    @property
    def is_acquired(self) -> bool:
        """Whether this object holds the lock (connected or not)."""
        return self._native.is_acquired

    @property
    def state(self) -> str:
        """``"RELEASED"``, ``"ACQUIRED"``, ``"SUSPENDED"`` (held, but the
        connection is down) or ``"LOST"`` (the session ended while held)."""
        return self._native.state

    @property
    def node(self) -> Optional[str]:
        """Our contender node's name while held."""
        return self._native.node

    def cancel(self) -> None:
        """Makes a pending acquire raise ``CancelledError``."""
        self._native.cancel()


class Lock(_LockBase):
    """A distributed lock (kazoo's ``Lock``): ``with client.Lock(path, "me"):``.
    Unlike kazoo's, it is re-entrant per object (as Curator's): acquire
    twice, release twice."""


    def acquire(
        self, blocking: bool = True, timeout: Optional[float] = None, ephemeral: bool = True
    ) -> bool:
        """Waits for the lock: True once held. ``blocking=False``: False at
        once if it is taken. Raises ``LockTimeout`` after ``timeout``
        seconds, ``CancelledError`` after ``cancel()``."""
        if not ephemeral:
            raise NotImplementedError("corral lock nodes are always ephemeral")
        got: bool = self._native.acquire(blocking, timeout)
        return got

    def release(self) -> bool:
        """Releases the lock: True, or False if it was not held."""
        released: bool = self._native.release()
        return released

    def contenders(self) -> List[str]:
        """The contenders' identifiers, the holder first."""
        names: List[str] = self._native.contenders()
        return names

    def __enter__(self) -> None:
        self.acquire()

    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc_value: Optional[BaseException],
        exc_tb: Optional[TracebackType],
    ) -> None:
        self.release()


class ReadLock(Lock):
    """The shared side of a read/write lock (kazoo's ``ReadLock``): held
    while no writer is queued before us."""

    _KIND = "read"


class WriteLock(Lock):
    """The exclusive side of a read/write lock (kazoo's ``WriteLock``)."""

    _KIND = "write"


class AsyncLock(_LockBase):
    """``Lock`` for an ``AsyncClient``: ``await lock.acquire()``, or
    ``async with client.Lock(path, "me"):``."""


    async def acquire(self, blocking: bool = True, timeout: Optional[float] = None) -> bool:
        got: bool = await self._native.acquire(blocking, timeout)
        return got

    async def release(self) -> bool:
        released: bool = await self._native.release()
        return released

    async def contenders(self) -> List[str]:
        names: List[str] = await self._native.contenders()
        return names

    async def __aenter__(self) -> None:
        await self.acquire()

    async def __aexit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc_value: Optional[BaseException],
        exc_tb: Optional[TracebackType],
    ) -> None:
        await self.release()


class AsyncReadLock(AsyncLock):
    _KIND = "read"


class AsyncWriteLock(AsyncLock):
    _KIND = "write"


class _SemaphoreBase:
    def __init__(
        self,
        client: "Union[Client, AsyncClient]",
        path: str,
        identifier: Optional[Any] = None,
        max_leases: int = 1,
    ) -> None:
        self.client = client
        self.path = path
        self.data = _identifier(identifier)
        self.max_leases = max_leases
        self._native = _corral._Semaphore(client, path, self.data, max_leases)

    @property
    def is_acquired(self) -> bool:
        """Whether this object holds a lease."""
        return self._native.is_acquired

    def cancel(self) -> None:
        """Makes a pending acquire raise ``CancelledError``."""
        self._native.cancel()


class Semaphore(_SemaphoreBase):
    """A counting semaphore (kazoo's ``Semaphore``): at most ``max_leases``
    holders at once; ``with client.Semaphore(path, "me", max_leases=3):``.
    Every holder must use the same ``max_leases``."""


    def acquire(self, blocking: bool = True, timeout: Optional[float] = None) -> bool:
        """Waits for a lease: True once held. ``blocking=False``: False if
        every lease is taken. Raises ``LockTimeout`` after ``timeout``
        seconds, ``CancelledError`` after ``cancel()``."""
        got: bool = self._native.acquire(blocking, timeout)
        return got

    def release(self) -> bool:
        """Gives the lease back: True, or False if none was held."""
        released: bool = self._native.release()
        return released

    def lease_holders(self) -> List[str]:
        """The identifiers of the lease holders."""
        holders: List[str] = self._native.lease_holders()
        return holders

    def __enter__(self) -> None:
        self.acquire()

    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc_value: Optional[BaseException],
        exc_tb: Optional[TracebackType],
    ) -> None:
        self.release()


class AsyncSemaphore(_SemaphoreBase):
    """``Semaphore`` for an ``AsyncClient``."""


    async def acquire(self, blocking: bool = True, timeout: Optional[float] = None) -> bool:
        got: bool = await self._native.acquire(blocking, timeout)
        return got

    async def release(self) -> bool:
        released: bool = await self._native.release()
        return released

    async def lease_holders(self) -> List[str]:
        holders: List[str] = await self._native.lease_holders()
        return holders

    async def __aenter__(self) -> None:
        await self.acquire()

    async def __aexit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc_value: Optional[BaseException],
        exc_tb: Optional[TracebackType],
    ) -> None:
        await self.release()
