"""Free-text queries over the catalogue's full-text fields, and suggestions on autocomplete fields.

The text is split into words and ``"quoted phrases"``. Every word or phrase must match some full-text
field (any field, top level or inside a nested list), weighted by the fields' boosts; a phrase must
match as a phrase, and the last word, unless followed by a space, also matches as a prefix
(``"dead"`` finds *Deadpool*). Case and accents are folded by the index's analyzers.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from indexer.catalogue import Catalogue, CatalogueField
from indexer.search.filter_compiler import MATCH_ALL, Query, wrap_nested

_UNITS = re.compile(r'"([^"]*)"?|(\S+)')
HIGHLIGHT_PREFIX = "highlight:"


@dataclass(frozen=True)
class TextUnit:
    """A word or a quoted phrase of the search text."""

    text: str
    phrase: bool = False
    prefix: bool = False


@dataclass(frozen=True)
class FieldGroup:
    """Full-text fields that live in the same nested list (or at the top level: empty chain)."""

    chain: tuple[str, ...]
    fields: tuple[CatalogueField, ...]

    def field_specs(self, path_of: str = "path") -> list[str]:
        specs = []
        for entry in self.fields:
            path = getattr(entry, path_of) or entry.path
            specs.append(path if entry.boost == 1 else f"{path}^{entry.boost:g}")
        return specs


def parse_text(text: str) -> list[TextUnit]:
    """Words and phrases of ``text``; an unclosed quote runs to the end of the text."""
    units: list[TextUnit] = []
    for match in _UNITS.finditer(text):
        phrase, word = match.group(1), match.group(2)
        if phrase is not None and phrase.strip():
            units.append(TextUnit(" ".join(phrase.split()), phrase=True))
        elif word:
            units.append(TextUnit(word))
    if units and not units[-1].phrase and not text[-1:].isspace():
        units[-1] = TextUnit(units[-1].text, prefix=True)
    return units


def field_groups(entries: list[CatalogueField], catalogue: Catalogue) -> list[FieldGroup]:
    """``entries`` grouped by their nested list, top level first."""
    grouped: dict[str, list[CatalogueField]] = {}
    for entry in entries:
        grouped.setdefault(entry.nested_path or "", []).append(entry)
    return [
        FieldGroup(tuple(catalogue.nested_chain(nested)) if nested else (), tuple(members))
        for nested, members in sorted(grouped.items())
    ]


def _unit_query(unit: TextUnit, group: FieldGroup) -> Query:
    kind = "phrase" if unit.phrase else "phrase_prefix" if unit.prefix else "best_fields"
    match: dict[str, Any] = {"query": unit.text, "fields": group.field_specs(), "type": kind, "zero_terms_query": "all"}
    if kind == "best_fields":
        match["operator"] = "and"
    return {"multi_match": match}


def text_query(units: list[TextUnit], groups: list[FieldGroup]) -> list[Query]:
    """One clause per unit; each matches when the unit is found in any field of any group."""
    clauses = []
    for unit in units:
        should = [wrap_nested(_unit_query(unit, group), list(group.chain), score_mode="max") for group in groups]
        clauses.append(should[0] if len(should) == 1 else {"bool": {"should": should, "minimum_should_match": 1}})
    return clauses


def highlight_parts(units: list[TextUnit], groups: list[FieldGroup]) -> tuple[Query | None, list[Query]]:
    """The ``highlight`` section for top-level fields and, per nested group, a clause that never changes
    which documents match (``should`` with ``match_all`` in filter context) but returns highlighted
    elements as inner hits named ``highlight:<nested path>``. Fragments are HTML-escaped (``encoder:
    html``) around the ``<em>`` tags, so they can be shown as HTML as they are."""
    section: Query | None = None
    nested_clauses: list[Query] = []
    for group in groups:
        fields = {entry.path: {} for entry in group.fields}
        settings = {
            "fields": fields,
            "pre_tags": ["<em>"],
            "post_tags": ["</em>"],
            "encoder": "html",
            "number_of_fragments": 3,
        }
        if not group.chain:
            section = settings
            continue
        combined = [_unit_query(unit, group) for unit in units]
        query: Query = {"bool": {"should": combined, "minimum_should_match": 1}}
        inner_hits = {"name": HIGHLIGHT_PREFIX + group.chain[-1], "size": 5, "_source": False, "highlight": settings}
        innermost: Query = {"nested": {"path": group.chain[-1], "query": query, "inner_hits": inner_hits}}
        wrapped = wrap_nested(innermost, list(group.chain[:-1]))
        nested_clauses.append({"bool": {"should": [wrapped, MATCH_ALL], "minimum_should_match": 1}})
    return section, nested_clauses


def suggest_query(prefix: str, groups: list[FieldGroup]) -> Query:
    """Documents whose autocomplete fields have words starting with every word of ``prefix``."""
    should = []
    for group in groups:
        match = {"query": prefix, "fields": group.field_specs("autocomplete_path"), "operator": "and"}
        should.append(wrap_nested({"multi_match": match}, list(group.chain), score_mode="max"))
    return should[0] if len(should) == 1 else {"bool": {"should": should, "minimum_should_match": 1}}


def folded(text: str) -> str:
    """Case- and accent-folded text, to pick which value of a document a suggestion shows."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()


def matches_prefix(value: str, prefix: str) -> bool:
    """Every word of ``prefix`` starts some word of ``value`` (folded)."""
    words = re.findall(r"\w+", folded(value))
    return all(any(word.startswith(part) for word in words) for part in re.findall(r"\w+", folded(prefix)))
