"""Shared fixtures. Servers are started once per test run, on 127.0.0.1, by the tests themselves."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch
from osmem_server import OsmemServer

from indexer.es_client import build_client
from schema_gen.config import ElasticsearchSettings

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"


@pytest.fixture(scope="session")
def search_server() -> Iterator[str]:
    """URL of an in-memory OpenSearch-compatible server (osmem-server) for the whole run."""
    server = OsmemServer.start(japanese=False, addr="127.0.0.1:0")
    try:
        yield server.url
    finally:
        server.process.kill()
        server.process.wait(10)


@pytest.fixture(scope="session")
def es_client(search_server: str) -> Elasticsearch:
    """An Elasticsearch client for ``search_server`` built by graphdex's own client factory."""
    return build_client(ElasticsearchSettings(url=search_server, plain_json=True))


@pytest.fixture
def unique_name(request: pytest.FixtureRequest) -> str:
    """A lowercase name no other test uses, for indexes, aliases and topics."""
    stem = "".join(ch if ch.isalnum() else "-" for ch in request.node.name.lower())[:40].strip("-")
    return f"t-{stem}-{uuid.uuid4().hex[:8]}"
