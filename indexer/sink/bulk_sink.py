"""Bulk writes with external versioning, and an explicit outcome for every write.

Every document carries a monotonic version (the start time of the fetch that produced it, in
microseconds), written with ``version_type=external``: a slower, older fetch can never overwrite a
newer document, and the search server's rejection of such a write is a *noop*, not a failure.
Outcomes: ``indexed``, ``deleted``, ``noop`` (stale, or a delete of a document that is not there),
``failed`` (the document itself is wrong, e.g. a mapping error: it goes to the dead-letter topic) and
``retry`` (429, 5xx or an unreachable server: the stage pauses and writes it again later).

Write targets: every concrete index behind the alias ``<index>-write`` (during a migration, the live
version and the one being built), resolved every ``TARGETS_TTL`` seconds; the search alias
``<index>`` when there is no write alias. A write's outcome combines its targets' outcomes: retry if
any target must retry, failed if any refused it, noop if every target already had it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from elastic_transport import TransportError
from elasticsearch import Elasticsearch, NotFoundError
from elasticsearch.helpers import streaming_bulk

from schema_gen.config import SinkSettings

Status = Literal["indexed", "deleted", "noop", "failed", "retry"]
TARGETS_TTL = 5.0
_PRECEDENCE: tuple[Status, ...] = ("retry", "failed", "indexed", "deleted", "noop")


def write_alias(alias: str) -> str:
    """The alias naming every index that must receive the writes of index ``alias``."""
    return f"{alias}-write"


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

    def __init__(
        self,
        client: Elasticsearch,
        alias: str,
        settings: SinkSettings,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self._alias = alias
        self._settings = settings
        self._clock = clock
        self._targets: tuple[str, ...] = ()
        self._resolved_at = float("-inf")

    def targets(self) -> tuple[str, ...]:
        """The indexes each write goes to (cached for ``TARGETS_TTL`` seconds)."""
        now = self._clock()
        if now - self._resolved_at >= TARGETS_TTL:
            try:
                found = self._client.indices.get_alias(name=write_alias(self._alias))
                self._targets = tuple(sorted(found)) or (self._alias,)
            except NotFoundError:
                self._targets = (self._alias,)
            self._resolved_at = now
        return self._targets

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
        try:
            targets = self.targets()
        except TransportError as exc:
            return [WriteOutcome(item, "retry", "unavailable", f"search server unreachable: {exc}") for item in writes]
        pairs = [(item, target) for item in writes for target in targets]
        per_target: list[WriteOutcome] = []
        try:
            for position, (_, info) in enumerate(
                streaming_bulk(
                    self._client,
                    (self._action(item, target) for item, target in pairs),
                    chunk_size=self._settings.max_actions,
                    max_chunk_bytes=self._settings.max_bytes,
                    raise_on_error=False,
                    raise_on_exception=False,
                    max_retries=0,
                    refresh=self._settings.refresh,
                )
            ):
                per_target.append(_outcome(pairs[position][0], info))
        except TransportError as exc:
            detail = f"search server unreachable: {exc}"
            per_target += [WriteOutcome(item, "retry", "unavailable", detail) for item, _ in pairs[len(per_target) :]]
        return [_combine(per_target[n * len(targets) : (n + 1) * len(targets)]) for n in range(len(writes))]

    def _action(self, item: DocumentWrite, target: str) -> dict[str, Any]:
        action: dict[str, Any] = {
            "_index": target,
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


def _combine(outcomes: Sequence[WriteOutcome]) -> WriteOutcome:
    """One write's outcome over all its target indexes: the most pressing status wins."""
    return min(outcomes, key=lambda outcome: _PRECEDENCE.index(outcome.status))


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
