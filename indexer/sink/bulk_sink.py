"""Bulk writes with external versioning, and an explicit outcome for every write.

Every document carries a monotonic version (the start time of the fetch that produced it, in
microseconds), written with ``version_type=external``: a slower, older fetch can never overwrite a
newer document, and the search server's rejection of such a write is a *noop*, not a failure.
Outcomes: ``indexed``, ``deleted``, ``noop`` (stale, or a delete of a document that is not there),
``failed`` (the document itself is wrong, e.g. a mapping error: it goes to the dead-letter topic) and
``retry`` (429, 5xx or an unreachable server: the stage pauses and writes it again later).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from elastic_transport import TransportError
from elasticsearch import Elasticsearch
from elasticsearch.helpers import streaming_bulk

from schema_gen.config import SinkSettings

Status = Literal["indexed", "deleted", "noop", "failed", "retry"]


@dataclass(frozen=True)
class DocumentWrite:
    """One document to index (``source``) or delete (``source is None``) at ``version``."""

    id: str
    version: int
    source: dict[str, Any] | None
    event_ts_ms: int | None = None
    """When the change behind this write happened at the source (for the freshness metric)."""


@dataclass(frozen=True)
class WriteOutcome:
    write: DocumentWrite
    status: Status
    reason: str | None = None
    detail: str | None = None


class BulkSink:
    """Writes documents to an index alias in bulk requests bounded by count and bytes."""

    def __init__(self, client: Elasticsearch, alias: str, settings: SinkSettings) -> None:
        self._client = client
        self._alias = alias
        self._settings = settings

    def write(self, writes: Sequence[DocumentWrite]) -> list[WriteOutcome]:
        """Write ``writes``; returns one outcome per write, in order."""
        newest: dict[str, DocumentWrite] = {}
        for item in writes:
            kept = newest.get(item.id)
            if kept is None or item.version > kept.version:
                newest[item.id] = item
        outcomes: dict[int, WriteOutcome] = {}
        for item in writes:
            if newest[item.id] is not item:
                outcomes[id(item)] = WriteOutcome(item, "noop", "superseded", "a newer version is in the same batch")
        for outcome in self._send(list(newest.values())):
            outcomes[id(outcome.write)] = outcome
        return [outcomes[id(item)] for item in writes]

    def _send(self, writes: list[DocumentWrite]) -> list[WriteOutcome]:
        if not writes:
            return []
        actions = [self._action(item) for item in writes]
        results: list[WriteOutcome] = []
        try:
            for position, (_, info) in enumerate(
                streaming_bulk(
                    self._client,
                    actions,
                    chunk_size=self._settings.max_actions,
                    max_chunk_bytes=self._settings.max_bytes,
                    raise_on_error=False,
                    raise_on_exception=False,
                    max_retries=0,
                    refresh=self._settings.refresh,
                )
            ):
                results.append(_outcome(writes[position], info))
        except TransportError as exc:
            detail = f"search server unreachable: {exc}"
            results += [WriteOutcome(item, "retry", "unavailable", detail) for item in writes[len(results) :]]
        return results

    def _action(self, item: DocumentWrite) -> dict[str, Any]:
        action: dict[str, Any] = {
            "_index": self._alias,
            "_id": item.id,
            "version": item.version,
            "version_type": "external",
        }
        if item.source is None:
            action["_op_type"] = "delete"
        else:
            action["_op_type"] = "index"
            action["_source"] = item.source
        return action


def _outcome(item: DocumentWrite, info: dict[str, Any]) -> WriteOutcome:
    ((op_type, result),) = info.items()
    status = result.get("status")
    error = result.get("error")
    if isinstance(status, int) and status < 300:
        return WriteOutcome(item, "deleted" if op_type == "delete" else "indexed")
    if status == 404 and op_type == "delete":
        return WriteOutcome(item, "noop", "not_found", "the document was not in the index")
    kind, reason = _error_parts(error)
    if status == 409:
        return WriteOutcome(item, "noop", "stale", reason)
    if status == 429 or (isinstance(status, int) and status >= 500) or not isinstance(status, int):
        return WriteOutcome(item, "retry", kind or f"http_{status}", reason)
    return WriteOutcome(item, "failed", kind or f"http_{status}", reason)


def _error_parts(error: Any) -> tuple[str | None, str]:
    if isinstance(error, dict):
        return error.get("type"), str(error.get("reason") or error)
    return None, str(error)
