"""An in-memory stand-in for confluent-kafka's Consumer: one group member over fixed partitions.

It implements just what ``StageRunner`` calls (subscribe, consume, pause, resume, seek, assignment,
commit, close) with Kafka's semantics for positions and committed offsets, so the runner's offset
logic can be tested without a broker. ``ignore_pause`` makes it keep delivering from paused
partitions, like messages fetched before a pause took effect.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from confluent_kafka import TIMESTAMP_CREATE_TIME, TopicPartition

Key = tuple[str, int]


class InMemoryMessage:
    def __init__(self, topic: str, partition: int, offset: int, key: bytes | None, value: bytes | None) -> None:
        self._topic, self._partition, self._offset, self._key, self._value = topic, partition, offset, key, value

    def error(self) -> None:
        return None

    def topic(self) -> str:
        return self._topic

    def partition(self) -> int:
        return self._partition

    def offset(self) -> int:
        return self._offset

    def key(self) -> bytes | None:
        return self._key

    def value(self) -> bytes | None:
        return self._value

    def headers(self) -> list[tuple[str, bytes]]:
        return [("n", str(self._offset).encode())]

    def timestamp(self) -> tuple[int, int]:
        return TIMESTAMP_CREATE_TIME, 1_700_000_000_000 + self._offset


class InMemoryConsumer:
    def __init__(self, log: dict[Key, list[bytes]], committed: dict[Key, int] | None = None) -> None:
        self.log = log
        self.committed: dict[Key, int] = committed if committed is not None else {}
        self.positions: dict[Key, int] = {}
        self.paused: set[Key] = set()
        self.ignore_pause = False
        self.commit_calls = 0
        self.closed = False
        self._callbacks: dict[str, Callable[..., Any]] = {}
        self._topics: list[str] = []

    def subscribe(self, topics: list[str], **callbacks: Callable[..., Any]) -> None:
        self._topics = topics
        self._callbacks = callbacks

    def consume(self, num_messages: int = 1, timeout: float = -1) -> list[InMemoryMessage]:
        if not self.positions:
            self._assign()
        batch: list[InMemoryMessage] = []
        progress = True
        while len(batch) < num_messages and progress:
            progress = False
            for key in sorted(self.positions):
                if key in self.paused and not self.ignore_pause:
                    continue
                position = self.positions[key]
                if position < len(self.log[key]) and len(batch) < num_messages:
                    topic, partition = key
                    value = self.log[key][position]
                    batch.append(InMemoryMessage(topic, partition, position, f"k{position}".encode(), value))
                    self.positions[key] = position + 1
                    progress = True
        if not batch and timeout > 0:
            time.sleep(min(timeout, 0.01))
        return batch

    def assignment(self) -> list[TopicPartition]:
        return [TopicPartition(topic, partition) for topic, partition in sorted(self.positions)]

    def pause(self, partitions: list[TopicPartition]) -> None:
        self.paused |= {(tp.topic, tp.partition) for tp in partitions}

    def resume(self, partitions: list[TopicPartition]) -> None:
        self.paused -= {(tp.topic, tp.partition) for tp in partitions}

    def seek(self, partition: TopicPartition) -> None:
        self.positions[(partition.topic, partition.partition)] = partition.offset

    def commit(self, offsets: list[TopicPartition], asynchronous: bool = True) -> list[TopicPartition]:
        self.commit_calls += 1
        for tp in offsets:
            self.committed[(tp.topic, tp.partition)] = tp.offset
        return [TopicPartition(tp.topic, tp.partition, tp.offset) for tp in offsets]

    def rebalance(self) -> None:
        """Take every partition away (committing through the runner's callback); the next consume reassigns."""
        revoked = self.assignment()
        self._callbacks["on_revoke"](self, revoked)
        self.positions.clear()
        self.paused.clear()

    def close(self) -> None:
        if self.positions:
            self._callbacks["on_revoke"](self, self.assignment())
        self.positions.clear()
        self.closed = True

    def _assign(self) -> None:
        keys = [key for key in self.log if key[0] in self._topics]
        self.positions = {key: self.committed.get(key, 0) for key in keys}
        self._callbacks["on_assign"](self, self.assignment())
