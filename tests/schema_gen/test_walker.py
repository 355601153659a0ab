"""The walker: one pass over a validated template into the document model."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from schema_gen.config import IndexConfig, parse_config
from schema_gen.errors import ConfigError, QueryError
from schema_gen.model import DocumentModel, FieldKind, ScalarKind
from schema_gen.schema_loader import schema_from_sdl
from schema_gen.walker import build_model, parse_template

STUDIO = (Path(__file__).parent / "data" / "studio.graphql").read_text()
LOADED = schema_from_sdl(STUDIO, "studio.graphql")


def make_config(**overrides: Any) -> IndexConfig:
    """An index definition over the studio schema, root type Movie unless overridden."""
    data = {"index": "movies", "graph": {"schema_file": "studio.graphql"}, "query": "-", "root": {"type": "Movie"}}
    return parse_config({**data, **overrides}, "movies.yaml", {})


def walk(query: str, loaded=LOADED, **overrides: Any) -> DocumentModel:
    """The model of ``query`` (source ``movie.graphql``) under ``make_config(**overrides)``."""
    document = parse_template(query, "movie.graphql")
    return build_model(loaded, document, make_config(**overrides), "movie.graphql", config_source="movies.yaml")


def node_at(model: DocumentModel, path: str):
    """The model node with this response path."""
    return next(node for node in model.root.walk() if node.path == path)


class TestShapes:
    def test_scalars_nullability_and_descriptions(self):
        """Built-in and custom scalars get their kind, nullability and the schema description."""
        model = walk("query M($id: ID!) { movie(id: $id) { id title rating released budget } }")
        assert [(n.key, n.scalar, n.nullable) for n in model.root.children] == [
            ("id", ScalarKind.ID, False),
            ("title", ScalarKind.STRING, False),
            ("rating", ScalarKind.FLOAT, True),
            ("released", ScalarKind.BOOLEAN, False),
            ("budget", ScalarKind.CUSTOM, True),
        ]
        assert node_at(model, "title").description == "The release title."
        assert node_at(model, "budget").type_name == "Money"

    def test_enums_carry_their_values(self):
        """An enum list field has kind ENUM, its values in schema order and its list shape."""
        genres = node_at(walk("query M($id: ID!) { movie(id: $id) { id genres } }"), "genres")
        assert genres.kind is FieldKind.ENUM
        assert genres.enum_values == ("DRAMA", "COMEDY", "THRILLER")
        assert (genres.nullable, genres.list_items_nullable) == (False, (False,))

    def test_nested_and_nullable_lists(self):
        """``[[Int!]]!`` and ``[String]`` record item nullability per list level, outermost first."""
        model = walk("query M($id: ID!) { movie(id: $id) { id scoresByRegion tags } }")
        scores, tags = node_at(model, "scoresByRegion"), node_at(model, "tags")
        assert (scores.nullable, scores.list_items_nullable, scores.is_list) == (False, (True, False), True)
        assert (tags.nullable, tags.list_items_nullable) == (True, (True,))
        assert node_at(model, "id").is_list is False

    def test_aliases_become_keys_and_paths(self):
        """An alias is the response key and path; the schema name is kept in ``name``."""
        model = walk("query M($id: ID!) { film: movie(id: $id) { id name: title production { code: productionId } } }")
        assert (model.root_field, model.root_response_key, model.root.key) == ("movie", "film", "film")
        name = node_at(model, "name")
        assert (name.key, name.name) == ("name", "title")
        assert node_at(model, "production.code").name == "productionId"

    def test_document_level_facts(self):
        """Root type, operation name, query text, id settings and variable defaults are recorded."""
        query = (
            'query Movie($id: ID!, $lang: String = "en", $limit: Int = 3)'
            " { movie(id: $id) { id title(language: $lang) tags(limit: $limit) } }"
        )
        model = walk(query)
        assert model.root_type == "Movie"
        assert model.operation_name == "Movie"
        assert model.query == query
        assert (model.id_field, model.id_variable, model.id_variable_is_list, model.root_returns_list) == (
            "id",
            "id",
            False,
            False,
        )
        assert model.variable_defaults == {"lang": "en", "limit": 3}
        assert (model.root.path, model.root.nullable, model.root.possible_types) == ("", False, ("Movie",))

    def test_list_root_and_list_variable(self):
        """A list root field with a list id variable is flagged on the model."""
        model = walk("query M($ids: [ID!]!) { movies(ids: $ids) { id } }", root={"type": "Movie", "id_variable": "ids"})
        assert (model.root_returns_list, model.id_variable_is_list) == (True, True)


class TestFragmentsAndAbstractTypes:
    def test_abstract_root_type(self):
        """root.type may be an interface: fields in fragments on its members get ``only_on``."""
        query = "query N($id: ID!) { node(id: $id) { id ... on Movie { title } ... on Series { title seasons } } }"
        model = walk(query, root={"type": "Node"})
        assert (model.root.abstract, model.root.possible_types) == (True, ("Movie", "Series"))
        assert [(c.key, c.only_on) for c in model.root.children] == [
            ("id", None),
            ("title", None),
            ("seasons", ("Series",)),
        ]
        assert model.root.key_fields == ("id",)

    def test_named_fragments_are_expanded_in_place(self):
        """A named fragment's fields appear where it is spread, in selection order."""
        query = """
            query M($id: ID!) { movie(id: $id) { id ...Facts production { ...Prod } } }
            fragment Facts on Movie { title runtimeMinutes }
            fragment Prod on Production { productionId status }
        """
        model = walk(query)
        assert [n.path for n in model.fields()] == [
            "id",
            "title",
            "runtimeMinutes",
            "production",
            "production.productionId",
            "production.status",
        ]

    def test_interface_children_merge_across_type_conditions(self):
        """Fields of an interface list are merged; fields selected for some concrete types get ``only_on``."""
        query = """
            query M($id: ID!) { movie(id: $id) { id credits {
              __typename role talent { talentId }
              ... on CastCredit { character billing }
              ...Crew
              ... on Credit { role }
            } } }
            fragment Crew on CrewCredit { department }
        """
        credits = node_at(walk(query), "credits")
        assert (credits.kind, credits.abstract, credits.type_name) == (FieldKind.OBJECT, True, "Credit")
        assert credits.possible_types == ("CastCredit", "CrewCredit")
        assert [(c.key, c.only_on) for c in credits.children] == [
            ("__typename", None),
            ("role", None),
            ("talent", None),
            ("character", ("CastCredit",)),
            ("billing", ("CastCredit",)),
            ("department", ("CrewCredit",)),
        ]
        typename = credits.child("__typename")
        assert (typename.kind, typename.type_name, typename.nullable) == (FieldKind.TYPENAME, "String", False)
        assert credits.child("billing").optional

    def test_field_selected_for_every_member_is_not_only_on(self):
        """A field selected in a fragment for each concrete type is present for all of them."""
        query = """query M($id: ID!) { movie(id: $id) { id credits {
            ... on CastCredit { role } ... on CrewCredit { role } } } }"""
        assert node_at(walk(query), "credits.role").only_on is None

    def test_union_members_and_nested_merging(self):
        """Union members contribute fields; a key selected in two fragments merges its children."""
        query = """query M($id: ID!) { movie(id: $id) { id related {
            __typename
            ... on Movie { id title production { productionId } }
            ... on Series { id title }
            ... on Movie { production { status } }
            ... on Talent { talentId name }
        } } }"""
        related = node_at(walk(query), "related")
        assert related.possible_types == ("Movie", "Series", "Talent")
        assert [(c.key, c.only_on) for c in related.children] == [
            ("__typename", None),
            ("id", ("Movie", "Series")),
            ("title", ("Movie", "Series")),
            ("production", ("Movie",)),
            ("talentId", ("Talent",)),
            ("name", ("Talent",)),
        ]
        assert [c.key for c in related.child("production").children] == ["productionId", "status"]

    def test_interface_root_narrowed_to_the_root_type(self):
        """``node(id:) { ... on Movie }`` gives a Movie root; fragments on other types are left out."""
        query = "query M($id: ID!) { node(id: $id) { id ... on Movie { title } ... on Series { seasons } } }"
        model = walk(query)
        assert (model.root_field, model.root_type, model.root.abstract) == ("node", "Movie", False)
        assert [(c.key, c.only_on) for c in model.root.children] == [("id", None), ("title", None)]

    def test_same_key_with_different_types_is_a_query_error(self):
        """One response key selecting differently typed fields on different types cannot be modelled."""
        query = """query M($id: ID!) { movie(id: $id) { id related {
            ... on Movie { label: title }
            ... on Talent { label: name }
        } } }"""
        with pytest.raises(QueryError) as caught:
            walk(query)
        [problem] = caught.value.problems
        assert problem.where == "movie.graphql:3:29"
        assert problem.message.startswith("Response key 'label' selects different fields (Movie.title, Talent.name)")


class TestDirectives:
    def test_literal_include_and_skip(self):
        """``@include(if: false)`` and ``@skip(if: true)`` drop a field; true/false literals keep it."""
        query = """query M($id: ID!) { movie(id: $id) {
            id
            title @include(if: false)
            rating @skip(if: true)
            tags @include(if: true)
            released @skip(if: false)
            ... on Movie @include(if: false) { budget }
        } }"""
        model = walk(query)
        assert [(c.key, c.conditional) for c in model.root.children] == [
            ("id", False),
            ("tags", False),
            ("released", False),
        ]

    def test_variable_conditions_make_fields_conditional(self):
        """A variable @include/@skip, on a field or an enclosing fragment, makes the field conditional."""
        query = """query M($id: ID!, $more: Boolean = false) { movie(id: $id) {
            id
            title @include(if: $more)
            ... @skip(if: $more) { rating }
            ...Extra @include(if: $more)
            production { productionId }
        } }
        fragment Extra on Movie { budget }"""
        model = walk(query)
        assert [(c.key, c.conditional) for c in model.root.children] == [
            ("id", False),
            ("title", True),
            ("rating", True),
            ("budget", True),
            ("production", False),
        ]
        assert model.variable_defaults == {"more": False}

    def test_unconditional_selection_wins(self):
        """A field selected both conditionally and unconditionally is always present."""
        query = "query M($id: ID!, $x: Boolean = true) { movie(id: $id) { id title @include(if: $x) title } }"
        assert node_at(walk(query), "title").conditional is False


class TestKeyFields:
    def test_federation_key_wins(self):
        """A type's @key names its identity; ``Talent @key(fields: "talentId")``."""
        model = walk("query M($id: ID!) { movie(id: $id) { id credits { talent { name talentId } } } }")
        assert model.root.key_fields == ("id",)
        assert node_at(model, "credits.talent").key_fields == ("talentId",)

    def test_aliased_key_field_gives_its_response_key(self):
        """Key fields are reported by response key, honouring aliases."""
        model = walk("query M($id: ID!) { movie(id: $id) { id production { code: productionId } } }")
        assert node_at(model, "production").key_fields == ("code",)

    def test_lower_camel_type_id_fallback_and_config_keys(self):
        """Without @key or ``id``, ``<type>Id: ID`` is the key; ``config.keys`` takes precedence over it."""
        query = "query M($id: ID!) { movie(id: $id) { id production { productionId vendor { vendorCode } } } }"
        model = walk(query)
        assert node_at(model, "production").key_fields == ("productionId",)
        assert node_at(model, "production.vendor").key_fields == ()
        keyed = walk(query, keys={"Vendor": ["vendorCode"]})
        assert node_at(keyed, "production.vendor").key_fields == ("vendorCode",)

    def test_unselected_or_conditional_key_gives_no_key_fields(self):
        """Key fields count only when all are selected on every type, unconditionally."""
        query = """query M($id: ID!, $x: Boolean = true) { movie(id: $id) { id
            credits { talent { name } }
            production { productionId @include(if: $x) }
        } }"""
        model = walk(query)
        assert node_at(model, "credits.talent").key_fields == ()
        assert node_at(model, "production").key_fields == ()


class TestFieldOptions:
    def test_options_are_attached_by_response_path(self):
        """Options configured for a response path land on that node; others get defaults."""
        fields = {
            "title": {"boost": 3, "search": ["fulltext", "autocomplete"]},
            "production.status": {"facetable": True},
        }
        model = walk("query M($id: ID!) { movie(id: $id) { id title production { status } } }", fields=fields)
        assert node_at(model, "title").options.boost == 3
        assert node_at(model, "production.status").options.facetable is True
        assert node_at(model, "id").options.boost == 1.0

    def test_excluded_fields_are_omitted_with_their_subtree(self):
        """``exclude: true`` removes the field and everything under it from the model."""
        fields = {"production": {"exclude": True}, "production.status": {"boost": 2}, "tags": {"exclude": True}}
        query = "query M($id: ID!) { movie(id: $id) { id tags production { productionId status } } }"
        model = walk(query, fields=fields)
        assert [n.path for n in model.fields()] == ["id"]

    def test_excluding_a_key_field_drops_the_key(self):
        """An excluded key field no longer identifies its object."""
        query = "query M($id: ID!) { movie(id: $id) { id production { productionId status } } }"
        model = walk(query, fields={"production.productionId": {"exclude": True}})
        assert node_at(model, "production").key_fields == ()

    def test_unknown_field_path_is_a_config_error_with_a_suggestion(self):
        """A ``fields:`` key that names no response path is a ConfigError naming the key, with did-you-mean."""
        with pytest.raises(ConfigError) as caught:
            walk("query M($id: ID!) { movie(id: $id) { id production { status } } }", fields={"production.stats": {}})
        [problem] = caught.value.problems
        assert problem.where == "movies.yaml: fields.production.stats"
        assert problem.message.startswith(
            "no field of the query has this response path. Did you mean 'production.status'"
        )

    def test_excluding_the_id_field_is_a_config_error(self):
        """The document id cannot be excluded."""
        with pytest.raises(ConfigError) as caught:
            walk("query M($id: ID!) { movie(id: $id) { id title } }", fields={"id": {"exclude": True}})
        assert str(caught.value.problems[0]) == (
            "movies.yaml: fields.id: the document id (root.id_field) cannot be excluded"
        )


class TestValidation:
    def test_syntax_error_names_line_and_column(self):
        """A template that does not parse is a QueryError at file:line:col."""
        with pytest.raises(QueryError) as caught:
            parse_template("query M($id: ID!) {\n  movie(id: $id) { id\n", "movie.graphql")
        assert caught.value.problems[0].where == "movie.graphql:3:1"

    def test_every_problem_is_listed_with_its_location(self):
        """graphql-core's rules and ours report together, each with line and column."""
        query = "query M($id: ID) {\n  movie(id: $id) {\n    titel\n    production\n  }\n}"
        with pytest.raises(QueryError) as caught:
            walk(query)
        found = {(p.where, p.message.split(".")[0]) for p in caught.value.problems}
        assert ("movie.graphql:3:5", "Cannot query field 'titel' on type 'Movie'") in found
        assert (
            "movie.graphql:4:5",
            "Field 'production' of type 'Production' must have a selection of subfields",
        ) in found
        assert ("movie.graphql:1:9", "Variable '$id' (root") in found
        assert ("movie.graphql:2:3", "Field 'id' (root") in found
        assert str(caught.value).startswith(f"the query template does not validate ({len(found)} problems):")

    def test_unknown_root_type_is_a_config_error(self):
        """``root.type`` naming no type is a ConfigError with a suggestion, before the query is checked."""
        with pytest.raises(ConfigError) as caught:
            walk("query M($id: ID!) { movie(id: $id) { id } }", root={"type": "Movei"})
        assert str(caught.value.problems[0]).startswith(
            "movies.yaml: root.type: 'Movei' is not a type in the schema. Did you mean 'Movie'"
        )

    def test_keys_and_scalars_must_exist(self):
        """``keys`` and ``scalars`` entries naming unknown types or fields are ConfigErrors naming the key."""
        with pytest.raises(ConfigError) as caught:
            walk(
                "query M($id: ID!) { movie(id: $id) { id } }",
                keys={"Talent": ["talentID"], "Studio": ["id"]},
                scalars={"Mony": {"avro": "double"}},
            )
        assert [str(p) for p in caught.value.problems] == [
            "movies.yaml: keys.Talent[0]: 'Talent' has no field 'talentID'. Did you mean 'talentId'?",
            "movies.yaml: keys.Studio: 'Studio' is not an object or interface type in the schema.",
            "movies.yaml: scalars.Mony: 'Mony' is not a scalar in the schema. Did you mean 'Money'?",
        ]

    def test_schema_warning_touching_the_query_is_an_error(self):
        """A schema problem on a field the query selects becomes a query error; others stay warnings."""
        sdl = STUDIO.replace("  runtimeMinutes: Int\n", "  runtimeMinutes: Int\n  title: Int\n")
        loaded = schema_from_sdl(sdl, "studio.graphql")
        assert len(loaded.warnings) == 1
        assert walk("query M($id: ID!) { movie(id: $id) { id genres } }", loaded=loaded).root_type == "Movie"
        with pytest.raises(QueryError) as caught:
            walk("query M($id: ID!) { movie(id: $id) { id title } }", loaded=loaded)
        [problem] = caught.value.problems
        assert problem.where.startswith("studio.graphql:")
        assert problem.message.endswith("kept the first (the query uses it)")

    def test_undefined_type_used_by_the_query_is_an_error(self):
        """A field whose type the SDL never defines (declared a scalar to load) cannot be indexed silently."""
        loaded = schema_from_sdl(STUDIO.replace("scalar DateTime\n", ""), "studio.graphql")
        with pytest.raises(QueryError) as caught:
            walk("query M($id: ID!) { movie(id: $id) { id releasedAt } }", loaded=loaded)
        assert str(caught.value.problems[0]).endswith(
            "type DateTime is not defined; declared it as a scalar (the query uses it)"
        )

    def test_event_types_must_exist(self):
        """``events[].type`` naming no object or interface type is a ConfigError naming the entry."""
        events = [{"topic": "demo.movies.movies", "type": "Movie"}, {"topic": "demo.talent", "type": "Talant"}]
        with pytest.raises(ConfigError) as caught:
            walk("query M($id: ID!) { movie(id: $id) { id } }", events=events)
        assert [str(p) for p in caught.value.problems] == [
            "movies.yaml: events[1].type: 'Talant' is not an object or interface type in the schema."
            " Did you mean 'Talent'?"
        ]

    def test_schema_warning_on_a_type_reached_through_an_interface_is_an_error(self):
        """A broken field of a concrete type counts when the query selects it through an interface."""
        sdl = STUDIO.replace("  department: String!\n", "  department: String!\n  role: Int\n")
        loaded = schema_from_sdl(sdl, "studio.graphql")
        with pytest.raises(QueryError, match="field role of CrewCredit is defined again"):
            walk("query M($id: ID!) { movie(id: $id) { id credits { role } } }", loaded=loaded)
