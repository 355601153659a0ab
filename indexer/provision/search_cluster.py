"""The search-cluster calls provisioning makes, in one thin adapter: index templates, versions, mappings,
settings and aliases. Server errors become ``ServiceError`` naming the request; a missing object is
None (or an empty result) for reads.

``SearchAdmin`` is the interface the planner, the executor and status use; ``SearchCluster`` sends
the requests, ``indexer.provision.dry_run.DryRunSearchCluster`` forwards reads and records writes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from elasticsearch import ApiError, Elasticsearch, NotFoundError, TransportError

from indexer.es_client import server_reason
from schema_gen.errors import ServiceError

T = TypeVar("T")


@dataclass(frozen=True)
class StoredDocument:
    """A document as an index holds it."""

    id: str
    version: int | None
    source: dict[str, Any]


class SearchAdmin(Protocol):
    """Reads and writes provisioning makes on the search cluster."""

    def get_template(self, name: str) -> dict[str, Any] | None: ...
    def get_indices(self, pattern: str) -> dict[str, dict[str, Any]]: ...
    def alias_targets(self, alias: str) -> list[str]: ...
    def is_concrete_index(self, name: str) -> bool: ...
    def count(self, index: str) -> int: ...
    def refresh(self, index: str) -> None: ...
    def sample(self, index: str, size: int, seed: int) -> list[StoredDocument]: ...
    def documents(self, index: str, ids: Sequence[str]) -> dict[str, StoredDocument]: ...
    def put_template(self, name: str, body: Mapping[str, Any]) -> None: ...
    def create_index(self, name: str, settings: Mapping[str, Any], mappings: Mapping[str, Any]) -> None: ...
    def put_mapping(self, name: str, mappings: Mapping[str, Any]) -> None: ...
    def put_settings(self, name: str, settings: Mapping[str, Any]) -> None: ...
    def update_aliases(self, actions: Sequence[Mapping[str, Any]]) -> None: ...
    def delete_index(self, name: str) -> None: ...
    def delete_template(self, name: str) -> None: ...


class SearchCluster:
    """``SearchAdmin`` over an Elasticsearch client (from ``indexer.es_client.build_client``)."""

    def __init__(self, client: Elasticsearch) -> None:
        self.client = client

    def _call(self, request: str, send: Callable[[], T]) -> T:
        try:
            return send()
        except ApiError as exc:
            raise ServiceError(f"the search server refused {request}: {server_reason(exc)}") from exc
        except TransportError as exc:
            raise ServiceError(f"cannot reach the search server ({request}): {exc.message}") from exc

    def _read(self, request: str, send: Callable[[], T]) -> T | None:
        try:
            return self._call(request, send)
        except ServiceError as error:
            if isinstance(error.__cause__, NotFoundError):
                return None
            raise

    def get_template(self, name: str) -> dict[str, Any] | None:
        """The body of index template ``name``, or None."""
        response = self._read(f"GET _index_template/{name}", lambda: self.client.indices.get_index_template(name=name))
        if response is None:
            return None
        for entry in response.body.get("index_templates", []):
            if entry.get("name") == name:
                template: dict[str, Any] = entry["index_template"]
                return template
        return None

    def get_indices(self, pattern: str) -> dict[str, dict[str, Any]]:
        """Concrete indexes matching ``pattern``: name -> ``{aliases, mappings, settings}`` (flat settings)."""
        response = self._read(
            f"GET {pattern}",
            lambda: self.client.indices.get(
                index=pattern, flat_settings=True, allow_no_indices=True, expand_wildcards="open,closed"
            ),
        )
        return {} if response is None else dict(response.body)

    def alias_targets(self, alias: str) -> list[str]:
        """The concrete indexes behind ``alias`` (empty when there is no such alias)."""
        response = self._read(f"GET _alias/{alias}", lambda: self.client.indices.get_alias(name=alias))
        return [] if response is None else sorted(response.body)

    def is_concrete_index(self, name: str) -> bool:
        """An index (not an alias) named ``name`` exists."""
        response = self._read(f"GET {name}", lambda: self.client.indices.get(index=name))
        return response is not None and name in response.body

    def count(self, index: str) -> int:
        response = self._call(f"GET {index}/_count", lambda: self.client.count(index=index))
        return int(response.body["count"])

    def refresh(self, index: str) -> None:
        self._call(f"POST {index}/_refresh", lambda: self.client.indices.refresh(index=index))

    def sample(self, index: str, size: int, seed: int) -> list[StoredDocument]:
        """Up to ``size`` documents of ``index`` drawn at random (the same ones for the same seed)."""
        query = {"function_score": {"query": {"match_all": {}}, "random_score": {"seed": seed, "field": "_seq_no"}}}
        response = self._call(
            f"GET {index}/_search (sample)",
            lambda: self.client.search(index=index, size=size, query=query, version=True),
        )
        return [_stored(hit) for hit in response.body["hits"]["hits"]]

    def documents(self, index: str, ids: Sequence[str]) -> dict[str, StoredDocument]:
        """The documents of ``index`` with these ids that exist."""
        if not ids:
            return {}
        response = self._call(f"GET {index}/_mget", lambda: self.client.mget(index=index, ids=list(ids)))
        return {doc["_id"]: _stored(doc) for doc in response.body["docs"] if doc.get("found")}

    def put_template(self, name: str, body: Mapping[str, Any]) -> None:
        self._call(
            f"PUT _index_template/{name}",
            lambda: self.client.indices.put_index_template(
                name=name,
                index_patterns=body["index_patterns"],
                priority=body.get("priority"),
                template=body.get("template"),
                meta=body.get("_meta"),
            ),
        )

    def create_index(self, name: str, settings: Mapping[str, Any], mappings: Mapping[str, Any]) -> None:
        self._call(
            f"PUT {name}",
            lambda: self.client.indices.create(index=name, settings=dict(settings), mappings=dict(mappings)),
        )

    def put_mapping(self, name: str, mappings: Mapping[str, Any]) -> None:
        """Add fields (``properties``) and/or replace ``_meta`` of index ``name``."""
        self._call(
            f"PUT {name}/_mapping",
            lambda: self.client.indices.put_mapping(
                index=name, properties=mappings.get("properties"), meta=mappings.get("_meta")
            ),
        )

    def put_settings(self, name: str, settings: Mapping[str, Any]) -> None:
        self._call(
            f"PUT {name}/_settings", lambda: self.client.indices.put_settings(index=name, settings=dict(settings))
        )

    def update_aliases(self, actions: Sequence[Mapping[str, Any]]) -> None:
        """All ``actions`` in one atomic request."""
        self._call("POST _aliases", lambda: self.client.indices.update_aliases(actions=list(actions)))

    def delete_index(self, name: str) -> None:
        self._call(f"DELETE {name}", lambda: self.client.indices.delete(index=name))

    def delete_template(self, name: str) -> None:
        self._call(f"DELETE _index_template/{name}", lambda: self.client.indices.delete_index_template(name=name))


def _stored(hit: Mapping[str, Any]) -> StoredDocument:
    version = hit.get("_version")
    source = dict(hit.get("_source") or {})
    return StoredDocument(str(hit["_id"]), int(version) if version is not None else None, source)
