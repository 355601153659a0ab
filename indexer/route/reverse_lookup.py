"""Reverse lookups: which root documents embed these related entities?

Derived from the field catalogue, never hand-written: the catalogue lists every path at which a
related type appears in the document and its key paths. One lookup batches many changed keys into
``terms`` queries, covers every path (nested-aware), and pages through the matching root ids with
``search_after`` on the id field, so an entity embedded in 50,000 documents uses bounded memory.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from indexer.catalogue import Catalogue, CatalogueEntity
from indexer.search_store import SearchStore
from schema_gen.config import ReverseLookupSettings
from schema_gen.errors import ArtifactError, StoreNotFound

METADATA_FETCHED_AT = "graphdex.fetched_at"


class ReverseLookup:
    """Finds root document ids whose documents contain given entities at any of their paths."""

    def __init__(
        self, store: SearchStore, alias: str, catalogue: Catalogue, settings: ReverseLookupSettings
    ) -> None:
        self._store = store
        self._alias = alias
        self._catalogue = catalogue
        self._settings = settings
        id_entry = catalogue.id_entry
        self._id_sort_path = id_entry.term_path if id_entry else catalogue.id_field

    def related_types(self) -> set[str]:
        """Types embedded somewhere below the root (the root entity itself is not a relation)."""
        return {entity.type for entity in self._catalogue.entities if entity.path}

    def paths_for(self, entity_type: str) -> list[CatalogueEntity]:
        return [entity for entity in self._catalogue.entities if entity.type == entity_type and entity.path]

    def query_for(
        self, entity_type: str, keys: Sequence[tuple[str, ...]], fetched_before_ms: int | None = None
    ) -> dict[str, Any]:
        """The query matching documents that embed any of ``keys`` of ``entity_type``, at any path."""
        entities = self.paths_for(entity_type)
        if not entities:
            raise ArtifactError(f"type {entity_type} appears nowhere in the documents of index {self._catalogue.index}")
        clauses = [self._path_clause(entity, keys) for entity in entities]
        query: dict[str, Any] = {"bool": {"should": clauses, "minimum_should_match": 1}}
        if fetched_before_ms is not None:
            query["bool"]["filter"] = [{"range": {METADATA_FETCHED_AT: {"lt": fetched_before_ms}}}]
        return query

    def root_ids(
        self, entity_type: str, keys: Sequence[tuple[str, ...]], fetched_before_ms: int | None = None
    ) -> Iterator[list[str]]:
        """Pages of root ids (each at most ``page_size``); nothing when the index does not exist yet."""
        unique = list(dict.fromkeys(keys))
        for start in range(0, len(unique), self._settings.terms_batch):
            batch = unique[start : start + self._settings.terms_batch]
            yield from self._pages(self.query_for(entity_type, batch, fetched_before_ms))

    def _pages(self, query: dict[str, Any]) -> Iterator[list[str]]:
        after: list[Any] | None = None
        while True:
            body: dict[str, Any] = {
                "query": query,
                "size": self._settings.page_size,
                "sort": [{self._id_sort_path: "asc"}],
                "_source": False,
                "track_total_hits": False,
            }
            if after is not None:
                body["search_after"] = after
            try:
                response = self._store.search(self._alias, body)
            except StoreNotFound:
                return  # no index yet (first start): nothing embeds anything
            hits = response["hits"]["hits"]
            if not hits:
                return
            yield [hit["_id"] for hit in hits]
            if len(hits) < self._settings.page_size:
                return
            after = hits[-1]["sort"]

    def _path_clause(self, entity: CatalogueEntity, keys: Sequence[tuple[str, ...]]) -> dict[str, Any]:
        term_paths = [self._term_path(path) for path in entity.key_paths]
        if len(term_paths) == 1:
            clause: dict[str, Any] = {"terms": {term_paths[0]: [key[0] for key in keys]}}
        else:
            clause = {
                "bool": {
                    "should": [
                        {
                            "bool": {
                                "filter": [{"term": {path: value}} for path, value in zip(term_paths, key, strict=True)]
                            }
                        }
                        for key in keys
                    ],
                    "minimum_should_match": 1,
                }
            }
        # Wrap from the innermost nested object outwards, so that every key field of one entity is
        # matched inside the same nested element.
        for nested in reversed(self._catalogue.nested_chain(entity.key_paths[0])):
            clause = {"nested": {"path": nested, "query": clause}}
        return clause

    def _term_path(self, path: str) -> str:
        entry = self._catalogue.field(path)
        return entry.term_path if entry else path
