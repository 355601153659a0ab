"""Opaque page cursors: the sort values of the last hit of a page, for ``search_after``.

A cursor also carries a fingerprint of the search it came from (text, filter and sort), so a cursor
used with a different search is refused instead of silently skipping or repeating documents.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Sequence
from typing import Any

from schema_gen.errors import Problem, SearchError

CURSOR_VERSION = 1


def fingerprint(*parts: Any) -> str:
    """A short stable digest of the parts of a search that decide the order of its hits."""
    canonical = json.dumps(parts, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def encode_cursor(sort_values: Sequence[Any], search_fingerprint: str) -> str:
    """An opaque, URL-safe cursor pointing after a hit with ``sort_values``."""
    payload = {"v": CURSOR_VERSION, "f": search_fingerprint, "after": list(sort_values)}
    raw = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, search_fingerprint: str, sort_keys: int) -> list[Any]:
    """The sort values in ``cursor``; ``SearchError`` when it is malformed or from another search."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        payload = json.loads(raw)
    except (binascii.Error, ValueError):
        raise SearchError("invalid cursor", [Problem("after", "not a cursor returned by this search")]) from None
    if not isinstance(payload, dict) or payload.get("v") != CURSOR_VERSION:
        raise SearchError("invalid cursor", [Problem("after", "not a cursor returned by this search")])
    after = payload.get("after")
    if not isinstance(after, list) or len(after) != sort_keys:
        raise SearchError("invalid cursor", [Problem("after", "not a cursor returned by this search")])
    if payload.get("f") != search_fingerprint:
        raise SearchError(
            "invalid cursor",
            [Problem("after", "this cursor belongs to a different search (text, filter or sort changed); start again")],
        )
    return after
