"""Typed search results, read from Elasticsearch responses."""

from __future__ import annotations

import struct
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from indexer.search.cursor import encode_cursor
from indexer.search.fulltext import HIGHLIGHT_PREFIX, matches_prefix
from indexer.search.query_builder import FacetPlan, SearchPlan

FacetKey = str | int | float | bool


@dataclass(frozen=True)
class Total:
    """How many documents match: exact, or a lower bound when there are more than the counting limit."""

    value: int
    exact: bool

    def __str__(self) -> str:
        return str(self.value) if self.exact else f"{self.value}+"


@dataclass(frozen=True)
class Hit:
    """One matching document."""

    id: str
    score: float | None
    document: dict[str, Any]
    """The document (``_source``), or only the requested ``fields``."""
    highlights: dict[str, list[str]] = field(default_factory=dict)
    """Field path -> fragments with matches wrapped in ``<em>`` (when ``highlight=True``)."""


@dataclass(frozen=True)
class FacetValue:
    """A value of a facet field and the number of matching root documents that have it."""

    value: FacetKey
    count: int


@dataclass(frozen=True)
class Facet:
    """The most frequent values of one field among the matching documents."""

    path: str
    values: tuple[FacetValue, ...]
    missing: int
    """Matching documents with no value at ``path``."""
    other: int | None
    """Documents with other values (top-level fields only; None inside nested lists)."""


@dataclass(frozen=True)
class SearchResult:
    """One page of a search."""

    total: Total
    hits: tuple[Hit, ...]
    facets: dict[str, Facet]
    next_cursor: str | None
    """Pass as ``after`` to get the next page; None on the last page."""
    took_ms: int = 0


@dataclass(frozen=True)
class Suggestion:
    """A completion of a prefix: the value of an autocomplete field and the document it comes from."""

    text: str
    path: str
    id: str
    score: float | None


def values_at(document: Any, path: str) -> Iterator[Any]:
    """Every value at a dotted ``path`` of a document, descending into lists."""
    if isinstance(document, list):
        for item in document:
            yield from values_at(item, path)
        return
    if not path:
        if document is not None:
            yield document
        return
    if isinstance(document, Mapping):
        head, _, rest = path.partition(".")
        yield from values_at(document.get(head), rest)


def _highlights(hit: Mapping[str, Any]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for path, fragments in (hit.get("highlight") or {}).items():
        found.setdefault(path, []).extend(fragments)
    for name, inner in (hit.get("inner_hits") or {}).items():
        if not name.startswith(HIGHLIGHT_PREFIX):
            continue
        for element in inner.get("hits", {}).get("hits", []):
            for path, fragments in _highlights(element).items():
                found.setdefault(path, []).extend(fragment for fragment in fragments if fragment not in found[path])
    return found


def _facet_key(bucket: Mapping[str, Any], kind: str) -> FacetKey:
    if kind == "boolean":
        return bool(bucket.get("key_as_string") == "true" or bucket.get("key") == 1)
    if kind == "date":
        return str(bucket.get("key_as_string", bucket["key"]))
    key: FacetKey = bucket["key"]
    return key


def _facet(plan: FacetPlan, aggregations: Mapping[str, Any]) -> Facet:
    node = aggregations[plan.name]
    for _ in plan.chain:
        node = node["values"]
    buckets = node.get("buckets", [])
    values = tuple(
        FacetValue(_facet_key(bucket, plan.kind), bucket["roots"]["doc_count"] if plan.chain else bucket["doc_count"])
        for bucket in buckets
    )
    missing = aggregations[f"{plan.name}_missing"]["doc_count"]
    other = None if plan.chain else int(node.get("sum_other_doc_count", 0))
    return Facet(plan.path, values, missing, other)


def _exact_scores(values: list[Any], positions: tuple[int, ...]) -> list[Any]:
    """Sort values with each score widened to the exact value of its 32-bit float.

    Scores are 32-bit floats printed in their shortest form (``2.939545``); a server that compares the
    cursor's value as a 64-bit float would see every hit with that score as coming after it, and
    repeat them on the next page. The exact value means the same to every server.
    """
    exact = list(values)
    for position in positions:
        if isinstance(exact[position], float):
            exact[position] = struct.unpack("f", struct.pack("f", exact[position]))[0]
    return exact


def read_search_response(plan: SearchPlan, response: Mapping[str, Any]) -> SearchResult:
    """The ``SearchResult`` of a search body built by ``plan``."""
    hits_section = response.get("hits", {})
    raw_hits = hits_section.get("hits", [])
    total = hits_section.get("total") or {"value": len(raw_hits), "relation": "eq"}
    page = raw_hits[: plan.first]
    hits = tuple(
        Hit(str(raw["_id"]), raw.get("_score"), dict(raw.get("_source") or {}), _highlights(raw)) for raw in page
    )
    next_cursor = None
    if len(raw_hits) > plan.first and page:
        next_cursor = encode_cursor(_exact_scores(page[-1]["sort"], plan.score_positions), plan.fingerprint)
    aggregations = response.get("aggregations", {})
    facets = {facet.path: _facet(facet, aggregations) for facet in plan.facets}
    return SearchResult(
        Total(int(total["value"]), total.get("relation", "eq") == "eq"),
        hits,
        facets,
        next_cursor,
        int(response.get("took", 0)),
    )


def read_suggestions(response: Mapping[str, Any], paths: list[str], prefix: str, size: int) -> list[Suggestion]:
    """Distinct suggestion texts, best documents first: for each hit, the autocomplete values that match."""
    suggestions: list[Suggestion] = []
    seen: set[str] = set()
    for raw in response.get("hits", {}).get("hits", []):
        for path in paths:
            for value in values_at(raw.get("_source") or {}, path):
                text = str(value)
                if text in seen or not matches_prefix(text, prefix):
                    continue
                seen.add(text)
                suggestions.append(Suggestion(text, path, str(raw["_id"]), raw.get("_score")))
                if len(suggestions) == size:
                    return suggestions
    return suggestions
