"""corral: a ZooKeeper client with kazoo's API, on the Corral Rust core.

Moving from kazoo is a changed import::

    from corral import Client            # was: from kazoo.client import KazooClient
    from corral.exceptions import NoNodeError

    zk = Client(hosts="127.0.0.1:2181/app", timeout=10.0)
    zk.start()
    zk.ensure_path("/config")
    data, stat = zk.get("/config", watch=print)
    zk.stop()
    zk.close()

``AsyncClient`` has the same operations as coroutines for asyncio.
"""

from . import exceptions, security, states
from ._corral import __version__
from .client import AsyncClient, AsyncTransactionRequest, Client, TransactionRequest
from .retry import KazooRetry
from .security import ACL, Id
from .states import EventType, KazooState, KeeperState, WatchedEvent, ZnodeStat
from .watchers import ChildrenWatch, DataWatch

# kazoo's name, for `from corral import KazooClient`.
KazooClient = Client

__all__ = [
    "ACL",
    "AsyncClient",
    "AsyncTransactionRequest",
    "ChildrenWatch",
    "Client",
    "DataWatch",
    "EventType",
    "Id",
    "KazooClient",
    "KazooRetry",
    "KazooState",
    "KeeperState",
    "TransactionRequest",
    "WatchedEvent",
    "ZnodeStat",
    "__version__",
    "exceptions",
    "security",
    "states",
]
