"""A poison movie that makes every request asking for it fail as a whole (request-mode fault injection:
the movies subgraph answers HTTP 500, the gateway reports an error without a document path) is isolated
from its batches and dead-lettered, while changes of other movies keep reaching the index; once the
fault is cleared, ``graphdex dlq replay`` brings it up to date."""

from __future__ import annotations

import itertools
import time
import uuid
from collections.abc import Iterator

import httpx
import pytest

from demo.data.fixtures import movie_id
from demo.stack import LocalStack
from tests.indexer.daemon.conftest import RunningIndex, eventually, start_index
from tests.indexer.daemon.source_of_truth import existing
from tests.indexer.daemon.test_dead_letter_replay import QUICK_RETRIES, graphdex, rename, title_of

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def poisoned_index(daemon_stack: LocalStack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningIndex]:
    """A demo index kept fresh by an in-process daemon whose requests give up after one retry pass."""
    with start_index(daemon_stack, tmp_path_factory.mktemp("poison"), QUICK_RETRIES) as index:
        yield index


def test_a_request_mode_poison_movie_is_dead_lettered_while_other_movies_keep_flowing(
    poisoned_index: RunningIndex, daemon_stack: LocalStack, faults: str
):
    """The poison movie's change goes through the retry topic to the DLQ as request_failed, while other
    movies are renamed one after another and each new title reaches the index; after ``DELETE /faults``
    a replay indexes the poison movie's change."""
    index, label = poisoned_index, uuid.uuid4().hex[:6]
    poison, *others = existing(index.gateway_url, [movie_id(number) for number in range(71, 80)])
    httpx.post(faults, json={"movieIds": [poison], "mode": "request"}, timeout=10).raise_for_status()
    old_title = title_of(index, poison)
    rename(index, poison, f"Poisoned {label} {poison}")

    def letters() -> list:
        return [s for s in index.dead_letters() if s.request and s.request.id == poison]

    expected: dict[str, str] = {}
    deadline, found = time.monotonic() + 40, []
    for round_, movie in zip(itertools.count(), itertools.cycle(others), strict=False):
        expected[movie] = f"Flowing {label} {round_} {movie}"
        rename(index, movie, expected[movie])
        found = letters() if round_ % 5 == 4 else []
        if found or time.monotonic() > deadline:
            break
        time.sleep(0.2)

    [letter] = found or eventually(letters, timeout=10)
    assert (letter.stage, letter.reason) == ("fetch", "request_failed")
    assert letter.request is not None
    assert letter.request.attempt == 1
    assert f"the request failed as a whole only when {poison} was in it" in letter.detail
    assert f"movie {poison} fails the whole request on purpose" in letter.detail
    for movie, title in expected.items():
        eventually(lambda movie=movie, title=title: title_of(index, movie) == title, timeout=15)
    assert title_of(index, poison) == old_title
    isolated = {"index": index.name, "result": "culprits"}
    assert index.metrics.value("graphdex_fetch_isolations_total", isolated) >= 1

    httpx.delete(faults, timeout=10).raise_for_status()
    replay = graphdex(daemon_stack, "dlq", "replay", str(index.definition_path), "--id", poison)
    assert replay.returncode == 0, replay.stderr
    assert f"replayed Movie:{poison} (request_failed)" in replay.stdout
    eventually(lambda: title_of(index, poison) == f"Poisoned {label} {poison}", timeout=15)
