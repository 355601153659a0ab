"""Hypothesis strategies for filters (token soup and catalogue-valid trees) and a reference evaluator
that decides in Python which documents a filter matches, with the semantics the library documents."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from hypothesis import strategies as st

from indexer.search import Catalogue, CatalogueField, F
from indexer.search.expressions import And, AnyElement, Condition, Expression, Not, Op, Or, Value
from indexer.search.filter_compiler import kind_of
from indexer.search.fulltext import folded
from indexer.search.results import values_at

SOUP_TOKENS = [
    "title", "titel", "releaseYear", "genres", "credits", "credits.role", "production.status", "role", "talent.name",
    "credits.any(", "exists(", ".any(", "(", ")", "[", "]", ",", "and", "or", "not", "in", "exists", "startswith",
    "contains", "==", "!=", "<", "<=", ">", ">=", "=", "true", "false", "null", "42", "-1.5", "1e400", "2020-01-31",
    "2020-02-30", "2020-01-31T10:00:00Z", '"ACTOR"', '"x', "'y'", '"\\q"', "@", "\n",
]  # fmt: skip

filter_soup = st.lists(st.sampled_from(SOUP_TOKENS), max_size=14).map(" ".join)
"""Strings made of filter-language tokens in random order: mostly invalid, sometimes valid."""

OPS_BY_KIND = {
    "text": [Op.EQ, Op.NE, Op.IN, Op.NOT_IN, Op.STARTSWITH, Op.CONTAINS, Op.EXISTS],
    "keyword": [Op.EQ, Op.NE, Op.IN, Op.NOT_IN, Op.STARTSWITH, Op.CONTAINS, Op.EXISTS],
    "enum": [Op.EQ, Op.NE, Op.IN, Op.NOT_IN, Op.EXISTS],
    "boolean": [Op.EQ, Op.NE, Op.IN, Op.EXISTS],
    "integer": [Op.EQ, Op.NE, Op.LT, Op.LE, Op.GT, Op.GE, Op.IN, Op.NOT_IN, Op.EXISTS],
    "long": [Op.EQ, Op.NE, Op.LT, Op.LE, Op.GT, Op.GE, Op.IN, Op.EXISTS],
    "double": [Op.EQ, Op.NE, Op.LT, Op.LE, Op.GT, Op.GE, Op.IN, Op.EXISTS],
    "date": [Op.EQ, Op.NE, Op.LT, Op.LE, Op.GT, Op.GE, Op.IN, Op.EXISTS],
}


def _pool(entry: CatalogueField, documents: list[dict[str, Any]]) -> list[Value]:
    """Values to compare ``entry`` with: those in the documents plus a few that are in none."""
    found = sorted({value for document in documents for value in values_at(document, entry.path)}, key=str)
    kind = kind_of(entry)
    if kind == "enum":
        return list(entry.enum_values)
    if kind == "boolean":
        return [True, False]
    if kind == "date":
        return [dt.date.fromisoformat(value) for value in found] + [dt.date(2000, 1, 1), dt.date(2030, 1, 1)]
    if kind in ("integer", "long"):
        return [*found, -1, 0, 2012]
    if kind == "double":
        return [*found, 6.9, 0]
    return [*found, "nobody", "Ryan"]


def _text_fragment(value: str) -> st.SearchStrategy[str]:
    """A non-empty piece of a value, in random case, for startswith/contains."""
    return st.tuples(st.integers(0, len(value) - 1), st.integers(1, 6), st.booleans()).map(
        lambda t: (value[t[0] : t[0] + t[1]] or value[:1]).upper() if t[2] else value[t[0] : t[0] + t[1]] or value[:1]
    )


def _condition(entry: CatalogueField, relative: str, pool: list[Value]) -> st.SearchStrategy[Expression]:
    kind = kind_of(entry)
    op = st.sampled_from(OPS_BY_KIND[kind])

    def build(chosen: Op) -> st.SearchStrategy[Expression]:
        if chosen is Op.EXISTS:
            return st.just(F(relative).exists())
        if chosen in (Op.IN, Op.NOT_IN):
            values = st.lists(st.sampled_from([*pool, None]), max_size=4)
            return values.map(lambda vs: Condition(relative, chosen, tuple(vs)))
        if chosen in (Op.STARTSWITH, Op.CONTAINS):
            texts = [value for value in pool if isinstance(value, str) and value]
            return st.sampled_from(texts).flatmap(_text_fragment).map(lambda text: Condition(relative, chosen, text))
        nullable = chosen in (Op.EQ, Op.NE)
        return st.sampled_from(pool + ([None] if nullable else [])).map(lambda v: Condition(relative, chosen, v))

    return op.flatmap(build)


def valid_filters(catalogue: Catalogue, documents: list[dict[str, Any]]) -> st.SearchStrategy[Expression]:
    """Filter trees that fit ``catalogue``: typed literals, valid operators, any() on nested lists."""

    def leaves(scope: str | None) -> st.SearchStrategy[Expression]:
        prefix = f"{scope}." if scope else ""
        options: list[st.SearchStrategy[Expression]] = []
        for entry in catalogue.fields:
            if not entry.path.startswith(prefix) or entry.path == scope:
                continue
            relative = entry.path[len(prefix) :]
            if entry.is_container:
                options.append(st.just(F(relative).exists()))
                if entry.index_type == "nested" and scope is None:
                    inner = st.recursive(leaves(entry.path), _combine, max_leaves=3)
                    options.append(inner.map(lambda condition, path=relative: AnyElement(path, condition)))
            elif entry.filterable and kind_of(entry) in OPS_BY_KIND:
                options.append(_condition(entry, relative, _pool(entry, documents)))
        return st.one_of(options)

    return st.recursive(leaves(None), _combine, max_leaves=6)


def _combine(children: st.SearchStrategy[Expression]) -> st.SearchStrategy[Expression]:
    pair = st.lists(children, min_size=2, max_size=3)
    return st.one_of(pair.map(lambda items: And(*items)), pair.map(lambda items: Or(*items)), children.map(Not))


def _same(entry: CatalogueField) -> Callable[[Any, Any], bool]:
    if kind_of(entry) in ("text", "keyword") and entry.lowercase_path:
        return lambda stored, wanted: folded(str(stored)) == folded(str(wanted))
    if kind_of(entry) == "date":
        return lambda stored, wanted: dt.date.fromisoformat(stored) == wanted
    return lambda stored, wanted: (stored == wanted and type(stored) is not bool) or stored is wanted


def _compare(entry: CatalogueField, stored: Any, op: Op, wanted: Any) -> bool:
    if kind_of(entry) == "date":
        stored = dt.date.fromisoformat(stored)
    return {Op.LT: stored < wanted, Op.LE: stored <= wanted, Op.GT: stored > wanted, Op.GE: stored >= wanted}[op]


def _leaf(entry: CatalogueField, op: Op, wanted: Any, values: list[Any]) -> bool:
    same = _same(entry)
    if op is Op.EXISTS or (op is Op.NE and wanted is None):
        return bool(values)
    if op is Op.EQ and wanted is None:
        return not values
    if op in (Op.IN, Op.NOT_IN):
        present = [item for item in wanted if item is not None]
        hit = any(same(value, item) for value in values for item in present) or (None in wanted and not values)
        return hit if op is Op.IN else not hit
    if op is Op.EQ:
        return any(same(value, wanted) for value in values)
    if op is Op.NE:
        return not any(same(value, wanted) for value in values)
    if op is Op.STARTSWITH:
        return any(folded(str(value)).startswith(folded(wanted)) for value in values)
    if op is Op.CONTAINS:
        return any(folded(wanted) in folded(str(value)) for value in values)
    return any(_compare(entry, value, op, wanted) for value in values)


def matches(catalogue: Catalogue, expression: Expression, element: Any, scope: str | None = None) -> bool:
    """Whether ``element`` (a document, or a nested element at ``scope``) satisfies ``expression``."""
    prefix = f"{scope}." if scope else ""
    if isinstance(expression, And):
        return all(matches(catalogue, operand, element, scope) for operand in expression.operands)
    if isinstance(expression, Or):
        return any(matches(catalogue, operand, element, scope) for operand in expression.operands)
    if isinstance(expression, Not):
        return not matches(catalogue, expression.operand, element, scope)
    full = prefix + expression.path
    if isinstance(expression, AnyElement):
        return any(matches(catalogue, expression.condition, item, full) for item in values_at(element, expression.path))
    entry = catalogue.field(full)
    assert entry is not None
    inner = [nested for nested in catalogue.nested_chain(full) if scope is None or nested.startswith(prefix)]
    if inner and not (inner[0] == full and expression.op is Op.EXISTS):
        nested = inner[0]
        rest = full[len(nested) + 1 :]
        inside = Condition(rest, expression.op, expression.value) if rest else expression
        return any(matches(catalogue, inside, item, nested) for item in values_at(element, nested[len(prefix) :]))
    return _leaf(entry, expression.op, expression.value, list(values_at(element, expression.path)))
