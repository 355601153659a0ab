"""The graph as the source of truth: a stream of title changes through the gateway, and a comparison of
every indexed document with a fresh fetch of it."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from indexer.definition import IndexDefinition
from indexer.fetch.fetcher import DocumentFetcher
from indexer.fetch.outcomes import Deleted, Fetched
from indexer.search_store import SearchStore
from schema_gen.avro import METADATA_FIELD

UPDATE_TITLE = "mutation($id: ID!, $title: String!) { updateMovie(movieId: $id, input: {title: $title}) { movieId } }"


class TitleStream:
    """Renames ``movie_ids`` through the gateway, ``rounds`` times each, from a background thread; every
    mutation must succeed (``errors`` lists those that did not)."""

    def __init__(self, gateway_url: str, movie_ids: Sequence[str], rounds: int, label: str, workers: int = 4) -> None:
        self._url = gateway_url
        self._plan = [(movie, f"{label} {round_} {movie}") for round_ in range(rounds) for movie in movie_ids]
        self._workers = workers
        self.done = 0
        self.errors: list[str] = []
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="title-stream", daemon=True)

    @property
    def total(self) -> int:
        return len(self._plan)

    def start(self) -> TitleStream:
        self._thread.start()
        return self

    def join(self, timeout: float) -> None:
        self._thread.join(timeout)
        assert not self._thread.is_alive(), f"the title stream did not finish within {timeout}s"
        assert not self.errors, self.errors[:5]

    def _run(self) -> None:
        with httpx.Client(timeout=30) as client, ThreadPoolExecutor(self._workers) as pool:
            list(pool.map(lambda change: self._rename(client, *change), self._plan))

    def _rename(self, client: httpx.Client, movie: str, title: str) -> None:
        try:
            reply = client.post(self._url, json={"query": UPDATE_TITLE, "variables": {"id": movie, "title": title}})
            body = reply.json()
            error = str(body["errors"]) if body.get("errors") else None
        except (httpx.HTTPError, ValueError) as exc:
            error = f"{type(exc).__name__}: {exc}"
        with self._lock:
            if error is None:
                self.done += 1
            else:
                self.errors.append(f"{movie}: {error}")


def existing(gateway_url: str, movie_ids: Sequence[str]) -> list[str]:
    """The movies of ``movie_ids`` the graph still has (other tests on the same stack delete some)."""
    query = "query($ids: [ID!]!) { movies(ids: $ids) { movieId } }"
    body = httpx.post(gateway_url, json={"query": query, "variables": {"ids": list(movie_ids)}}, timeout=30).json()
    assert not body.get("errors"), body["errors"]
    return [movie["movieId"] for movie in body["data"]["movies"] if movie]


def without_metadata(document: dict[str, Any]) -> dict[str, Any]:
    """A document without graphdex's own metadata (``graphdex.fetched_at`` differs between fetches)."""
    return {key: value for key, value in document.items() if key != METADATA_FIELD}


def indexed_documents(store: SearchStore, index: str, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """The stored ``_source`` of each of ``ids`` that is in the index."""
    found: dict[str, dict[str, Any]] = {}
    for start in range(0, len(ids), 500):
        stored = store.mget(index, list(ids[start : start + 500]))
        found.update({document_id: document.source for document_id, document in stored.items()})
    return found


def differences(definition: IndexDefinition, store: SearchStore, ids: Sequence[str]) -> list[str]:
    """Every way the index differs from a fresh fetch of ``ids`` (rendered by the daemon's own renderer):
    missing, extra, stale or different documents; empty when the index is the source of truth."""
    with DocumentFetcher.for_index(definition.model, definition.config) as fetcher:
        outcomes = fetcher.fetch(ids)
    indexed = indexed_documents(store, definition.config.index, ids)
    found: list[str] = []
    for outcome in outcomes:
        stored = indexed.get(outcome.id)
        if isinstance(outcome, Fetched):
            if stored is None:
                found.append(f"{outcome.id}: missing from the index")
            elif without_metadata(stored) != without_metadata(outcome.document):
                changed = sorted(
                    key
                    for key in set(stored) | set(outcome.document)
                    if key != METADATA_FIELD and stored.get(key) != outcome.document.get(key)
                )
                found.append(f"{outcome.id}: differs in {', '.join(changed)}")
        elif isinstance(outcome, Deleted):
            if stored is not None:
                found.append(f"{outcome.id}: deleted at the source but still indexed")
        else:
            found.append(f"{outcome.id}: the fresh fetch failed ({outcome.reason}: {outcome.detail})")
    total = store.count(definition.config.index)
    expected = sum(isinstance(outcome, Fetched) for outcome in outcomes)
    if total != expected:
        found.append(f"the index holds {total} documents, the source {expected}")
    return found
