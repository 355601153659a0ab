"""Change data capture for the demo subgraphs, shaped like Debezium's JSON output.

Each committed row change becomes one ``ChangeEvent`` on topic ``<server>.<db>.<table>``: the key
is the row's primary key as a JSON object (``{"movieId": "movie-000001"}``), the value a Debezium
envelope (``before``, ``after``, ``op``, ``ts_ms``, ``source``, ``transaction``) as produced with
``value.converter.schemas.enable=false``. A delete is followed by a tombstone: same key, null value.
Column values are the stored ones: list columns are JSON text, timestamps ISO 8601 strings.

``KafkaChangeLog`` delivers the events of one transaction before the transaction commits: the store
calls ``deliver`` inside its transaction and rolls back when it raises, so no write commits without
its events. The reverse can happen: an event whose delivery timed out may still reach the topic
after the write was rolled back (consumers that re-read the current state are unaffected).

Debezium publishes only committed changes, so a consumer that reacts to an event by reading the
source sees the change. Here events are delivered just before the commit; to keep that guarantee, a
store's reads wait while a write is between delivering and committing (``CapturedStore.query``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

from confluent_kafka import KafkaError, KafkaException, Message, Producer
from confluent_kafka.admin import AdminClient, NewTopic

from demo.services import CDC_SERVER
from schema_gen.errors import ServiceError

CONNECTOR = "sqlite"
CONNECTOR_VERSION = "graphdex-demo-1"

Row = Mapping[str, Any]


class Op(StrEnum):
    """Debezium operation codes."""

    CREATE = "c"
    UPDATE = "u"
    DELETE = "d"
    READ = "r"
    """A row read by a snapshot."""


class Snapshot(StrEnum):
    """Debezium's ``source.snapshot``: whether the event comes from a snapshot, and its last event."""

    FALSE = "false"
    TRUE = "true"
    LAST = "last"


def topic_for(db: str, table: str) -> str:
    """The Debezium topic name ``<server>.<db>.<table>``, e.g. ``demo.movies.credits``."""
    return f"{CDC_SERVER}.{db}.{table}"


@dataclass(frozen=True)
class ChangeEvent:
    """One Kafka record: a topic, a JSON key and a JSON value (``None`` for a tombstone)."""

    topic: str
    key: dict[str, Any]
    value: dict[str, Any] | None

    @property
    def is_tombstone(self) -> bool:
        return self.value is None

    def key_bytes(self) -> bytes:
        return _json_bytes(self.key)

    def value_bytes(self) -> bytes | None:
        return None if self.value is None else _json_bytes(self.value)

    def describe(self) -> str:
        """``demo.movies.movies {"movieId": "movie-000001"}``, for messages."""
        return f"{self.topic} {self.key_bytes().decode()}"


def _json_bytes(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


def envelope(
    op: Op,
    before: Row | None,
    after: Row | None,
    *,
    db: str,
    table: str,
    ts_ms: int,
    tx_id: int | None = None,
    snapshot: Snapshot = Snapshot.FALSE,
) -> dict[str, Any]:
    """The Debezium value of one row change; ``ts_ms`` is both the change's and the event's time."""
    expected = {Op.CREATE: (False, True), Op.UPDATE: (True, True), Op.DELETE: (True, False), Op.READ: (False, True)}
    if (before is not None, after is not None) != expected[op]:
        raise ValueError(f"op {op.value!r} needs before={expected[op][0]} and after={expected[op][1]}")
    return {
        "before": dict(before) if before is not None else None,
        "after": dict(after) if after is not None else None,
        "source": {
            "version": CONNECTOR_VERSION,
            "connector": CONNECTOR,
            "name": CDC_SERVER,
            "ts_ms": ts_ms,
            "snapshot": snapshot.value,
            "db": db,
            "table": table,
            "txId": tx_id,
        },
        "op": op.value,
        "ts_ms": ts_ms,
        "transaction": None,
    }


def row_events(
    op: Op,
    before: Row | None,
    after: Row | None,
    *,
    db: str,
    table: str,
    key_columns: Sequence[str],
    ts_ms: int,
    tx_id: int | None = None,
    snapshot: Snapshot = Snapshot.FALSE,
) -> list[ChangeEvent]:
    """The events of one row change: its envelope, plus a tombstone after a delete."""
    row = after if after is not None else before
    if row is None:
        raise ValueError("a row change needs a before or an after image")
    key = {column: row[column] for column in key_columns}
    topic = topic_for(db, table)
    value = envelope(op, before, after, db=db, table=table, ts_ms=ts_ms, tx_id=tx_id, snapshot=snapshot)
    events = [ChangeEvent(topic, key, value)]
    if op is Op.DELETE:
        events.append(ChangeEvent(topic, key, None))
    return events


class ChangeLog(Protocol):
    """Where a store sends the events of a transaction before committing it."""

    def deliver(self, events: Sequence[ChangeEvent]) -> None:
        """Return once every event is acknowledged by the broker; raise ``ServiceError`` otherwise."""


@dataclass
class _Deliveries:
    """Delivery reports of one batch of events."""

    failures: list[tuple[ChangeEvent, str]] = field(default_factory=list)
    acknowledged: int = 0

    def callback(self, event: ChangeEvent) -> Callable[[KafkaError | None, Message], None]:
        def report(error: KafkaError | None, _message: Message) -> None:
            if error is None:
                self.acknowledged += 1
            else:
                self.failures.append((event, error.str()))

        return report


class KafkaChangeLog:
    """Delivers change events with an idempotent confluent-kafka producer (``acks=all``).

    ``deliver`` produces a batch and flushes it; it raises ``ServiceError`` naming the first event
    that failed or timed out after ``delivery_timeout`` seconds. Not for concurrent ``deliver`` calls:
    the store serialises its transactions.
    """

    def __init__(self, bootstrap: str, *, client_id: str, delivery_timeout: float = 10.0) -> None:
        self.bootstrap = bootstrap
        self.delivery_timeout = delivery_timeout
        self._producer = Producer(
            {
                "bootstrap.servers": bootstrap,
                "client.id": client_id,
                "enable.idempotence": True,
                "acks": "all",
                "linger.ms": 5,
                "message.timeout.ms": int(delivery_timeout * 1000),
                "queue.buffering.max.messages": 1_000_000,
            }
        )

    def connect(self, topics: Iterable[str], timeout: float = 10.0) -> None:
        """Check the broker answers and create the missing topics; ``ServiceError`` if it cannot."""
        admin = AdminClient({"bootstrap.servers": self.bootstrap})
        try:
            existing = set(admin.list_topics(timeout=timeout).topics)
        except KafkaException as error:
            raise ServiceError(f"Kafka at {self.bootstrap} is unreachable: {error.args[0].str()}") from None
        missing = [NewTopic(topic, num_partitions=1, replication_factor=1) for topic in topics if topic not in existing]
        if not missing:
            return
        for topic, future in admin.create_topics(missing, request_timeout=timeout).items():
            try:
                future.result(timeout)
            except KafkaException as error:
                if error.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                    raise ServiceError(
                        f"cannot create topic {topic} on {self.bootstrap}: {error.args[0].str()}"
                    ) from None

    def reachable(self, timeout: float = 2.0) -> bool:
        """Whether the broker answers a metadata request now."""
        try:
            self._producer.list_topics(timeout=timeout)
        except KafkaException:
            return False
        return True

    def deliver(self, events: Sequence[ChangeEvent]) -> None:
        """Produce ``events`` in order and wait until the broker acknowledged all of them."""
        deliveries = _Deliveries()
        for event in events:
            self._produce(event, deliveries)
        remaining = self._producer.flush(self.delivery_timeout + 1.0)
        if remaining:
            self._producer.purge(in_queue=True, in_flight=False)
            self._producer.poll(0)
        if deliveries.failures:
            event, reason = deliveries.failures[0]
            raise ServiceError(f"CDC event {event.describe()} was not delivered to Kafka at {self.bootstrap}: {reason}")
        if deliveries.acknowledged < len(events):
            missing = len(events) - deliveries.acknowledged
            raise ServiceError(
                f"{missing} of {len(events)} CDC events were not acknowledged by Kafka at {self.bootstrap} "
                f"within {self.delivery_timeout:g}s"
            )

    def stream(self, events: Iterable[ChangeEvent]) -> int:
        """Produce many events (a snapshot) with bounded memory; return how many were delivered."""
        deliveries = _Deliveries()
        count = 0
        for event in events:
            self._produce(event, deliveries)
            count += 1
            if deliveries.failures:
                break
        self._producer.flush(self.delivery_timeout + 1.0)
        if deliveries.failures or deliveries.acknowledged < count:
            reason = deliveries.failures[0][1] if deliveries.failures else "timed out"
            raise ServiceError(
                f"snapshot: {count - deliveries.acknowledged} of {count} CDC events were not delivered to Kafka "
                f"at {self.bootstrap}: {reason}"
            )
        return count

    def close(self) -> None:
        """Deliver what is still queued (there is nothing, between transactions)."""
        self._producer.flush(self.delivery_timeout)

    def _produce(self, event: ChangeEvent, deliveries: _Deliveries) -> None:
        while True:
            try:
                self._producer.produce(
                    event.topic,
                    key=event.key_bytes(),
                    value=event.value_bytes(),
                    on_delivery=deliveries.callback(event),
                )
                break
            except BufferError:
                self._producer.poll(0.1)  # the local queue is full: serve delivery reports, then retry
            except KafkaException as error:
                deliveries.failures.append((event, error.args[0].str()))
                break
        self._producer.poll(0)
