"""The circuit breaker on its own and around DocumentFetcher: open, fail fast, half-open probe, close."""

from __future__ import annotations

import pytest

from indexer.fetch import BreakerState, CircuitBreaker, Fetched
from schema_gen.errors import GatewayUnavailable

from .fakes import FakeClock


def open_breaker(clock: FakeClock, threshold: int = 2, cooldown: float = 5.0) -> CircuitBreaker:
    breaker = CircuitBreaker(threshold=threshold, cooldown=cooldown, clock=clock)
    for _ in range(threshold):
        breaker.admit()
        breaker.record_failure("HTTP 503")
    return breaker


def test_consecutive_failures_up_to_the_threshold_open_it(clock):
    """The breaker stays closed below the threshold and opens at it, refusing with the time left."""
    breaker = CircuitBreaker(threshold=3, cooldown=5.0, clock=clock)
    breaker.record_failure("timeout")
    breaker.record_failure("timeout")
    assert breaker.state is BreakerState.CLOSED
    breaker.record_failure("timeout")
    assert breaker.state is BreakerState.OPEN
    clock.advance(2.0)
    with pytest.raises(GatewayUnavailable, match=r"circuit open after 3 consecutive failures \(last: timeout\)") as err:
        breaker.admit()
    assert err.value.retry_after == pytest.approx(3.0)


def test_a_success_resets_the_count(clock):
    """Failures must be consecutive: a success in between starts counting again."""
    breaker = CircuitBreaker(threshold=2, cooldown=5.0, clock=clock)
    breaker.record_failure("x")
    breaker.record_success()
    breaker.record_failure("x")
    assert breaker.state is BreakerState.CLOSED


def test_after_the_cooldown_one_probe_is_let_through(clock):
    """Half-open admits exactly one caller as the probe; the others are refused until it ends."""
    breaker = open_breaker(clock)
    clock.advance(5.0)
    assert breaker.state is BreakerState.HALF_OPEN
    assert breaker.admit() is True
    with pytest.raises(GatewayUnavailable):
        breaker.admit()


def test_a_successful_probe_closes_and_a_failed_one_reopens(clock):
    """The probe's result decides: success closes the breaker, failure opens it for a new cooldown."""
    breaker = open_breaker(clock)
    clock.advance(5.0)
    breaker.admit()
    breaker.record_failure("still down")
    breaker.release_probe()
    assert breaker.state is BreakerState.OPEN
    clock.advance(5.0)
    breaker.admit()
    breaker.record_success()
    breaker.release_probe()
    assert breaker.state is BreakerState.CLOSED
    assert breaker.admit() is False


def test_state_changes_are_reported(clock):
    """on_change hears every transition, once each."""
    seen: list[BreakerState] = []
    breaker = CircuitBreaker(threshold=1, cooldown=1.0, clock=clock, on_change=seen.append)
    breaker.record_failure("x")
    clock.advance(1.0)
    breaker.admit()
    breaker.record_success()
    assert seen == [BreakerState.OPEN, BreakerState.HALF_OPEN, BreakerState.CLOSED]


def test_the_fetcher_fails_fast_while_open_and_resumes_by_itself(build_fetcher, gateway, clock, registry):
    """Two outages open the breaker; the next call sends nothing; after the cooldown a probe succeeds."""
    fetcher = build_fetcher("list", attempts=1, breaker_threshold=2, breaker_cooldown="3s")
    gateway.respond(503, "down", times=2)
    for _ in range(2):
        with pytest.raises(GatewayUnavailable, match="HTTP 503"):
            fetcher.fetch(["m1"])
    assert fetcher.breaker.state is BreakerState.OPEN
    assert registry.get_sample_value("graphdex_fetch_breaker_open", {"index": "movies"}) == 1

    with pytest.raises(GatewayUnavailable, match="circuit open") as refused:
        fetcher.fetch(["m1"])
    assert refused.value.retry_after == pytest.approx(3.0)
    assert len(gateway.requests) == 2
    assert registry.get_sample_value("graphdex_fetch_breaker_rejections_total", {"index": "movies"}) == 1

    clock.advance(3.0)
    (outcome,) = fetcher.fetch(["m1"])
    assert isinstance(outcome, Fetched)
    assert fetcher.breaker.state is BreakerState.CLOSED
    assert registry.get_sample_value("graphdex_fetch_breaker_open", {"index": "movies"}) == 0


def test_a_failed_probe_keeps_the_fetcher_refusing(build_fetcher, gateway, clock):
    """If the gateway is still down at the probe, the breaker opens again for another cooldown."""
    fetcher = build_fetcher("list", attempts=1, breaker_threshold=1, breaker_cooldown="3s")
    gateway.respond(503, "down", times=2)
    with pytest.raises(GatewayUnavailable):
        fetcher.fetch(["m1"])
    clock.advance(3.0)
    with pytest.raises(GatewayUnavailable, match="HTTP 503"):
        fetcher.fetch(["m1"])
    with pytest.raises(GatewayUnavailable, match="circuit open"):
        fetcher.fetch(["m1"])
    assert len(gateway.requests) == 2
