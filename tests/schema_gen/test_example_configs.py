"""The example index definitions in configs/ load and generate; the GitHub one against the shared SDL."""

from __future__ import annotations

import pytest

from indexer.definition import load_definition
from schema_gen.artifacts import generate_artifacts
from schema_gen.errors import ConfigError
from tests.conftest import REPO, SHARED


def test_github_example_generates_against_the_shared_schema() -> None:
    """The GitHub example validates and generates when GITHUB_SCHEMA points at GitHub's SDL."""
    env = {"GITHUB_TOKEN": "t0ken", "GITHUB_SCHEMA": str(SHARED / "schemas" / "github.graphql")}
    definition = load_definition(REPO / "configs" / "github-repositories.yaml", env=env)
    assert definition.config.graph.headers == {"Authorization": "Bearer t0ken"}
    artifacts = generate_artifacts(definition.model, definition.config)
    properties = artifacts.template["template"]["mappings"]["properties"]
    assert properties["repositoryTopics"]["properties"]["nodes"]["type"] == "nested"
    assert properties["createdAt"]["type"] == "date"
    assert {e["type"] for e in artifacts.catalogue["entities"]} >= {"Repository", "Language", "Topic"}


def test_github_example_needs_its_token() -> None:
    """Without GITHUB_TOKEN the definition is refused, naming the variable."""
    with pytest.raises(ConfigError, match="GITHUB_TOKEN is not set"):
        load_definition(REPO / "configs" / "github-repositories.yaml", env={})


def test_demo_example_generates_offline() -> None:
    """The demo definition generates from its committed schema snapshot, with no server running."""
    definition = load_definition(REPO / "configs" / "movies.yaml", env={})
    catalogue = generate_artifacts(definition.model, definition.config).catalogue
    assert {e["type"] for e in catalogue["entities"]} == {"Movie", "Production", "Talent"}
    assert "credits" in catalogue["nested_paths"]
