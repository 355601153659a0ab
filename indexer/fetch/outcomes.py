"""What fetching one document can come to: fetched, deleted at the source, or failed with a reason."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class FailureReason(StrEnum):
    """Why a document could not be fetched; the values are the dead-letter ``reason`` strings."""

    GRAPHQL_ERROR = "graphql_error"
    """The gateway reported an error touching the document, or a request-level error for its batch."""
    MAPPING_ERROR = "mapping_error"
    """The response does not fit the index's document model (the renderer's ``DocumentError``)."""
    INVALID_ID = "invalid_id"
    """The id cannot be passed in the template's id variable (``Int`` ids must be integers)."""
    REQUEST_FAILED = "request_failed"
    """Every request asking for this id failed as a whole (a subgraph answering HTTP 5xx or crashing, an
    error at no document's path) while requests for the rest of its batch were answered: a poison id,
    found by splitting the batch (``indexer.fetch.isolation``)."""


@dataclass(frozen=True)
class Fetched:
    """The root exists: ``document`` is the rendered index document (and Avro record)."""

    id: str
    document: dict[str, Any]
    version: int
    """Start of the gateway request that saw this data, microseconds since the epoch (monotonic)."""


@dataclass(frozen=True)
class Deleted:
    """The root is null and no error touches it: the document must be removed (a tombstone)."""

    id: str
    version: int


@dataclass(frozen=True)
class Failed:
    """Nothing trustworthy came back for this id; never carries partial data."""

    id: str
    reason: FailureReason
    detail: str
    retryable: bool
    """True when fetching again later may succeed (the retry topic); False goes straight to the DLQ."""


FetchOutcome = Fetched | Deleted | Failed
