"""``Client`` and ``AsyncClient``: the native clients plus kazoo's pure
Python conveniences (transactions, ``retry``, ``DataWatch``,
``ChildrenWatch``) and the recipe factories (``client.Lock(path, id)``...,
as kazoo's)."""

from __future__ import annotations

from types import TracebackType
from typing import Any, Callable, List, Optional, Sequence, Tuple, Type, TypeVar, Union

from . import _corral
from .recipe.barrier import Barrier, DoubleBarrier
from .recipe.cache import TreeCache
from .recipe.counter import Counter
from .recipe.election import AsyncElection, Election
from .recipe.lock import (
    AsyncLock,
    AsyncReadLock,
    AsyncSemaphore,
    AsyncWriteLock,
    Lock,
    ReadLock,
    Semaphore,
    WriteLock,
)
from .recipe.party import Party
from .recipe.queue import LockingQueue, Queue
from .retry import KazooRetry
from .security import ACL
from .states import ZnodeStat
from .watchers import ChildrenWatch, DataWatch

T = TypeVar("T")

TransactionResult = Union[str, bool, ZnodeStat, Exception]
_Op = Tuple[Any, ...]


class _Transaction:
    """Collects the ops of a transaction (kazoo's ``TransactionRequest``)."""

    def __init__(self) -> None:
        self.operations: List[_Op] = []
        self.committed = False

    def create(
        self,
        path: str,
        value: bytes = b"",
        acl: Optional[Sequence[ACL]] = None,
        ephemeral: bool = False,
        sequence: bool = False,
    ) -> None:
        if not isinstance(value, bytes):
            raise TypeError("Invalid type for 'value' (must be a byte string)")
        self._add(("create", path, value, acl, bool(ephemeral), bool(sequence)))

    def delete(self, path: str, version: int = -1) -> None:
        self._add(("delete", path, version))

    def set_data(self, path: str, value: bytes, version: int = -1) -> None:
        if not isinstance(value, bytes):
            raise TypeError("Invalid type for 'value' (must be a byte string)")
        self._add(("set_data", path, value, version))

    def check(self, path: str, version: int) -> None:
        self._add(("check", path, version))

    def _add(self, op: _Op) -> None:
        if not isinstance(op[1], str):
            raise TypeError("Invalid type for 'path' (string expected)")
        self._check_tx_state()
        self.operations.append(op)

    def _check_tx_state(self) -> None:
        if self.committed:
            raise ValueError("Transaction already committed")


class TransactionRequest(_Transaction):
    """A transaction of a :class:`Client`: ``commit()`` applies every op or
    none. It returns one result per op: the created path, True (delete,
    check), a ZnodeStat (set_data) — or, if the transaction failed,
    exception instances (RolledBackError for the ops that would have
    succeeded). As a context manager it commits on a clean exit."""

    def __init__(self, client: "Client") -> None:
        super().__init__()
        self.client = client

    def commit(self) -> List[TransactionResult]:
        self._check_tx_state()
        self.committed = True
        result: List[TransactionResult] = self.client._multi(self.operations)
        return result

    def __enter__(self) -> "TransactionRequest":
        return self

    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc_value: Optional[BaseException],
        exc_tb: Optional[TracebackType],
    ) -> None:
        if not exc_type:
            self.commit()


class AsyncTransactionRequest(_Transaction):
    """A transaction of an :class:`AsyncClient`: ``await t.commit()``."""

    def __init__(self, client: "AsyncClient") -> None:
        super().__init__()
        self.client = client

    async def commit(self) -> List[TransactionResult]:
        self._check_tx_state()
        self.committed = True
        result: List[TransactionResult] = await self.client._multi(self.operations)
        return result


class Client(_corral.Client):
    """A ZooKeeper client with kazoo's ``KazooClient`` API (blocking calls,
    GIL released while waiting). ``Client(hosts, timeout)``, then
    ``start()``; watch callbacks and state listeners run on the client's
    callback thread and may call the client."""

    def transaction(self) -> TransactionRequest:
        return TransactionRequest(self)

    def retry(self, func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Calls ``func(*args, **kwargs)``, retrying on connection loss (kazoo's
        ``client.retry``)."""
        return KazooRetry(max_tries=-1)(func, *args, **kwargs)

    def DataWatch(self, path: str, func: Optional[Callable[..., Any]] = None) -> DataWatch:
        return DataWatch(self, path, func)

    def ChildrenWatch(
        self,
        path: str,
        func: Optional[Callable[..., Any]] = None,
        allow_session_lost: bool = True,
        send_event: bool = False,
    ) -> ChildrenWatch:
        return ChildrenWatch(self, path, func, allow_session_lost, send_event)

    # ---- recipes (kazoo's factories; see corral.recipe) ----------------

    def Lock(
        self, path: str, identifier: Optional[Any] = None, extra_lock_patterns: Sequence[str] = ()
    ) -> Lock:
        return Lock(self, path, identifier, extra_lock_patterns)

    def ReadLock(
        self, path: str, identifier: Optional[Any] = None, extra_lock_patterns: Sequence[str] = ()
    ) -> ReadLock:
        return ReadLock(self, path, identifier, extra_lock_patterns)

    def WriteLock(
        self, path: str, identifier: Optional[Any] = None, extra_lock_patterns: Sequence[str] = ()
    ) -> WriteLock:
        return WriteLock(self, path, identifier, extra_lock_patterns)

    def Semaphore(
        self, path: str, identifier: Optional[Any] = None, max_leases: int = 1
    ) -> Semaphore:
        return Semaphore(self, path, identifier, max_leases)

    def Election(self, path: str, identifier: Optional[Any] = None) -> Election:
        return Election(self, path, identifier)

    def Barrier(self, path: str) -> Barrier:
        return Barrier(self, path)

    def DoubleBarrier(
        self, path: str, num_clients: int, identifier: Optional[Any] = None
    ) -> DoubleBarrier:
        return DoubleBarrier(self, path, num_clients, identifier)

    def Counter(self, path: str, default: int = 0, support_curator: bool = False) -> Counter:
        return Counter(self, path, default, support_curator)

    def Party(self, path: str, identifier: Optional[Any] = None) -> Party:
        return Party(self, path, identifier)

    def Queue(self, path: str) -> Queue:
        return Queue(self, path)

    def LockingQueue(self, path: str) -> LockingQueue:
        return LockingQueue(self, path)

    def TreeCache(self, path: str) -> TreeCache:
        return TreeCache(self, path)


class AsyncClient(_corral.AsyncClient):
    """The operations of :class:`Client` as coroutines for asyncio
    (``await zk.get(path)``). Watch callbacks and listeners run in the
    event loop (coroutine functions are scheduled as tasks).
    ``async with AsyncClient(hosts) as zk`` starts and closes it."""

    def transaction(self) -> AsyncTransactionRequest:
        return AsyncTransactionRequest(self)

    # ---- recipes: awaitable, with async context managers ---------------

    def Lock(
        self, path: str, identifier: Optional[Any] = None, extra_lock_patterns: Sequence[str] = ()
    ) -> AsyncLock:
        return AsyncLock(self, path, identifier, extra_lock_patterns)

    def ReadLock(
        self, path: str, identifier: Optional[Any] = None, extra_lock_patterns: Sequence[str] = ()
    ) -> AsyncReadLock:
        return AsyncReadLock(self, path, identifier, extra_lock_patterns)

    def WriteLock(
        self, path: str, identifier: Optional[Any] = None, extra_lock_patterns: Sequence[str] = ()
    ) -> AsyncWriteLock:
        return AsyncWriteLock(self, path, identifier, extra_lock_patterns)

    def Semaphore(
        self, path: str, identifier: Optional[Any] = None, max_leases: int = 1
    ) -> AsyncSemaphore:
        return AsyncSemaphore(self, path, identifier, max_leases)

    def Election(self, path: str, identifier: Optional[Any] = None) -> AsyncElection:
        return AsyncElection(self, path, identifier)

    async def __aenter__(self) -> "AsyncClient":
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc_value: Optional[BaseException],
        exc_tb: Optional[TracebackType],
    ) -> None:
        await self.close()
