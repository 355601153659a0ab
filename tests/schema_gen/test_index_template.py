"""The composable index template generated from a document model."""

from __future__ import annotations

from typing import Any

import pytest

from schema_gen.errors import ConfigError
from schema_gen.index_template import index_template
from tests.schema_gen.generator_models import make_config, make_model, movie_model, obj, scalar


def _properties(template: dict[str, Any]) -> dict[str, Any]:
    return template["template"]["mappings"]["properties"]


def _template(**config_overrides: Any) -> dict[str, Any]:
    model, config = movie_model(make_config(**config_overrides))
    return index_template(model, config)


@pytest.fixture(scope="module")
def movie_template() -> dict[str, Any]:
    return _template()


def test_template_matches_index_versions_without_aliases(movie_template):
    """The template matches ``<index>-*`` and leaves aliases to the provisioner."""
    assert movie_template["index_patterns"] == ["movies-*"]
    assert "aliases" not in movie_template["template"]
    assert movie_template["template"]["mappings"]["dynamic"] == "strict"


def test_settings_come_from_the_config():
    """Shards, replicas and refresh interval are the configured ones."""
    settings = _template(settings={"shards": 3, "replicas": 0, "refresh_interval": "30s"})["template"]["settings"]
    assert (settings["number_of_shards"], settings["number_of_replicas"]) == (3, 0)
    assert settings["refresh_interval"] == "30s"
    assert settings["gc_deletes"] == "1h"  # deleted versions outlive late writes (60s by default)
    assert _template(settings={"gc_deletes": "6h"})["template"]["settings"]["gc_deletes"] == "6h"


def test_shipped_analysis_chain():
    """Folding, autocomplete (grams from the config) and the lowercase normalizer are defined."""
    analysis = _template(analysis={"autocomplete_min_gram": 1, "autocomplete_max_gram": 10})["template"]["settings"][
        "analysis"
    ]
    assert analysis["analyzer"]["folding"] == {
        "type": "custom",
        "tokenizer": "standard",
        "filter": ["lowercase", "asciifolding"],
    }
    assert analysis["analyzer"]["autocomplete"]["filter"][-1] == "autocomplete_edge_ngram"
    assert analysis["filter"]["autocomplete_edge_ngram"] == {"type": "edge_ngram", "min_gram": 1, "max_gram": 10}
    assert analysis["analyzer"]["autocomplete_search"]["filter"] == ["lowercase", "asciifolding"]
    assert analysis["normalizer"]["lowercase_folding"]["filter"] == ["lowercase", "asciifolding"]


def test_string_is_full_text_with_exact_sub_fields(movie_template):
    """A String is ``text`` with the folding analyzer and ``keyword`` and ``lowercase`` sub-fields."""
    title = _properties(movie_template)["title"]
    assert title["type"] == "text"
    assert title["analyzer"] == "folding"
    assert title["fields"]["keyword"] == {"type": "keyword", "ignore_above": 8191}
    assert title["fields"]["lowercase"]["normalizer"] == "lowercase_folding"


def test_ids_enums_and_typename_are_keywords(movie_template):
    """ID, enum and ``__typename`` fields are plain keywords."""
    properties = _properties(movie_template)
    assert properties["movieId"] == {"type": "keyword", "ignore_above": 8191}
    assert properties["status"] == {"type": "keyword", "ignore_above": 8191}
    assert properties["featured"]["properties"]["__typename"]["type"] == "keyword"


def test_numbers_booleans_and_dates_are_native(movie_template):
    """Int, Float, Boolean and date-like scalars map to native types; lists of scalars too."""
    properties = _properties(movie_template)
    assert properties["runtime"] == {"type": "integer"}
    assert properties["rating"] == {"type": "double"}
    assert properties["isAdult"] == {"type": "boolean"}
    assert properties["releasedAt"] == {"type": "date"}
    assert properties["releaseDate"] == {"type": "date"}
    assert properties["scores"] == {"type": "integer"}


def test_json_scalars_are_kept_but_not_indexed(movie_template):
    """A JSON scalar is stored in the document only."""
    assert _properties(movie_template)["extra"] == {"type": "keyword", "index": False, "doc_values": False}


def test_lists_of_objects_are_nested_and_single_objects_are_objects(movie_template):
    """``talent`` (a list) is nested; ``production`` (one object) is a plain object."""
    properties = _properties(movie_template)
    assert properties["talent"]["type"] == "nested"
    assert properties["talent"]["properties"]["person"]["type"] == "object"
    assert properties["production"]["type"] == "object"


def test_nested_false_makes_a_plain_object():
    """``nested: false`` indexes a list of objects as an object; ``nested: true`` nests a single one."""
    properties = _properties(_template(fields={"talent": {"nested": False}, "production": {"nested": True}}))
    assert properties["talent"]["type"] == "object"
    assert properties["production"]["type"] == "nested"


def test_autocomplete_adds_an_edge_ngram_sub_field():
    """``search: [fulltext, autocomplete]`` adds an ``autocomplete`` sub-field with its search analyzer."""
    title = _properties(_template(fields={"title": {"search": ["fulltext", "autocomplete"]}}))["title"]
    assert title["fields"]["autocomplete"] == {
        "type": "text",
        "analyzer": "autocomplete",
        "search_analyzer": "autocomplete_search",
    }


def test_string_without_fulltext_is_a_keyword_with_lowercase():
    """``search: []`` makes a String an exact-match keyword that still matches case-insensitively."""
    title = _properties(_template(fields={"title": {"search": []}}))["title"]
    assert title["type"] == "keyword"
    assert title["fields"]["lowercase"]["type"] == "keyword"


def test_analyzer_from_config_and_per_field():
    """``analysis.fulltext`` sets the default analyzer; ``fields.<path>.analyzer`` overrides it."""
    properties = _properties(_template(analysis={"fulltext": "english"}, fields={"title": {"analyzer": "french"}}))
    assert properties["title"]["analyzer"] == "french"
    assert properties["originalTitle"]["analyzer"] == "english"


def test_index_type_override():
    """``index_type`` replaces the derived type: a full-text String as keyword, an Int as keyword."""
    properties = _properties(
        _template(fields={"title": {"index_type": "keyword"}, "runtime": {"index_type": "keyword"}})
    )
    assert properties["title"]["type"] == "keyword"
    assert properties["runtime"] == {"type": "keyword", "ignore_above": 8191}


def test_fulltext_on_an_id_adds_keyword_sub_field():
    """An ID searched as full text is ``text`` with a ``keyword`` sub-field and no lowercase."""
    movie_id = _properties(_template(fields={"movieId": {"search": ["fulltext"]}}))["movieId"]
    assert movie_id["type"] == "text"
    assert set(movie_id["fields"]) == {"keyword"}


def test_exact_match_flags_shape_the_mapping():
    """Without filter/sort/facet a text field has no keyword sub-field and a number is not indexed."""
    off = {"filterable": False, "sortable": False, "facetable": False}
    properties = _properties(
        _template(fields={"title": off, "runtime": off, "rating": {"sortable": False, "facetable": False}})
    )
    assert "fields" not in properties["title"]
    assert properties["runtime"] == {"type": "integer", "index": False, "doc_values": False}
    assert properties["rating"] == {"type": "double", "doc_values": False}


def test_contradictory_options_are_listed_together():
    """Every option that does not fit its field is reported at once, by dotted key."""
    fields = {
        "runtime": {"search": ["fulltext"]},
        "title": {"analyzer": "klingon"},
        "status": {"nested": True},
        "talent": {"filterable": True},
        "rating": {"index_type": "object"},
        "originalTitle": {"index_type": "keyword", "search": ["fulltext"]},
        "isAdult": {"analyzer": "english"},
    }
    with pytest.raises(ConfigError) as caught:
        _template(fields=fields)
    where = {problem.where for problem in caught.value.problems}
    assert where == {
        "fields.runtime.search",
        "fields.title.analyzer",
        "fields.status.nested",
        "fields.talent.filterable",
        "fields.rating.index_type",
        "fields.originalTitle.search",
        "fields.isAdult.analyzer",
    }


def test_unknown_default_analyzer_is_rejected():
    """An ``analysis.fulltext`` the search server does not ship is a config error."""
    with pytest.raises(ConfigError, match=r"analysis\.fulltext: unknown analyzer 'klingon'"):
        _template(analysis={"fulltext": "klingon"})


def test_scalar_index_type_from_config():
    """A custom scalar's ``index`` from ``config.scalars`` is its mapping."""
    config = make_config(scalars={"Money": {"avro": "double"}, "Slug": {"index": "text"}})
    model = make_model(
        [scalar("movieId", "ID", nullable=False), scalar("price", "Money"), scalar("slug", "Slug")], config
    )
    properties = _properties(index_template(model, config))
    assert properties["price"] == {"type": "double"}
    assert properties["slug"]["type"] == "text"
    assert set(properties["slug"]["fields"]) == {"keyword", "lowercase"}


def test_metadata_is_mapped(movie_template):
    """The ``graphdex`` metadata record is in the mapping, so strict mapping accepts it."""
    assert _properties(movie_template)["graphdex"]["properties"] == {
        "fetched_at": {"type": "date"},
        "content_hash": {"type": "keyword", "index": False, "doc_values": False},
    }


def test_object_options_on_nested_objects():
    """Options address nested paths (``talent.person``) like top-level ones."""
    config = make_config(fields={"talent.person.name": {"search": ["autocomplete"]}})
    model = make_model(
        [
            scalar("movieId", "ID", nullable=False),
            obj("talent", "Talent", [obj("person", "Person", [scalar("name")])], lists=(False,)),
        ],
        config,
    )
    person = _properties(index_template(model, config))["talent"]["properties"]["person"]
    assert person["properties"]["name"]["type"] == "keyword"
    assert "autocomplete" in person["properties"]["name"]["fields"]
