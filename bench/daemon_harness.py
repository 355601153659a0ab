"""What ``bench/daemon_bench.py`` drives: the bench's index definition on the local stack, changes written
into the demo subgraphs' SQLite databases, Debezium events produced straight to bench topics, ``graphdex
run`` as a subprocess, and readings of its ``/metrics``.

Run the bench itself (``python bench/daemon_bench.py``); this module is imported by it.
"""

from __future__ import annotations

import itertools
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import yaml
from confluent_kafka import Producer
from confluent_kafka.admin import NewTopic
from prometheus_client.parser import text_string_to_metric_families

from demo.ports import free_ports
from indexer.definition import IndexDefinition, load_definition
from indexer.fetch import DocumentFetcher, Fetched
from indexer.kafka.clients import build_admin
from indexer.provision.provisioner import Provisioner
from indexer.search_store import SearchStore, open_search_store
from indexer.sink.bulk_sink import BulkSink, DocumentWrite

REPO = Path(__file__).resolve().parent.parent
GRAPHDEX = str(Path(sys.executable).with_name("graphdex"))
INDEX = "bench-daemon"
TOPICS = {"Movie": "bench.movies", "Talent": "bench.talent", "Production": "bench.productions"}
KEYS = {"Movie": "movieId", "Talent": "talentId", "Production": "ptpId"}
SETTINGS: dict[str, Any] = {
    "kafka": {"session_timeout": "6s", "max_poll_interval": "60s", "topic_prefix": "bench", "group_prefix": "bench"},
    "reverse_lookup": {"settle_delay": "3s"},
}
QUIET_SECONDS = 5.0
"""Counters unchanged this long (more than ``settle_delay``) and every event consumed: the daemon is idle."""


def write_definition(
    folder: Path, env: dict[str, str], overrides: dict[str, dict[str, Any]] | None = None
) -> IndexDefinition:
    """``configs/movies.yaml`` with absolute paths, the bench index name, the bench event topics, and
    ``overrides`` (section -> settings) on top of the bench's own ``SETTINGS``."""
    data = yaml.safe_load((REPO / "configs" / "movies.yaml").read_text(encoding="utf-8"))
    data["index"] = INDEX
    data["graph"]["schema_file"] = str(REPO / "configs" / data["graph"]["schema_file"])
    data["query_file"] = str(REPO / "configs" / data["query_file"])
    chosen = {section: dict(values) for section, values in SETTINGS.items()}
    for section, values in (overrides or {}).items():
        chosen[section] = {**chosen.get(section, {}), **values}
    for section, values in chosen.items():
        data[section] = {**data.get(section, {}), **values}
    data["events"] = [*data.get("events", []), *({"topic": t, "type": k} for k, t in TOPICS.items())]
    path = folder / "movies.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return load_definition(path, env=env)


def provision(definition: IndexDefinition, checkpoints: Path) -> None:
    """What a user does before ``graphdex run``: ``graphdex provision apply`` (topics, the template,
    ``<index>-1`` backfilled with every movie, both aliases); then the bench's own event topics."""
    config = definition.config
    Provisioner(
        definition, store=open_search_store(config.elasticsearch), checkpoints=checkpoints, progress=False
    ).apply()
    admin = build_admin(config.kafka)
    for future in admin.create_topics(
        [NewTopic(topic, config.kafka.partitions, 1) for topic in TOPICS.values()]
    ).values():
        future.result()


def raw_capacity(definition: IndexDefinition, ids: list[str], rounds: int) -> tuple[float, list[Fetched]]:
    """Documents per second the gateway serves to a fetcher batching like the daemon: ``ids`` fetched
    ``rounds`` times after a warm-up; also the documents of the last round."""
    with DocumentFetcher.for_index(definition.model, definition.config) as fetcher:
        fetcher.fetch(ids[:200])
        fetched: list[Fetched] = []
        started = time.perf_counter()
        for _ in range(rounds):
            fetched = [outcome for outcome in fetcher.fetch(ids) if isinstance(outcome, Fetched)]
        seconds = time.perf_counter() - started
    return len(fetched) * rounds / seconds, fetched


def load(definition: IndexDefinition, documents: list[Fetched], passes: int = 1) -> float:
    """Write the fetched documents ``passes`` times with one ``BulkSink`` (each pass at newer versions,
    so every document is really written again), as the raw index capacity measurement; documents/s."""
    sink = BulkSink(open_search_store(definition.config.elasticsearch), INDEX, definition.config.sink)
    started = time.perf_counter()
    for number in range(1, passes + 1):
        outcomes = sink.write([DocumentWrite(d.id, d.version + number, d.document) for d in documents])
        failed = [outcome for outcome in outcomes if outcome.status != "indexed"]
        if failed:
            raise SystemExit(f"loading the index failed for {len(failed)} documents: {failed[0]}")
    return len(documents) * passes / (time.perf_counter() - started)


@dataclass(frozen=True)
class EditedColumn:
    """The column a bench change rewrites in one subgraph's database, and the table's key."""

    database: str
    table: str
    key: str
    column: str


EDITED = {
    "Movie": EditedColumn("movies.sqlite", "movies", "movieId", "title"),
    "Talent": EditedColumn("talent.sqlite", "talent", "talentId", "name"),
    "Production": EditedColumn("productions.sqlite", "productions", "ptpId", "name"),
}
"""What a change of each entity type alters: indexed fields of the movie documents (``title``,
``credits.talent.name``, ``production.name``)."""


def iso_now() -> str:
    """Now as the demo data writes ``updatedAt`` (``2024-05-01T12:00:00.000Z``)."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class SourceEditor:
    """Changes demo data where the subgraphs keep it, as a second writer to their SQLite databases.

    The subgraphs read through a connection of their own in autocommit mode, with no cache across requests
    (``demo.subgraphs.store``, one set of data loaders per request), so their next read after a commit sees
    it; both sides use WAL mode and a 30 s busy timeout, so a subgraph's own writes wait for ours. Each
    change gives the edited column (``EDITED``) of a row a suffix never used before, and ``updatedAt`` the
    time: every change alters the indexed document. Thread-safe (one lock)."""

    def __init__(self, data_dir: Path) -> None:
        self._lock = threading.Lock()
        self._numbers = itertools.count(1)
        self._connections: dict[str, sqlite3.Connection] = {}
        self._originals: dict[str, dict[str, str]] = {}
        self.changes = 0
        for entity_type, edited in EDITED.items():
            path = data_dir / edited.database
            if not path.is_file():
                raise SystemExit(f"no {edited.table} database at {path}: is the stack's subgraph running?")
            connection = sqlite3.connect(path, isolation_level=None, timeout=30, check_same_thread=False)
            mode = connection.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if mode != "wal":
                raise SystemExit(f"{path} is in journal mode {mode}, not WAL: a second writer would block reads")
            select = f'SELECT "{edited.key}", "{edited.column}" FROM "{edited.table}"'
            self._originals[entity_type] = dict(connection.execute(select).fetchall())
            self._connections[entity_type] = connection

    def change(self, entity_type: str, ids: Sequence[str]) -> None:
        """Commit a new value of the edited column (and ``updatedAt``) of every row of ``ids``, in one
        transaction; a row named twice gets the later value."""
        if not ids:
            return
        edited, connection = EDITED[entity_type], self._connections[entity_type]
        originals, stamp = self._originals[entity_type], iso_now()
        update = f'UPDATE "{edited.table}" SET "{edited.column}" = ?, "updatedAt" = ? WHERE "{edited.key}" = ?'
        with self._lock:
            rows = [(f"{originals[entity_id]} ~{next(self._numbers)}", stamp, entity_id) for entity_id in ids]
            connection.execute("BEGIN IMMEDIATE")
            try:
                cursor = connection.executemany(update, rows)
                if cursor.rowcount != len(rows):
                    raise SystemExit(f"changed {cursor.rowcount} of {len(rows)} {edited.table} rows: unknown ids")
                connection.execute("COMMIT")
            except BaseException:
                connection.execute("ROLLBACK")
                raise
            self.changes += len(rows)

    def current(self, entity_type: str, ids: Sequence[str]) -> dict[str, str]:
        """The committed value of the edited column of each of ``ids``."""
        edited = EDITED[entity_type]
        marks = ", ".join("?" for _ in ids)
        select = f'SELECT "{edited.key}", "{edited.column}" FROM "{edited.table}" WHERE "{edited.key}" IN ({marks})'
        with self._lock:
            return dict(self._connections[entity_type].execute(select, tuple(ids)).fetchall())

    def close(self) -> None:
        for connection in self._connections.values():
            connection.close()


class Churn:
    """While running (a context manager), changes every one of ``ids`` every ``period`` seconds in a thread
    of its own: whatever event a daemon then handles, the document it fetches differs from the one it
    last wrote, as long as no movie is fetched twice within ``period``."""

    def __init__(self, editor: SourceEditor, entity_type: str, ids: Sequence[str], period: float = 1.0) -> None:
        self._editor, self._entity_type, self._ids, self._period = editor, entity_type, list(ids), period
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bench-churn", daemon=True)
        self.rounds = 0

    def _run(self) -> None:
        while not self._stop.is_set():
            self._editor.change(self._entity_type, self._ids)
            self.rounds += 1
            self._stop.wait(self._period)

    def __enter__(self) -> Churn:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


def sample_index(
    store: SearchStore, editor: SourceEditor, movies: Sequence[str], talent: Sequence[tuple[str, str]] = ()
) -> int:
    """Check that the index holds the source's current data: the title of every movie of ``movies`` and,
    for each (talent id, movie id) of ``talent``, the talent's name in that movie's credits. Raises
    ``SystemExit`` naming what differs; returns how many values were checked."""
    wanted = sorted({*movies, *(movie for _, movie in talent)})
    includes = ["title", "credits.talent.talentId", "credits.talent.name"]
    stored = store.mget(INDEX, wanted, source_includes=includes)
    titles = editor.current("Movie", list(movies))
    names = editor.current("Talent", [talent_id for talent_id, _ in talent]) if talent else {}
    wrong = [
        f"{movie}: title {stored[movie].source.get('title') if movie in stored else None!r}, source {title!r}"
        for movie, title in titles.items()
        if movie not in stored or stored[movie].source.get("title") != title
    ]
    for talent_id, movie in talent:
        credits = stored[movie].source.get("credits") or [] if movie in stored else []
        found = {(credit.get("talent") or {}).get("name") for credit in credits
                 if (credit.get("talent") or {}).get("talentId") == talent_id}  # fmt: skip
        if found != {names[talent_id]}:
            wrong.append(f"{movie}: talent {talent_id} named {sorted(map(str, found))}, source {names[talent_id]!r}")
    if wrong:
        raise SystemExit(f"the index misses {len(wrong)} changes, e.g. " + "; ".join(wrong[:3]))
    return len(titles) + len(talent)


def envelope(entity_type: str, entity_id: str) -> bytes:
    """A small Debezium update event of one entity, timestamped now."""
    row = {KEYS[entity_type]: entity_id}
    return json.dumps({"before": None, "after": row, "op": "u", "ts_ms": time.time_ns() // 1_000_000}).encode()


class EventProducer:
    """Produces Debezium events to the bench topics with large batches; counts what it produced per topic."""

    def __init__(self, bootstrap: str) -> None:
        self._producer = Producer(
            {"bootstrap.servers": bootstrap, "linger.ms": 20, "batch.num.messages": 10_000, "compression.type": "lz4"}
        )
        self.produced: dict[str, int] = dict.fromkeys(TOPICS.values(), 0)

    def send_many(self, entity_type: str, entity_ids: Sequence[str]) -> None:
        for entity_id in entity_ids:
            self.send(entity_type, entity_id)

    def send(self, entity_type: str, entity_id: str) -> None:
        topic = TOPICS[entity_type]
        while True:
            try:
                self._producer.produce(topic, key=entity_id.encode(), value=envelope(entity_type, entity_id))
                break
            except BufferError:
                self._producer.poll(0.05)
        self.produced[topic] += 1
        self._producer.poll(0)

    def flush(self) -> None:
        if self._producer.flush(120) != 0:
            raise SystemExit("Kafka did not acknowledge every bench event within 120 s")

    @property
    def total(self) -> int:
        return sum(self.produced.values())


@dataclass
class DaemonProcess:
    """``graphdex run`` for the bench definition, with its metrics port."""

    process: subprocess.Popen[bytes]
    port: int

    @classmethod
    def start(cls, definition: IndexDefinition, env: dict[str, str], log: Path) -> DaemonProcess:
        port = free_ports(["metrics"])["metrics"]
        argv = [GRAPHDEX, "run", str(definition.path), "--metrics-port", str(port), "--json-logs"]
        with log.open("ab") as output:
            process = subprocess.Popen(argv, stdout=output, stderr=subprocess.STDOUT, env={**os.environ, **env})
        daemon = cls(process, port)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise SystemExit(f"graphdex run exited with {process.returncode}; see {log}")
            try:
                if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                    return daemon
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise SystemExit(f"graphdex run was not ready within 60 s; see {log}")

    def samples(self) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
        text = httpx.get(f"http://127.0.0.1:{self.port}/metrics", timeout=10).text
        return {
            (sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(text)
            for sample in family.samples
        }

    def rss_mb(self) -> float:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return 0.0

    def stop(self) -> float:
        """SIGTERM; seconds until it exited."""
        started = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        return time.monotonic() - started


Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def total(samples: Samples, name: str, **labels: str) -> float:
    """Sum of the samples of ``name`` whose labels include ``labels``."""
    wanted = set(labels.items())
    return sum(value for (metric, found), value in samples.items() if metric == name and wanted <= set(found))


def handled_requests(samples: Samples) -> float:
    """Reindex requests the fetch stage has finished: fetched (with any outcome) or merged into another."""
    return total(samples, "graphdex_fetch_outcomes_total") + total(
        samples, "graphdex_coalesced_duplicates_total", stage="fetch"
    )


def pending(samples: Samples, events: int) -> float:
    """Work the daemon has not finished: bench events not consumed, reindex requests not fetched (nor
    merged into another), fetched documents not written."""
    consumed = sum(total(samples, "graphdex_events_consumed_total", topic=topic) for topic in TOPICS.values())
    requests = total(samples, "graphdex_reindex_requests_total")
    fetched = handled_requests(samples)
    documents = total(samples, "graphdex_fetch_outcomes_total", outcome="fetched") + total(
        samples, "graphdex_fetch_outcomes_total", outcome="deleted"
    )
    written = total(samples, "graphdex_documents_total") + total(samples, "graphdex_dead_letters_total", stage="sink")
    return (events - consumed) + (requests - fetched) + (documents - written)


def wait_idle(
    daemon: DaemonProcess,
    events: int,
    timeout: float = 1800,
    on_sample: Callable[[Samples], None] = lambda samples: None,
) -> Samples:
    """Until the daemon finished the work of ``events`` bench events, and no new work appeared for
    ``QUIET_SECONDS`` (longer than ``settle_delay``: the settle lookups of fan-outs have run)."""
    deadline = time.monotonic() + timeout
    last, since = None, time.monotonic()
    while time.monotonic() < deadline:
        samples = daemon.samples()
        on_sample(samples)
        now = total(samples, "graphdex_reindex_requests_total"), pending(samples, events)
        if now != last:
            last, since = now, time.monotonic()
        elif now[1] <= 0 and time.monotonic() - since >= QUIET_SECONDS:
            return samples
        time.sleep(0.2)
    raise SystemExit(f"the daemon did not finish its work within {timeout:.0f}s")


def quantile(buckets: list[tuple[float, float]], fraction: float) -> float:
    """A quantile from cumulative (upper bound, count) buckets, interpolated linearly within its bucket."""
    count = buckets[-1][1]
    rank, lower, below = fraction * count, 0.0, 0.0
    for bound, cumulative in buckets:
        if cumulative >= rank:
            if bound == float("inf"):
                return lower
            inside = cumulative - below
            return lower + (bound - lower) * ((rank - below) / inside if inside else 1.0)
        lower, below = bound, cumulative
    return lower


def freshness_buckets(before: Samples, after: Samples) -> list[tuple[float, float]]:
    def read(samples: Samples) -> dict[float, float]:
        return {
            float(dict(labels)["le"]): value
            for (name, labels), value in samples.items()
            if name == "graphdex_freshness_seconds_bucket"
        }

    old, new = read(before), read(after)
    return sorted((bound, count - old.get(bound, 0.0)) for bound, count in new.items())


def paced(rate: float, seconds: float, send: Callable[[range], None]) -> int:
    """Call ``send`` with the numbers n = 0, 1, ... that fall due at ``rate`` per second, a few at a time,
    for ``seconds``; returns how many were sent."""
    started, sent = time.monotonic(), 0
    while (elapsed := time.monotonic() - started) < seconds:
        due = int(elapsed * rate)
        if due > sent:
            send(range(sent, due))
            sent = due
        time.sleep(0.005)
    return sent
