"""The ``SearchStore`` interface: exactly the search-server operations graphdex makes, and the plain values
they return. Implemented by ``ElasticsearchStore``, ``OpenSearchStore`` and ``InMemorySearchStore``.

Every operation raises only ``schema_gen.errors.StoreError`` subclasses, never a client library's
exceptions: ``StoreUnavailable`` (back off and retry), ``StoreNotFound``, ``StoreConflict``,
``StoreRejected`` (with the server's reason) and ``StoreAuthFailed``.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import cached_property
from typing import Any, Literal, Protocol

from indexer.search_store.translation import server_reason

Engine = Literal["elasticsearch", "opensearch"]
BulkOperation = Literal["index", "delete"]


@dataclass(frozen=True)
class EngineInfo:
    """What ``GET /`` says about the server."""

    engine: Engine
    version: str


@dataclass(frozen=True)
class StoredDocument:
    """A document as an index holds it (``version`` is None when the server did not say)."""

    id: str
    version: int | None
    source: dict[str, Any]


@dataclass(frozen=True)
class BulkAction:
    """One write of a bulk request: index ``source`` as document ``id`` of ``index``, or delete it.

    With ``external_version`` the write uses external versioning: the server refuses it (409) unless
    the version is above the stored document's (or the deleted document's, within ``gc_deletes``)."""

    op: BulkOperation
    index: str
    id: str
    source: Mapping[str, Any] | None = None
    external_version: int | None = None

    def __post_init__(self) -> None:
        if (self.op == "index") != (self.source is not None):
            raise ValueError("an index action needs a source and a delete action none")

    @cached_property
    def ndjson(self) -> bytes:
        """The action's lines of a ``_bulk`` body, each ending in a newline."""
        header: dict[str, Any] = {"_index": self.index, "_id": self.id}
        if self.external_version is not None:
            header["version"] = self.external_version
            header["version_type"] = "external"
        lines = [_json({self.op: header})]
        if self.source is not None:
            lines.append(_json(self.source))
        return b"".join(line + b"\n" for line in lines)


@dataclass(frozen=True)
class BulkItemResult:
    """The server's answer to one ``BulkAction``: its HTTP ``status`` and, for a refusal, the error."""

    op: BulkOperation
    index: str
    id: str
    status: int
    result: str | None = None
    """``created``, ``updated``, ``deleted``, ``not_found`` or ``noop`` when the write got through."""
    version: int | None = None
    error_type: str | None = None
    error_reason: str | None = None

    @property
    def succeeded(self) -> bool:
        return 200 <= self.status < 300


@dataclass(frozen=True)
class IndexDescription:
    """One concrete index as ``GET <index>?flat_settings`` returns it."""

    aliases: dict[str, Any] = field(default_factory=dict)
    mappings: dict[str, Any] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)
    """Flat, with ``index.`` prefixes and the server's (text) values: ``{"index.number_of_shards": "1"}``."""

    def as_dict(self) -> dict[str, Any]:
        return {"aliases": self.aliases, "mappings": self.mappings, "settings": self.settings}


class SearchStore(Protocol):
    """The search-server operations graphdex uses; nothing else reaches the server."""

    @property
    def url(self) -> str:
        """Where the server is (for messages); ``memory://`` for the in-memory store."""
        ...

    def info(self) -> EngineInfo: ...

    # -- index templates ------------------------------------------------------------------------
    def get_index_template(self, name: str) -> dict[str, Any] | None:
        """The body of composable index template ``name`` (``index_patterns``, ``template``, ...), or None."""
        ...

    def put_index_template(self, name: str, body: Mapping[str, Any]) -> None: ...
    def delete_index_template(self, name: str) -> None: ...

    # -- indexes --------------------------------------------------------------------------------
    def create_index(
        self,
        name: str,
        *,
        settings: Mapping[str, Any] | None = None,
        mappings: Mapping[str, Any] | None = None,
        aliases: Sequence[str] = (),
    ) -> None:
        """Create index ``name``; what is not given comes from the matching index template."""
        ...

    def delete_index(self, name: str) -> None: ...

    def get_indices(self, pattern: str) -> dict[str, IndexDescription]:
        """The concrete indexes (open or closed) that ``pattern`` (a name, alias or wildcard) names;
        empty when there are none."""
        ...

    def put_index_settings(self, name: str, settings: Mapping[str, Any]) -> None: ...

    def put_mapping(self, name: str, mappings: Mapping[str, Any]) -> None:
        """Add the fields of ``mappings["properties"]`` and/or replace ``mappings["_meta"]``."""
        ...

    def refresh(self, index: str) -> None:
        """Make every write so far visible to searches and counts."""
        ...

    # -- aliases --------------------------------------------------------------------------------
    def alias_targets(self, alias: str) -> list[str]:
        """The concrete indexes behind ``alias``, sorted; empty when there is no such alias."""
        ...

    def update_aliases(self, actions: Sequence[Mapping[str, Any]]) -> None:
        """``add`` / ``remove`` actions (``{"add": {"index": ..., "alias": ...}}``), applied atomically."""
        ...

    # -- documents ------------------------------------------------------------------------------
    def bulk(self, actions: Sequence[BulkAction], *, refresh: bool = False) -> list[BulkItemResult]:
        """Send ``actions`` in one request; one result per action, in order. A refusal of one item is
        in its result; a refusal of the whole request raises."""
        ...

    def mget(
        self, index: str, ids: Sequence[str], *, source_includes: Sequence[str] | None = None
    ) -> dict[str, StoredDocument]:
        """The documents of ``ids`` that ``index`` holds now (real time: no refresh needed), by id."""
        ...

    def search(self, index: str, body: Mapping[str, Any], *, timeout: float | None = None) -> dict[str, Any]:
        """The response of ``POST <index>/_search`` with ``body`` (queries, ``sort``, ``search_after``,
        ``aggs``, ``highlight``, ``suggest``); ``timeout`` bounds the request in seconds."""
        ...

    def count(self, index: str, query: Mapping[str, Any] | None = None) -> int: ...

    def close(self) -> None: ...


def bulk_chunks(actions: Sequence[BulkAction], max_actions: int, max_bytes: int) -> Iterator[list[BulkAction]]:
    """``actions`` in consecutive requests of at most ``max_actions`` actions and ``max_bytes`` bytes
    (a single action larger than ``max_bytes`` goes alone)."""
    chunk: list[BulkAction] = []
    size = 0
    for action in actions:
        length = len(action.ndjson)
        if chunk and (len(chunk) >= max_actions or size + length > max_bytes):
            yield chunk
            chunk, size = [], 0
        chunk.append(action)
        size += length
    if chunk:
        yield chunk


def encode_bulk(actions: Sequence[BulkAction]) -> bytes:
    return b"".join(action.ndjson for action in actions)


def read_bulk_items(actions: Sequence[BulkAction], response: Mapping[str, Any]) -> list[BulkItemResult]:
    """The per-item results of a ``_bulk`` response, one per action."""
    items = response.get("items") or []
    if len(items) != len(actions):
        raise ValueError(f"the bulk response has {len(items)} items for {len(actions)} actions")
    results: list[BulkItemResult] = []
    for action, item in zip(actions, items, strict=True):
        ((_, answer),) = item.items()
        error = answer.get("error")
        error_type, error_reason = (None, None) if error is None else server_reason({"error": error}, str(error))
        version = answer.get("_version")
        results.append(
            BulkItemResult(
                op=action.op,
                index=str(answer.get("_index") or action.index),
                id=action.id,
                status=int(answer.get("status") or 0),
                result=answer.get("result"),
                version=version if isinstance(version, int) else None,
                error_type=error_type,
                error_reason=error_reason,
            )
        )
    return results


def stored_document(hit: Mapping[str, Any]) -> StoredDocument:
    """A search hit or an ``mget`` entry as a ``StoredDocument``."""
    version = hit.get("_version")
    return StoredDocument(
        str(hit["_id"]), int(version) if version is not None else None, dict(hit.get("_source") or {})
    )


def engine_info(body: Mapping[str, Any]) -> EngineInfo:
    """``GET /``'s answer: OpenSearch says ``version.distribution: opensearch``; Elasticsearch says nothing."""
    version = body.get("version") if isinstance(body.get("version"), Mapping) else {}
    engine: Engine = "opensearch" if version.get("distribution") == "opensearch" else "elasticsearch"
    return EngineInfo(engine, str(version.get("number", "unknown")))


def flatten_settings(settings: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested settings as flat dotted keys with the text values servers return (``index.`` dropped)."""
    flat: dict[str, Any] = {}
    for key, value in settings.items():
        name = f"{prefix}{key}"
        if not prefix and name.startswith("index."):
            name = name.removeprefix("index.")
        if not prefix and name == "index" and isinstance(value, Mapping):
            flat.update(flatten_settings(value))
        elif isinstance(value, Mapping):
            flat.update(flatten_settings(value, f"{name}."))
        elif isinstance(value, list | tuple):
            flat[name] = [_setting_text(item) for item in value]
        else:
            flat[name] = _setting_text(value)
    return flat


def _setting_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _json(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=_json_value).encode()


def _json_value(value: Any) -> Any:
    """What the client libraries' serializers send for values JSON has no type for: a date or datetime
    (documents decoded from Avro carry ``timestamp-millis`` fields as datetimes) as ISO 8601 text."""
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, Decimal):
        return float(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")
