"""A thread-safe token bucket: one shared limit on gateway requests per second for a whole process.

Written here rather than taken from a library because it is twenty lines and has to take an injected
clock and sleep (tests run it without real waiting); the libraries that fit (pyrate-limiter, limits)
bring storage backends and their own clocks for a single in-process bucket.

Each ``acquire`` reserves a token immediately, letting the balance go negative, and then sleeps
outside the lock until that token is due: callers are served in arrival order and the lock is never
held while waiting.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class RequestRateLimiter:
    """At most ``rate`` requests per second on average, with bursts of up to ``burst`` requests."""

    def __init__(
        self,
        rate: float,
        *,
        burst: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate <= 0:
            raise ValueError("a rate limit is a positive number of requests per second")
        self.rate = rate
        self.burst = burst if burst is not None else max(1.0, rate)
        self._clock, self._sleep = clock, sleep
        self._lock = threading.Lock()
        self._tokens = self.burst
        self._updated = clock()

    def reserve(self) -> float:
        """Take one token now; return how many seconds the caller must wait before using it."""
        with self._lock:
            now = self._clock()
            self._tokens = min(self.burst, self._tokens + (now - self._updated) * self.rate)
            self._updated = now
            self._tokens -= 1.0
            return 0.0 if self._tokens >= 0 else -self._tokens / self.rate

    def acquire(self) -> float:
        """Wait until one more request may be sent; return the seconds waited."""
        wait = self.reserve()
        if wait > 0:
            self._sleep(wait)
        return wait
