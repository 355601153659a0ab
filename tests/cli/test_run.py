"""``graphdex run`` and ``graphdex dlq list|replay`` as a user runs them: clear errors without tracebacks, the
stages chosen, ``--for``, and dead letters shown (readable or not) and replayed once."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from confluent_kafka import Producer

from demo.data.fixtures import movie_id
from demo.stack import LocalStack
from indexer.messages import DeadLetter, Record, ReindexRequest
from tests.conftest import REPO
from tests.indexer.daemon.conftest import RunningIndex, start_index
from tests.stack_definitions import write_movies_definition

GRAPHDEX = str(Path(sys.executable).with_name("graphdex"))
MOVIES_YAML = REPO / "configs" / "movies.yaml"


def graphdex(*args: str, env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run the installed ``graphdex`` command."""
    return subprocess.run(
        [GRAPHDEX, *args], capture_output=True, text=True, env={**os.environ, **(env or {})}, timeout=timeout
    )


def test_missing_definition_names_the_file():
    """A definition that does not exist exits 2 naming it, without a traceback."""
    result = graphdex("run", "/nowhere/movies.yaml", "--for", "1")
    assert result.returncode == 2
    assert "/nowhere/movies.yaml" in result.stderr
    assert "Traceback" not in result.stderr


def test_invalid_definition_names_the_key(tmp_path: Path):
    """An unknown key in the definition exits 2 naming the file and the dotted key."""
    broken = write_movies_definition(tmp_path, "broken", {"settings": {"shardz": 2}})
    result = graphdex("dlq", "list", str(broken))
    assert result.returncode == 2
    assert f"{broken}: settings.shardz: unknown key" in result.stderr
    assert "Traceback" not in result.stderr


def test_unknown_stage_is_a_usage_error():
    """``--stage`` takes router, fetch or sink; anything else is a usage error (exit 2) listing them."""
    result = graphdex("run", str(MOVIES_YAML), "--stage", "indexer")
    assert result.returncode == 2
    assert "'router', 'fetch', 'sink'" in result.stderr


def test_metrics_port_in_use_is_a_clear_error():
    """A metrics port held by another process exits 1 naming the port, without a traceback. (No server runs
    here: the provision check is skipped, or it would report the unreachable search server first.)"""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        result = graphdex("run", str(MOVIES_YAML), "--metrics-port", str(port), "--for", "1", "--skip-provision-check")
    assert result.returncode == 1
    assert f"error: cannot serve metrics and health checks on 127.0.0.1:{port} (--metrics-port)" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.fixture(scope="module")
def idle_index(local_stack: LocalStack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningIndex]:
    """A provisioned demo index on the shared stack, no daemon running."""
    with start_index(local_stack, tmp_path_factory.mktemp("cli-run"), run_daemon=False) as index:
        yield index


@pytest.mark.integration
def test_chosen_stages_run_for_the_given_time(idle_index: RunningIndex, local_stack: LocalStack):
    """``--stage fetch --stage sink --for 2`` runs just those stages' workers, then stops cleanly (exit 0)."""
    started = time.monotonic()
    result = graphdex(
        "run",
        str(idle_index.definition_path),
        "--stage",
        "fetch",
        "--stage",
        "sink",
        "--for",
        "2",
        "--json-logs",
        env=local_stack.endpoints.environment(),
    )
    took = time.monotonic() - started
    assert result.returncode == 0, result.stderr
    name = idle_index.name
    assert f"graphdex running {name}.fetch, {name}.retry, {name}.sink (pid " in result.stderr
    stopped = [json.loads(line) for line in result.stderr.splitlines() if '"stage stopped"' in line]
    assert sorted(event["worker"] for event in stopped) == [f"{name}.fetch", f"{name}.retry", f"{name}.sink"]
    assert took < 30


@pytest.mark.integration
def test_dlq_list_shows_unreadable_letters_and_replay_takes_each_letter_once(
    idle_index: RunningIndex, local_stack: LocalStack
):
    """A readable letter is listed with its root and replayed once; an unreadable message is listed with
    why it cannot be read and never replayed."""
    config = idle_index.definition.config
    record = Record("demo.movies.movies", 0, 7, movie_id(80).encode(), b"{}")
    request = ReindexRequest(id=movie_id(80), type="Movie", event_ts_ms=1)
    letter = DeadLetter.for_record(
        record, stage="fetch", reason="graphql_error", detail="it failed", failed_at_ms=2, request=request
    )
    producer = Producer({"bootstrap.servers": config.kafka.bootstrap_servers})
    producer.produce(idle_index.topics.dlq, key=b"garbage", value=b"\x00not a dead letter")
    producer.produce(idle_index.topics.dlq, key=movie_id(80).encode(), value=letter.to_bytes())
    assert producer.flush(10) == 0
    env = local_stack.endpoints.environment()
    path = str(idle_index.definition_path)

    table = graphdex("dlq", "list", path, env=env)
    assert table.returncode == 0, table.stderr
    assert "2 dead letter(s)" in table.stdout
    assert "unreadable" in table.stdout
    assert movie_id(80) in table.stdout

    replay = graphdex("dlq", "replay", path, env=env)
    assert replay.returncode == 0, replay.stderr
    assert replay.stdout.splitlines() == [f"replayed Movie:{movie_id(80)} (graphql_error)", "1 dead letter(s) replayed"]
    assert "0 dead letter(s) replayed" in graphdex("dlq", "replay", path, env=env).stdout

    listed = [json.loads(line) for line in graphdex("dlq", "list", path, "--json", env=env).stdout.splitlines()]
    by_reason = {item["reason"]: item for item in listed}
    assert set(by_reason) == {"unreadable", "graphql_error"}
    assert by_reason["graphql_error"]["replayed"] is True
    assert (by_reason["unreadable"]["replayed"], by_reason["unreadable"]["root_id"]) == (False, None)
    assert "dlq offset" in by_reason["unreadable"]["detail"]
