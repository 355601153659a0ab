"""``GroupedWriter``: the writes of several batches in one bulk request (group commit).

A backfill batch is as large as one gateway request (``fetch.batch_size``, 50 by default), which makes
small bulk requests; search servers index much faster in bulks of hundreds of documents. Each batch
worker hands its writes to ``write`` and blocks; one writer thread sends everything waiting as one
``BulkSink.write`` call when ``sink.max_actions`` writes are waiting, when the oldest has waited
``sink.max_wait``, when every batch in flight is waiting (nothing more can come), or when the
backfill stops, and hands each worker its own outcomes.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from indexer.sink.bulk_sink import BulkSink, DocumentWrite, WriteOutcome


@dataclass
class _Waiting:
    writes: Sequence[DocumentWrite]
    since: float
    done: threading.Event = field(default_factory=threading.Event)
    outcomes: list[WriteOutcome] = field(default_factory=list)
    error: BaseException | None = None


class GroupedWriter:
    """Combines concurrent ``write`` calls into bulk requests; one writer thread, started on first use."""

    def __init__(self, sink: BulkSink, *, max_actions: int, max_wait: float, max_waiting: int) -> None:
        self._sink = sink
        self._max_actions, self._max_wait, self._max_waiting = max_actions, max_wait, max_waiting
        self._condition = threading.Condition()
        self._waiting: list[_Waiting] = []
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="backfill-writer", daemon=True)
        self._thread.start()
        self.bulk_requests = 0

    def write(self, writes: Sequence[DocumentWrite]) -> list[WriteOutcome]:
        """The outcomes of ``writes``, in order, once the bulk request holding them has been answered."""
        if not writes:
            return []
        entry = _Waiting(writes, time.monotonic())
        with self._condition:
            if self._closed:
                raise RuntimeError("the backfill's writer is closed")
            self._waiting.append(entry)
            self._condition.notify_all()
        entry.done.wait()
        if entry.error is not None:
            raise entry.error
        return entry.outcomes

    def close(self) -> None:
        """Write what is waiting, then stop the writer thread."""
        with self._condition:
            self._closed = True
            self._condition.notify_all()
        self._thread.join()

    def _due(self) -> bool:
        if not self._waiting:
            return False
        if self._closed or len(self._waiting) >= self._max_waiting:
            return True
        if sum(len(entry.writes) for entry in self._waiting) >= self._max_actions:
            return True
        return time.monotonic() - self._waiting[0].since >= self._max_wait

    def _run(self) -> None:
        while True:
            with self._condition:
                while not self._due():
                    if self._closed and not self._waiting:
                        return
                    timeout = self._max_wait - (time.monotonic() - self._waiting[0].since) if self._waiting else None
                    self._condition.wait(timeout)
                taken, self._waiting = self._waiting, []
            self._send(taken)

    def _send(self, taken: list[_Waiting]) -> None:
        writes = [write for entry in taken for write in entry.writes]
        try:
            outcomes = self._sink.write(writes)
            self.bulk_requests += 1
        except BaseException as error:
            for entry in taken:
                entry.error = error
                entry.done.set()
            return
        start = 0
        for entry in taken:
            entry.outcomes = outcomes[start : start + len(entry.writes)]
            start += len(entry.writes)
            entry.done.set()
