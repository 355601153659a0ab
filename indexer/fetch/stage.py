"""The fetch stage: reindex requests in; Avro documents, tombstones, retries and dead letters out.

Requests for the same root within one batch (the coalescing window: the runner's linger) are fetched
once. A fetched document goes to the documents topic keyed by its id with its version; a root that
no longer exists becomes a tombstone. A document fetched only because the root entity itself changed
is marked ``if-changed``: the sink may skip it when the index holds the same content. One re-fetched
for a related entity's change is always written (the settle lookup reads its fresh ``fetched_at``).
A failure specific to one document goes to the retry topic with a growing not-before time and, after
``fetch.retry_topic_attempts`` passes, to the dead-letter topic. A gateway-wide outage is not a per-
document failure: the stage reports backpressure, the runner pauses the partitions, and the same
requests are fetched when the gateway is back; nothing is dead-lettered.

The same class serves the retry topic (its own consumer group, so retries never hold up live
requests): a request whose not-before time has not come yet pauses that consumer until it has.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import structlog

from indexer.fetch.fetcher import DocumentFetcher
from indexer.fetch.outcomes import Deleted, Failed, Fetched
from indexer.kafka.consumer_loop import Backpressure, ProcessResult
from indexer.kafka.document_codec import DocumentCodec
from indexer.kafka.topics import TopicLayout
from indexer.messages import DeadLetter, OutgoingRecord, Record, ReindexRequest, document_headers
from indexer.metrics import PipelineMetrics
from schema_gen.config import FetchSettings
from schema_gen.errors import DocumentError, GatewayUnavailable

log = structlog.get_logger("graphdex.fetch")


@dataclass
class _Pending:
    """The requests of one batch for one root id, merged."""

    request: ReindexRequest
    record: Record
    event_ts_ms: int
    if_changed: bool
    """Every merged request comes from a change event of the root entity itself."""


class FetchStage:
    """Fetches and encodes the documents of one index."""

    def __init__(
        self,
        *,
        index: str,
        fetcher: DocumentFetcher,
        codec: DocumentCodec,
        topics: TopicLayout,
        settings: FetchSettings,
        metrics: PipelineMetrics,
        clock_ms: Callable[[], int],
    ) -> None:
        self._index = index
        self._fetcher = fetcher
        self._codec = codec
        self._topics = topics
        self._settings = settings
        self._metrics = metrics
        self._clock_ms = clock_ms

    def close(self) -> None:
        """Release the fetcher's threads and gateway connections (after the stage's runner has stopped)."""
        self._fetcher.close()

    def process(self, records: Sequence[Record]) -> ProcessResult:
        now = self._clock_ms()
        parsed = [(record, _parse(record)) for record in records]
        due = next(
            (
                n
                for n, (_, request) in enumerate(parsed)
                if isinstance(request, ReindexRequest) and request.not_before_ms > now
            ),
            len(parsed),
        )
        outgoing, pending = self._collect(parsed[:due], now)
        if pending:
            try:
                outcomes = self._fetcher.fetch(list(pending))
            except GatewayUnavailable as exc:
                log.warning("gateway unavailable, pausing", error=str(exc), retry_after=exc.retry_after)
                pause = exc.retry_after or self._settings.breaker_cooldown
                return ProcessResult(backpressure=Backpressure(pause, 0, str(exc)))
            for outcome in outcomes:
                outgoing += self._emit(outcome, pending[outcome.id], now)
        if due < len(parsed):
            waiting = parsed[due][1]
            assert isinstance(waiting, ReindexRequest)
            return ProcessResult(outgoing, Backpressure((waiting.not_before_ms - now) / 1000, due, "retry not due yet"))
        return ProcessResult(outgoing)

    def _collect(
        self, parsed: Sequence[tuple[Record, ReindexRequest | DocumentError]], now: int
    ) -> tuple[list[OutgoingRecord], dict[str, _Pending]]:
        outgoing: list[OutgoingRecord] = []
        pending: dict[str, _Pending] = {}
        for record, request in parsed:
            if isinstance(request, DocumentError):
                log.warning("unreadable reindex request, dead-lettered", position=record.position, error=str(request))
                outgoing.append(self._dead_letter(record, None, "bad_request", str(request), now))
                continue
            merged = pending.get(request.id)
            if merged is None:
                pending[request.id] = _Pending(request, record, request.event_ts_ms, _root_changed(request))
                continue
            self._metrics.coalesced.labels(self._index, "fetch").inc()
            merged.event_ts_ms = min(merged.event_ts_ms, request.event_ts_ms)
            merged.if_changed = merged.if_changed and _root_changed(request)
            if request.attempt > merged.request.attempt:
                merged.request, merged.record = request, record
        return outgoing, pending

    def _emit(self, outcome: Fetched | Deleted | Failed, pending: _Pending, now: int) -> list[OutgoingRecord]:
        key = outcome.id.encode()
        if isinstance(outcome, Fetched):
            try:
                value = self._codec.encode(outcome.document)
            except DocumentError as exc:
                log.warning(
                    "document does not fit the Avro schema, dead-lettered",
                    entity=pending.request.identity,
                    error=str(exc),
                )
                return [self._dead_letter(pending.record, pending.request, "bad_document", str(exc), now)]
            return [
                OutgoingRecord(
                    self._topics.documents,
                    key,
                    value,
                    document_headers(outcome.version, pending.event_ts_ms, if_changed=pending.if_changed),
                )
            ]
        if isinstance(outcome, Deleted):
            return [
                OutgoingRecord(
                    self._topics.documents, key, None, document_headers(outcome.version, pending.event_ts_ms)
                )
            ]
        request = pending.request
        if outcome.retryable and request.attempt < self._settings.retry_topic_attempts:
            delay_ms = int(self._settings.retry_delay * 1000 * 2**request.attempt)
            retry = request.retry(f"{outcome.reason}: {outcome.detail}", now + delay_ms)
            self._metrics.retries.labels(self._index, "fetch").inc()
            log.info(
                "fetch failed, retrying later", entity=request.identity, attempt=retry.attempt, detail=outcome.detail
            )
            return [OutgoingRecord(self._topics.retry, key, retry.to_bytes())]
        log.warning(
            "fetch failed, dead-lettered",
            entity=request.identity,
            reason=str(outcome.reason),
            attempt=request.attempt,
            detail=outcome.detail,
        )
        return [self._dead_letter(pending.record, request, str(outcome.reason), outcome.detail, now)]

    def _dead_letter(
        self, record: Record, request: ReindexRequest | None, reason: str, detail: str, now: int
    ) -> OutgoingRecord:
        self._metrics.dead_letters.labels(self._index, "fetch", reason).inc()
        letter = DeadLetter.for_record(
            record, stage="fetch", reason=reason, detail=detail, failed_at_ms=now, request=request
        )
        return OutgoingRecord(self._topics.dlq, record.key, letter.to_bytes())


def _root_changed(request: ReindexRequest) -> bool:
    """The request comes from a change event of the root entity (not a fan-out, backfill or replay)."""
    return request.cause is not None and request.cause.type == request.type


def _parse(record: Record) -> ReindexRequest | DocumentError:
    try:
        return ReindexRequest.from_bytes(record.value, record.position)
    except DocumentError as exc:
        return exc
