"""The sink stage: document messages in; bulk writes to the index alias; dead letters out.

A document message is an Avro document (index it) or a tombstone (delete it), at the version in its
headers; ``graphdex-write: if-changed`` lets the sink skip a document the index holds unchanged.
Writes the search server cannot take now (429, 5xx, unreachable) are backpressure: the runner keeps
every record from the first such write on, pauses, and delivers them again (writes after it that did
succeed are repeated harmlessly: external versioning makes them noops). A document the index refuses
(a mapping error) is dead-lettered with the reason and the whole message.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import structlog

from indexer.kafka.consumer_loop import Backpressure, ProcessResult
from indexer.kafka.document_codec import DocumentCodec
from indexer.kafka.topics import TopicLayout
from indexer.messages import DeadLetter, OutgoingRecord, Record, read_document_headers
from indexer.metrics import PipelineMetrics
from indexer.sink.bulk_sink import BulkSink, DocumentWrite
from schema_gen.errors import DocumentError

log = structlog.get_logger("graphdex.sink")

RETRY_AFTER_SECONDS = 1.0


class SinkStage:
    """Writes the documents of one index."""

    def __init__(
        self,
        *,
        index: str,
        root_type: str,
        sink: BulkSink,
        codec: DocumentCodec,
        topics: TopicLayout,
        metrics: PipelineMetrics,
        clock_ms: Callable[[], int],
    ) -> None:
        self._index = index
        self._root_type = root_type
        self._sink = sink
        self._codec = codec
        self._topics = topics
        self._metrics = metrics
        self._clock_ms = clock_ms

    def process(self, records: Sequence[Record]) -> ProcessResult:
        now = self._clock_ms()
        letters: list[tuple[int, OutgoingRecord]] = []
        writes: list[tuple[int, DocumentWrite]] = []
        for position, record in enumerate(records):
            try:
                writes.append((position, self._write_for(record)))
            except DocumentError as exc:
                log.warning("unreadable document message, dead-lettered", **self._about(record), error=str(exc))
                letters.append((position, self._dead_letter(record, "bad_document", str(exc), now)))
        outcomes = self._sink.write([write for _, write in writes])
        acknowledged = self._clock_ms()
        first_retry: int | None = None
        for (position, _), outcome in zip(writes, outcomes, strict=True):
            self._metrics.documents.labels(self._index, outcome.status).inc()
            if outcome.status == "retry":
                first_retry = position if first_retry is None else min(first_retry, position)
            elif outcome.status == "failed":
                log.warning(
                    "document refused by the index, dead-lettered",
                    entity=self._identity(outcome.write.id),
                    reason=outcome.reason,
                    detail=outcome.detail,
                )
                reason = outcome.reason or "rejected_by_index"
                letters.append((position, self._dead_letter(records[position], reason, outcome.detail or "", now)))
            elif outcome.write.event_ts_ms is not None and outcome.status in ("indexed", "deleted", "unchanged"):
                # Unchanged: the index was confirmed current now, which is what freshness measures.
                lag_ms = max(0, acknowledged - outcome.write.event_ts_ms)
                self._metrics.freshness.labels(self._index).observe(lag_ms / 1000)
        if first_retry is None:
            return ProcessResult([letter for _, letter in letters])
        # Records from the first retry on are delivered again: only dead letters before it are final.
        reason = next(outcome.detail for outcome in outcomes if outcome.status == "retry") or "index busy"
        done = [letter for position, letter in letters if position < first_retry]
        return ProcessResult(done, Backpressure(RETRY_AFTER_SECONDS, first_retry, reason))

    def _write_for(self, record: Record) -> DocumentWrite:
        if record.key is None:
            raise DocumentError(f"document message {record.position} has no key (the document id)")
        headers = read_document_headers(record)
        source = None if record.value is None else self._codec.decode(record.value, record.position)
        return DocumentWrite(
            record.key.decode(), headers.version, source, headers.event_ts_ms, if_changed=headers.if_changed
        )

    def _identity(self, document_id: str) -> str:
        """``Movie:m1``, as in every other log line about an entity."""
        return f"{self._root_type}:{document_id}"

    def _about(self, record: Record) -> dict[str, str]:
        """What a log line says about a record: its entity when the key names one, always its position."""
        about = {"position": record.position}
        if record.key is not None:
            about["entity"] = self._identity(record.key.decode("utf-8", "replace"))
        return about

    def _dead_letter(self, record: Record, reason: str, detail: str, now: int) -> OutgoingRecord:
        self._metrics.dead_letters.labels(self._index, "sink", reason).inc()
        letter = DeadLetter.for_record(record, stage="sink", reason=reason, detail=detail, failed_at_ms=now)
        return OutgoingRecord(self._topics.dlq, record.key, letter.to_bytes())
