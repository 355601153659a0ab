"""The field catalogue: the only thing the run time reads about a document."""

from __future__ import annotations

import json
from typing import Any

import pytest

from schema_gen.catalogue import field_catalogue
from tests.schema_gen.generator_models import MOVIE_QUERY, make_config, movie_model


def _catalogue(**config_overrides: Any) -> dict[str, Any]:
    model, config = movie_model(make_config(**config_overrides))
    return field_catalogue(model, config)


def _entry(catalogue: dict[str, Any], path: str) -> dict[str, Any]:
    return next(entry for entry in catalogue["fields"] if entry["path"] == path)


@pytest.fixture(scope="module")
def catalogue() -> dict[str, Any]:
    return _catalogue()


def test_header_describes_the_query(catalogue):
    """The catalogue carries everything needed to fetch documents, and round-trips through JSON."""
    assert json.loads(json.dumps(catalogue)) == catalogue
    assert {key: catalogue[key] for key in ("format", "index", "root_type", "id_field", "query")} == {
        "format": 1,
        "index": "movies",
        "root_type": "Movie",
        "id_field": "movieId",
        "query": MOVIE_QUERY,
    }
    assert catalogue["root_field"] == "movies"
    assert catalogue["root_response_key"] == "movies"
    assert catalogue["root_returns_list"] is True
    assert (catalogue["id_variable"], catalogue["id_variable_is_list"]) == ("ids", True)
    assert catalogue["operation_name"] == "MovieDocuments"
    assert catalogue["variable_defaults"] == {}
    assert catalogue["avro_name"] == "graphdex.movies.Movie"


def test_string_field_entry(catalogue):
    """A full-text String lists its analyzer and the exact and lowercase paths."""
    expected = {
        "path": "title",
        "graphql_type": "String!",
        "type_name": "String",
        "kind": "scalar",
        "index_type": "text",
        "nested_path": None,
        "list": False,
        "nullable": False,
        "enum_values": [],
        "fulltext": True,
        "boost": 1.0,
        "autocomplete": False,
        "filterable": True,
        "sortable": True,
        "facetable": True,
        "exact_path": "title.keyword",
        "lowercase_path": "title.lowercase",
        "autocomplete_path": None,
        "description": "The title as released.",
    }
    title = _entry(catalogue, "title")
    assert {key: title[key] for key in expected} == expected


def test_enum_entry(catalogue):
    """An enum is exact-match on its own path and lists its values."""
    status = _entry(catalogue, "status")
    assert (status["kind"], status["index_type"], status["exact_path"]) == ("enum", "keyword", "status")
    assert status["lowercase_path"] is None
    assert status["enum_values"] == ["RELEASED", "IN_PRODUCTION"]


def test_nested_paths_and_multi_valued_fields(catalogue):
    """Fields inside a nested list name their innermost nested path and are multi-valued."""
    assert catalogue["nested_paths"] == ["talent"]
    assert _entry(catalogue, "talent")["nested_path"] is None
    assert _entry(catalogue, "talent")["index_type"] == "nested"
    assert _entry(catalogue, "talent.name")["nested_path"] == "talent"
    assert _entry(catalogue, "talent.person.name")["nested_path"] == "talent"
    assert _entry(catalogue, "talent.name")["multi_valued"] is True
    assert _entry(catalogue, "production.name")["multi_valued"] is False


def test_entities_are_the_reverse_lookup_paths(catalogue):
    """Every object with identity is an entity with its key paths; the root comes first."""
    assert catalogue["entities"] == [
        {
            "path": "",
            "type": "Movie",
            "possible_types": ["Movie"],
            "key_fields": ["movieId"],
            "key_paths": ["movieId"],
            "nested_path": None,
            "list": False,
        },
        {
            "path": "production",
            "type": "Production",
            "possible_types": ["Production"],
            "key_fields": ["ptpId"],
            "key_paths": ["production.ptpId"],
            "nested_path": None,
            "list": False,
        },
        {
            "path": "talent",
            "type": "Talent",
            "possible_types": ["Talent"],
            "key_fields": ["talentId"],
            "key_paths": ["talent.talentId"],
            "nested_path": "talent",
            "list": True,
        },
    ]


def test_not_nested_lists_have_no_nested_path():
    """With ``nested: false`` the talent entity is searched without a nested query."""
    catalogue = _catalogue(fields={"talent": {"nested": False}})
    assert catalogue["nested_paths"] == []
    assert catalogue["entities"][2]["nested_path"] is None
    assert _entry(catalogue, "talent.name")["nested_path"] is None


def test_optional_fields_are_nullable(catalogue):
    """Conditional and type-conditioned fields are nullable in the document."""
    assert _entry(catalogue, "rights")["conditional"] is True
    assert _entry(catalogue, "rights")["nullable"] is True
    episodes = _entry(catalogue, "featured.episodes")
    assert (episodes["nullable"], episodes["only_on"], episodes["graphql_type"]) == (True, ["Series"], "Int!")


def test_autocomplete_and_boost_are_listed():
    """Options show up as the search library needs them."""
    catalogue = _catalogue(fields={"title": {"search": ["fulltext", "autocomplete"], "boost": 3}})
    title = _entry(catalogue, "title")
    assert (title["autocomplete"], title["autocomplete_path"], title["boost"]) == (True, "title.autocomplete", 3.0)


def test_disabled_and_typed_scalars(catalogue):
    """JSON values are not searchable; dates and numbers are exact on their own path."""
    extra = _entry(catalogue, "extra")
    assert (extra["index_type"], extra["exact_path"], extra["filterable"]) == ("disabled", None, False)
    released = _entry(catalogue, "releasedAt")
    assert (released["index_type"], released["avro_type"], released["exact_path"]) == (
        "date",
        "timestamp-millis",
        "releasedAt",
    )


def test_every_field_is_listed_once_in_selection_order(catalogue):
    """The catalogue lists each model field exactly once, depth first."""
    model, _ = movie_model()
    assert [entry["path"] for entry in catalogue["fields"]] == [node.path for node in model.fields()]


def test_excluded_paths_are_listed():
    """Paths the definition excludes are named, so a search can say why they are unknown."""
    catalogue = _catalogue(fields={"talent.person": {"exclude": True}, "extra": {"exclude": True}})
    assert catalogue["excluded"] == ["extra", "talent.person"]
    assert _catalogue()["excluded"] == []
