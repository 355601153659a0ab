"""Batched fetch operations built from a template: list mode, alias mode, ids only in variables."""

from __future__ import annotations

import pytest
from graphql import OperationDefinitionNode, build_schema, parse, print_ast, validate

from schema_gen.batching import BatchQueryBuilder, InvalidIdError, RootQueryFacts
from schema_gen.errors import QueryError

SDL = """
type Query {
  movie(id: ID!, locale: String): Movie
  movieByNumber(number: Int!): Movie
  movieWhere(where: MovieWhere!): Movie
  movies(ids: [ID!]!, locale: String): [Movie]!
  e0: String
}
input MovieWhere { id: ID! }
type Movie { movieId: ID! title(locale: String): String rating: Float }
"""
SCHEMA = build_schema(SDL)

SINGLE = """
query MovieDocuments($id: ID!, $locale: String = "en") {
  film: movie(id: $id, locale: $locale) { ...MovieFields rating @include(if: true) }
}
fragment MovieFields on Movie { movieId title(locale: $locale) }
"""
LIST = "query MovieDocuments($ids: [ID!]!) { movies(ids: $ids) { movieId title } }"


def facts(query: str, **overrides) -> RootQueryFacts:
    values = {
        "query": query,
        "operation_name": "MovieDocuments",
        "root_field": "movie",
        "root_response_key": "film",
        "root_returns_list": False,
        "id_field": "movieId",
        "id_variable": "id",
        "id_variable_is_list": False,
        "variable_defaults": {"locale": "en"},
    }
    values.update(overrides)
    return RootQueryFacts(**values)


def list_facts(**overrides) -> RootQueryFacts:
    values = {
        "root_field": "movies",
        "root_response_key": "movies",
        "root_returns_list": True,
        "id_variable": "ids",
        "id_variable_is_list": True,
        "variable_defaults": {},
    }
    values.update(overrides)
    return facts(LIST, **values)


def operation(text: str) -> OperationDefinitionNode:
    (op,) = [d for d in parse(text).definitions if isinstance(d, OperationDefinitionNode)]
    return op


def test_list_mode_sends_the_template_unchanged_with_the_ids_variable():
    """A list id variable gets all ids of the batch in one variable, the query text untouched."""
    batch = BatchQueryBuilder(list_facts()).build(["m1", "m2", "m3"])
    assert batch.query == LIST
    assert batch.variables == {"ids": ["m1", "m2", "m3"]}
    assert batch.response_keys == ()
    expected = {"query": LIST, "variables": {"ids": ["m1", "m2", "m3"]}, "operationName": "MovieDocuments"}
    assert batch.payload() == expected


def test_alias_mode_repeats_the_root_field_once_per_id_with_one_variable_each():
    """A single id variable becomes $id0..$idN and the root field e0..eN in one operation."""
    batch = BatchQueryBuilder(facts(SINGLE)).build(["m1", "m2"])
    op = operation(batch.query)
    assert op.name.value == "MovieDocuments"
    assert [d.variable.name.value for d in op.variable_definitions] == ["id0", "id1", "locale"]
    assert [print_ast(d.type) for d in op.variable_definitions] == ["ID!", "ID!", "String"]
    fields = op.selection_set.selections
    assert [(f.alias.value, f.name.value) for f in fields] == [("e0", "movie"), ("e1", "movie")]
    assert [f.arguments[0].value.name.value for f in fields] == ["id0", "id1"]
    assert batch.response_keys == ("e0", "e1")
    assert batch.variables == {"locale": "en", "id0": "m1", "id1": "m2"}
    assert "fragment MovieFields on Movie" in batch.query
    assert "@include(if: true)" in batch.query


def test_alias_mode_operations_validate_against_the_schema():
    """The batched operation is valid GraphQL for the same schema as the template."""
    for count in (1, 2, 7):
        batch = BatchQueryBuilder(facts(SINGLE)).build([f"m{n}" for n in range(count)])
        assert validate(SCHEMA, parse(batch.query)) == []


def test_ids_with_quotes_and_braces_never_reach_the_query_text():
    """Hostile ids are passed only as variables, byte for byte, in both modes."""
    hostile = ['m1") { __schema { types { name } } } #', "m2'}{$id", 'a"b\\c']
    aliased = BatchQueryBuilder(facts(SINGLE)).build(hostile)
    listed = BatchQueryBuilder(list_facts()).build(hostile)
    assert [aliased.variables[f"id{n}"] for n in range(3)] == hostile
    assert listed.variables["ids"] == hostile
    for batch in (aliased, listed):
        assert not any(document_id in batch.query for document_id in hostile)
        assert validate(SCHEMA, parse(batch.query)) == []


def test_the_id_variable_default_is_not_sent_in_alias_mode():
    """A default value of the id variable does not leak into the batch's variables."""
    text = 'query MovieDocuments($id: ID! = "x") { film: movie(id: $id) { movieId } }'
    batch = BatchQueryBuilder(facts(text, variable_defaults={"id": "x"})).build(["m1"])
    assert batch.variables == {"id0": "m1"}
    assert "= " not in batch.query


def test_names_that_are_taken_get_another_prefix():
    """Existing variables $id0 and top-level keys e0 are not clobbered."""
    text = "query MovieDocuments($id: ID!, $id0: String) { film: movie(id: $id) { movieId title(locale: $id0) } e0 }"
    batch = BatchQueryBuilder(facts(text, variable_defaults={})).build(["m1", "m2"])
    op = operation(batch.query)
    assert [d.variable.name.value for d in op.variable_definitions] == ["id_0", "id_1", "id0"]
    assert [f.alias.value if f.alias else f.name.value for f in op.selection_set.selections] == ["e_0", "e_1", "e0"]
    assert batch.response_keys == ("e_0", "e_1")
    assert validate(SCHEMA, parse(batch.query)) == []


def test_an_id_inside_an_input_object_is_renamed_too():
    """Every use of the id variable inside the root field's arguments gets the per-id variable."""
    text = "query MovieDocuments($id: ID!) { movieWhere(where: {id: $id}) { movieId } }"
    builder = BatchQueryBuilder(
        facts(text, root_field="movieWhere", root_response_key="movieWhere", variable_defaults={})
    )
    batch = builder.build(["a", "b"])
    assert "e1: movieWhere(where: { id: $id1 })" in batch.query
    assert validate(SCHEMA, parse(batch.query)) == []


def test_an_id_variable_used_in_a_fragment_cannot_be_batched():
    """Alias mode refuses a template that uses $id outside the root field, naming the variable."""
    text = "query MovieDocuments($id: ID!) { film: movie(id: $id) { ...F } } fragment F on Movie { title(locale: $id) }"
    with pytest.raises(QueryError, match=r"\$id is used outside the root field"):
        BatchQueryBuilder(facts(text))


def test_int_ids_are_sent_as_integers_and_non_integers_are_refused():
    """An Int id variable carries integers; an id that is not one raises InvalidIdError."""
    text = "query MovieDocuments($n: Int!) { movieByNumber(number: $n) { movieId } }"
    by_number = facts(
        text,
        root_field="movieByNumber",
        root_response_key="movieByNumber",
        id_variable="n",
        variable_defaults={},
    )
    builder = BatchQueryBuilder(by_number)
    assert builder.build(["7", "8"]).variables == {"n0": 7, "n1": 8}
    with pytest.raises(InvalidIdError, match="not an integer"):
        builder.build(["seven"])


def test_the_same_batch_size_reuses_the_same_text():
    """Operations are cached per batch size, so equal sizes give identical text."""
    builder = BatchQueryBuilder(facts(SINGLE))
    assert builder.build(["a", "b"]).query == builder.build(["c", "d"]).query
    assert builder.build(["a"]).query != builder.build(["a", "b"]).query


def test_template_problems_are_query_errors_naming_the_source():
    """Unparsable text, a missing variable or root field give a QueryError naming the query file."""
    with pytest.raises(QueryError, match=r"movies\.graphql: the query does not parse"):
        BatchQueryBuilder(facts("query {"), source="movies.graphql")
    with pytest.raises(QueryError, match=r"declares no variable \$id"):
        BatchQueryBuilder(facts("query MovieDocuments { film: movie(id: 1) { movieId } }"))
    with pytest.raises(QueryError, match="no top-level field movie with response key film"):
        BatchQueryBuilder(facts("query MovieDocuments($id: ID!) { movie(id: $id) { movieId } }"))


def test_facts_come_from_a_field_catalogue():
    """A catalogue dict gives the same facts; a catalogue missing keys names them."""
    catalogue = {
        "format": 1,
        "query": LIST,
        "operation_name": "MovieDocuments",
        "root_field": "movies",
        "root_response_key": "movies",
        "root_returns_list": True,
        "id_field": "movieId",
        "id_variable": "ids",
        "id_variable_is_list": True,
        "variable_defaults": {},
    }
    assert RootQueryFacts.from_catalogue(catalogue) == list_facts()
    with pytest.raises(QueryError, match="missing key 'id_variable'") as raised:
        RootQueryFacts.from_catalogue({"query": LIST}, source="movies.fields.json")
    assert "movies.fields.json" in str(raised.value)
