"""A circuit breaker for the gateway: stop sending requests while it is down, probe it, resume by itself.

Closed: requests flow; each gateway-wide failure (after its retries) counts, any success resets the
count. ``threshold`` consecutive failures open it. Open: every call is refused at once with
``GatewayUnavailable(retry_after=...)`` until ``cooldown`` has passed. Half-open: the next call is let
through as the probe (others are still refused); its success closes the breaker, its failure opens it
for another cooldown.

The fetcher reports one result per batch, not per request: a batch split to isolate a poison id
(``indexer.fetch.isolation``) counts as a success when the gateway answered without that id, and as
one failure when nothing was answered, so a poison id found that way does not open the breaker. (A
poison id fetched alone before it was ever isolated cannot be told from an outage and counts as one.)

Hand-written (pybreaker counts every exception and reads the wall clock; this one counts only what
the fetcher calls a gateway-wide failure and takes an injected clock).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from enum import StrEnum

from schema_gen.errors import GatewayUnavailable


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitBreaker:
    """Thread-safe; one per gateway (shared by every fetch that uses it)."""

    def __init__(
        self,
        *,
        threshold: int,
        cooldown: float,
        name: str = "gateway",
        clock: Callable[[], float] = time.monotonic,
        on_change: Callable[[BreakerState], None] | None = None,
    ) -> None:
        if threshold < 1:
            raise ValueError("a breaker threshold is at least 1")
        self.threshold, self.cooldown, self.name = threshold, cooldown, name
        self._clock = clock
        self._on_change = on_change
        self._lock = threading.Lock()
        self._state = BreakerState.CLOSED
        self._failures = 0
        self._opened_at = 0.0
        self._probing = False
        self._last_failure = ""

    @property
    def state(self) -> BreakerState:
        """The state now (an open breaker whose cooldown has passed reads as half-open)."""
        with self._lock:
            if self._state is BreakerState.OPEN and self._clock() - self._opened_at >= self.cooldown:
                return BreakerState.HALF_OPEN
            return self._state

    def _set(self, state: BreakerState) -> None:
        if state is not self._state:
            self._state = state
            if self._on_change is not None:
                self._on_change(state)

    def admit(self) -> bool:
        """Let a call through (True if it is the half-open probe: end it with ``release_probe``), or raise
        ``GatewayUnavailable`` when open or while another call is probing."""
        with self._lock:
            if self._state is BreakerState.CLOSED:
                return False
            remaining = self.cooldown - (self._clock() - self._opened_at)
            if self._state is BreakerState.OPEN and remaining <= 0:
                self._set(BreakerState.HALF_OPEN)
            if self._state is BreakerState.HALF_OPEN and not self._probing:
                self._probing = True
                return True
            wait = max(remaining, 0.0) if self._state is BreakerState.OPEN else min(self.cooldown, 1.0)
            raise GatewayUnavailable(
                f"{self.name} is unavailable: circuit open after {self._failures} consecutive failures "
                f"(last: {self._last_failure}); next attempt in {wait:.1f}s",
                retry_after=wait,
            )

    def record_success(self) -> None:
        """A request reached the gateway and was answered: close."""
        with self._lock:
            self._failures = 0
            self._probing = False
            self._set(BreakerState.CLOSED)

    def record_failure(self, detail: str) -> None:
        """A request failed gateway-wide after its retries."""
        with self._lock:
            self._failures += 1
            self._last_failure = detail
            if self._state is BreakerState.HALF_OPEN or self._failures >= self.threshold:
                self._probing = False
                self._opened_at = self._clock()
                self._set(BreakerState.OPEN)

    def release_probe(self) -> None:
        """The probe call has ended, however it ended: a later call may probe if the breaker is not closed."""
        with self._lock:
            self._probing = False
