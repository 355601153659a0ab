"""Property tests: no filter string ever produces a traceback or a server error, and the server
matches exactly the documents the documented semantics say (a reference evaluator in Python)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from indexer.search import Catalogue, SearchClient, parse_catalogue, parse_filter, render
from indexer.search.filter_compiler import FilterCompiler
from indexer.search.limits import SearchLimits
from indexer.search.query_builder import QueryBuilder
from schema_gen.errors import SearchError, ServiceError
from tests.indexer.search.filter_strategies import filter_soup, matches, valid_filters
from tests.indexer.search.movie_index import ALL_MOVIES, CATALOGUE

HAND_WRITTEN = parse_catalogue(CATALOGUE, "movies.fields.json")


def build_or_refuse(builder: QueryBuilder, source: str) -> dict | None:
    """The body for ``source``, or None when it is refused with a SearchError (nothing else may escape)."""
    try:
        return builder.build(filter=source).body
    except SearchError:
        return None


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60))
def test_random_text_is_a_result_or_a_search_error(source):
    """Arbitrary strings either compile or are refused with a SearchError."""
    build_or_refuse(QueryBuilder(HAND_WRITTEN, SearchLimits()), source)


@settings(max_examples=400, deadline=None)
@given(filter_soup)
def test_token_soup_is_a_result_or_a_search_error(source):
    """Strings of filter tokens in any order either compile or are refused with a SearchError."""
    build_or_refuse(QueryBuilder(HAND_WRITTEN, SearchLimits()), source)


@settings(max_examples=200, deadline=None)
@given(valid_filters(HAND_WRITTEN, ALL_MOVIES))
def test_valid_trees_compile_and_round_trip_through_the_language(expression):
    """Every catalogue-valid tree compiles, and its rendering parses back to the same tree and query."""
    compiler = FilterCompiler(HAND_WRITTEN, SearchLimits())
    query = compiler.compile(expression)
    text = render(expression)
    assert parse_filter(text) == expression
    assert compiler.compile(parse_filter(text), text) == query


@pytest.mark.integration
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(source=filter_soup)
def test_token_soup_never_causes_a_server_error(movie_search: SearchClient, source):
    """Filters that pass validation never make the server fail."""
    try:
        movie_search.search(filter=source, first=1)
    except SearchError:
        pass
    except ServiceError as error:  # pragma: no cover - the property under test
        pytest.fail(f"server error for {source!r}: {error}")


@pytest.mark.integration
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_server_matches_the_reference_semantics(movie_search: SearchClient, data):
    """For catalogue-valid filters, the server returns exactly the documents the reference evaluator picks."""
    catalogue: Catalogue = movie_search.catalogue
    expression = data.draw(valid_filters(catalogue, ALL_MOVIES))
    expected = {movie["movieId"] for movie in ALL_MOVIES if matches(catalogue, expression, movie)}
    found: set[str] = set()
    after = None
    while True:
        page = movie_search.search(filter=expression, first=100, after=after, fields=[])
        found |= {hit.id for hit in page.hits}
        after = page.next_cursor
        if after is None:
            break
    assert found == expected, render(expression)
