"""The search-cluster calls provisioning makes, in one thin adapter: index templates, versions, mappings,
settings and aliases. Server errors are ``StoreError``s (``ServiceError``s) naming the request; a
missing object is None (or an empty result) for reads.

``SearchAdmin`` is the interface the planner, the executor and status use; ``SearchCluster`` sends
the requests through a ``SearchStore``, ``indexer.provision.dry_run.DryRunSearchCluster`` forwards
reads and records writes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from indexer.search_store import SearchStore, StoredDocument
from indexer.search_store.model import stored_document

__all__ = ["SearchAdmin", "SearchCluster", "StoredDocument"]


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
    """``SearchAdmin`` over a ``SearchStore`` (from ``indexer.search_store.open_search_store``)."""

    def __init__(self, store: SearchStore) -> None:
        self.store = store

    def get_template(self, name: str) -> dict[str, Any] | None:
        """The body of index template ``name``, or None."""
        return self.store.get_index_template(name)

    def get_indices(self, pattern: str) -> dict[str, dict[str, Any]]:
        """Concrete indexes matching ``pattern``: name -> ``{aliases, mappings, settings}`` (flat settings)."""
        return {name: found.as_dict() for name, found in self.store.get_indices(pattern).items()}

    def alias_targets(self, alias: str) -> list[str]:
        """The concrete indexes behind ``alias`` (empty when there is no such alias)."""
        return self.store.alias_targets(alias)

    def is_concrete_index(self, name: str) -> bool:
        """An index (not an alias) named ``name`` exists."""
        return name in self.store.get_indices(name)

    def count(self, index: str) -> int:
        return self.store.count(index)

    def refresh(self, index: str) -> None:
        self.store.refresh(index)

    def sample(self, index: str, size: int, seed: int) -> list[StoredDocument]:
        """Up to ``size`` documents of ``index`` drawn at random (the same ones for the same seed)."""
        query = {"function_score": {"query": {"match_all": {}}, "random_score": {"seed": seed, "field": "_seq_no"}}}
        response = self.store.search(index, {"size": size, "query": query, "version": True})
        return [stored_document(hit) for hit in response["hits"]["hits"]]

    def documents(self, index: str, ids: Sequence[str]) -> dict[str, StoredDocument]:
        """The documents of ``index`` with these ids that exist."""
        return self.store.mget(index, ids)

    def put_template(self, name: str, body: Mapping[str, Any]) -> None:
        self.store.put_index_template(name, body)

    def create_index(self, name: str, settings: Mapping[str, Any], mappings: Mapping[str, Any]) -> None:
        self.store.create_index(name, settings=settings, mappings=mappings)

    def put_mapping(self, name: str, mappings: Mapping[str, Any]) -> None:
        """Add fields (``properties``) and/or replace ``_meta`` of index ``name``."""
        self.store.put_mapping(name, mappings)

    def put_settings(self, name: str, settings: Mapping[str, Any]) -> None:
        self.store.put_index_settings(name, settings)

    def update_aliases(self, actions: Sequence[Mapping[str, Any]]) -> None:
        """All ``actions`` in one atomic request."""
        self.store.update_aliases(actions)

    def delete_index(self, name: str) -> None:
        self.store.delete_index(name)

    def delete_template(self, name: str) -> None:
        self.store.delete_index_template(name)
