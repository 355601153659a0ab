"""The grouped writer: concurrent batches' writes in one bulk request, each batch its own outcomes."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from indexer.backfill.grouped_writer import GroupedWriter
from indexer.sink.bulk_sink import DocumentWrite, WriteOutcome


class RecordingSink:
    """Stands for BulkSink: records each bulk call and indexes everything (or raises)."""

    def __init__(self, error: Exception | None = None) -> None:
        self.calls: list[list[str]] = []
        self.error = error
        self._lock = threading.Lock()

    def write(self, writes):
        with self._lock:
            self.calls.append([write.id for write in writes])
        if self.error is not None:
            raise self.error
        return [WriteOutcome(write, "indexed") for write in writes]


def writes(prefix: str, count: int) -> list[DocumentWrite]:
    return [DocumentWrite(f"{prefix}{n}", 1, {"n": n}) for n in range(count)]


def test_batches_waiting_together_share_one_bulk_request():
    """Four batches of five, all in flight at once: one bulk request of twenty, outcomes split back."""
    sink = RecordingSink()
    writer = GroupedWriter(sink, max_actions=500, max_wait=10.0, max_waiting=4)
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(writer.write, [writes(prefix, 5) for prefix in "abcd"]))
    writer.close()
    assert len(sink.calls) == 1
    assert sorted(sink.calls[0]) == sorted(f"{prefix}{n}" for prefix in "abcd" for n in range(5))
    for prefix, outcomes in zip("abcd", results, strict=True):
        assert [outcome.write.id for outcome in outcomes] == [f"{prefix}{n}" for n in range(5)]
        assert {outcome.status for outcome in outcomes} == {"indexed"}


def test_a_full_bulk_goes_at_once():
    """Enough waiting writes for one bulk request are sent without waiting for the others."""
    sink = RecordingSink()
    writer = GroupedWriter(sink, max_actions=10, max_wait=30.0, max_waiting=8)
    outcomes = writer.write(writes("a", 12))
    writer.close()
    assert len(outcomes) == 12
    assert sink.calls == [[f"a{n}" for n in range(12)]]


def test_a_lone_batch_goes_after_the_wait():
    """One small batch of several possible is written once it has waited max_wait."""
    sink = RecordingSink()
    writer = GroupedWriter(sink, max_actions=500, max_wait=0.05, max_waiting=8)
    assert [outcome.status for outcome in writer.write(writes("a", 2))] == ["indexed", "indexed"]
    writer.close()
    assert sink.calls == [["a0", "a1"]]


def test_errors_reach_every_waiting_batch():
    """A bulk request that raises raises in each batch it held; nothing is reported written."""
    sink = RecordingSink(error=ConnectionError("search server gone"))
    writer = GroupedWriter(sink, max_actions=500, max_wait=10.0, max_waiting=2)
    with ThreadPoolExecutor(2) as pool:
        futures = [pool.submit(writer.write, writes(prefix, 3)) for prefix in "ab"]
        for future in futures:
            with pytest.raises(ConnectionError, match="search server gone"):
                future.result()
    writer.close()


def test_close_sends_what_waits_and_refuses_more():
    """Closing writes the waiting batch at once; a write after closing is refused."""
    sink = RecordingSink()
    writer = GroupedWriter(sink, max_actions=500, max_wait=60.0, max_waiting=8)
    with ThreadPoolExecutor(1) as pool:
        future = pool.submit(writer.write, writes("a", 1))
        while not writer._waiting:
            threading.Event().wait(0.005)
        writer.close()
        assert future.result()[0].status == "indexed"
    with pytest.raises(RuntimeError, match="closed"):
        writer.write(writes("b", 1))
    assert writer.write([]) == []
