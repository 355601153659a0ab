"""The index definition model: every problem at once, each with the file and the dotted key."""

from __future__ import annotations

from typing import Any

import pytest

from schema_gen.config import FieldOptions, IndexConfig, SearchFeature, parse_config, parse_duration
from schema_gen.errors import ConfigError

MINIMAL: dict[str, Any] = {
    "index": "movies",
    "graph": {"schema_file": "schema.graphql"},
    "query_file": "movie.graphql",
    "root": {"type": "Movie"},
}


def problems_of(data: Any, env: dict[str, str] | None = None) -> list[str]:
    """The problems parse_config reports for ``data``, as strings."""
    with pytest.raises(ConfigError) as caught:
        parse_config(data, "movies.yaml", env or {})
    return [str(problem) for problem in caught.value.problems]


def test_minimal_definition_gets_defaults():
    """Only index, graph, a query and root.type are required; the rest has defaults."""
    config = parse_config(MINIMAL, "movies.yaml", {})
    assert isinstance(config, IndexConfig)
    assert (config.root.type, config.root.id_field, config.root.id_variable) == ("Movie", "id", "id")
    assert config.graph.timeout == 30.0
    assert config.fields == {}
    assert config.keys == {}
    assert config.options_for("title") == FieldOptions()


def test_every_problem_is_reported_at_once_with_its_dotted_key():
    """Unknown keys, missing keys and bad values are all listed, each with file and key path."""
    data = {
        **MINIMAL,
        "root": {"id_feild": "id"},
        "fields": {"title": {"boost": 0, "search": ["fuzzy"]}},
        "colour": "blue",
    }
    assert problems_of(data) == [
        "movies.yaml: root.type: required key is missing",
        "movies.yaml: root.id_feild: unknown key",
        "movies.yaml: fields.title.search[0]: Input should be 'fulltext' or 'autocomplete'",
        "movies.yaml: fields.title.boost: Input should be greater than 0",
        "movies.yaml: colour: unknown key",
    ]


def test_summary_names_the_problem_count():
    """The error's message lists the problems, numbered."""
    with pytest.raises(ConfigError) as caught:
        parse_config({**MINIMAL, "a": 1, "b": 2}, "movies.yaml", {})
    assert str(caught.value).splitlines()[0] == "invalid index definition (2 problems):"


def test_not_a_mapping():
    """A YAML document that is not a mapping is rejected with the file name."""
    with pytest.raises(ConfigError, match=r"^movies\.yaml: an index definition is a YAML mapping"):
        parse_config(["index"], "movies.yaml", {})


def test_environment_substitution_with_defaults():
    """``${VAR}`` comes from the environment, ``${VAR:-default}`` falls back to its default."""
    data = {**MINIMAL, "index": "${INDEX}", "graph": {"url": "${GATEWAY:-http://127.0.0.1:4000/graphql}"}}
    config = parse_config(data, "movies.yaml", {"INDEX": "films"})
    assert config.index == "films"
    assert config.graph.url == "http://127.0.0.1:4000/graphql"


def test_missing_environment_variable_is_reported():
    """An unset variable without a default is a problem naming it and the fallback syntax."""
    data = {**MINIMAL, "graph": {"url": "${GATEWAY_URL}"}, "index": "${INDEX}"}
    found = problems_of(data)
    assert found[:2] == [
        "movies.yaml: environment variable INDEX is not set (use ${INDEX:-default} for a fallback)",
        "movies.yaml: environment variable GATEWAY_URL is not set (use ${GATEWAY_URL:-default} for a fallback)",
    ]


@pytest.mark.parametrize(
    ("value", "seconds"), [("250ms", 0.25), ("5s", 5.0), ("2m", 120.0), ("1h", 3600.0), (7, 7.0), ("1.5", 1.5)]
)
def test_durations(value, seconds):
    """Durations accept ms, s, m, h suffixes or plain seconds."""
    assert parse_duration(value) == seconds
    assert parse_config({**MINIMAL, "graph": {"url": "http://x", "timeout": value}}, "m.yaml", {}).graph.timeout == (
        seconds
    )


def test_bad_duration_is_reported_at_its_key():
    """A malformed duration names its key."""
    assert problems_of({**MINIMAL, "graph": {"url": "http://x", "timeout": "soon"}}) == [
        "movies.yaml: graph.timeout: expected a duration such as 500ms, 5s or 2m, got 'soon'"
    ]


def test_graph_needs_a_schema_source():
    """graph has schema_file or url."""
    [problem] = problems_of({**MINIMAL, "graph": {"headers": {"A": "b"}}})
    assert problem.startswith("movies.yaml: graph: give schema_file (SDL or introspection JSON) or url")


@pytest.mark.parametrize("queries", [{}, {"query_file": "q.graphql", "query": "{ a }"}])
def test_exactly_one_query(queries):
    """Exactly one of query_file and query."""
    data = {key: value for key, value in MINIMAL.items() if key != "query_file"} | queries
    [problem] = problems_of(data)
    assert problem == "movies.yaml: (top level): give exactly one of query_file (a path) or query (the query inline)"


@pytest.mark.parametrize("name", ["Movies", "_movies", "movies index", ""])
def test_index_name_rules(name):
    """Index names are lowercase letters, digits, '-' and '_'."""
    [problem] = problems_of({**MINIMAL, "index": name})
    assert problem.startswith("movies.yaml: index: an index name is lowercase")


def test_field_options_and_keys():
    """Field options are keyed by response path; keys list identity fields per type."""
    data = {
        **MINIMAL,
        "fields": {"talent.name": {"search": ["fulltext", "autocomplete"], "boost": 2}, "budget": {"exclude": True}},
        "keys": {"Talent": ["talentId"]},
    }
    config = parse_config(data, "movies.yaml", {})
    assert config.options_for("talent.name").search == (SearchFeature.FULLTEXT, SearchFeature.AUTOCOMPLETE)
    assert config.options_for("budget").exclude is True
    assert config.keys == {"Talent": ("talentId",)}


def test_analysis_gram_order():
    """autocomplete_min_gram may not exceed autocomplete_max_gram."""
    data = {**MINIMAL, "analysis": {"autocomplete_min_gram": 5, "autocomplete_max_gram": 3}}
    assert problems_of(data) == ["movies.yaml: analysis: autocomplete_min_gram must not exceed autocomplete_max_gram"]


def test_config_is_immutable():
    """A parsed definition cannot be changed."""
    config = parse_config(MINIMAL, "movies.yaml", {})
    with pytest.raises(ValueError, match="frozen"):
        config.index = "other"  # type: ignore[misc]
