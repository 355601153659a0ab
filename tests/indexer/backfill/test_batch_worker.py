"""One batch: outcomes sorted into writes, refetches and recorded failures; outages and busy search
servers waited out; a stop leaves the ids in hand not done."""

from __future__ import annotations

import threading

import pytest

from indexer.backfill.batch_worker import BatchWorker
from indexer.backfill.checkpoint import FailureLog
from indexer.fetch.outcomes import Deleted, Failed, FailureReason, Fetched
from indexer.sink.bulk_sink import WriteOutcome
from schema_gen.errors import GatewayUnavailable


class ScriptedFetcher:
    """Answers each fetch with the next scripted step: a function of the ids, or an exception."""

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


class ScriptedSink:
    """Writes with scripted statuses per id (default: indexed, deleted for deletes); keeps every write."""

    def __init__(self, statuses=None) -> None:
        self.statuses = statuses or {}
        self.calls: list[list[str]] = []
        self.written: list = []

    def __call__(self, writes):
        self.calls.append([write.id for write in writes])
        self.written += writes
        outcomes = []
        for write in writes:
            queue = self.statuses.get(write.id)
            status = queue.pop(0) if queue else ("deleted" if write.source is None else "indexed")
            outcomes.append(WriteOutcome(write, status, "mapper_parsing_exception" if status == "failed" else None))
        return outcomes


@pytest.fixture
def failures(tmp_path):
    """A failures file in a temporary folder."""
    log = FailureLog(tmp_path / "failed.txt")
    yield log
    log.close()


def worker(fetcher, sink, failures, *, attempts=3, keep_going=True, outages=None):
    pauses: list[float] = []

    def pause(seconds: float) -> bool:
        pauses.append(seconds)
        return keep_going

    built = BatchWorker(
        fetcher=fetcher,
        write=sink,
        failures=failures,
        document_attempts=attempts,
        stopping=lambda: not keep_going,
        pause=pause,
        on_outage=(outages.append if outages is not None else lambda _: None),
    )
    return built, pauses


def test_fetched_and_deleted_roots_are_written_at_their_versions(failures):
    """A fetched document is indexed and a vanished root deleted, both at the fetch's version."""
    fetcher = ScriptedFetcher(lambda i: Deleted(i, 11) if i == "gone" else fetched(i))
    sink = ScriptedSink()
    batch, _ = worker(fetcher, sink, failures)
    result = batch.process(["m1", "gone"])
    assert sorted(result.done) == ["gone", "m1"]
    assert result.counts == {"indexed": 1, "deleted": 1}
    assert [(write.id, write.version, write.source is None) for write in sink.written] == [
        ("m1", 10, False),
        ("gone", 11, True),
    ]


def test_a_passing_error_is_fetched_again_then_recorded(failures):
    """m2 fails every time: fetched again up to three times in all, then recorded as failed (and done)."""
    fetcher = ScriptedFetcher(flaky, flaky, flaky)
    batch, pauses = worker(fetcher, ScriptedSink(), failures)
    result = batch.process(["m1", "m2"])
    assert fetcher.calls == [["m1", "m2"], ["m2"], ["m2"]]
    assert sorted(result.done) == ["m1", "m2"]
    assert result.counts == {"indexed": 1, "failed": 1}
    assert len(pauses) == 2
    assert failures.path.read_text(encoding="utf-8") == "# graphql_error: talent timed out\nm2\n"


def test_a_lasting_error_is_recorded_at_once(failures):
    """A failure that cannot pass (a mapping error) is not fetched again."""
    fetcher = ScriptedFetcher(lambda i: Failed(i, FailureReason.MAPPING_ERROR, "rating: not a number", False))
    batch, _ = worker(fetcher, ScriptedSink(), failures)
    result = batch.process(["m1"])
    assert fetcher.calls == [["m1"]]
    assert result.done == ["m1"]
    assert result.counts == {"failed": 1}


def test_an_outage_is_waited_out(failures):
    """GatewayUnavailable pauses for its retry_after and fetches the same ids again."""
    outages: list[str] = []
    fetcher = ScriptedFetcher(GatewayUnavailable("gateway down", retry_after=3.0), fetched)
    batch, pauses = worker(fetcher, ScriptedSink(), failures, outages=outages)
    result = batch.process(["m1", "m2"])
    assert pauses == [3.0]
    assert outages == ["gateway down"]
    assert result.counts == {"indexed": 2}


def test_stopping_during_an_outage_leaves_the_batch_not_done(failures):
    """If the backfill stops while the gateway is down, no id of the batch is done."""
    stop = threading.Event()

    def pause(_: float) -> bool:
        stop.set()  # Ctrl-C arrives while waiting for the gateway
        return False

    fetcher = ScriptedFetcher(GatewayUnavailable("gateway down", retry_after=3.0))
    batch = BatchWorker(
        fetcher=fetcher, write=ScriptedSink(), failures=failures, document_attempts=3, stopping=stop.is_set, pause=pause
    )
    result = batch.process(["m1", "m2"])
    assert fetcher.calls == [["m1", "m2"]]
    assert result.done == []
    assert result.counts == {}


def test_a_batch_not_started_before_the_stop_is_not_fetched(failures):
    """A batch whose turn comes after the backfill began stopping is left for the resume."""
    fetcher = ScriptedFetcher(fetched)
    batch, _ = worker(fetcher, ScriptedSink(), failures, keep_going=False)
    assert batch.process(["m1"]).done == []
    assert fetcher.calls == []


def test_busy_search_server_writes_are_repeated_and_refusals_recorded(failures):
    """A write answered ``retry`` is written again after a pause; one refused (failed) is recorded."""
    sink = ScriptedSink({"m1": ["retry", "indexed"], "m3": ["failed"], "m2": ["noop"]})
    batch, pauses = worker(ScriptedFetcher(fetched), sink, failures)
    result = batch.process(["m1", "m2", "m3"])
    assert sink.calls == [["m1", "m2", "m3"], ["m1"]]
    assert pauses == [1.0]
    assert sorted(result.done) == ["m1", "m2", "m3"]
    assert result.counts == {"indexed": 1, "noop": 1, "failed": 1}
    assert "refused by the index: mapper_parsing_exception" in failures.path.read_text(encoding="utf-8")


def test_stopping_while_the_search_server_is_busy_leaves_those_writes_not_done(failures):
    """Writes still refused when the backfill stops are not done; the others are."""
    sink = ScriptedSink({"m1": ["retry"]})
    batch = BatchWorker(
        fetcher=ScriptedFetcher(fetched),
        write=sink,
        failures=failures,
        document_attempts=3,
        stopping=lambda: False,
        pause=lambda _: False,
    )
    result = batch.process(["m1", "m2"])
    assert result.done == ["m2"]
