"""The filter AST and the structured Python API that builds it.

A filter string (``indexer.search.filter_parser``) and Python code build the same tree::

    parse_filter('releaseYear >= 2015 and credits.any(role == "ACTOR")')
    == And(F("releaseYear") >= 2015, Any("credits", F("role") == "ACTOR"))

Paths inside ``Any(path, ...)`` are relative to ``path``. Every node may carry source spans so that
validation errors can point into the filter string; spans take no part in equality.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum

Value = str | int | float | bool | dt.date | dt.datetime | None
"""A literal: string, number, boolean, date, datetime (naive means UTC) or null."""


@dataclass(frozen=True)
class Span:
    """Where a node is in the filter string: 1-based line and column, end column exclusive."""

    line: int
    column: int
    end_line: int
    end_column: int


class Op(StrEnum):
    """Operators of a condition, spelt as in the filter language."""

    EQ = "=="
    NE = "!="
    LT = "<"
    LE = "<="
    GT = ">"
    GE = ">="
    IN = "in"
    NOT_IN = "not in"
    STARTSWITH = "startswith"
    CONTAINS = "contains"
    EXISTS = "exists"


ORDERING_OPS = frozenset({Op.LT, Op.LE, Op.GT, Op.GE})
LIST_OPS = frozenset({Op.IN, Op.NOT_IN})
TEXT_OPS = frozenset({Op.STARTSWITH, Op.CONTAINS})


class _Combinable:
    """``a & b``, ``a | b`` and ``~a`` on every expression node."""

    def __and__(self, other: Expression) -> And:
        return And(self, other)  # type: ignore[arg-type]

    def __or__(self, other: Expression) -> Or:
        return Or(self, other)  # type: ignore[arg-type]

    def __invert__(self) -> Not:
        return Not(self)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Condition(_Combinable):
    """``path <op> value``; ``value`` is a tuple for ``in``/``not in`` and None for ``exists``."""

    path: str
    op: Op
    value: Value | tuple[Value, ...] = None
    span: Span | None = field(default=None, compare=False, repr=False)
    path_span: Span | None = field(default=None, compare=False, repr=False)
    op_span: Span | None = field(default=None, compare=False, repr=False)
    value_spans: tuple[Span, ...] = field(default=(), compare=False, repr=False)


@dataclass(frozen=True)
class AnyElement(_Combinable):
    """Some element of the nested list at ``path`` satisfies ``condition`` (all of it, in one element)."""

    path: str
    condition: Expression
    span: Span | None = field(default=None, compare=False, repr=False)
    path_span: Span | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, init=False)
class And(_Combinable):
    """Every operand holds."""

    operands: tuple[Expression, ...]
    span: Span | None = field(default=None, compare=False, repr=False)

    def __init__(self, *operands: Expression, span: Span | None = None) -> None:
        object.__setattr__(self, "operands", _flatten(And, operands))
        object.__setattr__(self, "span", span)


@dataclass(frozen=True, init=False)
class Or(_Combinable):
    """At least one operand holds."""

    operands: tuple[Expression, ...]
    span: Span | None = field(default=None, compare=False, repr=False)

    def __init__(self, *operands: Expression, span: Span | None = None) -> None:
        object.__setattr__(self, "operands", _flatten(Or, operands))
        object.__setattr__(self, "span", span)


@dataclass(frozen=True)
class Not(_Combinable):
    """The operand does not hold."""

    operand: Expression
    span: Span | None = field(default=None, compare=False, repr=False)


Expression = Condition | AnyElement | And | Or | Not


def _flatten(kind: type[And] | type[Or], operands: Iterable[Expression]) -> tuple[Expression, ...]:
    """``And(And(a, b), c)`` is ``And(a, b, c)``: the same filter written two ways is one tree."""
    flat: list[Expression] = []
    for operand in operands:
        if isinstance(operand, kind):
            flat.extend(operand.operands)
        else:
            flat.append(operand)
    return tuple(flat)


class F:
    """A field reference for building conditions in Python: ``F("releaseYear") >= 2015``."""

    __hash__ = None  # type: ignore[assignment]

    def __init__(self, path: str) -> None:
        self.path = path

    def __repr__(self) -> str:
        return f"F({self.path!r})"

    def __eq__(self, value: object) -> Condition:  # type: ignore[override]
        return Condition(self.path, Op.EQ, _literal(value))

    def __ne__(self, value: object) -> Condition:  # type: ignore[override]
        return Condition(self.path, Op.NE, _literal(value))

    def __lt__(self, value: Value) -> Condition:
        return Condition(self.path, Op.LT, value)

    def __le__(self, value: Value) -> Condition:
        return Condition(self.path, Op.LE, value)

    def __gt__(self, value: Value) -> Condition:
        return Condition(self.path, Op.GT, value)

    def __ge__(self, value: Value) -> Condition:
        return Condition(self.path, Op.GE, value)

    def is_in(self, values: Iterable[Value]) -> Condition:
        """The field equals one of ``values``."""
        return Condition(self.path, Op.IN, tuple(values))

    def not_in(self, values: Iterable[Value]) -> Condition:
        """The field equals none of ``values``."""
        return Condition(self.path, Op.NOT_IN, tuple(values))

    def startswith(self, prefix: str) -> Condition:
        """The value starts with ``prefix``, ignoring case and accents."""
        return Condition(self.path, Op.STARTSWITH, prefix)

    def contains(self, text: str) -> Condition:
        """The value contains ``text`` anywhere, ignoring case and accents."""
        return Condition(self.path, Op.CONTAINS, text)

    def exists(self) -> Condition:
        """The field has a value (a nested list: at least one element)."""
        return Condition(self.path, Op.EXISTS)

    def any(self, *conditions: Expression) -> AnyElement:
        """One element of this nested list satisfies every condition; their paths are relative."""
        return Any(self.path, *conditions)


def _literal(value: object) -> Value:
    if value is None or isinstance(value, str | int | float | dt.date):
        return value
    raise TypeError(f"a filter value is a string, number, boolean, date or None, not {type(value).__name__}")


def Any(path: str, *conditions: Expression) -> AnyElement:
    """One element of the nested list ``path`` satisfies all ``conditions`` (paths relative to it)."""
    if not conditions:
        raise TypeError("Any(path, ...) needs at least one condition")
    return AnyElement(path, conditions[0] if len(conditions) == 1 else And(*conditions))


def render_value(value: Value) -> str:
    """A literal as the filter language writes it."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    return repr(value)


def render(expression: Expression) -> str:
    """The canonical filter string of an expression: parsing it gives back an equal tree."""
    if isinstance(expression, Condition):
        if expression.op is Op.EXISTS:
            return f"{expression.path} exists"
        if isinstance(expression.value, tuple):
            values = ", ".join(render_value(item) for item in expression.value)
            return f"{expression.path} {expression.op} [{values}]"
        return f"{expression.path} {expression.op} {render_value(expression.value)}"
    if isinstance(expression, AnyElement):
        return f"{expression.path}.any({render(expression.condition)})"
    if isinstance(expression, Not):
        return f"not ({render(expression.operand)})"
    joiner = " and " if isinstance(expression, And) else " or "
    return joiner.join(f"({render(operand)})" for operand in expression.operands)
