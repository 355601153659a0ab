"""The template rules: each violation is reported with its message, line and column."""

from __future__ import annotations

from pathlib import Path

import pytest
from graphql import OperationDefinitionNode, ValidationRule, parse, validate

from schema_gen.config import RootSettings
from schema_gen.rules import (
    IdFieldRule,
    Inclusion,
    RootFieldRule,
    SingleQueryOperationRule,
    TemplateVariablesRule,
    inclusion,
    root_field_of,
    single_query,
    template_rules,
)
from schema_gen.schema_loader import schema_from_sdl

SCHEMA = schema_from_sdl((Path(__file__).parent / "data" / "studio.graphql").read_text(), "studio.graphql").schema


def errors(rule: type[ValidationRule], query: str, **root: str) -> list[tuple[str, int, int]]:
    """Run one rule (bound to ``root`` settings, default root type Movie) and return (message, line, col)."""
    settings = RootSettings(**{"type": "Movie", **root})
    bound = type(rule.__name__, (rule,), {"root": settings})
    found = validate(SCHEMA, parse(query), [bound])
    return [(e.message, e.locations[0].line, e.locations[0].column) for e in found]


class TestSingleQueryOperationRule:
    def test_one_query_passes(self):
        """A document with one query operation is accepted."""
        assert errors(SingleQueryOperationRule, "query M($id: ID!) { movie(id: $id) { id } }") == []

    def test_second_operation_is_reported_where_it_starts(self):
        """A second operation is reported at its own line and column."""
        query = "query A($id: ID!) { movie(id: $id) { id } }\n  query B { talent(talentId: 1) { name } }"
        [(message, line, column)] = errors(SingleQueryOperationRule, query)
        assert "'B' is a second operation" in message
        assert (line, column) == (2, 3)

    def test_mutation_is_reported(self):
        """An operation that is not a query is reported as such."""
        [(message, line, column)] = errors(SingleQueryOperationRule, "mutation Touch { touch }")
        assert message == "Operation 'Touch' is a mutation; a template is a query."
        assert (line, column) == (1, 1)

    def test_fragments_only_is_reported(self):
        """A document with fragments but no operation is reported at its first definition."""
        [(message, line, column)] = errors(SingleQueryOperationRule, "\nfragment F on Movie { id }")
        assert message.startswith("The template has no operation")
        assert (line, column) == (2, 1)


class TestRootFieldRule:
    def test_root_field_of_root_type_passes(self):
        """A root field returning root.type is accepted."""
        assert errors(RootFieldRule, "query M($id: ID!) { movie(id: $id) { id } }") == []

    def test_list_of_root_type_passes(self):
        """A root field returning a list of root.type is accepted."""
        assert errors(RootFieldRule, "query M($ids: [ID!]!) { movies(ids: $ids) { id } }") == []

    def test_interface_narrowed_by_inline_fragment_passes(self):
        """An interface root field narrowed to root.type with an inline fragment is accepted."""
        assert errors(RootFieldRule, "query M($id: ID!) { node(id: $id) { id ... on Movie { title } } }") == []

    def test_interface_narrowed_by_named_fragment_passes(self):
        """A named fragment on root.type narrows an interface root field too."""
        query = "query M($id: ID!) { node(id: $id) { ...F } } fragment F on Movie { id }"
        assert errors(RootFieldRule, query) == []

    def test_interface_not_narrowed_is_reported_at_the_root_field(self):
        """An interface root field without a fragment on root.type is reported at the field."""
        [(message, line, column)] = errors(RootFieldRule, "query M($id: ID!) {\n  node(id: $id) { id }\n}")
        assert message == (
            "Root field 'node' returns 'Node'; narrow it to 'Movie' (root.type) with '... on Movie { ... }'."
        )
        assert (line, column) == (2, 3)

    def test_wrong_type_is_reported(self):
        """A root field returning another type names both types."""
        [(message, line, column)] = errors(RootFieldRule, "query T($id: ID!) {\n    talent(talentId: $id) { name }\n}")
        assert message == "Root field 'talent' returns 'Talent', not 'Movie' (root.type)."
        assert (line, column) == (2, 5)

    def test_union_not_containing_root_type_is_reported(self):
        """An abstract root field whose possible types do not include root.type is the wrong type."""
        [(message, _, _)] = errors(RootFieldRule, 'query S { search(text: "x") { __typename } }', type="Production")
        assert message == "Root field 'search' returns '[SearchResult!]!', not 'Production' (root.type)."

    def test_two_root_fields_are_reported_at_the_second(self):
        """Selecting two root fields is reported at the second one."""
        query = "query M($id: ID!) {\n  movie(id: $id) { id }\n  talent(talentId: $id) { name }\n}"
        [(message, line, column)] = errors(RootFieldRule, query)
        assert message.startswith("The query selects 2 root fields ('movie', 'talent')")
        assert (line, column) == (3, 3)

    def test_fragment_on_query_is_reported(self):
        """A root field selected through a fragment on Query is reported at the spread."""
        query = "query M($id: ID!) { ...Q } fragment Q on Query { movie(id: $id) { id } }"
        found = errors(RootFieldRule, query)
        assert ("Select the root field directly, not through a fragment on Query.", 1, 21) in found

    def test_typename_beside_the_root_field_is_allowed(self):
        """``__typename`` next to the root field does not count as a second root field."""
        assert errors(RootFieldRule, "query M($id: ID!) { __typename movie(id: $id) { id } }") == []


class TestTemplateVariablesRule:
    def test_id_variable_of_id_type_passes(self):
        """``$id: ID!`` used by the root field is accepted."""
        assert errors(TemplateVariablesRule, "query M($id: ID!) { movie(id: $id) { id } }") == []

    def test_list_id_variable_passes(self):
        """``[ID!]!`` is accepted for a root field that returns a list."""
        query = "query M($ids: [ID!]!) { movies(ids: $ids) { id } }"
        assert errors(TemplateVariablesRule, query, id_variable="ids") == []

    def test_missing_id_variable_is_reported_at_the_operation_name(self):
        """An undeclared id variable is reported at the operation's name."""
        [(message, line, column)] = errors(TemplateVariablesRule, "query Movie { movie(id: 1) { id } }")
        assert message.startswith("Variable '$id' (root.id_variable) is not declared")
        assert (line, column) == (1, 7)

    @pytest.mark.parametrize("declared", ["ID", "[ID]", "[ID]!", "Float!", "Boolean!", "Genre!"])
    def test_unsuitable_id_type_is_reported_at_the_declaration(self, declared):
        """Nullable, nullable-list, float, boolean and enum id variables are rejected at their declaration."""
        query = f"query M($id: {declared}) {{ movie(id: $id) {{ id }} }}"
        [(message, line, column)] = errors(TemplateVariablesRule, query)
        assert message.startswith("Variable '$id' (root.id_variable) must be ID!, String!, Int!")
        assert (line, column) == (1, 9)

    def test_custom_scalar_id_is_accepted(self):
        """A custom scalar is a suitable id type (UUIDs and the like)."""
        assert errors(TemplateVariablesRule, "query M($id: Money!) { movie(id: $id) { id } }") == []

    def test_id_variable_not_used_by_the_root_field_is_reported(self):
        """An id variable that never reaches the root field's arguments is reported at the root field."""
        query = 'query M($id: ID!, $other: ID = "1") {\n  movie(id: $other) { id }\n}'
        [(message, line, column)] = errors(TemplateVariablesRule, query)
        assert message == "Root field 'movie' does not use '$id' (root.id_variable) in its arguments."
        assert (line, column) == (2, 3)

    def test_id_variable_nested_in_a_list_argument_counts(self):
        """An id variable inside a list value reaches the root field."""
        assert errors(TemplateVariablesRule, "query M($id: ID!) { movies(ids: [$id]) { id } }") == []

    def test_list_variable_with_single_root_field_is_reported(self):
        """A list of ids cannot be fetched through a root field that returns one entity."""
        query = "query M($id: [ID!]!) { node(id: $id) { ... on Movie { id } } }"
        found = errors(TemplateVariablesRule, query)
        message = "Variable '$id' is a list, so root field 'node' must return a list (it returns 'Node')."
        assert found == [(message, 1, 24)]

    def test_required_variable_without_default_is_reported(self):
        """Another non-null variable without a default is reported: the indexer sends only ids."""
        query = "query M($id: ID!,\n        $lang: String!) { movie(id: $id) { id } }"
        [(message, line, column)] = errors(TemplateVariablesRule, query)
        assert message.startswith("Variable '$lang' is required and has no default")
        assert (line, column) == (2, 9)

    def test_variables_with_defaults_or_nullable_pass(self):
        """Defaulted and nullable extra variables are fine."""
        query = 'query M($id: ID!, $lang: String! = "en", $flag: Boolean) { movie(id: $id) { id } }'
        assert errors(TemplateVariablesRule, query) == []


class TestIdFieldRule:
    def test_id_selected_passes(self):
        """The id field selected directly on the root entity is accepted."""
        assert errors(IdFieldRule, "query M($id: ID!) { movie(id: $id) { id title } }") == []

    def test_id_in_fragment_on_root_type_passes(self):
        """The id field selected inside a fragment on root.type is accepted."""
        query = "query M($id: ID!) { node(id: $id) { ... on Movie { ...Ids } } } fragment Ids on Movie { id }"
        assert errors(IdFieldRule, query) == []

    def test_aliased_id_field_is_matched_by_response_key(self):
        """root.id_field is a response key: an alias counts, the field name does not."""
        query = "query M($id: ID!) { movie(id: $id) { movieId: id } }"
        assert errors(IdFieldRule, query, id_field="movieId") == []
        [(message, _, _)] = errors(IdFieldRule, query)
        assert message.startswith("Field 'id' (root.id_field) is not selected on 'Movie'")

    def test_missing_id_is_reported_at_the_root_field(self):
        """A root entity without its id field is reported at the root field."""
        [(message, line, column)] = errors(IdFieldRule, "query M($id: ID!) {\n  movie(id: $id) { title }\n}")
        assert message == "Field 'id' (root.id_field) is not selected on 'Movie'; select it, it is the document id."
        assert (line, column) == (2, 3)

    def test_id_only_in_fragment_on_another_type_does_not_count(self):
        """An id selected only for another concrete type does not identify the root entity."""
        query = "query M($id: ID!) { node(id: $id) { ... on Series { id } ... on Movie { title } } }"
        [(message, _, _)] = errors(IdFieldRule, query)
        assert "is not selected on 'Movie'" in message

    def test_conditional_id_is_reported_at_the_field(self):
        """An id under @include with a variable is reported at the field."""
        query = "query M($id: ID!, $x: Boolean = true) {\n  movie(id: $id) {\n    id @include(if: $x)\n  }\n}"
        [(message, line, column)] = errors(IdFieldRule, query)
        assert "is selected only under @include/@skip" in message
        assert (line, column) == (3, 5)

    def test_id_skipped_by_literal_is_missing(self):
        """``@skip(if: true)`` removes the id, so it is not selected."""
        [(message, _, _)] = errors(IdFieldRule, "query M($id: ID!) { movie(id: $id) { id @skip(if: true) } }")
        assert "is not selected" in message

    def test_object_or_list_id_is_reported(self):
        """The document id must be one scalar: an object or a list is reported at the field."""
        query = "query M($id: ID!) {\n  movie(id: $id) {\n    id\n    genres\n  }\n}"
        [(message, line, column)] = errors(IdFieldRule, query, id_field="genres")
        assert message == (
            "Field 'genres' (root.id_field) is '[Genre!]!'; the document id must be a single scalar value."
        )
        assert (line, column) == (4, 5)


class TestHelpers:
    @pytest.mark.parametrize(
        ("directives", "expected"),
        [
            ("", Inclusion.ALWAYS),
            ("@include(if: true)", Inclusion.ALWAYS),
            ("@skip(if: false)", Inclusion.ALWAYS),
            ("@include(if: false)", Inclusion.NEVER),
            ("@skip(if: true)", Inclusion.NEVER),
            ("@include(if: $x)", Inclusion.CONDITIONAL),
            ("@skip(if: $x) @include(if: false)", Inclusion.NEVER),
        ],
    )
    def test_inclusion(self, directives, expected):
        """Literal @include/@skip decide inclusion; a variable makes a selection conditional."""
        operation = parse(f"{{ movie(id: 1) {directives} {{ id }} }}").definitions[0]
        assert isinstance(operation, OperationDefinitionNode)
        assert inclusion(operation.selection_set.selections[0]) is expected

    def test_root_field_and_single_query(self):
        """The helpers find the one query and its one root field, and None otherwise."""
        document = parse("query A { __typename movie(id: 1) { id } }")
        operation = single_query(document)
        assert operation is not None
        root_field = root_field_of(operation)
        assert root_field is not None
        assert root_field.name.value == "movie"
        assert single_query(parse("query A { a } query B { b }")) is None

    def test_template_rules_bind_root_settings(self):
        """template_rules gives every rule, the configurable ones bound to the root settings."""
        rules = template_rules(RootSettings(type="Movie", id_variable="key"))
        assert [rule.__name__ for rule in rules] == [
            "SingleQueryOperationRule",
            "RootFieldRule",
            "TemplateVariablesRule",
            "IdFieldRule",
        ]
        assert all(rule.root.id_variable == "key" for rule in rules[1:])  # type: ignore[attr-defined]
