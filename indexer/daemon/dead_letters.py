"""Reading and replaying the dead-letter topic of an index.

``list`` reads the topic from the beginning to its end (a throwaway consumer, nothing committed).
``replay`` turns each chosen dead letter back into a reindex request for its root id (attempt 0, due
now) on the requests topic: a document is always fetched fresh, so replay needs no stored payload. A
replay consumer group remembers how far ``replay`` has gone, so replaying twice does not duplicate,
and ``list`` says which letters were replayed. A malformed change event (route stage) names no root
id: it cannot be replayed, only shown, since the same bytes would fail again.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace

from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

from indexer.kafka.clients import build_consumer, producer_config
from indexer.kafka.producer import TrackedProducer
from indexer.kafka.topics import TopicLayout
from indexer.messages import DeadLetter, OutgoingRecord, ReindexRequest
from schema_gen.config import IndexConfig
from schema_gen.errors import DocumentError, ServiceError

REPLAY_GROUP = "dlq-replay"


@dataclass(frozen=True)
class StoredLetter:
    partition: int
    offset: int
    letter: DeadLetter | None
    """None when the stored message is not a readable dead letter (shown, never replayed)."""
    error: str | None
    replayed: bool

    @property
    def root_id(self) -> str | None:
        """The root the letter is about: its request's id, or the key of a fetch/sink message."""
        if self.letter is None:
            return None
        if self.letter.request is not None:
            return self.letter.request.id
        if self.letter.stage == "sink":
            key = self.letter.key()
            return key.decode("utf-8", "replace") if key else None
        return None


@dataclass(frozen=True)
class LetterFilter:
    reason: str | None = None
    root_id: str | None = None

    def matches(self, stored: StoredLetter) -> bool:
        if stored.letter is None:
            return False
        if self.reason and stored.letter.reason != self.reason:
            return False
        return not (self.root_id and stored.root_id != self.root_id)


class DeadLetterTopic:
    """The dead letters of one index."""

    def __init__(self, config: IndexConfig, clock_ms: Callable[[], int] = lambda: time.time_ns() // 1_000_000) -> None:
        self._config = config
        self._topics = TopicLayout.from_config(config)
        self._clock_ms = clock_ms

    def letters(self, timeout: float = 10.0) -> Iterator[StoredLetter]:
        """Every stored dead letter, oldest first per partition."""
        consumer = build_consumer(self._config.kafka, f"graphdex-dlq-reader-{uuid.uuid4().hex[:8]}")
        try:
            replayed = self._replayed_up_to()
            for partition, low, high in self._partitions(consumer, timeout):
                if high <= low:
                    continue
                consumer.assign([TopicPartition(self._topics.dlq, partition, OFFSET_BEGINNING)])
                offset, end = low, high
                deadline = time.monotonic() + timeout
                while offset < end:
                    if time.monotonic() >= deadline:
                        raise ServiceError(
                            f"Kafka: read {self._topics.dlq}[{partition}] up to offset {offset} of {end} "
                            f"within {timeout:g}s; the rest of its dead letters were not read"
                        )
                    message = consumer.poll(0.5)
                    if message is None or message.error():
                        continue
                    offset = message.offset() + 1
                    try:
                        letter, error = DeadLetter.from_bytes(message.value(), f"dlq offset {message.offset()}"), None
                    except DocumentError as exc:
                        letter, error = None, str(exc)
                    stored = StoredLetter(partition, message.offset(), letter, error, replayed=False)
                    # Only a letter naming a root can have been replayed; others are never replayed.
                    yield replace(stored, replayed=stored.offset < replayed.get(partition, 0) and bool(stored.root_id))
        finally:
            consumer.close()

    def replay(self, chosen: LetterFilter, timeout: float = 10.0) -> list[StoredLetter]:
        """Replay the matching, not yet replayed letters as fresh reindex requests; returns them."""
        replayable = [s for s in self.letters(timeout) if not s.replayed and chosen.matches(s) and s.root_id]
        if not replayable:
            return []
        producer = TrackedProducer(producer_config(self._config.kafka))
        try:
            batch = producer.batch()
            root_type = self._config.root.type
            for stored in replayable:
                request = ReindexRequest(id=stored.root_id or "", type=root_type, event_ts_ms=self._clock_ms())
                batch.produce(OutgoingRecord(self._topics.requests, request.key(), request.to_bytes()))
            if not batch.wait(timeout):
                raise ServiceError(f"Kafka did not acknowledge the replayed requests within {timeout:g}s")
        finally:
            producer.close(timeout)
        if chosen == LetterFilter():
            self._mark_replayed({s.partition: s.offset + 1 for s in replayable})
        return replayable

    def _partitions(self, consumer: Consumer, timeout: float) -> Iterator[tuple[int, int, int]]:
        metadata = consumer.list_topics(self._topics.dlq, timeout=timeout)
        topic = metadata.topics.get(self._topics.dlq)
        if topic is None or topic.error is not None:
            return
        for partition in sorted(topic.partitions):
            low, high = consumer.get_watermark_offsets(TopicPartition(self._topics.dlq, partition), timeout=timeout)
            yield partition, low, high

    def _replayed_up_to(self) -> dict[int, int]:
        consumer = build_consumer(self._config.kafka, self._topics.group_id(REPLAY_GROUP))
        try:
            metadata = consumer.list_topics(self._topics.dlq, timeout=10)
            topic = metadata.topics.get(self._topics.dlq)
            if topic is None or topic.error is not None:
                return {}
            committed = consumer.committed([TopicPartition(self._topics.dlq, p) for p in topic.partitions], timeout=10)
            return {tp.partition: tp.offset for tp in committed if tp.offset >= 0}
        finally:
            consumer.close()

    def _mark_replayed(self, offsets: dict[int, int]) -> None:
        consumer = build_consumer(self._config.kafka, self._topics.group_id(REPLAY_GROUP))
        try:
            done = self._replayed_up_to()
            positions = [
                TopicPartition(self._topics.dlq, partition, max(offset, done.get(partition, 0)))
                for partition, offset in offsets.items()
            ]
            consumer.commit(offsets=positions, asynchronous=False)
        finally:
            consumer.close()
