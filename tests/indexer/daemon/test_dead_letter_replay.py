"""A gateway error for one movie is dead-lettered while every other change keeps flowing; once the fault is
cleared, ``graphdex dlq replay`` brings the document up to date."""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from collections.abc import Iterator

import httpx
import pytest

from demo.data.fixtures import movie_id
from demo.stack import LocalStack
from tests.indexer.daemon.conftest import RunningIndex, eventually, start_index
from tests.indexer.daemon.daemon_process import GRAPHDEX
from tests.indexer.daemon.source_of_truth import UPDATE_TITLE

pytestmark = pytest.mark.e2e

QUICK_RETRIES = {"fetch": {"attempts": 1, "retry_topic_attempts": 1, "retry_delay": "200ms"}}
FAILING, OTHERS = movie_id(31), [movie_id(32), movie_id(33), movie_id(34)]


@pytest.fixture(scope="module")
def faulty_index(daemon_stack: LocalStack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningIndex]:
    """A demo index kept fresh by an in-process daemon whose requests give up after one retry pass."""
    with start_index(daemon_stack, tmp_path_factory.mktemp("dlq"), QUICK_RETRIES) as index:
        yield index


def graphdex(stack: LocalStack, *args: str) -> subprocess.CompletedProcess[str]:
    """Run the installed ``graphdex`` command against ``stack``."""
    env = {**os.environ, **stack.endpoints.environment()}
    return subprocess.run([GRAPHDEX, *args], capture_output=True, text=True, env=env, timeout=120, check=False)


def rename(index: RunningIndex, movie: str, title: str) -> None:
    assert index.graphql(UPDATE_TITLE, id=movie, title=title)["updateMovie"]["movieId"] == movie


def title_of(index: RunningIndex, movie: str) -> str | None:
    return (index.document(movie) or {}).get("title")


def test_one_failing_movie_is_dead_lettered_and_replayed_after_the_fault_clears(
    faulty_index: RunningIndex, daemon_stack: LocalStack, faults: str
):
    """The failing movie goes through the retry topic to the DLQ as a graphql_error; the others are indexed;
    after ``DELETE /faults``, ``graphdex dlq replay`` re-fetches it and the index has its new title."""
    index, label = faulty_index, uuid.uuid4().hex[:6]
    httpx.post(faults, json={"movieIds": [FAILING]}, timeout=10).raise_for_status()
    old_title = title_of(index, FAILING)
    for movie in [FAILING, *OTHERS]:
        rename(index, movie, f"Replayed {label} {movie}")

    for movie in OTHERS:
        eventually(lambda movie=movie: title_of(index, movie) == f"Replayed {label} {movie}", timeout=15)
    letters = eventually(lambda: [s for s in index.dead_letters() if s.request and s.request.id == FAILING], 20)
    [letter] = letters
    assert (letter.stage, letter.reason) == ("fetch", "graphql_error")
    assert letter.request is not None
    assert letter.request.attempt == 1
    assert "fails on purpose" in letter.detail
    assert title_of(index, FAILING) == old_title
    assert index.metrics.value("graphdex_retries_total", {"index": index.name, "stage": "fetch"}) >= 1

    listed = graphdex(daemon_stack, "dlq", "list", str(index.definition_path), "--json", "--id", FAILING)
    assert listed.returncode == 0, listed.stderr
    [shown] = [json.loads(line) for line in listed.stdout.splitlines()]
    assert (shown["root_id"], shown["reason"], shown["replayed"]) == (FAILING, "graphql_error", False)

    httpx.delete(faults, timeout=10).raise_for_status()
    replay = graphdex(daemon_stack, "dlq", "replay", str(index.definition_path))
    assert replay.returncode == 0, replay.stderr
    assert f"replayed Movie:{FAILING} (graphql_error)" in replay.stdout
    assert "1 dead letter(s) replayed" in replay.stdout
    eventually(lambda: title_of(index, FAILING) == f"Replayed {label} {FAILING}", timeout=15)

    again = graphdex(daemon_stack, "dlq", "replay", str(index.definition_path))
    assert "0 dead letter(s) replayed" in again.stdout
    relisted = graphdex(daemon_stack, "dlq", "list", str(index.definition_path), "--json", "--id", FAILING)
    assert json.loads(relisted.stdout.splitlines()[0])["replayed"] is True


def test_dead_letters_carry_the_request_they_failed(faulty_index: RunningIndex, faults: str):
    """A dead letter of the fetch stage keeps the reindex request, its cause and the original message."""
    index = faulty_index
    failing = movie_id(35)
    httpx.post(faults, json={"movieIds": [failing]}, timeout=10).raise_for_status()
    rename(index, failing, "Cause Kept")
    [letter] = eventually(lambda: [s for s in index.dead_letters() if s.request and s.request.id == failing], 20)
    assert letter.request is not None
    assert letter.request.cause is not None
    assert (letter.request.cause.type, letter.request.cause.id) == ("Movie", failing)
    assert letter.request.cause.topic == "demo.movies.movies"
    assert letter.key() == failing.encode()
    assert letter.topic == index.topics.retry


def test_every_letter_of_a_burst_is_listed_and_replayed(
    faulty_index: RunningIndex, daemon_stack: LocalStack, faults: str
):
    """Movies failing together are dead-lettered in one produce batch; ``dlq list`` and ``dlq replay`` see
    every one of them, not just the first of each batch."""
    index, label = faulty_index, uuid.uuid4().hex[:6]
    failing = [movie_id(number) for number in range(51, 57)]
    httpx.post(faults, json={"movieIds": failing}, timeout=10).raise_for_status()
    for movie in failing:
        rename(index, movie, f"Burst {label} {movie}")

    def letters() -> set[str]:
        return {s.request.id for s in index.dead_letters() if s.request and s.request.id in failing}

    eventually(lambda: letters() == set(failing), timeout=20)
    listed = graphdex(daemon_stack, "dlq", "list", str(index.definition_path), "--json")
    shown = {json.loads(line)["root_id"] for line in listed.stdout.splitlines()}
    assert set(failing) <= shown

    httpx.delete(faults, timeout=10).raise_for_status()
    replay = graphdex(daemon_stack, "dlq", "replay", str(index.definition_path))
    assert replay.returncode == 0, replay.stderr
    for movie in failing:
        assert f"replayed Movie:{movie} (graphql_error)" in replay.stdout
        eventually(lambda movie=movie: title_of(index, movie) == f"Burst {label} {movie}", timeout=15)
