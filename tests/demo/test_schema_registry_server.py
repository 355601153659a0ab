"""The local stack's schema registry: how it is built (once, into the cache, keyed by its project), the
errors when Maven cannot build it, and the real server (Apicurio Registry's Confluent-compatible API,
a BACKWARD global rule, subjects kept across a SIGKILL)."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import httpx
import pytest

from demo.java_servers import (
    KAFKA_PROJECT,
    REGISTRY_API_PATH,
    REGISTRY_PROJECT,
    REGISTRY_RUNNER,
    SEARCH_PROJECT,
    MavenProject,
    build_registry,
    registry_build_dir,
    registry_runner,
)
from demo.ports import REGISTRY, default_ports
from demo.stack import LocalStack, StackOptions
from demo.stack_services import define_service
from schema_gen.errors import StackError
from tests.private_stacks import new_stack

CONTENT_TYPE = {"Content-Type": "application/vnd.schemaregistry.v1+json"}
V1 = {"type": "record", "name": "Movie", "fields": [{"name": "title", "type": "string"}]}
RETYPED = {"type": "record", "name": "Movie", "fields": [{"name": "title", "type": "long"}]}


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty graphdex cache folder for this test."""
    monkeypatch.setenv("GRAPHDEX_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def copy_of_registry_project(folder: Path) -> MavenProject:
    """The registry's project copied to ``folder``, to be edited without touching the repository."""
    shutil.copytree(REGISTRY_PROJECT.pom.parent, folder)
    sources = tuple(folder / source.relative_to(REGISTRY_PROJECT.pom.parent) for source in REGISTRY_PROJECT.sources)
    return MavenProject(REGISTRY_PROJECT.name, folder / "pom.xml", sources)


def register(url: str, subject: str, schema: dict) -> httpx.Response:
    body = {"schema": json.dumps(schema)}
    return httpx.post(f"{url}/subjects/{subject}/versions", json=body, headers=CONTENT_TYPE, timeout=30)


# --- the build ----------------------------------------------------------------------------------


def test_the_resolved_projects_keep_their_cache_keys():
    """Kafka's and OpenSearch's classpaths stay keyed by their pom alone (caches made before the
    registry existed are still found)."""
    for project in (KAFKA_PROJECT, SEARCH_PROJECT):
        assert project.fingerprint == hashlib.sha256(project.pom.read_bytes()).hexdigest()[:16]


def test_the_registry_build_is_keyed_by_its_pom_and_sources(tmp_path: Path, cache: Path):
    """Editing the stand-in class or application.properties, not only the pom, means another build folder,
    under the cache folder (outside the repository)."""
    project = copy_of_registry_project(tmp_path / "apicurio")
    before = registry_build_dir(project)
    assert before.parent == cache / "build"
    assert before.name == f"apicurio-{project.fingerprint}"
    properties = next(source for source in project.sources if source.name == "application.properties")
    properties.write_text(properties.read_text(encoding="utf-8") + "\n# edited\n", encoding="utf-8")
    assert registry_build_dir(project) != before
    assert [source.is_file() for source in REGISTRY_PROJECT.sources] == [True, True]


def test_an_unbuilt_registry_says_how_to_build_it(cache: Path):
    """Without a build in the cache (and not allowed to build), the error names the bootstrap."""
    with pytest.raises(StackError, match=r"apicurio: the schema registry is not built yet; run `bash scripts/boot"):
        registry_runner(build=False)


def test_without_maven_the_error_says_what_to_install(cache: Path, monkeypatch: pytest.MonkeyPatch):
    """No ``mvn`` on PATH: a StackError naming Maven and how to install it, before anything is written."""
    monkeypatch.setenv("PATH", "")
    with pytest.raises(StackError, match=r"`mvn` is not on PATH to build the schema registry; install Maven 3.8"):
        build_registry()
    assert not cache.exists()


@pytest.mark.skipif(shutil.which("mvn") is None, reason="needs Maven")
def test_a_failing_build_names_the_log_and_maven_errors_and_leaves_nothing(tmp_path: Path, cache: Path):
    """A pom Maven cannot read: the error has Maven's [ERROR] lines, the full log's path and the command;
    no build folder is left that a later start could take for a finished build."""
    project = copy_of_registry_project(tmp_path / "apicurio")
    project.pom.write_text("<project>not a pom", encoding="utf-8")
    with pytest.raises(StackError) as failure:
        build_registry(project)
    message = str(failure.value)
    log = registry_build_dir(project).with_suffix(".log")
    assert message.startswith(f"apicurio: Maven could not build the schema registry from {project.pom} (exit 1)")
    assert f"full output in {log}" in message
    assert "[ERROR]" in message
    assert f"-f {project.pom} package" in message
    assert log.is_file()
    assert [path.name for path in (cache / "build").iterdir()] == [log.name]


@pytest.mark.integration
def test_the_registry_is_built_once_and_started_from_the_cache(schema_registry_url: str, tmp_path: Path):
    """After the session's registry started, its runner jar and lib/ are in the cache, and the service's
    command runs that jar with the state folder's database and 127.0.0.1 (nothing built again)."""
    runner = registry_runner(build=False)
    assert runner == registry_build_dir() / REGISTRY_RUNNER
    assert (runner.parent / "lib").is_dir()
    definition = define_service(REGISTRY, StackOptions(state_dir=tmp_path, ports={**default_ports(), REGISTRY: 18081}))
    argv = definition.launch.argv
    assert argv[-2:] == ["-jar", str(runner)]
    assert "-Dquarkus.http.host=127.0.0.1" in argv
    assert "-Dquarkus.http.port=18081" in argv
    database = tmp_path.resolve() / "data" / "registry" / "registry"
    assert f"-Dquarkus.datasource.jdbc.url=jdbc:h2:file:{database};WRITE_DELAY=0" in argv


# --- the real server ----------------------------------------------------------------------------


@pytest.mark.integration
def test_the_registry_is_apicurio_with_a_confluent_api_and_a_backward_rule(schema_registry_url: str, unique_name):
    """The service is Apicurio Registry 2.4.2 on 127.0.0.1; its Confluent-compatible API registers an Avro
    schema, returns it by id, and refuses an incompatible new version with HTTP 409 as Confluent would."""
    assert schema_registry_url.startswith("http://127.0.0.1:")
    assert schema_registry_url.endswith(REGISTRY_API_PATH)
    info = httpx.get(schema_registry_url.removesuffix(REGISTRY_API_PATH) + "/apis/registry/v2/system/info").json()
    assert info["version"] == "2.4.2.Final"

    subject = f"{unique_name}-value"
    first = register(schema_registry_url, subject, V1)
    assert first.status_code == 200, first.text
    schema_id = first.json()["id"]
    fetched = httpx.get(f"{schema_registry_url}/schemas/ids/{schema_id}", timeout=30).json()
    assert json.loads(fetched["schema"]) == V1
    refused = register(schema_registry_url, subject, RETYPED)
    assert refused.status_code == 409
    assert "reader type: LONG not compatible with writer type: STRING" in refused.text
    versions = httpx.get(f"{schema_registry_url}/subjects/{subject}/versions", timeout=30).json()
    assert versions == [1]


@pytest.mark.integration
def test_a_killed_registry_restarts_with_its_subjects(tmp_path: Path):
    """SIGKILL the registry and start it again: its file-backed database still has the subject, under the
    same schema id (unlike Apicurio's default in-memory storage)."""
    stack: LocalStack = new_stack(tmp_path).start([REGISTRY])
    try:
        url = stack.endpoints.schema_registry_url
        assert url is not None
        schema_id = register(url, "kept-value", V1).json()["id"]
        stack.stop_service(REGISTRY, kill=True)
        stack.start([REGISTRY])
        answer = httpx.get(f"{url}/subjects/kept-value/versions/latest", timeout=30)
        assert answer.status_code == 200, answer.text
        latest = answer.json()
        assert (latest["id"], latest["version"], json.loads(latest["schema"])) == (schema_id, 1, V1)
    finally:
        stack.stop()
