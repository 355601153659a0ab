"""``graphdex_consumer_lag{group, topic}``: how many messages each stage's consumer group has not finished.

Per partition, lag is the high watermark minus the group's committed offset (the low watermark when the
group has committed nothing yet: a new group starts at the earliest offset); the gauge is the sum over
a topic's partitions. Committed offsets are what survives a restart, so this is the work a restarted
daemon would still do: it includes up to one commit interval of records processed but not yet
committed, and records held back by pending fan-outs.

``ConsumerLag`` measures from its own consumers (one per group; they never join the group, they only
read its committed offsets and the topics' watermarks), in a thread of its own, so it keeps measuring
while the stages are paused by an outage, which is when lag matters most.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass

import structlog
from confluent_kafka import Consumer, KafkaException, TopicPartition
from prometheus_client import Gauge

from indexer.kafka.clients import build_consumer
from schema_gen.config import KafkaSettings

log = structlog.get_logger("graphdex.daemon.lag")


@dataclass(frozen=True)
class ConsumedTopics:
    """One consumer group and the topics it consumes."""

    kafka: KafkaSettings
    group: str
    topics: tuple[str, ...]


class ConsumerLag:
    """Measures every ``interval`` seconds until closed; ``measure()`` once (tests, start-up)."""

    def __init__(
        self, groups: Sequence[ConsumedTopics], gauge: Gauge, interval: float = 5.0, timeout: float = 5.0
    ) -> None:
        self._groups = list(groups)
        self._gauge = gauge
        self._interval = interval
        self._timeout = timeout
        self._consumers: dict[str, Consumer] = {}
        self._lock = threading.Lock()  # the consumers are used by one measurement at a time
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="consumer-lag", daemon=True)

    def start(self) -> ConsumerLag:
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop measuring and close the consumers; waits at most a second for a measurement in progress
        (Kafka may be the thing that is down), leaving its consumers to the process's exit if it is stuck."""
        self._stop.set()
        if not self._lock.acquire(timeout=1.0):
            log.warning("consumer lag measurement still running at shutdown, not waiting for it")
            return
        try:
            for consumer in self._consumers.values():
                consumer.close()
            self._consumers.clear()
        finally:
            self._lock.release()

    def measure(self) -> dict[tuple[str, str], int]:
        """Lag per (group, topic), also set on the gauge; topics that cannot be read now are left out."""
        with self._lock:
            return self._measure()

    def _measure(self) -> dict[tuple[str, str], int]:
        measured: dict[tuple[str, str], int] = {}
        for consumed in self._groups:
            consumer = self._consumer(consumed)
            for topic in consumed.topics:
                try:
                    lag = self._topic_lag(consumer, topic)
                except KafkaException as exc:
                    log.warning("consumer lag not measured", group=consumed.group, topic=topic, error=str(exc))
                    continue
                if lag is not None:
                    measured[(consumed.group, topic)] = lag
                    self._gauge.labels(consumed.group, topic).set(lag)
        return measured

    def _loop(self) -> None:
        while True:
            with self._lock:
                if self._stop.is_set():
                    return
                self._measure()
            if self._stop.wait(self._interval):
                return

    def _consumer(self, consumed: ConsumedTopics) -> Consumer:
        consumer = self._consumers.get(consumed.group)
        if consumer is None:
            consumer = self._consumers[consumed.group] = build_consumer(consumed.kafka, consumed.group)
        return consumer

    def _topic_lag(self, consumer: Consumer, topic: str) -> int | None:
        metadata = consumer.list_topics(topic, timeout=self._timeout).topics.get(topic)
        if metadata is None or metadata.error is not None:
            return None
        partitions = [TopicPartition(topic, number) for number in sorted(metadata.partitions)]
        committed = {tp.partition: tp.offset for tp in consumer.committed(partitions, timeout=self._timeout)}
        total = 0
        for partition in partitions:
            low, high = consumer.get_watermark_offsets(partition, timeout=self._timeout, cached=False)
            done = committed.get(partition.partition, -1)
            total += max(0, high - max(done, low))  # nothing committed (-1001): the group starts at low
        return total
