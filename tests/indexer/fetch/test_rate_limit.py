"""The shared request rate limit: a token bucket on an injected clock."""

from __future__ import annotations

import threading

import pytest

from indexer.fetch import RequestRateLimiter

from .fakes import FakeClock


def test_requests_are_spaced_at_the_rate(clock):
    """At 5 requests/s with bursts of one, six requests take one second of (fake) waiting."""
    limiter = RequestRateLimiter(5, burst=1, clock=clock, sleep=clock.sleep)
    start = clock.now
    waits = [limiter.acquire() for _ in range(6)]
    assert waits[0] == 0
    assert waits[1:] == pytest.approx([0.2] * 5)
    assert clock.now - start == pytest.approx(1.0)


def test_a_burst_passes_at_once_after_idle_time(clock):
    """Up to ``burst`` tokens accumulate while idle and are spent without waiting."""
    limiter = RequestRateLimiter(10, burst=4, clock=clock, sleep=clock.sleep)
    assert [limiter.acquire() for _ in range(4)] == [0, 0, 0, 0]
    assert limiter.acquire() == pytest.approx(0.1)
    clock.advance(60)
    assert [limiter.acquire() for _ in range(4)] == [0, 0, 0, 0]


def test_concurrent_callers_each_get_their_own_slot():
    """Threads reserving at the same instant are queued one slot apart: no slot is handed out twice."""
    frozen = FakeClock()
    limiter = RequestRateLimiter(100, burst=1, clock=frozen, sleep=frozen.sleep)
    waits: list[float] = []
    lock = threading.Lock()

    def reserve() -> None:
        for _ in range(25):
            wait = limiter.reserve()
            with lock:
                waits.append(wait)

    threads = [threading.Thread(target=reserve) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(round(w * 100) for w in waits) == list(range(200))


def test_the_rate_must_be_positive():
    """A zero or negative rate is refused."""
    with pytest.raises(ValueError, match="positive"):
        RequestRateLimiter(0)


def test_the_fetcher_takes_a_token_per_request_attempt(build_fetcher, gateway, clock):
    """At fetch.rate_limit 1/s, three attempts (a retry included) start one second apart."""
    gateway.respond(503, "down")
    build_fetcher("list", rate_limit=1, batch_size=1, max_in_flight=1).fetch(["m1", "m2"])
    assert len(gateway.requests) == 3
    backoff, rate_wait, second_rate_wait = clock.sleeps
    assert backoff + rate_wait == pytest.approx(1.0)
    assert second_rate_wait == pytest.approx(1.0)
