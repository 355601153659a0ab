"""Document versions: the fetch's start time in microseconds since the epoch, strictly increasing.

A fetch that started later saw data at least as new, so its version is higher; the sink writes with
external versioning and the index keeps the newest. Within a process two fetches never share a
version even when the wall clock stands still or steps back.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class VersionClock:
    """Hands out monotonic int64 versions from a wall clock in nanoseconds (injectable)."""

    def __init__(self, wall_clock_ns: Callable[[], int] = time.time_ns) -> None:
        self._wall_clock_ns = wall_clock_ns
        self._lock = threading.Lock()
        self._last = 0

    def next_version(self) -> int:
        with self._lock:
            self._last = max(self._last + 1, self._wall_clock_ns() // 1000)
            return self._last
