"""One batch of a backfill, fetched: the writes for its root ids, and the ids that failed and why.

Fetched with the daemon's ``DocumentFetcher`` (the same batching and rendering). A fetched root
becomes an index write and a vanished one a delete, both at the version of the fetch (its start
time), so that ``BulkSink``'s external versioning keeps a live update written meanwhile: a backfill
write older than it is a noop. Every id of the batch ends up in exactly one of ``writes``,
``failures`` or ``not_done`` (the backfill stopped while the batch waited for the gateway; such ids
are not checkpointed and are fetched again on resume).

* A gateway outage (``GatewayUnavailable``: retries exhausted or the breaker open) is waited out.
* A document's GraphQL error that may pass is fetched again, up to ``document_attempts`` in all;
  other failures (mapping errors, invalid ids) are final at once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import structlog

from indexer.fetch.fetcher import DocumentFetcher
from indexer.fetch.outcomes import Deleted, Failed, Fetched, FetchOutcome
from indexer.sink.bulk_sink import DocumentWrite
from schema_gen.errors import GatewayUnavailable

log = structlog.get_logger("graphdex.backfill")

REFETCH_DELAY = 1.0


@dataclass
class FetchedBatch:
    """What fetching one batch came to."""

    writes: list[DocumentWrite] = field(default_factory=list)
    failures: list[tuple[str, str]] = field(default_factory=list)
    """``(id, reason)`` of documents that cannot be fetched."""
    not_done: list[str] = field(default_factory=list)


class BatchWorker:
    """Fetches batches; thread-safe (one per backfill, called from its fetch threads)."""

    def __init__(
        self,
        *,
        fetcher: DocumentFetcher,
        document_attempts: int,
        stopping: Callable[[], bool],
        pause: Callable[[float], bool],
        on_outage: Callable[[str], None] = lambda detail: None,
    ) -> None:
        self._fetcher = fetcher
        self._attempts = document_attempts
        self._stopping = stopping
        self._pause = pause
        """Waits up to the given seconds; False when the backfill is stopping."""
        self._on_outage = on_outage

    def fetch(self, ids: Sequence[str]) -> FetchedBatch:
        batch = FetchedBatch()
        if self._stopping():
            batch.not_done = list(ids)  # not started: left for the resume
            return batch
        pending = list(ids)
        attempt = 1
        while pending:
            outcomes = self._fetch(pending)
            if outcomes is None:
                batch.not_done = pending
                break
            pending = self._sort(outcomes, attempt, batch)
            attempt += 1
            if pending and not self._pause(REFETCH_DELAY * attempt):
                batch.not_done = pending
                break
        return batch

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

    def _sort(self, outcomes: Sequence[FetchOutcome], attempt: int, batch: FetchedBatch) -> list[str]:
        """Writes and failures into ``batch``; returns the ids to fetch again."""
        again: list[str] = []
        for outcome in outcomes:
            if isinstance(outcome, Fetched):
                batch.writes.append(DocumentWrite(outcome.id, outcome.version, outcome.document))
            elif isinstance(outcome, Deleted):
                batch.writes.append(DocumentWrite(outcome.id, outcome.version, None))
            elif isinstance(outcome, Failed):
                if outcome.retryable and attempt < self._attempts:
                    again.append(outcome.id)
                else:
                    batch.failures.append((outcome.id, f"{outcome.reason}: {outcome.detail}"))
        return again
