"""Sorting a batch's GraphQL response into one result per id, errors placed by their paths."""

from __future__ import annotations

from indexer.fetch.response import Absent, Errored, Found, split_response, unavailable_subgraph
from indexer.fetch.versions import VersionClock
from schema_gen.batching import BatchQuery


def list_batch(*ids: str) -> BatchQuery:
    return BatchQuery(ids, "query", None, {"ids": list(ids)})


def alias_batch(*ids: str) -> BatchQuery:
    return BatchQuery(ids, "query", None, {}, tuple(f"e{n}" for n in range(len(ids))))


def split(batch: BatchQuery, body: dict) -> dict:
    return split_response(batch, body, root_key="movies", id_field="movieId")


def movie(movie_id: str | None, title: str | None = "t") -> dict:
    return {"movieId": movie_id, "title": title}


def test_list_entities_are_matched_by_id_whatever_their_order():
    """Entities are found by their id field; ids missing from the list are absent."""
    body = {"data": {"movies": [movie("m3"), movie("m1"), movie("unasked")]}}
    results = split(list_batch("m1", "m2", "m3"), body)
    assert results == {"m1": Found(movie("m1")), "m2": Absent(), "m3": Found(movie("m3"))}


def test_an_error_on_a_list_element_fails_the_id_at_that_element():
    """movies[1].title failing fails the id of element 1 only."""
    body = {
        "data": {"movies": [movie("m2"), movie("m1", None)]},
        "errors": [{"message": "boom", "path": ["movies", 1, "title"]}],
    }
    results = split(list_batch("m1", "m2"), body)
    assert results["m2"] == Found(movie("m2"))
    assert results["m1"] == Errored("boom (at movies[1].title)", True)


def test_in_request_order_a_nulled_element_is_placed_by_position():
    """When the list follows the request order, an element nulled by an error still names its id."""
    body = {
        "data": {"movies": [movie("m1"), None, None]},
        "errors": [{"message": "cannot resolve", "path": ["movies", 1]}],
    }
    results = split(list_batch("m1", "m2", "m3"), body)
    assert results == {"m1": Found(movie("m1")), "m2": Errored("cannot resolve (at movies[1])", True), "m3": Absent()}


def test_an_error_that_cannot_be_placed_fails_every_document():
    """A nulled element whose position says nothing (list out of order) fails all ids, none is deleted."""
    body = {
        "data": {"movies": [movie("m2"), None]},
        "errors": [{"message": "cannot resolve", "path": ["movies", 1]}],
    }
    results = split(list_batch("m1", "m2", "m3"), body)
    assert all(isinstance(result, Errored) for result in results.values())


def test_an_error_on_the_root_list_fails_every_id():
    """An error at the root field's path touches every document of the batch: the request failed as a whole."""
    body = {"data": {"movies": None}, "errors": [{"message": "denied", "path": ["movies"]}]}
    assert set(split(list_batch("m1", "m2"), body).values()) == {Errored("denied (at movies)", True, True)}


def test_alias_errors_touch_only_their_alias():
    """In alias mode the first path element names the document."""
    body = {
        "data": {"e0": movie("m1"), "e1": None, "e2": movie("m3", None)},
        "errors": [{"message": "bad title", "path": ["e2", "title"]}],
    }
    results = split(alias_batch("m1", "m2", "m3"), body)
    assert results == {"m1": Found(movie("m1")), "m2": Absent(), "m3": Errored("bad title (at e2.title)", True)}


def test_an_alias_missing_from_data_is_an_error_not_a_deletion():
    """A response without e1 at all does not delete m2."""
    results = split(alias_batch("m1", "m2"), {"data": {"e0": movie("m1")}})
    assert isinstance(results["m2"], Errored)
    assert "has no e1" in results["m2"].detail


def test_no_data_fails_every_id_and_validation_codes_are_not_retryable():
    """Without data every id errs; only request-invalid codes make it non-retryable."""
    invalid = {"errors": [{"message": "no such field", "extensions": {"code": "GRAPHQL_VALIDATION_FAILED"}}]}
    assert set(split(list_batch("m1"), invalid).values()) == {Errored("no such field", False)}
    empty = split(list_batch("m1"), {"data": None})
    assert empty["m1"] == Errored("the gateway answered without data and without errors", True, True)


def test_long_details_are_shortened():
    """Details of many errors stay short enough for a dead letter."""
    body = {"data": None, "errors": [{"message": "x" * 400}, {"message": "y" * 400}]}
    (result,) = split(list_batch("m1"), body).values()
    assert len(result.detail) == 500
    assert result.detail.endswith("...")


def test_subgraph_unavailability_is_recognised_and_field_errors_are_not():
    """Apollo Gateway fetch failures, subgraph HTTP 5xx and router codes count; resolver errors do not."""
    assert unavailable_subgraph({"errors": [{"message": "request to http://t:1/ failed, reason: socket hang up"}]})
    bad_gateway = {"message": "502: Bad Gateway", "extensions": {"response": {"status": 502}}}
    assert unavailable_subgraph({"errors": [bad_gateway]})
    assert unavailable_subgraph({"errors": [{"message": "x", "extensions": {"code": "SUBREQUEST_HTTP_ERROR"}}]})
    assert unavailable_subgraph({"errors": [{"message": "title failed", "path": ["e0", "title"]}]}) is None
    assert unavailable_subgraph({"data": {}}) is None


def test_versions_are_microseconds_and_strictly_increasing():
    """The version clock follows the wall clock in microseconds and never repeats or goes back."""
    readings = iter([5_000_000_000, 5_000_000_000, 4_000_000_000, 9_000_000_000])
    clock = VersionClock(lambda: next(readings))
    assert [clock.next_version() for _ in range(4)] == [5_000_000, 5_000_001, 5_000_002, 9_000_000]


def test_an_entity_without_an_id_keeps_the_unfound_ids_from_being_deleted():
    """Out of request order, an entity with a null id might be any unfound id: those fail, not delete."""
    body = {"data": {"movies": [movie("m2"), movie(None)]}}
    results = split(list_batch("m1", "m2", "m3"), body)
    assert results["m2"] == Found(movie("m2"))
    assert isinstance(results["m1"], Errored)
    assert isinstance(results["m3"], Errored)
    assert "without movieId" in results["m1"].detail


def test_errors_at_no_document_path_mark_the_whole_request():
    """No data, an error without a path or at the root list: every result says the request failed as a
    whole (one of its ids may be why); errors at a document's path and operation errors do not."""
    no_path = {"data": {"movies": [movie("m1"), None]}, "errors": [{"message": "boom"}]}
    assert all(result.whole_request for result in split(list_batch("m1", "m2"), no_path).values())
    aliased = {"data": {"e0": movie("m1"), "e1": None}, "errors": [{"message": "boom", "path": ["elsewhere"]}]}
    assert all(result.whole_request for result in split(alias_batch("m1", "m2"), aliased).values())
    one_document = {"data": {"movies": [movie("m1"), None]}, "errors": [{"message": "x", "path": ["movies", 1]}]}
    assert not split(list_batch("m1", "m2"), one_document)["m2"].whole_request
    parse_failed = {"errors": [{"message": "Syntax Error", "extensions": {"code": "GRAPHQL_PARSE_FAILED"}}]}
    assert not split(list_batch("m1", "m2"), parse_failed)["m1"].whole_request


def test_a_document_error_next_to_a_whole_request_error_keeps_both_in_the_detail():
    """Nothing is dropped: a document's own error and the batch-wide one are both in its detail."""
    body = {
        "data": {"movies": [movie("m1"), movie("m2", None)]},
        "errors": [{"message": "bad title", "path": ["movies", 1, "title"]}, {"message": "planner gave up"}],
    }
    result = split(list_batch("m1", "m2"), body)["m2"]
    assert result.whole_request
    assert "bad title (at movies[1].title)" in result.detail
    assert "planner gave up" in result.detail


def test_a_subgraph_answer_passed_on_by_the_gateway_is_part_of_the_unavailability_detail():
    """Apollo Gateway's ``extensions.response`` (what the subgraph said, often naming the record it failed
    on) is kept, shortened."""
    error = {
        "message": "500: Internal Server Error",
        "extensions": {"response": {"url": "http://movies:4001/graphql", "status": 500, "body": "crashed on m7"}},
    }
    detail = unavailable_subgraph({"data": None, "errors": [error]})
    assert detail == "500: Internal Server Error (http://movies:4001/graphql answered: crashed on m7)"
    error["extensions"]["response"]["body"] = "x" * 1000
    assert len(unavailable_subgraph({"errors": [error]}) or "") < 400
