"""An idempotent producer that knows which of its messages the brokers have acknowledged.

Every ``produce`` gets a sequence number; ``mark()`` is a point in that sequence, and ``wait(mark)``
serves delivery reports until every message produced before the mark is acknowledged (or one of them
failed). That is what lets a stage runner store its input offsets only after the messages those
inputs led to are safely in Kafka. Thread-safe: stages may produce from several threads; delivery
reports are served by whichever thread calls ``poll``, ``wait`` or ``flush``.

Errors are ``DeliveryFailed`` (a ``ServiceError``): ``fatal`` is true when the producer itself is
unusable (an idempotence fencing or configuration error) and must be replaced, false when only some
messages failed and producing them again may succeed.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import structlog
from confluent_kafka import KafkaError, KafkaException, Message, Producer

from indexer.messages import OutgoingRecord
from schema_gen.errors import ConfigError, Problem, ServiceError

log = structlog.get_logger(__name__)

_FULL_QUEUE_POLL = 0.05
_WAIT_SLICE = 0.1


class DeliveryFailed(ServiceError):
    """Some produced messages were not acknowledged; ``fatal`` when the producer must be rebuilt."""

    def __init__(self, message: str, problems: Iterable[Problem] = (), fatal: bool = False) -> None:
        self.fatal = fatal
        super().__init__(message, problems)


@dataclass(frozen=True)
class DeliveryMark:
    """Every message produced before this point: ``wait(mark)`` returns once all are acknowledged."""

    sequence: int


class TrackedProducer:
    """A confluent-kafka ``Producer`` with delivery tracking, built from ``clients.producer_config``."""

    def __init__(self, config: Mapping[str, Any]) -> None:
        try:
            self._producer = Producer({**config, "error_cb": self._on_error})
        except KafkaException as exc:
            raise ConfigError(
                "librdkafka rejected the producer settings", [Problem("kafka.extra", _describe(exc))]
            ) from None
        self._lock = threading.Lock()
        self._next_sequence = 0
        self._outstanding: dict[int, None] = {}  # insertion order = sequence order
        self._failures: dict[int, Problem] = {}
        self._fatal: str | None = None
        self.delivered = 0
        """Messages acknowledged so far (for metrics and tests)."""

    def produce(self, record: OutgoingRecord) -> None:
        """Queue ``record``; blocks (serving delivery reports) while librdkafka's queue is full."""
        self._raise_if_fatal()
        with self._lock:
            sequence = self._next_sequence
            self._next_sequence += 1
            self._outstanding[sequence] = None
        target = f"{record.topic} key={record.key!r}"

        def on_delivery(error: KafkaError | None, message: Message) -> None:
            self._delivered(sequence, target, error)

        while True:
            try:
                self._producer.produce(
                    record.topic,
                    value=record.value,
                    key=record.key,
                    headers=list(record.headers) or None,
                    on_delivery=on_delivery,
                )
                return
            except BufferError:
                self._producer.poll(_FULL_QUEUE_POLL)
            except KafkaException as exc:
                error = exc.args[0] if exc.args else KafkaError(KafkaError._FAIL)
                self._delivered(sequence, target, error)
                self._raise_if_fatal()
                return

    def produce_all(self, records: Iterable[OutgoingRecord]) -> DeliveryMark:
        """Produce every record; returns the mark to wait for."""
        for record in records:
            self.produce(record)
        return self.mark()

    def mark(self) -> DeliveryMark:
        with self._lock:
            return DeliveryMark(self._next_sequence)

    def poll(self, timeout: float = 0.0) -> None:
        """Serve delivery reports."""
        self._producer.poll(timeout)

    def settled(self, mark: DeliveryMark) -> bool:
        """Every message before ``mark`` is acknowledged or failed (without serving reports)."""
        with self._lock:
            first = next(iter(self._outstanding), None)
        return first is None or first >= mark.sequence

    def wait(self, mark: DeliveryMark, timeout: float) -> bool:
        """Serve delivery reports until everything before ``mark`` is acknowledged; False on timeout.

        Raises ``DeliveryFailed`` when a message before ``mark`` failed (its failure is then
        forgotten, so the caller can produce it again) or when the producer became unusable.
        """
        deadline = time.monotonic() + timeout
        while True:
            self._raise_if_fatal()
            if self.settled(mark):
                self._raise_failures_before(mark)
                return True
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            self._producer.poll(min(_WAIT_SLICE, remaining))

    def flush(self, timeout: float) -> None:
        """Wait for everything produced so far; ``DeliveryFailed`` when not acknowledged in time."""
        mark = self.mark()
        if not self.wait(mark, timeout):
            with self._lock:
                pending = sum(1 for sequence in self._outstanding if sequence < mark.sequence)
            raise DeliveryFailed(f"Kafka did not acknowledge {pending} produced messages within {timeout:g}s")

    @property
    def pending(self) -> int:
        """Messages produced but neither acknowledged nor failed yet."""
        with self._lock:
            return len(self._outstanding)

    def close(self, timeout: float = 10.0) -> None:
        """Deliver what is queued, for up to ``timeout`` seconds. Whatever is left is logged and lost with
        the process; the runner never stored the offsets behind it, so it is produced again after a restart."""
        left = self._producer.flush(timeout)
        if left:
            log.warning("kafka.producer_closed_with_pending", pending=left)

    def _delivered(self, sequence: int, target: str, error: KafkaError | None) -> None:
        with self._lock:
            self._outstanding.pop(sequence, None)
            if error is None:
                self.delivered += 1
                return
            self._failures[sequence] = Problem(target, f"{error.str()} ({error.name()})")
            if error.fatal():
                self._fatal = f"{error.str()} ({error.name()})"
        log.warning("kafka.delivery_failed", target=target, error=error.str(), fatal=error.fatal())

    def _on_error(self, error: KafkaError) -> None:
        if error.fatal():
            with self._lock:
                self._fatal = f"{error.str()} ({error.name()})"
        log.warning("kafka.producer_error", error=error.str(), fatal=error.fatal())

    def _raise_if_fatal(self) -> None:
        if self._fatal is not None:
            raise DeliveryFailed(f"the Kafka producer failed and must be rebuilt: {self._fatal}", fatal=True)

    def _raise_failures_before(self, mark: DeliveryMark) -> None:
        with self._lock:
            failed = sorted(sequence for sequence in self._failures if sequence < mark.sequence)
            problems = [self._failures.pop(sequence) for sequence in failed]
        if problems:
            raise DeliveryFailed("Kafka did not accept produced messages", problems)


def _describe(exc: KafkaException) -> str:
    error = exc.args[0] if exc.args else None
    return error.str() if isinstance(error, KafkaError) else str(exc)
