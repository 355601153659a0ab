"""The filter language, parsed with lark into ``indexer.search.expressions`` trees.

::

    production.status == "PHOTOGRAPHY"
      and credits.any(talent.name == "Ryan Reynolds" and role == "ACTOR")
      and releaseYear >= 2015

- comparisons ``== != < <= > >=``; ``path in [v, ...]``, ``path not in [...]``
- ``path exists`` or ``exists(path)``; ``path startswith "Dead"``, ``path contains "pool"``
- ``and``, ``or``, ``not`` (in that order of binding, loosest last: ``or``), parentheses
- ``path.any(conditions)``: one element of a nested list satisfies all conditions (paths relative)
- literals: ``"strings"`` or ``'strings'`` (JSON escapes), numbers, ``true``, ``false``, ``null``,
  dates ``2020-01-31`` and datetimes ``2020-01-31T10:00:00Z`` (quoted ISO strings work on date fields)

Keywords are case-insensitive. Syntax errors are ``FilterSyntaxError`` with line, column and a caret.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

from lark import Lark, Token, Transformer_NonRecursive, Tree, v_args
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken, VisitError
from lark.tree import Meta

from indexer.search.expressions import And, AnyElement, Condition, Expression, Not, Op, Or, Span, Value
from schema_gen.errors import FilterSyntaxError, Problem

GRAMMAR = r"""
start: _expr
_expr: or_expr
?or_expr: and_expr | or_expr _OR and_expr -> disjunction
?and_expr: not_expr | and_expr _AND not_expr -> conjunction
?not_expr: _NOT not_expr -> negation
         | atom
?atom: "(" _expr ")"
     | PATH COMPARATOR value -> comparison
     | PATH _IN value_list -> membership
     | PATH _NOT _IN value_list -> non_membership
     | PATH _EXISTS -> existence
     | _EXISTS "(" PATH ")" -> existence
     | PATH STARTSWITH value -> starts_with
     | PATH CONTAINS value -> contains
     | PATH "(" _expr ")" -> call
value_list: "[" [value ("," value)* [","]] "]"
?value: STRING -> string
      | NUMBER -> number
      | DATE -> date
      | _TRUE -> true
      | _FALSE -> false
      | _NULL -> null

_OR.2: /or\b/i
_AND.2: /and\b/i
_NOT.2: /not\b/i
_IN.2: /in\b/i
_EXISTS.2: /exists\b/i
STARTSWITH.2: /startswith\b/i
CONTAINS.2: /contains\b/i
_TRUE.2: /true\b/i
_FALSE.2: /false\b/i
_NULL.2: /null\b/i
PATH: /[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*/
COMPARATOR: "==" | "!=" | "<=" | ">=" | "<" | ">"
STRING: /"(?:[^"\\\n]|\\.)*"/ | /'(?:[^'\\\n]|\\.)*'/
DATE.3: /\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?(?![\w.:-])/
NUMBER: /-?\d+(\.\d+)?([eE][+-]?\d+)?(?![\w.])/

%import common.WS
%ignore WS
"""

_PARSER = Lark(GRAMMAR, parser="lalr", lexer="basic", propagate_positions=True, maybe_placeholders=False)

_WORD = re.compile(r"[^\s()\[\],]+")

_READABLE = {
    "PATH": "a field path",
    "COMPARATOR": "a comparison (== != < <= > >=)",
    "STRING": "a string",
    "NUMBER": "a number",
    "DATE": "a date",
    "LPAR": "'('",
    "RPAR": "')'",
    "LSQB": "'['",
    "RSQB": "']'",
    "COMMA": "','",
    "_OR": "or",
    "_AND": "and",
    "_NOT": "not",
    "_IN": "in",
    "_EXISTS": "exists",
    "STARTSWITH": "startswith",
    "CONTAINS": "contains",
    "_TRUE": "true",
    "_FALSE": "false",
    "_NULL": "null",
    "$END": "the end of the filter",
}


def _lines(source: str) -> list[str]:
    """Lines as the lexer counts them (only ``\n`` ends a line)."""
    return source.split("\n")


def _visible(line: str) -> str:
    """A source line safe to print: control characters become spaces or ``?``, one for one."""
    return "".join(ch if ch.isprintable() else " " if ch.isspace() else "?" for ch in line)


def excerpt(source: str, span: Span) -> str:
    """The source line of ``span`` with a caret line under it, indented for an error message."""
    lines = _lines(source)
    line = _visible(lines[min(span.line, len(lines)) - 1])
    end = span.end_column if span.end_line == span.line else len(line) + 1
    width = max(1, end - span.column)
    return f"    {line}\n    {' ' * (span.column - 1)}{'^' * width}"


def located(source: str | None, span: Span | None, message: str, fallback: str = "filter") -> Problem:
    """A problem at ``span`` in the filter string (``filter:1:5`` plus a caret line), or at ``fallback``."""
    if source is None or span is None:
        return Problem(fallback, message)
    return Problem(f"filter:{span.line}:{span.column}", f"{message}\n{excerpt(source, span)}")


def _span_of(item: Token | Meta) -> Span:
    return Span(item.line or 1, item.column or 1, item.end_line or 1, item.end_column or 1)


class _Located(Exception):
    """Raised inside the transformer; becomes a ``FilterSyntaxError`` with the source excerpt."""

    def __init__(self, span: Span, message: str) -> None:
        super().__init__(message)
        self.span = span
        self.message = message


def _string(token: Token) -> str:
    body = token.value[1:-1]
    if token.value.startswith("'"):
        body = body.replace("\\'", "'").replace('"', '\\"')
    try:
        value: str = json.loads(f'"{body}"')
    except json.JSONDecodeError as exc:
        raise _Located(_span_of(token), f"invalid escape in string ({exc.msg})") from None
    return value


def _date(token: Token) -> dt.date | dt.datetime:
    try:
        if "T" in token.value:
            return dt.datetime.fromisoformat(token.value)
        return dt.date.fromisoformat(token.value)
    except ValueError:
        raise _Located(_span_of(token), f"{token.value} is not a valid date") from None


def _number(token: Token) -> int | float:
    text = token.value
    if any(mark in text for mark in ".eE"):
        number = float(text)
        if number != number or number in (float("inf"), float("-inf")):
            raise _Located(_span_of(token), f"{text} is not a finite number")
        return number
    return int(text)


@v_args(meta=True)
class _ToExpression(Transformer_NonRecursive):
    """Parse tree -> expression tree, keeping spans for error messages."""

    def start(self, meta: Meta, children: list[Expression]) -> Expression:
        return children[0]

    def disjunction(self, meta: Meta, children: list[Expression]) -> Or:
        return Or(*children, span=_span_of(meta))

    def conjunction(self, meta: Meta, children: list[Expression]) -> And:
        return And(*children, span=_span_of(meta))

    def negation(self, meta: Meta, children: list[Expression]) -> Not:
        return Not(children[0], span=_span_of(meta))

    def comparison(self, meta: Meta, children: list[Any]) -> Condition:
        path, operator, (value, value_span) = children
        return Condition(
            path.value,
            Op(operator.value),
            value,
            span=_span_of(meta),
            path_span=_span_of(path),
            op_span=_span_of(operator),
            value_spans=(value_span,),
        )

    def _list_condition(self, meta: Meta, children: list[Any], op: Op) -> Condition:
        path, (values, spans, list_span) = children
        return Condition(
            path.value, op, values, span=_span_of(meta), path_span=_span_of(path), op_span=list_span, value_spans=spans
        )

    def membership(self, meta: Meta, children: list[Any]) -> Condition:
        return self._list_condition(meta, children, Op.IN)

    def non_membership(self, meta: Meta, children: list[Any]) -> Condition:
        return self._list_condition(meta, children, Op.NOT_IN)

    def existence(self, meta: Meta, children: list[Token]) -> Condition:
        path = children[0]
        return Condition(path.value, Op.EXISTS, None, span=_span_of(meta), path_span=_span_of(path))

    def _text_condition(self, meta: Meta, children: list[Any], op: Op) -> Condition:
        path, keyword, (value, value_span) = children
        return Condition(
            path.value,
            op,
            value,
            span=_span_of(meta),
            path_span=_span_of(path),
            op_span=_span_of(keyword),
            value_spans=(value_span,),
        )

    def starts_with(self, meta: Meta, children: list[Any]) -> Condition:
        return self._text_condition(meta, children, Op.STARTSWITH)

    def contains(self, meta: Meta, children: list[Any]) -> Condition:
        return self._text_condition(meta, children, Op.CONTAINS)

    def call(self, meta: Meta, children: list[Any]) -> AnyElement:
        path, condition = children
        head, _, function = path.value.rpartition(".")
        if function.lower() != "any" or not head:
            raise _Located(
                _span_of(path),
                f"{path.value}(...) is not a function of the filter language; "
                "use exists(path) or path.any(conditions) on a nested list",
            )
        path_span = _span_of(path)
        path_span = Span(path_span.line, path_span.column, path_span.line, path_span.column + len(head))
        return AnyElement(head, condition, span=_span_of(meta), path_span=path_span)

    def value_list(
        self, meta: Meta, children: list[tuple[Value, Span]]
    ) -> tuple[tuple[Value, ...], tuple[Span, ...], Span]:
        return tuple(value for value, _ in children), tuple(span for _, span in children), _span_of(meta)

    def string(self, meta: Meta, children: list[Token]) -> tuple[Value, Span]:
        return _string(children[0]), _span_of(meta)

    def number(self, meta: Meta, children: list[Token]) -> tuple[Value, Span]:
        return _number(children[0]), _span_of(meta)

    def date(self, meta: Meta, children: list[Token]) -> tuple[Value, Span]:
        return _date(children[0]), _span_of(meta)

    def true(self, meta: Meta, children: list[Token]) -> tuple[Value, Span]:
        return True, _span_of(meta)

    def false(self, meta: Meta, children: list[Token]) -> tuple[Value, Span]:
        return False, _span_of(meta)

    def null(self, meta: Meta, children: list[Token]) -> tuple[Value, Span]:
        return None, _span_of(meta)


def _expected(names: set[str] | frozenset[str] | list[str]) -> str:
    readable = sorted({_READABLE.get(name, name) for name in names})
    if not readable:
        return ""
    if len(readable) == 1:
        return f"; expected {readable[0]}"
    return f"; expected one of: {', '.join(readable)}"


def _accepted(error: UnexpectedToken | UnexpectedEOF) -> set[str]:
    """Tokens that would have been accepted: exact when lark can replay the parser state."""
    parser = getattr(error, "interactive_parser", None)
    if parser is not None:
        return {name for name in parser.accepts() if name != "$END"} or set(error.expected)
    return set(error.expected)


def _syntax_problem(source: str, error: UnexpectedInput) -> Problem:
    line, column = max(error.line, 1), max(error.column, 1)
    span = Span(line, column, line, column + 1)
    if isinstance(error, UnexpectedCharacters):
        character = source[error.pos_in_stream] if 0 <= error.pos_in_stream < len(source) else ""
        if character in "\"'":
            message = "this string is not closed (or has a line break in it)"
        elif character == "=":
            message = "use == to compare"
        elif character.isdigit() or character == "-":
            word = _WORD.match(source, error.pos_in_stream)
            text = word.group(0) if word else character
            span = Span(line, column, line, column + len(text))
            message = f"cannot read {text!r}: numbers look like 42 or -1.5, dates like 2020-01-31, and text is quoted"
        else:
            message = f"unexpected character {character!r}" if character else "unexpected character"
    elif isinstance(error, UnexpectedToken) and error.token.type != "$END":
        token = error.token
        span = _span_of(token)
        message = f"unexpected {token.value!r}{_expected(_accepted(error))}"
    else:
        expected = _accepted(error) if isinstance(error, UnexpectedToken | UnexpectedEOF) else set()
        lines = _lines(source)
        span = Span(len(lines), len(lines[-1]) + 1, len(lines), len(lines[-1]) + 2)
        message = f"the filter ends too early{_expected(expected)}"
    return located(source, span, message)


def parse_filter(source: str) -> Expression:
    """Parse a filter string into an expression tree; ``FilterSyntaxError`` points at the mistake."""
    if not source.strip():
        raise FilterSyntaxError("invalid filter", [Problem("filter", "the filter is empty")])
    try:
        tree: Tree[Token] = _PARSER.parse(source)
    except UnexpectedInput as exc:
        raise FilterSyntaxError("invalid filter", [_syntax_problem(source, exc)]) from None
    try:
        expression: Expression = _ToExpression().transform(tree)
    except VisitError as exc:
        if isinstance(exc.orig_exc, _Located):
            problem = located(source, exc.orig_exc.span, exc.orig_exc.message)
            raise FilterSyntaxError("invalid filter", [problem]) from None
        raise
    return expression
