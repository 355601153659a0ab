"""Fault injection in the movies subgraph: ``/faults`` makes chosen movies fail, one list item each."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from demo.data import fixtures
from demo.subgraphs.faults import FAULT_CODE
from demo.subgraphs.movies import MOVIES_SUBGRAPH
from demo.subgraphs.service import build_app, seed_if_empty
from demo.subgraphs.store import CapturedStore
from demo.subgraphs.talent import TALENT_SUBGRAPH
from tests.demo.conftest import RecordingChangeLog

QUERY = "query($ids: [ID!]!) { movies(ids: $ids) { movieId title } }"
ONE = "query($id: ID!) { movie(id: $id) { movieId } }"
REFERENCE = '{ _entities(representations: [{__typename: "Movie", movieId: "%s"}]) { ... on Movie { title } } }'


def open_store(folder: Path, definition: Any = MOVIES_SUBGRAPH) -> CapturedStore:
    store = CapturedStore(
        folder / f"{definition.name}.db",
        db=definition.name,
        tables=definition.tables,
        ddl=definition.ddl,
        change_log=RecordingChangeLog(),
    )
    seed_if_empty(definition, store, seed=1, size=30)
    return store


@contextmanager
def faulty_movies_client(folder: Path) -> Iterator[TestClient]:
    """The movies subgraph's app with fault injection on, over a small seeded store in ``folder``."""
    injection = MOVIES_SUBGRAPH.fault_injection
    assert injection is not None
    store = open_store(folder)
    app = build_app(MOVIES_SUBGRAPH, store, RecordingChangeLog(), injection.faults())  # type: ignore[arg-type]
    with TestClient(app, base_url="http://127.0.0.1") as test_client:
        yield test_client
    store.close()


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    with faulty_movies_client(tmp_path) as test_client:
        yield test_client


def graphql(client: TestClient, query: str, **variables: Any) -> dict[str, Any]:
    reply = client.post("/graphql", json={"query": query, "variables": variables})
    assert reply.status_code == 200, reply.text
    body: dict[str, Any] = reply.json()
    return body


def test_nothing_fails_until_asked(client: TestClient):
    """With fault injection on but no fault set, every movie answers."""
    assert client.get("/faults").json() == {"movieIds": []}
    body = graphql(client, QUERY, ids=[fixtures.LEON, fixtures.AMELIE])
    assert "errors" not in body
    assert [movie["movieId"] for movie in body["data"]["movies"]] == [fixtures.LEON, fixtures.AMELIE]


def test_a_failing_movie_is_an_error_at_its_own_list_item(client: TestClient):
    """A movie set to fail is null at its position with an INJECTED_FAULT error there; the others answer."""
    assert client.post("/faults", json={"movieIds": [fixtures.AMELIE]}).json() == {"movieIds": [fixtures.AMELIE]}
    body = graphql(client, QUERY, ids=[fixtures.LEON, fixtures.AMELIE, fixtures.LEON])
    assert body["data"]["movies"][0]["movieId"] == fixtures.LEON
    assert body["data"]["movies"][1] is None
    assert body["data"]["movies"][2]["movieId"] == fixtures.LEON
    [error] = body["errors"]
    assert error["path"] == ["movies", 1]
    assert error["extensions"]["code"] == FAULT_CODE
    assert fixtures.AMELIE in error["message"]


def test_single_lookups_and_entity_references_fail_too(client: TestClient):
    """``movie(id:)`` and the gateway's ``_entities`` reference resolution fail for a failing movie."""
    client.post("/faults", json={"movieIds": [fixtures.AMELIE]})
    one = graphql(client, ONE, id=fixtures.AMELIE)
    assert one["data"]["movie"] is None
    assert one["errors"][0]["extensions"]["code"] == FAULT_CODE
    reference = graphql(client, REFERENCE % fixtures.AMELIE)
    assert reference["data"]["_entities"] == [None]
    assert reference["errors"][0]["path"] == ["_entities", 0]


def test_delete_clears_every_fault(client: TestClient):
    """``DELETE /faults`` makes every movie answer again."""
    client.post("/faults", json={"movieIds": [fixtures.AMELIE, fixtures.LEON]})
    assert client.delete("/faults").json() == {"movieIds": []}
    assert "errors" not in graphql(client, QUERY, ids=[fixtures.LEON, fixtures.AMELIE])


def test_a_malformed_fault_request_is_refused(client: TestClient):
    """A body without a list of id strings under movieIds is a 400 that says what is expected."""
    reply = client.post("/faults", json={"ids": ["x"]})
    assert reply.status_code == 400
    assert "movieIds" in reply.json()["error"]
    assert client.post("/faults", content=b"not json").status_code == 400


def test_fault_injection_is_off_by_default(tmp_path: Path):
    """Without faults, the app serves no /faults at all."""
    store = open_store(tmp_path)
    app = build_app(MOVIES_SUBGRAPH, store, RecordingChangeLog())  # type: ignore[arg-type]
    with TestClient(app, base_url="http://127.0.0.1") as test_client:
        assert test_client.get("/faults").status_code == 404
        assert test_client.post("/faults", json={"movieIds": [fixtures.LEON]}).status_code in (404, 405)
    store.close()


def test_only_subgraphs_that_support_it_take_faults(tmp_path: Path):
    """Asking a subgraph without fault injection for it is a programming error, said plainly."""
    injection = MOVIES_SUBGRAPH.fault_injection
    assert injection is not None
    assert TALENT_SUBGRAPH.fault_injection is None
    store = open_store(tmp_path, TALENT_SUBGRAPH)
    with pytest.raises(ValueError, match="talent subgraph has no fault injection"):
        build_app(TALENT_SUBGRAPH, store, RecordingChangeLog(), injection.faults())  # type: ignore[arg-type]
    store.close()
