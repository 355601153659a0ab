"""A subgraph outage pauses fetching (the circuit breaker opens, nothing is dead-lettered) and the daemon
resumes by itself when the subgraph answers again: the change made during the outage arrives."""

from __future__ import annotations

import os
import signal
import time
import uuid
from collections.abc import Iterator

import pytest

from demo.data.fixtures import movie_id
from demo.stack import LocalStack
from tests.indexer.daemon.conftest import RunningIndex, eventually, start_index
from tests.indexer.daemon.source_of_truth import UPDATE_TITLE

pytestmark = pytest.mark.e2e

SHORT_FUSE = {"fetch": {"timeout": "1s", "attempts": 1, "breaker_threshold": 1, "breaker_cooldown": "500ms"}}


@pytest.fixture(scope="module")
def outage_index(daemon_stack: LocalStack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningIndex]:
    """A demo index kept fresh by an in-process daemon that gives up on the gateway after one 1 s timeout."""
    with start_index(daemon_stack, tmp_path_factory.mktemp("outage"), SHORT_FUSE) as index:
        yield index


@pytest.fixture
def frozen_talent(daemon_stack: LocalStack) -> Iterator[int]:
    """The talent subgraph's process id; whatever the test does, it is running again afterwards."""
    talent = daemon_stack.pids()["talent"]
    yield talent
    os.kill(talent, signal.SIGCONT)


def test_frozen_subgraph_pauses_fetching_and_the_change_arrives_after(outage_index: RunningIndex, frozen_talent: int):
    """With the talent subgraph stopped (SIGSTOP), a title change waits behind the open breaker, the fetch
    group's lag and paused gauge show it, nothing is dead-lettered; after SIGCONT the new title is indexed."""
    index, movie = outage_index, movie_id(41)
    labels = {"index": index.name}
    title = f"Outage {uuid.uuid4().hex[:6]}"
    os.kill(frozen_talent, signal.SIGSTOP)
    index.graphql(UPDATE_TITLE, id=movie, title=title)  # the movies subgraph still takes writes

    eventually(lambda: index.metrics.value("graphdex_fetch_breaker_open", labels) == 1, timeout=15)
    assert index.metrics.value("graphdex_gateway_errors_total", {**labels, "kind": "timeout"}) >= 1
    fetch_paused = {**labels, "stage": "fetch"}
    eventually(lambda: index.metrics.value("graphdex_paused", fetch_paused) == 1, timeout=10)
    fetch_lag = {"group": index.topics.group_id("fetch"), "topic": index.topics.requests}
    eventually(lambda: index.metrics.value("graphdex_consumer_lag", fetch_lag) >= 1, timeout=10)
    time.sleep(2)  # the outage goes on for a while: the breaker's probes fail too
    assert (index.document(movie) or {}).get("title") != title

    os.kill(frozen_talent, signal.SIGCONT)
    eventually(lambda: (index.document(movie) or {}).get("title") == title, timeout=20)
    eventually(lambda: index.metrics.value("graphdex_fetch_breaker_open", labels) == 0, timeout=5)
    eventually(lambda: index.metrics.value("graphdex_paused", fetch_paused) == 0, timeout=10)
    eventually(lambda: index.metrics.value("graphdex_consumer_lag", fetch_lag) == 0, timeout=15)
    assert index.dead_letters() == []
    assert index.metrics.value("graphdex_retries_total", {**labels, "stage": "fetch"}) == 0
    assert (
        index.metrics.value("graphdex_fetch_outcomes_total", {**labels, "outcome": "failed", "reason": "graphql_error"})
        == 0
    )
