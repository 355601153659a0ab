"""An outage of the real demo graph: a frozen subgraph makes fetches time out, the breaker opens, and
fetching resumes by itself once the subgraph answers again. Uses a stack of its own, since it freezes
one of its processes."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator

import pytest
from prometheus_client import CollectorRegistry

from demo.ports import GATEWAY
from demo.stack import LocalStack
from indexer.definition import introspect
from indexer.fetch import BreakerState, DocumentFetcher, Fetched, FetchMetrics
from schema_gen.config import parse_config
from schema_gen.errors import GatewayUnavailable
from schema_gen.walker import build_model, parse_template
from tests.private_stacks import started_stack

from .fakes import FakeClock

pytestmark = pytest.mark.integration

QUERY = "query MovieDocuments($ids: [ID!]!) { movies(ids: $ids) { movieId title credits { talent { name } } } }"


@pytest.fixture(scope="module")
def outage_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    """Kafka, the three subgraphs and the gateway, for this module alone."""
    with started_stack(tmp_path_factory.mktemp("outage-stack"), [GATEWAY]) as stack:
        yield stack


def test_a_frozen_subgraph_opens_the_breaker_and_fetching_resumes_after(outage_stack):
    """Timeouts through the gateway become GatewayUnavailable, the open breaker refuses at once, and the
    half-open probe succeeds when the subgraph is back."""
    config = parse_config(
        {
            "index": "movies",
            "graph": {"url": outage_stack.endpoints.gateway_url},
            "query": QUERY,
            "root": {"type": "Movie", "id_field": "movieId", "id_variable": "ids"},
            "fetch": {"timeout": "1s", "attempts": 2, "breaker_threshold": 1, "breaker_cooldown": "30s"},
        },
        "movies.yaml",
        {},
    )
    model = build_model(introspect(config.graph), parse_template(QUERY, "query"), config, "query")
    breaker_clock = FakeClock()
    fetcher = DocumentFetcher.for_index(model, config, metrics=FetchMetrics(CollectorRegistry()), clock=breaker_clock)
    ids = ["movie-000001", "movie-000002"]
    talent = outage_stack.pids()["talent"]
    with fetcher:
        assert all(isinstance(outcome, Fetched) for outcome in fetcher.fetch(ids))
        os.kill(talent, signal.SIGSTOP)
        try:
            with pytest.raises(GatewayUnavailable, match=r"after 2 attempt\(s\): timed out"):
                fetcher.fetch(ids)
            assert fetcher.breaker.state is BreakerState.OPEN
            with pytest.raises(GatewayUnavailable, match="circuit open"):
                fetcher.fetch(ids)
        finally:
            os.kill(talent, signal.SIGCONT)
        breaker_clock.advance(30)
        outcomes = fetcher.fetch(ids)
    assert all(isinstance(outcome, Fetched) for outcome in outcomes)
    assert outcomes[0].document["title"] == "Amélie"
    assert fetcher.breaker.state is BreakerState.CLOSED
