"""Fault injection in request mode: a failing movie makes the movies subgraph answer HTTP 500 to every
request that asks for it, wherever it is resolved; the default per-entity mode is unchanged."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from demo.data import fixtures
from demo.subgraphs.faults import FAULT_CODE
from tests.demo.test_faults import ONE, QUERY, REFERENCE, faulty_movies_client


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    with faulty_movies_client(tmp_path) as test_client:
        yield test_client


def post(client: TestClient, query: str, **variables: Any) -> Any:
    return client.post("/graphql", json={"query": query, "variables": variables})


def test_a_request_mode_movie_fails_every_request_asking_for_it_with_http_500(client: TestClient):
    """Asked together with others, the movie makes the whole answer an HTTP 500 naming it; requests
    without it are answered as usual."""
    shown = client.post("/faults", json={"movieIds": [fixtures.AMELIE], "mode": "request"}).json()
    assert shown == {"movieIds": [fixtures.AMELIE], "requestMode": [fixtures.AMELIE]}
    failed = post(client, QUERY, ids=[fixtures.LEON, fixtures.AMELIE])
    assert failed.status_code == 500
    assert fixtures.AMELIE in failed.text
    assert "whole request" in failed.text
    answered = post(client, QUERY, ids=[fixtures.LEON])
    assert answered.status_code == 200
    body = answered.json()
    assert "errors" not in body
    assert [movie["movieId"] for movie in body["data"]["movies"]] == [fixtures.LEON]


def test_single_lookups_and_entity_references_fail_as_a_whole_too(client: TestClient):
    """``movie(id:)`` and the gateway's ``_entities`` reference resolution answer HTTP 500 as well."""
    client.post("/faults", json={"movieIds": [fixtures.AMELIE], "mode": "request"})
    assert post(client, ONE, id=fixtures.AMELIE).status_code == 500
    assert post(client, REFERENCE % fixtures.AMELIE).status_code == 500
    assert post(client, ONE, id=fixtures.LEON).status_code == 200


def test_both_modes_at_once_and_the_default_stays_per_entity(client: TestClient):
    """Without a mode a movie fails at its own path; a later POST can switch a movie's mode; DELETE
    clears both modes."""
    client.post("/faults", json={"movieIds": [fixtures.LEON]})
    shown = client.post("/faults", json={"movieIds": [fixtures.AMELIE], "mode": "request"}).json()
    assert shown == {"movieIds": sorted([fixtures.LEON, fixtures.AMELIE]), "requestMode": [fixtures.AMELIE]}
    per_entity = post(client, QUERY, ids=[fixtures.LEON])
    assert per_entity.status_code == 200
    assert per_entity.json()["errors"][0]["extensions"]["code"] == FAULT_CODE
    client.post("/faults", json={"movieIds": [fixtures.AMELIE], "mode": "entity"})
    assert client.get("/faults").json() == {"movieIds": sorted([fixtures.LEON, fixtures.AMELIE])}
    assert post(client, QUERY, ids=[fixtures.AMELIE]).status_code == 200
    assert client.delete("/faults").json() == {"movieIds": []}
    assert "errors" not in post(client, QUERY, ids=[fixtures.LEON, fixtures.AMELIE]).json()


def test_an_unknown_mode_is_refused(client: TestClient):
    """A mode other than entity or request is a 400 that names both, and changes nothing."""
    reply = client.post("/faults", json={"movieIds": [fixtures.LEON], "mode": "sometimes"})
    assert reply.status_code == 400
    assert "sometimes" in reply.json()["error"]
    assert '"entity" | "request"' in reply.json()["error"]
    assert client.get("/faults").json() == {"movieIds": []}
