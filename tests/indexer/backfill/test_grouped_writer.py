"""The grouped writer: many batches' writes in one bulk request, each batch its own outcomes; busy
search servers written to again; what is waiting is counted."""

from __future__ import annotations

import threading

import pytest

from indexer.backfill.grouped_writer import GroupedWriter
from indexer.sink.bulk_sink import DocumentWrite, WriteOutcome


class ScriptedSink:
    """Stands for BulkSink: records each bulk call; statuses per id are scripted (default: indexed)."""

    def __init__(self, statuses=None, error: Exception | None = None, gate: threading.Event | None = None) -> None:
        self.calls: list[list[str]] = []
        self.statuses = statuses or {}
        self.error = error
        self.gate = gate

    def write(self, writes):
        if self.gate is not None:
            self.gate.wait()
        self.calls.append([write.id for write in writes])
        if self.error is not None:
            raise self.error
        outcomes = []
        for write in writes:
            queue = self.statuses.get(write.id)
            outcomes.append(WriteOutcome(write, queue.pop(0) if queue else "indexed"))
        return outcomes


def writes(prefix: str, count: int) -> list[DocumentWrite]:
    return [DocumentWrite(f"{prefix}{n}", 1, {"n": n}) for n in range(count)]


def test_batches_queued_together_share_one_bulk_request():
    """Four batches of five queued within max_wait: one bulk request of twenty, outcomes split back."""
    gate = threading.Event()
    sink = ScriptedSink(gate=gate)
    writer = GroupedWriter(sink, max_actions=20, max_wait=60.0, pause=lambda _: True)
    futures = [writer.submit(writes(prefix, 5)) for prefix in "abcd"]
    assert writer.waiting == 20
    gate.set()
    results = [future.result(timeout=10) for future in futures]
    writer.close()
    assert sink.calls == [[f"{prefix}{n}" for prefix in "abcd" for n in range(5)]]
    for prefix, outcomes in zip("abcd", results, strict=True):
        assert [outcome.write.id for outcome in outcomes] == [f"{prefix}{n}" for n in range(5)]
    assert writer.waiting == 0
    assert writer.bulk_requests == 1


def test_a_lone_batch_goes_after_the_wait():
    """One small batch is written once it has waited max_wait."""
    sink = ScriptedSink()
    writer = GroupedWriter(sink, max_actions=500, max_wait=0.05, pause=lambda _: True)
    assert [outcome.status for outcome in writer.submit(writes("a", 2)).result(timeout=10)] == ["indexed"] * 2
    writer.close()
    assert sink.calls == [["a0", "a1"]]


def test_busy_writes_are_sent_again_until_taken():
    """Writes answered ``retry`` are written again after a pause; the others are not repeated."""
    pauses: list[float] = []
    sink = ScriptedSink({"a1": ["retry", "retry", "indexed"], "a2": ["noop"]})
    writer = GroupedWriter(sink, max_actions=3, max_wait=60.0, pause=lambda s: pauses.append(s) or True)
    outcomes = writer.submit(writes("a", 3)).result(timeout=10)
    writer.close()
    assert [outcome.status for outcome in outcomes] == ["indexed", "indexed", "noop"]
    assert sink.calls == [["a0", "a1", "a2"], ["a1"], ["a1"]]
    assert pauses == [1.0, 2.0]


def test_a_stop_leaves_refused_writes_as_retry():
    """When the backfill stops while the search server refuses writes, they come back as ``retry``."""
    sink = ScriptedSink({"a0": ["retry"]})
    writer = GroupedWriter(sink, max_actions=2, max_wait=60.0, pause=lambda _: False)
    outcomes = writer.submit(writes("a", 2)).result(timeout=10)
    writer.close()
    assert [outcome.status for outcome in outcomes] == ["retry", "indexed"]


def test_errors_reach_every_batch_of_the_request():
    """A bulk request that raises fails the future of each batch it held."""
    sink = ScriptedSink(error=ConnectionError("search server gone"))
    writer = GroupedWriter(sink, max_actions=6, max_wait=60.0, pause=lambda _: True)
    futures = [writer.submit(writes(prefix, 3)) for prefix in "ab"]
    for future in futures:
        with pytest.raises(ConnectionError, match="search server gone"):
            future.result(timeout=10)
    writer.close()


def test_close_sends_what_is_queued_and_refuses_more():
    """Closing writes the queued batch at once; a submit after closing is refused; nothing needs no write."""
    sink = ScriptedSink()
    writer = GroupedWriter(sink, max_actions=500, max_wait=60.0, pause=lambda _: True)
    future = writer.submit(writes("a", 1))
    writer.close()
    assert future.result(timeout=10)[0].status == "indexed"
    with pytest.raises(RuntimeError, match="closed"):
        writer.submit(writes("b", 1))
    assert writer.submit([]).result() == []
