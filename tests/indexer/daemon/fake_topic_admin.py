"""An in-memory stand-in for the two reads ``indexer.kafka.topics.plan_topics`` makes of a Kafka admin
client: ``list_topics`` (topic metadata with partitions and replicas) and ``describe_configs``."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import KafkaError, KafkaException

from indexer.kafka.topics import TopicSpec


@dataclass(frozen=True)
class _Partition:
    replicas: list[int]


@dataclass(frozen=True)
class _Topic:
    partitions: dict[int, _Partition]


@dataclass(frozen=True)
class _Metadata:
    topics: dict[str, _Topic]


@dataclass(frozen=True)
class _Entry:
    value: str | None


@dataclass
class FakeTopicAdmin:
    """Topics by name with their partition count and configs; ``unreachable`` makes every read fail as
    librdkafka does when no broker answers."""

    partitions: dict[str, int] = field(default_factory=dict)
    configs: dict[str, dict[str, str]] = field(default_factory=dict)
    unreachable: bool = False

    @classmethod
    def holding(cls, specs: Iterable[TopicSpec]) -> FakeTopicAdmin:
        """Every topic of ``specs``, exactly as specified (what ``graphdex apply`` leaves)."""
        admin = cls()
        for spec in specs:
            admin.partitions[spec.name] = spec.partitions
            admin.configs[spec.name] = dict(spec.config)
        return admin

    def list_topics(self, *args: Any, timeout: float = -1, **kwargs: Any) -> _Metadata:
        if self.unreachable:
            failure = KafkaError(KafkaError._TRANSPORT, "Failed to get metadata: Local: Broker transport failure")
            raise KafkaException(failure)
        return _Metadata(
            {name: _Topic({n: _Partition([1]) for n in range(count)}) for name, count in self.partitions.items()}
        )

    def describe_configs(self, resources: Sequence[Any], **kwargs: Any) -> Mapping[Any, Future[dict[str, _Entry]]]:
        futures: dict[Any, Future[dict[str, _Entry]]] = {}
        for resource in resources:
            future: Future[dict[str, _Entry]] = Future()
            future.set_result({name: _Entry(value) for name, value in self.configs.get(resource.name, {}).items()})
            futures[resource] = future
        return futures
