"""Test doubles for fetching: a fake gateway (graphql-core executing the batched operations, for
``httpx.MockTransport``), a fake clock, and hand-built movie models in list, alias and Int mode."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

import httpx
from graphql import GraphQLError, build_schema, graphql_sync

from schema_gen.config import IndexConfig, parse_config
from schema_gen.model import DocumentModel, FieldKind, FieldNode, ScalarKind

GATEWAY_URL = "http://gateway.test/graphql"
SDL = """
type Query {
  movie(id: ID!): Movie
  movies(ids: [ID!]!): [Movie]!
  movieByNumber(number: Int!): Movie
}
type Movie { movieId: ID! title: String rating: Float }
"""
LIST_QUERY = "query MovieDocuments($ids: [ID!]!) { movies(ids: $ids) { movieId title rating } }"
ALIAS_QUERY = "query MovieDocuments($id: ID!) { movie(id: $id) { movieId title rating } }"
INT_QUERY = "query MovieDocuments($number: Int!) { movieByNumber(number: $number) { movieId title rating } }"


class FakeClock:
    """Monotonic time that only moves when someone sleeps or the test advances it."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []
        self._lock = threading.Lock()

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.sleeps.append(seconds)
            self.now += seconds

    def advance(self, seconds: float) -> None:
        self.now += seconds


Handler = Callable[[httpx.Request], httpx.Response]


class FakeGateway:
    """Answers GraphQL over HTTP from an in-memory movie table, or with scripted responses first."""

    def __init__(self) -> None:
        self.schema = build_schema(SDL)
        self.movies: dict[str, dict[str, Any]] = {}
        self.broken: set[str] = set()
        """Movies whose ``title`` resolver raises (a field error with a path)."""
        self.poison: dict[str, str] = {}
        """Ids that fail every request asking for them, by how: ``subgraph_500`` (a subgraph answered HTTP
        500, as Apollo Gateway reports it: no path, ``extensions.response``), ``http_500`` (the gateway
        itself answers 500), ``graphql`` (no data and an error without a path), ``bad_input`` (the same
        with code BAD_USER_INPUT)."""
        self.script: list[Handler] = []
        self.requests: list[dict[str, Any]] = []
        self.headers: list[httpx.Headers] = []
        self._lock = threading.Lock()

    def add(self, movie_id: str, title: str | None = "A title", rating: float | None = 7.5) -> None:
        self.movies[movie_id] = {"movieId": movie_id, "title": title, "rating": rating}

    def _movie(self, movie_id: str) -> dict[str, Any] | None:
        movie = self.movies.get(movie_id)
        if movie is None:
            return None
        if movie_id in self.broken:

            def title(_info: Any) -> str:
                raise GraphQLError(f"talent service failed for {movie_id}")

            return {**movie, "title": title}
        return movie

    def root(self) -> dict[str, Any]:
        return {
            "movie": lambda _info, id: self._movie(id),
            "movies": lambda _info, ids: [self._movie(movie_id) for movie_id in ids],
            "movieByNumber": lambda _info, number: self._movie(str(number)),
        }

    def __call__(self, request: httpx.Request) -> httpx.Response:
        payload = json.loads(request.content)
        with self._lock:
            self.requests.append(payload)
            self.headers.append(request.headers)
            scripted = self.script.pop(0) if self.script else None
        if scripted is not None:
            return scripted(request)
        poisoned = next((self.poison[i] for i in requested_ids(payload) if i in self.poison), None)
        if poisoned is not None:
            return self._fail_whole_request(poisoned, requested_ids(payload))
        result = graphql_sync(
            self.schema,
            payload["query"],
            root_value=self.root(),
            variable_values=payload.get("variables"),
            operation_name=payload.get("operationName"),
        )
        return httpx.Response(200, json=result.formatted)

    def _fail_whole_request(self, how: str, ids: list[str]) -> httpx.Response:
        culprit = next(i for i in ids if i in self.poison)
        if how == "http_500":
            return httpx.Response(500, text=f"internal error while fetching {culprit}")
        if how == "subgraph_500":
            subgraph = {"url": "http://movies.test/graphql", "status": 500, "body": f"movies crashed on {culprit}"}
            error = {"message": "500: Internal Server Error", "extensions": {"response": subgraph}}
            return httpx.Response(200, json={"data": None, "errors": [error]})
        code = {"graphql": "INTERNAL_SERVER_ERROR", "bad_input": "BAD_USER_INPUT"}[how]
        error = {"message": f"cannot plan the query for {culprit}", "extensions": {"code": code}}
        return httpx.Response(200, json={"data": None, "errors": [error]})

    def respond(self, status: int, body: Any = None, headers: dict[str, str] | None = None, times: int = 1) -> None:
        """Queue ``times`` canned responses before normal answers resume."""

        def handler(_request: httpx.Request) -> httpx.Response:
            if isinstance(body, str | bytes):
                return httpx.Response(status, content=body, headers=headers)
            return httpx.Response(status, json=body, headers=headers)

        self.script += [handler] * times

    def fail(self, error: Exception, times: int = 1) -> None:
        """Queue ``times`` transport errors (timeouts, refused connections)."""

        def handler(_request: httpx.Request) -> httpx.Response:
            raise error

        self.script += [handler] * times


def requested_ids(payload: dict[str, Any]) -> list[str]:
    """The ids a batched request asks for: the values of its variables (a list, or one per alias)."""
    ids: list[str] = []
    for value in (payload.get("variables") or {}).values():
        ids += [str(item) for item in value] if isinstance(value, list) else [str(value)]
    return ids


def _scalar(key: str, type_name: str, scalar: ScalarKind, *, nullable: bool = True) -> FieldNode:
    return FieldNode(
        key=key, name=key, path=key, type_name=type_name, kind=FieldKind.SCALAR, nullable=nullable, scalar=scalar
    )


def make_config(query: str, id_variable: str, *, graph: dict[str, Any] | None = None, **fetch: Any) -> IndexConfig:
    """A ``movies`` definition on the fake gateway with ``fetch`` settings overridden."""
    data = {
        "index": "movies",
        "graph": graph or {"url": GATEWAY_URL, "headers": {"authorization": "Bearer s3cret"}},
        "query": query,
        "root": {"type": "Movie", "id_field": "movieId", "id_variable": id_variable},
        "fetch": {"attempts": 3, "batch_size": 2, "max_in_flight": 2, **fetch},
    }
    return parse_config(data, "movies.yaml", {})


def make_model(config: IndexConfig, *, title_nullable: bool = True) -> DocumentModel:
    """The movie model for ``config``'s query (list, alias or Int mode follows from the query)."""
    query = config.query or ""
    root_field = "movies" if "movies(" in query else "movieByNumber" if "movieByNumber" in query else "movie"
    root = FieldNode(
        key=root_field,
        name=root_field,
        path="",
        type_name="Movie",
        kind=FieldKind.OBJECT,
        nullable=root_field != "movies",
        children=(
            _scalar("movieId", "ID", ScalarKind.ID, nullable=False),
            _scalar("title", "String", ScalarKind.STRING, nullable=title_nullable),
            _scalar("rating", "Float", ScalarKind.FLOAT),
        ),
        possible_types=("Movie",),
        key_fields=("movieId",),
    )
    return DocumentModel(
        index=config.index,
        root=root,
        root_field=root_field,
        root_response_key=root_field,
        root_returns_list=root_field == "movies",
        id_field="movieId",
        id_variable=config.root.id_variable,
        id_variable_is_list=root_field == "movies",
        operation_name="MovieDocuments",
        query=query,
    )
