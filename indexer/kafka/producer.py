"""An idempotent producer that tells each caller when *its* messages are acknowledged.

Messages are produced through a ``DeliveryBatch`` (``producer.batch()``): the batch counts its own
messages and collects its own failures, and ``batch.wait(timeout)`` serves delivery reports until all
of them are acknowledged. That is what lets a stage runner store its input offsets only after the
messages those inputs led to are safely in Kafka, even when several runners (or a stage's threads)
share one producer: a failure is reported to the batch that produced the message and to no other.

Thread-safe: batches may be filled from several threads; delivery reports are served by whichever
thread calls ``poll``, ``wait`` or ``flush``.

Errors are ``DeliveryFailed`` (a ``ServiceError``): ``fatal`` is true when the producer itself is
unusable (an idempotence fencing or configuration error) and must be replaced, false when only some
messages failed and producing them again may succeed.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Mapping
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


class DeliveryBatch:
    """Messages produced together whose acknowledgements one caller waits for."""

    def __init__(self, producer: TrackedProducer) -> None:
        self._producer = producer
        self.produced = 0
        self.pending = 0
        """Produced but neither acknowledged nor failed yet (guarded by the producer's lock)."""
        self.failures: list[Problem] = []

    def produce(self, record: OutgoingRecord) -> None:
        """Queue ``record``; blocks (serving delivery reports) while librdkafka's queue is full."""
        self._producer._produce(record, self)

    def produce_all(self, records: Iterable[OutgoingRecord]) -> DeliveryBatch:
        for record in records:
            self.produce(record)
        return self

    def wait(self, timeout: float) -> bool:
        """Serve delivery reports until every message of the batch is acknowledged; False on timeout.

        Raises ``DeliveryFailed`` when one of them failed, or when the producer became unusable.
        """
        deadline = time.monotonic() + timeout
        while True:
            self._producer._raise_if_fatal()
            with self._producer._lock:
                pending, failures = self.pending, list(self.failures)
            if pending == 0:
                if failures:
                    raise DeliveryFailed("Kafka did not accept produced messages", failures)
                return True
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            self._producer.poll(min(_WAIT_SLICE, remaining))


class TrackedProducer:
    """A confluent-kafka ``Producer`` with per-batch delivery tracking, from ``clients.producer_config``."""

    def __init__(self, config: Mapping[str, Any]) -> None:
        try:
            self._producer = Producer({**config, "error_cb": self._on_error})
        except KafkaException as exc:
            raise ConfigError(
                "librdkafka rejected the producer settings", [Problem("kafka.extra", _describe(exc))]
            ) from None
        self._lock = threading.Lock()
        self._fatal: str | None = None
        self.delivered = 0
        """Messages acknowledged so far (for metrics and tests)."""

    def batch(self) -> DeliveryBatch:
        """A new, empty batch to produce through."""
        return DeliveryBatch(self)

    def poll(self, timeout: float = 0.0) -> None:
        """Serve delivery reports."""
        self._producer.poll(timeout)

    def flush(self, timeout: float) -> None:
        """Wait for every queued message; ``DeliveryFailed`` when some are not acknowledged in time."""
        self._raise_if_fatal()
        left = self._producer.flush(timeout)
        if left:
            raise DeliveryFailed(f"Kafka did not acknowledge {left} produced messages within {timeout:g}s")

    def close(self, timeout: float = 10.0) -> None:
        """Deliver what is queued, for up to ``timeout`` seconds. Whatever is left is logged and lost with
        the process; the runner never stored the offsets behind it, so it is produced again after a restart."""
        left = self._producer.flush(timeout)
        if left:
            log.warning("kafka.producer_closed_with_pending", pending=left)

    def _produce(self, record: OutgoingRecord, batch: DeliveryBatch) -> None:
        self._raise_if_fatal()
        with self._lock:
            batch.produced += 1
            batch.pending += 1
        target = f"{record.topic} key={record.key!r}"

        def on_delivery(error: KafkaError | None, message: Message) -> None:
            self._delivered(batch, target, error)

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
                self._delivered(batch, target, exc.args[0] if exc.args else KafkaError(KafkaError._FAIL))
                self._raise_if_fatal()
                return

    def _delivered(self, batch: DeliveryBatch, target: str, error: KafkaError | None) -> None:
        with self._lock:
            batch.pending -= 1
            if error is None:
                self.delivered += 1
                return
            batch.failures.append(Problem(target, f"{error.str()} ({error.name()})"))
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


def _describe(exc: KafkaException) -> str:
    error = exc.args[0] if exc.args else None
    return error.str() if isinstance(error, KafkaError) else str(exc)
