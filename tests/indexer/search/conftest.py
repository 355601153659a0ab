"""Fixtures of the search library tests: the hand-written Movie catalogue, and a loaded Movie index."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from indexer.definition import IndexDefinition, load_definition
from indexer.search import Catalogue, SearchClient, parse_catalogue
from indexer.search.client import definition_catalogue
from indexer.search.limits import SearchLimits
from indexer.search.query_builder import QueryBuilder
from indexer.search_store import BulkAction, SearchStore
from schema_gen.index_template import index_template
from tests.indexer.search.movie_index import ALL_MOVIES, CATALOGUE

DEFINITION = Path(__file__).parent / "data" / "movies.yaml"


@pytest.fixture(scope="session")
def catalogue() -> Catalogue:
    """The hand-written Movie catalogue, parsed."""
    return parse_catalogue(CATALOGUE, "movies.fields.json")


@pytest.fixture
def builder(catalogue: Catalogue) -> QueryBuilder:
    """A query builder on the hand-written catalogue with the default limits."""
    return QueryBuilder(catalogue, SearchLimits())


@pytest.fixture(scope="session")
def movie_definition() -> IndexDefinition:
    """The test definition ``data/movies.yaml``, loaded."""
    return load_definition(DEFINITION, env={})


@pytest.fixture(scope="session")
def movie_index(search_store: SearchStore, movie_definition: IndexDefinition) -> Iterator[str]:
    """An index made from the generated template of ``data/movies.yaml`` holding ``ALL_MOVIES``
    behind a unique alias; yields the alias."""
    template = index_template(movie_definition.model, movie_definition.config)["template"]
    alias = f"movies-{uuid.uuid4().hex[:8]}"
    concrete = f"{alias}-v1"
    search_store.create_index(concrete, settings=template["settings"], mappings=template["mappings"], aliases=[alias])
    actions = [BulkAction("index", concrete, movie["movieId"], movie) for movie in ALL_MOVIES]
    results = search_store.bulk(actions, refresh=True)
    assert [item for item in results if not item.succeeded] == []
    try:
        yield alias
    finally:
        search_store.delete_index(concrete)


@pytest.fixture(scope="session")
def movie_search(search_store: SearchStore, movie_definition: IndexDefinition, movie_index: str) -> SearchClient:
    """A search client on the loaded Movie index, knowing it from its generated catalogue."""
    return SearchClient(definition_catalogue(movie_definition), search_store, index=movie_index)
