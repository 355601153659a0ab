"""The Avro schema generated from a document model."""

from __future__ import annotations

from typing import Any

import fastavro
import pytest

from schema_gen.avro import (
    METADATA_FIELD,
    avro_namespace,
    avro_schema,
    default_scalar_mapping,
    graphql_type_label,
    scalar_mapping,
)
from schema_gen.errors import ConfigError, QueryError
from tests.schema_gen.generator_models import enum, make_config, make_model, movie_model, obj, scalar


def _field(schema: dict[str, Any], name: str) -> dict[str, Any]:
    return next(field for field in schema["fields"] if field["name"] == name)


def _record_names(avro_type: Any, names: list[str]) -> list[str]:
    if isinstance(avro_type, list):
        for branch in avro_type:
            _record_names(branch, names)
    elif isinstance(avro_type, dict):
        if avro_type.get("type") == "record":
            names.append(avro_type["name"])
            for field in avro_type["fields"]:
                _record_names(field["type"], names)
        elif avro_type.get("type") == "array":
            _record_names(avro_type["items"], names)
    return names


@pytest.fixture(scope="module")
def movie_schema() -> dict[str, Any]:
    model, config = movie_model()
    return avro_schema(model, config)


def test_schema_is_accepted_by_fastavro(movie_schema):
    """The generated schema parses with fastavro, as a record named after the root type."""
    parsed = fastavro.parse_schema(movie_schema)
    assert parsed["name"] == "graphdex.movies.Movie"


def test_non_null_fields_are_plain_types(movie_schema):
    """A non-null GraphQL field is a plain Avro type with no default."""
    assert _field(movie_schema, "movieId") == {"name": "movieId", "type": "string"}
    assert _field(movie_schema, "isAdult")["type"] == "boolean"


def test_nullable_fields_are_unions_with_null_default(movie_schema):
    """A nullable field is ``["null", T]`` with default null."""
    assert _field(movie_schema, "runtime") == {"name": "runtime", "type": ["null", "int"], "default": None}
    assert _field(movie_schema, "rating")["type"] == ["null", "double"]


def test_conditional_and_type_conditioned_fields_are_optional(movie_schema):
    """``@include`` fields and fields selected only on some concrete types default to null."""
    rights = _field(movie_schema, "rights")
    assert rights["type"][0] == "null"
    assert rights["default"] is None
    featured = _field(movie_schema, "featured")["type"][1]
    assert _field(featured, "episodes") == {"name": "episodes", "type": ["null", "int"], "default": None}
    assert _field(featured, "headline")["type"] == "string"


def test_nested_lists_become_arrays_of_arrays(movie_schema):
    """``[[Int!]]`` is a nullable array of nullable arrays of int."""
    expected = ["null", {"type": "array", "items": ["null", {"type": "array", "items": "int"}]}]
    assert _field(movie_schema, "scores")["type"] == expected


def test_non_null_list_of_non_null_items(movie_schema):
    """``[String!]!`` is a plain array of strings."""
    assert _field(movie_schema, "tags")["type"] == {"type": "array", "items": "string"}


def test_enums_are_strings_with_known_symbols(movie_schema):
    """An enum is an Avro string carrying the GraphQL enum name and its symbols as properties."""
    assert _field(movie_schema, "status")["type"] == {
        "type": "string",
        "graphql.enum": "Status",
        "graphql.symbols": ["RELEASED", "IN_PRODUCTION"],
    }


def test_custom_scalars_follow_defaults_by_name(movie_schema):
    """DateTime is timestamp-millis, Date an ISO string, JSON a string."""
    assert _field(movie_schema, "releasedAt")["type"][1] == {
        "type": "long",
        "logicalType": "timestamp-millis",
        "graphql.scalar": "DateTime",
    }
    assert _field(movie_schema, "releaseDate")["type"][1] == {"type": "string", "graphql.scalar": "Date"}
    assert _field(movie_schema, "extra")["type"][1] == {"type": "string", "graphql.scalar": "JSON"}


@pytest.mark.parametrize(
    ("name", "avro", "index"),
    [
        ("DateTime", "timestamp-millis", "date"),
        ("GitTimestamp", "timestamp-millis", "date"),
        ("Instant", "timestamp-millis", "date"),
        ("Date", "string", "date"),
        ("LocalDate", "string", "date"),
        ("Update", "string", "keyword"),
        ("JSON", "string", "disabled"),
        ("JSONObject", "string", "disabled"),
        ("URI", "string", "keyword"),
        ("BigInt", "string", "keyword"),
    ],
)
def test_default_scalar_mapping_by_name(name, avro, index):
    """Custom scalars not in ``config.scalars`` are mapped by their name."""
    mapping = default_scalar_mapping(name)
    assert (mapping.avro, mapping.index) == (avro, index)


def test_configured_scalar_overrides_default():
    """``config.scalars`` wins; a mapping giving only ``avro`` gets the matching index type."""
    config = make_config(scalars={"Money": {"avro": "double"}, "Stamp": {"index": "long"}, "Day": {"avro": "date"}})
    assert (scalar_mapping("Money", config).avro, scalar_mapping("Money", config).index) == ("double", "double")
    assert (scalar_mapping("Stamp", config).avro, scalar_mapping("Stamp", config).index) == ("long", "long")
    assert scalar_mapping("Day", config).index == "integer"
    model = make_model([scalar("movieId", "ID", nullable=False), scalar("price", "Money")], config)
    assert _field(avro_schema(model, config), "price")["type"][1] == {"type": "double", "graphql.scalar": "Money"}


def test_incompatible_scalar_mapping_is_a_config_error():
    """Avro ``date`` (days since the epoch) cannot be indexed as a date; the error names the key."""
    config = make_config(scalars={"Day": {"avro": "date", "index": "date"}})
    model = make_model([scalar("movieId", "ID", nullable=False), scalar("day", "Day")], config)
    with pytest.raises(ConfigError, match=r"scalars\.Day: avro date cannot be indexed as date"):
        avro_schema(model, config)


def test_same_type_with_different_selections_gets_distinct_names(movie_schema):
    """``Person`` selected differently at two paths becomes two records named after the paths."""
    names = _record_names(movie_schema, [])
    assert "Person_TalentPerson" in names
    assert "Person_Director" in names
    assert len(names) == len(set(names))


def test_same_type_with_same_selection_is_defined_once():
    """An identical selection at two paths is one record, referenced by name the second time."""
    config = make_config()
    person = [scalar("name", nullable=False)]
    model = make_model(
        [scalar("movieId", "ID", nullable=False), obj("director", "Person", person), obj("writer", "Person", person)],
        config,
    )
    schema = avro_schema(model, config)
    fastavro.parse_schema(schema)
    assert _field(schema, "director")["type"][1]["name"] == "Person"
    assert _field(schema, "writer")["type"] == ["null", "Person"]


def test_graphql_type_named_like_a_generated_record_stays_unique():
    """A GraphQL type that clashes with graphdex's metadata record is renamed with a suffix."""
    config = make_config()
    model = make_model(
        [scalar("movieId", "ID", nullable=False), obj("meta", "GraphdexMetadata", [scalar("name")])], config
    )
    schema = avro_schema(model, config)
    fastavro.parse_schema(schema)
    assert _field(schema, "meta")["type"][1]["name"] == "GraphdexMetadata_2"


def test_metadata_field_has_a_default(movie_schema):
    """The metadata record graphdex adds is optional, so records without it stay valid."""
    metadata = _field(movie_schema, METADATA_FIELD)
    assert metadata["default"] is None
    assert _field(metadata["type"][1], "fetched_at")["default"] is None
    assert _field(metadata["type"][1], "content_hash") == {
        "name": "content_hash",
        "doc": "Digest of the document without this record: equal digests, equal content.",
        "type": ["null", "string"],
        "default": None,
    }


def test_top_level_field_named_like_the_metadata_is_rejected():
    """Selecting a root field called ``graphdex`` is a query error that says to alias it."""
    config = make_config()
    model = make_model([scalar("movieId", "ID", nullable=False), scalar("graphdex")], config)
    with pytest.raises(QueryError, match="alias the field"):
        avro_schema(model, config)


def test_descriptions_become_docs(movie_schema):
    """GraphQL field descriptions are the Avro fields' docs."""
    assert _field(movie_schema, "title")["doc"] == "The title as released."


@pytest.mark.parametrize(
    ("index", "namespace"),
    [("movies", "graphdex.movies"), ("movies-v2", "graphdex.movies_v2"), ("2024-films", "graphdex._2024_films")],
)
def test_namespace_is_a_valid_avro_name(index, namespace):
    """Index names become valid Avro namespaces."""
    assert avro_namespace(index) == namespace


def test_graphql_type_label_shows_wrappers():
    """Types are labelled as in SDL, wrappers included."""
    assert graphql_type_label(scalar("scores", "Int", lists=(True, False))) == "[[Int!]]"
    assert graphql_type_label(enum("status", "Status", (), nullable=False)) == "Status!"
