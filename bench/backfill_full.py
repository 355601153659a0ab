"""A full backfill of the demo data set: every movie enumerated through the gateway, fetched and indexed.

    python bench/backfill_full.py                       # 100,000 movies
    python bench/backfill_full.py --size 20000 --rate 200 --concurrency 8 --batch-size 100

Starts the local stack with ``--size`` movies, creates an empty index from the generated template and
runs ``run_backfill`` with the definition's enumeration query (``movieIds``, pages of 1,000) at
``--rate`` gateway requests per second and ``--concurrency`` in flight. Prints the time, documents per
second, gateway requests (pages and batches) and the write outcomes, and checks the index holds every
movie once.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from backfill_stack import demo_stack, drop_index, empty_target, movies_definition
from rich.console import Console

from indexer.backfill import CheckpointStore, LoadLimits, QueryEnumeration, run_backfill
from indexer.backfill.progress import summary_table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=100_000, help="movies in the demo data set")
    parser.add_argument("--rate", type=float, default=1000.0, help="gateway requests per second at most")
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--batch-size", type=int, default=50, help="documents per gateway request")
    parser.add_argument("--progress", action="store_true", help="show the progress bar")
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory(prefix="graphdex-bench-full-") as folder,
        demo_stack(Path(folder), args.size) as stack,
    ):
        definition = movies_definition(
            Path(folder), stack.endpoints.environment(), {"fetch": {"batch_size": args.batch_size, "timeout": "60s"}}
        )
        store, target = empty_target(definition, "bench-full")
        try:
            summary = run_backfill(
                definition,
                target_index=target,
                enumeration=QueryEnumeration.from_definition(definition),
                limits=LoadLimits(rate=args.rate, concurrency=args.concurrency),
                checkpoint=CheckpointStore.for_backfill("movies", target, Path(folder)),
                progress=args.progress,
                store=store,
            )
            stored = store.count(target)
        finally:
            drop_index(store, target)
            store.close()
    Console().print(summary_table(summary))
    print(
        f"full backfill of {args.size:,} movies: {summary.seconds:.1f}s, "
        f"{summary.documents_per_second:,.0f} documents/s, "
        f"{summary.gateway_requests:,} gateway requests (batch {args.batch_size}, {args.concurrency} in flight, "
        f"rate limit {args.rate:g}/s); index holds {stored:,} documents "
        f"({'all' if stored == args.size else 'NOT all'} movies)"
    )


if __name__ == "__main__":
    main()
