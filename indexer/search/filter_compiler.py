"""Validate a filter expression against the field catalogue and compile it to an Elasticsearch query.

Validation and compilation are one pass, so what is checked is exactly what is sent. Every problem is
collected (unknown field with a did-you-mean, operator not valid for the field's type, bad literal,
limits) and raised together as one ``SearchError`` pointing into the filter string.

Semantics on nested lists (e.g. ``credits``):

- ``credits.any(role == "ACTOR" and talent.name == "Ryan Reynolds")``: ONE element satisfies every
  condition (one ``nested`` query).
- a top-level condition on a nested path, ``credits.role == "ACTOR"``, is its own ``nested`` query:
  "some element has role ACTOR". Two such conditions may be met by different elements.
- ``not`` applies to the whole condition: ``not credits.role == "ACTOR"`` means no element is an
  actor, while ``credits.role != "ACTOR"`` means some element is not an actor.
- ``path != value`` and ``path not in [...]`` also match documents without a value at ``path``.

``== != in`` on string fields with a case-folding sub-field (``lowercase_path``) ignore case and
accents, as do ``startswith`` and ``contains``; IDs, enums and other values match exactly. A date
without a time stands for the whole day: ``releaseDate == 2020-01-31`` is any time that day.
"""

from __future__ import annotations

import datetime as dt
import difflib
from typing import Any

from indexer.catalogue import Catalogue, CatalogueField
from indexer.search.expressions import (
    ORDERING_OPS,
    TEXT_OPS,
    And,
    AnyElement,
    Condition,
    Expression,
    Not,
    Op,
    Or,
    Span,
    Value,
)
from indexer.search.filter_parser import located
from indexer.search.limits import SearchLimits
from indexer.search.literals import Query, date_equals, literal_problem, parse_date, range_query
from schema_gen.errors import Problem, SearchError

_EQUALITY = frozenset({Op.EQ, Op.NE, Op.IN, Op.NOT_IN, Op.EXISTS})
_OPS_BY_TYPE: dict[str, frozenset[Op]] = {
    "text": _EQUALITY | TEXT_OPS,
    "keyword": _EQUALITY | TEXT_OPS,
    "enum": _EQUALITY,
    "boolean": _EQUALITY,
    "long": _EQUALITY | ORDERING_OPS,
    "integer": _EQUALITY | ORDERING_OPS,
    "double": _EQUALITY | ORDERING_OPS,
    "date": _EQUALITY | ORDERING_OPS,
    "object": frozenset({Op.EXISTS}),
    "nested": frozenset({Op.EXISTS}),
    "disabled": frozenset(),
}
_NEGATED = {Op.NE: Op.EQ, Op.NOT_IN: Op.IN}
MATCH_ALL: Query = {"match_all": {}}
MATCH_NONE: Query = {"match_none": {}}


def wrap_nested(query: Query, chain: list[str], **options: Any) -> Query:
    """``query`` wrapped in one ``nested`` query per path of ``chain`` (outermost first)."""
    for path in reversed(chain):
        query = {"nested": {"path": path, "query": query, **options}}
    return query


def kind_of(entry: CatalogueField) -> str:
    """The operator family of a field: its index type, or ``enum`` for enum keywords."""
    return "enum" if entry.kind == "enum" else entry.index_type


def fold(value: str) -> str:
    """Lowercase a value sent to a case-normalized sub-field (the server's normalizer folds accents)."""
    return value.lower()


class FieldResolver:
    """Finds catalogue entries for paths a caller wrote, and says why when there is none."""

    def __init__(self, catalogue: Catalogue) -> None:
        self.catalogue = catalogue

    def resolve(self, path: str, scope: str | None = None) -> tuple[CatalogueField | None, str | None]:
        """``(entry, None)``, or ``(None, message)`` for private, excluded and unknown paths (did-you-mean)."""
        full = f"{scope}.{path}" if scope else path
        if self.catalogue.is_private(full):
            return None, f"{path} is private to graphdex and cannot be searched"
        if self.catalogue.is_excluded(full):
            return None, f"{full} is excluded from the index by its definition (fields.{full}.exclude)"
        entry = self.catalogue.field(full)
        if entry is not None:
            return entry, None
        prefix = f"{scope}." if scope else ""
        relative = [known[len(prefix) :] for known in self.catalogue.paths() if known.startswith(prefix)]
        message = f"unknown field {path}"
        if scope and path.startswith(prefix) and self.catalogue.field(path):
            message += f"; paths inside {scope}.any(...) are relative to {scope}: write {path[len(prefix) :]}"
        elif close := difflib.get_close_matches(path, relative, n=3, cutoff=0.6):
            message += f" (did you mean {' or '.join(close)}?)"
        elif scope:
            message += f" in {scope}"
        return None, message


class FilterCompiler:
    """Turns expressions into Elasticsearch queries for one catalogue, within ``limits``."""

    def __init__(self, catalogue: Catalogue, limits: SearchLimits) -> None:
        self.catalogue = catalogue
        self.limits = limits

    def compile(self, expression: Expression, source: str | None = None) -> Query:
        """The query for ``expression``; ``SearchError`` lists every problem (with positions if ``source``)."""
        problems: list[Problem] = []
        if source is not None:
            self.limits.check_count("filter", "characters", len(source), self.limits.max_filter_length, problems)
        self._check_shape(expression, problems)
        if problems:
            raise SearchError("invalid filter", problems)
        query = _Compilation(self, source, problems).expression(expression, scope=None)
        if problems:
            raise SearchError("invalid filter", problems)
        return query

    def _check_shape(self, expression: Expression, problems: list[Problem]) -> None:
        """Depth and size limits, checked without recursion so that no input can exhaust the stack."""
        depth, conditions = 0, 0
        stack: list[tuple[Expression, int]] = [(expression, 1)]
        while stack:
            node, level = stack.pop()
            depth = max(depth, level)
            if isinstance(node, Condition):
                conditions += 1
                if isinstance(node.value, tuple):
                    self.limits.check_count(
                        f"filter: {node.path} {node.op}", "values", len(node.value), self.limits.max_in_values, problems
                    )
            elif isinstance(node, AnyElement):
                stack.append((node.condition, level + 1))
            elif isinstance(node, Not):
                stack.append((node.operand, level + 1))
            else:
                stack.extend((operand, level + 1) for operand in node.operands)
        self.limits.check_count("filter", "levels of nesting", depth, self.limits.max_filter_depth, problems)
        self.limits.check_count("filter", "conditions", conditions, self.limits.max_conditions, problems)


class _Compilation:
    """One compile: the catalogue, the source for error positions, and the problems found so far."""

    def __init__(self, compiler: FilterCompiler, source: str | None, problems: list[Problem]) -> None:
        self.catalogue = compiler.catalogue
        self.fields = FieldResolver(compiler.catalogue)
        self.source = source
        self.problems = problems

    def problem(self, span: Span | None, message: str) -> None:
        self.problems.append(located(self.source, span, message))

    def expression(self, node: Expression, scope: str | None) -> Query:
        if isinstance(node, And):
            return {"bool": {"filter": [self.expression(operand, scope) for operand in node.operands]}}
        if isinstance(node, Or):
            should = [self.expression(operand, scope) for operand in node.operands]
            return {"bool": {"should": should, "minimum_should_match": 1}}
        if isinstance(node, Not):
            return {"bool": {"must_not": [self.expression(node.operand, scope)]}}
        if isinstance(node, AnyElement):
            return self.any_element(node, scope)
        return self.condition(node, scope)

    def resolve(self, path: str, scope: str | None, span: Span | None) -> CatalogueField | None:
        """The catalogue entry for ``path`` (relative to ``scope``), or None after recording why not."""
        entry, message = self.fields.resolve(path, scope)
        if message:
            self.problem(span, message)
        return entry

    def any_element(self, node: AnyElement, scope: str | None) -> Query:
        entry = self.resolve(node.path, scope, node.path_span or node.span)
        full = f"{scope}.{node.path}" if scope else node.path
        if entry is not None and entry.index_type != "nested":
            reason = "an object" if entry.index_type == "object" else f"a {kind_of(entry)} field"
            self.problem(
                node.path_span or node.span,
                f"{full}.any(...) needs a nested list, and {full} is {reason}; "
                "write its conditions at the top level instead (each may match a different element)",
            )
        inner = self.expression(node.condition, full)
        return wrap_nested(inner, self._chain(full, scope, include_self=True))

    def _chain(self, full: str, scope: str | None, include_self: bool) -> list[str]:
        """Nested paths to enter from ``scope`` to reach ``full``."""
        chain = self.catalogue.nested_chain(full)
        if not include_self:
            chain = [path for path in chain if path != full]
        return [path for path in chain if scope is None or path.startswith(scope + ".")]

    def condition(self, node: Condition, scope: str | None) -> Query:
        entry = self.resolve(node.path, scope, node.path_span or node.span)
        if entry is None:
            return MATCH_NONE
        kind = kind_of(entry)
        where = node.op_span or node.span
        if node.op not in _OPS_BY_TYPE[kind]:
            self.problem(where, self._operator_message(node, entry, kind))
            return MATCH_NONE
        if not entry.is_container and not entry.filterable:
            self.problem(node.path_span or node.span, f"{entry.path} is not filterable")
            return MATCH_NONE
        if node.op is Op.EXISTS or (node.op is Op.NE and node.value is None):
            query: Query = {"exists": {"field": entry.path}}
            if entry.index_type == "nested":
                query = MATCH_ALL
        else:
            values = node.value if isinstance(node.value, tuple) else (node.value,)
            spans = node.value_spans or (node.span,) * len(values)
            checked = [
                self.literal(value, entry, kind, node, spans[min(i, len(spans) - 1)]) for i, value in enumerate(values)
            ]
            query = self.leaf(entry, kind, _NEGATED.get(node.op, node.op), checked)
            if node.op in _NEGATED:
                query = {"bool": {"must_not": [query]}}
        return wrap_nested(query, self._chain(entry.path, scope, include_self=entry.index_type == "nested"))

    def _operator_message(self, node: Condition, entry: CatalogueField, kind: str) -> str:
        if kind == "disabled":
            return f"{entry.path} is not indexed (it is only kept in the documents), so it cannot be filtered"
        allowed = " ".join(op.value for op in Op if op in _OPS_BY_TYPE[kind])
        if kind in ("object", "nested"):
            hint = f"; use {entry.path}.any(...)" if kind == "nested" else ""
            container = "a nested list" if kind == "nested" else "an object"
            return f"{entry.path} is {container}: filter on its fields{hint} or use exists"
        return f"operator {node.op} is not valid for {entry.path} ({kind}); valid operators: {allowed}"

    def literal(self, value: Value, entry: CatalogueField, kind: str, node: Condition, span: Span | None) -> Value:
        """``value`` checked (and normalized) for ``entry``; a problem is recorded when it does not fit."""
        if value is None:
            if node.op in TEXT_OPS or node.op in ORDERING_OPS:
                self.problem(span, f"{node.op} needs a value, not null")
            return None
        message = literal_problem(value, entry, kind, node.op)
        if message:
            self.problem(span, message)
            return None
        if kind == "date" and isinstance(value, str):
            return parse_date(value)
        if kind in ("text", "keyword") and isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        return value

    def leaf(self, entry: CatalogueField, kind: str, op: Op, values: list[Value]) -> Query:
        """The query for one positive operator on checked values."""
        if op is Op.STARTSWITH or op is Op.CONTAINS:
            text = fold(str(values[0] or ""))
            if op is Op.STARTSWITH:
                return {"prefix": {entry.folded_path: {"value": text, "case_insensitive": True}}}
            pattern = "*" + "".join("\\" + ch if ch in "*?\\" else ch for ch in text) + "*"
            return {"wildcard": {entry.folded_path: {"value": pattern, "case_insensitive": True}}}
        if op in ORDERING_OPS:
            return range_query(entry.path, op, values[0])
        present = [value for value in values if value is not None]
        clauses: list[Query] = []
        if kind == "date":
            clauses += [date_equals(entry.path, value) for value in present]
        elif kind in ("text", "keyword") and entry.lowercase_path:
            clauses += [_terms(entry.lowercase_path, [fold(str(value)) for value in present])] if present else []
        elif present:
            clauses.append(_terms(entry.path, [_index_value(value) for value in present]))
        if len(present) < len(values):
            clauses.append({"bool": {"must_not": [{"exists": {"field": entry.path}}]}})
        if not clauses:
            return MATCH_NONE
        return clauses[0] if len(clauses) == 1 else {"bool": {"should": clauses, "minimum_should_match": 1}}


def _terms(path: str, values: list[Any]) -> Query:
    unique = list(dict.fromkeys(values))
    return {"term": {path: unique[0]}} if len(unique) == 1 else {"terms": {path: unique}}


def _index_value(value: Value) -> Any:
    return value.isoformat() if isinstance(value, dt.date) else value
