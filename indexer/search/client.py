"""``SearchClient``: what applications call to search an index, knowing it only from its catalogue.

::

    client = SearchClient.from_catalogue("movies.fields.json", open_search_store(settings))
    page = client.search(
        "deadpool",
        filter='credits.any(talent.name == "Ryan Reynolds" and role == "ACTOR")',
        facets=["genres"],
        sort=["-releaseYear"],
        first=10,
    )
    more = client.search("deadpool", filter=..., sort=["-releaseYear"], after=page.next_cursor)

Requests are checked against the catalogue and ``SearchLimits`` before anything is sent; server
failures become ``ServiceError`` (``StoreError`` subclasses, saying what failed for this search).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from indexer.catalogue import Catalogue, load_catalogue, parse_catalogue
from indexer.definition import IndexDefinition, load_definition
from indexer.search.expressions import Expression
from indexer.search.limits import SearchLimits
from indexer.search.query_builder import FacetRequest, QueryBuilder, SearchPlan
from indexer.search.results import SearchResult, Suggestion, read_search_response, read_suggestions
from indexer.search_store import SearchStore, open_search_store
from indexer.search_store.translation import TIMED_OUT
from schema_gen.catalogue import field_catalogue
from schema_gen.config import IndexConfig
from schema_gen.errors import ServiceError, StoreError, StoreNotFound, StoreRejected, StoreUnavailable


class SearchClient:
    """Searches one index (its alias, ``catalogue.index``) through a search store."""

    def __init__(
        self,
        catalogue: Catalogue,
        store: SearchStore,
        *,
        limits: SearchLimits | None = None,
        index: str | None = None,
    ) -> None:
        self.catalogue = catalogue
        self.store = store
        self.limits = limits or SearchLimits()
        self.index = index or catalogue.index
        self.builder = QueryBuilder(catalogue, self.limits)

    @classmethod
    def from_catalogue(
        cls,
        catalogue: Catalogue | Mapping[str, Any] | str | Path,
        store: SearchStore,
        *,
        limits: SearchLimits | None = None,
        index: str | None = None,
    ) -> SearchClient:
        """A client from a catalogue object, its parsed JSON, or the path of a ``.fields.json`` file."""
        if isinstance(catalogue, str | Path):
            catalogue = load_catalogue(catalogue)
        elif not isinstance(catalogue, Catalogue):
            catalogue = parse_catalogue(catalogue, "field catalogue")
        return cls(catalogue, store, limits=limits, index=index)

    @classmethod
    def from_definition(
        cls,
        path: str | Path,
        *,
        store: SearchStore | None = None,
        limits: SearchLimits | None = None,
        env: Mapping[str, str] | None = None,
    ) -> SearchClient:
        """A client for the index of a YAML definition: its catalogue as generated now, and (unless
        ``store`` is given) the store its ``elasticsearch`` section describes. ``env`` fills ``${VAR}``."""
        definition = load_definition(path, env)
        catalogue = definition_catalogue(definition)
        return cls(catalogue, store or open_search_store(definition.config.elasticsearch), limits=limits)

    def plan(
        self,
        text: str | None = None,
        *,
        filter: str | Expression | None = None,
        facets: Sequence[str | FacetRequest] = (),
        sort: Sequence[str] = (),
        first: int = 20,
        after: str | None = None,
        highlight: bool = False,
        fields: Sequence[str] | None = None,
    ) -> SearchPlan:
        """The checked request body of ``search`` with these arguments, without sending it."""
        return self.builder.build(
            text=text,
            filter=filter,
            facets=facets,
            sort=sort,
            first=first,
            after=after,
            highlight=highlight,
            fields=fields,
        )

    def search(
        self,
        text: str | None = None,
        *,
        filter: str | Expression | None = None,
        facets: Sequence[str | FacetRequest] = (),
        sort: Sequence[str] = (),
        first: int = 20,
        after: str | None = None,
        highlight: bool = False,
        fields: Sequence[str] | None = None,
    ) -> SearchResult:
        """One page of documents matching ``text`` and ``filter``, with facet counts and a cursor.

        ``sort`` keys are field paths, ``-path`` for descending, or ``_score`` (relevance, the default
        when there is text); the id field always breaks ties. ``after`` is a ``next_cursor``.
        """
        plan = self.plan(
            text,
            filter=filter,
            facets=facets,
            sort=sort,
            first=first,
            after=after,
            highlight=highlight,
            fields=fields,
        )
        return read_search_response(plan, self._send(plan.body))

    def suggest(self, prefix: str, size: int = 10) -> list[Suggestion]:
        """Up to ``size`` distinct values of autocomplete fields with words starting like ``prefix``."""
        body = self.builder.suggest_body(prefix, size)
        if not prefix.strip():
            return []
        paths = [entry.path for entry in self.catalogue.autocomplete_fields()]
        return read_suggestions(self._send(body), paths, prefix, size)

    def _send(self, body: dict[str, Any]) -> Mapping[str, Any]:
        try:
            result = self.store.search(self.index, body, timeout=self.limits.timeout)
        except StoreNotFound as exc:
            raise StoreNotFound(f"search index {self.index} does not exist: {exc.reason}", **_details(exc)) from exc
        except StoreRejected as exc:
            message = f"the search server refused the search on {self.index}: {exc.reason}"
            raise StoreRejected(message, **_details(exc)) from exc
        except StoreUnavailable as exc:
            if exc.error_type == TIMED_OUT:
                message = f"the search on {self.index} took longer than {self.limits.timeout:g}s"
                raise StoreUnavailable(message, **_details(exc)) from exc
            raise
        if result.get("timed_out"):
            raise ServiceError(f"the search on {self.index} took longer than {self.limits.timeout:g}s; narrow it down")
        failures = (result.get("_shards") or {}).get("failures") or []
        if failures:
            reason = (failures[0].get("reason") or {}).get("reason", "unknown reason")
            raise ServiceError(f"the search on {self.index} failed on {len(failures)} shard(s): {reason}")
        return result


def _details(error: StoreError) -> dict[str, Any]:
    return {"request": error.request, "status": error.status, "error_type": error.error_type, "reason": error.reason}


def definition_catalogue(definition: IndexDefinition) -> Catalogue:
    """The catalogue of a loaded definition as generated now, knowing its excluded paths."""
    data = field_catalogue(definition.model, definition.config)
    catalogue = parse_catalogue(data, f"{definition.path} (catalogue)")
    return catalogue.with_excluded(excluded_paths(definition.config))


def excluded_paths(config: IndexConfig) -> list[str]:
    """Paths the definition leaves out of the index, so that searches on them say why they fail."""
    return [path for path, options in config.fields.items() if options.exclude]
