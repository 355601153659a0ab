"""Reading search responses into typed results, and the cursor format."""

from __future__ import annotations

import pytest

from indexer.search import FacetValue, Total
from indexer.search.cursor import decode_cursor, encode_cursor
from indexer.search.results import read_search_response, read_suggestions, values_at
from schema_gen.errors import SearchError


def raw_hit(doc_id: str, sort: list, **extra) -> dict:
    return {"_id": doc_id, "_score": extra.pop("score", None), "_source": {"movieId": doc_id}, "sort": sort, **extra}


def test_hits_total_and_next_cursor(builder):
    """The extra hit fetched beyond ``first`` is dropped and turned into a cursor after the last kept hit."""
    plan = builder.build(sort=["-releaseYear"], first=2)
    response = {
        "took": 3,
        "hits": {
            "total": {"value": 10000, "relation": "gte"},
            "hits": [raw_hit("a", [2024, "a"]), raw_hit("b", [2020, "b"]), raw_hit("c", [2019, "c"])],
        },
    }
    result = read_search_response(plan, response)
    assert [hit.id for hit in result.hits] == ["a", "b"]
    assert result.total == Total(10000, exact=False)
    assert str(result.total) == "10000+"
    assert result.took_ms == 3
    assert decode_cursor(result.next_cursor, plan.fingerprint, 2) == [2020, "b"]


def test_cursor_carries_the_exact_32_bit_score(builder):
    """Scores are 32-bit floats: the cursor holds the float's exact value, not its short decimal form."""
    plan = builder.build(text="night", first=1)
    response = {
        "hits": {
            "total": {"value": 2, "relation": "eq"},
            "hits": [raw_hit("a", [2.939545, "a"]), raw_hit("b", [2.939545, "b"])],
        }
    }
    cursor = read_search_response(plan, response).next_cursor
    assert decode_cursor(cursor, plan.fingerprint, 2) == [2.939544916152954, "a"]


def test_last_page_has_no_cursor(builder):
    """When no hit comes beyond ``first`` there is no next page."""
    plan = builder.build(first=2)
    response = {"hits": {"total": {"value": 2, "relation": "eq"}, "hits": [raw_hit("a", ["a"]), raw_hit("b", ["b"])]}}
    result = read_search_response(plan, response)
    assert result.next_cursor is None
    assert result.total == Total(2, exact=True)


def test_facets_read_counts_of_root_documents(builder):
    """Top-level buckets count documents; nested buckets count their reverse_nested roots; keys are typed."""
    plan = builder.build(first=0, facets=["genres", "credits.role", "inTheaters", "releaseDate"])
    response = {
        "hits": {"total": {"value": 3, "relation": "eq"}, "hits": []},
        "aggregations": {
            "facet_0": {"buckets": [{"key": "DRAMA", "doc_count": 2}], "sum_other_doc_count": 1},
            "facet_0_missing": {"doc_count": 1},
            "facet_1": {"values": {"buckets": [{"key": "ACTOR", "doc_count": 7, "roots": {"doc_count": 3}}]}},
            "facet_1_missing": {"doc_count": 0},
            "facet_2": {"buckets": [{"key": 1, "key_as_string": "true", "doc_count": 2}]},
            "facet_2_missing": {"doc_count": 1},
            "facet_3": {"buckets": [{"key": 1, "key_as_string": "2020-01-31T00:00:00.000Z", "doc_count": 1}]},
            "facet_3_missing": {"doc_count": 2},
        },
    }
    facets = read_search_response(plan, response).facets
    assert facets["genres"].values == (FacetValue("DRAMA", 2),)
    assert (facets["genres"].missing, facets["genres"].other) == (1, 1)
    assert facets["credits.role"].values == (FacetValue("ACTOR", 3),)
    assert facets["credits.role"].other is None
    assert facets["inTheaters"].values == (FacetValue(True, 2),)
    assert facets["releaseDate"].values == (FacetValue("2020-01-31T00:00:00.000Z", 1),)


def test_highlights_merge_top_level_and_nested_inner_hits(builder):
    """Fragments of the highlight section and of the highlight inner hits are merged per path."""
    plan = builder.build(text="ryan", highlight=True)
    element = {"highlight": {"credits.talent.name": ["<em>Ryan</em> Reynolds"]}}
    hit = raw_hit(
        "a",
        [1.0, "a"],
        highlight={"description": ["<em>Ryan</em> directs"]},
        inner_hits={
            "highlight:credits": {"hits": {"hits": [element, element]}},
            "other": {"hits": {"hits": [{"highlight": {"x": ["y"]}}]}},
        },
    )
    result = read_search_response(plan, {"hits": {"total": {"value": 1, "relation": "eq"}, "hits": [hit]}})
    assert result.hits[0].highlights == {
        "description": ["<em>Ryan</em> directs"],
        "credits.talent.name": ["<em>Ryan</em> Reynolds"],
    }


def test_values_at_descends_into_lists():
    """Values at a dotted path are collected through lists of objects, skipping nulls."""
    document = {"credits": [{"talent": {"name": "A"}}, {"talent": {"name": None}}, {"talent": {"name": "B"}}]}
    assert list(values_at(document, "credits.talent.name")) == ["A", "B"]
    assert list(values_at(document, "missing.path")) == []
    assert list(values_at({"genres": ["X", "Y"]}, "genres")) == ["X", "Y"]


def test_suggestions_are_distinct_matching_values():
    """Each suggestion is a value whose words start like the prefix (folded), once, best hit first."""
    response = {
        "hits": {
            "hits": [
                {
                    "_id": "1",
                    "_score": 2.0,
                    "_source": {"title": "Deadpool", "credits": [{"talent": {"name": "Ryan R"}}]},
                },
                {
                    "_id": "2",
                    "_score": 1.0,
                    "_source": {"title": "Rýan's Day", "credits": [{"talent": {"name": "Ryan R"}}]},
                },
            ]
        }
    }
    suggestions = read_suggestions(response, ["title", "credits.talent.name"], "rya", 10)
    assert [(s.text, s.path, s.id) for s in suggestions] == [
        ("Ryan R", "credits.talent.name", "1"),
        ("Rýan's Day", "title", "2"),
    ]
    assert len(read_suggestions(response, ["title", "credits.talent.name"], "rya", 1)) == 1


def test_cursor_round_trip_keeps_exact_values():
    """Cursors carry floats, large integers, nulls and text exactly."""
    values = [0.1 + 0.2, 9223372036854775807, None, "Amélie"]
    assert decode_cursor(encode_cursor(values, "f"), "f", 4) == values


def test_cursor_with_wrong_fingerprint_is_refused():
    """Decoding with another search's fingerprint fails with a message saying so."""
    with pytest.raises(SearchError, match="belongs to a different search"):
        decode_cursor(encode_cursor([1], "a"), "b", 1)
