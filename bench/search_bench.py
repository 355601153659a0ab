"""Search latency on a generated Movie index: full text, a filter with any(), facets, deep pagination.

    python bench/search_bench.py                  # 100,000 movies on the local stack's OpenSearch node
    python bench/search_bench.py --size 10000 --queries 100
    python bench/search_bench.py --es-url http://127.0.0.1:9200   # an existing server (index is deleted after)

Without ``--es-url`` it starts only the search service of the local stack (``LocalStack``: the same
OpenSearch node as ``graphdex dev up``, 1 GB heap) in a temporary state folder, and stops it afterwards.
The index is made from the generated template of ``tests/indexer/search/data/movies.yaml`` and loaded in
bulks of 2,000 through the search store (``indexer.search_store``) with refreshes off, then refreshed
once. Prints the indexing rate and, per query kind, p50/p99/mean latency in milliseconds measured around
``SearchClient.search`` (request building, HTTP round trip and response reading), 5 warm-up queries first.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from tqdm import tqdm

from demo.ports import SEARCH, free_ports
from demo.stack import LocalStack, StackOptions
from indexer.definition import load_definition
from indexer.search import FacetRequest, SearchClient, SearchLimits
from indexer.search.client import definition_catalogue
from indexer.search_store import BulkAction, SearchStore, open_search_store
from schema_gen.config import ElasticsearchSettings
from schema_gen.index_template import index_template

DEFINITION = Path(__file__).resolve().parent.parent / "tests" / "indexer" / "search" / "data" / "movies.yaml"
WORDS = [
    "night",
    "river",
    "storm",
    "garden",
    "empire",
    "echo",
    "silent",
    "golden",
    "last",
    "winter",
    "city",
    "dream",
    "shadow",
    "fire",
    "glass",
    "iron",
    "ocean",
    "star",
    "road",
    "house",
    "king",
    "queen",
    "secret",
    "lost",
    "wild",
    "blue",
    "red",
    "black",
    "white",
    "north",
    "south",
    "summer",
    "forest",
    "mountain",
]
FIRST = [
    "Ana",
    "Bo",
    "Carla",
    "Dev",
    "Émile",
    "Farah",
    "Gus",
    "Hana",
    "Ivan",
    "Jun",
    "Kofi",
    "Lena",
    "Mateo",
    "Nia",
    "Omar",
    "Priya",
    "Quinn",
    "Rosa",
    "Sven",
    "Tomás",
]
LAST = [
    "Silva",
    "Chen",
    "Núñez",
    "Patel",
    "Roy",
    "Khan",
    "Berg",
    "Mori",
    "Petrov",
    "Park",
    "Mensah",
    "Vogel",
    "Rossi",
    "Okafor",
    "Haddad",
    "Rao",
    "Byrne",
    "Diaz",
]
GENRES = ["ACTION", "COMEDY", "DRAMA", "ROMANCE", "SCIFI", "DOCUMENTARY"]
STATUSES = ["DEVELOPMENT", "PREPRODUCTION", "PHOTOGRAPHY", "POSTPRODUCTION", "RELEASED"]
ROLES = ["ACTOR", "DIRECTOR", "WRITER", "PRODUCER"]
NAMES = [f"{first} {last}" for first in FIRST for last in LAST]


def movies(count: int, rng: random.Random) -> Iterator[dict[str, Any]]:
    """``count`` movies with a realistic spread of titles, years, genres and credits."""
    for number in range(count):
        year = rng.randint(1950, 2025)
        credits = []
        for _ in range(rng.randint(1, 8)):
            name = rng.choice(NAMES)
            credits.append(
                {
                    "role": rng.choice(ROLES),
                    "character": rng.choice([None, rng.choice(WORDS).title()]),
                    "talent": {"talentId": "t-" + name.replace(" ", "-").lower(), "name": name},
                }
            )
        yield {
            "movieId": f"m-{number:07d}",
            "title": " ".join(rng.sample(WORDS, rng.randint(1, 4))).title(),
            "description": " ".join(rng.choices(WORDS, k=12)),
            "releaseYear": year,
            "rating": round(rng.uniform(1, 10), 1),
            "inTheaters": rng.random() < 0.1,
            "releaseDate": f"{year}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
            "genres": rng.sample(GENRES, rng.randint(0, 3)),
            "production": {
                "ptpId": f"p-{number}",
                "status": rng.choice(STATUSES),
                "locations": [{"city": rng.choice(WORDS).title(), "country": rng.choice(["FR", "US", "GB", "CA"])}],
            },
            "credits": credits,
        }


def chunks(items: Iterable[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    """``items`` in lists of ``size`` (the last one shorter)."""
    chunk: list[dict[str, Any]] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def load(store: SearchStore, size: int, seed: int) -> tuple[str, SearchClient]:
    """Create an index from the generated template, load ``size`` movies; the index and a client."""
    definition = load_definition(DEFINITION, env={})
    template = index_template(definition.model, definition.config)["template"]
    index = f"bench-movies-{uuid.uuid4().hex[:8]}"
    settings = {**template["settings"], "refresh_interval": "-1"}
    store.create_index(index, settings=settings, mappings=template["mappings"])
    started = time.perf_counter()
    failed = []
    with tqdm(total=size, desc="indexing", unit="doc") as bar:
        for chunk in chunks(movies(size, random.Random(seed)), 2000):
            actions = [BulkAction("index", index, movie["movieId"], movie) for movie in chunk]
            failed += [item for item in store.bulk(actions) if not item.succeeded]
            bar.update(len(chunk))
    store.refresh(index)
    elapsed = time.perf_counter() - started
    if failed:
        raise SystemExit(f"{len(failed)} documents failed to index, e.g. {failed[0]}")
    print(f"indexed {size} movies in {elapsed:.1f}s ({size / elapsed:,.0f} docs/s)")
    limits = SearchLimits(timeout=60.0)
    return index, SearchClient(definition_catalogue(definition), store, index=index, limits=limits)


def measure(run: Callable[[random.Random], Any], queries: int, seed: int) -> list[float]:
    """Run ``run`` ``queries`` times (after 5 warm-up runs); latencies in milliseconds."""
    rng = random.Random(seed)
    for _ in range(5):
        run(rng)
    latencies = []
    for _ in range(queries):
        started = time.perf_counter()
        run(rng)
        latencies.append((time.perf_counter() - started) * 1000)
    return latencies


def report(name: str, latencies: list[float]) -> None:
    ordered = sorted(latencies)
    p50 = ordered[len(ordered) // 2]
    p99 = ordered[min(len(ordered) - 1, round(len(ordered) * 0.99))]
    print(f"{name:<26} {len(ordered):>6} {p50:>9.1f} {p99:>9.1f} {statistics.fmean(ordered):>9.1f}")


def measure_deep_page(client: SearchClient, pages: int, repetitions: int, seed: int) -> list[float]:
    """Walk the cursor to page ``pages`` (100 hits per page) and time that last page only."""
    rng = random.Random(seed)
    latencies = []
    for _ in range(repetitions):
        search = {"filter": f"releaseYear >= {rng.randint(1950, 2000)}", "sort": ["-rating"], "first": 100}
        after = None
        for _ in range(pages - 1):
            after = client.search(**search, after=after).next_cursor
        started = time.perf_counter()
        client.search(**search, after=after)
        latencies.append((time.perf_counter() - started) * 1000)
    return latencies


def run_queries(store: SearchStore, args: argparse.Namespace) -> None:
    """Load the index, time every query kind, delete the index."""
    index = None
    try:
        index, client = load(store, args.size, args.seed)
        kinds: list[tuple[str, Callable[[random.Random], Any]]] = [
            ("full text", lambda rng: client.search(" ".join(rng.sample(WORDS, 2)), first=20)),
            ("full text, last prefix", lambda rng: client.search(rng.choice(WORDS)[:3], first=20)),
            (
                "filter with any()",
                lambda rng: client.search(
                    filter=f'credits.any(talent.name == "{rng.choice(NAMES)}" and role == "{rng.choice(ROLES)}")'
                    f" and releaseYear >= {rng.randint(1950, 2020)}",
                    first=20,
                ),
            ),
            (
                "text + 4 facets",
                lambda rng: client.search(
                    rng.choice(WORDS),
                    facets=["genres", "production.status", "credits.role", FacetRequest("credits.talent.name", 20)],
                    first=20,
                ),
            ),
            ("suggest", lambda rng: client.suggest(rng.choice(NAMES)[:4])),
        ]
        print(f"{'query':<26} {'count':>6} {'p50 ms':>9} {'p99 ms':>9} {'mean ms':>9}")
        for name, run in kinds:
            report(name, measure(run, args.queries, args.seed))
        deep = measure_deep_page(client, args.pages, max(5, args.queries // 10), args.seed)
        report(f"page {args.pages} by cursor", deep)
    finally:
        if index:
            store.delete_index(index)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=100_000, help="movies in the index (default 100000)")
    parser.add_argument("--queries", type=int, default=200, help="timed queries per kind (default 200)")
    parser.add_argument("--pages", type=int, default=20, help="depth of the deep-pagination walk (default 20)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--es-url", help="use this server instead of starting the local stack's OpenSearch node")
    args = parser.parse_args()

    with ExitStack() as resources:
        if args.es_url:
            url = args.es_url
        else:
            folder = Path(resources.enter_context(tempfile.TemporaryDirectory(prefix="graphdex-search-bench-")))
            stack = LocalStack(StackOptions(state_dir=folder / "stack", ports=free_ports()))
            resources.callback(stack.stop)
            began = time.perf_counter()
            stack.start([SEARCH])
            url = stack.endpoints.search_url
            print(f"OpenSearch node of the local stack ready in {time.perf_counter() - began:.1f}s at {url}")
        store = open_search_store(ElasticsearchSettings(url=url, timeout=120))
        resources.callback(store.close)
        info = store.info()
        print(f"search server: {info.engine} {info.version}")
        run_queries(store, args)


if __name__ == "__main__":
    main()
