"""Does a backfill with ``--rate R`` send R gateway requests per second? Measured over 30 s windows.

    python bench/backfill_rate.py                       # 50/s for 95 s on a 2,000-movie stack
    python bench/backfill_rate.py --rate 20 --seconds 65 --rate 80

Starts the local stack, then for each rate runs ``run_backfill`` over the seeded ids (repeated as
needed, so the backfill outlasts the measurement) into a fresh index, and counts the requests that
reach the gateway (document batches and their retries; enumeration pages when the enumeration is
the gateway's, not here) per 30 s window from the first request. Prints each window's rate and its
deviation from R; the goal is within 5%.
"""

from __future__ import annotations

import argparse
import tempfile
import threading
from pathlib import Path

from backfill_stack import TimedTransport, demo_stack, drop_index, empty_target, movies_definition, p95

from demo.seed import generate
from demo.services import DEFAULT_SEED
from indexer.backfill import CheckpointStore, IdListEnumeration, LoadLimits, run_backfill


def measure(stack, folder: Path, rate: float, args: argparse.Namespace, ids: list[str]) -> list[float]:
    definition = movies_definition(
        folder, stack.endpoints.environment(), {"fetch": {"batch_size": args.batch_size}, "sink": {"max_wait": "0.2s"}}
    )
    store, target = empty_target(definition, f"bench-rate-{int(rate)}")
    needed = int(rate * (args.seconds + 10) * args.batch_size)
    enumeration = IdListEnumeration([ids[n % len(ids)] for n in range(needed)], source=f"bench {rate}")
    transport = TimedTransport()
    stop = threading.Event()
    timer = threading.Timer(args.seconds, stop.set)
    timer.start()
    try:
        summary = run_backfill(
            definition,
            target_index=target,
            enumeration=enumeration,
            limits=LoadLimits(rate=rate, concurrency=args.concurrency),
            checkpoint=CheckpointStore.for_backfill("movies", target, folder),
            progress=False,
            stop=stop,
            store=store,
            transport=transport,
        )
    finally:
        timer.cancel()
        drop_index(store, target)
        store.close()
    starts = sorted(at for at, _ in transport.requests)
    first = starts[0]
    rates = []
    latencies = [seconds for _, seconds in transport.requests]
    print(
        f"rate {rate:g}/s: {len(starts):,} requests, {summary.enumerated:,} documents in {summary.seconds:.1f}s, "
        f"p95 {p95(latencies) * 1000:.0f}ms, noop {summary.noop:,}, failed {summary.failed}",
        flush=True,
    )
    for window in range(int((starts[-1] - first) // args.window)):
        begin = first + window * args.window
        count = sum(1 for at in starts if begin <= at < begin + args.window)
        achieved = count / args.window
        rates.append(achieved)
        during = transport.between(begin, begin + args.window)
        capacity = args.concurrency / (sum(during) / len(during)) if during else float("inf")
        bound = "  (gateway-bound: concurrency / mean latency is below the rate)" if capacity < rate else ""
        deviation = (achieved - rate) / rate * 100
        print(
            f"  window {window + 1} ({args.window:g}s): {achieved:7.2f} requests/s {deviation:+6.2f}%"
            f"  p95 {p95(during) * 1000:4.0f}ms  at most {capacity:6.1f}/s with {args.concurrency} in flight{bound}",
            flush=True,
        )
    return rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, action="append", help="requests per second (default: 50)")
    parser.add_argument("--seconds", type=float, default=95.0, help="length of each run")
    parser.add_argument("--window", type=float, default=30.0, help="measurement window in seconds")
    parser.add_argument("--size", type=int, default=2000, help="movies in the demo data set")
    parser.add_argument("--batch-size", type=int, default=2, help="documents per request (small: spares the index)")
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args()
    ids = [movie.movie_id for movie in generate(DEFAULT_SEED, args.size).movies]
    verdicts = []
    with (
        tempfile.TemporaryDirectory(prefix="graphdex-bench-backfill-rate-") as folder,
        demo_stack(Path(folder), args.size) as stack,
    ):
        for rate in args.rate or [50.0]:
            run_folder = Path(folder) / f"rate-{rate:g}"
            run_folder.mkdir()
            rates = measure(stack, run_folder, rate, args, ids)
            worst = max((abs(achieved - rate) / rate for achieved in rates), default=float("nan"))
            verdicts.append(
                f"{rate:g}/s: worst window {worst * 100:.2f}% off ({'within' if worst <= 0.05 else 'NOT within'} 5%)"
            )
    print("\n".join(verdicts))


if __name__ == "__main__":
    main()
