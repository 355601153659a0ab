"""The ``SearchStore`` contract: the same cases against every engine available.

* ``memory``: ``InMemorySearchStore``, always (it is what the unit tests rely on, so it must agree);
* ``opensearch``: the local stack's search server (``search_server``), or the node at
  ``GRAPHDEX_TEST_OPENSEARCH_URL``;
* ``elasticsearch``: the node at ``GRAPHDEX_TEST_ELASTICSEARCH_URL`` (skipped without it).

Adding an engine is one entry in ``ENGINES``: a function from the test request to a store.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from indexer.definition import load_definition
from indexer.search_store import BulkAction, SearchStore, open_search_store
from indexer.search_store.memory import InMemorySearchStore
from schema_gen.config import ElasticsearchSettings, SearchEngine
from schema_gen.errors import StoreNotFound, StoreRejected, StoreUnavailable
from schema_gen.index_template import index_template

REPO = Path(__file__).resolve().parents[3]
MAPPING = {
    "dynamic": "strict",
    "properties": {
        "movieId": {"type": "keyword"},
        "year": {"type": "integer"},
        "credits": {"type": "nested", "properties": {"talentId": {"type": "keyword"}, "role": {"type": "keyword"}}},
    },
}


def _memory(request: pytest.FixtureRequest) -> SearchStore:
    return InMemorySearchStore()


def _opensearch(request: pytest.FixtureRequest) -> SearchStore:
    url = os.environ.get("GRAPHDEX_TEST_OPENSEARCH_URL") or request.getfixturevalue("search_server")
    return open_search_store(ElasticsearchSettings(url=url, engine=SearchEngine.OPENSEARCH))


def _elasticsearch(request: pytest.FixtureRequest) -> SearchStore:
    url = os.environ.get("GRAPHDEX_TEST_ELASTICSEARCH_URL")
    if not url:
        pytest.skip("set GRAPHDEX_TEST_ELASTICSEARCH_URL to run the contract against Elasticsearch")
    return open_search_store(ElasticsearchSettings(url=url, engine=SearchEngine.ELASTICSEARCH))


ENGINES = [
    pytest.param(_memory, id="memory"),
    pytest.param(_opensearch, id="opensearch", marks=pytest.mark.integration),
    pytest.param(_elasticsearch, id="elasticsearch", marks=pytest.mark.integration),
]


@pytest.fixture(params=ENGINES)
def store(request: pytest.FixtureRequest, unique_name: str) -> Iterator[SearchStore]:
    opened: SearchStore = request.param(request)
    yield opened
    for name in opened.get_indices(f"{unique_name}*"):
        opened.delete_index(name)
    for template in (unique_name,):
        if opened.get_index_template(template) is not None:
            opened.delete_index_template(template)
    opened.close()


@pytest.fixture
def movies(store: SearchStore, unique_name: str) -> str:
    """An index ``<name>-1`` behind the alias ``<name>`` with ``MAPPING``."""
    store.create_index(f"{unique_name}-1", settings={"number_of_shards": 1}, mappings=MAPPING, aliases=[unique_name])
    return unique_name


def index(doc_id: str, alias: str, version: int | None = None, **source: object) -> BulkAction:
    return BulkAction("index", alias, doc_id, {"movieId": doc_id, **source}, version)


def test_the_generated_movies_template_is_accepted(store: SearchStore, unique_name: str) -> None:
    """configs/movies.yaml's template is stored as sent, and an index created by name gets its settings
    (flat, as text) and its strict mapping."""
    definition = load_definition(REPO / "configs" / "movies.yaml", {})
    model = replace(definition.model, index=unique_name)
    template = index_template(model, definition.config.model_copy(update={"index": unique_name}))
    store.put_index_template(unique_name, template)
    assert store.get_index_template(unique_name)["index_patterns"] == [f"{unique_name}-*"]
    store.create_index(f"{unique_name}-1")
    (described,) = store.get_indices(f"{unique_name}-1").values()
    assert described.mappings["dynamic"] == "strict"
    assert described.mappings["properties"]["credits"]["type"] == "nested"
    assert described.settings["index.number_of_shards"] == "1"
    assert described.settings["index.gc_deletes"] == template["template"]["settings"]["gc_deletes"]
    store.delete_index(f"{unique_name}-1")
    store.delete_index_template(unique_name)
    assert store.get_index_template(unique_name) is None


def test_bulk_with_external_versions(store: SearchStore, movies: str) -> None:
    """Newer versions are indexed, stale ones refused with 409, and each item carries its own error."""
    first = store.bulk([index("m1", movies, 10, year=2001), index("m2", movies, 5)], refresh=True)
    assert [(item.status, item.result, item.version) for item in first] == [(201, "created", 10), (201, "created", 5)]
    second = store.bulk(
        [
            index("m1", movies, 9),
            index("m1", movies, 10),
            index("m2", movies, 6, year=1999),
            index("m3", movies, 1, bogus=True),
            index("m4", movies, 1, year="not a year"),
            BulkAction("delete", movies, "m5", external_version=3),
        ]
    )
    assert [(item.status, item.error_type) for item in second] == [
        (409, "version_conflict_engine_exception"),
        (409, "version_conflict_engine_exception"),
        (200, None),
        (400, "strict_dynamic_mapping_exception"),
        (400, "mapper_parsing_exception"),
        (404, None),
    ]
    assert second[1].error_reason
    assert {item.index for item in second} == {f"{movies}-1"}
    assert store.mget(movies, ["m1", "m2"])["m2"].source == {"movieId": "m2", "year": 1999}


def test_a_deleted_version_keeps_older_writes_out(store: SearchStore, movies: str) -> None:
    """A versioned delete leaves its version behind: an older write of the same id is still stale."""
    store.bulk([index("m1", movies, 10)])
    deleted = store.bulk([BulkAction("delete", movies, "m1", external_version=20)])
    assert [(item.status, item.result) for item in deleted] == [(200, "deleted")]
    late = store.bulk([index("m1", movies, 15)])
    assert [item.status for item in late] == [409]
    assert store.mget(movies, ["m1"]) == {}


def test_mget_is_real_time_and_filters_sources(store: SearchStore, movies: str) -> None:
    """Documents are readable by id before any refresh; missing ids are left out."""
    store.bulk([index("m1", movies, 3, year=2001)])
    found = store.mget(movies, ["m1", "nope"], source_includes=["year"])
    assert list(found) == ["m1"]
    assert (found["m1"].version, found["m1"].source) == (3, {"year": 2001})
    assert store.mget(f"{movies}-missing", ["m1"]) == {}


def test_alias_swap_is_atomic(store: SearchStore, movies: str) -> None:
    """Moving an alias is one request; when one action cannot be done, none is."""
    store.create_index(f"{movies}-2", mappings=MAPPING)
    store.update_aliases(
        [{"remove": {"index": f"{movies}-1", "alias": movies}}, {"add": {"index": f"{movies}-2", "alias": movies}}]
    )
    assert store.alias_targets(movies) == [f"{movies}-2"]
    with pytest.raises(StoreNotFound):
        store.update_aliases(
            [
                {"add": {"index": f"{movies}-1", "alias": f"{movies}-write"}},
                {"add": {"index": f"{movies}-missing", "alias": f"{movies}-write"}},
            ]
        )
    assert store.alias_targets(f"{movies}-write") == []
    assert store.alias_targets(f"{movies}-nothing") == []
    assert sorted(store.get_indices(f"{movies}-*")) == [f"{movies}-1", f"{movies}-2"]
    assert store.get_indices(f"{movies}-missing") == {}


def test_writes_through_an_alias_need_one_index(store: SearchStore, movies: str) -> None:
    """Behind an alias with two indexes, a write has no single target and is refused per item."""
    store.create_index(f"{movies}-2", mappings=MAPPING)
    store.update_aliases([{"add": {"index": f"{movies}-2", "alias": movies}}])
    (item,) = store.bulk([index("m1", movies, 1)])
    assert (item.status, item.error_type) == (400, "illegal_argument_exception")


def test_search_after_pages_through_terms_queries(store: SearchStore, movies: str) -> None:
    """A nested terms query paged by search_after on the id field yields every match once, in order."""
    credits = [{"talentId": "t1", "role": "ACTOR"}]
    others = [{"talentId": "t2", "role": "ACTOR"}]
    store.bulk([index(f"m{n:02}", movies, 1, credits=credits if n % 3 else others) for n in range(20)], refresh=True)
    query = {"nested": {"path": "credits", "query": {"terms": {"credits.talentId": ["t1"]}}}}
    pages: list[list[str]] = []
    after = None
    while True:
        body = {"query": query, "size": 5, "sort": [{"movieId": "asc"}], "_source": False, "track_total_hits": False}
        if after is not None:
            body["search_after"] = after
        hits = store.search(movies, body)["hits"]["hits"]
        if not hits:
            break
        pages.append([hit["_id"] for hit in hits])
        after = hits[-1]["sort"]
    assert [doc_id for page in pages for doc_id in page] == [f"m{n:02}" for n in range(20) if n % 3]
    assert [len(page) for page in pages] == [5, 5, 3]


def test_nested_clauses_match_within_one_element(store: SearchStore, movies: str) -> None:
    """Both conditions of a nested bool must hold in the same nested object."""
    store.bulk(
        [
            index("m1", movies, 1, credits=[{"talentId": "t1", "role": "ACTOR"}]),
            index(
                "m2", movies, 1, credits=[{"talentId": "t1", "role": "DIRECTOR"}, {"talentId": "t2", "role": "ACTOR"}]
            ),
        ],
        refresh=True,
    )
    both = [{"term": {"credits.talentId": "t1"}}, {"term": {"credits.role": "ACTOR"}}]
    query = {"nested": {"path": "credits", "query": {"bool": {"filter": both}}}}
    hits = store.search(movies, {"query": query, "sort": [{"movieId": "asc"}]})["hits"]["hits"]
    assert [hit["_id"] for hit in hits] == ["m1"]


def test_searches_and_counts_see_refreshed_writes(store: SearchStore, movies: str) -> None:
    """Counts follow refreshes; a count takes a query; the search total is exact below its limit."""
    store.put_index_settings(f"{movies}-1", {"index": {"refresh_interval": "-1"}})
    store.bulk([index("m1", movies, 1, year=2001), index("m2", movies, 1, year=1990)])
    assert store.count(movies) == 0
    store.refresh(movies)
    assert store.count(movies) == 2
    assert store.count(movies, {"range": {"year": {"gte": 2000}}}) == 1
    total = store.search(movies, {"query": {"match_all": {}}, "track_total_hits": True})["hits"]["total"]
    assert total == {"value": 2, "relation": "eq"}


def test_mappings_merge_and_settings_read_back_flat(store: SearchStore, movies: str) -> None:
    """put_mapping adds fields and replaces _meta; a field's type cannot change; settings are text."""
    store.put_mapping(f"{movies}-1", {"properties": {"title": {"type": "keyword"}}, "_meta": {"state": "x"}})
    described = store.get_indices(f"{movies}-1")[f"{movies}-1"]
    assert described.mappings["properties"]["title"] == {"type": "keyword"}
    assert described.mappings["_meta"] == {"state": "x"}
    assert described.aliases == {movies: {}}
    with pytest.raises(StoreRejected) as refused:
        store.put_mapping(f"{movies}-1", {"properties": {"year": {"type": "keyword"}}})
    assert "year" in refused.value.reason
    store.put_index_settings(f"{movies}-1", {"index": {"number_of_replicas": 0}})
    assert store.get_indices(movies)[f"{movies}-1"].settings["index.number_of_replicas"] == "0"


def test_a_missing_index_is_not_found(store: SearchStore, unique_name: str) -> None:
    with pytest.raises(StoreNotFound) as missing:
        store.search(f"{unique_name}-missing", {"query": {"match_all": {}}})
    assert missing.value.status == 404
    with pytest.raises(StoreNotFound):
        store.delete_index(f"{unique_name}-missing")


def test_a_malformed_query_is_rejected_with_the_servers_reason(store: SearchStore, movies: str) -> None:
    with pytest.raises(StoreRejected) as refused:
        store.search(movies, {"query": {"no_such_query": {}}})
    assert refused.value.status == 400
    assert "no_such_query" in refused.value.reason
    assert "no_such_query" in str(refused.value)


def test_a_write_block_is_backpressure(store: SearchStore, movies: str) -> None:
    """index.blocks.write refuses each write with a 403 cluster block: retryable, not the document's fault."""
    store.put_index_settings(f"{movies}-1", {"index.blocks.write": True})
    try:
        (item,) = store.bulk([index("m1", movies, 1)])
        assert (item.status, item.error_type) == (403, "cluster_block_exception")
    finally:
        store.put_index_settings(f"{movies}-1", {"index.blocks.write": False})
    assert [item.status for item in store.bulk([index("m1", movies, 1)])] == [201]


def test_a_read_block_is_unavailable(store: SearchStore, movies: str) -> None:
    store.put_index_settings(f"{movies}-1", {"index.blocks.read": True})
    try:
        with pytest.raises(StoreUnavailable) as blocked:
            store.search(movies, {"query": {"match_all": {}}})
        assert (blocked.value.status, blocked.value.error_type) == (403, "cluster_block_exception")
    finally:
        store.put_index_settings(f"{movies}-1", {"index.blocks.read": False})


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize("engine", [SearchEngine.ELASTICSEARCH, SearchEngine.OPENSEARCH])
def test_an_unreachable_server_is_unavailable(engine: SearchEngine) -> None:
    """No answer at all is the retryable kind, naming the URL."""
    url = f"http://127.0.0.1:{_closed_port()}"
    unreachable: Callable[[], SearchStore] = lambda: open_search_store(  # noqa: E731
        ElasticsearchSettings(url=url, engine=engine, timeout=2)
    )
    with pytest.raises(StoreUnavailable) as failure:
        unreachable().count("movies")
    assert url in str(failure.value)
    assert failure.value.status is None
