"""Rendering GraphQL responses into index documents that are also Avro records."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from typing import Any

import fastavro
import pytest

from schema_gen.errors import DocumentError
from schema_gen.render import DocumentRenderer
from tests.schema_gen.generator_models import make_config, make_model, movie_entity, movie_model, scalar

FETCHED = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
FETCHED_MS = 1714564800000


@pytest.fixture(scope="module")
def renderer() -> DocumentRenderer:
    model, config = movie_model()
    return DocumentRenderer(model, config)


def _render(renderer: DocumentRenderer, **overrides: Any) -> dict[str, Any]:
    return renderer.render_entity(movie_entity(**overrides), "m1", fetched_at=FETCHED)


def test_one_document_per_non_null_entity(renderer):
    """A list response gives one document per non-null entity, in order, with its id."""
    response = {"data": {"movies": [movie_entity(), None, movie_entity(movieId="m2")]}}
    documents = renderer.render_response(response, fetched_at=FETCHED)
    assert [document.id for document in documents] == ["m1", "m2"]


def test_document_keeps_only_model_fields_in_schema_order(renderer):
    """Extra response keys are dropped; absent optional fields are null; metadata is added last."""
    source = _render(renderer)
    assert "ignoredExtraKey" not in source
    assert source["rights"] is None
    assert source["featured"]["episodes"] is None
    assert list(source) == [field["name"] for field in renderer.avro_schema["fields"]]
    assert source["graphdex"] == {"fetched_at": FETCHED_MS, "content_hash": renderer.content_digest(source)}


def test_content_hash_follows_the_content_not_the_fetch_time(renderer):
    """Two fetches of an unchanged entity share a digest; any change of content changes it."""
    first = _render(renderer)
    later = renderer.render_entity(movie_entity(), "m1", fetched_at=datetime(2025, 1, 1, tzinfo=UTC))
    renamed = _render(renderer, title="Another title")
    assert first["graphdex"]["fetched_at"] != later["graphdex"]["fetched_at"]
    assert first["graphdex"]["content_hash"] == later["graphdex"]["content_hash"]
    assert renamed["graphdex"]["content_hash"] != first["graphdex"]["content_hash"]
    assert len(first["graphdex"]["content_hash"]) == 32


def test_single_object_and_aliased_roots(renderer):
    """The root may be one object, or aliased once per id with nulls for missing ids."""
    single = renderer.render_response({"data": {"movies": movie_entity()}}, fetched_at=FETCHED)
    assert [document.id for document in single] == ["m1"]
    aliased = {"data": {"e0": movie_entity(movieId="a"), "e1": None, "e2": movie_entity(movieId="b")}}
    assert [document.id for document in renderer.render_response(aliased)] == ["a", "b"]
    assert renderer.render_response({"data": {"movies": None}}) == []


def test_custom_scalars_are_converted(renderer):
    """DateTime becomes epoch millis (honouring offsets), Date stays ISO, JSON becomes JSON text."""
    source = _render(renderer, releasedAt="2001-04-25T02:00:00+02:00", releaseDate="2001-04-25", extra=[1, {"b": 2}])
    assert source["releasedAt"] == 988156800000
    assert source["releaseDate"] == "2001-04-25"
    assert source["extra"] == '[1,{"b":2}]'
    assert _render(renderer, releasedAt=988156800000)["releasedAt"] == 988156800000
    assert _render(renderer, releaseDate="2001-04-25 10:00:00")["releaseDate"] == "2001-04-25T10:00:00+00:00"


def test_unknown_enum_values_are_kept(renderer):
    """An enum value added upstream after generation still renders, as a string."""
    assert _render(renderer, status="ANNOUNCED")["status"] == "ANNOUNCED"


def test_built_in_scalars_are_normalised(renderer):
    """Integer ids become strings and integral floats become doubles."""
    source = _render(renderer, movieId=7, rating=8)
    assert source["movieId"] == "7"
    assert source["rating"] == 8.0
    assert isinstance(source["rating"], float)


def test_violation_names_document_and_path(renderer):
    """A value of the wrong type raises DocumentError naming the document id and the path."""
    talent = movie_entity()["talent"]
    talent[1] = dict(talent[1], name=12)
    with pytest.raises(DocumentError, match=r"document Movie:m1 .*talent\[1\]\.name: expected string, got 12"):
        _render(renderer, talent=talent)


def test_every_violation_is_listed(renderer):
    """All problems of a document are reported together."""
    with pytest.raises(DocumentError) as caught:
        _render(renderer, title=None, runtime="long", isAdult="no", tags=["a", None], scores=[[1, "x"]])
    problems = {problem.where: problem.message for problem in caught.value.problems}
    assert problems == {
        "title": "expected a value, got null",
        "runtime": 'expected int, got "long"',
        "isAdult": 'expected boolean, got "no"',
        "tags[1]": "expected a String, got null",
        "scores[0][1]": 'expected int, got "x"',
    }


def test_missing_non_null_field_is_reported(renderer):
    """A non-null field absent from the response is an error, not a silent null."""
    entity = movie_entity()
    del entity["title"]
    with pytest.raises(DocumentError, match="title: missing from the response"):
        renderer.render_entity(entity, "m1")


def test_bad_dates_are_reported(renderer):
    """Dates the search server would reject are caught while rendering."""
    with pytest.raises(DocumentError, match="releasedAt: expected an ISO-8601 date-time"):
        _render(renderer, releasedAt="yesterday")
    with pytest.raises(DocumentError, match="releaseDate: expected an ISO-8601 date"):
        _render(renderer, releaseDate="25/04/2001")


def test_integers_out_of_range_are_reported(renderer):
    """An Int beyond 32 bits and a boolean for an Int are errors."""
    with pytest.raises(DocumentError, match="runtime: expected int, got 4294967296"):
        _render(renderer, runtime=2**32)
    with pytest.raises(DocumentError, match="runtime: expected int, got true"):
        _render(renderer, runtime=True)


def test_responses_with_errors_are_refused(renderer):
    """A response with GraphQL errors raises, naming each error's path, so half documents are never indexed."""
    response = {"data": {"movies": [None]}, "errors": [{"message": "talent is down", "path": ["movies", 0, "talent"]}]}
    with pytest.raises(DocumentError, match=r"movies\[0\]\.talent: talent is down"):
        renderer.render_response(response)


@pytest.mark.parametrize(
    ("response", "message"),
    [
        ([], "a GraphQL response is a JSON object"),
        ({"data": None}, "has no data object"),
        ({"data": {"movies": [{"title": "x"}]}}, r"movies\[0\]: a Movie without an id"),
        ({"data": {"movies": ["x"]}}, r"movies\[0\]: expected a Movie object"),
    ],
)
def test_malformed_responses(renderer, response, message):
    """Responses that cannot be read as entities raise DocumentError."""
    with pytest.raises(DocumentError, match=message):
        renderer.render_response(response)


def test_configured_scalars_render_per_mapping():
    """``long`` accepts numeric strings; Avro ``date`` is days since the epoch; booleans stay booleans."""
    config = make_config(scalars={"Long": {"avro": "long"}, "Day": {"avro": "date"}, "Flag": {"avro": "boolean"}})
    model = make_model(
        [scalar("movieId", "ID", nullable=False), scalar("views", "Long"), scalar("day", "Day"), scalar("ok", "Flag")],
        config,
    )
    renderer = DocumentRenderer(model, config)
    source = renderer.render_entity({"movieId": "m", "views": "9007199254740993", "day": "1970-01-11", "ok": True}, "m")
    assert (source["views"], source["day"], source["ok"]) == (9007199254740993, 10, True)


def test_documents_are_valid_avro_records(renderer):
    """A rendered document serializes with the Avro schema and reads back the same."""
    source = _render(renderer)
    buffer = io.BytesIO()
    fastavro.schemaless_writer(buffer, renderer.parsed_schema, source)
    buffer.seek(0)
    read_back = fastavro.schemaless_reader(
        buffer, renderer.parsed_schema, renderer.parsed_schema, return_record_name=False
    )
    assert read_back["title"] == source["title"]
    assert read_back["talent"] == source["talent"]


def test_avro_check_is_the_last_word():
    """A document the converters accept but the Avro schema refuses still raises, with fastavro's detail."""
    model, config = movie_model()
    renderer = DocumentRenderer(model, config)
    stricter = dict(renderer.avro_schema, fields=[{"name": "movieId", "type": "int"}])
    renderer.parsed_schema = fastavro.parse_schema(stricter)
    with pytest.raises(DocumentError, match=r"document Movie:m1 does not fit the Avro schema: .*movieId"):
        renderer.render_entity(movie_entity(), "m1")
