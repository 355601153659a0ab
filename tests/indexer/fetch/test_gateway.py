"""Gateway failures: retries with backoff (429 Retry-After, 5xx, timeouts), and what counts as an outage."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import format_datetime

import httpx
import pytest

from indexer.fetch import DocumentFetcher, Fetched, GatewayClient, VersionClock
from indexer.fetch.gateway import GatewayFailure, parse_retry_after
from schema_gen.batching import BatchQueryBuilder
from schema_gen.errors import ConfigError, GatewayUnavailable, ServiceError

from .fakes import LIST_QUERY, make_config, make_model


def retries(registry, kind: str) -> float | None:
    return registry.get_sample_value("graphdex_fetch_retries_total", {"index": "movies", "kind": kind})


def gateway_errors(registry, kind: str) -> float | None:
    return registry.get_sample_value("graphdex_gateway_errors_total", {"index": "movies", "kind": kind})


def test_429_is_retried_after_at_least_its_retry_after(build_fetcher, gateway, clock, registry):
    """A 429 with Retry-After: 2 waits at least two seconds, then succeeds."""
    gateway.respond(429, {"message": "slow down"}, headers={"retry-after": "2"})
    (outcome,) = build_fetcher("list").fetch(["m1"])
    assert isinstance(outcome, Fetched)
    assert len(gateway.requests) == 2
    assert len(clock.sleeps) == 1
    assert clock.sleeps[0] >= 2.0
    assert retries(registry, "http_429") == 1


def test_503_is_retried_with_growing_backoff(build_fetcher, gateway, clock, registry):
    """Two 503s then an answer: three attempts, two backoff sleeps, the second longer on average."""
    gateway.respond(503, "upstream down", times=2)
    (outcome,) = build_fetcher("list", attempts=3).fetch(["m1"])
    assert isinstance(outcome, Fetched)
    assert len(gateway.requests) == 3
    assert len(clock.sleeps) == 2
    assert 0.1 <= clock.sleeps[0] <= 0.2
    assert 0.2 <= clock.sleeps[1] <= 0.3
    assert retries(registry, "http_5xx") == 2
    assert gateway_errors(registry, "http_5xx") == 2


def test_timeouts_that_outlast_the_attempts_raise_gateway_unavailable(build_fetcher, gateway, registry):
    """Timeouts on every attempt, and on each half of the batch tried once after, end in GatewayUnavailable
    (a ServiceError) with the batch's own failure, not per-id failures."""
    gateway.fail(httpx.ReadTimeout("read timed out"), times=5)
    with pytest.raises(GatewayUnavailable, match=r"after 3 attempt\(s\): timed out") as raised:
        build_fetcher("list", attempts=3).fetch(["m1", "m2"])
    assert isinstance(raised.value, ServiceError)
    assert "http://gateway.test/graphql" in str(raised.value)
    assert len(gateway.requests) == 5
    assert gateway_errors(registry, "timeout") == 5


def test_a_refused_connection_is_retried_then_recovers(build_fetcher, gateway, registry):
    """A connection error followed by an answer is invisible to the caller except in metrics."""
    gateway.fail(httpx.ConnectError("connection refused"))
    outcomes = build_fetcher("list").fetch(["m1", "m2"])
    assert all(isinstance(o, Fetched) for o in outcomes)
    assert retries(registry, "connection") == 1


def test_a_retry_after_beyond_the_limit_gives_up_at_once(build_fetcher, gateway, clock):
    """A 429 asking for minutes is not slept through: GatewayUnavailable carries the wait instead."""
    gateway.respond(429, "", headers={"retry-after": "120"})
    with pytest.raises(GatewayUnavailable) as raised:
        build_fetcher("list").fetch(["m1"])
    assert raised.value.retry_after == 120
    assert len(gateway.requests) == 1
    assert clock.sleeps == []


def test_a_4xx_without_a_graphql_body_is_an_outage_without_retries(build_fetcher, gateway):
    """401 with a plain body means the gateway refuses everything: no retry, GatewayUnavailable."""
    gateway.respond(401, "unauthorized")
    with pytest.raises(GatewayUnavailable, match="HTTP 401 without a GraphQL response: unauthorized"):
        build_fetcher("list").fetch(["m1"])
    assert len(gateway.requests) == 1


def test_a_2xx_that_is_not_a_graphql_response_is_retried(build_fetcher, gateway, registry):
    """An HTML page with status 200 (a proxy) is a transient bad_response."""
    gateway.respond(200, "<html>maintenance</html>")
    (outcome,) = build_fetcher("list").fetch(["m1"])
    assert isinstance(outcome, Fetched)
    assert retries(registry, "bad_response") == 1


# What the demo's @apollo/gateway answered with its talent subgraph stopped (stack trace shortened).
APOLLO_SUBGRAPH_DOWN = {
    "errors": [
        {
            "message": "request to http://127.0.0.1:4003/graphql failed, reason: connect ECONNREFUSED 127.0.0.1:4003",
            "extensions": {"code": "INTERNAL_SERVER_ERROR", "stacktrace": ["FetchError: request to ... failed"]},
        }
    ],
    "data": {"movies": [None]},
}
SUBGRAPH_503 = {
    "data": {"movies": [None]},
    "errors": [{"message": "503: Service Unavailable", "extensions": {"response": {"status": 503}}}],
}
ROUTER_SUBGRAPH_DOWN = {
    "data": None,
    "errors": [{"message": "HTTP fetch failed from 'talent'", "extensions": {"code": "SUBREQUEST_HTTP_ERROR"}}],
}


@pytest.mark.parametrize("body", [APOLLO_SUBGRAPH_DOWN, SUBGRAPH_503, ROUTER_SUBGRAPH_DOWN])
def test_a_subgraph_down_counts_as_gateway_wide(build_fetcher, gateway, body, registry):
    """Errors saying a subgraph cannot be reached are retried and end as an outage, never per-id failures."""
    gateway.respond(200, body, times=3)
    with pytest.raises(GatewayUnavailable, match="a subgraph is unavailable"):
        build_fetcher("list", attempts=3).fetch(["m1"])
    assert gateway_errors(registry, "subgraph_unavailable") == 3


def test_a_subgraph_that_comes_back_within_the_attempts_is_invisible(build_fetcher, gateway):
    """One subgraph-down answer followed by a good one yields the documents."""
    gateway.respond(200, APOLLO_SUBGRAPH_DOWN)
    (outcome,) = build_fetcher("list").fetch(["m1"])
    assert isinstance(outcome, Fetched)
    assert outcome.document["title"] == "Amélie"


def test_one_failing_batch_makes_the_whole_call_an_outage(build_fetcher, gateway):
    """If any batch fails gateway-wide the call raises, so no caller acts on half the ids."""
    gateway.respond(503, "down", times=1)
    with pytest.raises(GatewayUnavailable):
        build_fetcher("list", attempts=1, batch_size=1, max_in_flight=1).fetch(["m1", "m2"])


def test_retry_after_accepts_seconds_and_http_dates():
    """Retry-After is delta seconds or an HTTP date; garbage is ignored."""
    now = datetime(2024, 1, 1, 12, 0, 0, tzinfo=UTC)
    later = format_datetime(datetime(2024, 1, 1, 12, 0, 30, tzinfo=UTC), usegmt=True)
    assert parse_retry_after("7") == 7
    assert parse_retry_after(later, now=now.timestamp) == 30
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


def test_a_definition_without_a_gateway_url_cannot_fetch():
    """graph.url missing (schema_file only) is a ConfigError naming graph.url."""
    config = make_config(LIST_QUERY, "ids", graph={"schema_file": "movies.graphql"})
    with pytest.raises(ConfigError, match=r"graph\.url is not set"):
        DocumentFetcher.for_index(make_model(config), config)


@pytest.mark.parametrize(
    ("script", "caused_by_the_request"),
    [
        (lambda gateway: gateway.fail(httpx.ConnectError("connection refused"), times=2), False),
        (lambda gateway: gateway.fail(httpx.ConnectTimeout("connect timed out"), times=2), False),
        (lambda gateway: gateway.respond(429, "slow down", times=2), False),
        (lambda gateway: gateway.fail(httpx.ReadTimeout("read timed out"), times=2), True),
        (lambda gateway: gateway.respond(500, "crashed", times=2), True),
        (lambda gateway: gateway.respond(200, SUBGRAPH_503, times=2), True),
    ],
    ids=["refused", "connect-timeout", "429", "read-timeout", "500", "subgraph-503"],
)
def test_send_tells_whether_the_request_could_have_caused_the_failure(
    gateway, metrics, clock, script, caused_by_the_request
):
    """``send`` returns the failure instead of raising it, saying whether the request reached the gateway
    and was not refused for its rate: only such failures can be one id's fault."""
    config = make_config(LIST_QUERY, "ids", attempts=2)
    client = GatewayClient.from_config(
        config, metrics=metrics, versions=VersionClock(), transport=httpx.MockTransport(gateway), sleep=clock.sleep
    )
    script(gateway)
    with client:
        failure = client.send(BatchQueryBuilder.for_model(make_model(config), source="q").build(["m1"]))
    assert isinstance(failure, GatewayFailure)
    assert failure.may_be_caused_by_the_request is caused_by_the_request
    assert "after 2 attempt(s)" in failure.message
    assert isinstance(failure.error(), GatewayUnavailable)


def test_send_takes_fewer_attempts_when_asked(gateway, metrics, clock):
    """``send(..., attempts=1)`` sends once and never sleeps, whatever the client's own attempts."""
    config = make_config(LIST_QUERY, "ids", attempts=3)
    client = GatewayClient.from_config(
        config, metrics=metrics, versions=VersionClock(), transport=httpx.MockTransport(gateway), sleep=clock.sleep
    )
    gateway.respond(503, "down", times=3)
    with client:
        failure = client.send(BatchQueryBuilder.for_model(make_model(config), source="q").build(["m1"]), attempts=1)
    assert isinstance(failure, GatewayFailure)
    assert len(gateway.requests) == 1
    assert clock.sleeps == []
