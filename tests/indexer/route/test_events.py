"""Decoding change events: Debezium envelopes, plain JSON events, Avro, and every rejection reason."""

from __future__ import annotations

import json
from typing import Any

import pytest

from indexer.route.events import EntityChange, EventDecoder, Origin, Rejected, Tombstone
from schema_gen.config import EventSource

ORIGIN = Origin("demo.talent.talent", 0, 7)


def decoder(**source: Any) -> EventDecoder:
    spec = {"topic": "demo.talent.talent", "type": "Talent"} | source
    return EventDecoder(EventSource.model_validate(spec), ["talentId"], now_ms=lambda: 99)


def envelope(op: str, before: Any = None, after: Any = None, **extra: Any) -> bytes:
    body = {"before": before, "after": after, "op": op, "ts_ms": 1234, "source": {"ts_ms": 1200}} | extra
    return json.dumps(body).encode()


def test_debezium_update_reads_id_from_after_row() -> None:
    """An update names the entity through its key field in the ``after`` row."""
    decoded = decoder().decode(b'{"talentId":"t1"}', envelope("u", {"talentId": "t1"}, {"talentId": "t1"}), ORIGIN)
    assert decoded == [EntityChange("Talent", ("t1",), "u", 1234, ORIGIN)]


def test_debezium_delete_reads_id_from_before_row() -> None:
    """A delete has no ``after`` row; the id comes from ``before``."""
    decoded = decoder().decode(None, envelope("d", before={"talentId": 5}), ORIGIN)
    assert decoded == [EntityChange("Talent", ("5",), "d", 1234, ORIGIN)]


def test_schema_wrapper_is_unwrapped() -> None:
    """The Kafka Connect JSON converter's ``{schema, payload}`` wrapper is accepted."""
    wrapped = json.dumps({"schema": {"type": "struct"}, "payload": json.loads(envelope("c", after={"talentId": "t2"}))})
    decoded = decoder().decode(None, wrapped.encode(), ORIGIN)
    assert isinstance(decoded, list)
    assert decoded[0].key == ("t2",)
    assert decoded[0].op == "c"


def test_tombstone_is_recognised() -> None:
    """The null value after a delete is a tombstone, not a malformed event."""
    assert isinstance(decoder().decode(b'{"talentId":"t1"}', None, ORIGIN), Tombstone)


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (b"{not json", "bad_json"),
        (b"[1, 2]", "bad_json"),
        (envelope("x", after={"talentId": "t1"}), "unknown_op"),
        (envelope("u", after={"name": "no id"}), "no_id"),
        (envelope("u", after=None), "no_id"),
        (envelope("u", after={"talentId": True}), "no_id"),
        (b'{"pad": "' + b"x" * 2000 + b'"}', "oversized"),
    ],
)
def test_malformed_events_are_rejected_with_a_reason(value: bytes, reason: str) -> None:
    """Bad JSON, an unknown op, a missing id and oversized values each get their own reason."""
    decoded = decoder(max_bytes=1000).decode(None, value, ORIGIN)
    assert isinstance(decoded, Rejected)
    assert decoded.reason == reason
    assert decoded.detail


def test_id_from_message_key() -> None:
    """``key.<field>`` reads the JSON message key instead of the row."""
    decoded = decoder(id=["key.talentId"]).decode(b'{"talentId":"k9"}', envelope("u", after={"x": 1}), ORIGIN)
    assert isinstance(decoded, list)
    assert decoded[0].key == ("k9",)


def test_plain_event_with_a_list_of_ids_gives_one_change_per_id() -> None:
    """A plain application event may name several entities; duplicates collapse."""
    value = json.dumps({"event": "talent.merged", "talent": {"ids": ["a", "b", "a"]}}).encode()
    decoded = decoder(format="json", id=["talent.ids"]).decode(None, value, ORIGIN)
    assert isinstance(decoded, list)
    assert [change.key for change in decoded] == [("a",), ("b",)]
    assert all(change.op == "u" and change.ts_ms == 99 for change in decoded)


def test_composite_key_is_read_in_order() -> None:
    """Several id paths form one composite key."""
    row = {"movieId": "m1", "talentId": "t1", "role": "ACTOR"}
    decoded = decoder(id=["movieId", "talentId"]).decode(None, envelope("c", after=row), ORIGIN)
    assert isinstance(decoded, list)
    assert decoded[0].key == ("m1", "t1")
    assert decoded[0].identity == "Talent:m1/t1"


def test_avro_source_uses_the_deserializer_and_reads_envelopes() -> None:
    """Avro values are decoded by the registry deserializer, then read like a Debezium envelope."""
    source = EventSource(topic="t", type="Talent", format="avro")
    decoded = EventDecoder(
        source,
        ["talentId"],
        now_ms=lambda: 1,
        avro_deserializer=lambda value, topic: {"op": "u", "after": {"talentId": "z"}},
    ).decode(None, b"\x00\x00\x00\x00\x01", ORIGIN)
    assert isinstance(decoded, list)
    assert decoded[0].key == ("z",)


def test_avro_decoding_failure_is_a_rejection() -> None:
    """A value the deserializer cannot read is rejected as bad_avro, not raised."""

    def broken(value: bytes, topic: str) -> Any:
        raise ValueError("unknown magic byte")

    source = EventSource(topic="t", type="Talent", format="avro")
    decoded = EventDecoder(source, ["talentId"], now_ms=lambda: 1, avro_deserializer=broken).decode(None, b"zz", ORIGIN)
    assert decoded == Rejected("bad_avro", "not Confluent wire-format Avro: unknown magic byte")
