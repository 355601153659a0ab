"""The search library: search an index knowing it only from its generated field catalogue.

``SearchClient`` runs searches; filters are strings in the filter language
(``indexer.search.filter_parser``) or built in Python with ``F``, ``Any``, ``And``, ``Or`` and ``Not``.
"""

from indexer.catalogue import Catalogue, CatalogueField, load_catalogue, parse_catalogue
from indexer.search.client import SearchClient
from indexer.search.expressions import And, Any, AnyElement, Condition, Expression, F, Not, Op, Or, render
from indexer.search.filter_parser import parse_filter
from indexer.search.limits import SearchLimits
from indexer.search.query_builder import FacetRequest, SearchPlan
from indexer.search.results import Facet, FacetValue, Hit, SearchResult, Suggestion, Total

__all__ = [
    "And",
    "Any",
    "AnyElement",
    "Catalogue",
    "CatalogueField",
    "Condition",
    "Expression",
    "F",
    "Facet",
    "FacetRequest",
    "FacetValue",
    "Hit",
    "Not",
    "Op",
    "Or",
    "SearchClient",
    "SearchLimits",
    "SearchPlan",
    "SearchResult",
    "Suggestion",
    "Total",
    "load_catalogue",
    "parse_catalogue",
    "parse_filter",
    "render",
]
