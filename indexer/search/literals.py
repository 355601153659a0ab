"""Literal values checked against a field's type, and the range queries of dates and numbers.

A date without a time stands for the whole day (``[day, next day)``); a datetime is an instant, UTC
when it has no offset.
"""

from __future__ import annotations

import datetime as dt
import difflib
import math
from typing import Any

from indexer.catalogue import NUMERIC_TYPES, CatalogueField
from indexer.search.expressions import TEXT_OPS, Op, Value, render_value

Query = dict[str, Any]

_INT_RANGES = {"integer": (-(2**31), 2**31 - 1), "long": (-(2**63), 2**63 - 1)}


def literal_problem(value: Value, entry: CatalogueField, kind: str, op: Op) -> str | None:
    """Why ``value`` cannot be compared with ``entry``, or None when it can."""
    shown = render_value(value)
    if op in TEXT_OPS:
        if not isinstance(value, str):
            return f"{op} needs a string, not {shown}"
        return None if value else f"{op} needs a non-empty string"
    if kind in ("text", "keyword"):
        if isinstance(value, str) or (
            entry.type_name == "ID" and isinstance(value, int) and not isinstance(value, bool)
        ):
            return None
        return f'{entry.path} is a string field ({entry.graphql_type or kind}); quote the value: "{_unquoted(value)}"'
    if kind == "enum":
        if isinstance(value, str) and (not entry.enum_values or value in entry.enum_values):
            return None
        listed = ", ".join(entry.enum_values)
        close = (
            difflib.get_close_matches(str(value), entry.enum_values, n=1, cutoff=0.6) if isinstance(value, str) else []
        )
        hint = f" (did you mean {close[0]}?)" if close else ""
        return f"{shown} is not a value of {entry.type_name or 'the enum'} {entry.path}{hint}; valid values: {listed}"
    if kind == "boolean":
        return (
            None
            if isinstance(value, bool)
            else f"{entry.path} is a boolean field; compare it with true or false, not {shown}"
        )
    if kind in NUMERIC_TYPES:
        return _number_problem(value, entry, kind, shown)
    if kind == "date":
        if isinstance(value, dt.date) or (isinstance(value, str) and parse_date(value) is not None):
            return None
        return f'{entry.path} is a date field; {shown} is not a date like 2020-01-31 or "2020-01-31T10:00:00Z"'
    return f"{entry.path} cannot be compared with a value"


def _number_problem(value: Value, entry: CatalogueField, kind: str, shown: str) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return f"{entry.path} is a number field ({kind}); {shown} is not a number"
    if isinstance(value, float) and not math.isfinite(value):
        return f"{shown} is not a finite number"
    if kind in _INT_RANGES:
        if isinstance(value, float):
            return f"{entry.path} holds whole numbers ({kind}); {shown} is not one"
        low, high = _INT_RANGES[kind]
        if not low <= value <= high:
            return f"{shown} is out of range for {entry.path} ({kind}: {low} to {high})"
    return None


def _unquoted(value: Value) -> str:
    return value.isoformat() if isinstance(value, dt.date) else render_value(value).strip('"')


def parse_date(value: str) -> dt.date | dt.datetime | None:
    try:
        return (
            dt.datetime.fromisoformat(value) if "T" in value or " " in value.strip() else dt.date.fromisoformat(value)
        )
    except ValueError:
        return None


def _utc(value: dt.datetime) -> str:
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.isoformat()


def _bounds(value: Value) -> tuple[str, str]:
    """``[start, end)`` of a date (the whole day) or a datetime (that instant)."""
    if isinstance(value, dt.datetime):
        return _utc(value), _utc(value)
    assert isinstance(value, dt.date)
    return value.isoformat(), (value + dt.timedelta(days=1)).isoformat()


def date_equals(path: str, value: Value) -> Query:
    start, end = _bounds(value)
    if start == end:
        return {"range": {path: {"gte": start, "lte": end}}}
    return {"range": {path: {"gte": start, "lt": end}}}


def range_query(path: str, op: Op, value: Value) -> Query:
    if not isinstance(value, dt.date):
        key = {Op.LT: "lt", Op.LE: "lte", Op.GT: "gt", Op.GE: "gte"}[op]
        return {"range": {path: {key: value}}}
    start, end = _bounds(value)
    whole_day = start != end
    bound = {
        Op.LT: ("lt", start),
        Op.LE: ("lt", end) if whole_day else ("lte", end),
        Op.GT: ("gte", end) if whole_day else ("gt", end),
        Op.GE: ("gte", start),
    }[op]
    return {"range": {path: {bound[0]: bound[1]}}}
