"""Fixtures of the backfill tests: the demo definition copied with overrides, target indexes made from
its generated template, and a gateway transport that counts (and can break) requests."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from demo.stack import LocalStack
from indexer.definition import IndexDefinition, load_definition
from indexer.search_store import SearchStore
from schema_gen.artifacts import generate_artifacts

REPO = Path(__file__).resolve().parents[3]
MOVIES_YAML = REPO / "configs" / "movies.yaml"


def write_definition(folder: Path, overrides: Mapping[str, Any] | None = None, name: str = "movies") -> Path:
    """``configs/movies.yaml`` copied into ``folder`` with absolute file paths and ``overrides`` merged
    section by section (``backfill.enumeration`` key by key)."""
    data = yaml.safe_load(MOVIES_YAML.read_text(encoding="utf-8"))
    data["index"] = name
    data["graph"]["schema_file"] = str(REPO / "configs" / data["graph"]["schema_file"])
    data["query_file"] = str(REPO / "configs" / data["query_file"])
    for section, values in (overrides or {}).items():
        current = data.get(section)
        if isinstance(current, dict) and isinstance(values, dict):
            merged = current | values
            if section == "backfill" and isinstance(values.get("enumeration"), dict):
                merged["enumeration"] = current["enumeration"] | values["enumeration"]
            data[section] = merged
        else:
            data[section] = values
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


@pytest.fixture
def definition_at(tmp_path) -> Callable[..., IndexDefinition]:
    """Loads the demo definition with overrides (offline: no gateway needed)."""

    def load(overrides: Mapping[str, Any] | None = None, env: Mapping[str, str] | None = None) -> IndexDefinition:
        return load_definition(write_definition(tmp_path, overrides), env=dict(env or {}))

    return load


@pytest.fixture
def stack_definition(local_stack: LocalStack, tmp_path) -> Callable[..., IndexDefinition]:
    """Loads the demo definition with overrides, pointed at the local stack."""

    def load(overrides: Mapping[str, Any] | None = None) -> IndexDefinition:
        overrides = {"sink": {"max_wait": "50ms"}, **(overrides or {})}
        return load_definition(write_definition(tmp_path, overrides), env=local_stack.endpoints.environment())

    return load


@pytest.fixture
def target_index(search_store: SearchStore, unique_name: str) -> Callable[[IndexDefinition], str]:
    """Creates empty indexes from a definition's generated template (settings and mappings); removes
    them after the test."""
    made: list[str] = []

    def create(definition: IndexDefinition, suffix: str = "") -> str:
        template = generate_artifacts(definition.model, definition.config).template["template"]
        name = f"{unique_name}{suffix}"
        search_store.create_index(name, settings=template["settings"], mappings=template["mappings"])
        made.append(name)
        return name

    yield create
    for name in made:
        if search_store.get_indices(name):
            search_store.delete_index(name)


class InjectedCrash(Exception):
    """Raised by ``RecordingTransport`` to stand for the backfill process dying mid-batch."""


class RecordingTransport(httpx.BaseTransport):
    """The real HTTP transport, recording each request's ids (or ``page`` for enumeration requests);
    ``on_batch(number, ids)`` runs after the gateway answered batch ``number`` (1-based) and before
    the backfill sees the answer: it may raise (a crash), set a stop event or write live updates."""

    def __init__(self, on_batch: Callable[[int, list[str]], None] | None = None) -> None:
        self._inner = httpx.HTTPTransport()
        self._on_batch = on_batch
        self._lock = threading.Lock()
        self.pages = 0
        self.batches: list[list[str]] = []

    @property
    def ids(self) -> list[str]:
        """Every id sent to the gateway, in order, repeats included."""
        return [item for batch in self.batches for item in batch]

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        payload = json.loads(request.content)
        ids = payload.get("variables", {}).get("ids")
        response = self._inner.handle_request(request)
        if ids is None:
            with self._lock:
                self.pages += 1
            return response
        with self._lock:
            self.batches.append(list(ids))
            number = len(self.batches)
        if self._on_batch is not None:
            response.read()
            self._on_batch(number, list(ids))
        return response

    def close(self) -> None:
        self._inner.close()


def gateway_ids(gateway_url: str) -> list[str]:
    """Every movie id the demo gateway lists now (the source of truth's current ids)."""
    query = "query($after: String) { movieIds(first: 10000, after: $after) { ids } }"
    body = httpx.post(gateway_url, json={"query": query, "variables": {"after": None}}, timeout=30).json()
    return list(body["data"]["movieIds"]["ids"])


def stored_ids(store: SearchStore, index: str) -> list[str]:
    """Every document id in ``index`` (refreshed first)."""
    store.refresh(index)
    hits = store.search(index, {"size": 10_000, "_source": False, "sort": ["_doc"]})["hits"]["hits"]
    return [hit["_id"] for hit in hits]


def iter_documents(store: SearchStore, index: str, ids: list[str]) -> Iterator[tuple[str, dict[str, Any] | None, int]]:
    """``(id, source or None, version)`` of each id in ``index``."""
    for start in range(0, len(ids), 500):
        batch = ids[start : start + 500]
        found = store.mget(index, batch)
        for document_id in batch:
            document = found.get(document_id)
            yield document_id, None if document is None else document.source, (document.version or 0) if document else 0
