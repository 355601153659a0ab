"""Search request -> search body: full text, highlight, sort, facets, projection, cursors and limits."""

from __future__ import annotations

import pytest

from indexer.search import FacetRequest, parse_catalogue
from indexer.search.cursor import encode_cursor
from indexer.search.fulltext import TextUnit, parse_text
from indexer.search.limits import SearchLimits
from indexer.search.query_builder import QueryBuilder
from schema_gen.errors import FilterSyntaxError, SearchError
from tests.indexer.search.movie_index import CATALOGUE

TOP_FIELDS = ["title^3", "description", "production.locations.city"]
CREDIT_FIELDS = ["credits.character", "credits.talent.name^2"]


def unit_query(text: str, kind: str) -> dict:
    def match(fields: list[str]) -> dict:
        body = {"query": text, "fields": fields, "type": kind, "zero_terms_query": "all"}
        if kind == "best_fields":
            body["operator"] = "and"
        return {"multi_match": body}

    credits = {"nested": {"path": "credits", "query": match(CREDIT_FIELDS), "score_mode": "max"}}
    return {"bool": {"should": [match(TOP_FIELDS), credits], "minimum_should_match": 1}}


@pytest.mark.parametrize(
    ("text", "units"),
    [
        ("deadpool", [TextUnit("deadpool", prefix=True)]),
        ("deadpool ", [TextUnit("deadpool")]),
        ("ryan dead", [TextUnit("ryan"), TextUnit("dead", prefix=True)]),
        ('"wade  wilson" dead', [TextUnit("wade wilson", phrase=True), TextUnit("dead", prefix=True)]),
        ('dead "wade wilson"', [TextUnit("dead"), TextUnit("wade wilson", phrase=True)]),
        ('"unclosed phrase', [TextUnit("unclosed phrase", phrase=True)]),
        ('"" ', []),
        ("", []),
    ],
)
def test_text_is_split_into_words_phrases_and_a_last_prefix(text, units):
    """Quoted text is a phrase; the last bare word is a prefix unless a space follows it."""
    assert parse_text(text) == units


def test_full_text_requires_every_unit_somewhere_with_boosts_and_nested_fields(builder):
    """Each word or phrase is a must clause over top-level and nested full-text fields with their boosts."""
    body = builder.build(text='"wade wilson" ryan dead').body
    assert body["query"]["bool"]["must"] == [
        unit_query("wade wilson", "phrase"),
        unit_query("ryan", "best_fields"),
        unit_query("dead", "phrase_prefix"),
    ]
    assert body["sort"] == [{"_score": {"order": "desc"}}, {"movieId": {"order": "asc"}}]


def test_no_text_and_no_filter_matches_everything_in_id_order(builder):
    """An empty search is match_all sorted by the id field, one extra hit to detect a next page."""
    body = builder.build(first=5).body
    assert body["query"] == {"match_all": {}}
    assert body["sort"] == [{"movieId": {"order": "asc"}}]
    assert body["size"] == 6
    assert body["track_total_hits"] == 10_000
    assert body["timeout"] == "10000ms"


def test_filter_goes_into_filter_context(builder):
    """The compiled filter is a non-scoring filter clause next to the text clauses."""
    body = builder.build(text="ryan", filter="releaseYear >= 2015").body
    assert body["query"]["bool"]["filter"] == [{"range": {"releaseYear": {"gte": 2015}}}]
    assert len(body["query"]["bool"]["must"]) == 1


def test_highlight_covers_top_level_fields_and_nested_elements_without_changing_matches(builder):
    """Top-level fields use the highlight section; nested ones an inner-hits clause that always matches."""
    body = builder.build(text="ryan", highlight=True).body
    assert set(body["highlight"]["fields"]) == {"title", "description", "production.locations.city"}
    (clause,) = body["query"]["bool"]["filter"]
    should = clause["bool"]["should"]
    assert should[1] == {"match_all": {}}
    nested = should[0]["nested"]
    assert nested["path"] == "credits"
    assert nested["inner_hits"]["name"] == "highlight:credits"
    assert set(nested["inner_hits"]["highlight"]["fields"]) == {"credits.character", "credits.talent.name"}


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        (["-releaseYear"], [{"releaseYear": {"order": "desc", "missing": "_last"}}]),
        (["title"], [{"title.lowercase": {"order": "asc", "missing": "_last"}}]),
        (["+rating", "_score"], [{"rating": {"order": "asc", "missing": "_last"}}, {"_score": {"order": "desc"}}]),
        (
            ["-production.locations.city"],
            [{"production.locations.city.lowercase": {"order": "desc", "missing": "_last", "mode": "max"}}],
        ),
        (
            ["credits.talent.name"],
            [
                {
                    "credits.talent.name.lowercase": {
                        "order": "asc",
                        "missing": "_last",
                        "mode": "min",
                        "nested": {"path": "credits"},
                    }
                }
            ],
        ),
    ],
)
def test_sort_clauses_end_with_the_id_tie_break(builder, sort, expected):
    """Sort keys map to their sort fields (nested and multi-valued with a mode); the id breaks ties."""
    assert builder.build(sort=sort).body["sort"] == [*expected, {"movieId": {"order": "asc"}}]


def test_sorting_by_the_id_needs_no_second_tie_break(builder):
    """When the last key is the id field it is not repeated."""
    assert builder.build(sort=["-movieId"]).body["sort"] == [{"movieId": {"order": "desc", "missing": "_last"}}]


def test_top_level_facet_counts_documents_and_those_without_a_value(builder):
    """A top-level facet is a terms aggregation by count then value, plus a missing count."""
    plan = builder.build(facets=["genres", FacetRequest("title", 5)])
    aggs = plan.body["aggs"]
    assert aggs["facet_0"] == {"terms": {"field": "genres", "size": 10, "order": [{"_count": "desc"}, {"_key": "asc"}]}}
    assert aggs["facet_0_missing"] == {"filter": {"bool": {"must_not": [{"exists": {"field": "genres"}}]}}}
    assert aggs["facet_1"]["terms"]["field"] == "title.keyword"
    assert aggs["facet_1"]["terms"]["size"] == 5
    assert [facet.path for facet in plan.facets] == ["genres", "title"]


def test_nested_facet_counts_root_documents(builder):
    """A facet inside a nested list counts root documents with reverse_nested and orders by them."""
    aggs = builder.build(facets=["credits.role"]).body["aggs"]
    assert aggs["facet_0"] == {
        "nested": {"path": "credits"},
        "aggs": {
            "values": {
                "terms": {"field": "credits.role", "size": 10, "order": [{"roots": "desc"}, {"_key": "asc"}]},
                "aggs": {"roots": {"reverse_nested": {}}},
            }
        },
    }
    missing = {"nested": {"path": "credits", "query": {"exists": {"field": "credits.role"}}}}
    assert aggs["facet_0_missing"] == {"filter": {"bool": {"must_not": [missing]}}}


def test_fields_select_the_source(builder):
    """``fields`` becomes a _source include list."""
    assert builder.build(fields=["title", "credits.talent.name"]).body["_source"] == {
        "includes": ["title", "credits.talent.name"]
    }


def test_empty_fields_return_no_document(builder):
    """``fields=[]`` turns the source off (an empty include list would mean everything)."""
    assert builder.build(fields=[]).body["_source"] is False


def test_first_zero_returns_counts_only(builder):
    """``first=0`` asks for no hits, only the total and facets."""
    assert builder.build(first=0, facets=["genres"]).body["size"] == 0


def test_cursor_becomes_search_after(builder):
    """A cursor of this search carries its sort values into search_after."""
    plan = builder.build(sort=["-releaseYear"], first=2)
    cursor = encode_cursor([2020, "m-1"], plan.fingerprint)
    assert builder.build(sort=["-releaseYear"], first=2, after=cursor).body["search_after"] == [2020, "m-1"]


def test_cursor_of_another_search_is_refused(builder):
    """A cursor made for a different sort, text or filter is refused instead of paging wrongly."""
    cursor = encode_cursor([2020, "m-1"], builder.build(sort=["-releaseYear"]).fingerprint)
    for changed in ({"sort": ["releaseYear"]}, {"sort": ["-releaseYear"], "text": "x"}):
        with pytest.raises(SearchError, match="this cursor belongs to a different search"):
            builder.build(after=cursor, **changed)


@pytest.mark.parametrize("cursor", ["not a cursor!", "e30", encode_cursor([1, 2, 3], "x")])
def test_garbage_cursors_are_refused(builder, cursor):
    """Cursors that do not decode, or have the wrong shape, are a SearchError."""
    with pytest.raises(SearchError, match="invalid cursor"):
        builder.build(after=cursor)


def test_same_filter_written_differently_shares_cursors(builder):
    """The fingerprint follows the filter's meaning (its tree), not its spelling."""
    first = builder.build(filter="releaseYear>=2015 AND genres=='DRAMA'")
    second = builder.build(filter='releaseYear >= 2015 and genres == "DRAMA"')
    assert first.fingerprint == second.fingerprint


@pytest.mark.parametrize(
    ("request_args", "where", "message"),
    [
        ({"first": 101}, "first", "101 is above the page size limit of 100"),
        ({"first": -1}, "first", "must be 0 or more"),
        ({"sort": ["ratng"]}, "sort: ratng", "unknown field ratng (did you mean rating?)"),
        ({"sort": ["description"]}, "sort: description", "description is not sortable"),
        ({"sort": ["credits"]}, "sort: credits", "credits is a nested list; name one of its fields"),
        ({"sort": ["budget"]}, "sort: budget", "budget is not sortable"),
        ({"facets": ["description"]}, "facet: description", "description is not facetable"),
        ({"facets": ["production"]}, "facet: production", "production is an object"),
        ({"facets": [FacetRequest("genres", 500)]}, "facet: genres", "size must be 1 to 100, got 500"),
        ({"fields": ["titel"]}, "fields: titel", "unknown field titel"),
        ({"text": " ".join(["w"] * 17)}, "text", "17 words and phrases is more than the limit of 16"),
        ({"sort": ["a", "b", "c", "d", "e"]}, "sort", "5 sort fields is more than the limit of 4"),
    ],
)
def test_request_problems(builder, request_args, where, message):
    """Every part of a request is checked against the catalogue and the limits."""
    with pytest.raises(SearchError) as caught:
        builder.build(**request_args)
    assert any(problem.where == where and message in problem.message for problem in caught.value.problems), caught.value


def test_too_many_facets(catalogue):
    """More facets than allowed is refused."""
    builder = QueryBuilder(catalogue, SearchLimits(max_facets=1))
    with pytest.raises(SearchError, match="2 facets is more than the limit of 1"):
        builder.build(facets=["genres", "releaseYear"])


def test_all_request_problems_are_reported_together(builder):
    """Filter, sort, facet and page problems come back in one error."""
    with pytest.raises(SearchError) as caught:
        builder.build(filter="titel == 1", sort=["nope"], facets=["description"], first=1000)
    wheres = [problem.where for problem in caught.value.problems]
    assert wheres == ["filter:1:1", "first", "sort: nope", "facet: description"]


def test_syntax_errors_stop_before_other_checks(builder):
    """A filter that does not parse is reported on its own, as a syntax error."""
    with pytest.raises(FilterSyntaxError):
        builder.build(filter="(", sort=["nope"])


def test_long_filters_are_refused_before_parsing(catalogue):
    """A filter string above the length limit is not even parsed."""
    builder = QueryBuilder(catalogue, SearchLimits(max_filter_length=5))
    with pytest.raises(SearchError, match="is more than the limit of 5"):
        builder.build(filter="((((((")


def test_index_without_full_text_fields_refuses_text(catalogue):
    """Text search on a catalogue without full-text fields says so."""
    data = {**CATALOGUE, "fields": [entry for entry in CATALOGUE["fields"] if entry["index_type"] != "text"]}
    builder = QueryBuilder(parse_catalogue(data, "no-text.fields.json"), SearchLimits())
    with pytest.raises(SearchError, match="index movies has no full-text fields"):
        builder.build(text="anything")


def test_suggest_body_searches_autocomplete_sub_fields(builder):
    """Suggestions match every word on the edge-n-gram sub-fields, nested ones inside nested queries."""
    body = builder.suggest_body("ryan re", 5)
    should = body["query"]["bool"]["should"]
    assert should[0] == {"multi_match": {"query": "ryan re", "fields": ["title.autocomplete^3"], "operator": "and"}}
    assert should[1]["nested"]["path"] == "credits"
    assert should[1]["nested"]["query"]["multi_match"]["fields"] == ["credits.talent.name.autocomplete^2"]
    assert body["_source"] == {"includes": ["title", "credits.talent.name"]}


def test_suggest_size_is_limited(builder):
    """Suggestion sizes above the limit are refused."""
    with pytest.raises(SearchError, match="must be 1 to 20, got 50"):
        builder.suggest_body("ry", 50)
