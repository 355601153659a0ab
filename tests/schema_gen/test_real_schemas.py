"""Real, imperfect schemas: GitHub's (fails strict SDL validation) and SWAPI's (Relay connections)."""

from __future__ import annotations

from typing import Any

import pytest

from schema_gen.config import parse_config
from schema_gen.errors import QueryError
from schema_gen.model import DocumentModel, FieldKind, ScalarKind
from schema_gen.schema_loader import LoadedSchema, SchemaProblem, schema_from_sdl
from schema_gen.walker import build_model, parse_template
from tests.conftest import SHARED

REPOSITORY_QUERY = """
query Repository($id: ID!, $topics: Int = 20, $withReleases: Boolean = true) {
  repo: node(id: $id) {
    __typename
    id
    ... on Repository {
      ...RepositoryFacts
      owner {
        __typename
        login
        url
        ... on User { name company location }
        ... on Organization { name description }
      }
      primaryLanguage { name color }
      languages(first: 10, orderBy: {field: SIZE, direction: DESC}) {
        totalSize
        edges { size node { name } }
      }
      repositoryTopics(first: $topics) { nodes { topic { name } url } }
      licenseInfo { spdxId name nickname }
      latestRelease @include(if: $withReleases) { tagName name publishedAt isPrerelease }
      defaultBranchRef {
        name
        target {
          __typename
          oid
          ... on Commit { committedDate messageHeadline history { totalCount } }
          ... on Tag { name }
        }
      }
      issues(states: [OPEN]) { totalCount }
      pullRequests(first: 5, states: [OPEN]) {
        totalCount
        nodes { number title state createdAt author { login } labels(first: 5) { nodes { name color } } }
      }
      fundingLinks { platform url }
    }
  }
}

fragment RepositoryFacts on Repository {
  name
  nameWithOwner
  description
  url
  homepageUrl
  createdAt
  updatedAt
  pushedAt
  isArchived
  isFork
  isPrivate
  isTemplate
  visibility
  stargazerCount
  forkCount
  diskUsage
  watchers { totalCount }
}
"""

FILM_QUERY = """
query Film($id: ID!, $first: Int = 50) {
  film(id: $id) {
    id
    title
    episodeID
    openingCrawl
    director
    producers
    releaseDate
    characterConnection(first: $first) {
      totalCount
      edges { cursor node { id name birthYear species { id name } homeworld { id name } } }
    }
    planetConnection { totalCount planets { id name climates terrains population } }
    speciesConnection { species { id name classification } }
    starshipConnection(first: $first) { pageInfo { hasNextPage endCursor } starships { id name starshipClass } }
  }
}
"""


@pytest.fixture(scope="module")
def github() -> LoadedSchema:
    """GitHub's public schema, loaded leniently."""
    return schema_from_sdl((SHARED / "schemas" / "github.graphql").read_text(encoding="utf-8"), "github.graphql")


@pytest.fixture(scope="module")
def swapi() -> LoadedSchema:
    """The Star Wars API schema."""
    return schema_from_sdl((SHARED / "schemas" / "swapi.graphql").read_text(encoding="utf-8"), "swapi.graphql")


def model_of(loaded: LoadedSchema, query: str, root_type: str, **overrides: Any) -> DocumentModel:
    """Build the model of ``query`` with root type ``root_type``."""
    data = {"index": "x", "graph": {"schema_file": "s.graphql"}, "query": "-", "root": {"type": root_type}}
    config = parse_config({**data, **overrides}, "x.yaml", {})
    return build_model(loaded, parse_template(query, "q.graphql"), config, "q.graphql", config_source="x.yaml")


def node_at(model: DocumentModel, path: str):
    """The model node with this response path."""
    return next(node for node in model.root.walk() if node.path == path)


class TestGitHub:
    def test_loads_with_warnings_for_what_strict_building_rejects(self, github):
        """The duplicate fields and deprecation-rule violations are warnings at their line, not failures."""
        assert len(github.schema.type_map) > 1500
        wheres = {w.where.split(":")[0] for w in github.warnings}
        assert wheres == {"github.graphql"}
        messages = [w.message for w in github.warnings]
        assert "field repositoryDeployKeySetting of EnterpriseOwnerInfo is defined again" in messages[0]
        assert any("implementation field PullRequest.databaseId must not be deprecated" in m for m in messages)
        assert all(isinstance(w, SchemaProblem) and w.coordinates for w in github.warnings)

    def test_repository_document_through_node(self, github):
        """A ~60-field Repository document via ``node(id:)`` with interfaces, unions and fragments."""
        model = model_of(github, REPOSITORY_QUERY, "Repository")
        assert (model.root_field, model.root_response_key, model.root_type) == ("node", "repo", "Repository")
        assert model.variable_defaults == {"topics": 20, "withReleases": True}
        assert len(list(model.fields())) >= 60
        assert model.root.key_fields == ("id",)
        assert [c.key for c in model.root.children][:4] == ["__typename", "id", "name", "nameWithOwner"]
        assert node_at(model, "visibility").enum_values == ("INTERNAL", "PRIVATE", "PUBLIC")
        assert node_at(model, "createdAt").scalar is ScalarKind.CUSTOM
        owner = node_at(model, "owner")
        assert (owner.abstract, owner.possible_types) == (True, ("Organization", "User"))
        assert owner.child("name").only_on is None  # selected on both concrete types
        assert owner.child("company").only_on == ("User",)
        assert owner.child("description").only_on == ("Organization",)
        target = node_at(model, "defaultBranchRef.target")
        assert target.possible_types == ("Blob", "Commit", "Tag", "Tree")
        assert target.child("committedDate").only_on == ("Commit",)
        assert node_at(model, "latestRelease").conditional
        prs = node_at(model, "pullRequests.nodes")
        assert (prs.list_items_nullable, prs.key_fields) == ((True,), ())
        assert node_at(model, "pullRequests.nodes.labels.nodes.name").kind is FieldKind.SCALAR
        assert node_at(model, "languages.edges.node").type_name == "Language"

    def test_query_using_a_broken_field_is_an_error(self, github):
        """Selecting ``PullRequest.databaseId`` (a deprecation-rule violation) fails, naming the schema line."""
        query = """query PR($id: ID!) { node(id: $id) { ... on PullRequest { id databaseId title } } }"""
        with pytest.raises(QueryError) as caught:
            model_of(github, query, "PullRequest")
        [problem] = caught.value.problems
        assert problem.where.startswith("github.graphql:")
        assert "implementation field PullRequest.databaseId must not be deprecated" in problem.message
        assert problem.message.endswith("(the query uses it)")

    def test_query_using_a_duplicated_field_is_an_error(self, github):
        """Selecting a field that GitHub's SDL defines twice fails; the first definition is not trusted silently."""
        query = """query E($id: ID!) { node(id: $id) { ... on Enterprise { id
            ownerInfo { repositoryDeployKeySetting } } } }"""
        with pytest.raises(QueryError, match="repositoryDeployKeySetting of EnterpriseOwnerInfo is defined again"):
            model_of(github, query, "Enterprise")

    def test_list_of_nodes_with_list_variable(self, github):
        """``nodes(ids: $ids)`` returns a list, narrowed to the root type; the variable is a list."""
        query = "query Repos($ids: [ID!]!) { nodes(ids: $ids) { ... on Repository { id name stargazerCount } } }"
        model = model_of(github, query, "Repository", root={"type": "Repository", "id_variable": "ids"})
        assert (model.root_returns_list, model.id_variable_is_list) == (True, True)
        assert [c.key for c in model.root.children] == ["id", "name", "stargazerCount"]


class TestSwapi:
    def test_loads_cleanly(self, swapi):
        """SWAPI's schema has no problems."""
        assert swapi.warnings == ()

    def test_film_with_connections(self, swapi):
        """A Film document with Relay connections, nested lists and objects keyed by ``id``."""
        model = model_of(swapi, FILM_QUERY, "Film", fields={"openingCrawl": {"exclude": True}})
        assert model.root_field == "film"
        assert model.variable_defaults == {"first": 50}
        assert "openingCrawl" not in [c.key for c in model.root.children]
        producers = node_at(model, "producers")
        assert (producers.scalar, producers.list_items_nullable) == (ScalarKind.STRING, (True,))
        edge_node = node_at(model, "characterConnection.edges.node")
        assert (edge_node.type_name, edge_node.key_fields) == ("Person", ("id",))
        assert node_at(model, "characterConnection.edges.node.species").key_fields == ("id",)
        assert node_at(model, "planetConnection.planets.climates").list_items_nullable == (True,)
        assert node_at(model, "starshipConnection.pageInfo.hasNextPage").nullable is False
        assert len(list(model.fields())) == 41  # 10 top-level fields and 31 below the four connections
