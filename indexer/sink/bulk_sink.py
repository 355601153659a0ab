"""Bulk writes with external versioning, and an explicit outcome for every write.

Every document carries a monotonic version (the start time of the fetch that produced it, in
microseconds), written with ``version_type=external``: a slower, older fetch can never overwrite a
newer document, and the search server's rejection of such a write is a *noop*, not a failure.
Outcomes: ``indexed``, ``deleted``, ``unchanged`` (see below), ``noop`` (stale, or a delete of a
document that is not there), ``failed`` (the document itself is wrong, e.g. a mapping error: it goes
to the dead-letter topic) and ``retry`` (429, 5xx or an unreachable server: the stage pauses and
writes it again later).

Unchanged documents are not rewritten (``sink.skip_unchanged``). A write marked ``if_changed`` (the
fetch stage marks documents re-fetched because the root entity itself changed) is first compared with
the index: one ``mget`` per target reads the stored ``graphdex.content_hash`` and version. Same digest:
the index already holds this content, the write is skipped (``unchanged``), sparing the search
server a reindex of the document — the expensive part of a CDC pipeline whose events often concern
columns the document does not select. A stored version at or above the write's: ``noop`` without
writing. Writes caused by a related entity's change are never marked: their fresh ``fetched_at`` is
what tells the settle lookup (``indexer.route.fanout``) that they are current.

A skipped write leaves the index's (older) version in place, so a still older write arriving later
(a fetch that was in flight in a process that lost its partitions) would pass the search server's
version check. ``ConfirmedVersions`` remembers, per target and id, the version at which content was
confirmed unchanged, for ``CONFIRMED_TTL`` seconds, and turns such late writes into ``noop``s. The
remaining gap (a late write reaching another sink process, with content that changed and changed
back) is accepted.

Write targets: every concrete index behind the alias ``<index>-write`` (during a migration, the live
version and the one being built), resolved every ``TARGETS_TTL`` seconds; the search alias
``<index>`` when there is no write alias. A write's outcome combines its targets' outcomes: retry if
any target must retry, failed if any refused it, noop if every target already had it.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

import structlog

from indexer.search_store import BulkAction, BulkItemResult, SearchStore, bulk_chunks
from indexer.search_store.translation import BLOCKED
from schema_gen.avro import METADATA_FIELD
from schema_gen.config import SinkSettings
from schema_gen.errors import StoreAuthFailed, StoreError, StoreUnavailable

log = structlog.get_logger("graphdex.sink")

Status = Literal["indexed", "deleted", "unchanged", "noop", "failed", "retry"]
TARGETS_TTL = 5.0
CONFIRMED_TTL = 600.0
CONFIRMED_MAX = 100_000
_PRECEDENCE: tuple[Status, ...] = ("retry", "failed", "indexed", "deleted", "unchanged", "noop")
_CONTENT_HASH = f"{METADATA_FIELD}.content_hash"


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
    if_changed: bool = False
    """The index may keep its document when that has the same ``graphdex.content_hash``."""

    @property
    def content_hash(self) -> str | None:
        return content_hash_of(self.source)


def content_hash_of(source: dict[str, Any] | None) -> str | None:
    """The ``graphdex.content_hash`` a document source carries, if any."""
    metadata = source.get(METADATA_FIELD) if source is not None else None
    digest = metadata.get("content_hash") if isinstance(metadata, dict) else None
    return digest if isinstance(digest, str) else None


@dataclass(frozen=True)
class WriteOutcome:
    write: DocumentWrite
    status: Status
    reason: str | None = None
    detail: str | None = None


Target = tuple[str, str]
"""(index, document id)"""


class ConfirmedVersions:
    """Per (index, id), the newest version whose content this sink found already in the index.

    Bounded: entries expire after ``ttl`` seconds and the oldest go beyond ``limit`` entries. An entry
    is a lower bound of what the index effectively holds, so forgetting one only loses protection.
    """

    def __init__(
        self, ttl: float = CONFIRMED_TTL, limit: int = CONFIRMED_MAX, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._ttl, self._limit, self._clock = ttl, limit, clock
        self._entries: OrderedDict[Target, tuple[int, float]] = OrderedDict()

    def covers(self, target: Target, version: int) -> bool:
        """A version at or above ``version`` was confirmed (and has not expired)."""
        entry = self._entries.get(target)
        if entry is None:
            return False
        if self._clock() - entry[1] > self._ttl:
            del self._entries[target]
            return False
        return entry[0] >= version

    def confirm(self, target: Target, version: int) -> None:
        kept = self._entries.pop(target, None)
        self._entries[target] = (max(version, kept[0]) if kept else version, self._clock())
        while len(self._entries) > self._limit:
            self._entries.popitem(last=False)

    def forget(self, target: Target) -> None:
        self._entries.pop(target, None)

    def __len__(self) -> int:
        return len(self._entries)


class BulkSink:
    """Writes documents to an index alias in bulk requests bounded by count and bytes."""

    def __init__(
        self,
        store: SearchStore,
        alias: str,
        settings: SinkSettings,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store = store
        self._alias = alias
        self._settings = settings
        self._clock = clock
        self._targets: tuple[str, ...] = ()
        self._resolved_at = float("-inf")
        self.confirmed = ConfirmedVersions(clock=clock)

    def targets(self) -> tuple[str, ...]:
        """The indexes each write goes to (cached for ``TARGETS_TTL`` seconds). Raises ``StoreError``
        when the search server cannot say (``StoreUnavailable``: try again later)."""
        now = self._clock()
        if now - self._resolved_at >= TARGETS_TTL:
            self._targets = tuple(self._store.alias_targets(write_alias(self._alias))) or (self._alias,)
            self._resolved_at = now
        return self._targets

    def write(self, writes: Sequence[DocumentWrite]) -> list[WriteOutcome]:
        """Write ``writes``; returns one outcome per write, in order.

        Of several writes of one document only the newest is sent; it must be written whenever any of
        them had to be (a related entity's fan-out superseded by a root change still refreshes
        ``fetched_at``)."""
        newest: dict[str, DocumentWrite] = {}
        must_write: set[str] = set()
        for item in writes:
            if not item.if_changed:
                must_write.add(item.id)
            kept = newest.get(item.id)
            if kept is None or item.version > kept.version:
                newest[item.id] = item
        outcomes: dict[int, WriteOutcome] = {}
        for item in writes:
            if newest[item.id] is not item:
                outcomes[id(item)] = WriteOutcome(item, "noop", "superseded", "a newer version is in the same batch")
        kept = list(newest.values())
        sent = [replace(item, if_changed=False) if item.id in must_write else item for item in kept]
        for item, outcome in zip(kept, self._send(sent), strict=True):
            outcomes[id(item)] = outcome
        return [outcomes[id(item)] for item in writes]

    def _send(self, writes: list[DocumentWrite]) -> list[WriteOutcome]:
        if not writes:
            return []
        try:
            targets = self.targets()
        except StoreUnavailable as exc:
            return [WriteOutcome(item, "retry", "unavailable", str(exc)) for item in writes]
        pairs = [(item, target) for item in writes for target in targets]
        per_pair = self._settled_without_writing(pairs)
        to_write = [n for n in range(len(pairs)) if n not in per_pair]
        for n, outcome in zip(to_write, self._bulk([pairs[n] for n in to_write]), strict=True):
            per_pair[n] = outcome
            if outcome.status in ("indexed", "deleted"):
                self.confirmed.forget((pairs[n][1], outcome.write.id))
        width = len(targets)
        return [_combine([per_pair[n * width + k] for k in range(width)]) for n in range(len(writes))]

    def _settled_without_writing(self, pairs: Sequence[tuple[DocumentWrite, str]]) -> dict[int, WriteOutcome]:
        """Outcomes of the (write, target) pairs that need no write: older than a confirmed version,
        or (``if_changed`` writes) unchanged or stale according to the index."""
        settled: dict[int, WriteOutcome] = {}
        candidates: dict[str, dict[str, int]] = {}  # target -> id -> pair number
        for n, (item, target) in enumerate(pairs):
            if self.confirmed.covers((target, item.id), item.version):
                settled[n] = WriteOutcome(item, "noop", "stale", "a newer version of this content is in the index")
            elif self._settings.skip_unchanged and item.if_changed and item.content_hash is not None:
                candidates.setdefault(target, {})[item.id] = n
        for target, numbers in candidates.items():
            for document_id, stored in self._stored(target, list(numbers)).items():
                n = numbers[document_id]
                item = pairs[n][0]
                version, digest = stored
                if version >= item.version:
                    settled[n] = WriteOutcome(item, "noop", "stale", f"the index holds version {version}")
                elif digest == item.content_hash:
                    settled[n] = WriteOutcome(item, "unchanged", "unchanged", "the index holds this content")
                    self.confirmed.confirm((target, document_id), item.version)
        return settled

    def _stored(self, index: str, ids: list[str]) -> dict[str, tuple[int, str | None]]:
        """Version and content digest of the documents of ``ids`` that ``index`` holds. When the search
        server cannot say, nothing: every write then goes ahead."""
        try:
            found = self._store.mget(index, ids, source_includes=[_CONTENT_HASH])
        except StoreError as exc:
            log.info("content check skipped, writing every document", index=index, error=str(exc))
            return {}
        return {
            document_id: (document.version, content_hash_of(document.source))
            for document_id, document in found.items()
            if document.version is not None
        }

    def _bulk(self, pairs: Sequence[tuple[DocumentWrite, str]]) -> list[WriteOutcome]:
        """Write each (write, target) pair; one outcome per pair, in order."""
        actions = [_action(item, target) for item, target in pairs]
        outcomes: list[WriteOutcome] = []
        for chunk in bulk_chunks(actions, self._settings.max_actions, self._settings.max_bytes):
            written = pairs[len(outcomes) : len(outcomes) + len(chunk)]
            try:
                results = self._store.bulk(chunk, refresh=self._settings.refresh)
            except StoreUnavailable as exc:
                outcomes += [WriteOutcome(item, "retry", "unavailable", str(exc)) for item, _ in pairs[len(outcomes) :]]
                break
            except StoreAuthFailed:
                raise  # no document's fault: the daemon stops and says which credentials to fix
            except StoreError as exc:  # the whole request refused: each of its writes is refused
                kind = exc.error_type or (f"http_{exc.status}" if exc.status else "rejected")
                outcomes += [WriteOutcome(item, "failed", kind, exc.reason) for item, _ in written]
                continue
            outcomes += [_outcome(item, result) for (item, _), result in zip(written, results, strict=True)]
        return outcomes


def _action(item: DocumentWrite, target: str) -> BulkAction:
    if item.source is None:
        return BulkAction("delete", target, item.id, external_version=item.version)
    return BulkAction("index", target, item.id, item.source, item.version)


def _combine(outcomes: Sequence[WriteOutcome]) -> WriteOutcome:
    """One write's outcome over all its target indexes: the most pressing status wins."""
    return min(outcomes, key=lambda outcome: _PRECEDENCE.index(outcome.status))


def _outcome(item: DocumentWrite, result: BulkItemResult) -> WriteOutcome:
    status = result.status
    if result.succeeded:
        return WriteOutcome(item, "deleted" if result.op == "delete" else "indexed")
    if status == 404 and result.op == "delete":
        return WriteOutcome(item, "noop", "not_found", "the document was not in the index")
    kind, reason = result.error_type, result.error_reason or f"HTTP {status}"
    if status == 409:
        return WriteOutcome(item, "noop", "stale", reason)
    if status == 429 or status >= 500 or status == 0 or kind == BLOCKED:
        return WriteOutcome(item, "retry", kind or f"http_{status}", reason)
    return WriteOutcome(item, "failed", kind or f"http_{status}", reason)
