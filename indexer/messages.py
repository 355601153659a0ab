"""The messages the daemon's stages exchange, and the shapes a stage sees them in.

Kafka is an adapter: a stage reads ``Record``s and returns ``OutgoingRecord``s; only
``indexer.kafka`` turns them into and out of confluent-kafka messages.

Contracts (values are UTF-8 JSON unless said otherwise):

- ``ReindexRequest`` on ``<prefix>.<index>.requests`` and ``.retry``, keyed by the root id.
- Document messages on ``<prefix>.<index>.documents``, keyed by the root id: the Avro document, or
  null (a tombstone) when the root no longer exists, with the headers ``graphdex-version`` (decimal
  int64: the fetch's start time in microseconds since the epoch; a fetch that started later saw
  newer data), ``graphdex-event-ts`` (milliseconds of the source event, for freshness metrics) and,
  when the sink may leave a document the index already holds with the same content alone,
  ``graphdex-write: if-changed`` (without it, the document is always written).
- ``DeadLetter`` on ``<prefix>.<index>.dlq``, keyed by the original message's key.

Readers are lenient about keys they do not know (a newer writer may add some) and strict about the
keys they do: a wrong type or a missing required key raises ``DocumentError`` naming the key.
"""

from __future__ import annotations

import base64
import binascii
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Annotated, Any, Literal, TypeVar

from pydantic import AfterValidator, Field, TypeAdapter, ValidationError

from schema_gen.errors import DocumentError, Problem

HEADER_VERSION = "graphdex-version"
"""Document header: the fetch's start time in microseconds since the epoch, as a decimal string."""
HEADER_EVENT_TS = "graphdex-event-ts"
"""Document header: milliseconds since the epoch of the source event that caused the fetch."""

HEADER_WRITE = "graphdex-write"
"""Document header: ``if-changed`` when the sink may skip a document whose content the index holds."""
WRITE_IF_CHANGED = b"if-changed"

Headers = tuple[tuple[str, bytes | None], ...]

NonEmpty = Annotated[str, Field(min_length=1)]
NonNegative = Annotated[int, Field(ge=0)]
_REASON = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class Record:
    """One consumed message, as a stage sees it: no Kafka types."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: Headers = ()
    timestamp_ms: int | None = None

    @property
    def position(self) -> str:
        """``topic[partition]@offset``, used in every log line and error about this record."""
        return f"{self.topic}[{self.partition}]@{self.offset}"

    def header(self, name: str) -> bytes | None:
        """Value of the last header called ``name``, or None when there is none."""
        found: bytes | None = None
        for header_name, value in self.headers:
            if header_name == name:
                found = value
        return found


@dataclass(frozen=True)
class OutgoingRecord:
    """One message a stage wants produced; the runner produces it before storing the input offsets."""

    topic: str
    key: bytes | None
    value: bytes | None
    headers: Headers = ()


@dataclass(frozen=True, kw_only=True)
class EventCause:
    """The change event a reindex request comes from."""

    type: NonEmpty
    id: NonEmpty
    op: NonEmpty
    topic: NonEmpty
    partition: NonNegative
    offset: NonNegative


@dataclass(frozen=True, kw_only=True)
class ReindexRequest:
    """Fetch the document of root ``type:id`` again (and tombstone it if the root no longer exists)."""

    id: NonEmpty
    type: NonEmpty
    cause: EventCause | None = None
    """The change event behind the request; None for backfills and manual reindexing."""
    event_ts_ms: NonNegative
    attempt: NonNegative = 0
    """Passes through the retry topic so far."""
    not_before_ms: NonNegative = 0
    """Do not fetch before this time (milliseconds since the epoch); 0 for now."""
    last_error: str | None = None

    @property
    def identity(self) -> str:
        """``Movie:m1``, used in every log line about this request."""
        return f"{self.type}:{self.id}"

    def key(self) -> bytes:
        """The Kafka key: the root id in UTF-8, so every request for one root lands on one partition."""
        return self.id.encode()

    def retry(self, error: str, not_before_ms: int) -> ReindexRequest:
        """The same request for its next pass through the retry topic."""
        return replace(self, attempt=self.attempt + 1, not_before_ms=not_before_ms, last_error=error)

    def to_bytes(self) -> bytes:
        return _REQUEST.dump_json(self)

    @classmethod
    def from_bytes(cls, data: bytes | None, where: str = "reindex request") -> ReindexRequest:
        """Parse and validate; raise ``DocumentError`` naming ``where`` and each bad key."""
        return _parse(_REQUEST, data, where)


class DeadLetterReason(StrEnum):
    """Reasons the stages use; a dead letter may carry others (lowercase words joined by ``_``)."""

    BAD_JSON = "bad_json"
    BAD_AVRO = "bad_avro"
    NO_ID = "no_id"
    UNKNOWN_OP = "unknown_op"
    OVERSIZED = "oversized"
    BAD_REQUEST = "bad_request"
    GRAPHQL_ERROR = "graphql_error"
    MAPPING_ERROR = "mapping_error"
    INVALID_ID = "invalid_id"
    REQUEST_FAILED = "request_failed"
    RETRIES_EXHAUSTED = "retries_exhausted"
    BAD_DOCUMENT = "bad_document"
    REJECTED_BY_INDEX = "rejected_by_index"


def _is_reason(value: str) -> str:
    if not _REASON.match(value):
        raise ValueError("a reason is lowercase letters, digits and '_', starting with a letter")
    return value


def _is_base64(value: str | None) -> str | None:
    if value is not None:
        try:
            base64.b64decode(value, validate=True)
        except binascii.Error as exc:
            raise ValueError(f"not base64: {exc}") from None
    return value


Reason = Annotated[str, AfterValidator(_is_reason)]
Base64Text = Annotated[str | None, AfterValidator(_is_base64)]


@dataclass(frozen=True, kw_only=True)
class DeadLetter:
    """A message no stage could handle, kept whole (base64 key and value) with why and where."""

    stage: Literal["route", "fetch", "sink"]
    reason: Reason
    detail: str
    topic: str | None = None
    partition: int | None = None
    offset: int | None = None
    key_b64: Base64Text = None
    value_b64: Base64Text = None
    request: ReindexRequest | None = None
    failed_at_ms: NonNegative

    @classmethod
    def for_record(
        cls,
        record: Record,
        *,
        stage: Literal["route", "fetch", "sink"],
        reason: str,
        detail: str,
        failed_at_ms: int,
        request: ReindexRequest | None = None,
    ) -> DeadLetter:
        """A dead letter keeping ``record``'s position, key and value."""
        return cls(
            stage=stage,
            reason=_is_reason(reason),
            detail=detail,
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            key_b64=_b64(record.key),
            value_b64=_b64(record.value),
            request=request,
            failed_at_ms=failed_at_ms,
        )

    def key(self) -> bytes | None:
        """The Kafka key: the original message's key, else the request's root id."""
        if self.key_b64 is not None:
            return base64.b64decode(self.key_b64)
        return self.request.key() if self.request else None

    def original_value(self) -> bytes | None:
        return base64.b64decode(self.value_b64) if self.value_b64 is not None else None

    def to_bytes(self) -> bytes:
        return _DEAD_LETTER.dump_json(self)

    @classmethod
    def from_bytes(cls, data: bytes | None, where: str = "dead letter") -> DeadLetter:
        """Parse and validate; raise ``DocumentError`` naming ``where`` and each bad key."""
        return _parse(_DEAD_LETTER, data, where)


@dataclass(frozen=True)
class DocumentVersion:
    """What the headers of a document message say about it."""

    version: int
    event_ts_ms: int | None
    if_changed: bool = False


def document_headers(version: int, event_ts_ms: int | None, *, if_changed: bool = False) -> Headers:
    """Headers of a document message (``graphdex-event-ts`` only when the event time is known,
    ``graphdex-write`` only when the write may be skipped for unchanged content)."""
    headers: list[tuple[str, bytes | None]] = [(HEADER_VERSION, str(version).encode())]
    if event_ts_ms is not None:
        headers.append((HEADER_EVENT_TS, str(event_ts_ms).encode()))
    if if_changed:
        headers.append((HEADER_WRITE, WRITE_IF_CHANGED))
    return tuple(headers)


def read_document_headers(record: Record) -> DocumentVersion:
    """The version and event time of a document message; ``DocumentError`` when they are unusable."""
    version = _header_int(record, HEADER_VERSION)
    if version is None:
        raise DocumentError(f"document message {record.position}: header {HEADER_VERSION} is missing")
    return DocumentVersion(
        version, _header_int(record, HEADER_EVENT_TS), if_changed=record.header(HEADER_WRITE) == WRITE_IF_CHANGED
    )


def new_document_version(clock_ns: Callable[[], int] = time.time_ns) -> int:
    """A document version for a fetch starting now: microseconds since the epoch."""
    return clock_ns() // 1000


def _header_int(record: Record, name: str) -> int | None:
    raw = record.header(name)
    if raw is None:
        return None
    try:
        value = int(raw.decode("ascii"))
    except (UnicodeDecodeError, ValueError):
        raise DocumentError(f"document message {record.position}: header {name} is not a decimal integer") from None
    if value < 0 or value >= 2**63:
        raise DocumentError(f"document message {record.position}: header {name} is not a non-negative int64")
    return value


def _b64(data: bytes | None) -> str | None:
    return base64.b64encode(data).decode("ascii") if data is not None else None


_REQUEST = TypeAdapter(ReindexRequest)
_DEAD_LETTER = TypeAdapter(DeadLetter)
_T = TypeVar("_T")


def _parse(adapter: TypeAdapter[_T], data: bytes | None, where: str) -> _T:
    if data is None:
        raise DocumentError(f"{where}: the value is null")
    try:
        return adapter.validate_json(data, strict=True)
    except ValidationError as exc:
        problems = [Problem(_location(error["loc"]), _describe(error)) for error in exc.errors()]
        raise DocumentError(f"{where} is invalid", problems) from None


def _location(location: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in location)


def _describe(error: Any) -> str:
    kind = error["type"]
    if kind == "missing":
        return "required key is missing"
    if kind == "json_invalid":
        return f"not JSON ({error['msg'].removeprefix('Invalid JSON: ')})"
    message: str = error["msg"].removeprefix("Value error, ")
    if "input" in error and not isinstance(error["input"], dict | list):
        message += f", got {_shorten(repr(error['input']))}"
    return message


def _shorten(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."
