"""Fetching one batch: outcomes sorted into writes, refetches and failures; outages waited out; a stop
leaves the ids in hand not done."""

from __future__ import annotations

import threading

from indexer.backfill.batch_worker import BatchWorker
from indexer.fetch.outcomes import Deleted, Failed, FailureReason, Fetched
from schema_gen.errors import GatewayUnavailable


class ScriptedFetcher:
    """Answers each fetch with the next scripted step: a function of the id, or an exception."""

    def __init__(self, *steps) -> None:
        self.steps = list(steps)
        self.calls: list[list[str]] = []

    def fetch(self, ids):
        self.calls.append(list(ids))
        step = self.steps.pop(0)
        if isinstance(step, Exception):
            raise step
        return [step(document_id) for document_id in ids]


def fetched(document_id: str) -> Fetched:
    return Fetched(document_id, {"movieId": document_id}, 10)


def flaky(document_id: str):
    """m2 fails with an error that may pass; everything else is fetched."""
    if document_id == "m2":
        return Failed(document_id, FailureReason.GRAPHQL_ERROR, "talent timed out", retryable=True)
    return fetched(document_id)


def worker(fetcher, *, keep_going=True, outages=None):
    """A worker whose pauses are recorded and return ``keep_going`` at once."""
    pauses: list[float] = []

    def pause(seconds: float) -> bool:
        pauses.append(seconds)
        return keep_going

    built = BatchWorker(
        fetcher=fetcher,
        document_attempts=3,
        stopping=lambda: not keep_going,
        pause=pause,
        on_outage=(outages.append if outages is not None else lambda _: None),
    )
    return built, pauses


def test_fetched_and_deleted_roots_become_writes_at_their_versions():
    """A fetched document is an index write and a vanished root a delete, both at the fetch's version."""
    batch, _ = worker(ScriptedFetcher(lambda i: Deleted(i, 11) if i == "gone" else fetched(i)))
    result = batch.fetch(["m1", "gone"])
    assert [(write.id, write.version, write.source) for write in result.writes] == [
        ("m1", 10, {"movieId": "m1"}),
        ("gone", 11, None),
    ]
    assert (result.failures, result.not_done) == ([], [])


def test_a_passing_error_is_fetched_again_then_a_failure():
    """m2 fails every time: fetched again up to three times in all, then a failure with its reason."""
    fetcher = ScriptedFetcher(flaky, flaky, flaky)
    batch, pauses = worker(fetcher)
    result = batch.fetch(["m1", "m2"])
    assert fetcher.calls == [["m1", "m2"], ["m2"], ["m2"]]
    assert [write.id for write in result.writes] == ["m1"]
    assert result.failures == [("m2", "graphql_error: talent timed out")]
    assert pauses == [2.0, 3.0]


def test_a_lasting_error_is_a_failure_at_once():
    """A failure that cannot pass (a mapping error) is not fetched again."""
    fetcher = ScriptedFetcher(lambda i: Failed(i, FailureReason.MAPPING_ERROR, "rating: not a number", False))
    batch, _ = worker(fetcher)
    result = batch.fetch(["m1"])
    assert fetcher.calls == [["m1"]]
    assert result.failures == [("m1", "mapping_error: rating: not a number")]


def test_an_outage_is_waited_out():
    """GatewayUnavailable pauses for its retry_after and fetches the same ids again."""
    outages: list[str] = []
    fetcher = ScriptedFetcher(GatewayUnavailable("gateway down", retry_after=3.0), fetched)
    batch, pauses = worker(fetcher, outages=outages)
    result = batch.fetch(["m1", "m2"])
    assert pauses == [3.0]
    assert outages == ["gateway down"]
    assert [write.id for write in result.writes] == ["m1", "m2"]


def test_stopping_during_an_outage_leaves_the_batch_not_done():
    """If the backfill stops while the gateway is down, the whole batch is not done."""
    stop = threading.Event()

    def pause(_: float) -> bool:
        stop.set()  # Ctrl-C arrives while waiting for the gateway
        return False

    fetcher = ScriptedFetcher(GatewayUnavailable("gateway down", retry_after=3.0))
    batch = BatchWorker(fetcher=fetcher, document_attempts=3, stopping=stop.is_set, pause=pause)
    result = batch.fetch(["m1", "m2"])
    assert fetcher.calls == [["m1", "m2"]]
    assert (result.writes, result.failures, result.not_done) == ([], [], ["m1", "m2"])


def test_stopping_before_a_refetch_leaves_those_ids_not_done():
    """Ids waiting to be fetched again when the backfill stops are not done; the others are written."""
    fetcher = ScriptedFetcher(flaky)
    batch = BatchWorker(fetcher=fetcher, document_attempts=3, stopping=lambda: False, pause=lambda _: False)
    result = batch.fetch(["m1", "m2"])
    assert [write.id for write in result.writes] == ["m1"]
    assert result.not_done == ["m2"]


def test_a_batch_not_started_before_the_stop_is_not_fetched():
    """A batch whose turn comes after the backfill began stopping is left for the resume."""
    fetcher = ScriptedFetcher(fetched)
    batch, _ = worker(fetcher, keep_going=False)
    assert batch.fetch(["m1"]).not_done == ["m1"]
    assert fetcher.calls == []
