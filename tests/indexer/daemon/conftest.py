"""Daemons over freshly provisioned demo indexes: in-process (``running_index``, ``start_index``) or as
``graphdex run`` subprocesses (``daemon_process.DaemonProcess``).

Every daemon test runs on ``daemon_stack``, a whole stack of its own with fault injection on in the
movies subgraph: these tests rename, delete, freeze and fail what the seeded data set holds, which the
tests on the shared ``local_stack`` rely on.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from confluent_kafka.admin import NewTopic

from demo.stack import LocalStack
from indexer.daemon.dead_letters import DeadLetterTopic
from indexer.daemon.pipeline import IndexPipeline
from indexer.daemon.process import Daemon
from indexer.definition import IndexDefinition
from indexer.kafka.clients import build_admin
from indexer.kafka.consumer_loop import RunnerSettings
from indexer.kafka.document_codec import DocumentCodec
from indexer.kafka.topics import TopicLayout
from indexer.messages import DeadLetter
from indexer.metrics import PipelineMetrics
from indexer.provision.provisioner import Provisioner
from indexer.search_store import SearchStore
from tests.private_stacks import started_stack
from tests.stack_definitions import load_on_stack, write_movies_definition

T = TypeVar("T")


def eventually(probe: Callable[[], T], timeout: float = 10.0, interval: float = 0.1) -> T:
    """Poll ``probe`` until it returns something truthy; fail with its last value after ``timeout``."""
    deadline = time.monotonic() + timeout
    value = probe()
    while not value and time.monotonic() < deadline:
        time.sleep(interval)
        value = probe()
    assert value, f"not true within {timeout}s: {value!r}"
    return value


def provision(definition: IndexDefinition, store: SearchStore, checkpoints: Path) -> None:
    """What a user must do before ``graphdex run`` (which refuses an index not provisioned as its definition
    says): ``graphdex apply``. Topics, template, ``<index>-1`` backfilled with every movie the gateway
    lists (so reverse lookups have documents), cut-over gates, both aliases."""
    Provisioner(definition, store=store, checkpoints=checkpoints, progress=False).apply()


@dataclass
class RunningIndex:
    """A provisioned, loaded index with its daemon running."""

    definition: IndexDefinition
    definition_path: Path
    store: SearchStore
    gateway_url: str
    daemon: Daemon
    metrics: PipelineMetrics
    pipeline: IndexPipeline

    @property
    def topics(self) -> TopicLayout:
        return self.pipeline.topics

    def daemon_codec(self) -> DocumentCodec:
        return self.pipeline.codec()

    def dead_letters(self) -> list[DeadLetter]:
        return [s.letter for s in DeadLetterTopic(self.definition.config).letters(timeout=5) if s.letter]

    @property
    def name(self) -> str:
        return self.definition.config.index

    def graphql(self, query: str, **variables: Any) -> dict[str, Any]:
        reply = httpx.post(self.gateway_url, json={"query": query, "variables": variables}, timeout=30)
        body = reply.json()
        assert not body.get("errors"), body["errors"]
        return body["data"]

    def document(self, movie_id: str) -> dict[str, Any] | None:
        found = self.store.mget(self.name, [movie_id]).get(movie_id)
        return None if found is None else found.source


@contextmanager
def start_index(
    stack: LocalStack,
    folder: Path,
    overrides: dict[str, Any] | None = None,
    *,
    run_daemon: bool = True,
    lag_interval: float = 0.5,
) -> Iterator[RunningIndex]:
    """A unique demo index on ``stack``: provisioned by apply (loaded with every movie), and (unless
    ``run_daemon`` is False) kept fresh by a daemon running in this process until the block ends."""
    name = f"t-daemon-{uuid.uuid4().hex[:8]}"
    poison_topic = f"{name}.events"
    path = write_movies_definition(
        folder, name, overrides, extra_events=[{"topic": poison_topic, "type": "Movie", "format": "json"}]
    )
    definition = load_on_stack(path, stack)
    store = IndexPipeline(definition, PipelineMetrics()).search_store()
    provision(definition, store, folder / f"{name}-checkpoints")
    admin = build_admin(definition.config.kafka)
    for future in admin.create_topics([NewTopic(poison_topic, 1, 1)]).values():
        future.result()
    metrics = PipelineMetrics()
    pipeline = IndexPipeline(definition, metrics)
    daemon = Daemon([pipeline], runner_settings=RunnerSettings(poll_timeout=0.1), lag_interval=lag_interval)
    if run_daemon:
        daemon.start()
    try:
        yield RunningIndex(definition, path, store, stack.endpoints.gateway_url, daemon, metrics, pipeline)
    finally:
        if run_daemon:
            daemon.stop()
            daemon.wait(15)
        daemon.close()


@pytest.fixture(scope="module")
def running_index(daemon_stack: LocalStack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningIndex]:
    """A demo index on the daemon tests' stack with its daemon running, for one test module."""
    with start_index(daemon_stack, tmp_path_factory.mktemp("daemon")) as index:
        yield index


@pytest.fixture(scope="session")
def daemon_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    """Kafka, the search server, the three subgraphs (movies with fault injection on) and the gateway, for
    the daemon tests alone: they change the seeded data, freeze processes and fail movies."""
    with started_stack(tmp_path_factory.mktemp("daemon-stack"), fault_injection=True) as stack:
        yield stack


@pytest.fixture
def faults(daemon_stack: LocalStack) -> Iterator[str]:
    """The movies subgraph's fault-injection endpoint, cleared after the test."""
    url = daemon_stack.endpoints.subgraph_urls["movies"].removesuffix("graphql") + "faults"
    yield url
    httpx.delete(url, timeout=10).raise_for_status()
