"""DocumentFetcher against a fake gateway with poison ids: a request that fails as a whole because of
one id is split until that id is alone; every other document is fetched, the breaker stays closed, and
an outage is still an outage."""

from __future__ import annotations

import math

import httpx
import pytest
from structlog.testing import capture_logs

from indexer.fetch import BreakerState, Failed, FailureReason, Fetched
from schema_gen.errors import GatewayUnavailable

from .fakes import FakeGateway

MOVIES = [f"m{n}" for n in range(1, 51)]
ONE_CULPRIT_BOUND = 2 * math.ceil(math.log2(len(MOVIES)))
"""Extra requests isolating one poison id in a batch of 50 may take: two per halving."""


@pytest.fixture
def gateway() -> FakeGateway:
    """A fake gateway with fifty movies, m1 to m50, and m99 (fetched first where a control is needed)."""
    fake = FakeGateway()
    for movie_id in [*MOVIES, "m99"]:
        fake.add(movie_id, title=f"title of {movie_id}")
    return fake


def isolations(registry, result: str) -> float | None:
    return registry.get_sample_value("graphdex_fetch_isolations_total", {"index": "movies", "result": result})


def isolation_requests(registry) -> float | None:
    return registry.get_sample_value("graphdex_fetch_isolation_requests_total", {"index": "movies"})


def by_id(outcomes: list) -> dict:
    return {outcome.id: outcome for outcome in outcomes}


@pytest.mark.parametrize("mode", ["list", "alias"])
@pytest.mark.parametrize("how", ["subgraph_500", "http_500"])
def test_a_poison_id_in_a_batch_of_50_is_isolated_and_the_other_49_are_fetched(
    build_fetcher, gateway, registry, mode, how
):
    """A subgraph (or the gateway) failing the whole request whenever m17 is in it: m17 alone is Failed
    (request_failed, retryable, saying why, with the original error), the 49 others are Fetched, the
    breaker stays closed even at threshold 1, and the extra requests stay within two per halving."""
    gateway.poison["m17"] = how
    fetcher = build_fetcher(mode, batch_size=50, attempts=3, breaker_threshold=1)
    outcomes = by_id(fetcher.fetch(MOVIES))

    culprit = outcomes.pop("m17")
    assert isinstance(culprit, Failed)
    assert culprit.reason is FailureReason.REQUEST_FAILED
    assert culprit.retryable
    assert "the request failed as a whole only when m17 was in it" in culprit.detail
    assert ("movies crashed on m17" if how == "subgraph_500" else "HTTP 500") in culprit.detail
    assert all(isinstance(o, Fetched) for o in outcomes.values())
    assert {o.document["title"] for o in outcomes.values()} == {f"title of {m}" for m in MOVIES if m != "m17"}

    extra = len(gateway.requests) - 3  # the batch's own three attempts
    assert 0 < extra <= ONE_CULPRIT_BOUND
    assert isolation_requests(registry) == extra
    assert isolations(registry, "culprits") == 1
    assert fetcher.breaker.state is BreakerState.CLOSED
    assert (
        registry.get_sample_value(
            "graphdex_fetch_outcomes_total", {"index": "movies", "outcome": "failed", "reason": "request_failed"}
        )
        == 1
    )


def test_isolation_requests_are_sent_once_each_without_backoff(build_fetcher, gateway, clock):
    """The parts of a split batch get one attempt each: only the batch's own retries sleep."""
    gateway.poison["m30"] = "subgraph_500"
    build_fetcher("list", batch_size=50, attempts=3).fetch(MOVIES)
    assert len(clock.sleeps) == 2


@pytest.mark.parametrize("poison", [("m3", "m10"), ("m3", "m40")], ids=["same half", "different halves"])
def test_two_poison_ids_are_both_isolated(build_fetcher, gateway, registry, poison):
    """Two culprits in one half or in different halves (where only a request for a recently fetched id,
    the control, shows the gateway up) are both found; the 48 others are fetched."""
    for movie_id in poison:
        gateway.poison[movie_id] = "subgraph_500"
    fetcher = build_fetcher("list", batch_size=50, attempts=1, breaker_threshold=1)
    (control,) = fetcher.fetch(["m99"])
    assert isinstance(control, Fetched)
    gateway.requests.clear()

    outcomes = by_id(fetcher.fetch(MOVIES))
    failed = {movie_id for movie_id, o in outcomes.items() if isinstance(o, Failed)}
    assert failed == set(poison)
    assert all(outcomes[m].reason is FailureReason.REQUEST_FAILED for m in poison)
    assert sum(isinstance(o, Fetched) for o in outcomes.values()) == 48
    assert len(gateway.requests) - 1 <= 2 * ONE_CULPRIT_BOUND + 1
    assert isolations(registry, "culprits") == 1
    assert fetcher.breaker.state is BreakerState.CLOSED


@pytest.mark.parametrize("failure", ["503", "subgraph_down"])
def test_a_real_outage_raises_gateway_unavailable_after_a_few_requests_and_opens_the_breaker(
    build_fetcher, gateway, registry, failure
):
    """Every request failing: the batch's attempts, its two halves and one control request, then
    GatewayUnavailable with the batch's own failure, one breaker failure (threshold 1: open), and the
    next call refused at once without a request."""
    fetcher = build_fetcher("list", batch_size=50, attempts=3, breaker_threshold=1)
    fetcher.fetch(["m99"])
    gateway.requests.clear()
    if failure == "503":
        gateway.respond(503, "upstream down", times=100)
    else:
        down = {"data": None, "errors": [{"message": "request to http://t:1/ failed, reason: connect ECONNREFUSED"}]}
        gateway.respond(200, down, times=100)

    with pytest.raises(GatewayUnavailable, match=r"after 3 attempt\(s\)"):
        fetcher.fetch(MOVIES)
    assert len(gateway.requests) == 3 + 2 + 1
    assert isolations(registry, "outage") == 1
    assert fetcher.breaker.state is BreakerState.OPEN
    with pytest.raises(GatewayUnavailable, match="circuit open"):
        fetcher.fetch(MOVIES)
    assert len(gateway.requests) == 6


def test_without_a_recent_fetch_an_outage_costs_just_the_two_halves(build_fetcher, gateway):
    """A fetcher that has fetched nothing yet has no control: both halves failing is an outage."""
    gateway.respond(503, "upstream down", times=100)
    with pytest.raises(GatewayUnavailable):
        build_fetcher("list", batch_size=50, attempts=2).fetch(MOVIES)
    assert len(gateway.requests) == 2 + 2


@pytest.mark.parametrize(
    ("script", "kind"),
    [
        (lambda gateway: gateway.fail(httpx.ConnectError("connection refused"), times=100), "connection"),
        (lambda gateway: gateway.respond(429, "slow down", headers={"retry-after": "1"}, times=100), "http_429"),
    ],
    ids=["refused", "rate-limited"],
)
def test_failures_no_id_can_cause_are_not_split(build_fetcher, gateway, registry, script, kind):
    """A refused connection (nothing was sent) or a 429 (send less) is an outage at once: no isolation."""
    script(gateway)
    with pytest.raises(GatewayUnavailable):
        build_fetcher("list", batch_size=50, attempts=2).fetch(MOVIES)
    assert len(gateway.requests) == 2
    assert isolation_requests(registry) is None


@pytest.mark.parametrize("mode", ["list", "alias"])
def test_a_batch_wide_graphql_error_caused_by_one_id_fails_that_id_only(build_fetcher, gateway, mode):
    """No data and an error without a path whenever m42 is asked for: m42 is Failed (request_failed,
    retryable, with the gateway's message), the others are Fetched."""
    gateway.poison["m42"] = "graphql"
    outcomes = by_id(build_fetcher(mode, batch_size=50).fetch(MOVIES))
    culprit = outcomes.pop("m42")
    assert isinstance(culprit, Failed)
    assert culprit.reason is FailureReason.REQUEST_FAILED
    assert culprit.retryable
    assert "cannot plan the query for m42" in culprit.detail
    assert all(isinstance(o, Fetched) for o in outcomes.values())


def test_a_culprit_whose_error_says_its_input_is_bad_is_not_retryable(build_fetcher, gateway):
    """BAD_USER_INPUT blamed on one id: that id goes straight to the dead letters, the rest is fetched."""
    gateway.poison["m5"] = "bad_input"
    outcomes = by_id(build_fetcher("list", batch_size=50).fetch(MOVIES))
    assert isinstance(outcomes["m5"], Failed)
    assert not outcomes["m5"].retryable
    assert sum(isinstance(o, Fetched) for o in outcomes.values()) == 49


def test_a_whole_request_failure_that_does_not_repeat_loses_nothing(build_fetcher, gateway, registry):
    """A batch failing through its attempts but answered when split: every document is fetched."""
    gateway.respond(503, "blip", times=3)
    fetcher = build_fetcher("list", batch_size=50, attempts=3, breaker_threshold=1)
    outcomes = fetcher.fetch(MOVIES)
    assert all(isinstance(o, Fetched) for o in outcomes)
    assert len(gateway.requests) == 3 + 2
    assert isolations(registry, "transient") == 1
    assert fetcher.breaker.state is BreakerState.CLOSED


def test_many_poison_ids_are_reported_as_the_batch_failure(build_fetcher, gateway, registry):
    """Six ids failing whole requests in a batch of 50 is more than a few poison ids (a subgraph failing
    for a class of entities looks the same): isolation stops, and a gateway failure stays an outage."""
    for movie_id in ("m2", "m9", "m15", "m22", "m31", "m44"):
        gateway.poison[movie_id] = "subgraph_500"
    fetcher = build_fetcher("list", batch_size=50, attempts=1)
    fetcher.fetch(["m99"])
    gateway.requests.clear()
    with pytest.raises(GatewayUnavailable, match="a subgraph is unavailable"):
        fetcher.fetch(MOVIES)
    assert isolations(registry, "too_many") == 1
    assert len(gateway.requests) <= 1 + 1 + 2 + 4 + 8


def test_many_graphql_poison_ids_fail_their_parts_and_the_rest_is_fetched(build_fetcher, gateway, registry):
    """With GraphQL errors, the parts still failing when isolation stops fail as without splitting
    (graphql_error); the parts answered on the way are fetched."""
    poison = ("m2", "m9", "m15", "m22", "m31", "m44")
    for movie_id in poison:
        gateway.poison[movie_id] = "graphql"
    fetcher = build_fetcher("list", batch_size=50, attempts=1)
    fetcher.fetch(["m99"])
    outcomes = by_id(fetcher.fetch(MOVIES))
    assert isolations(registry, "too_many") == 1
    failed = {m for m, o in outcomes.items() if isinstance(o, Failed)}
    fetched = {m for m, o in outcomes.items() if isinstance(o, Fetched)}
    assert set(poison) <= failed
    assert all(outcomes[m].reason is FailureReason.GRAPHQL_ERROR for m in failed)
    assert fetched
    assert fetched | failed == set(MOVIES)


def test_a_poison_id_fetched_alone_is_an_outage_until_it_has_been_isolated(build_fetcher, gateway):
    """Alone, a poison id cannot be told from an outage: GatewayUnavailable, as before. Once isolated from
    a batch, its next lone fetch (its retry) is Failed again, since a recently fetched id is answered."""
    gateway.poison["m17"] = "subgraph_500"
    fetcher = build_fetcher("list", batch_size=50, attempts=2, breaker_threshold=5)
    with pytest.raises(GatewayUnavailable, match="a subgraph is unavailable"):
        fetcher.fetch(["m17"])
    assert len(gateway.requests) == 2

    fetcher.fetch(MOVIES)
    gateway.requests.clear()
    (retry,) = fetcher.fetch(["m17"])
    assert isinstance(retry, Failed)
    assert retry.reason is FailureReason.REQUEST_FAILED
    assert "fetched alone again" in retry.detail
    assert len(gateway.requests) == 2 + 1
    assert fetcher.breaker.state is BreakerState.CLOSED


def test_a_known_culprit_fetched_alone_during_an_outage_is_still_an_outage(build_fetcher, gateway):
    """If the control fails too, the gateway is down: GatewayUnavailable, nothing is blamed on the id."""
    gateway.poison["m17"] = "subgraph_500"
    fetcher = build_fetcher("list", batch_size=50, attempts=1)
    fetcher.fetch(MOVIES)
    gateway.respond(503, "down", times=2)
    with pytest.raises(GatewayUnavailable, match="HTTP 503"):
        fetcher.fetch(["m17"])


def test_the_culprits_memory_is_shared_by_the_fetchers_of_an_index(build_fetcher, gateway):
    """The retry stage's fetcher knows the culprits the live stage's fetcher isolated."""
    gateway.poison["m17"] = "subgraph_500"
    live, retry = build_fetcher("list", batch_size=50, attempts=1), build_fetcher("list", attempts=1)
    live.fetch(MOVIES)
    (outcome,) = retry.fetch(["m17"])
    assert isinstance(outcome, Failed)
    assert outcome.reason is FailureReason.REQUEST_FAILED


def test_a_culprit_that_is_answered_again_is_forgotten(build_fetcher, gateway):
    """Once the poison is gone, the id is fetched, and a later lone failure of it is an outage again."""
    gateway.poison["m17"] = "subgraph_500"
    fetcher = build_fetcher("list", batch_size=50, attempts=1)
    fetcher.fetch(MOVIES)
    del gateway.poison["m17"]
    (outcome,) = fetcher.fetch(["m17"])
    assert isinstance(outcome, Fetched)
    gateway.poison["m17"] = "subgraph_500"
    with pytest.raises(GatewayUnavailable):
        fetcher.fetch(["m17"])


def test_the_half_open_probe_isolates_a_poison_id_and_closes_the_breaker(build_fetcher, gateway, clock):
    """A breaker opened by lone fetches of a poison id closes when the half-open probe call's batch holds
    it with other ids: the batch is answered without it."""
    gateway.poison["m17"] = "subgraph_500"
    fetcher = build_fetcher("list", batch_size=50, attempts=1, breaker_threshold=1, breaker_cooldown="5s")
    with pytest.raises(GatewayUnavailable):
        fetcher.fetch(["m17"])
    assert fetcher.breaker.state is BreakerState.OPEN
    clock.advance(5)
    outcomes = by_id(fetcher.fetch(MOVIES[10:20]))
    assert isinstance(outcomes["m17"], Failed)
    assert sum(isinstance(o, Fetched) for o in outcomes.values()) == 9
    assert fetcher.breaker.state is BreakerState.CLOSED


def test_every_isolation_request_goes_through_the_rate_limiter(build_fetcher, gateway, clock):
    """At 2 requests/s (burst 2), n requests take at least (n - 2) / 2 s of the limiter's waiting."""
    gateway.poison["m17"] = "graphql"  # GraphQL errors are not retried: every sleep is the limiter's
    build_fetcher("list", batch_size=50, rate_limit=2).fetch(MOVIES)
    requests = len(gateway.requests)
    assert requests > 2
    assert sum(clock.sleeps) >= (requests - 2) / 2 - 1e-6


def test_an_isolated_id_is_logged_with_its_entity(build_fetcher, gateway):
    """One warning per culprit, naming it as Movie:<id> like every other log line about a document."""
    gateway.poison["m17"] = "subgraph_500"
    with capture_logs() as logs:
        build_fetcher("list", batch_size=50, attempts=1).fetch(MOVIES)
    [line] = [entry for entry in logs if entry.get("entity") == "Movie:m17"]
    assert line["log_level"] == "warning"
    assert "poison id isolated" in line["event"]
    assert line["batch"] == 50
    assert "movies crashed on m17" in line["detail"]
