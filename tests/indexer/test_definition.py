"""Loading an index definition from disk: YAML, query and schema files, environment and introspection."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from gql.transport.httpx import httpx  # the HTTP library gql's transport uses (httpx2 when installed)
from graphql import get_introspection_query, graphql_sync

from indexer.definition import load_definition, load_schema
from schema_gen.config import GraphSettings
from schema_gen.errors import ConfigError, QueryError, SchemaError
from schema_gen.schema_loader import schema_from_sdl

STUDIO = Path(__file__).resolve().parent.parent / "schema_gen" / "data" / "studio.graphql"
QUERY = "query Movie($id: ID!) {\n  movie(id: $id) { id title genres }\n}\n"
INTROSPECTION = graphql_sync(
    schema_from_sdl(STUDIO.read_text(), "studio.graphql").schema, get_introspection_query(descriptions=True)
).data


def write_definition(root: Path, yaml_text: str, query: str | None = QUERY) -> Path:
    """Lay out ``configs/movies.yaml``, ``queries/movie.graphql`` and ``schemas/studio.graphql`` under root."""
    for folder in ("configs", "queries", "schemas"):
        (root / folder).mkdir(exist_ok=True)
    (root / "schemas" / "studio.graphql").write_text(STUDIO.read_text())
    if query is not None:
        (root / "queries" / "movie.graphql").write_text(query)
    path = root / "configs" / "movies.yaml"
    path.write_text(yaml_text)
    return path


BASIC = """\
index: movies
graph:
  schema_file: ../schemas/studio.graphql
query_file: ../queries/movie.graphql
root:
  type: Movie
fields:
  title:
    boost: 2
"""


class TestFiles:
    def test_paths_are_relative_to_the_yaml_file(self, tmp_path, monkeypatch):
        """schema_file and query_file resolve against the YAML's directory, not the working directory."""
        path = write_definition(tmp_path, BASIC)
        monkeypatch.chdir(tmp_path / "queries")
        definition = load_definition(path)
        assert definition.path == path
        assert definition.query_text == QUERY
        assert definition.query_source == str(tmp_path / "queries" / "movie.graphql")
        assert definition.model.root_type == "Movie"
        assert [c.key for c in definition.model.root.children] == ["id", "title", "genres"]
        assert definition.model.root.child("title").options.boost == 2
        assert definition.warnings == ()
        assert definition.loaded_schema.schema.get_type("Movie") is not None

    def test_inline_query_is_named_after_the_yaml_file(self, tmp_path):
        """An inline query's problems are reported as ``<yaml> (query):line:col``."""
        yaml_text = BASIC.replace(
            "query_file: ../queries/movie.graphql\n",
            "query: |\n  query Movie($id: ID!) {\n    movie(id: $id) { id titel }\n  }\n",
        )
        path = write_definition(tmp_path, yaml_text, query=None)
        with pytest.raises(QueryError) as caught:
            load_definition(path)
        assert caught.value.problems[0].where == f"{path} (query):2:23"

    def test_schema_warnings_not_touching_the_query_are_kept(self, tmp_path):
        """A schema repair the query does not depend on stays a warning on the definition."""
        path = write_definition(tmp_path, BASIC)
        schema = tmp_path / "schemas" / "studio.graphql"
        schema.write_text(schema.read_text().replace("  birthYear: Int\n", "  birthYear: Int\n  birthYear: String\n"))
        [warning] = load_definition(path).warnings
        assert warning.where.startswith(f"{schema}:")
        assert "field birthYear of Talent is defined again" in warning.message

    def test_environment_substitution(self, tmp_path, monkeypatch):
        """``${VAR}`` comes from ``env`` when given, else from the process environment."""
        path = write_definition(tmp_path, BASIC.replace("index: movies", "index: ${INDEX_NAME}"))
        assert load_definition(path, env={"INDEX_NAME": "films"}).model.index == "films"
        monkeypatch.setenv("INDEX_NAME", "pictures")
        assert load_definition(path).model.index == "pictures"

    def test_introspection_json_schema_file(self, tmp_path):
        """A ``.json`` schema file is read as an introspection result."""
        path = write_definition(tmp_path, BASIC.replace("studio.graphql", "studio.json"))
        (tmp_path / "schemas" / "studio.json").write_text(json.dumps({"data": INTROSPECTION}))
        assert load_definition(path).model.root.key_fields == ("id",)


class TestFileErrors:
    def test_yaml_syntax_error_names_line_and_column(self, tmp_path):
        """Broken YAML is a ConfigError at file:line:col."""
        path = write_definition(tmp_path, "index: movies\nroot:\n  type: [Movie\n")
        with pytest.raises(ConfigError) as caught:
            load_definition(path)
        [problem] = caught.value.problems
        assert problem.where == f"{path}:4:1"
        assert problem.message.startswith("YAML syntax error: while parsing a flow sequence")

    def test_duplicate_yaml_key_is_an_error(self, tmp_path):
        """A key given twice is reported instead of the last one silently winning."""
        path = write_definition(tmp_path, BASIC + "root:\n  type: Talent\n")
        with pytest.raises(ConfigError) as caught:
            load_definition(path)
        assert str(caught.value.problems[0]) == f"{path}:10:1: YAML syntax error: key 'root' is given more than once"

    def test_missing_definition_file(self, tmp_path):
        """A definition file that does not exist is a ConfigError naming it."""
        with pytest.raises(ConfigError, match=r"cannot read the index definition .*nope\.yaml: No such file"):
            load_definition(tmp_path / "nope.yaml")

    def test_missing_query_file_names_the_key(self, tmp_path):
        """An unreadable query_file is a ConfigError naming the key and the resolved path."""
        path = write_definition(tmp_path, BASIC, query=None)
        with pytest.raises(ConfigError) as caught:
            load_definition(path)
        [problem] = caught.value.problems
        assert problem.where == f"{path}: query_file"
        assert problem.message.startswith(f"cannot read {tmp_path / 'queries' / 'movie.graphql'}: No such file")

    def test_missing_schema_file_names_the_key(self, tmp_path):
        """An unreadable schema_file is a SchemaError naming graph.schema_file."""
        path = write_definition(tmp_path, BASIC.replace("studio.graphql", "gone.graphql"))
        with pytest.raises(SchemaError) as caught:
            load_definition(path)
        assert caught.value.problems[0].where == f"{path}: graph.schema_file"

    def test_unknown_schema_file_kind(self, tmp_path):
        """A schema file that is neither SDL nor JSON is rejected by its suffix."""
        path = write_definition(tmp_path, BASIC.replace("studio.graphql", "studio.txt"))
        with pytest.raises(SchemaError, match=r"studio\.txt is not SDL \(\.graphql"):
            load_definition(path)

    def test_invalid_json_schema_names_line_and_column(self, tmp_path):
        """A malformed introspection file is a SchemaError at file:line:col."""
        path = write_definition(tmp_path, BASIC.replace("studio.graphql", "studio.json"))
        (tmp_path / "schemas" / "studio.json").write_text('{"data":\n  {"__schema": }}')
        with pytest.raises(SchemaError, match=r"studio\.json:2:16: not valid JSON"):
            load_definition(path)


def introspection_handler(seen: list[httpx.Request]):
    """An httpx handler that answers introspection queries from the studio schema and records requests."""

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"data": INTROSPECTION})

    return handle


class TestIntrospection:
    def test_schema_from_the_gateway_with_headers(self):
        """Without schema_file, the schema is introspected from graph.url with the configured headers."""
        seen: list[httpx.Request] = []
        graph = GraphSettings(url="http://gateway.test/graphql", headers={"Authorization": "Bearer t"})
        loaded = load_schema(graph, Path("."), transport=httpx.MockTransport(introspection_handler(seen)))
        assert "Movie" in loaded.schema.type_map
        assert seen[0].headers["authorization"] == "Bearer t"
        assert "__schema" in json.loads(seen[0].content)["query"]

    @pytest.mark.parametrize(
        ("response", "expected"),
        [
            (httpx.Response(503, text="down"), "503"),
            (
                httpx.Response(200, json={"errors": [{"message": "introspection is disabled"}]}),
                "introspection is disabled",
            ),
            (httpx.Response(200, text="<html>"), "cannot introspect"),
        ],
    )
    def test_gateway_failures_name_the_url_and_cause(self, response, expected):
        """HTTP errors, GraphQL errors and non-GraphQL answers are SchemaErrors naming the URL."""
        graph = GraphSettings(url="http://gateway.test/graphql")
        transport = httpx.MockTransport(lambda _request: response)
        with pytest.raises(
            SchemaError, match=r"cannot introspect the schema at http://gateway\.test/graphql"
        ) as caught:
            load_schema(graph, Path("."), transport=transport)
        assert expected in str(caught.value)

    def test_unreachable_gateway(self):
        """A refused connection is a SchemaError naming the URL and the connection error."""
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        graph = GraphSettings(url=f"http://127.0.0.1:{port}/graphql", timeout=2)
        with pytest.raises(SchemaError, match=rf"at http://127\.0\.0\.1:{port}/graphql: ConnectError: .*refused"):
            load_schema(graph, Path("."))


class _IntrospectionServer(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        self.rfile.read(length)
        body = json.dumps({"data": INTROSPECTION}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Keep test output quiet."""


@pytest.fixture(scope="session")
def graphql_server() -> Iterator[str]:
    """URL of a local HTTP server that answers introspection with the studio schema."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _IntrospectionServer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/graphql"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.mark.integration
def test_definition_introspecting_a_real_server(tmp_path, graphql_server):
    """load_definition introspects graph.url over real HTTP when there is no schema_file."""
    yaml_text = BASIC.replace("  schema_file: ../schemas/studio.graphql", "  url: ${GATEWAY_URL}\n  timeout: 5s")
    path = write_definition(tmp_path, yaml_text)
    definition = load_definition(path, env={"GATEWAY_URL": graphql_server})
    assert definition.model.root.key_fields == ("id",)
    assert definition.loaded_schema.warnings == ()
