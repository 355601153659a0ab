"""``GroupedWriter``: the writes of many batches in few bulk requests, on a thread of their own.

A backfill batch is as large as one gateway request (``fetch.batch_size``, 50 by default), which
would make small bulk requests, and search servers index much faster in bulks of hundreds of
documents; nor should a search server that pauses for a second hold up the gateway requests. So
``submit`` only queues a batch's writes and returns a future; one writer thread sends everything
queued as one ``BulkSink.write`` call when ``sink.max_actions`` writes are waiting, when the oldest
has waited ``sink.max_wait``, or when the writer closes. Writes the search server cannot take now
(``retry``: 429, 5xx, unreachable) are sent again after a growing pause, until they are taken or the
backfill stops (then they stay ``retry``: not done). Each future gets its batch's final outcomes.
``waiting`` (documents queued or being written) lets the caller bound what it keeps in memory.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field

import structlog

from indexer.sink.bulk_sink import BulkSink, DocumentWrite, WriteOutcome

log = structlog.get_logger("graphdex.backfill")

RETRY_FIRST = 1.0
RETRY_MAX = 30.0


@dataclass
class _Queued:
    writes: Sequence[DocumentWrite]
    since: float
    future: Future[list[WriteOutcome]] = field(default_factory=Future)


class GroupedWriter:
    """Combines the writes of concurrent batches into bulk requests; one writer thread."""

    def __init__(
        self,
        sink: BulkSink,
        *,
        max_actions: int,
        max_wait: float,
        pause: Callable[[float], bool],
    ) -> None:
        self._sink = sink
        self._max_actions, self._max_wait = max_actions, max_wait
        self._pause = pause
        """Waits up to the given seconds before writing again; False when the backfill is stopping."""
        self._condition = threading.Condition()
        self._queue: list[_Queued] = []
        self._waiting = 0
        self._closed = False
        self.bulk_requests = 0
        self._thread = threading.Thread(target=self._run, name="backfill-writer", daemon=True)
        self._thread.start()

    @property
    def waiting(self) -> int:
        """Documents submitted whose outcome is not known yet."""
        with self._condition:
            return self._waiting

    def submit(self, writes: Sequence[DocumentWrite]) -> Future[list[WriteOutcome]]:
        """Queue ``writes``; the future holds their final outcomes, in order (``retry`` only for writes
        the search server still refused when the backfill stopped)."""
        queued = _Queued(writes, time.monotonic())
        if not writes:
            queued.future.set_result([])
            return queued.future
        with self._condition:
            if self._closed:
                raise RuntimeError("the backfill's writer is closed")
            self._queue.append(queued)
            self._waiting += len(writes)
            self._condition.notify_all()
        return queued.future

    def close(self) -> None:
        """Write what is queued, then stop the writer thread."""
        with self._condition:
            self._closed = True
            self._condition.notify_all()
        self._thread.join()

    def _due(self) -> bool:
        if not self._queue:
            return False
        if self._closed or sum(len(queued.writes) for queued in self._queue) >= self._max_actions:
            return True
        return time.monotonic() - self._queue[0].since >= self._max_wait

    def _run(self) -> None:
        while True:
            with self._condition:
                while not self._due():
                    if self._closed:
                        return
                    timeout = self._max_wait - (time.monotonic() - self._queue[0].since) if self._queue else None
                    self._condition.wait(timeout)
                taken, self._queue = self._queue, []
            try:
                outcomes = self._write([write for queued in taken for write in queued.writes])
            except BaseException as error:
                for queued in taken:
                    queued.future.set_exception(error)
            else:
                start = 0
                for queued in taken:
                    queued.future.set_result(outcomes[start : start + len(queued.writes)])
                    start += len(queued.writes)
            with self._condition:
                self._waiting -= sum(len(queued.writes) for queued in taken)

    def _write(self, writes: list[DocumentWrite]) -> list[WriteOutcome]:
        """One outcome per write, in order; ``retry`` writes are sent again while the backfill runs."""
        final: dict[int, WriteOutcome] = {}
        pending = list(enumerate(writes))
        delay = RETRY_FIRST
        while pending:
            outcomes = self._sink.write([write for _, write in pending])
            self.bulk_requests += 1
            retry = []
            for (position, write), outcome in zip(pending, outcomes, strict=True):
                final[position] = outcome
                if outcome.status == "retry":
                    retry.append((position, write))
            pending = retry
            if pending:
                detail = next(final[position].detail for position, _ in pending)
                log.warning("search server busy, writing again", documents=len(pending), detail=detail, wait_s=delay)
                if not self._pause(delay):
                    break
                delay = min(delay * 2, RETRY_MAX)
        return [final[position] for position in range(len(writes))]
