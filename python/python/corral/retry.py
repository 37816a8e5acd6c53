"""kazoo's retry helper (``kazoo.retry``), for ``Client.retry`` and the
watch recipes: retries a call on connection loss and timeouts with
exponential backoff and jitter."""

from __future__ import annotations

import random
import time
from typing import Any, Callable, Optional, Tuple, Type, TypeVar

from .exceptions import (
    ConnectionClosedError,
    ConnectionLoss,
    KazooException,
    OperationTimeoutError,
    SessionExpiredError,
)

T = TypeVar("T")


class ForceRetryError(Exception):
    """Raised by a retried function to ask for another try."""


class RetryFailedError(KazooException):
    """Raised when the tries or the deadline ran out."""


class InterruptedError(RetryFailedError):
    """Raised when the retry was interrupted by its ``interrupt`` hook."""


class KazooRetry:
    """Calls a function until it does not raise a retryable error.

    ``max_tries``: -1 or None retry forever. ``ignore_expire``: also retry
    after SessionExpiredError (the client gets a new session, as kazoo's).
    ConnectionClosedError (the client was stopped) is never retried.
    """

    RETRY_EXCEPTIONS: Tuple[Type[BaseException], ...] = (
        ConnectionLoss,
        OperationTimeoutError,
        ForceRetryError,
    )
    EXPIRED_EXCEPTIONS: Tuple[Type[BaseException], ...] = (SessionExpiredError,)

    def __init__(
        self,
        max_tries: Optional[int] = 1,
        delay: float = 0.1,
        backoff: float = 2,
        max_jitter: float = 0.4,
        max_delay: float = 60.0,
        ignore_expire: bool = True,
        sleep_func: Callable[[float], None] = time.sleep,
        deadline: Optional[float] = None,
        interrupt: Optional[Callable[[], bool]] = None,
    ) -> None:
        self.max_tries = max_tries
        self.delay = delay
        self.backoff = backoff
        self.max_jitter = max(min(max_jitter, 1.0), 0.0)
        self.max_delay = float(max_delay)
        self._attempts = 0
        self._cur_delay = delay
        self.deadline = deadline
        self._cur_stoptime: Optional[float] = None
        self.sleep_func = sleep_func
        self.retry_exceptions = self.RETRY_EXCEPTIONS
        if ignore_expire:
            self.retry_exceptions += self.EXPIRED_EXCEPTIONS
        self.interrupt = interrupt

    def reset(self) -> None:
        self._attempts = 0
        self._cur_delay = self.delay
        self._cur_stoptime = None

    def copy(self) -> "KazooRetry":
        return KazooRetry(
            max_tries=self.max_tries,
            delay=self.delay,
            backoff=self.backoff,
            max_jitter=self.max_jitter,
            max_delay=self.max_delay,
            sleep_func=self.sleep_func,
            deadline=self.deadline,
            interrupt=self.interrupt,
        )

    def __call__(self, func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        self.reset()
        while True:
            try:
                if self.deadline is not None and self._cur_stoptime is None:
                    self._cur_stoptime = time.time() + self.deadline
                return func(*args, **kwargs)
            except ConnectionClosedError:
                raise
            except self.retry_exceptions:
                if self._attempts == self.max_tries:
                    raise RetryFailedError("Too many retry attempts")
                self._attempts += 1
                jitter = random.uniform(1.0 - self.max_jitter, 1.0 + self.max_jitter)
                sleeptime = self._cur_delay * jitter
                if self._cur_stoptime is not None and time.time() + sleeptime >= self._cur_stoptime:
                    raise RetryFailedError("Exceeded retry deadline")
                if self.interrupt:
                    remaining = sleeptime
                    while remaining > 0:
                        if self.interrupt():
                            raise InterruptedError()
                        step = min(remaining, 0.1)
                        self.sleep_func(step)
                        remaining -= step
                else:
                    self.sleep_func(sleeptime)
                self._cur_delay = min(sleeptime * self.backoff, self.max_delay)
