"""What the backfill benchmarks share: the local stack, the demo definition pointed at it, an empty
target index made from the generated template, and a gateway transport that times every request.

Imported by ``bench/backfill_rate.py``, ``bench/backfill_adaptive.py`` and ``bench/backfill_full.py``
(run them as scripts: ``python bench/backfill_rate.py``).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import yaml

from demo.ports import free_ports
from demo.services import DEFAULT_SEED
from demo.stack import LocalStack, StackOptions
from indexer.definition import IndexDefinition, load_definition
from indexer.search_store import SearchStore, open_search_store
from schema_gen.artifacts import generate_artifacts

REPO = Path(__file__).resolve().parent.parent


@contextmanager
def demo_stack(folder: Path, size: int) -> Iterator[LocalStack]:
    """The whole local stack with ``size`` movies, stopped afterwards."""
    stack = LocalStack(
        StackOptions(
            state_dir=folder / "stack", ports=free_ports(), size=size, seed=DEFAULT_SEED, startup_timeout=1800.0
        )
    )
    try:
        began = time.perf_counter()
        stack.start()
        print(f"# demo stack with {size:,} movies ready in {time.perf_counter() - began:.1f}s", flush=True)
        yield stack
    finally:
        stack.stop()


def movies_definition(folder: Path, env: dict[str, str], overrides: dict[str, Any]) -> IndexDefinition:
    """``configs/movies.yaml`` with absolute paths and ``overrides`` merged section by section."""
    data = yaml.safe_load((REPO / "configs" / "movies.yaml").read_text(encoding="utf-8"))
    data["graph"]["schema_file"] = str(REPO / "configs" / data["graph"]["schema_file"])
    data["query_file"] = str(REPO / "configs" / data["query_file"])
    for section, values in overrides.items():
        data[section] = {**data.get(section, {}), **values}
    path = folder / "movies.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return load_definition(path, env=env)


def empty_target(definition: IndexDefinition, name: str) -> tuple[SearchStore, str]:
    """The definition's search store and a new empty index ``name`` from its generated template."""
    store = open_search_store(definition.config.elasticsearch)
    template = generate_artifacts(definition.model, definition.config).template["template"]
    drop_index(store, name)
    store.create_index(name, settings=template["settings"], mappings=template["mappings"])
    return store, name


def drop_index(store: SearchStore, name: str) -> None:
    """Delete index ``name`` if it exists."""
    if store.get_indices(name):
        store.delete_index(name)


class TimedTransport(httpx.BaseTransport):
    """The HTTP transport to the gateway, recording (start, seconds) of every request."""

    def __init__(self, max_connections: int = 64) -> None:
        self._inner = httpx.HTTPTransport(limits=httpx.Limits(max_connections=max_connections))
        self._lock = threading.Lock()
        self.requests: list[tuple[float, float]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        started = time.monotonic()
        response = self._inner.handle_request(request)
        response.read()
        with self._lock:
            self.requests.append((started, time.monotonic() - started))
        return response

    def close(self) -> None:
        self._inner.close()

    def between(self, start: float, end: float) -> list[float]:
        """Latencies of the requests that started in [start, end)."""
        with self._lock:
            return [seconds for at, seconds in self.requests if start <= at < end]


def p95(values: list[float]) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(0.95 * len(ordered)) - 1)]
