"""How far behind each stage's consumer group is, and how many dead letters wait: read-only.

Lag per stage is the sum over its topics' partitions of the high watermark minus the group's committed
offset (the whole partition when nothing is committed: a new group starts at the earliest offset).
Stages and the topics they read: ``route`` the definition's event topics, ``fetch`` the requests
topic, ``retry`` the retry topic, ``sink`` the documents topic.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from confluent_kafka import ConsumerGroupTopicPartitions, KafkaException, TopicPartition

from indexer.kafka.clients import build_consumer
from indexer.kafka.topics import TopicLayout
from schema_gen.config import IndexConfig
from schema_gen.errors import ServiceError

STAGES = ("route", "fetch", "retry", "sink")
Watermarks = Callable[[str, int], tuple[int, int]]
"""``(topic, partition) -> (low, high)``."""


@dataclass(frozen=True)
class StageLag:
    """One stage's consumer group and how many messages it has not committed yet."""

    stage: str
    group: str
    topics: tuple[str, ...]
    lag: int
    committed: bool
    """The group has committed offsets on these topics (False: it never ran)."""


def stage_topics(config: IndexConfig, layout: TopicLayout) -> dict[str, tuple[str, ...]]:
    return {
        "route": tuple(dict.fromkeys(source.topic for source in config.events)),
        "fetch": (layout.requests,),
        "retry": (layout.retry,),
        "sink": (layout.documents,),
    }


class KafkaProgress:
    """Reads watermarks and committed offsets of one index's topics and groups."""

    def __init__(self, config: IndexConfig, admin: Any, *, watermarks: Watermarks, timeout: float = 10.0) -> None:
        self._config, self._admin, self._watermarks, self._timeout = config, admin, watermarks, timeout
        self.layout = TopicLayout.from_config(config)

    def _partitions(self, topics: Sequence[str]) -> list[TopicPartition]:
        try:
            metadata = self._admin.list_topics(timeout=self._timeout)
        except KafkaException as exc:
            raise ServiceError(f"Kafka: cannot list topics: {exc}") from None
        return [
            TopicPartition(topic, partition)
            for topic in topics
            if topic in metadata.topics
            for partition in sorted(metadata.topics[topic].partitions)
        ]

    def _committed(self, group: str, partitions: list[TopicPartition]) -> dict[tuple[str, int], int]:
        request = [ConsumerGroupTopicPartitions(group, partitions)]
        try:
            (future,) = self._admin.list_consumer_group_offsets(request, request_timeout=self._timeout).values()
            found = future.result()
        except KafkaException as exc:
            raise ServiceError(f"Kafka: cannot read the committed offsets of {group}: {exc}") from None
        return {(tp.topic, tp.partition): tp.offset for tp in found.topic_partitions or () if tp.offset >= 0}

    def lag(self) -> list[StageLag]:
        """Every stage's lag, in pipeline order."""
        lags = []
        for stage, topics in stage_topics(self._config, self.layout).items():
            group = self.layout.group_id(stage)
            partitions = self._partitions(topics)
            committed = self._committed(group, partitions) if partitions else {}
            behind = 0
            for tp in partitions:
                low, high = self._watermarks(tp.topic, tp.partition)
                behind += max(0, high - committed.get((tp.topic, tp.partition), low))
            lags.append(StageLag(stage, group, topics, behind, bool(committed)))
        return lags

    def dead_letters(self) -> int:
        """Dead letters held on the dlq topic (all partitions, high minus low watermark)."""
        total = 0
        for tp in self._partitions([self.layout.dlq]):
            low, high = self._watermarks(tp.topic, tp.partition)
            total += max(0, high - low)
        return total


class ConsumerWatermarks:
    """``Watermarks`` from a consumer that joins no group (it only asks for offsets)."""

    def __init__(self, config: IndexConfig, timeout: float = 10.0) -> None:
        layout = TopicLayout.from_config(config)
        self._consumer = build_consumer(config.kafka, layout.group_id("status"))
        self._timeout = timeout

    def __call__(self, topic: str, partition: int) -> tuple[int, int]:
        try:
            low, high = self._consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=self._timeout)
        except KafkaException as exc:
            raise ServiceError(f"Kafka: cannot read the offsets of {topic}[{partition}]: {exc}") from None
        return int(low), int(high)

    def close(self) -> None:
        self._consumer.close()
