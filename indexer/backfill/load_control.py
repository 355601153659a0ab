"""How hard a backfill may load the gateway: a hard rate, a concurrency cap, an adaptive rate, time windows.

* ``AdjustableRateLimiter``: a ``RequestRateLimiter`` (the fetcher's interface) shared by every
  gateway request of the backfill (enumeration pages, document batches and their retries) whose rate
  can change while it is in use. Requests are evenly spaced; a new rate applies at once.
* ``LatencyWindow``: the gateway's answers over a sliding window (latency, failed or not).
* ``AimdController``: adaptive mode. While the p95 latency and the error rate of the requests sent
  since the last change stay under their targets *and the rate limit is what holds the backfill
  back*, the rate goes up by a fixed step every couple of seconds (additive increase); as soon as the
  p95 passes 80% of the target or the error rate its maximum, it is cut to half of what was actually
  achieved (multiplicative decrease), between a floor and a ceiling.
  The controller only sees latency, not its cause: when live traffic slows the gateway down, the
  backfill backs off too, which is the point (live traffic keeps priority).
* ``AllowedWindows``: times of day (local time) a backfill may send requests.

Everything takes an injected clock so tests run without waiting.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from indexer.fetch.rate_limit import RequestRateLimiter
from schema_gen.config import BackfillSettings, parse_time_window
from schema_gen.errors import ConfigError, Problem

_DAY_MINUTES = 24 * 60
_EPSILON = 1e-6


class AdjustableRateLimiter(RequestRateLimiter):
    """The fetcher's ``RequestRateLimiter`` with a rate that may change at any time: requests are spaced
    ``1 / rate`` apart (a burst of one after a pause).

    Each request gets a due time, one interval after the previous one's (or now), and sleeps until it.
    Only one request at a time holds a due time in the future; the others nap (at most ``NAP`` seconds)
    until they can take the next one, so that a new rate applies to every request not yet given a due
    time: lowering the rate holds back at once all the fetch threads waiting (with reservations made in
    advance, as the base class does, the old rate would go on for as long as they had queued up).
    Because due times follow one another exactly, a thread waking up late loses no rate.
    """

    NAP = 0.1

    def __init__(
        self,
        rate: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        super().__init__(rate, burst=1.0, clock=clock, sleep=sleep)
        self._last_due = -math.inf

    def reserve(self) -> float:
        """Take the next due time, however far ahead; return the seconds until it."""
        with self._lock:
            return self._take(self._clock())

    def acquire(self) -> float:
        """Wait until this request is due (at the rate in force when it got its due time)."""
        started = self._clock()
        while True:
            with self._lock:
                now = self._clock()
                interval = 1.0 / self.rate
                ahead = self._last_due + interval - now
                if ahead <= interval + _EPSILON:
                    wait = self._take(now)
                    break
            self._sleep(min(ahead - interval, self.NAP))
        if wait > 0:
            self._sleep(wait)
        return self._clock() - started

    def set_rate(self, rate: float) -> None:
        """Use ``rate`` requests per second for every request not given a due time yet."""
        if rate <= 0:
            raise ValueError("a rate limit is a positive number of requests per second")
        with self._lock:
            self.rate = rate

    def _take(self, now: float) -> float:
        due = max(now, self._last_due + 1.0 / self.rate)
        self._last_due = due
        return due - now


@dataclass(frozen=True)
class WindowStats:
    """The gateway's answers over a span of time."""

    count: int
    p95: float
    """Seconds; 0 without answers."""
    error_rate: float
    rate: float
    """Requests sent per second (of those answered) over the span."""


class LatencyWindow:
    """The gateway's answers to the requests sent in the last ``span`` seconds: when each request was
    sent, how long its answer took, failed or not. Thread-safe.

    Answers are placed at the time their request was *sent*, so that the controller judges a rate by
    the requests sent at that rate, not by slow answers to requests sent before it changed.
    """

    def __init__(self, span: float = 10.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.span = span
        self._clock = clock
        self._lock = threading.Lock()
        self._samples: deque[tuple[float, float, bool]] = deque()
        self.requests = 0
        self.errors = 0

    def record(self, latency: float, ok: bool) -> None:
        """One answer (or failure) that has just come, ``latency`` seconds after its request was sent."""
        with self._lock:
            now = self._clock()
            self._samples.append((now - latency, latency, ok))
            self.requests += 1
            self.errors += not ok
            self._forget(now)

    def stats(self, since: float | None = None) -> WindowStats:
        """Answers to the requests sent within the window and after ``since`` (a clock reading)."""
        with self._lock:
            now = self._clock()
            self._forget(now)
            start = max(now - self.span, since if since is not None else -math.inf)
            chosen = [(sent, latency, ok) for sent, latency, ok in self._samples if sent > start]
        if not chosen:
            return WindowStats(0, 0.0, 0.0, 0.0)
        latencies = sorted(latency for _, latency, _ in chosen)
        p95 = latencies[min(len(latencies) - 1, math.ceil(0.95 * len(latencies)) - 1)]
        errors = sum(not ok for _, _, ok in chosen)
        # The send rate over the time the answered requests were sent in (later ones are in flight).
        last_sent = max(sent for sent, _, _ in chosen)
        elapsed = max((last_sent if len(chosen) > 1 else now) - start, 1e-9)
        return WindowStats(len(chosen), p95, errors / len(chosen), len(chosen) / elapsed)

    def _forget(self, now: float) -> None:
        while self._samples and self._samples[0][0] <= now - 2 * self.span:
            self._samples.popleft()


@dataclass(frozen=True)
class AimdSettings:
    """Targets and steps of the adaptive rate."""

    target_latency: float
    max_error_rate: float = 0.02
    floor: float = 1.0
    ceiling: float = 200.0
    increase: float | None = None
    """Requests per second added per step; default: a fiftieth of the ceiling (at least 1)."""
    decrease: float = 0.5
    """Factor applied to the achieved rate on a backoff."""
    interval: float = 1.0
    """Seconds between two decisions."""
    min_samples: int = 10
    """Answers since the last change needed before raising the rate (fewer at low rates: as many as
    ``binding`` of one interval at the rate, but at least ``backoff_samples``)."""
    backoff_samples: int = 3
    """Answers since the last change enough to lower it (backing off is quicker than speeding up)."""
    binding: float = 0.8
    """The rate goes up only while the backfill achieves this share of it (the limit is what holds it)."""
    headroom: float = 0.8
    """Back off once the p95 passes this share of the target, so that the peaks of the saw-tooth stay
    under the target itself."""
    hold: float = 2.0
    """Seconds after a change before the rate may go up again (a queue at the gateway takes a moment to
    build up and show in the latency); backing off needs no such wait."""

    @property
    def step(self) -> float:
        return self.increase if self.increase is not None else max(1.0, self.ceiling / 50)


@dataclass(frozen=True)
class RateChange:
    """One decision of the controller."""

    at: float
    old: float
    new: float
    reason: str


class AimdController:
    """Adjusts an ``AdjustableRateLimiter`` from a ``LatencyWindow``; ``tick`` is called often, decides
    at most every ``interval`` seconds, and only on answers that came after its last change."""

    def __init__(
        self,
        settings: AimdSettings,
        limiter: AdjustableRateLimiter,
        window: LatencyWindow,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings, self._limiter, self._window, self._clock = settings, limiter, window, clock
        self._last_decision = clock()
        self._last_change = self._last_decision
        self.changes: list[RateChange] = []

    def tick(self) -> RateChange | None:
        """Decide now if a decision is due; returns the change made, if any."""
        now = self._clock()
        if now - self._last_decision < self.settings.interval:
            return None
        self._last_decision = now
        settings, rate = self.settings, self._limiter.rate
        stats = self._window.stats(since=self._last_change)
        too_slow = stats.p95 > settings.target_latency * settings.headroom
        failing = stats.error_rate > settings.max_error_rate
        if stats.count >= settings.backoff_samples and (too_slow or failing):
            reason = f"p95 {stats.p95 * 1000:.0f}ms" if too_slow else f"errors {stats.error_rate:.0%}"
            achieved = min(rate, stats.rate)
            return self._change(now, max(settings.floor, achieved * settings.decrease), f"back off: {reason}")
        binding = stats.rate >= settings.binding * rate
        needed = max(
            settings.backoff_samples, min(settings.min_samples, int(rate * settings.interval * settings.binding))
        )
        held = now - self._last_change < settings.hold
        if stats.count >= needed and binding and not held and rate < settings.ceiling:
            return self._change(now, min(settings.ceiling, rate + settings.step), "speed up")
        return None

    def _change(self, now: float, new: float, reason: str) -> RateChange | None:
        old = self._limiter.rate
        if new == old:
            return None
        self._limiter.set_rate(new)
        self._last_change = now
        change = RateChange(now, old, new, reason)
        self.changes.append(change)
        return change


@dataclass(frozen=True)
class AllowedWindows:
    """Times of day a backfill may send requests, as (start, end) minutes after midnight, local time."""

    windows: tuple[tuple[int, int], ...] = ()
    texts: tuple[str, ...] = ()

    @classmethod
    def parse(cls, texts: Iterable[str], where: str = "--window") -> AllowedWindows:
        """Windows such as ``22:00-06:00``; ``ConfigError`` naming ``where`` for each malformed one."""
        texts = tuple(texts)
        windows: list[tuple[int, int]] = []
        problems: list[Problem] = []
        for text in texts:
            try:
                windows.append(parse_time_window(text))
            except ValueError as error:
                problems.append(Problem(where, str(error)))
        if problems:
            raise ConfigError("invalid backfill time windows", problems)
        return cls(tuple(windows), texts)

    @property
    def always(self) -> bool:
        return not self.windows

    def is_open(self, moment: datetime) -> bool:
        return self.seconds_until_open(moment) == 0.0

    def seconds_until_open(self, moment: datetime) -> float:
        """0 inside a window; else the seconds until the next one opens."""
        if not self.windows:
            return 0.0
        minute = moment.hour * 60 + moment.minute + (moment.second + moment.microsecond / 1e6) / 60
        waits = []
        for start, end in self.windows:
            inside = start <= minute < end if start < end else minute >= start or minute < end
            if inside:
                return 0.0
            waits.append(((start - minute) % _DAY_MINUTES) * 60)
        return min(waits)

    def describe(self) -> str:
        return ", ".join(self.texts) if self.texts else "always"


def local_now() -> datetime:
    return datetime.now().astimezone()


@dataclass(frozen=True)
class LoadLimits:
    """Everything that bounds a backfill's load on the gateway."""

    rate: float
    """Requests per second: the hard limit, or the starting rate in adaptive mode."""
    concurrency: int
    """Requests in flight at most."""
    target_latency: float | None = None
    """Adaptive mode when set (seconds)."""
    max_error_rate: float = 0.02
    min_rate: float = 1.0
    max_rate: float = 200.0
    windows: AllowedWindows = field(default_factory=AllowedWindows)
    batch_size: int | None = None
    """Documents per gateway request; default: the definition's ``fetch.batch_size``."""
    document_attempts: int = 3
    """Fetches of a document whose failure may pass (a GraphQL error) before it is recorded as failed."""

    def __post_init__(self) -> None:
        problems = []
        if self.rate <= 0:
            problems.append(Problem("rate", "must be a positive number of requests per second"))
        if self.concurrency < 1:
            problems.append(Problem("concurrency", "must be at least 1"))
        if self.target_latency is not None and self.target_latency <= 0:
            problems.append(Problem("target_latency", "must be positive"))
        if not 0 < self.min_rate <= self.max_rate:
            problems.append(Problem("min_rate", "must be positive and not above max_rate"))
        if self.batch_size is not None and self.batch_size < 1:
            problems.append(Problem("batch_size", "must be at least 1"))
        if problems:
            raise ConfigError("invalid backfill limits", problems)

    @classmethod
    def from_settings(cls, settings: BackfillSettings, **overrides: object) -> LoadLimits:
        """The limits of a definition's ``backfill`` section, with ``overrides`` (CLI options) on top."""
        values: dict[str, object] = {
            "rate": settings.rate,
            "concurrency": settings.concurrency,
            "target_latency": settings.target_latency,
            "max_error_rate": settings.max_error_rate,
            "min_rate": settings.min_rate,
            "max_rate": settings.max_rate,
            "windows": AllowedWindows.parse(settings.windows, "backfill.windows"),
        }
        values.update({key: value for key, value in overrides.items() if value is not None})
        return cls(**values)  # type: ignore[arg-type]

    @property
    def adaptive(self) -> bool:
        return self.target_latency is not None

    def aimd(self) -> AimdSettings | None:
        """The adaptive controller's settings, or None for a fixed rate."""
        if self.target_latency is None:
            return None
        return AimdSettings(
            self.target_latency,
            max_error_rate=self.max_error_rate,
            floor=self.min_rate,
            ceiling=max(self.max_rate, self.rate),
        )

    def describe(self) -> str:
        rate = f"{self.rate:g}/s" + (
            f" adaptive {self.min_rate:g}..{self.max_rate:g}/s, p95 < {self.target_latency * 1000:.0f}ms"
            if self.target_latency is not None
            else ""
        )
        return f"{rate}, {self.concurrency} in flight, windows: {self.windows.describe()}"


def wait_for_window(
    windows: AllowedWindows,
    stop: threading.Event,
    *,
    now: Callable[[], datetime] = local_now,
    on_wait: Callable[[float], None] | None = None,
    poll: float = 1.0,
) -> bool:
    """Block while outside every window; False if ``stop`` was set while waiting."""
    while not stop.is_set():
        remaining = windows.seconds_until_open(now())
        if remaining <= 0:
            return True
        if on_wait is not None:
            on_wait(remaining)
        stop.wait(min(remaining, poll))
    return False


def timedelta_text(seconds: float) -> str:
    """``3h05m`` / ``4m10s`` / ``12s``: how long until something happens."""
    delta = timedelta(seconds=round(seconds))
    hours, rest = divmod(int(delta.total_seconds()), 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"
