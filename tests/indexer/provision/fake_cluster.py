"""An in-memory ``SearchAdmin`` that stores what it is sent the way a search server returns it.

Like Elasticsearch and OpenSearch, it leaves the implicit ``type: object`` out of returned mappings,
returns settings flat with ``index.`` prefixes and text values, merges ``put_mapping`` properties
into the mapping and replaces ``_meta``. Every write is also recorded in ``writes``.
"""

from __future__ import annotations

import copy
import fnmatch
from collections.abc import Mapping, Sequence
from typing import Any

from indexer.provision.diff import flatten_settings
from indexer.provision.search_cluster import StoredDocument
from schema_gen.errors import ServiceError


def _as_returned(mapping: Mapping[str, Any]) -> dict[str, Any]:
    field = {key: value for key, value in mapping.items() if not (key == "type" and value == "object")}
    for structural in ("properties", "fields"):
        if structural in field:
            field[structural] = {name: _as_returned(child) for name, child in field[structural].items()}
    return field


def _merge(current: dict[str, Any], added: Mapping[str, Any]) -> None:
    for name, mapping in added.items():
        if name not in current:
            current[name] = _as_returned(mapping)
            continue
        have = current[name]
        wanted = _as_returned(mapping)
        for key, value in wanted.items():
            if key in ("properties", "fields"):
                _merge(have.setdefault(key, {}), mapping[key])
            elif have.get(key) != value:
                raise ServiceError(f"mapper [{name}] cannot change {key} from {have.get(key)} to {value}")


class FakeSearchCluster:
    """Templates, indexes (mappings, flat settings, aliases, documents) in dictionaries."""

    def __init__(self) -> None:
        self.templates: dict[str, dict[str, Any]] = {}
        self.indexes: dict[str, dict[str, Any]] = {}
        self.documents_by_index: dict[str, dict[str, StoredDocument]] = {}
        self.writes: list[str] = []

    # -- reads ----------------------------------------------------------------------------------

    def get_template(self, name: str) -> dict[str, Any] | None:
        return copy.deepcopy(self.templates.get(name))

    def get_indices(self, pattern: str) -> dict[str, dict[str, Any]]:
        return {name: copy.deepcopy(info) for name, info in self.indexes.items() if fnmatch.fnmatch(name, pattern)}

    def alias_targets(self, alias: str) -> list[str]:
        return sorted(name for name, info in self.indexes.items() if alias in info["aliases"])

    def is_concrete_index(self, name: str) -> bool:
        return name in self.indexes

    def count(self, index: str) -> int:
        concrete = index in self.indexes or index in self.documents_by_index
        names = [index] if concrete else self.alias_targets(index)
        return sum(len(self.documents_by_index.get(name, {})) for name in names)

    def refresh(self, index: str) -> None:
        self.writes.append(f"refresh {index}")

    def sample(self, index: str, size: int, seed: int) -> list[StoredDocument]:
        return list(self.documents_by_index.get(index, {}).values())[:size]

    def documents(self, index: str, ids: Sequence[str]) -> dict[str, StoredDocument]:
        stored = self.documents_by_index.get(index, {})
        return {document_id: stored[document_id] for document_id in ids if document_id in stored}

    # -- writes ---------------------------------------------------------------------------------

    def put_template(self, name: str, body: Mapping[str, Any]) -> None:
        self.writes.append(f"put template {name}")
        self.templates[name] = copy.deepcopy(dict(body))

    def create_index(self, name: str, settings: Mapping[str, Any], mappings: Mapping[str, Any]) -> None:
        self.writes.append(f"create {name}")
        if name in self.indexes:
            raise ServiceError(f"index {name} already exists")
        flat = {f"index.{key}": value for key, value in flatten_settings(settings).items()}
        self.indexes[name] = {"aliases": {}, "mappings": _as_returned(mappings), "settings": flat}

    def put_mapping(self, name: str, mappings: Mapping[str, Any]) -> None:
        self.writes.append(f"put mapping {name}")
        current = self.indexes[name]["mappings"]
        if "properties" in mappings:
            _merge(current.setdefault("properties", {}), mappings["properties"])
        if "_meta" in mappings:
            current["_meta"] = copy.deepcopy(dict(mappings["_meta"]))

    def put_settings(self, name: str, settings: Mapping[str, Any]) -> None:
        self.writes.append(f"put settings {name}")
        for key, value in flatten_settings(settings).items():
            self.indexes[name]["settings"][f"index.{key}"] = value

    def update_aliases(self, actions: Sequence[Mapping[str, Any]]) -> None:
        self.writes.append("update aliases " + ", ".join(f"{next(iter(action))}" for action in actions))
        for action in actions:
            ((verb, target),) = action.items()
            aliases = self.indexes[target["index"]]["aliases"]
            if verb == "add":
                aliases[target["alias"]] = {}
            else:
                aliases.pop(target["alias"], None)

    def delete_index(self, name: str) -> None:
        self.writes.append(f"delete {name}")
        del self.indexes[name]
        self.documents_by_index.pop(name, None)

    def delete_template(self, name: str) -> None:
        self.writes.append(f"delete template {name}")
        del self.templates[name]

    # -- test helpers -----------------------------------------------------------------------------

    def store(self, index: str, documents: Mapping[str, dict[str, Any]]) -> None:
        """Put documents into ``index`` (as a backfill would)."""
        target = self.documents_by_index.setdefault(index, {})
        for document_id, source in documents.items():
            target[document_id] = StoredDocument(document_id, 1, source)
