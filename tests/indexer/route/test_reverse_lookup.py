"""Reverse-lookup queries derived from the catalogue: every path, nested-aware, batched, paged."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from indexer.catalogue import parse_catalogue
from indexer.route.reverse_lookup import ReverseLookup
from indexer.search_store import BulkAction, SearchStore
from indexer.search_store.memory import InMemorySearchStore
from schema_gen.config import ReverseLookupSettings
from schema_gen.errors import ArtifactError

CATALOGUE = parse_catalogue(
    {
        "index": "movies",
        "root_type": "Movie",
        "id_field": "movieId",
        "fields": [
            {"path": "movieId", "index_type": "keyword"},
            {"path": "production", "index_type": "object"},
            {"path": "production.ptpId", "index_type": "keyword"},
            {"path": "credits", "index_type": "nested", "nested_path": "credits"},
            {"path": "credits.talent", "index_type": "object", "nested_path": "credits"},
            {"path": "credits.talent.talentId", "index_type": "keyword", "nested_path": "credits"},
            {"path": "director", "index_type": "object"},
            {"path": "director.talentId", "index_type": "keyword"},
            {"path": "locations", "index_type": "nested", "nested_path": "locations"},
            {
                "path": "locations.city",
                "index_type": "text",
                "nested_path": "locations",
                "exact_path": "locations.city.keyword",
            },
            {"path": "locations.country", "index_type": "keyword", "nested_path": "locations"},
        ],
        "nested_paths": ["credits", "locations"],
        "entities": [
            {"path": "", "type": "Movie", "key_fields": ["movieId"], "key_paths": ["movieId"]},
            {"path": "production", "type": "Production", "key_fields": ["ptpId"], "key_paths": ["production.ptpId"]},
            {
                "path": "credits.talent",
                "type": "Talent",
                "key_fields": ["talentId"],
                "key_paths": ["credits.talent.talentId"],
                "nested_path": "credits",
            },
            {"path": "director", "type": "Talent", "key_fields": ["talentId"], "key_paths": ["director.talentId"]},
            {
                "path": "locations",
                "type": "Location",
                "key_fields": ["city", "country"],
                "key_paths": ["locations.city", "locations.country"],
                "nested_path": "locations",
            },
        ],
    },
    "movies.fields.json",
)


class RecordingStore(InMemorySearchStore):
    """The in-memory store holding movies that credit talents a, b and c; it records each search body."""

    def __init__(self, movie_ids: list[str]) -> None:
        super().__init__()
        self.bodies: list[dict[str, Any]] = []
        credits = [{"talent": {"talentId": talent}} for talent in "abc"]
        actions = [BulkAction("index", "movies", i, {"movieId": i, "credits": credits}) for i in movie_ids]
        self.bulk(actions, refresh=True)

    def search(self, index: str, body: Mapping[str, Any], *, timeout: float | None = None) -> dict[str, Any]:
        self.bodies.append(dict(body))
        return super().search(index, body, timeout=timeout)


def lookup(store: SearchStore | None = None, **settings: Any) -> ReverseLookup:
    return ReverseLookup(store or InMemorySearchStore(), "movies", CATALOGUE, ReverseLookupSettings(**settings))


def test_every_path_of_a_type_is_searched_nested_aware() -> None:
    """Talent appears under nested credits and as a plain director object: both are matched."""
    query = lookup().query_for("Talent", [("t1",), ("t2",)])
    assert query == {
        "bool": {
            "should": [
                {"nested": {"path": "credits", "query": {"terms": {"credits.talent.talentId": ["t1", "t2"]}}}},
                {"terms": {"director.talentId": ["t1", "t2"]}},
            ],
            "minimum_should_match": 1,
        }
    }


def test_composite_keys_match_within_one_nested_element() -> None:
    """Both key fields of a composite key must match in the same nested element, on exact sub-fields."""
    query = lookup().query_for("Location", [("Paris", "FR")])
    inner = query["bool"]["should"][0]["nested"]
    assert inner["path"] == "locations"
    assert inner["query"]["bool"]["should"][0] == {
        "bool": {"filter": [{"term": {"locations.city.keyword": "Paris"}}, {"term": {"locations.country": "FR"}}]}
    }


def test_settle_lookup_only_matches_documents_fetched_before() -> None:
    """A settle lookup adds a range filter on the fetch time graphdex stores in each document."""
    query = lookup().query_for("Production", [("p1",)], fetched_before_ms=1234)
    assert query["bool"]["filter"] == [{"range": {"graphdex.fetched_at": {"lt": 1234}}}]


def test_type_not_in_the_document_is_an_error() -> None:
    """Asking for a type the documents never embed is a configuration mistake, reported clearly."""
    with pytest.raises(ArtifactError, match="Studio appears nowhere"):
        lookup().query_for("Studio", [("s",)])


def test_roots_are_paged_with_search_after_and_keys_batched() -> None:
    """2,500 roots come back in pages of 1,000; 3 keys with a batch of 2 make two lookups."""
    store = RecordingStore([f"m{n:05d}" for n in range(2500)])
    pages = list(lookup(store, page_size=1000, terms_batch=2).root_ids("Talent", [("a",), ("b",), ("c",), ("a",)]))
    assert [len(page) for page in pages] == [1000, 1000, 500, 1000, 1000, 500]
    assert pages[0][0] == "m00000"
    assert pages[2][-1] == "m02499"
    assert all(body["_source"] is False and body["sort"] == [{"movieId": "asc"}] for body in store.bodies)
    assert "search_after" in store.bodies[1]


def test_no_index_yet_finds_nothing() -> None:
    """Before the first index exists (a first start), a lookup finds no roots instead of failing."""
    assert list(lookup(page_size=10).root_ids("Talent", [("a",)])) == []


def test_related_types_exclude_the_root() -> None:
    """The root entity is not a relation of itself."""
    assert lookup().related_types() == {"Production", "Talent", "Location"}
