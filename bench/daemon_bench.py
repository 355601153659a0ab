"""The indexer daemon end to end on the local stack: gateway load, throughput, freshness and memory.

    python bench/daemon_bench.py                          # 2,000 movies, every measurement
    python bench/daemon_bench.py --size 2000 --backlog 200000 --rss-seconds 30

Starts the local stack (``LocalStack``, the same as the tests) with ``--size`` demo movies, provisions
a copy of ``configs/movies.yaml`` whose events also come from bench topics (Debezium envelopes produced
here straight to Kafka, to reach the volumes), loads every movie, and runs ``graphdex run`` as a
subprocess, reading its ``/metrics``:

1. Gateway requests per document for a burst of ``--burst`` events over the movies: movie changes with
   duplicates (uniformly random movies) and related-entity changes (talent and productions, fanned
   out by reverse lookups). Gateway requests are the daemon's own count of HTTP requests to the gateway
   (``graphdex_fetch_latency_seconds_count``, one per attempt). Goal: at most 0.05 per indexed document.
2. End-to-end documents per second for a backlog of ``--rounds`` changes of every movie, as a ratio of
   the gateway's raw capacity measured in the same run: the same documents fetched directly by a
   ``DocumentFetcher`` with the daemon's batching (``fetch.batch_size`` ids per request,
   ``fetch.max_in_flight`` requests at once) and no Kafka or index. Goal: at least 0.8. The raw index
   capacity (the same documents written by one ``BulkSink``) is measured too: the end-to-end rate is
   also shown against the slower of the two, the most the pipeline could do on this stack.
3. Freshness (source event to index acknowledgement, the daemon's ``graphdex_freshness_seconds``) while
   movie changes arrive steadily at half the raw gateway capacity for ``--steady-seconds``, then at half
   the measured end-to-end rate. Quantiles are interpolated within the histogram's buckets; the share
   under 2 s is exact. Goal: p99 under 2 s.
4. The daemon's resident memory (``VmRSS`` of its process, sampled every 0.5 s for ``--rss-seconds``)
   started over a backlog of ``--backlog`` (1,000,000) small Debezium events. Goal: bounded, under
   300 MB.

The bench's events name movies without changing them. By default (``sink.skip_unchanged``) the sink
then finds the documents of movie changes unchanged in the index and does not rewrite them (related
entities' fan-outs are always written): the numbers show the daemon's own overhead. With
``--rewrite-every-document`` every document is written again, which is what it costs when every
change changes the document; the search server's indexing rate then bounds the pipeline.

Everything shares the machine (stack, daemon and this script): the numbers are for this machine, with
its core count printed in the header.
"""

from __future__ import annotations

import argparse
import os
import random
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from daemon_harness import (
    TOPICS,
    DaemonProcess,
    EventProducer,
    Samples,
    freshness_buckets,
    load,
    paced,
    provision,
    quantile,
    raw_capacity,
    total,
    wait_idle,
    write_definition,
)

from demo.data.records import DemoData
from demo.ports import free_ports
from demo.seed import generate
from demo.services import DEFAULT_SEED
from demo.stack import LocalStack, StackOptions
from indexer.definition import IndexDefinition


def burst_plan(data: DemoData, events: int, rng: random.Random) -> list[tuple[str, str]]:
    """``events`` changes: 80% movies (uniform, so with duplicates), 15% talent credited on movies and 5%
    productions, in random order."""
    movies = [movie.movie_id for movie in data.movies]
    talent = sorted({credit.talent_id for credit in data.credits})
    productions = sorted({movie.ptp_id for movie in data.movies if movie.ptp_id})
    plan = [("Movie", rng.choice(movies)) for _ in range(events * 80 // 100)]
    plan += [("Talent", rng.choice(talent)) for _ in range(events * 15 // 100)]
    plan += [("Production", rng.choice(productions)) for _ in range(events - len(plan))]
    rng.shuffle(plan)
    return plan


Row = tuple[str, str, str, str]


def row(name: str, value: str, goal: str = "", met: bool | None = None) -> Row:
    return name, value, goal, "-" if met is None else ("yes" if met else "NO")


def document_writes(samples: Samples) -> float:
    """Documents the daemon took all the way through: indexed, found unchanged in the index (not
    rewritten), or already there at a newer version (noop)."""
    return sum(
        total(samples, "graphdex_documents_total", outcome=outcome) for outcome in ("indexed", "unchanged", "noop")
    )


@dataclass
class Bench:
    """One run's stack, definition, event producer and daemon; each measurement adds rows."""

    args: argparse.Namespace
    folder: Path
    env: dict[str, str]
    definition: IndexDefinition
    data: DemoData
    events: EventProducer
    rows: list[Row]
    daemon: DaemonProcess | None = None

    @property
    def movies(self) -> list[str]:
        return [movie.movie_id for movie in self.data.movies]

    def start_daemon(self, log: str) -> DaemonProcess:
        self.daemon = DaemonProcess.start(self.definition, self.env, self.folder / log)
        return self.daemon

    def capacities(self) -> tuple[float, float]:
        """Raw gateway capacity (documents fetched per second) and raw index capacity (documents written
        per second by one ``BulkSink`` with the daemon's bulk size), which also loads the index."""
        gateway, documents = raw_capacity(self.definition, self.movies, self.args.rounds)
        started = time.perf_counter()
        load(self.definition, documents)
        index = len(documents) / (time.perf_counter() - started)
        fetch, sink = self.definition.config.fetch, self.definition.config.sink
        print(f"# raw gateway capacity {gateway:.0f} documents/s (batches of {fetch.batch_size}, "
              f"{fetch.max_in_flight} in flight); raw index capacity {index:.0f} documents/s (bulks of "
              f"{sink.max_actions})", flush=True)  # fmt: skip
        self.rows += [row("raw gateway capacity, documents/s", f"{gateway:.0f}"),
                      row("raw index capacity (search server), documents/s", f"{index:.0f}")]  # fmt: skip
        return gateway, index

    def throughput(self, gateway: float, index: float) -> float:
        """(2) Every movie changed ``rounds`` times, produced before the daemon starts. The rate is the
        steady one: documents written between 10% and 90% of the total, over the time that took."""
        for _ in range(self.args.rounds):
            for movie in self.movies:
                self.events.send("Movie", movie)
        self.events.flush()
        daemon = self.start_daemon("daemon.log")
        ready, timeline = time.monotonic(), []
        wait_idle(
            daemon, self.events.total, on_sample=lambda s: timeline.append((time.monotonic(), document_writes(s)))
        )
        written = timeline[-1][1]
        t10 = next(moment for moment, count in timeline if count >= 0.1 * written)
        t90 = next(moment for moment, count in timeline if count >= 0.9 * written)
        done = next(moment for moment, count in timeline if count >= written)
        rate = 0.8 * written / max(t90 - t10, 1e-3)
        slowest = min(gateway, index)
        print(f"# backlog of {self.events.total:,} events: {written:,.0f} documents written, {rate:.0f}/s steady, "
              f"{written / (done - ready):.0f}/s from the daemon's readiness to the last", flush=True)  # fmt: skip
        self.rows += [
            row("end to end, documents/s (backlog, steady)", f"{rate:.0f}"),
            row("end to end / raw gateway capacity", f"{rate / gateway:.2f}", ">= 0.8", rate / gateway >= 0.8),
            row("end to end / slower of the raw capacities", f"{rate / slowest:.2f}"),
        ]
        return rate

    def gateway_load(self) -> None:
        """(1) A burst of movie changes with duplicates and related-entity changes, the daemon running."""
        assert self.daemon is not None
        before = self.daemon.samples()
        plan = burst_plan(self.data, self.args.burst, random.Random(self.args.seed))
        for entity_type, entity_id in plan:
            self.events.send(entity_type, entity_id)
        self.events.flush()
        after = wait_idle(self.daemon, self.events.total)

        def delta(name: str, **labels: str) -> float:
            return total(after, name, **labels) - total(before, name, **labels)

        requests = delta("graphdex_fetch_latency_seconds_count")
        indexed = delta("graphdex_documents_total", outcome="indexed")
        unchanged = delta("graphdex_documents_total", outcome="unchanged")
        fetched = delta("graphdex_fetch_outcomes_total", outcome="fetched")
        print(f"# burst of {len(plan):,} events: {delta('graphdex_reindex_requests_total'):,.0f} reindex requests, "
              f"{delta('graphdex_coalesced_duplicates_total'):,.0f} merged, {fetched:,.0f} documents fetched in "
              f"{requests:,.0f} gateway requests, {indexed:,.0f} indexed, {unchanged:,.0f} unchanged (not "
              f"rewritten), {delta('graphdex_documents_total', outcome='noop'):,.0f} noop", flush=True)  # fmt: skip
        current = indexed + unchanged
        ratio = requests / current if current else float("inf")
        self.rows += [
            row("gateway requests per document made current (indexed or unchanged), burst", f"{ratio:.4f}",
                "<= 0.05", ratio <= 0.05),
            row("gateway requests per event (burst)", f"{requests / len(plan):.4f}"),
        ]  # fmt: skip
        if unchanged:
            per_indexed = requests / indexed if indexed else float("inf")
            self.rows.append(row("gateway requests per rewritten document (burst)", f"{per_indexed:.4f}"))

    def freshness(self, rate: float, what: str) -> None:
        """(3) Movie changes at ``rate`` per second for ``steady_seconds``; freshness from the histogram."""
        assert self.daemon is not None
        movies = self.movies
        before = self.daemon.samples()
        sent = paced(rate, self.args.steady_seconds, lambda n: self.events.send("Movie", movies[n % len(movies)]))
        self.events.flush()
        after = wait_idle(self.daemon, self.events.total)
        buckets = freshness_buckets(before, after)
        p50, p99 = quantile(buckets, 0.5), quantile(buckets, 0.99)
        under_2s = dict(buckets).get(2.0, 0.0) / buckets[-1][1] if buckets and buckets[-1][1] else 0.0
        print(f"# {sent:,} changes at {rate:.0f}/s ({what}) for {self.args.steady_seconds:.0f}s", flush=True)
        self.rows += [
            row(f"freshness p50 at {rate:.0f} changes/s ({what})", f"{p50:.2f}s"),
            row(f"freshness p99 at {rate:.0f} changes/s ({what})", f"{p99:.2f}s", "< 2s", p99 < 2.0),
            row(f"changes indexed within 2 s at {rate:.0f}/s", f"{under_2s:.1%}"),
        ]

    def stop_daemon(self) -> None:
        assert self.daemon is not None
        self.rows.append(row("graphdex run exit after SIGTERM", f"{self.daemon.stop():.2f}s", "< 10s"))

    def memory(self) -> None:
        """(4) RSS of a daemon started over a backlog of ``backlog`` small Debezium events."""
        movies, backlog = self.movies, self.args.backlog
        started = time.perf_counter()
        for number in range(backlog):
            self.events.send("Movie", movies[number % len(movies)])
        self.events.flush()
        print(f"# {backlog:,} events produced in {time.perf_counter() - started:.1f}s", flush=True)
        daemon = self.start_daemon("daemon-memory.log")
        rss: list[float] = []
        deadline = time.monotonic() + self.args.rss_seconds
        while time.monotonic() < deadline and daemon.process.poll() is None:
            rss.append(daemon.rss_mb())
            time.sleep(0.5)
        samples = daemon.samples()
        consumed = total(samples, "graphdex_events_consumed_total", topic=TOPICS["Movie"])
        written = document_writes(samples)
        daemon.stop()
        peak, last_quarter = max(rss), max(rss[len(rss) * 3 // 4 :])
        print(f"# in {self.args.rss_seconds:.0f}s the daemon consumed {consumed:,.0f} of the {backlog:,} events "
              f"and wrote {written:,.0f} documents; RSS samples (MB): "
              f"{', '.join(f'{value:.0f}' for value in rss[:: max(1, len(rss) // 12)])}", flush=True)  # fmt: skip
        self.rows += [
            row(f"daemon RSS peak, backlog of {backlog:,} events", f"{peak:.0f} MB", "< 300 MB", peak < 300),
            row("daemon RSS peak in the last quarter of the sampling", f"{last_quarter:.0f} MB"),
        ]


def run(args: argparse.Namespace) -> list[Row]:
    with tempfile.TemporaryDirectory(prefix="graphdex-daemon-bench-") as folder_name:
        folder = Path(folder_name)
        stack = LocalStack(
            StackOptions(state_dir=folder / "stack", ports=free_ports(), size=args.size, seed=DEFAULT_SEED)
        )
        try:
            began = time.perf_counter()
            stack.start()
            env = stack.endpoints.environment()
            print(f"# stack with {args.size:,} movies ready in {time.perf_counter() - began:.1f}s", flush=True)
            overrides = {"sink": {"skip_unchanged": False}} if args.rewrite_every_document else {}
            definition = write_definition(folder, env, overrides)
            provision(definition, folder / "checkpoints")
            data = generate(DEFAULT_SEED, args.size)
            bench = Bench(args, folder, env, definition, data, EventProducer(env["GRAPHDEX_KAFKA_BOOTSTRAP"]), [])
            gateway, index = bench.capacities()
            end_to_end = bench.throughput(gateway, index)
            bench.gateway_load()
            bench.freshness(gateway / 2, "half the raw gateway capacity")
            bench.freshness(end_to_end / 2, "half the end-to-end capacity")
            bench.stop_daemon()
            if args.backlog:
                bench.memory()
            return bench.rows
        finally:
            stack.stop()


def print_table(rows: Iterable[Row]) -> None:
    rows = [("measure", "value", "goal", "met"), *rows]
    widths = [max(len(cells[column]) for cells in rows) for column in range(4)]
    for number, cells in enumerate(rows):
        print("  ".join(cell.ljust(width) for cell, width in zip(cells, widths, strict=True)).rstrip())
        if number == 0:
            print("  ".join("-" * width for width in widths))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=2000, help="movies in the demo data set")
    parser.add_argument("--burst", type=int, default=10_000, help="events in the burst (measurement 1)")
    parser.add_argument("--rounds", type=int, default=3, help="changes of every movie in the backlog (2)")
    parser.add_argument("--steady-seconds", type=float, default=30.0, help="length of the steady load (3)")
    parser.add_argument("--backlog", type=int, default=1_000_000, help="events behind the daemon (4); 0 skips")
    parser.add_argument("--rss-seconds", type=float, default=60.0, help="how long memory is sampled (4)")
    parser.add_argument("--seed", type=int, default=7, help="seed of the burst's random choices")
    parser.add_argument(
        "--rewrite-every-document",
        action="store_true",
        help="sink.skip_unchanged: false, so every document is written again (the bench's events change no "
        "content: by default the sink finds most documents unchanged and skips rewriting them)",
    )
    args = parser.parse_args()
    mode = "every document rewritten" if args.rewrite_every_document else "unchanged documents skipped"
    print(f"# daemon bench: {args.size:,} movies, {os.cpu_count()} cores, {mode}", flush=True)
    print_table(run(args))


if __name__ == "__main__":
    main()
