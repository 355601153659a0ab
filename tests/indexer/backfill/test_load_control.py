"""Load control with an injected clock: the adjustable rate limiter, the latency window, the AIMD
controller, time windows and the limits' validation."""

from __future__ import annotations

import threading
from datetime import datetime

import pytest

from indexer.backfill.load_control import (
    AdjustableRateLimiter,
    AimdController,
    AimdSettings,
    AllowedWindows,
    LatencyWindow,
    LoadLimits,
    wait_for_window,
)
from schema_gen.config import BackfillSettings
from schema_gen.errors import ConfigError


class Clock:
    """Monotonic time that moves only when slept on or advanced."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock():
    """A fake clock starting at 100 s."""
    return Clock()


def feed(window: LatencyWindow, clock: Clock, count: int, latency: float, *, every: float, ok: bool = True) -> None:
    """Record ``count`` answers of ``latency`` seconds, one every ``every`` seconds."""
    for _ in range(count):
        clock.now += every
        window.record(latency, ok)


class TestAdjustableRateLimiter:
    def test_spaces_requests_evenly_with_a_burst_of_one(self, clock):
        """At 10/s, eleven requests take one second of waiting and no two go at once."""
        limiter = AdjustableRateLimiter(10, clock=clock, sleep=clock.sleep)
        start = clock.now
        waits = [limiter.acquire() for _ in range(11)]
        assert waits[0] == 0
        assert waits[1:] == pytest.approx([0.1] * 10)
        assert clock.now - start == pytest.approx(1.0)

    def test_a_new_rate_applies_to_the_next_request(self, clock):
        """Lowering the rate from 10/s to 2/s makes the next wait half a second."""
        limiter = AdjustableRateLimiter(10, clock=clock, sleep=clock.sleep)
        limiter.acquire()
        limiter.acquire()
        limiter.set_rate(2)
        assert limiter.acquire() == pytest.approx(0.5)
        assert limiter.rate == 2

    def test_a_pause_gives_a_burst_of_one(self, clock):
        """After ten idle seconds one request goes at once and the next waits a full interval."""
        limiter = AdjustableRateLimiter(4, clock=clock, sleep=clock.sleep)
        limiter.acquire()
        clock.now += 10
        assert [limiter.acquire(), limiter.acquire()] == [0, pytest.approx(0.25)]

    def test_reserve_takes_due_times_ahead(self, clock):
        """``reserve`` gives each caller the next due time without waiting."""
        limiter = AdjustableRateLimiter(5, clock=clock, sleep=clock.sleep)
        assert [limiter.reserve() for _ in range(3)] == [0, pytest.approx(0.2), pytest.approx(0.4)]

    def test_refuses_a_rate_of_zero(self, clock):
        """A rate must stay positive."""
        limiter = AdjustableRateLimiter(10, clock=clock, sleep=clock.sleep)
        with pytest.raises(ValueError, match="positive"):
            limiter.set_rate(0)

    def test_shared_by_threads_it_never_exceeds_the_rate(self):
        """Eight threads taking forty tokens at 200/s need at least 39/200 s of the (fake, shared) clock."""
        clock = Clock()
        lock = threading.Lock()

        def sleep(seconds: float) -> None:
            with lock:
                clock.now += seconds

        limiter = AdjustableRateLimiter(200, clock=clock, sleep=sleep)
        start = clock.now

        def take() -> None:
            for _ in range(5):
                limiter.acquire()

        threads = [threading.Thread(target=take) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert clock.now - start >= 39 / 200 - 1e-6

    def test_lowering_the_rate_holds_back_waiting_callers_at_once(self, clock):
        """At 2/s with one request already due in half a second, the rate drops to 0.5/s: the next caller
        waits for that one and then two seconds (a reservation made in advance would have taken 1 s)."""
        limiter = AdjustableRateLimiter(2, clock=clock, sleep=clock.sleep)
        limiter.acquire()
        assert limiter.reserve() == pytest.approx(0.5)
        limiter.set_rate(0.5)
        assert limiter.acquire() == pytest.approx(2.5)


class TestLatencyWindow:
    def test_p95_error_rate_and_rate(self, clock):
        """Twenty answers over two seconds, one slow and one failed: p95, error share and rate."""
        window = LatencyWindow(10, clock=clock)
        feed(window, clock, 18, 0.1, every=0.1)
        feed(window, clock, 1, 0.9, every=0.1)
        feed(window, clock, 1, 0.2, every=0.1, ok=False)
        stats = window.stats()
        assert stats.count == 20
        assert stats.p95 == pytest.approx(0.2)
        assert stats.error_rate == pytest.approx(0.05)
        assert window.requests == 20
        assert window.errors == 1

    def test_old_answers_leave_the_window(self, clock):
        """Answers older than the span are forgotten; the totals keep counting them."""
        window = LatencyWindow(5, clock=clock)
        feed(window, clock, 10, 2.0, every=0.1)
        clock.now += 6
        feed(window, clock, 3, 0.05, every=0.1)
        assert window.stats().count == 3
        assert window.stats().p95 == pytest.approx(0.05)
        assert window.requests == 13

    def test_since_keeps_only_requests_sent_later(self, clock):
        """``stats(since=...)`` judges the requests sent after that moment: a slow answer arriving
        later to a request sent before it does not count."""
        window = LatencyWindow(10, clock=clock)
        feed(window, clock, 5, 1.0, every=0.1)
        mark = clock.now
        feed(window, clock, 5, 0.01, every=0.1)
        window.record(2.0, ok=False)
        stats = window.stats(since=mark)
        assert (stats.count, stats.p95, stats.error_rate) == (5, pytest.approx(0.01), 0.0)
        assert window.stats().count == 11

    def test_empty_window(self, clock):
        """No answers: zero counts, no division by zero."""
        stats = LatencyWindow(10, clock=clock).stats()
        assert (stats.count, stats.p95, stats.error_rate, stats.rate) == (0, 0.0, 0.0, 0.0)


def one_second(window: LatencyWindow, clock: Clock, rate: float, latency: float, ok: bool = True) -> None:
    """The answers to one second of requests sent at ``rate`` per second, each answered after ``latency``;
    the clock stops just after the last answer."""
    start = clock.now
    count = round(rate)
    for number in range(1, count + 1):
        clock.now = start + number / rate + latency
        window.record(latency, ok)
    clock.now += 0.001


class TestAimdController:
    @pytest.fixture
    def parts(self, clock):
        """A limiter at 20/s, a 10 s window and a controller aiming at a 300 ms p95, ceiling 50/s."""
        limiter = AdjustableRateLimiter(20, clock=clock, sleep=clock.sleep)
        window = LatencyWindow(10, clock=clock)
        settings = AimdSettings(
            0.3, floor=2, ceiling=50, increase=5, decrease=0.5, interval=1.0, min_samples=10, headroom=1.0, hold=0.0
        )
        return limiter, window, AimdController(settings, limiter, window, clock=clock)

    def test_speeds_up_additively_while_under_target_and_limited_by_the_rate(self, parts, clock):
        """Fast answers at the full rate raise it by the step once per interval, up to the ceiling."""
        limiter, window, controller = parts
        rates = []
        for _ in range(8):
            one_second(window, clock, limiter.rate, 0.05)
            controller.tick()
            rates.append(limiter.rate)
        assert rates == [25, 30, 35, 40, 45, 50, 50, 50]
        assert all(change.reason == "speed up" for change in controller.changes)

    def test_backs_off_multiplicatively_from_the_achieved_rate(self, parts, clock):
        """A p95 above target halves the rate achieved since the last change."""
        limiter, window, controller = parts
        one_second(window, clock, 16, 0.8)
        change = controller.tick()
        assert change is not None
        assert change.reason == "back off: p95 800ms"
        assert limiter.rate == pytest.approx(0.5 * 16, rel=0.01)

    def test_backs_off_on_errors_and_never_below_the_floor(self, parts, clock):
        """Failing answers lower the rate step by step down to the floor, not below."""
        limiter, window, controller = parts
        for _ in range(10):
            one_second(window, clock, 5, 0.01, ok=False)
            controller.tick()
        assert limiter.rate == 2
        assert [change.new for change in controller.changes] == [pytest.approx(2.5, rel=0.01), 2]
        assert all(change.reason == "back off: errors 100%" for change in controller.changes)

    def test_does_not_speed_up_when_the_rate_is_not_what_holds_the_backfill(self, parts, clock):
        """Answers at a quarter of the limit (concurrency-bound) leave the limit alone."""
        limiter, window, controller = parts
        for _ in range(3):
            one_second(window, clock, 5, 0.05)
            controller.tick()
        assert limiter.rate == 20
        assert controller.changes == []

    def test_decides_at_most_once_per_interval(self, parts, clock):
        """A second tick within the same interval changes nothing, whatever it sees."""
        _, window, controller = parts
        one_second(window, clock, 20, 0.05)
        assert controller.tick() is not None
        feed(window, clock, 10, 2.0, every=0.01)
        assert controller.tick() is None
        assert len(controller.changes) == 1

    def test_backs_off_with_headroom_and_holds_before_speeding_up(self, clock):
        """By default the p95 may not pass 80% of the target, and the rate goes up at most every 2 s."""
        limiter = AdjustableRateLimiter(20, clock=clock, sleep=clock.sleep)
        window = LatencyWindow(10, clock=clock)
        controller = AimdController(AimdSettings(0.3, ceiling=50, increase=5), limiter, window, clock=clock)
        one_second(window, clock, 20, 0.25)
        change = controller.tick()
        assert change is not None
        assert change.reason == "back off: p95 250ms"
        rates = []
        for _ in range(4):
            one_second(window, clock, limiter.rate, 0.05)
            controller.tick()
            rates.append(limiter.rate)
        assert rates == [10, 15, 15, 20]

    def test_recovers_after_a_slowdown_ends(self, parts, clock):
        """After backing off on slow answers, fast answers at the new rate raise it again step by step."""
        limiter, window, controller = parts
        one_second(window, clock, 20, 1.0)
        controller.tick()
        lowered = limiter.rate
        assert lowered == pytest.approx(10, rel=0.01)
        rates = []
        for _ in range(6):
            one_second(window, clock, limiter.rate, 0.05)
            controller.tick()
            rates.append(limiter.rate)
        assert rates == [pytest.approx(lowered + 5 * step) for step in range(1, 7)]


class TestAllowedWindows:
    def test_a_window_across_midnight(self):
        """22:00-06:00 is open at 23:30 and 05:59, closed at 06:00 and 21:59."""
        windows = AllowedWindows.parse(["22:00-06:00"])
        assert windows.is_open(datetime(2026, 1, 1, 23, 30))
        assert windows.is_open(datetime(2026, 1, 1, 5, 59))
        assert not windows.is_open(datetime(2026, 1, 1, 6, 0))
        assert windows.seconds_until_open(datetime(2026, 1, 1, 21, 59)) == pytest.approx(60)

    def test_the_nearest_of_several_windows_opens_first(self):
        """Between 09:00-10:00 and 13:00-14:00, at 11:00 the wait is two hours; 24:00 ends a day."""
        windows = AllowedWindows.parse(["13:00-14:00", "09:00-10:00", "20:00-24:00"])
        assert windows.seconds_until_open(datetime(2026, 1, 1, 11, 0)) == pytest.approx(2 * 3600)
        assert windows.is_open(datetime(2026, 1, 1, 23, 59, 59))
        assert windows.seconds_until_open(datetime(2026, 1, 1, 0, 30)) == pytest.approx(8.5 * 3600)

    def test_no_windows_means_always(self):
        """Without windows every moment is open."""
        windows = AllowedWindows.parse([])
        assert windows.always
        assert windows.is_open(datetime(2026, 1, 1, 3, 0))
        assert windows.describe() == "always"

    @pytest.mark.parametrize(
        ("text", "message"),
        [
            ("22-06", "expected a time window such as 22:00-06:00"),
            ("25:00-06:00", "is not a time of day"),
            ("10:61-11:00", "is not a time of day"),
            ("08:00-08:00", "is empty"),
            ("00:00-24:30", "is not a time of day"),
        ],
    )
    def test_malformed_windows_name_the_option(self, text, message):
        """Each malformed window is a ConfigError naming --window."""
        with pytest.raises(ConfigError) as caught:
            AllowedWindows.parse(["22:00-06:00", text])
        [problem] = caught.value.problems
        assert problem.where == "--window"
        assert message in problem.message

    def test_waiting_for_a_window_stops_when_asked(self):
        """``wait_for_window`` returns False once the stop event is set while it waits."""
        stop = threading.Event()
        waits: list[float] = []

        def on_wait(seconds: float) -> None:
            waits.append(seconds)
            stop.set()

        windows = AllowedWindows.parse(["09:00-10:00"])
        assert not wait_for_window(windows, stop, now=lambda: datetime(2026, 1, 1, 8, 0), on_wait=on_wait, poll=0.01)
        assert waits == [pytest.approx(3600)]
        assert wait_for_window(windows, threading.Event(), now=lambda: datetime(2026, 1, 1, 9, 30))


class TestLoadLimits:
    def test_from_settings_with_overrides(self):
        """The definition's section gives the defaults; options given override them, None does not."""
        settings = BackfillSettings(rate="10/s", concurrency=3, windows=("22:00-06:00",))
        limits = LoadLimits.from_settings(settings, rate=50.0, concurrency=None, target_latency=0.3)
        assert (limits.rate, limits.concurrency, limits.target_latency) == (50.0, 3, 0.3)
        assert limits.windows.texts == ("22:00-06:00",)
        aimd = limits.aimd()
        assert aimd is not None
        assert (aimd.target_latency, aimd.floor, aimd.ceiling) == (0.3, 1.0, 200.0)
        assert "adaptive 1..200/s, p95 < 300ms" in limits.describe()

    def test_fixed_rate_has_no_controller(self):
        """Without a target latency the rate is fixed."""
        assert LoadLimits(rate=5, concurrency=1).aimd() is None

    def test_every_bad_limit_is_reported(self):
        """Bad rate, concurrency, latency, floor and batch size are listed together."""
        with pytest.raises(ConfigError) as caught:
            LoadLimits(rate=0, concurrency=0, target_latency=-1, min_rate=5, max_rate=2, batch_size=0)
        assert [problem.where for problem in caught.value.problems] == [
            "rate",
            "concurrency",
            "target_latency",
            "min_rate",
            "batch_size",
        ]
