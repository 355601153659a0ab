"""The indexer daemon end to end on the local stack: gateway load, throughput, freshness and memory.

    python bench/daemon_bench.py                          # 2,000 movies, every measurement
    python bench/daemon_bench.py --size 2000 --backlog 200000 --rss-seconds 30
    python bench/daemon_bench.py --events unchanged       # events name movies without changing them

Starts the local stack (``LocalStack``, the same as the tests: Apache Kafka and an OpenSearch node) with
``--size`` demo movies, provisions a copy of ``configs/movies.yaml`` whose events also come from bench
topics, loads every movie, and runs ``graphdex run`` as a subprocess, reading its ``/metrics``.

Every event changes its document (``--events changed``, the default): the bench first commits the change
into the subgraph's SQLite database itself (``<state>/data/movies.sqlite`` and the talent and
productions databases: a movie's title, a talent's or a production's name gets a suffix never used
before), then produces the Debezium envelope naming the row straight to Kafka, to reach the volumes.
After each phase a sample of documents is read back from the index and must carry the source's current
values. The measurements:

1. Raw capacities: the gateway's (the movies fetched ``--rounds`` times by a ``DocumentFetcher`` batching
   like the daemon, ``fetch.batch_size`` ids per request, ``fetch.max_in_flight`` requests at once, no
   Kafka or index) and the index's (the same documents written ``--rounds`` times at new versions by one
   ``BulkSink`` with the daemon's bulk size). The slower of the two is the most the pipeline could do.
2. End-to-end documents per second, every movie changed ``--rounds`` times, the daemon kept saturated:
   changes are committed and produced as fast as the daemon fetches, up to ``--size`` minus a reordering
   margin ahead of it, so the daemon always has a backlog while no movie is changed again before its
   previous change was fetched (each fetch sees a new title). The rate is the steady one: documents
   written between 10% and 90% of the total, over the time that took. Goal: at least 0.8 of the slower
   raw capacity. The share of documents really rewritten (not found unchanged) is shown as a check, and
   the rate against ``1 / (1/gateway + 1/index)``: each capacity is measured alone, but end to end the
   gateway's and the index's work share this machine's cores, which that combination assumes.
3. Gateway requests per document for a burst of ``--burst`` changes: movies with duplicates (uniformly
   random movies) and related entities (talent and productions, fanned out by reverse lookups), all
   committed, then produced. Gateway requests are the daemon's own count of HTTP requests to the gateway
   (``graphdex_fetch_latency_seconds_count``, one per attempt). Goal: at most 0.05 per document.
4. Freshness (source event to index acknowledgement, the daemon's ``graphdex_freshness_seconds``) while
   movie changes arrive steadily at half the slower raw capacity for ``--steady-seconds``, then at half
   the measured end-to-end rate. Quantiles are interpolated within the histogram's buckets; the share
   under 2 s is exact. Goal: p99 under 2 s.
5. Beside the headline, the unchanged-document mode (``--no-unchanged-pass`` skips it): a backlog of
   ``--rounds`` events per movie naming movies without changing them, produced before a new daemon
   starts; the sink finds the documents unchanged (``sink.skip_unchanged``) and does not rewrite them,
   so this measures the daemon's own overhead, bounded by the gateway.
6. The daemon's resident memory (``VmRSS`` of its process, sampled every 0.5 s for ``--rss-seconds``)
   started over a backlog of ``--backlog`` (1,000,000) small Debezium events. A million distinct
   changes cannot be committed ahead (the daemon reads the current data, not the event's), so while it
   drains, every movie's title is changed again every second: each document fetched differs from the
   one last written. Goal: under 300 MB.

With ``--events unchanged`` every phase uses events that change nothing (the bench before the real
stack), and the backlog of (2) is produced before the daemon starts. ``--rewrite-every-document`` sets
``sink.skip_unchanged: false``.

Everything shares the machine (stack, daemon and this script): the numbers are for this machine, with
its core count printed in the header.
"""

from __future__ import annotations

import argparse
import os
import random
import tempfile
import time
from collections.abc import Iterable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from daemon_harness import (
    TOPICS,
    Churn,
    DaemonProcess,
    EventProducer,
    Samples,
    SourceEditor,
    freshness_buckets,
    handled_requests,
    load,
    paced,
    provision,
    quantile,
    raw_capacity,
    sample_index,
    total,
    wait_idle,
    write_definition,
)

from demo.data.records import DemoData
from demo.ports import SUBGRAPH_NAMES, free_ports
from demo.seed import generate
from demo.services import DEFAULT_SEED
from demo.stack import LocalStack, StackOptions
from indexer.definition import IndexDefinition
from indexer.search_store import SearchStore, open_search_store

SAMPLE = 25
"""Documents read back from the index after each phase that changed data."""


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


Timeline = list[tuple[float, float]]


def steady_rate(timeline: Timeline) -> tuple[float, float, float]:
    """From (moment, documents written) samples: the total, the rate between 10% and 90% of it, and the
    moment the last document was written."""
    written = timeline[-1][1]
    t10 = next(moment for moment, count in timeline if count >= 0.1 * written)
    t90 = next(moment for moment, count in timeline if count >= 0.9 * written)
    done = next(moment for moment, count in timeline if count >= written)
    return written, 0.8 * written / max(t90 - t10, 1e-3), done


@dataclass
class Bench:
    """One run's stack, definition, event producer and daemon; each measurement adds rows."""

    args: argparse.Namespace
    folder: Path
    env: dict[str, str]
    definition: IndexDefinition
    data: DemoData
    events: EventProducer
    store: SearchStore
    editor: SourceEditor | None
    """Commits each change before its event; None with ``--events unchanged``."""
    processes: dict[str, list[int]] = field(default_factory=dict)
    """The stack's processes by component (``kafka``, ``search``, ``subgraphs``, ``gateway``), for CPU use."""
    rows: list[Row] = field(default_factory=list)
    daemon: DaemonProcess | None = None
    events_before_daemon: int = 0
    """Events produced before the running daemon started (a new daemon counts from zero)."""
    rng: random.Random = field(default_factory=lambda: random.Random(11))

    @property
    def movies(self) -> list[str]:
        return [movie.movie_id for movie in self.data.movies]

    @property
    def daemon_events(self) -> int:
        """Bench events the running daemon has to handle."""
        return self.events.total - self.events_before_daemon

    def start_daemon(self, log: str, events_before: int | None = None) -> DaemonProcess:
        self.events_before_daemon = self.events.total if events_before is None else events_before
        self.daemon = DaemonProcess.start(self.definition, self.env, self.folder / log)
        return self.daemon

    def change(self, entity_type: str, ids: Sequence[str]) -> None:
        """Commit the changes of ``ids`` (unless events change nothing), then produce their events."""
        if self.editor is not None:
            self.editor.change(entity_type, ids)
        self.events.send_many(entity_type, ids)

    def check_index(self, after: str, movies: Sequence[str], talent: Sequence[tuple[str, str]] = ()) -> None:
        """Read a sample of documents back from the index: each must carry the source's current values."""
        if self.editor is None:
            return
        checked = sample_index(self.store, self.editor, movies, talent)
        print(f"# index sampled after {after}: {checked} changed values, every one indexed", flush=True)
        self.rows.append(row(f"changes found in the index, sampled after {after}", f"{checked}/{checked}"))

    def capacities(self) -> tuple[float, float]:
        """Raw gateway capacity (documents fetched per second) and raw index capacity (documents written
        per second by one ``BulkSink`` with the daemon's bulk size)."""
        gateway, documents = raw_capacity(self.definition, self.movies, self.args.rounds)
        index = load(self.definition, documents, self.args.rounds)
        fetch, sink = self.definition.config.fetch, self.definition.config.sink
        print(f"# raw gateway capacity {gateway:.0f} documents/s (batches of {fetch.batch_size}, "
              f"{fetch.max_in_flight} in flight); raw index capacity {index:.0f} documents/s (bulks of "
              f"{sink.max_actions})", flush=True)  # fmt: skip
        self.rows += [row("raw gateway capacity, documents/s", f"{gateway:.0f}"),
                      row("raw index capacity (OpenSearch), documents/s", f"{index:.0f}")]  # fmt: skip
        return gateway, index

    def throughput_rows(self, rate: float, gateway: float, index: float, what: str, headline: bool) -> None:
        slowest = min(gateway, index)
        goal, met = (">= 0.8", rate / slowest >= 0.8) if headline else ("", None)
        # on one machine the gateway and the index share the cores: each document costs both their CPU
        shared = 1 / (1 / gateway + 1 / index)
        self.rows += [
            row(f"end to end, documents/s ({what})", f"{rate:.0f}"),
            row(f"end to end / slower of the raw capacities ({what})", f"{rate / slowest:.2f}", goal, met),
            row(f"end to end / raw gateway capacity ({what})", f"{rate / gateway:.2f}"),
        ]
        if headline and self.editor is not None:  # only documents really written cost the index anything
            self.rows.append(
                row("end to end / both capacities sharing the cores, 1/(1/g + 1/i)", f"{rate / shared:.2f}")
            )

    def throughput_saturated(self, gateway: float, index: float) -> float:
        """(2) Every movie changed ``rounds`` times, committed and produced as fast as the daemon fetches,
        at most ``size`` minus a reordering margin ahead of what it has fetched."""
        movies, rounds = self.movies, self.args.rounds
        fetch = self.definition.config.fetch
        # fetches finish out of order within one fetch batch (four rounds of in-flight requests)
        margin = 4 * fetch.batch_size * fetch.max_in_flight
        window = len(movies) - margin
        if window < margin:
            raise SystemExit(f"--size {len(movies)} is too small to keep the daemon busy without changing a "
                             f"movie twice before it was fetched: use at least {2 * margin}")  # fmt: skip
        daemon = self.start_daemon("daemon.log")
        before = daemon.samples()
        handled0, written0 = handled_requests(before), document_writes(before)
        components = {**self.processes, "daemon": [daemon.process.pid], "bench": [os.getpid()]}
        cpu_before, wall_before = cpu_seconds(components), time.monotonic()
        events, produced, timeline = rounds * len(movies), 0, []
        while produced < events:
            samples = daemon.samples()
            timeline.append((time.monotonic(), document_writes(samples) - written0))
            allowed = min(events, int(handled_requests(samples) - handled0) + window)
            if allowed > produced:
                self.change("Movie", [movies[n % len(movies)] for n in range(produced, allowed)])
                produced = allowed
            time.sleep(0.2)
        self.events.flush()
        after = wait_idle(
            daemon,
            self.daemon_events,
            on_sample=lambda s: timeline.append((time.monotonic(), document_writes(s) - written0)),
        )
        cpu_after, wall = cpu_seconds(components), time.monotonic() - wall_before
        written, rate, _ = steady_rate(timeline)
        indexed = total(after, "graphdex_documents_total", outcome="indexed") - total(
            before, "graphdex_documents_total", outcome="indexed"
        )
        self.cpu_rows(cpu_before, cpu_after, wall, document_writes(after) - written0)
        print(f"# {events:,} changes ({rounds} of each movie, at most {window:,} ahead of the daemon's fetches): "
              f"{written:,.0f} documents written, {indexed:,.0f} of them rewritten, {rate:.0f}/s steady",
              flush=True)  # fmt: skip
        self.throughput_rows(rate, gateway, index, "every event changes its document", headline=True)
        self.rows.append(row("documents rewritten / written (saturated run)", f"{indexed / written:.1%}"))
        self.check_index("the saturated run", self.rng.sample(movies, SAMPLE))
        return rate

    def cpu_rows(self, before: dict[str, float], after: dict[str, float], wall: float, documents: float) -> None:
        """Where the machine's CPU went in the saturated run: milliseconds per document written, by
        component, and how many cores were busy on average."""
        used = {name: after[name] - before[name] for name in after}
        per_document = ", ".join(f"{name} {1000 * seconds / documents:.2f}" for name, seconds in used.items())
        busy = sum(used.values()) / wall
        print(f"# CPU per document written (ms): {per_document}; {busy:.2f} of {os.cpu_count()} cores busy",
              flush=True)  # fmt: skip
        self.rows += [row(f"CPU per document, {name} (saturated run)", f"{1000 * s / documents:.2f} ms")
                      for name, s in used.items()]  # fmt: skip
        self.rows.append(row("cores busy on average (saturated run)", f"{busy:.2f} of {os.cpu_count()}"))

    def throughput_backlog(self, gateway: float, index: float, what: str, headline: bool) -> float:
        """(2) or (5): every movie named ``rounds`` times, produced before a new daemon starts."""
        first = self.events.total
        for _ in range(self.args.rounds):
            self.events.send_many("Movie", self.movies)
        self.events.flush()
        daemon = self.start_daemon("daemon.log" if headline else "daemon-unchanged.log", events_before=first)
        before, timeline = daemon.samples(), []
        ready = time.monotonic()
        wait_idle(
            daemon, self.daemon_events, on_sample=lambda s: timeline.append((time.monotonic(), document_writes(s)))
        )
        written, rate, done = steady_rate(timeline)
        unchanged = total(daemon.samples(), "graphdex_documents_total", outcome="unchanged") - total(
            before, "graphdex_documents_total", outcome="unchanged"
        )
        print(f"# backlog of {self.daemon_events:,} events ({what}): {written:,.0f} documents written "
              f"({unchanged:,.0f} found unchanged), {rate:.0f}/s steady, {written / (done - ready):.0f}/s from the "
              f"daemon's readiness to the last", flush=True)  # fmt: skip
        self.throughput_rows(rate, gateway, index, what, headline)
        return rate

    def gateway_load(self) -> None:
        """(3) A burst of movie changes with duplicates and related-entity changes, the daemon running."""
        assert self.daemon is not None
        before = self.daemon.samples()
        plan = burst_plan(self.data, self.args.burst, random.Random(self.args.seed))
        for entity_type in TOPICS:
            changed = [entity_id for kind, entity_id in plan if kind == entity_type]
            if self.editor is not None:
                self.editor.change(entity_type, changed)
        for entity_type, entity_id in plan:
            self.events.send(entity_type, entity_id)
        self.events.flush()
        after = wait_idle(self.daemon, self.daemon_events)

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
            row("documents rewritten / made current (burst)", f"{indexed / current:.1%}" if current else "-"),
        ]  # fmt: skip
        movies = sorted({entity_id for kind, entity_id in plan if kind == "Movie"})
        credited = {credit.talent_id: credit.movie_id for credit in self.data.credits}
        talent = sorted({(entity_id, credited[entity_id]) for kind, entity_id in plan if kind == "Talent"})
        self.check_index("the burst", self.rng.sample(movies, SAMPLE), self.rng.sample(talent, min(10, len(talent))))

    def freshness(self, rate: float, what: str) -> None:
        """(4) Movie changes at ``rate`` per second for ``steady_seconds``; freshness from the histogram."""
        assert self.daemon is not None
        movies = self.movies
        before = self.daemon.samples()
        sent = paced(
            rate,
            self.args.steady_seconds,
            lambda numbers: self.change("Movie", [movies[n % len(movies)] for n in numbers]),
        )
        self.events.flush()
        after = wait_idle(self.daemon, self.daemon_events)
        buckets = freshness_buckets(before, after)
        p50, p99 = quantile(buckets, 0.5), quantile(buckets, 0.99)
        under_2s = dict(buckets).get(2.0, 0.0) / buckets[-1][1] if buckets and buckets[-1][1] else 0.0
        indexed = total(after, "graphdex_documents_total", outcome="indexed") - total(
            before, "graphdex_documents_total", outcome="indexed"
        )
        print(f"# {sent:,} changes at {rate:.0f}/s ({what}) for {self.args.steady_seconds:.0f}s: "
              f"{indexed:,.0f} documents rewritten", flush=True)  # fmt: skip
        self.rows += [
            row(f"freshness p50 at {rate:.0f} changes/s ({what})", f"{p50:.2f}s"),
            row(f"freshness p99 at {rate:.0f} changes/s ({what})", f"{p99:.2f}s", "< 2s", p99 < 2.0),
            row(f"changes indexed within 2 s at {rate:.0f}/s", f"{under_2s:.1%}"),
        ]
        changed = movies[: min(sent, len(movies))]
        self.check_index(f"changes at {rate:.0f}/s", self.rng.sample(changed, min(SAMPLE, len(changed))))

    def stop_daemon(self, what: str = "") -> None:
        assert self.daemon is not None
        seconds = self.daemon.stop()
        self.rows.append(row(f"graphdex run exit after SIGTERM{what}", f"{seconds:.2f}s", "< 10s", seconds < 10))
        self.daemon = None

    def memory(self) -> None:
        """(6) RSS of a daemon started over a backlog of ``backlog`` small Debezium events; with changing
        events, every movie's title changes every second while it runs."""
        movies, backlog = self.movies, self.args.backlog
        started, first = time.perf_counter(), self.events.total
        for number in range(backlog):
            self.events.send("Movie", movies[number % len(movies)])
        self.events.flush()
        print(f"# {backlog:,} events produced in {time.perf_counter() - started:.1f}s", flush=True)
        rss: list[float] = []
        daemon = self.start_daemon("daemon-memory.log", events_before=first)
        with ExitStack() as running:
            churn = running.enter_context(Churn(self.editor, "Movie", movies)) if self.editor is not None else None
            deadline = time.monotonic() + self.args.rss_seconds
            while time.monotonic() < deadline and daemon.process.poll() is None:
                rss.append(daemon.rss_mb())
                time.sleep(0.5)
        samples = daemon.samples()
        consumed = total(samples, "graphdex_events_consumed_total", topic=TOPICS["Movie"])
        written = document_writes(samples)
        indexed = total(samples, "graphdex_documents_total", outcome="indexed")
        daemon.stop()
        self.daemon = None
        peak, last_quarter = max(rss), max(rss[len(rss) * 3 // 4 :])
        changes = f"; every movie changed {churn.rounds} times meanwhile" if churn is not None else ""
        print(f"# in {self.args.rss_seconds:.0f}s the daemon consumed {consumed:,.0f} of the {backlog:,} events "
              f"and wrote {written:,.0f} documents ({indexed:,.0f} rewritten){changes}; RSS samples (MB): "
              f"{', '.join(f'{value:.0f}' for value in rss[:: max(1, len(rss) // 12)])}", flush=True)  # fmt: skip
        self.rows += [
            row(f"daemon RSS peak, backlog of {backlog:,} events", f"{peak:.0f} MB", "< 300 MB", peak < 300),
            row("daemon RSS peak in the last quarter of the sampling", f"{last_quarter:.0f} MB"),
            row(f"documents written while sampled ({indexed:,.0f} rewritten)", f"{written:,.0f}"),
        ]


def parse_settings(parser: argparse.ArgumentParser, given: list[str]) -> dict[str, dict[str, Any]]:
    """``--set fetch.max_in_flight=8`` -> ``{"fetch": {"max_in_flight": 8}}`` (values read as YAML)."""
    settings: dict[str, dict[str, Any]] = {}
    for item in given:
        key, equals, value = item.partition("=")
        section, dot, name = key.partition(".")
        if not (equals and dot and section and name):
            parser.error(f"--set {item!r}: expected SECTION.KEY=VALUE, e.g. fetch.max_in_flight=8")
        settings.setdefault(section, {})[name] = yaml.safe_load(value)
    return settings


def stack_processes(stack: LocalStack) -> dict[str, list[int]]:
    """The stack's server processes grouped by component (the three subgraphs as one)."""
    groups: dict[str, list[int]] = {}
    for name, pid in stack.pids().items():
        groups.setdefault("subgraphs" if name in SUBGRAPH_NAMES else name, []).append(pid)
    return groups


def cpu_seconds(components: dict[str, list[int]]) -> dict[str, float]:
    """User plus system CPU seconds used so far by each component's processes (Linux ``/proc``; every
    thread of a process counts, and a process that has gone counts nothing)."""
    ticks = os.sysconf("SC_CLK_TCK")
    used: dict[str, float] = {}
    for name, pids in components.items():
        total_ticks = 0
        for pid in pids:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except FileNotFoundError:
                continue
            total_ticks += int(fields[11]) + int(fields[12])  # utime and stime (fields 14 and 15)
        used[name] = total_ticks / ticks
    return used


def run(args: argparse.Namespace) -> list[Row]:
    with ExitStack() as cleanup:
        if args.keep:
            folder = Path(tempfile.mkdtemp(prefix="graphdex-daemon-bench-"))
            print(f"# stack, definition and daemon logs kept in {folder}", flush=True)
        else:
            folder = Path(cleanup.enter_context(tempfile.TemporaryDirectory(prefix="graphdex-daemon-bench-")))
        options = StackOptions(state_dir=folder / "stack", ports=free_ports(), size=args.size, seed=DEFAULT_SEED)
        stack = LocalStack(options)
        editor: SourceEditor | None = None
        try:
            began = time.perf_counter()
            stack.start()
            env = stack.endpoints.environment()
            print(f"# stack with {args.size:,} movies ready in {time.perf_counter() - began:.1f}s", flush=True)
            overrides: dict[str, dict[str, Any]] = {section: dict(values) for section, values in args.overrides.items()}
            if args.rewrite_every_document:
                overrides.setdefault("sink", {})["skip_unchanged"] = False
            definition = write_definition(folder, env, overrides)
            provision(definition, folder / "checkpoints")
            editor = SourceEditor(options.data_dir) if args.events == "changed" else None
            bench = Bench(
                args,
                folder,
                env,
                definition,
                generate(DEFAULT_SEED, args.size),
                EventProducer(env["GRAPHDEX_KAFKA_BOOTSTRAP"]),
                open_search_store(definition.config.elasticsearch),
                editor,
                processes=stack_processes(stack),
            )
            gateway, index = bench.capacities()
            if editor is not None:
                end_to_end = bench.throughput_saturated(gateway, index)
            else:
                end_to_end = bench.throughput_backlog(gateway, index, "unchanged documents", headline=True)
            bench.gateway_load()
            bench.freshness(min(gateway, index) / 2, "half the slower raw capacity")
            bench.freshness(end_to_end / 2, "half the end-to-end rate")
            bench.stop_daemon()
            if editor is not None and args.unchanged_pass:
                bench.throughput_backlog(gateway, index, "unchanged documents, skipped", headline=False)
                bench.stop_daemon(" (unchanged-document pass)")
            if args.backlog:
                bench.memory()
            return bench.rows
        finally:
            if editor is not None:
                editor.close()
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
    parser.add_argument("--burst", type=int, default=10_000, help="events in the burst (measurement 3)")
    parser.add_argument("--rounds", type=int, default=3, help="changes of every movie (2), raw capacity passes (1)")
    parser.add_argument("--steady-seconds", type=float, default=30.0, help="length of each steady load (4)")
    parser.add_argument("--backlog", type=int, default=1_000_000, help="events behind the daemon (6); 0 skips")
    parser.add_argument("--rss-seconds", type=float, default=60.0, help="how long memory is sampled (6)")
    parser.add_argument("--seed", type=int, default=7, help="seed of the burst's random choices")
    parser.add_argument(
        "--events",
        choices=["changed", "unchanged"],
        default="changed",
        help="changed (default): each event follows a committed change of its row; unchanged: events name "
        "rows without changing them, so the sink finds most documents unchanged and skips rewriting them",
    )
    parser.add_argument(
        "--no-unchanged-pass",
        dest="unchanged_pass",
        action="store_false",
        help="with --events changed, skip the backlog of unchanged-document events measured beside the headline (5)",
    )
    parser.add_argument(
        "--rewrite-every-document",
        action="store_true",
        help="sink.skip_unchanged: false, so every document is written again, changed or not",
    )
    parser.add_argument(
        "--set",
        dest="settings",
        action="append",
        default=[],
        metavar="SECTION.KEY=VALUE",
        help="a definition setting for the daemon, e.g. fetch.max_in_flight=8 or sink.max_wait=250ms (repeatable)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the folder with the stack's and daemons' logs")
    args = parser.parse_args()
    args.overrides = parse_settings(parser, args.settings)
    mode = "every event changes its document" if args.events == "changed" else "events change no document"
    if args.rewrite_every_document:
        mode += ", every document rewritten"
    print(f"# daemon bench: {args.size:,} movies, {os.cpu_count()} cores, {mode}", flush=True)
    print_table(run(args))


if __name__ == "__main__":
    main()
