"""Limits a caller of the search library cannot exceed, so no request can overload the cluster."""

from __future__ import annotations

from dataclasses import dataclass

from schema_gen.errors import Problem


@dataclass(frozen=True)
class SearchLimits:
    """Upper bounds on one request; a request above any of them is refused with a ``SearchError``."""

    max_page_size: int = 100
    """Largest ``first``; pages go further with cursors, never with offsets."""
    max_conditions: int = 64
    """Conditions (comparisons, ``exists``, ``startswith``, ...) in one filter."""
    max_in_values: int = 256
    """Values in one ``in [...]`` list."""
    max_filter_length: int = 4000
    """Characters in a filter string."""
    max_filter_depth: int = 16
    """Nesting of ``and``/``or``/``not``/``any()`` and parentheses."""
    max_text_terms: int = 16
    """Words and quoted phrases in the free text."""
    max_facets: int = 10
    """Facets in one request."""
    max_facet_size: int = 100
    """Values returned per facet."""
    max_sort_fields: int = 4
    """Sort keys in one request (the id tie-break is not counted)."""
    max_suggestions: int = 20
    """Largest ``size`` of ``suggest``."""
    timeout: float = 10.0
    """Seconds the search server may spend on a request (also the client's request timeout)."""
    track_total_hits: int = 10_000
    """Totals are exact up to this many hits and a lower bound above it."""

    def check_page_size(self, first: int, problems: list[Problem]) -> None:
        """Record a problem when ``first`` is negative or above ``max_page_size``."""
        if first < 0:
            problems.append(Problem("first", f"must be 0 or more, got {first}"))
        elif first > self.max_page_size:
            problems.append(Problem("first", f"{first} is above the page size limit of {self.max_page_size}"))

    def check_count(self, where: str, what: str, count: int, limit: int, problems: list[Problem]) -> None:
        """Record a problem when ``count`` items of ``what`` exceed ``limit``."""
        if count > limit:
            problems.append(Problem(where, f"{count} {what} is more than the limit of {limit}"))
