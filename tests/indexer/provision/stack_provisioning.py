"""Helpers for provisioning tests on the local stack: definitions, provisioners and a search loop."""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from confluent_kafka.schema_registry import SchemaRegistryClient

from demo.stack import LocalStack
from indexer.definition import IndexDefinition
from indexer.provision.provisioner import Provisioner
from indexer.search_store import SearchStore
from tests.stack_definitions import REPO, load_on_stack, write_movies_definition

QUERY = (REPO / "configs" / "movies.graphql").read_text(encoding="utf-8")
SCHEMA = (REPO / "configs" / "movies.schema.graphql").read_text(encoding="utf-8")
QUERY_WITHOUT_RUNTIME = QUERY.replace("    runtime\n", "")
ENGLISH_SYNOPSIS = {"synopsis": {"search": ["fulltext"], "analyzer": "english"}}


@dataclass
class StackIndex:
    """One test's index on the local stack: its definition file, a shared mock registry, checkpoints."""

    folder: Path
    name: str
    stack: LocalStack
    store: SearchStore
    registry: SchemaRegistryClient = field(init=False)

    def __post_init__(self) -> None:
        self.registry = SchemaRegistryClient.new_client({"url": f"mock://{self.name}"})

    def definition(self, query: str = QUERY, fields: dict[str, Any] | None = None) -> IndexDefinition:
        """The demo definition under this test's name, with ``query`` and extra field options."""
        query_file = self.folder / f"query-{hashlib.sha256(query.encode()).hexdigest()[:8]}.graphql"
        query_file.write_text(query, encoding="utf-8")
        overrides: dict[str, Any] = {
            "query_file": str(query_file),
            "kafka": {"schema_registry_url": f"mock://{self.name}"},
        }
        if fields:
            overrides["fields"] = fields
        return load_on_stack(write_movies_definition(self.folder, self.name, overrides), self.stack)

    def provisioner(self, definition: IndexDefinition, **options: Any) -> Provisioner:
        options = {"checkpoints": self.folder / "checkpoints", "progress": False} | options
        return Provisioner(definition, store=self.store, registry=self.registry, **options)


class SearchLoop:
    """Searches the alias in a background thread until stopped; records every total and error."""

    def __init__(self, store: SearchStore, alias: str) -> None:
        self._store, self._alias = store, alias
        self.totals: list[int] = []
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="search-loop", daemon=True)

    def __enter__(self) -> SearchLoop:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                body = {"query": {"match_all": {}}, "size": 1, "track_total_hits": True}
                found = self._store.search(self._alias, body)
                self.totals.append(int(found["hits"]["total"]["value"]))
            except Exception as error:  # every failure is what the test looks for
                self.errors.append(f"{type(error).__name__}: {error}")
            self._stop.wait(0.005)
