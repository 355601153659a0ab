"""Index definitions over the real schemas in ../shared/schemas, with a response for each.

The YAML files are written to a test's temporary directory and point at the shared schema files;
nothing from ../shared is copied.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.conftest import SHARED

SWAPI_YAML = """\
index: films
graph:
  schema_file: {schema}
root:
  type: Film
  id_field: id
  id_variable: id
query: |
  query FilmDocument($id: ID!, $withPlanets: Boolean = true) {{
    film(id: $id) {{
      id
      title
      episodeID
      director
      producers
      releaseDate
      characterConnection(first: 50) {{
        totalCount
        characters {{ id name birthYear species {{ id name }} }}
      }}
      planetConnection(first: 20) @include(if: $withPlanets) {{
        planets {{ id name climates diameter }}
      }}
    }}
  }}
fields:
  title: {{search: [fulltext, autocomplete], boost: 3}}
"""

GITHUB_YAML = """\
index: repositories
graph:
  schema_file: {schema}
root:
  type: Repository
  id_field: id
  id_variable: ids
query: |
  query RepositoryDocuments($ids: [ID!]!) {{
    nodes(ids: $ids) {{
      ... on Repository {{
        id
        nameWithOwner
        description
        url
        createdAt
        pushedAt
        isArchived
        stargazerCount
        visibility
        owner {{ __typename login ... on Organization {{ name }} ... on User {{ name }} }}
        primaryLanguage {{ id name }}
        repositoryTopics(first: 10) {{ nodes {{ topic {{ id name }} }} }}
      }}
    }}
  }}
fields:
  description: {{analyzer: english}}
"""

SWAPI_RESPONSE: dict[str, Any] = {
    "data": {
        "film": {
            "id": "ZmlsbXM6MQ==",
            "title": "A New Hope",
            "episodeID": 4,
            "director": "George Lucas",
            "producers": ["Gary Kurtz", "Rick McCallum"],
            "releaseDate": "1977-05-25",
            "characterConnection": {
                "totalCount": 2,
                "characters": [
                    {"id": "cGVvcGxlOjE=", "name": "Luke Skywalker", "birthYear": "19BBY", "species": None},
                    {
                        "id": "cGVvcGxlOjI=",
                        "name": "C-3PO",
                        "birthYear": "112BBY",
                        "species": {"id": "s2", "name": "Droid"},
                    },
                ],
            },
            "planetConnection": {
                "planets": [{"id": "p1", "name": "Tatooine", "climates": ["arid"], "diameter": 10465}]
            },
        }
    }
}

GITHUB_RESPONSE: dict[str, Any] = {
    "data": {
        "nodes": [
            {
                "id": "R_kgDOA",
                "nameWithOwner": "octo-org/Café",
                "description": "Brewing coffee with GraphQL",
                "url": "https://github.com/octo-org/cafe",
                "createdAt": "2020-02-01T10:00:00Z",
                "pushedAt": None,
                "isArchived": False,
                "stargazerCount": 42,
                "visibility": "PUBLIC",
                "owner": {"__typename": "Organization", "login": "octo-org", "name": "Octo Org"},
                "primaryLanguage": {"id": "L1", "name": "Python"},
                "repositoryTopics": {"nodes": [{"topic": {"id": "T1", "name": "coffee"}}]},
            },
            None,
        ]
    }
}


def swapi_definition(directory: Path) -> Path:
    """Write the SWAPI ``films`` definition into ``directory``; returns the YAML path."""
    path = directory / "films.yaml"
    path.write_text(SWAPI_YAML.format(schema=SHARED / "schemas" / "swapi.graphql"), encoding="utf-8")
    return path


def github_definition(directory: Path) -> Path:
    """Write the GitHub ``repositories`` definition into ``directory``; returns the YAML path."""
    path = directory / "repositories.yaml"
    path.write_text(GITHUB_YAML.format(schema=SHARED / "schemas" / "github.graphql"), encoding="utf-8")
    return path
