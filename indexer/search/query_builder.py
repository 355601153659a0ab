"""One search request -> one Elasticsearch search body, checked against the catalogue and the limits.

Nothing here talks to a server: ``QueryBuilder.build`` returns a ``SearchPlan`` (the body plus what
is needed to read the response), so request bodies can be tested directly.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from indexer.catalogue import Catalogue, CatalogueField
from indexer.search.cursor import decode_cursor, fingerprint
from indexer.search.expressions import Expression, render
from indexer.search.filter_compiler import MATCH_ALL, FieldResolver, FilterCompiler, Query, wrap_nested
from indexer.search.filter_parser import parse_filter
from indexer.search.fulltext import field_groups, highlight_parts, parse_text, suggest_query, text_query
from indexer.search.limits import SearchLimits
from schema_gen.errors import Problem, SearchError

SCORE = "_score"


@dataclass(frozen=True)
class FacetRequest:
    """Count root documents per value of ``path`` (the ``size`` most frequent values)."""

    path: str
    size: int = 10


@dataclass(frozen=True)
class FacetPlan:
    """How to read one facet back from the aggregations of the response."""

    name: str
    path: str
    kind: str
    chain: tuple[str, ...]


@dataclass(frozen=True)
class SearchPlan:
    """A search body and what is needed to turn the response into a ``SearchResult``."""

    index: str
    body: dict[str, Any]
    first: int
    fingerprint: str
    facets: tuple[FacetPlan, ...]
    score_positions: tuple[int, ...] = ()
    """Positions of ``_score`` among the sort values (scores are 32-bit floats)."""


class QueryBuilder:
    """Builds search bodies for one catalogue within ``limits``."""

    def __init__(self, catalogue: Catalogue, limits: SearchLimits) -> None:
        self.catalogue = catalogue
        self.limits = limits
        self.filters = FilterCompiler(catalogue, limits)
        self.fields = FieldResolver(catalogue)

    def parse_filter(self, filter: str | Expression | None) -> tuple[Expression | None, str | None]:
        """The expression of a filter string (parsed) or expression (as given), and its source text."""
        if filter is None or (isinstance(filter, str) and not filter.strip()):
            return None, None
        if isinstance(filter, str):
            problems: list[Problem] = []
            self.limits.check_count("filter", "characters", len(filter), self.limits.max_filter_length, problems)
            if problems:
                raise SearchError("invalid search request", problems)
            return parse_filter(filter), filter
        return filter, None

    def build(
        self,
        *,
        text: str | None = None,
        filter: str | Expression | None = None,
        facets: Sequence[str | FacetRequest] = (),
        sort: Sequence[str] = (),
        first: int = 20,
        after: str | None = None,
        highlight: bool = False,
        fields: Sequence[str] | None = None,
    ) -> SearchPlan:
        """The plan for one search; ``SearchError`` lists every problem of the request at once."""
        problems: list[Problem] = []
        expression, source = self.parse_filter(filter)
        must: list[Query] = []
        filters: list[Query] = []
        if expression is not None:
            try:
                filters.append(self.filters.compile(expression, source))
            except SearchError as error:
                problems.extend(error.problems)
        units = parse_text(text or "")
        self.limits.check_count("text", "words and phrases", len(units), self.limits.max_text_terms, problems)
        body: dict[str, Any] = {}
        if units:
            groups = field_groups(self.catalogue.fulltext_fields(), self.catalogue)
            if not groups:
                problems.append(Problem("text", f"index {self.catalogue.index} has no full-text fields"))
            must += text_query(units, groups)
            if highlight and groups:
                section, nested_clauses = highlight_parts(units, groups)
                if section:
                    body["highlight"] = section
                filters += nested_clauses
        self.limits.check_page_size(first, problems)
        sort_clauses, sort_keys = self._sort(sort, bool(units), problems)
        facet_plans, aggregations = self._facets(facets, problems)
        source_filter = self._projection(fields, problems)
        if problems:
            raise SearchError("invalid search request", problems)
        search_fingerprint = fingerprint(text or "", render(expression) if expression else None, sort_keys)
        if must or filters:
            body["query"] = {"bool": {"must": must, "filter": filters}}
        else:
            body["query"] = MATCH_ALL
        body.update(
            size=first + 1 if first else 0,
            sort=sort_clauses,
            track_total_hits=self.limits.track_total_hits,
            timeout=f"{round(self.limits.timeout * 1000)}ms",
        )
        if aggregations:
            body["aggs"] = aggregations
        if source_filter is not None:
            body["_source"] = source_filter
        if after:
            body["search_after"] = decode_cursor(after, search_fingerprint, len(sort_clauses))
        scores = tuple(number for number, clause in enumerate(sort_clauses) if SCORE in clause)
        return SearchPlan(self.catalogue.index, body, first, search_fingerprint, tuple(facet_plans), scores)

    def suggest_body(self, prefix: str, size: int) -> dict[str, Any]:
        """The body of a suggestion request on the autocomplete fields."""
        problems: list[Problem] = []
        if not 1 <= size <= self.limits.max_suggestions:
            problems.append(Problem("size", f"must be 1 to {self.limits.max_suggestions}, got {size}"))
        entries = self.catalogue.autocomplete_fields()
        if not entries:
            problems.append(Problem("suggest", f"index {self.catalogue.index} has no autocomplete fields"))
        if problems:
            raise SearchError("invalid suggestion request", problems)
        groups = field_groups(entries, self.catalogue)
        return {
            "query": suggest_query(prefix, groups),
            "size": size * 3,
            "_source": {"includes": [entry.path for entry in entries]},
            "timeout": f"{round(self.limits.timeout * 1000)}ms",
        }

    def _entry(self, path: str, where: str, problems: list[Problem], capability: str) -> CatalogueField | None:
        """The entry for a sort, facet or returned path; None after recording why it cannot serve."""
        entry, message = self.fields.resolve(path)
        if entry is None:
            problems.append(Problem(where, message or f"unknown field {path}"))
            return None
        if capability == "returned":
            return entry
        if entry.is_container:
            container = "a nested list" if entry.index_type == "nested" else "an object"
            problems.append(Problem(where, f"{path} is {container}; name one of its fields"))
            return None
        if not getattr(entry, capability):
            problems.append(Problem(where, f"{path} is not {capability}"))
            return None
        return entry

    def _sort(self, sort: Sequence[str], relevance: bool, problems: list[Problem]) -> tuple[list[Query], list[str]]:
        """Sort clauses (the id field always last, as the tie-break) and their canonical keys."""
        self.limits.check_count("sort", "sort fields", len(sort), self.limits.max_sort_fields, problems)
        keys = list(sort) or ([SCORE] if relevance else [])
        clauses: list[Query] = []
        for key in keys:
            if key == SCORE:
                clauses.append({SCORE: {"order": "desc"}})
                continue
            descending = key.startswith("-")
            path = key.lstrip("+-")
            entry = self._entry(path, f"sort: {key}", problems, "sortable")
            if entry is None:
                continue
            field = entry.folded_path if entry.index_type == "text" else entry.path
            options: dict[str, Any] = {"order": "desc" if descending else "asc", "missing": "_last"}
            chain = self.catalogue.nested_chain(entry.path)
            if entry.list or entry.multi_valued or chain:
                options["mode"] = "max" if descending else "min"
            if chain:
                nested: dict[str, Any] = {"path": chain[-1]}
                for outer in reversed(chain[:-1]):
                    nested = {"path": outer, "nested": nested}
                options["nested"] = nested
            clauses.append({field: options})
        id_entry = self.catalogue.id_entry
        id_path = id_entry.term_path if id_entry else self.catalogue.id_field
        if not keys or keys[-1].lstrip("+-") != self.catalogue.id_field:
            clauses.append({id_path: {"order": "asc"}})
            keys.append(self.catalogue.id_field)
        return clauses, keys

    def _facets(self, facets: Sequence[str | FacetRequest], problems: list[Problem]) -> tuple[list[FacetPlan], Query]:
        requests = [FacetRequest(item) if isinstance(item, str) else item for item in facets]
        requests = list({request.path: request for request in requests}.values())
        self.limits.check_count("facets", "facets", len(requests), self.limits.max_facets, problems)
        plans: list[FacetPlan] = []
        aggregations: Query = {}
        for number, request in enumerate(requests):
            where = f"facet: {request.path}"
            if not 1 <= request.size <= self.limits.max_facet_size:
                problems.append(Problem(where, f"size must be 1 to {self.limits.max_facet_size}, got {request.size}"))
            entry = self._entry(request.path, where, problems, "facetable")
            if entry is None:
                continue
            name = f"facet_{number}"
            chain = tuple(self.catalogue.nested_chain(entry.path))
            kind = "enum" if entry.kind == "enum" else entry.index_type
            plans.append(FacetPlan(name, entry.path, kind, chain))
            aggregations.update(_facet_aggregations(name, entry, chain, request.size))
        return plans, aggregations

    def _projection(self, fields: Sequence[str] | None, problems: list[Problem]) -> Query | bool | None:
        """``_source`` for ``fields``: None for whole documents, False for none (``fields=[]``)."""
        if fields is None:
            return None
        for path in fields:
            self._entry(path, f"fields: {path}", problems, "returned")
        return {"includes": list(fields)} if fields else False


def _facet_aggregations(name: str, entry: CatalogueField, chain: tuple[str, ...], size: int) -> Query:
    """Terms counting root documents (``reverse_nested`` inside nested lists) plus a missing count."""
    terms: Query = {"field": entry.term_path, "size": size}
    if chain:
        terms["order"] = [{"roots": "desc"}, {"_key": "asc"}]
        aggregation: Query = {"terms": terms, "aggs": {"roots": {"reverse_nested": {}}}}
        for path in reversed(chain):
            aggregation = {"nested": {"path": path}, "aggs": {"values": aggregation}}
    else:
        terms["order"] = [{"_count": "desc"}, {"_key": "asc"}]
        aggregation = {"terms": terms}
    missing = wrap_nested({"exists": {"field": entry.path}}, list(chain))
    return {name: aggregation, f"{name}_missing": {"filter": {"bool": {"must_not": [missing]}}}}
