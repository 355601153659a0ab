"""The search library against a real OpenSearch node, on an index made from the
generated template and catalogue of ``data/movies.yaml`` holding the Movie documents."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from indexer.search import F, FacetRequest, SearchClient, SearchLimits
from indexer.search.results import values_at
from indexer.search_store import open_search_store
from schema_gen.config import ElasticsearchSettings
from schema_gen.errors import SearchError, ServiceError
from tests.indexer.search.movie_index import ALL_MOVIES

pytestmark = pytest.mark.integration

RYAN_AS_ACTOR = 'production.status == "PHOTOGRAPHY" and credits.any(talent.name == "Ryan Reynolds" and role == "ACTOR")'
RYAN_AND_AN_ACTOR = (
    'production.status == "PHOTOGRAPHY" and credits.talent.name == "Ryan Reynolds" and credits.role == "ACTOR"'
)


def ids(client: SearchClient, **search: Any) -> set[str]:
    """Every id the search matches, through all its pages."""
    found: list[str] = []
    after = None
    while True:
        page = client.search(first=50, after=after, **search)
        found += [hit.id for hit in page.hits]
        after = page.next_cursor
        if after is None:
            return set(found)


def test_ryan_reynolds_as_actor_in_a_production_in_photography(movie_search):
    """any() matches only the movie where one credit is Ryan Reynolds AND an actor."""
    assert ids(movie_search, filter=RYAN_AS_ACTOR) == {"m-deadpool"}


def test_separate_top_level_conditions_may_match_different_credits(movie_search):
    """Top-level conditions on credits also match the movie he directs while someone else acts."""
    assert ids(movie_search, filter=RYAN_AND_AN_ACTOR) == {"m-deadpool", "m-directed"}


def test_not_any_excludes_only_the_matching_element_combination(movie_search):
    """``not credits.any(...)`` keeps the directed movie and drops the acted one."""
    found = ids(movie_search, filter="not credits.any(talent.name == 'Ryan Reynolds' and role == 'ACTOR')")
    assert "m-directed" in found
    assert "m-deadpool" not in found
    assert "m-released" not in found
    assert len(found) == len(ALL_MOVIES) - 2


def test_structured_filter_gives_the_same_answer(movie_search):
    """The Python filter API finds what the filter string finds."""
    built = (F("production.status") == "PHOTOGRAPHY") & F("credits").any(
        F("talent.name") == "Ryan Reynolds", F("role") == "ACTOR"
    )
    assert ids(movie_search, filter=built) == {"m-deadpool"}


def expected_facet(path: str, movies: list[dict[str, Any]]) -> dict[Any, int]:
    """Root documents per value of ``path``, computed from the source documents."""
    counts: Counter[Any] = Counter()
    for movie in movies:
        counts.update(set(values_at(movie, path)))
    return dict(counts)


FACET_PATHS = ["genres", "production.status", "credits.role", "inTheaters", "releaseYear", "credits.talent.name"]


@pytest.mark.parametrize("filter_text", [None, "releaseYear >= 2010", 'credits.any(role == "DIRECTOR")'])
def test_facet_counts_equal_counts_from_the_source_documents(movie_search, filter_text):
    """Every facet (top-level, list and nested) counts each matching root document once per value."""
    result = movie_search.search(filter=filter_text, facets=[FacetRequest(path, 100) for path in FACET_PATHS], first=0)
    matching = ids(movie_search, filter=filter_text)
    movies = [movie for movie in ALL_MOVIES if movie["movieId"] in matching]
    assert result.total.value == len(movies)
    for path in FACET_PATHS:
        facet = result.facets[path]
        assert {value.value: value.count for value in facet.values} == expected_facet(path, movies), path
        assert facet.missing == sum(1 for movie in movies if not list(values_at(movie, path))), path


def test_facet_values_are_ordered_by_count_then_value(movie_search):
    """Buckets come most frequent first; the size limits how many come."""
    facet = movie_search.search(facets=[FacetRequest("credits.talent.name", 3)], first=0).facets["credits.talent.name"]
    counts = [value.count for value in facet.values]
    assert len(counts) == 3
    assert counts == sorted(counts, reverse=True)
    expected = sorted(expected_facet("credits.talent.name", ALL_MOVIES).values(), reverse=True)[:3]
    assert counts == expected


@pytest.mark.parametrize(
    "search",
    [
        {"sort": ["-releaseYear"]},
        {"sort": ["rating", "-title"]},
        {"sort": ["credits.talent.name"]},
        {"sort": ["-releaseDate", "inTheaters"]},
        {"text": "ryan", "sort": ["-releaseYear"]},
        {"filter": "releaseYear in [2010, 2015, null]", "sort": ["-genres"]},
    ],
)
def test_pagination_returns_every_document_exactly_once(movie_search, search):
    """Walking the cursors with small pages yields each matching document once, in sort order."""
    pages = []
    after = None
    while True:
        page = movie_search.search(first=7, after=after, **search)
        assert len(page.hits) <= 7
        pages.append([hit.id for hit in page.hits])
        after = page.next_cursor
        if after is None:
            break
    walked = [doc_id for page in pages for doc_id in page]
    assert len(walked) == len(set(walked))
    everything = movie_search.search(first=100, **search)
    assert walked == [hit.id for hit in everything.hits]
    assert len(walked) == everything.total.value


def test_relevance_pagination_returns_every_document_exactly_once(movie_search):
    """Walking relevance-sorted pages (ties in score across a page boundary) yields every match once."""
    walked: list[str] = []
    after = None
    while True:
        page = movie_search.search("night", first=7, after=after)
        walked += [hit.id for hit in page.hits]
        after = page.next_cursor
        if after is None:
            break
    everything = movie_search.search("night", first=100)
    assert walked == [hit.id for hit in everything.hits]


def test_pages_follow_the_sort_order(movie_search):
    """Descending release years come out non-increasing across pages, missing years last."""
    years: list[int | None] = []
    after = None
    while True:
        page = movie_search.search(sort=["-releaseYear"], first=10, after=after, fields=["releaseYear"])
        years += [hit.document.get("releaseYear") for hit in page.hits]
        after = page.next_cursor
        if after is None:
            break
    present = [year for year in years if year is not None]
    assert present == sorted(present, reverse=True)
    assert years[len(present) :] == [None] * (len(years) - len(present))


@pytest.mark.parametrize("text", ["amelie", "AMÉLIE", "amélie poulain", "Amel"])
def test_accents_and_case_are_folded_in_full_text(movie_search, text):
    """Full text ignores accents and case (the index analyzers fold both)."""
    assert "m-amelie" in {hit.id for hit in movie_search.search(text).hits}


@pytest.mark.parametrize(
    "filter_text",
    [
        'credits.character == "amelie poulain"',
        'credits.talent.name in ["AUDREY TAUTOU"]',
        'title startswith "le fabuleux"',
        'title contains "DESTIN"',
    ],
)
def test_accents_and_case_are_folded_in_string_filters(movie_search, filter_text):
    """``==``, ``in``, ``startswith`` and ``contains`` on strings ignore case (and accents)."""
    assert ids(movie_search, filter=filter_text) == {"m-amelie"}


@pytest.mark.parametrize(
    "filter_text",
    [
        'credits.talent.name == "emile roy"',
        'credits.talent.name startswith "ÉMILE"',
        'credits.talent.name startswith "emile"',
        'credits.talent.name contains "MILE R"',
        'credits.talent.name contains "mîle"',
    ],
)
def test_accents_are_folded_in_prefix_and_substring_filters(movie_search, filter_text):
    """Accented or not, upper or lower case, the filter finds the credits of Émile Roy."""
    expected = {movie["movieId"] for movie in ALL_MOVIES if "Émile Roy" in values_at(movie, "credits.talent.name")}
    assert expected
    assert ids(movie_search, filter=filter_text) == expected


def test_phrases_and_prefixes(movie_search):
    """A quoted phrase must match in order; the last word matches as a prefix."""
    assert {hit.id for hit in movie_search.search('"wade wilson"').hits} == {"m-deadpool"}
    assert movie_search.search('"wilson wade"').total.value == 0
    assert "m-deadpool" in {hit.id for hit in movie_search.search("deadp").hits}
    assert movie_search.search("deadp ").total.value == 0


def test_text_across_fields_requires_every_word(movie_search):
    """Words may match different fields (title, nested talent names), but each must match somewhere."""
    assert {hit.id for hit in movie_search.search("wolverine jackman").hits} == {"m-deadpool"}
    assert movie_search.search("wolverine tautou").total.value == 0


def test_boosted_title_ranks_first(movie_search):
    """A word in the title (boost 3) outranks the same word in a description."""
    hits = movie_search.search("guy").hits
    assert hits[0].id == "m-released"


def test_highlights(movie_search):
    """Matches are highlighted in top-level fields and inside nested credits."""
    hit = movie_search.search("ryan", filter="movieId == 'm-directed'", highlight=True).hits[0]
    assert hit.highlights["description"] == ["<em>Ryan</em> Reynolds steps behind the camera."]
    assert hit.highlights["credits.talent.name"] == ["<em>Ryan</em> Reynolds"]


def test_highlights_are_html_escaped(movie_search):
    """Fragments escape the document's text, so only the <em> tags are markup."""
    hit = movie_search.search("wolverine", highlight=True).hits[0]
    assert hit.highlights["title"] == ["Deadpool &amp; <em>Wolverine</em>"]


def test_empty_fields_return_ids_only(movie_search):
    """``fields=[]`` returns hits without documents."""
    hits = movie_search.search(filter="movieId == 'm-deadpool'", fields=[]).hits
    assert [(hit.id, hit.document) for hit in hits] == [("m-deadpool", {})]


def test_highlight_does_not_change_the_results(movie_search):
    """The same hits and scores come back with and without highlighting."""
    plain = movie_search.search("ryan night", first=50)
    highlighted = movie_search.search("ryan night", first=50, highlight=True)
    assert [(hit.id, hit.score) for hit in plain.hits] == [(hit.id, hit.score) for hit in highlighted.hits]


def test_date_filters_cover_whole_days(movie_search):
    """A date alone is the whole day; ranges on dates exclude or include that day as written."""
    assert ids(movie_search, filter="releaseDate == 2024-07-26") == {"m-deadpool"}
    assert "m-deadpool" not in ids(movie_search, filter="releaseDate < 2024-07-26")
    assert "m-deadpool" in ids(movie_search, filter="releaseDate <= 2024-07-26")
    assert ids(movie_search, filter='releaseDate > "2024-07-26T12:00:00Z"') == {"m-directed"}


def test_fields_limit_the_document(movie_search):
    """Only the requested fields come back in each hit's document."""
    hit = movie_search.search(filter="movieId == 'm-deadpool'", fields=["title", "credits.role"]).hits[0]
    assert hit.document == {
        "title": "Deadpool & Wolverine",
        "credits": [{"role": "ACTOR"}] * 2 + [{"role": "DIRECTOR"}],
    }


def test_suggestions(movie_search):
    """Prefixes complete titles and nested talent names, accent-insensitively."""
    assert [s.text for s in movie_search.suggest("ryan re")] == ["Ryan Reynolds"]
    assert "Deadpool & Wolverine" in [s.text for s in movie_search.suggest("wolv")]
    assert "Émile Roy" in [s.text for s in movie_search.suggest("emil")]
    assert movie_search.suggest("   ") == []


def test_total_is_a_lower_bound_above_the_counting_limit(search_store, movie_search):
    """Past ``track_total_hits`` the total says it is a lower bound."""
    limited = SearchClient(
        movie_search.catalogue, search_store, index=movie_search.index, limits=SearchLimits(track_total_hits=10)
    )
    total = limited.search(first=1).total
    assert (total.value, total.exact) == (10, False)


def test_missing_index_is_a_service_error(search_store, movie_search):
    """Searching an index that does not exist says so."""
    client = SearchClient(movie_search.catalogue, search_store, index="no-such-index")
    with pytest.raises(ServiceError, match="search index no-such-index does not exist"):
        client.search("x")


def test_invalid_requests_never_reach_the_server(movie_search):
    """A bad request is refused by validation, before any request is sent."""
    with pytest.raises(SearchError):
        movie_search.search(filter="credits.any(rol == 'ACTOR')")


def test_from_definition_reads_the_elasticsearch_section(search_server, movie_index):
    """A client built from the YAML definition reaches the server named in its elasticsearch section."""
    from tests.indexer.search.conftest import DEFINITION

    client = SearchClient.from_definition(DEFINITION, env={"SEARCH_URL": search_server})
    assert client.catalogue.is_excluded("budget")
    client.index = movie_index
    assert {hit.id for hit in client.search(filter=RYAN_AS_ACTOR).hits} == {"m-deadpool"}


def test_unreachable_server_is_a_service_error(movie_search):
    """A server that refuses connections is a ServiceError naming the problem."""
    unreachable = open_search_store(ElasticsearchSettings(url="http://127.0.0.1:9", engine="opensearch"))
    client = SearchClient(movie_search.catalogue, unreachable)
    with pytest.raises(ServiceError, match="cannot reach the search server"):
        client.search("x")
