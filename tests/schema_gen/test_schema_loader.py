"""Lenient schema loading: SDL repairs become warnings, unusable schemas are SchemaErrors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from graphql import build_schema, get_introspection_query, graphql_sync, parse, validate

from schema_gen.errors import SchemaError
from schema_gen.schema_loader import (
    LoadedSchema,
    SchemaProblem,
    federation_keys,
    schema_from_introspection,
    schema_from_sdl,
)

DATA = Path(__file__).parent / "data"


def warnings_of(loaded: LoadedSchema) -> list[tuple[str, str, frozenset[str]]]:
    """The warnings as (where, message, coordinates)."""
    return [(w.where, w.message, w.coordinates) for w in loaded.warnings if isinstance(w, SchemaProblem)]


class TestSdl:
    def test_clean_sdl_has_no_warnings(self):
        """A valid schema loads with no warnings and validates queries."""
        loaded = schema_from_sdl("type Query { hello: String }", "hello.graphql")
        assert loaded.warnings == ()
        assert validate(loaded.schema, parse("{ hello }")) == []

    def test_syntax_error_names_file_line_and_column(self):
        """Unparseable SDL is a SchemaError with file:line:col."""
        with pytest.raises(SchemaError) as caught:
            schema_from_sdl("type Query {\n  hello: String\n  oops(: Int\n}", "broken.graphql")
        assert caught.value.problems[0].where == "broken.graphql:3:8"
        assert "Syntax Error" in caught.value.problems[0].message

    def test_no_query_type_is_an_error(self):
        """A schema with no Query type cannot be used."""
        with pytest.raises(SchemaError, match=r"types\.graphql: the schema has no Query type"):
            schema_from_sdl("type Movie { id: ID }", "types.graphql")

    def test_duplicate_field_keeps_the_first_and_warns(self):
        """A field defined twice keeps its first definition, with a warning at the second."""
        sdl = "type Query {\n  a: String\n  b: Int\n  a: Int\n}"
        loaded = schema_from_sdl(sdl, "dup.graphql")
        assert str(loaded.schema.query_type.fields["a"].type) == "String"
        assert warnings_of(loaded) == [
            (
                "dup.graphql:4:3",
                "field a of Query is defined again (first at line 2); kept the first",
                frozenset({"Query.a"}),
            )
        ]

    def test_duplicate_field_across_an_extension_keeps_the_first(self):
        """A field repeated in an extension of the type is dropped from the extension."""
        loaded = schema_from_sdl("type Query { a: String }\nextend type Query { a: Int b: Int }", "ext.graphql")
        fields = loaded.schema.query_type.fields
        assert (str(fields["a"].type), str(fields["b"].type)) == ("String", "Int")
        assert [w[0] for w in warnings_of(loaded)] == ["ext.graphql:2:21"]

    def test_duplicate_type_enum_value_and_argument_keep_the_first(self):
        """Later duplicate types, enum values and arguments are dropped, each with a warning."""
        sdl = "type Query { f(x: Int, x: String): E }\nenum E { A B A }\ntype T { a: Int }\ntype T { b: Int }\n"
        loaded = schema_from_sdl(sdl, "dups.graphql")
        field = loaded.schema.query_type.fields["f"]
        assert str(field.args["x"].type) == "Int"
        assert list(loaded.schema.get_type("E").values) == ["A", "B"]
        assert list(loaded.schema.get_type("T").fields) == ["a"]
        found = {(where, coordinates) for where, _, coordinates in warnings_of(loaded)}
        assert found == {
            ("dups.graphql:1:24", frozenset({"Query.f"})),
            ("dups.graphql:2:14", frozenset({"E.A"})),
            ("dups.graphql:4:6", frozenset({"T"})),
        }

    def test_schema_validation_errors_become_warnings_with_coordinates(self):
        """validate_schema problems (here a deprecated implementation of a live interface field) are warnings."""
        sdl = (
            "interface Node { id: ID! }\n"
            "type Query { node: Node }\n"
            'type Old implements Node { id: ID! @deprecated(reason: "x") }'
        )
        loaded = schema_from_sdl(sdl, "dep.graphql")
        [(where, message, coordinates)] = warnings_of(loaded)
        assert where == "dep.graphql:3:36"
        assert message.startswith("Interface field Node.id is not deprecated")
        assert coordinates == frozenset({"Old.id"})
        assert validate(loaded.schema, parse("{ node { id } }")) == []

    def test_undefined_field_type_is_declared_a_scalar(self):
        """A field type that is never defined becomes a scalar, with a warning naming it."""
        loaded = schema_from_sdl("type Query { when: Instant }", "missing.graphql")
        assert loaded.schema.get_type("Instant").__class__.__name__ == "GraphQLScalarType"
        assert warnings_of(loaded) == [
            ("missing.graphql:1:20", "type Instant is not defined; declared it as a scalar", frozenset({"Instant"}))
        ]

    def test_undefined_interface_is_left_out(self):
        """An implemented interface that is never defined is dropped from the type, with a warning."""
        loaded = schema_from_sdl("type Query { a: A }\ntype A implements Ghost { id: ID }", "ghost.graphql")
        assert loaded.schema.get_type("A").interfaces == ()
        assert warnings_of(loaded)[0][1] == "interface Ghost of A is not defined; left it out"

    def test_undeclared_directive_is_declared_leniently_with_a_warning(self):
        """An unknown directive is declared with argument types taken from its uses."""
        loaded = schema_from_sdl('type Query { a: Int @cache(seconds: 5, scope: PUBLIC, note: "x") }', "dir.graphql")
        directive = loaded.schema.get_directive("cache")
        assert {name: str(arg.type) for name, arg in directive.args.items()} == {
            "seconds": "Int",
            "scope": "_Any",
            "note": "String",
        }
        assert warnings_of(loaded) == [
            ("dir.graphql:1:21", "directive @cache is not declared; declared it leniently", frozenset({"@cache"}))
        ]


class TestFederation:
    SUBGRAPH = """
        extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key", "@shareable"])
        type Movie @key(fields: "id") @key(fields: "studio { id } slug") {
          id: ID!
          slug: String! @shareable
          studio: Studio
        }
        type Studio @key(fields: "id", resolvable: false) { id: ID! }
        extend type Query {
          movie(id: ID!): Movie
          _entities(representations: [_Any!]!): [_Entity]!
          _service: _Service!
        }
        extend type Talent @key(fields: "talentId") { talentId: ID! @external }
    """

    def test_subgraph_sdl_loads_without_warnings(self):
        """Federation directives and scalars need no declaration, and federation 1 extensions become types."""
        loaded = schema_from_sdl(self.SUBGRAPH, "movies.graphql")
        assert loaded.warnings == ()
        assert {"Movie", "Studio", "Talent", "_Any", "_Entity", "_Service"} <= set(loaded.schema.type_map)
        assert "movie" in loaded.schema.query_type.fields

    def test_federation_keys_read_every_key_directive(self):
        """federation_keys gives the top-level fields of each @key, from definitions and extensions."""
        schema = schema_from_sdl(self.SUBGRAPH, "movies.graphql").schema
        assert federation_keys(schema.get_type("Movie")) == (("id",), ("studio", "slug"))
        assert federation_keys(schema.get_type("Talent")) == (("talentId",),)
        assert federation_keys(schema.get_type("Query")) == ()

    def test_supergraph_join_type_keys(self):
        """A supergraph loads (undeclared @join__field included) and its @join__type(key:) counts as a key."""
        loaded = schema_from_sdl((DATA / "supergraph.graphql").read_text(), "supergraph.graphql")
        assert loaded.warnings == ()
        assert federation_keys(loaded.schema.get_type("Movie")) == (("id",),)
        assert federation_keys(loaded.schema.get_type("Talent")) == (("talentId",),)


class TestIntrospection:
    SDL = "type Query { movie(id: ID!): Movie }\ntype Movie { id: ID! title: String }"

    def introspection(self) -> dict:
        """A real introspection result of SDL."""
        result = graphql_sync(build_schema(self.SDL), get_introspection_query(descriptions=True))
        return json.loads(json.dumps(result.data))

    @pytest.mark.parametrize("wrapped", [True, False])
    def test_both_shapes_load(self, wrapped):
        """``{"data": {"__schema"}}`` and ``{"__schema"}`` both load."""
        data = self.introspection()
        loaded = schema_from_introspection({"data": data} if wrapped else data, "schema.json")
        assert loaded.warnings == ()
        assert list(loaded.schema.get_type("Movie").fields) == ["id", "title"]

    def test_not_an_introspection_result(self):
        """A JSON object without __schema is a SchemaError naming the source."""
        with pytest.raises(SchemaError, match=r"schema\.json: not an introspection result"):
            schema_from_introspection({"data": {"movies": []}}, "schema.json")

    def test_broken_introspection_result(self):
        """An introspection result that graphql-core cannot build from is a SchemaError."""
        data = self.introspection()
        data["__schema"]["types"] = [t for t in data["__schema"]["types"] if t["name"] != "Movie"]
        with pytest.raises(SchemaError, match=r"schema\.json: the introspection result cannot be used"):
            schema_from_introspection(data, "schema.json")

    def test_validation_problems_are_warnings_with_coordinates_from_the_message(self):
        """Without SDL positions, the coordinates come from the names in the message."""
        data = self.introspection()
        movie = next(t for t in data["__schema"]["types"] if t["name"] == "Movie")
        movie["interfaces"] = [{"kind": "INTERFACE", "name": "Node", "ofType": None}]
        data["__schema"]["types"].append(
            {
                "kind": "INTERFACE",
                "name": "Node",
                "description": None,
                "fields": [
                    {
                        "name": "uuid",
                        "description": None,
                        "args": [],
                        "type": {"kind": "SCALAR", "name": "ID", "ofType": None},
                        "isDeprecated": False,
                        "deprecationReason": None,
                    }
                ],
                "inputFields": None,
                "interfaces": [],
                "enumValues": None,
                "possibleTypes": [{"kind": "OBJECT", "name": "Movie", "ofType": None}],
            }
        )
        loaded = schema_from_introspection(data, "schema.json")
        [warning] = loaded.warnings
        assert isinstance(warning, SchemaProblem)
        assert warning.where == "schema.json"
        assert "Node.uuid" in warning.message
        assert {"Node.uuid", "Movie", "Node"} <= warning.coordinates
