"""Writing the generated artifacts and detecting drift against committed ones."""

from __future__ import annotations

import json

import fastavro
import pytest

from indexer.definition import load_definition
from schema_gen.artifacts import check_artifacts, generate_artifacts, write_artifacts
from schema_gen.errors import ArtifactError, ConfigError
from schema_gen.render import DocumentRenderer
from tests.schema_gen.generator_models import make_config, movie_model
from tests.schema_gen.real_definitions import GITHUB_RESPONSE, SWAPI_RESPONSE, github_definition, swapi_definition

FILES = ["movies.avsc", "movies.template.json", "movies.fields.json"]


@pytest.fixture
def artifacts():
    model, config = movie_model()
    return generate_artifacts(model, config)


def test_generate_bundles_the_three_artifacts(artifacts):
    """The bundle holds the Avro schema, template and catalogue under their file names."""
    assert list(artifacts.files()) == FILES
    assert artifacts.index == "movies"
    assert artifacts.avro["name"] == "Movie"
    assert artifacts.template["index_patterns"] == ["movies-*"]
    assert artifacts.catalogue["index"] == "movies"


def test_written_artifacts_check_clean(artifacts, tmp_path):
    """Files just written (and nothing else) are up to date, and are indented JSON ending in a newline."""
    written = write_artifacts(artifacts, tmp_path / "generated")
    assert [path.name for path in written] == FILES
    assert sorted(path.name for path in (tmp_path / "generated").iterdir()) == sorted(FILES)
    text = written[0].read_text(encoding="utf-8")
    assert text.startswith('{\n  "type": "record"')
    assert text.endswith("}\n")
    assert check_artifacts(artifacts, tmp_path / "generated") == []


def test_reformatting_is_not_drift(artifacts, tmp_path):
    """A committed file with other formatting but the same content is current."""
    write_artifacts(artifacts, tmp_path)
    path = tmp_path / "movies.template.json"
    path.write_text(json.dumps(json.loads(path.read_text()), indent=4, sort_keys=True))
    assert check_artifacts(artifacts, tmp_path) == []


def test_changed_definition_is_drift_with_a_diff(artifacts, tmp_path):
    """After an option change, the template and catalogue are reported with a diff of the change."""
    write_artifacts(artifacts, tmp_path)
    model, config = movie_model(make_config(fields={"title": {"analyzer": "english"}}))
    problems = check_artifacts(generate_artifacts(model, config), tmp_path)
    assert [problem.where for problem in problems] == [
        str(tmp_path / "movies.template.json"),
        str(tmp_path / "movies.fields.json"),
    ]
    message = problems[0].message
    assert message.startswith("out of date (2 lines differ); run graphdex generate")
    assert '-          "analyzer": "folding",' in message
    assert '+          "analyzer": "english",' in message


def test_long_diffs_are_cut(artifacts, tmp_path):
    """A large change shows a bounded diff and says how much was left out."""
    write_artifacts(artifacts, tmp_path)
    (tmp_path / "movies.fields.json").write_text("{}")
    (problem,) = check_artifacts(artifacts, tmp_path)
    assert problem.where == str(tmp_path / "movies.fields.json")
    assert "more diff lines" in problem.message
    assert len(problem.message.splitlines()) == 1 + 40 + 1


def test_missing_and_invalid_files_are_reported(artifacts, tmp_path):
    """A missing file and a file that is not JSON are problems naming the file (and line:column)."""
    write_artifacts(artifacts, tmp_path)
    (tmp_path / "movies.avsc").unlink()
    (tmp_path / "movies.fields.json").write_text('{\n  "format": 1,,\n}')
    problems = check_artifacts(artifacts, tmp_path)
    assert [str(problem) for problem in problems] == [
        f"{tmp_path / 'movies.avsc'}: missing; run graphdex generate",
        f"{tmp_path / 'movies.fields.json'}:2:15: not valid JSON: Expecting property name enclosed in double quotes",
    ]


def test_unwritable_directory_is_an_artifact_error(artifacts, tmp_path):
    """Writing into a path that is a file raises ArtifactError naming it."""
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(ArtifactError, match="cannot write artifacts to"):
        write_artifacts(artifacts, blocker)


def test_option_errors_name_the_definition_file():
    """With ``source``, option problems are prefixed with the definition's file name."""
    model, config = movie_model(make_config(fields={"runtime": {"search": ["fulltext"]}}))
    with pytest.raises(ConfigError, match=r"movies\.yaml: fields\.runtime\.search"):
        generate_artifacts(model, config, source="movies.yaml")


@pytest.mark.parametrize(
    ("write_definition", "response", "nested_paths"),
    [
        (swapi_definition, SWAPI_RESPONSE, ["characterConnection.characters", "planetConnection.planets"]),
        (github_definition, GITHUB_RESPONSE, ["repositoryTopics.nodes"]),
    ],
    ids=["swapi", "github"],
)
def test_real_schemas_generate_and_render(tmp_path, write_definition, response, nested_paths):
    """Definitions over the shared SWAPI and GitHub schemas generate, check clean and render their responses."""
    definition = load_definition(write_definition(tmp_path))
    artifacts = generate_artifacts(definition.model, definition.config, source=str(definition.path))
    fastavro.parse_schema(artifacts.avro)
    assert artifacts.catalogue["nested_paths"] == nested_paths
    write_artifacts(artifacts, tmp_path / "out")
    assert check_artifacts(artifacts, tmp_path / "out") == []
    documents = DocumentRenderer(definition.model, definition.config).render_response(response)
    assert len(documents) == 1
