"""Start-up time of the local stack: several cold starts of the same ``LocalStack`` the CLI and tests use.

    python bench/stack_startup.py                    # 5 runs of the whole stack
    python bench/stack_startup.py --runs 3 -s kafka -s search

The stack runs Apache Kafka (KRaft) and an OpenSearch node on the JVM, the three demo subgraphs and the
Apollo gateway. Prints, per service, the seconds from its launch to its readiness check passing (services
of one wave start together), and the wall-clock total of ``start()`` (prerequisite checks included). The
target is a whole-stack start under 30 s once installed (the servers' Maven classpaths resolved and the
gateway's npm packages present); the first run installs what is missing, so it is reported but left out
of the summary when there are several runs. Every run starts from an empty state folder: Kafka formats
its storage, OpenSearch creates its cluster and the subgraphs seed their databases.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from demo.ports import SERVICE_NAMES, free_ports
from demo.services import DEFAULT_SEED, DEFAULT_SIZE
from demo.stack import LocalStack, StackOptions, required_services

TARGET_SECONDS = 30.0


def one_run(services: list[str], size: int, seed: int, state_dir: Path) -> tuple[dict[str, float], float, float]:
    """Start and stop the stack once: per-service start-up seconds, total start seconds, stop seconds."""
    stack = LocalStack(StackOptions(state_dir=state_dir, ports=free_ports(), size=size, seed=seed))
    try:
        stack.start(services)
        per_service, total = dict(stack.startup_seconds), stack.total_startup_seconds
    finally:
        stopping = time.monotonic()
        stack.stop()
    return per_service, total, time.monotonic() - stopping


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("-s", "--service", action="append", choices=SERVICE_NAMES, help="default: all")
    parser.add_argument("--size", type=int, default=DEFAULT_SIZE)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    args = parser.parse_args()
    services = required_services(args.service or SERVICE_NAMES)

    runs: list[tuple[dict[str, float], float, float]] = []
    with tempfile.TemporaryDirectory(prefix="graphdex-bench-stack-") as folder:
        for number in range(1, args.runs + 1):
            per_service, total, stop = one_run(services, args.size, args.seed, Path(folder) / f"run{number}")
            runs.append((per_service, total, stop))
            detail = "  ".join(f"{name} {seconds:5.2f}" for name, seconds in per_service.items())
            print(f"run {number}: start {total:5.2f} s  stop {stop:5.2f} s  |  {detail}")

    measured = runs[1:] if len(runs) > 1 else runs
    print(f"\nsize {args.size}, seed {args.seed}, {len(measured)} run(s) summarised (first run excluded if several)")
    print(f"{'service':<12} {'min':>6} {'median':>7} {'max':>6}  (seconds from launch to ready)")
    for name in services:
        values = [per_service[name] for per_service, _, _ in measured]
        print(f"{name:<12} {min(values):6.2f} {statistics.median(values):7.2f} {max(values):6.2f}")
    totals = [total for _, total, _ in measured]
    stops = [stop for _, _, stop in measured]
    print(f"{'TOTAL start':<12} {min(totals):6.2f} {statistics.median(totals):7.2f} {max(totals):6.2f}")
    print(f"{'TOTAL stop':<12} {min(stops):6.2f} {statistics.median(stops):7.2f} {max(stops):6.2f}")
    verdict = "within" if statistics.median(totals) < TARGET_SECONDS else "OVER"
    print(f"median start {statistics.median(totals):.2f} s: {verdict} the {TARGET_SECONDS:g} s target")


if __name__ == "__main__":
    main()
