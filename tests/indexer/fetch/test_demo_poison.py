"""A poison movie on the real demo graph: with request-mode fault injection the movies subgraph answers
HTTP 500 to every request asking for it, Apollo Gateway reports a subgraph error without a document
path, and the fetcher still fetches every other movie of the batch and fails only that one. Uses a
stack of its own, with fault injection on in the movies subgraph."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client import CollectorRegistry

from demo.data.fixtures import movie_id
from demo.ports import GATEWAY
from demo.seed import generate
from demo.services import DEFAULT_SEED, DEFAULT_SIZE
from demo.stack import LocalStack
from indexer.fetch import BreakerState, DocumentFetcher, Failed, FailureReason, Fetched
from indexer.fetch.isolation import IsolationMemory
from schema_gen.errors import GatewayUnavailable
from tests.private_stacks import started_stack

from .test_demo_gateway import fetcher_for

pytestmark = pytest.mark.integration

POISON = movie_id(12)
BATCH = [movie_id(number) for number in range(1, 21)]


@pytest.fixture(scope="module")
def faulty_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    """Kafka, the three subgraphs (movies with fault injection on) and the gateway, for this module."""
    with started_stack(tmp_path_factory.mktemp("poison-stack"), [GATEWAY], fault_injection=True) as stack:
        yield stack


@pytest.fixture
def poisoned(faulty_stack: LocalStack) -> Iterator[str]:
    """``POISON`` fails every request asking for it (request mode) until the test ends."""
    url = faulty_stack.endpoints.subgraph_urls["movies"].removesuffix("graphql") + "faults"
    httpx.post(url, json={"movieIds": [POISON], "mode": "request"}, timeout=10).raise_for_status()
    yield POISON
    httpx.delete(url, timeout=10).raise_for_status()


def poison_fetcher(
    mode: str, gateway_url: str, folder: Path, registry: CollectorRegistry, breaker_threshold: int = 1
) -> DocumentFetcher:
    fetch = f"{{batch_size: 20, attempts: 2, breaker_threshold: {breaker_threshold}}}"
    return fetcher_for(mode, gateway_url, folder, fetch=fetch, registry=registry, memory=IsolationMemory())


@pytest.mark.parametrize("mode", ["list", "alias"])
def test_a_request_mode_poison_movie_fails_alone_and_its_batch_is_fetched(faulty_stack, poisoned, tmp_path, mode):
    """A batch of 20 holding the poison movie: 19 documents equal to the seeded data, one request_failed
    naming the subgraph's answer, the breaker (threshold 1) still closed, the isolation counted."""
    seeded, registry = generate(DEFAULT_SEED, DEFAULT_SIZE), CollectorRegistry()
    with poison_fetcher(mode, faulty_stack.endpoints.gateway_url, tmp_path, registry) as fetcher:
        outcomes = {outcome.id: outcome for outcome in fetcher.fetch(BATCH)}
        assert fetcher.breaker.state is BreakerState.CLOSED
    culprit = outcomes.pop(poisoned)
    assert isinstance(culprit, Failed), culprit
    assert culprit.reason is FailureReason.REQUEST_FAILED
    assert culprit.retryable
    assert f"movie {poisoned} fails the whole request on purpose" in culprit.detail
    assert set(outcomes) == set(BATCH) - {poisoned}
    for document_id, outcome in outcomes.items():
        assert isinstance(outcome, Fetched)
        assert outcome.document["title"] == seeded.movies_by_id[document_id].title
    labels = {"index": "movies", "result": "culprits"}
    assert registry.get_sample_value("graphdex_fetch_isolations_total", labels) == 1
    assert 0 < (registry.get_sample_value("graphdex_fetch_isolation_requests_total", {"index": "movies"}) or 0) <= 10


def test_the_poison_movie_alone_is_an_outage_until_isolated(faulty_stack, poisoned, tmp_path):
    """Fetched alone first, the poison movie cannot be told from an outage; after a batch isolated it, its
    lone fetch (what its retry does) fails as request_failed."""
    gateway_url = faulty_stack.endpoints.gateway_url
    with poison_fetcher("list", gateway_url, tmp_path, CollectorRegistry(), breaker_threshold=5) as fetcher:
        with pytest.raises(GatewayUnavailable, match="fails the whole request on purpose"):
            fetcher.fetch([poisoned])
        fetcher.fetch(BATCH)
        (retry,) = fetcher.fetch([poisoned])
    assert isinstance(retry, Failed)
    assert retry.reason is FailureReason.REQUEST_FAILED
