"""Fetch capacity of the demo gateway: documents per second by batching mode, batch size and concurrency.

    python bench/gateway_capacity.py                          # 2,000 movies, the default grid
    python bench/gateway_capacity.py --size 10000 --documents 5000 --batch 25 --batch 100 --in-flight 1 --in-flight 8

Starts the local stack (the same ``LocalStack`` as the tests, with ``--size`` movies), then for each
mode (list: ``movies(ids:)``; alias: ``e0: movie(id: $id0) ...``), batch size and ``max_in_flight``
fetches ``--documents`` movies (the demo query: production, credits and talent, so every request
crosses all three subgraphs) through ``DocumentFetcher`` and prints documents/s and the latency of one
gateway request (p50/p99 from the fetcher's own histogram buckets, so an upper bound).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from prometheus_client import CollectorRegistry

from demo.ports import free_ports
from demo.seed import generate
from demo.services import DEFAULT_SEED
from demo.stack import LocalStack, StackOptions
from indexer.definition import load_definition
from indexer.fetch import DocumentFetcher, Fetched, FetchMetrics

SELECTION = """{
    movieId title originalTitle releaseYear genres synopsis runtime rating releaseDate updatedAt
    production { ptpId name status shootingLocations { city country } vendors { name service } budget }
    credits { role character talent { talentId name alternateNames agency } }
  }"""
QUERIES = {
    "list": ("ids", f"query MovieDocuments($ids: [ID!]!) {{ movies(ids: $ids) {SELECTION} }}"),
    "alias": ("id", f"query MovieDocuments($id: ID!) {{ movie(id: $id) {SELECTION} }}"),
}


def latency_buckets(registry: CollectorRegistry) -> list[tuple[float, float]]:
    """Cumulative (upper bound, count) of the gateway request latency histogram."""
    buckets = [
        (float(sample.labels["le"]), sample.value)
        for metric in registry.collect()
        for sample in metric.samples
        if sample.name == "graphdex_fetch_latency_seconds_bucket"
    ]
    return sorted(buckets)


def quantile(before: list[tuple[float, float]], after: list[tuple[float, float]], fraction: float) -> float:
    """Upper bound of the latency bucket holding ``fraction`` of the requests made between two readings."""
    counts = dict(before)
    buckets = [(bound, count - counts.get(bound, 0.0)) for bound, count in after]
    total = buckets[-1][1] if buckets else 0.0
    for bound, count in buckets:
        if count >= fraction * total:
            return bound
    return float("inf")


def run(mode: str, gateway_url: str, ids: list[str], batch: int, in_flight: int, folder: Path) -> None:
    variable, query = QUERIES[mode]
    (folder / "movies.graphql").write_text(query, encoding="utf-8")
    (folder / "movies.yaml").write_text(
        f"index: movies\ngraph: {{url: '{gateway_url}'}}\nquery_file: movies.graphql\n"
        f"root: {{type: Movie, id_field: movieId, id_variable: {variable}}}\n"
        f"fetch: {{batch_size: {batch}, max_in_flight: {in_flight}, timeout: 60s}}\n",
        encoding="utf-8",
    )
    definition = load_definition(folder / "movies.yaml", env={})
    registry = CollectorRegistry()
    with DocumentFetcher.for_index(definition.model, definition.config, metrics=FetchMetrics(registry)) as fetcher:
        fetcher.fetch(ids[: batch * in_flight])  # warm-up: connections, the gateway's query plans
        before = latency_buckets(registry)
        started = time.perf_counter()
        outcomes = fetcher.fetch(ids)
        seconds = time.perf_counter() - started
        after = latency_buckets(registry)
    fetched = sum(isinstance(outcome, Fetched) for outcome in outcomes)
    print(
        f"{mode:<6} {batch:>6} {in_flight:>9} {fetched:>8} {seconds:>8.2f} {fetched / seconds:>9.0f}"
        f" {quantile(before, after, 0.5) * 1000:>8.0f} {quantile(before, after, 0.99) * 1000:>8.0f}",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=2000, help="movies in the demo data set")
    parser.add_argument("--documents", type=int, default=1000, help="movies fetched per run")
    parser.add_argument("--mode", action="append", choices=sorted(QUERIES), help="default: both")
    parser.add_argument("--batch", action="append", type=int, help="batch sizes (default: 1 10 50 200)")
    parser.add_argument("--in-flight", action="append", type=int, help="max_in_flight values (default: 1 4 8)")
    args = parser.parse_args()
    ids = [movie.movie_id for movie in generate(DEFAULT_SEED, args.size).movies[: args.documents]]

    with tempfile.TemporaryDirectory(prefix="graphdex-bench-gateway-") as folder:
        stack = LocalStack(
            StackOptions(state_dir=Path(folder) / "stack", ports=free_ports(), size=args.size, seed=DEFAULT_SEED)
        )
        try:
            stack.start()
            url = stack.endpoints.gateway_url
            print(f"demo stack with {args.size} movies; fetching {len(ids)} documents per run from {url}\n")
            columns = ("batch", "in_flight", "fetched", "seconds", "docs/s", "p50 ms", "p99 ms")
            widths = (6, 9, 8, 8, 9, 8, 8)
            print(f"{'mode':<6} " + " ".join(f"{name:>{width}}" for name, width in zip(columns, widths, strict=True)))
            for mode in args.mode or sorted(QUERIES):
                for batch in args.batch or [1, 10, 50, 200]:
                    for in_flight in args.in_flight or [1, 4, 8]:
                        run_folder = Path(folder) / f"{mode}-{batch}-{in_flight}"
                        run_folder.mkdir()
                        run(mode, url, ids, batch, in_flight, run_folder)
        finally:
            stack.stop()


if __name__ == "__main__":
    main()
