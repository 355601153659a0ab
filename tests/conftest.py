"""Shared fixtures. Servers are started once per test run, on 127.0.0.1, by the tests themselves.

All servers come from one ``LocalStack`` (the same code as ``graphdex dev up``), on free ports with its
state under a temporary folder. Nothing starts until a test asks for a server fixture:

* ``kafka_bootstrap``: only the Kafka broker;
* ``search_server`` / ``search_store``: only the search server;
* ``schema_registry_url``: only the schema registry (Apicurio Registry's Confluent-compatible API). No
  other fixture starts it or sets ``kafka.schema_registry_url``: tests opt in to the registry path;
* ``local_stack``: the whole stack (Kafka, search server, the three demo subgraphs with the default
  small data set, the gateway), reusing whatever the lighter fixtures already started.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from demo.ports import KAFKA, REGISTRY, SEARCH
from demo.stack import LocalStack
from indexer.search_store import SearchStore, open_search_store
from schema_gen.config import ElasticsearchSettings
from tests.private_stacks import new_stack

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"


@pytest.fixture(scope="session")
def stack_supervisor(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    """The run's one local stack supervisor; it starts servers only when a fixture asks for them."""
    stack = new_stack(tmp_path_factory.mktemp("stack"))
    try:
        yield stack
    finally:
        stack.stop()


@pytest.fixture(scope="session")
def kafka_bootstrap(stack_supervisor: LocalStack) -> str:
    """``host:port`` of an Apache Kafka broker (KRaft, one node) for the whole run."""
    return stack_supervisor.start([KAFKA]).endpoints.kafka_bootstrap


@pytest.fixture(scope="session")
def search_server(stack_supervisor: LocalStack) -> str:
    """URL of a real OpenSearch node (2.19) for the whole run."""
    return stack_supervisor.start([SEARCH]).endpoints.search_url


@pytest.fixture(scope="session")
def schema_registry_url(stack_supervisor: LocalStack) -> str:
    """URL of a real schema registry for the whole run, for ``kafka.schema_registry_url``: Apicurio
    Registry 2.4's Confluent-compatible API, with a BACKWARD global compatibility rule (Confluent's
    default). Subjects are shared by the run: give each test its own."""
    url = stack_supervisor.start([REGISTRY]).endpoints.schema_registry_url
    assert url is not None, "every stack started by this code has a registry port"
    return url


@pytest.fixture(scope="session")
def search_store(search_server: str) -> SearchStore:
    """The ``SearchStore`` graphdex opens for ``search_server`` (``engine: auto``)."""
    return open_search_store(ElasticsearchSettings(url=search_server))


@pytest.fixture(scope="session")
def local_stack(stack_supervisor: LocalStack) -> LocalStack:
    """The whole local stack, ready: ``local_stack.endpoints`` has the gateway, Kafka and search URLs."""
    return stack_supervisor.start()


@pytest.fixture
def unique_name(request: pytest.FixtureRequest) -> str:
    """A lowercase name no other test uses, for indexes, aliases and topics."""
    stem = "".join(ch if ch.isalnum() else "-" for ch in request.node.name.lower())[:40].strip("-")
    return f"t-{stem}-{uuid.uuid4().hex[:8]}"
