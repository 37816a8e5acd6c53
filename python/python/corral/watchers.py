"""``DataWatch`` and ``ChildrenWatch`` with kazoo's semantics
(``kazoo.recipe.watchers``): call a function with a node's data (or
children) now and after every change, across reconnections and new
sessions, until it returns False."""

from __future__ import annotations

import inspect
import logging
import threading
from functools import wraps
from typing import TYPE_CHECKING, Any, Callable, List, Optional, TypeVar

from .exceptions import ConnectionClosedError, KazooException, NoNodeError
from .retry import KazooRetry
from .states import KazooState, WatchedEvent, ZnodeStat

if TYPE_CHECKING:
    from .client import Client

log = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., Any])


def _ignore_closed(func: F) -> F:
    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except ConnectionClosedError:
            pass

    return wrapper  # type: ignore[return-value]


def _spawn(func: Callable[[], Any]) -> None:
    threading.Thread(target=func, daemon=True, name="corral-watch").start()


class DataWatch:
    """Watches a node's data: ``func(data, stat)`` — or ``func(data, stat,
    event)`` if it takes three arguments — is called now and whenever the
    node is created, changed or deleted (``data`` and ``stat`` are None
    while it does not exist). Returning False stops the watch.

    Usable as a decorator: ``@client.DataWatch("/path")``.
    """

    def __init__(
        self, client: "Client", path: str, func: Optional[Callable[..., Any]] = None
    ) -> None:
        self._client = client
        self._path = path
        self._func = func
        self._stopped = False
        self._run_lock = threading.Lock()
        self._version: Optional[int] = None
        self._retry = KazooRetry(max_tries=None)
        self._include_event: Optional[bool] = None
        self._ever_called = False
        self._used = False
        if func is not None:
            self._used = True
            self._client.add_listener(self._session_watcher)
            self._get_data()

    def __call__(self, func: F) -> F:
        if self._used:
            raise KazooException(
                "A function has already been associated with this DataWatch instance."
            )
        self._func = func
        self._used = True
        self._client.add_listener(self._session_watcher)
        self._get_data()
        return func

    def _log_func_exception(
        self, data: Optional[bytes], stat: Optional[ZnodeStat], event: Optional[WatchedEvent] = None
    ) -> None:
        assert self._func is not None
        try:
            if self._include_event is None:
                try:
                    params = inspect.signature(self._func).parameters
                    self._include_event = len(params) > 2
                except (TypeError, ValueError):
                    self._include_event = False
            if self._include_event:
                result = self._func(data, stat, event)
            else:
                result = self._func(data, stat)
            if result is False:
                self._stopped = True
                self._func = None
                self._client.remove_listener(self._session_watcher)
        except Exception as exc:
            log.exception(exc)
            raise

    @_ignore_closed
    def _get_data(self, event: Optional[WatchedEvent] = None) -> None:
        # One at a time: the session watcher may trigger a run too.
        with self._run_lock:
            if self._stopped:
                return
            initial_version = self._version
            data: Optional[bytes]
            stat: Optional[ZnodeStat]
            try:
                data, stat = self._retry(self._client.get, self._path, self._watcher)
            except NoNodeError:
                data = None
                # Leaves an exists watch; a node created meanwhile: read again.
                stat = self._retry(self._client.exists, self._path, self._watcher)
                if stat:
                    _spawn(self._get_data)
                    return
            self._version = None if stat is None else stat.mzxid
            if initial_version != self._version or not self._ever_called:
                self._log_func_exception(data, stat, event)
                self._ever_called = True

    def _watcher(self, event: WatchedEvent) -> None:
        self._get_data(event=event)

    def _session_watcher(self, state: str) -> None:
        if state == KazooState.CONNECTED:
            _spawn(self._get_data)


class ChildrenWatch:
    """Watches a node's children: ``func(children)`` — or
    ``func(children, event)`` with ``send_event=True`` — is called now and
    whenever the list changes. Returning False stops the watch; so does the
    node's deletion.

    Usable as a decorator: ``@client.ChildrenWatch("/path")``.
    """

    def __init__(
        self,
        client: "Client",
        path: str,
        func: Optional[Callable[..., Any]] = None,
        allow_session_lost: bool = True,
        send_event: bool = False,
    ) -> None:
        self._client = client
        self._path = path
        self._func = func
        self._send_event = send_event
        self._stopped = False
        self._watch_established = False
        self._allow_session_lost = allow_session_lost
        self._run_lock = threading.Lock()
        self._prior_children: Optional[List[str]] = None
        self._used = False
        if func is not None:
            self._used = True
            if allow_session_lost:
                self._client.add_listener(self._session_watcher)
            self._get_children()

    def __call__(self, func: F) -> F:
        if self._used:
            raise KazooException(
                "A function has already been associated with this ChildrenWatch instance."
            )
        self._func = func
        self._used = True
        if self._allow_session_lost:
            self._client.add_listener(self._session_watcher)
        self._get_children()
        return func

    @_ignore_closed
    def _get_children(self, event: Optional[WatchedEvent] = None) -> None:
        with self._run_lock:
            if self._stopped:
                return
            try:
                children = self._client.retry(
                    self._client.get_children, self._path, self._watcher
                )
            except NoNodeError:
                self._stopped = True
                return
            if not self._watch_established:
                self._watch_established = True
                if self._prior_children is not None and self._prior_children == children:
                    return
            self._prior_children = children
            assert self._func is not None
            try:
                if self._send_event:
                    result = self._func(children, event)
                else:
                    result = self._func(children)
                if result is False:
                    self._stopped = True
                    self._func = None
                    if self._allow_session_lost:
                        self._client.remove_listener(self._session_watcher)
            except Exception as exc:
                log.exception(exc)
                raise

    def _watcher(self, event: WatchedEvent) -> None:
        if event.type != "NONE":
            self._get_children(event)

    def _session_watcher(self, state: str) -> None:
        if state in (KazooState.LOST, KazooState.SUSPENDED):
            self._watch_established = False
        elif state == KazooState.CONNECTED and not self._watch_established and not self._stopped:
            _spawn(self._get_children)
