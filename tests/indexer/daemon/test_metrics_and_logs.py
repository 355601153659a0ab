"""``graphdex run --metrics-port``: health and readiness answer, ``/metrics`` has every pipeline counter once
the pipeline has seen each kind of event, consumer lag is measured; JSON log lines about an entity name it
as ``Type:id``."""

from __future__ import annotations

import json
import os
import re
import signal
from collections.abc import Iterator

import httpx
import pytest
from confluent_kafka import Producer

from demo.data.fixtures import movie_id
from demo.stack import LocalStack
from indexer.messages import document_headers
from tests.indexer.daemon.conftest import RunningIndex, eventually, start_index
from tests.indexer.daemon.daemon_process import DaemonProcess
from tests.indexer.daemon.source_of_truth import UPDATE_TITLE

pytestmark = pytest.mark.e2e

SETTINGS = {
    "fetch": {
        "timeout": "1s",
        "attempts": 1,
        "breaker_threshold": 1,
        "breaker_cooldown": "500ms",
        "retry_topic_attempts": 1,
        "retry_delay": "200ms",
    }
}
RENAMED, DUPLICATED, DELETED, FAILING, STALE, REFUSED, DURING_OUTAGE = (movie_id(n) for n in range(61, 68))
ENTITY = re.compile(r"^[A-Z][A-Za-z0-9_]*:\S+$")


@pytest.fixture(scope="module")
def index(daemon_stack: LocalStack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningIndex]:
    """A provisioned, loaded demo index; the module runs its daemon as a process."""
    with start_index(daemon_stack, tmp_path_factory.mktemp("metrics"), SETTINGS, run_daemon=False) as made:
        yield made


@pytest.fixture(scope="module")
def daemon(daemon_stack: LocalStack, index: RunningIndex, tmp_path_factory: pytest.TempPathFactory):
    """``graphdex run --metrics-port`` for the module, after it went through every kind of event: renames,
    duplicates, a deletion, a stale and a refused document, a poison event, a failing movie and an outage."""
    process = DaemonProcess.start(
        index.definition_path, daemon_stack, tmp_path_factory.mktemp("metrics-log") / "daemon.log"
    )
    try:
        process.wait_until_ready()
        exercise(index, daemon_stack, process)
        yield process
    finally:
        process.stop()


def exercise(index: RunningIndex, stack: LocalStack, daemon: DaemonProcess) -> None:
    """Make the pipeline see each kind of event, waiting for each to be counted."""
    labels = {"index": index.name}
    kafka = index.definition.config.kafka.bootstrap_servers
    producer = Producer({"bootstrap.servers": kafka})
    codec = index.daemon_codec()

    index.graphql(UPDATE_TITLE, id=RENAMED, title="Metrics Renamed")
    for _ in range(5):  # five requests for one movie in one poll: fetched once
        producer.produce(f"{index.name}.events", key=b"dup", value=json.dumps({"movieId": DUPLICATED}).encode())
    producer.produce(f"{index.name}.events", key=b"poison", value=b"{not json")
    index.graphql("mutation($id: ID!) { deleteMovie(movieId: $id) }", id=DELETED)

    current = index.document(STALE)
    assert current is not None
    stale = codec.encode(dict(current, title="Stale"))
    producer.produce(index.topics.documents, key=STALE.encode(), value=stale, headers=list(document_headers(1, None)))
    refused = codec.encode(dict(index.document(REFUSED) or {}, releaseDate="not-a-date"))
    producer.produce(
        index.topics.documents, key=REFUSED.encode(), value=refused, headers=list(document_headers(2**62, None))
    )
    assert producer.flush(10) == 0

    faults = stack.endpoints.subgraph_urls["movies"].removesuffix("graphql") + "faults"
    httpx.post(faults, json={"movieIds": [FAILING]}, timeout=10).raise_for_status()
    try:
        index.graphql(UPDATE_TITLE, id=FAILING, title="Metrics Failing")
        eventually(lambda: daemon.value("graphdex_dead_letters_total", **labels, stage="fetch", reason="graphql_error"))
    finally:
        httpx.delete(faults, timeout=10).raise_for_status()

    talent = stack.pids()["talent"]
    os.kill(talent, signal.SIGSTOP)
    try:
        index.graphql(UPDATE_TITLE, id=DURING_OUTAGE, title="Metrics Outage")
        eventually(lambda: daemon.value("graphdex_gateway_errors_total", **labels, kind="timeout"), timeout=15)
    finally:
        os.kill(talent, signal.SIGCONT)
    eventually(lambda: (index.document(DURING_OUTAGE) or {}).get("title") == "Metrics Outage", timeout=20)
    refusal = {**labels, "stage": "sink", "reason": "mapper_parsing_exception"}
    eventually(lambda: daemon.value("graphdex_dead_letters_total", **refusal))
    eventually(lambda: (index.document(RENAMED) or {}).get("title") == "Metrics Renamed")
    eventually(lambda: index.document(DELETED) is None)


def test_health_and_readiness_answer(daemon: DaemonProcess):
    """``/healthz`` and ``/readyz`` answer 200 while the daemon runs; other paths are 404 with a hint."""
    health, ready, other = daemon.get("/healthz"), daemon.get("/readyz"), daemon.get("/status")
    assert (health.status_code, health.text) == (200, "ok\n")
    assert (ready.status_code, ready.text) == (200, "ready\n")
    assert other.status_code == 404
    assert "/metrics" in other.text


def test_every_pipeline_counter_is_exposed_with_values(daemon: DaemonProcess, index: RunningIndex):
    """Events per topic, requests, coalesced duplicates, batch sizes, latency, gateway errors by kind,
    indexed/deleted/noop documents, retries, dead letters and freshness all have samples."""
    samples = daemon.samples()
    name = index.name

    def value(metric: str, **labels: str) -> float:
        return samples.get((metric, tuple(sorted({"index": name, **labels}.items()))), 0.0)

    assert value("graphdex_events_consumed_total", topic="demo.movies.movies") >= 3
    assert value("graphdex_events_consumed_total", topic=f"{name}.events") == 6
    assert value("graphdex_reindex_requests_total", cause="event") >= 8
    assert value("graphdex_coalesced_duplicates_total", stage="fetch") >= 4
    assert value("graphdex_fetch_batch_size_count") >= 1
    assert value("graphdex_fetch_batch_size_sum") >= value("graphdex_fetch_batch_size_count")
    assert value("graphdex_fetch_latency_seconds_count") >= 1
    assert value("graphdex_gateway_errors_total", kind="timeout") >= 1
    for outcome in ("indexed", "deleted", "noop", "failed"):
        assert value("graphdex_documents_total", outcome=outcome) >= 1, outcome
    assert value("graphdex_retries_total", stage="fetch") >= 1
    assert value("graphdex_dead_letters_total", stage="route", reason="bad_json") == 1
    assert value("graphdex_dead_letters_total", stage="fetch", reason="graphql_error") == 1
    assert value("graphdex_dead_letters_total", stage="sink", reason="mapper_parsing_exception") == 1
    assert value("graphdex_freshness_seconds_count") >= 3
    assert value("graphdex_fetch_breaker_open") == 0


def test_consumer_lag_is_measured_for_every_stage_and_drains_to_zero(daemon: DaemonProcess, index: RunningIndex):
    """``graphdex_consumer_lag`` has a sample per stage group and topic, and each reaches 0 once idle."""
    topics = index.topics
    expected = {(topics.group_id("route"), source.topic) for source in index.definition.config.events} | {
        (topics.group_id("fetch"), topics.requests),
        (topics.group_id("retry"), topics.retry),
        (topics.group_id("sink"), topics.documents),
    }

    def lags() -> dict[tuple[str, str], float]:
        return {
            (dict(labels)["group"], dict(labels)["topic"]): value
            for (metric, labels), value in daemon.samples().items()
            if metric == "graphdex_consumer_lag"
        }

    eventually(lambda: set(lags()) == expected, timeout=15)
    eventually(lambda: all(lag == 0 for lag in lags().values()), timeout=30)


def test_log_lines_about_an_entity_name_it_as_type_and_id(daemon: DaemonProcess):
    """Every JSON log line with an entity names it as ``Type:id``; retries, dead letters and index refusals
    name their movie."""
    events = daemon.log_events()
    about_entities = [event for event in events if "entity" in event]
    assert about_entities
    assert all(ENTITY.match(str(event["entity"])) for event in about_entities), about_entities
    by_event = {(event["event"], event["entity"]) for event in about_entities}
    assert ("fetch failed, retrying later", f"Movie:{FAILING}") in by_event
    assert ("fetch failed, dead-lettered", f"Movie:{FAILING}") in by_event
    assert ("document refused by the index, dead-lettered", f"Movie:{REFUSED}") in by_event
