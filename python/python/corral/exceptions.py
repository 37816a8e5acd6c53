"""Exceptions, with kazoo's names and hierarchy (``kazoo.exceptions``).

Every error that a ZooKeeper server reports, and every client-side failure
of an operation, is a :class:`ZookeeperError`; each class carries the
ZooKeeper error ``code`` (``EXCEPTIONS`` maps a code to its class).
"""

from __future__ import annotations

from typing import Callable, Dict, Type, TypeVar


class KazooException(Exception):
    """Base of every exception of this package (kazoo's name)."""


class ZookeeperError(KazooException):
    """An error of a ZooKeeper operation; ``code`` is ZooKeeper's."""

    code: int = -1


class CancelledError(KazooException):
    """Raised when a process is cancelled by another thread."""


class ConfigurationError(KazooException):
    """Raised if the configuration arguments to an object are invalid."""


class ZookeeperStoppedError(KazooException):
    """Raised when the client is stopped (and thus not connected)."""


class ConnectionDropped(KazooException):
    """Internal error for jumping out of loops (kazoo compatibility)."""


class LockTimeout(KazooException):
    """Raised if failed to acquire a lock."""


class WriterNotClosedException(KazooException):
    """Kazoo compatibility: never raised by corral."""


class SASLException(KazooException):
    """Kazoo compatibility: never raised by corral (no SASL support)."""


EXCEPTIONS: Dict[int, Type[ZookeeperError]] = {}

_E = TypeVar("_E", bound=Type[ZookeeperError])


def _zookeeper_exception(code: int) -> Callable[[_E], _E]:
    def decorator(klass: _E) -> _E:
        EXCEPTIONS[code] = klass
        klass.code = code
        return klass

    return decorator


@_zookeeper_exception(0)
class RolledBackError(ZookeeperError):
    """In a failed transaction's results: this op was rolled back."""


@_zookeeper_exception(-1)
class SystemZookeeperError(ZookeeperError):
    pass


@_zookeeper_exception(-2)
class RuntimeInconsistency(ZookeeperError):
    pass


@_zookeeper_exception(-3)
class DataInconsistency(ZookeeperError):
    pass


@_zookeeper_exception(-4)
class ConnectionLoss(ZookeeperError):
    """The connection was lost with the request in flight: it may or may
    not have been applied. The session may still be alive."""


@_zookeeper_exception(-5)
class MarshallingError(ZookeeperError):
    pass


@_zookeeper_exception(-6)
class UnimplementedError(ZookeeperError):
    pass


@_zookeeper_exception(-7)
class OperationTimeoutError(ZookeeperError):
    pass


@_zookeeper_exception(-8)
class BadArgumentsError(ZookeeperError):
    pass


@_zookeeper_exception(-12)
class UnknownSessionError(ZookeeperError):
    pass


@_zookeeper_exception(-13)
class NewConfigNoQuorumError(ZookeeperError):
    pass


@_zookeeper_exception(-14)
class ReconfigInProcessError(ZookeeperError):
    pass


@_zookeeper_exception(-100)
class APIError(ZookeeperError):
    pass


@_zookeeper_exception(-101)
class NoNodeError(ZookeeperError):
    pass


@_zookeeper_exception(-102)
class NoAuthError(ZookeeperError):
    pass


@_zookeeper_exception(-103)
class BadVersionError(ZookeeperError):
    pass


@_zookeeper_exception(-108)
class NoChildrenForEphemeralsError(ZookeeperError):
    pass


@_zookeeper_exception(-110)
class NodeExistsError(ZookeeperError):
    pass


@_zookeeper_exception(-111)
class NotEmptyError(ZookeeperError):
    pass


@_zookeeper_exception(-112)
class SessionExpiredError(ZookeeperError):
    pass


@_zookeeper_exception(-113)
class InvalidCallbackError(ZookeeperError):
    pass


@_zookeeper_exception(-114)
class InvalidACLError(ZookeeperError):
    pass


@_zookeeper_exception(-115)
class AuthFailedError(ZookeeperError):
    pass


@_zookeeper_exception(-118)
class SessionMovedError(ZookeeperError):
    pass


@_zookeeper_exception(-119)
class NotReadOnlyCallError(ZookeeperError):
    pass


@_zookeeper_exception(-120)
class EphemeralOnLocalSessionError(ZookeeperError):
    pass


@_zookeeper_exception(-121)
class NoWatcherError(ZookeeperError):
    pass


@_zookeeper_exception(-122)
class RequestTimeoutError(ZookeeperError):
    pass


@_zookeeper_exception(-123)
class ReconfigDisabledError(ZookeeperError):
    pass


@_zookeeper_exception(-124)
class SessionClosedRequireSaslAuthError(ZookeeperError):
    pass


@_zookeeper_exception(-125)
class QuotaExceededError(ZookeeperError):
    pass


@_zookeeper_exception(-127)
class ThrottledError(ZookeeperError):
    pass


class ConnectionClosedError(SessionExpiredError):
    """The client is stopped or closed (or was never started)."""


class KazooTimeoutError(OperationTimeoutError):
    """No answer in time: ``start()`` could not connect within its timeout.
    (kazoo raises its handler's timeout exception of the same name.)"""


# kazoo's older aliases
ConnectionLossException = ConnectionLoss
MarshallingErrorException = MarshallingError
SystemErrorException = SystemZookeeperError
RuntimeInconsistencyException = RuntimeInconsistency
DataInconsistencyException = DataInconsistency
UnimplementedException = UnimplementedError
OperationTimeoutException = OperationTimeoutError
BadArgumentsException = BadArgumentsError
ApiErrorException = APIError
NoNodeException = NoNodeError
NoAuthException = NoAuthError
BadVersionException = BadVersionError
NoChildrenForEphemeralsException = NoChildrenForEphemeralsError
NodeExistsException = NodeExistsError
InvalidACLException = InvalidACLError
AuthFailedException = AuthFailedError
NotEmptyException = NotEmptyError
SessionExpiredException = SessionExpiredError
InvalidCallbackException = InvalidCallbackError
