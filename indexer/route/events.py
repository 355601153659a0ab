"""Decoding change events: a Kafka message in, ``EntityChange``s or a ``Rejected`` reason out.

Pure: no Kafka, no I/O. The formats (per event source in the index definition):

- ``debezium``: the Debezium JSON envelope ``{before, after, op, ts_ms, source}``, with or without the
  ``{schema, payload}`` wrapper; ops c/u/d/r. A tombstone (null value) follows every delete and is
  acknowledged as such, since the delete event before it already carried the change.
- ``json``: a plain application event; the id paths point into the value (or ``key.<field>``).
- ``avro``: Confluent wire format, decoded by a deserializer given to the decoder; the result is then
  read as a Debezium envelope when it looks like one, else as a plain event.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from schema_gen.config import EventSource

Op = Literal["c", "u", "d", "r"]
_OPS: frozenset[str] = frozenset({"c", "u", "d", "r"})


@dataclass(frozen=True)
class Origin:
    """Where a message came from: enough to find it again and to commit past it."""

    topic: str
    partition: int
    offset: int


@dataclass(frozen=True)
class EntityChange:
    """One entity of one GraphQL type changed (created, updated, deleted or snapshotted)."""

    type: str
    key: tuple[str, ...]
    """The entity's key values, in the order of its key fields (one value unless composite)."""
    op: Op
    ts_ms: int
    origin: Origin

    @property
    def identity(self) -> str:
        """``Talent:t9`` (composite keys joined with ``/``), used in every log line about it."""
        return f"{self.type}:{'/'.join(self.key)}"


@dataclass(frozen=True)
class Rejected:
    """A message that cannot be read as an event; it goes to the dead-letter topic with this reason."""

    reason: Literal["bad_json", "no_id", "unknown_op", "oversized", "bad_avro"]
    detail: str


@dataclass(frozen=True)
class Tombstone:
    """A Debezium tombstone: nothing to do, counted and acknowledged."""


Decoded = list[EntityChange] | Rejected | Tombstone
AvroDeserializer = Callable[[bytes, str], Any]
"""Decodes a Confluent wire-format value for a topic into a Python value."""


class EventDecoder:
    """Reads messages of one event source. ``key_fields`` are the type's identity fields, used when the
    source names no id paths."""

    def __init__(
        self,
        source: EventSource,
        key_fields: Sequence[str],
        now_ms: Callable[[], int],
        avro_deserializer: AvroDeserializer | None = None,
    ) -> None:
        if source.format == "avro" and avro_deserializer is None:
            raise ValueError(f"event source {source.topic}: the avro format needs kafka.schema_registry_url")
        self._source = source
        self._paths = tuple(source.id) or tuple(key_fields)
        self._now_ms = now_ms
        self._avro = avro_deserializer

    def decode(self, key: bytes | None, value: bytes | None, origin: Origin) -> Decoded:
        if value is None:
            return Tombstone()
        if len(value) > self._source.max_bytes:
            return Rejected("oversized", f"{len(value)} bytes, more than events[].max_bytes={self._source.max_bytes}")
        if self._source.format == "avro":
            assert self._avro is not None
            try:
                payload = self._avro(value, self._source.topic)
            except Exception as exc:  # any decoding failure of a foreign message is a rejection
                return Rejected("bad_avro", f"not Confluent wire-format Avro: {exc}")
        else:
            try:
                payload = json.loads(value)
            except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                return Rejected("bad_json", f"value is not JSON: {exc}")
        key_payload = _parse_key(key)
        if self._source.format == "debezium" or (self._source.format == "avro" and _looks_like_envelope(payload)):
            return self._from_envelope(_unwrap(payload), key_payload, origin)
        return self._from_plain(payload, key_payload, origin)

    def _from_envelope(self, envelope: Any, key: Any, origin: Origin) -> Decoded:
        if not isinstance(envelope, Mapping):
            return Rejected("bad_json", "a Debezium envelope is a JSON object with before, after and op")
        op = envelope.get("op")
        if op not in _OPS:
            return Rejected("unknown_op", f"op {op!r} is not one of c, u, d, r")
        row = envelope.get("before") if op == "d" else envelope.get("after")
        if not isinstance(row, Mapping):
            side = "before" if op == "d" else "after"
            return Rejected("no_id", f"op {op!r} without a {side} row")
        ts = envelope.get("ts_ms") or (envelope.get("source") or {}).get("ts_ms") or self._now_ms()
        return self._changes(row, key, op, int(ts), origin)

    def _from_plain(self, payload: Any, key: Any, origin: Origin) -> Decoded:
        if not isinstance(payload, Mapping):
            return Rejected("bad_json", "a plain event is a JSON object")
        op = payload.get("op", "u")
        if op not in _OPS:
            op = "d" if op in ("delete", "deleted") else "u"
        ts = payload.get("ts_ms") or payload.get("timestamp_ms") or self._now_ms()
        if not isinstance(ts, int | float):
            ts = self._now_ms()
        return self._changes(payload, key, op, int(ts), origin)

    def _changes(self, row: Mapping[str, Any], key: Any, op: Op, ts_ms: int, origin: Origin) -> Decoded:
        columns: list[list[str]] = []
        for path in self._paths:
            from_key = path == "key" or path.startswith("key.")
            found = _lookup(key, path[4:]) if from_key else _lookup(row, path)
            values = found if isinstance(found, list) else [found]
            scalars = [str(v) for v in values if isinstance(v, str | int) and not isinstance(v, bool) and v != ""]
            if not scalars:
                return Rejected("no_id", f"no id at {path!r} (expected a string or integer)")
            columns.append(scalars)
        if len({len(column) for column in columns}) != 1:
            return Rejected("no_id", f"composite key paths {list(self._paths)} hold lists of different lengths")
        keys = list(dict.fromkeys(zip(*columns, strict=True)))
        return [EntityChange(self._source.type, tuple(k), op, ts_ms, origin) for k in keys]


def _parse_key(key: bytes | None) -> Any:
    if key is None:
        return None
    try:
        return _unwrap(json.loads(key))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return key.decode("utf-8", errors="replace")


def _unwrap(payload: Any) -> Any:
    """Drop the ``{schema, payload}`` wrapper of Kafka Connect's JSON converter."""
    if isinstance(payload, Mapping) and set(payload) == {"schema", "payload"}:
        return payload["payload"]
    return payload


def _looks_like_envelope(payload: Any) -> bool:
    payload = _unwrap(payload)
    return isinstance(payload, Mapping) and "op" in payload and ("after" in payload or "before" in payload)


def _lookup(value: Any, path: str) -> Any:
    """Follow a dotted path through objects; lists along the way are mapped over and flattened."""
    if path == "":
        return value
    head, _, rest = path.partition(".")
    if isinstance(value, list):
        results: list[Any] = []
        for item in value:
            found = _lookup(item, path)
            results.extend(found if isinstance(found, list) else [found])
        return results
    if not isinstance(value, Mapping):
        return None
    return _lookup(value.get(head), rest)
