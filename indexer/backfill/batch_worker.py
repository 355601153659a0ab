"""One batch of a backfill: fetch the documents of some root ids, write them, say which ids are done.

Fetched with the daemon's ``DocumentFetcher`` (the same batching and rendering) and written with its
``BulkSink`` through a ``GroupedWriter``, with external versioning: the version is the fetch's start
time, so a backfill write older than a live update is a noop and a live update is never overwritten.
Every id ends in exactly one way: written (indexed, deleted or noop), recorded as failed in the
failures file, or *not done* when the backfill stops while the batch waits (for the gateway or the
search server); only done ids are checkpointed, so a not-done id is fetched again on resume.

* A gateway outage (``GatewayUnavailable``: retries exhausted or the breaker open) is waited out.
* A document's GraphQL error that may pass is fetched again, up to ``document_attempts`` in all.
* A write the search server cannot take now (429, 5xx, unreachable) is written again after a pause.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import structlog

from indexer.backfill.checkpoint import FailureLog
from indexer.fetch.fetcher import DocumentFetcher
from indexer.fetch.outcomes import Deleted, Failed, Fetched, FetchOutcome
from indexer.sink.bulk_sink import DocumentWrite, WriteOutcome
from schema_gen.errors import GatewayUnavailable

log = structlog.get_logger("graphdex.backfill")

WRITE_RETRY_FIRST = 1.0
WRITE_RETRY_MAX = 30.0
REFETCH_DELAY = 1.0


@dataclass
class BatchResult:
    """What one batch came to: the ids done and the write statuses (``failed`` included)."""

    done: list[str] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)


class BatchWorker:
    """Processes batches; thread-safe (one per backfill, called from its worker threads)."""

    def __init__(
        self,
        *,
        fetcher: DocumentFetcher,
        write: Callable[[Sequence[DocumentWrite]], list[WriteOutcome]],
        failures: FailureLog,
        document_attempts: int,
        stopping: Callable[[], bool],
        pause: Callable[[float], bool],
        on_outage: Callable[[str], None] = lambda detail: None,
    ) -> None:
        self._fetcher, self._send, self._failures = fetcher, write, failures
        self._attempts = document_attempts
        self._stopping = stopping
        self._pause = pause
        """Waits up to the given seconds; False when the backfill is stopping."""
        self._on_outage = on_outage

    def process(self, ids: Sequence[str]) -> BatchResult:
        result = BatchResult()
        if self._stopping():
            return result  # not started: its ids stay not done
        failures: list[tuple[str, str]] = []
        pending = list(ids)
        attempt = 1
        while pending:
            outcomes = self._fetch(pending)
            if outcomes is None:
                break
            writes, again = self._sort(outcomes, attempt, failures, result)
            for outcome in self._write(writes):
                result.counts[outcome.status] += 1
                if outcome.status == "failed":
                    failures.append((outcome.write.id, f"refused by the index: {outcome.reason}: {outcome.detail}"))
                else:
                    result.done.append(outcome.write.id)
            pending, attempt = again, attempt + 1
            if pending and not self._pause(REFETCH_DELAY * attempt):
                break
        if failures:
            self._failures.record(failures)
            result.done += [document_id for document_id, _ in failures]
        return result

    def _fetch(self, ids: Sequence[str]) -> list[FetchOutcome] | None:
        """The outcomes, waiting out gateway outages; None when the backfill stops meanwhile."""
        while True:
            try:
                return self._fetcher.fetch(ids)
            except GatewayUnavailable as outage:
                self._on_outage(str(outage))
                log.warning("gateway unavailable, backfill waits", error=str(outage), retry_after=outage.retry_after)
                if not self._pause(outage.retry_after or 2.0):
                    return None

    def _sort(
        self, outcomes: Sequence[FetchOutcome], attempt: int, failures: list[tuple[str, str]], result: BatchResult
    ) -> tuple[list[DocumentWrite], list[str]]:
        """Writes for the fetched and deleted roots, and the ids to fetch again; failures are recorded."""
        writes: list[DocumentWrite] = []
        again: list[str] = []
        for outcome in outcomes:
            if isinstance(outcome, Fetched):
                writes.append(DocumentWrite(outcome.id, outcome.version, outcome.document))
            elif isinstance(outcome, Deleted):
                writes.append(DocumentWrite(outcome.id, outcome.version, None))
            elif isinstance(outcome, Failed):
                if outcome.retryable and attempt < self._attempts:
                    again.append(outcome.id)
                else:
                    failures.append((outcome.id, f"{outcome.reason}: {outcome.detail}"))
                    result.counts["failed"] += 1
        return writes, again

    def _write(self, writes: list[DocumentWrite]) -> list[WriteOutcome]:
        """Final outcomes (never ``retry``); writes still refused when the backfill stops are left out."""
        final: list[WriteOutcome] = []
        delay = WRITE_RETRY_FIRST
        while writes:
            outcomes = self._send(writes)
            final += [outcome for outcome in outcomes if outcome.status != "retry"]
            writes = [outcome.write for outcome in outcomes if outcome.status == "retry"]
            if writes:
                detail = next(outcome.detail for outcome in outcomes if outcome.status == "retry")
                log.warning("search server busy, writing again", documents=len(writes), detail=detail, wait_s=delay)
                if not self._pause(delay):
                    break
                delay = min(delay * 2, WRITE_RETRY_MAX)
        return final
