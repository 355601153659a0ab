"""``rebuild_from_documents``: rebuild an index from the compacted documents topic, without the gateway.

When only the index mapping changed (same query, so the same Avro schema), every document the daemon
ever fetched is still on ``<prefix>.<index>.documents`` (compacted: at least the newest message per
id). A throwaway consumer (its own group id; nothing committed) reads every partition from the
beginning until it has caught up with it (the broker reports the partition's end at or past the high
watermark seen at the start: the end event, not the last message's offset, because compaction may
leave gaps), decodes each document with ``DocumentCodec`` and writes
it with ``BulkSink`` at the version in its headers (a tombstone becomes a delete), so the usual
external versioning holds: live updates written meanwhile always win.

Messages that arrive once a partition is caught up are the daemon's to write (through the
``<index>-write`` alias during a migration). Resumable: the checkpoint's cursor is the next offset of
every partition, saved after each bulk request. A document that cannot be decoded or is refused by
the index is recorded in the failures file (by id); if the first hundred documents all fail to
decode, the topic holds another query's documents and the rebuild stops with an ``ArtifactError``.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass

import structlog
from confluent_kafka import Consumer, KafkaError, KafkaException, Message, TopicPartition

from indexer.backfill.checkpoint import Checkpoint, CheckpointStore, FailureLog
from indexer.backfill.page_ledger import resumable_checkpoint
from indexer.backfill.progress import BackfillProgress, BackfillSummary
from indexer.definition import IndexDefinition
from indexer.kafka.clients import build_schema_registry, consumer_config
from indexer.kafka.consumer_loop import record_of
from indexer.kafka.document_codec import DocumentCodec
from indexer.kafka.topics import TopicLayout
from indexer.messages import read_document_headers
from indexer.search_store import SearchStore, open_search_store
from indexer.sink.bulk_sink import BulkSink, DocumentWrite, WriteOutcome
from schema_gen.artifacts import generate_artifacts
from schema_gen.config import KafkaSettings
from schema_gen.errors import ArtifactError, ConfigError, DocumentError, Problem, ServiceError

log = structlog.get_logger("graphdex.backfill")

UNDECODABLE_LIMIT = 100
WRITE_RETRY_MAX = 30.0


@dataclass
class _Partition:
    number: int
    next_offset: int
    high: int
    """The high watermark at the start."""
    at_end: bool = False
    """The broker said the consumer reached the partition's end."""

    @property
    def finished(self) -> bool:
        return self.at_end and self.next_offset >= self.high


def rebuild_from_documents(
    definition: IndexDefinition,
    *,
    target_index: str,
    checkpoint: CheckpointStore,
    progress: bool = True,
    stop: threading.Event | None = None,
    store: SearchStore | None = None,
    idle_timeout: float = 30.0,
) -> BackfillSummary:
    """Write every document of the documents topic (up to its end at the start) to ``target_index``,
    resuming ``checkpoint`` if it holds an unfinished rebuild.

    ``idle_timeout``: seconds without a message before a partition that has not reached its end is an
    error (``ServiceError``).
    """
    config = definition.config
    topics = TopicLayout.from_config(config)
    source = f"documents topic {topics.documents}"
    began = time.monotonic()
    saved = resumable_checkpoint(checkpoint, config.index, target_index, source)
    resumed_from = saved.ids_done if saved else None
    if saved is None:
        checkpoint.clear()
        saved = Checkpoint(config.index, target_index, source)
    codec = DocumentCodec(
        generate_artifacts(definition.model, config).avro,
        topic=topics.documents,
        registry=build_schema_registry(config.kafka),
        id_field=config.root.id_field,
    )
    client = store if store is not None else open_search_store(config.elasticsearch)
    consumer = _throwaway_consumer(config.kafka, f"{topics.group_id('rebuild')}-{uuid.uuid4().hex[:8]}")
    failures = FailureLog(checkpoint.failures_path)
    rebuild = _Rebuild(
        sink=BulkSink(client, target_index, config.sink),
        codec=codec,
        store=checkpoint,
        failures=failures,
        stop=stop or threading.Event(),
        saved=saved,
    )
    try:
        partitions = _partitions(consumer, topics.documents, json.loads(saved.cursor or "{}"))
        remaining = sum(max(0, part.high - part.next_offset) for part in partitions.values())
        bar = BackfillProgress(
            total=remaining + saved.ids_done,
            initial=saved.ids_done,
            estimated=False,
            enabled=progress,
            target=target_index,
        )
        try:
            rebuild.run(consumer, topics.documents, partitions, config.sink.max_actions, idle_timeout, bar)
        finally:
            bar.close()
        completed = all(part.finished for part in partitions.values())
        rebuild.save(partitions, finished=completed)
        if completed:
            client.refresh(target_index)
    finally:
        consumer.close()
        failures.close()
        if store is None:
            client.close()
    counts = rebuild.counts
    return BackfillSummary(
        target=target_index,
        source=source,
        enumerated=sum(counts.values()),
        indexed=counts["indexed"],
        deleted=counts["deleted"],
        noop=counts["noop"],
        failed=counts["failed"],
        gateway_requests=0,
        seconds=time.monotonic() - began,
        resumed_from=resumed_from,
        completed=completed,
        failures_file=str(checkpoint.failures_path) if counts["failed"] else None,
    )


def _partitions(consumer: Consumer, topic: str, positions: dict[str, int]) -> dict[int, _Partition]:
    try:
        metadata = consumer.list_topics(topic, timeout=10)
    except KafkaException as error:
        raise ServiceError(f"Kafka: cannot read the partitions of {topic}: {error}") from None
    found = metadata.topics.get(topic)
    if found is None or found.error is not None or not found.partitions:
        raise ServiceError(f"there is no documents topic {topic}: the daemon creates and fills it")
    partitions = {}
    for number in sorted(found.partitions):
        low, high = consumer.get_watermark_offsets(TopicPartition(topic, number), timeout=10)
        start = max(low, positions.get(str(number), low))
        partitions[number] = _Partition(number, start, high)
    return partitions


class _Rebuild:
    def __init__(
        self,
        *,
        sink: BulkSink,
        codec: DocumentCodec,
        store: CheckpointStore,
        failures: FailureLog,
        stop: threading.Event,
        saved: Checkpoint,
    ) -> None:
        self._sink, self._codec, self._store, self._failures, self._stop = sink, codec, store, failures, stop
        self._saved = saved
        self.counts: Counter[str] = Counter()
        self._undecodable = 0
        self._decoded = 0

    def run(
        self,
        consumer: Consumer,
        topic: str,
        partitions: dict[int, _Partition],
        chunk: int,
        idle_timeout: float,
        bar: BackfillProgress,
    ) -> None:
        consumer.assign([TopicPartition(topic, part.number, part.next_offset) for part in partitions.values()])
        last_message = time.monotonic()
        while not self._stop.is_set() and not all(part.finished for part in partitions.values()):
            messages = []
            for message in consumer.consume(num_messages=chunk, timeout=1.0):
                if _at_end(message):
                    part = partitions[message.partition() or 0]
                    part.at_end = True
                    part.next_offset = max(part.next_offset, message.offset() or 0)
                elif not partitions[message.partition() or 0].finished:
                    messages.append(message)
            done = [TopicPartition(topic, part.number) for part in partitions.values() if part.finished]
            if done:
                consumer.pause(done)
            if not messages:
                if time.monotonic() - last_message > idle_timeout and not all(p.finished for p in partitions.values()):
                    behind = ", ".join(f"{p.number} at {p.next_offset}" for p in partitions.values() if not p.finished)
                    raise ServiceError(f"{topic}: no messages for {idle_timeout:g}s; partitions behind: {behind}")
                continue
            last_message = time.monotonic()
            handled = self._write(messages)
            if handled is None:
                return
            for message in messages:
                part = partitions[message.partition() or 0]
                part.next_offset = max(part.next_offset, (message.offset() or 0) + 1)
            self.save(partitions)
            bar.advance(handled, 0)

    def _write(self, messages: list[Message]) -> int | None:
        writes: list[DocumentWrite] = []
        failures: list[tuple[str, str]] = []
        for message in messages:
            record = record_of(message)
            document_id = record.key.decode("utf-8", "replace") if record.key else record.position
            try:
                if record.key is None:
                    raise DocumentError(f"document message {record.position} has no key (the document id)")
                version = read_document_headers(record).version
                source = None if record.value is None else self._codec.decode(record.value, record.position)
            except DocumentError as error:
                failures.append((document_id, f"bad_document: {error}"))
                self._undecodable += 1
                continue
            self._decoded += 1
            writes.append(DocumentWrite(document_id, version, source))
        if self._undecodable >= UNDECODABLE_LIMIT and not self._decoded:
            raise ArtifactError(
                f"the documents on the topic do not decode with the current Avro schema (first: {failures[0][1]}); "
                "the query changed since they were written: backfill from the gateway instead"
            )
        outcomes = self._written(writes)
        if outcomes is None:
            return None
        self.counts["failed"] += len(failures)
        for outcome in outcomes:
            self.counts[outcome.status] += 1
            if outcome.status == "failed":
                failures.append((outcome.write.id, f"refused by the index: {outcome.reason}: {outcome.detail}"))
        self._failures.record(failures)
        return len(messages)

    def _written(self, writes: list[DocumentWrite]) -> list[WriteOutcome] | None:
        """Final outcomes; None when the rebuild stops while the search server refuses writes."""
        final: list[WriteOutcome] = []
        delay = 1.0
        while writes:
            outcomes = self._sink.write(writes)
            final += [outcome for outcome in outcomes if outcome.status != "retry"]
            writes = [outcome.write for outcome in outcomes if outcome.status == "retry"]
            if writes:
                log.warning("search server busy, writing again", documents=len(writes), wait_s=delay)
                if self._stop.wait(delay):
                    return None
                delay = min(delay * 2, WRITE_RETRY_MAX)
        return final

    def save(self, partitions: dict[int, _Partition], *, finished: bool = False) -> None:
        base = self._saved.counts
        counts = dict(base)
        for key in ("indexed", "deleted", "noop", "failed"):
            counts[key] = base[key] + self.counts[key]
        counts["enumerated"] = base["enumerated"] + sum(self.counts.values())
        cursor = json.dumps({str(number): part.next_offset for number, part in partitions.items()})
        self._store.save(self._saved.advanced(cursor=cursor, counts=counts, finished=finished))


def _throwaway_consumer(kafka: KafkaSettings, group_id: str) -> Consumer:
    """A consumer of the stage settings that also reports the end of each partition."""
    try:
        return Consumer(consumer_config(kafka, group_id) | {"enable.partition.eof": True})
    except KafkaException as error:
        raise ConfigError("librdkafka rejected the Kafka settings", [Problem("kafka.extra", str(error))]) from None


def _at_end(message: Message) -> bool:
    """True for the end-of-partition event; ``ServiceError`` for any other consumer error."""
    error = message.error()
    if error is None:
        return False
    if error.code() == KafkaError._PARTITION_EOF:
        return True
    raise ServiceError(f"Kafka: cannot read the documents topic: {error.str()}")
