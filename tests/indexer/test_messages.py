"""The shared message contracts: reindex requests, dead letters, document headers, records."""

from __future__ import annotations

import json

import pytest

from indexer.messages import (
    HEADER_EVENT_TS,
    HEADER_VERSION,
    DeadLetter,
    DeadLetterReason,
    EventCause,
    Record,
    ReindexRequest,
    document_headers,
    new_document_version,
    read_document_headers,
)
from schema_gen.errors import DocumentError

CONTRACT_EXAMPLE = {
    "id": "m1",
    "type": "Movie",
    "cause": {"type": "Talent", "id": "t9", "op": "u", "topic": "demo.talent.talent", "partition": 0, "offset": 42},
    "event_ts_ms": 1700000000000,
    "attempt": 0,
    "not_before_ms": 0,
    "last_error": None,
}


def test_request_reads_the_contract_example():
    """The example from the message contract parses into the fields it spells out."""
    request = ReindexRequest.from_bytes(json.dumps(CONTRACT_EXAMPLE).encode())
    assert request.identity == "Movie:m1"
    assert request.cause == EventCause(
        type="Talent", id="t9", op="u", topic="demo.talent.talent", partition=0, offset=42
    )
    assert request.key() == b"m1"


def test_request_writes_exactly_the_contract_keys_in_order():
    """Serialising a request gives the contract's JSON, key for key and in the same order."""
    request = ReindexRequest.from_bytes(json.dumps(CONTRACT_EXAMPLE).encode())
    assert list(json.loads(request.to_bytes())) == list(CONTRACT_EXAMPLE)
    assert json.loads(request.to_bytes()) == CONTRACT_EXAMPLE


def test_request_round_trips_without_a_cause():
    """A backfill request (no cause) survives to_bytes and from_bytes unchanged."""
    request = ReindexRequest(id="m2", type="Movie", event_ts_ms=5)
    assert ReindexRequest.from_bytes(request.to_bytes()) == request
    assert json.loads(request.to_bytes())["cause"] is None


def test_request_ignores_keys_a_newer_writer_added():
    """Unknown keys are ignored so that a newer writer does not break an older reader."""
    data = dict(CONTRACT_EXAMPLE, priority="high")
    assert ReindexRequest.from_bytes(json.dumps(data).encode()).id == "m1"


def test_request_retry_counts_the_attempt():
    """retry() increments the attempt and records the error and the not-before time."""
    request = ReindexRequest(id="m1", type="Movie", event_ts_ms=1).retry("gateway timed out", 99)
    assert (request.attempt, request.not_before_ms, request.last_error) == (1, 99, "gateway timed out")
    assert request.retry("again", 200).attempt == 2


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"{not json", "not JSON"),
        (b"[1, 2]", "Input should be an object"),
        (b'{"type": "Movie", "event_ts_ms": 1}', "id: required key is missing"),
        (b'{"id": "", "type": "Movie", "event_ts_ms": 1}', "id: String should have at least 1 character"),
        (b'{"id": "m1", "type": "Movie", "event_ts_ms": "1"}', "event_ts_ms: Input should be a valid integer, got '1'"),
        (b'{"id": "m1", "type": "Movie", "event_ts_ms": 1, "attempt": -1}', "attempt: Input should be greater"),
        (b'{"id": "m1", "type": "Movie", "event_ts_ms": 1, "cause": {"type": "T"}}', "cause.id: required key"),
    ],
)
def test_request_rejects_bad_input_naming_the_key(data, expected):
    """Invalid requests raise DocumentError naming where the message came from and the bad key."""
    with pytest.raises(DocumentError) as caught:
        ReindexRequest.from_bytes(data, "graphdex.movies.requests[3]@17")
    assert str(caught.value).startswith("graphdex.movies.requests[3]@17 is invalid")
    assert expected in str(caught.value)


def test_request_rejects_a_null_value():
    """A tombstone on the requests topic is an error, not an empty request."""
    with pytest.raises(DocumentError, match="the value is null"):
        ReindexRequest.from_bytes(None)


def test_dead_letter_keeps_the_whole_record():
    """A dead letter built from a record keeps its position, key and value, and round trips."""
    record = Record("demo.talent.talent", 2, 40, b"t9", b"\x00\xffnot json")
    request = ReindexRequest(id="m1", type="Movie", event_ts_ms=1)
    letter = DeadLetter.for_record(
        record,
        stage="route",
        reason=DeadLetterReason.BAD_JSON,
        detail="value is not JSON",
        failed_at_ms=7,
        request=request,
    )
    parsed = DeadLetter.from_bytes(letter.to_bytes())
    assert parsed == letter
    assert (parsed.topic, parsed.partition, parsed.offset) == ("demo.talent.talent", 2, 40)
    assert parsed.key() == b"t9"
    assert parsed.original_value() == b"\x00\xffnot json"
    assert parsed.request == request


def test_dead_letter_key_falls_back_to_the_request_id():
    """Without an original key, a dead letter is keyed by its request's root id."""
    letter = DeadLetter(
        stage="fetch",
        reason="graphql_error",
        detail="boom",
        request=ReindexRequest(id="m7", type="Movie", event_ts_ms=1),
        failed_at_ms=1,
    )
    assert letter.key() == b"m7"
    assert DeadLetter(stage="sink", reason="x", detail="", failed_at_ms=1).key() is None


def test_dead_letter_validation_lists_every_problem():
    """A malformed dead letter names the bad stage, reason and base64 fields together."""
    data = b'{"stage": "index", "reason": "Bad Reason", "detail": "", "value_b64": "@@", "failed_at_ms": 1}'
    with pytest.raises(DocumentError) as caught:
        DeadLetter.from_bytes(data)
    message = str(caught.value)
    assert "3 problems" in message
    assert "stage: Input should be 'route', 'fetch' or 'sink'" in message
    assert "reason: a reason is lowercase letters" in message
    assert "value_b64: not base64" in message


def test_dead_letter_for_record_checks_the_reason():
    """A reason that is not a lowercase word is refused when the dead letter is built."""
    with pytest.raises(ValueError, match="a reason is lowercase"):
        DeadLetter.for_record(Record("t", 0, 0, None, None), stage="sink", reason="No!", detail="", failed_at_ms=0)


def test_document_headers_round_trip():
    """Version and event time written as headers read back as integers."""
    record = Record("docs", 0, 1, b"m1", b"...", headers=document_headers(1_700_000_000_000_123, 1_700_000_000_000))
    assert read_document_headers(record).version == 1_700_000_000_000_123
    assert read_document_headers(record).event_ts_ms == 1_700_000_000_000
    assert record.header(HEADER_VERSION) == b"1700000000000123"


def test_document_headers_without_event_time():
    """The event-time header is optional; the version is not."""
    record = Record("docs", 0, 1, b"m1", None, headers=document_headers(5, None))
    assert read_document_headers(record).event_ts_ms is None
    assert record.header(HEADER_EVENT_TS) is None
    with pytest.raises(DocumentError, match=r"docs\[0\]@1: header graphdex-version is missing"):
        read_document_headers(Record("docs", 0, 1, b"m1", None))


def test_documents_are_always_written_unless_marked_if_changed():
    """Only ``graphdex-write: if-changed`` lets the sink skip unchanged content; any other value writes."""
    marked = Record("docs", 0, 1, b"m1", b"...", headers=document_headers(5, 1, if_changed=True))
    assert read_document_headers(marked).if_changed is True
    plain = Record("docs", 0, 1, b"m1", b"...", headers=document_headers(5, 1))
    assert read_document_headers(plain).if_changed is False
    other = Record("docs", 0, 1, b"m1", b"...", headers=(*document_headers(5, 1), ("graphdex-write", b"always")))
    assert read_document_headers(other).if_changed is False


@pytest.mark.parametrize("raw", [b"abc", b"-1", str(2**63).encode(), b"\xff"])
def test_document_headers_reject_non_int64_versions(raw):
    """A version header that is not a non-negative int64 is a DocumentError naming the record."""
    record = Record("docs", 1, 9, b"m1", None, headers=((HEADER_VERSION, raw),))
    with pytest.raises(DocumentError, match=r"docs\[1\]@9: header graphdex-version"):
        read_document_headers(record)


def test_record_header_takes_the_last_occurrence():
    """When a header repeats, the last value wins, as Kafka clients conventionally read it."""
    record = Record("t", 0, 0, None, None, headers=(("h", b"1"), ("other", None), ("h", b"2")))
    assert record.header("h") == b"2"
    assert record.header("other") is None
    assert record.position == "t[0]@0"


def test_new_document_version_is_microseconds():
    """A document version is the clock in microseconds, so later fetches get larger versions."""
    assert new_document_version(lambda: 1_700_000_000_123_456_789) == 1_700_000_000_123_456
