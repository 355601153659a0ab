"""Fixtures of the demo graph's tests: the three subgraphs and the gateway, each started once per session
on free 127.0.0.1 ports against the session's Kafka broker (``kafka_bootstrap`` from tests/conftest.py),
plus a CDC topic reader and an in-memory change log.

The subgraphs and the gateway are started here, not by the shared local stack, so that these tests see
the processes themselves (their exit codes on SIGTERM, their output).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from confluent_kafka import Consumer, KafkaException, Message, TopicPartition

from demo.cdc import ChangeEvent
from demo.seed import DemoData, generate
from demo.services import DEFAULT_SEED, DEFAULT_SIZE, SUBGRAPHS
from tests.conftest import REPO

GATEWAY_DIR = REPO / "demo" / "gateway"


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class ServerProcess:
    """A server started by a fixture, its output going to a log file (a pipe nobody reads could fill up)."""

    name: str
    process: subprocess.Popen[bytes]
    log: Path

    @classmethod
    def start(cls, name: str, command: Sequence[str], demo_log_dir: Path, **options: Any) -> ServerProcess:
        log = demo_log_dir / f"{name.replace(' ', '-')}.log"
        with log.open("wb") as output:
            process = subprocess.Popen(list(command), stdout=output, stderr=subprocess.STDOUT, **options)
        return cls(name, process, log)

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_until(self, ready: Callable[[], bool], timeout: float = 60) -> None:
        """Poll ``ready`` until true; fail with the output if the process exits or time runs out."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"{self.name} exited with status {self.process.returncode}:\n{self.output()}")
            try:
                if ready():
                    return
            except (httpx.HTTPError, KafkaException):
                pass
            time.sleep(0.1)
        self.stop()
        pytest.fail(f"{self.name} was not ready within {timeout:g}s:\n{self.output()}")

    def stop(self, timeout: float = 15, signum: signal.Signals = signal.SIGTERM) -> int:
        """Signal the process (SIGTERM) and wait for it (SIGKILL after ``timeout``); its exit status."""
        if self.process.poll() is None:
            self.process.send_signal(signum)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout)
        return self.process.returncode


def start_subgraph(
    name: str,
    *,
    db: Path,
    kafka: str,
    demo_log_dir: Path,
    size: int = DEFAULT_SIZE,
    seed: int = DEFAULT_SEED,
    extra: Sequence[str] = (),
) -> tuple[ServerProcess, str]:
    """Start ``python -m demo.subgraphs.<name>`` as demo/services.py documents; the process and its base URL."""
    port = free_port()
    command = [sys.executable, "-m", f"demo.subgraphs.{name}", "--host", "127.0.0.1", "--port", str(port)]
    command += ["--db", str(db), "--kafka", kafka, "--size", str(size), "--seed", str(seed), *extra]
    server = ServerProcess.start(f"{name} subgraph", command, demo_log_dir, cwd=REPO)
    url = f"http://127.0.0.1:{port}"
    server.wait_until(lambda: httpx.get(f"{url}/health", timeout=5).status_code == 200)
    return server, url


def graphql(url: str, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    """POST a GraphQL request; the whole response body (``data`` and maybe ``errors``)."""
    response = httpx.post(url, json={"query": query, "variables": variables or {}}, timeout=30)
    response.raise_for_status()
    body: dict[str, Any] = response.json()
    return body


@pytest.fixture(scope="session")
def demo_log_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the session's servers write their output."""
    return tmp_path_factory.mktemp("logs")


@pytest.fixture(scope="session")
def demo_data() -> DemoData:
    """The data set the session's subgraphs are seeded with: the source of truth for expected answers."""
    return generate(DEFAULT_SEED, DEFAULT_SIZE)


@pytest.fixture(scope="session")
def demo_kafka(kafka_bootstrap: str) -> str:
    """Bootstrap address of the session's Kafka broker."""
    return kafka_bootstrap


@pytest.fixture(scope="session")
def demo_subgraph_urls(
    demo_kafka: str, demo_log_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, str]]:
    """Base URL of each demo subgraph (``movies``, ``productions``, ``talent``), seeded with ``demo_data``."""
    directory = tmp_path_factory.mktemp("subgraphs")
    servers: list[ServerProcess] = []
    urls: dict[str, str] = {}
    try:
        for subgraph in SUBGRAPHS:
            db = directory / f"{subgraph.name}.sqlite3"
            server, url = start_subgraph(subgraph.name, db=db, kafka=demo_kafka, demo_log_dir=demo_log_dir)
            servers.append(server)
            urls[subgraph.name] = url
        yield urls
    finally:
        statuses = {server.name: server.stop() for server in servers}
    unclean = {name: status for name, status in statuses.items() if status != 0}
    assert not unclean, f"subgraphs did not exit cleanly on SIGTERM: {unclean}"


@pytest.fixture(scope="session")
def demo_gateway_url(demo_subgraph_urls: dict[str, str], demo_log_dir: Path) -> Iterator[str]:
    """URL of the Apollo gateway composing the session's subgraphs."""
    if not (GATEWAY_DIR / "node_modules").is_dir():
        pytest.fail("demo/gateway/node_modules is missing: run scripts/bootstrap.sh (npm ci in demo/gateway)")
    port = free_port()
    subgraphs = [{"name": name, "url": f"{url}/graphql"} for name, url in demo_subgraph_urls.items()]
    env = {**os.environ, "GATEWAY_PORT": str(port), "SUBGRAPHS": json.dumps(subgraphs)}
    node = shutil.which("node") or "node"
    gateway = ServerProcess.start("gateway", [node, "server.mjs"], demo_log_dir, cwd=GATEWAY_DIR, env=env)
    url = f"http://127.0.0.1:{port}/"
    gateway.wait_until(lambda: "data" in graphql(url, "{ __typename }"))
    yield url
    status = gateway.stop()
    assert status == 0, f"the gateway exited with {status} on SIGTERM:\n{gateway.output()}"


Mark = dict[tuple[str, int], int]
"""Next offset to read, per (topic, partition)."""


class TopicReader:
    """Reads what was written to CDC topics after a mark: ``mark = reader.mark(topic)``, act, then
    ``reader.since(mark)``. A mark is every partition's high watermark."""

    def __init__(self, bootstrap: str) -> None:
        self._consumer = Consumer(
            {"bootstrap.servers": bootstrap, "group.id": "graphdex-demo-tests", "enable.auto.commit": False}
        )

    def mark(self, *topics: str) -> Mark:
        """The positions just past everything currently in ``topics``."""
        positions: Mark = {}
        for topic in topics:
            for partition in self._consumer.list_topics(topic, timeout=10).topics[topic].partitions:
                _, high = self._consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=10)
                positions[(topic, partition)] = high
        return positions

    def since(self, mark: Mark, *, at_least: int = 1, idle: float = 1.0, timeout: float = 20) -> list[ConsumedEvent]:
        """Records written after ``mark``: wait for ``at_least`` of them, then until none came for ``idle`` s."""
        events = [
            ConsumedEvent(message.topic(), json.loads(message.key()), _json_or_none(message.value()))
            for message in self._read(dict(mark), at_least=at_least, idle=idle, timeout=timeout)
        ]
        assert len(events) >= at_least, f"only {len(events)} of {at_least} records arrived within {timeout}s"
        return events

    def _read(self, positions: Mark, *, at_least: int, idle: float, timeout: float) -> list[Message]:
        self._consumer.assign(
            [TopicPartition(topic, partition, offset) for (topic, partition), offset in positions.items()]
        )
        messages: list[Message] = []
        deadline = time.monotonic() + timeout
        quiet_since = time.monotonic()
        while time.monotonic() < deadline:
            message = self._consumer.poll(0.2)
            if message is not None and message.error() is None:
                messages.append(message)
                quiet_since = time.monotonic()
            elif len(messages) >= at_least and time.monotonic() - quiet_since >= idle:
                break
        self._consumer.unassign()
        return messages

    def close(self) -> None:
        self._consumer.close()


def _json_or_none(value: bytes | None) -> Any:
    return json.loads(value) if value is not None else None


@dataclass(frozen=True)
class ConsumedEvent:
    """One record read back from a CDC topic, key and value parsed from JSON (value ``None``: tombstone)."""

    topic: str
    key: dict[str, Any]
    value: dict[str, Any] | None


@pytest.fixture(scope="session")
def demo_topics(demo_kafka: str) -> Iterator[TopicReader]:
    """A reader of the session broker's CDC topics."""
    reader = TopicReader(demo_kafka)
    yield reader
    reader.close()


@dataclass
class RecordingChangeLog:
    """A change log that keeps delivered batches in memory, or refuses them when ``failure`` is set."""

    batches: list[list[ChangeEvent]] = field(default_factory=list)
    failure: Exception | None = None

    def deliver(self, events: Sequence[ChangeEvent]) -> None:
        if self.failure is not None:
            raise self.failure
        self.batches.append(list(events))

    @property
    def events(self) -> list[ChangeEvent]:
        return [event for batch in self.batches for event in batch]


@pytest.fixture
def recording_change_log() -> RecordingChangeLog:
    """An in-memory change log for stores under test."""
    return RecordingChangeLog()
