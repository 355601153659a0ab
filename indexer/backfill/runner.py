"""``run_backfill``: every root id of an enumeration fetched from the gateway and written to one index.

    run_backfill(definition, target_index="movies-2", enumeration=QueryEnumeration.from_definition(definition),
                 limits=LoadLimits.from_settings(definition.config.backfill),
                 checkpoint=CheckpointStore.for_backfill("movies", "movies-2"))

The main thread enumerates pages and splits them into batches of ``fetch.batch_size`` ids (ids
already done are skipped). Fetch threads (``BatchWorker``, ``2 * limits.concurrency`` batches at a
time) fetch them; each gateway request (pages, batches, retries) waits for the backfill's one
``AdjustableRateLimiter`` and for one of ``limits.concurrency`` slots of the ``MeteredTransport``.
Fetched batches go to a ``GroupedWriter``, which writes many batches in one bulk request on its own
thread, so a search server pausing for a moment does not hold up the gateway requests; no new batch
is fetched while ``4 * sink.max_actions`` documents wait to be written. The next page is enumerated
while the last batches of the previous one are still in flight, so the request rate does not sag at
page boundaries. After every written batch the checkpoint is saved; in adaptive mode the
``AimdController`` moves the rate. Outside the allowed time windows nothing new is sent.

Stopping (the ``stop`` event, Ctrl-C in the CLI): no new batch starts, the batches in hand finish,
the checkpoint is saved, and the summary says ``completed=False``. An unexpected error does the
same and is then raised. A checkpoint left unfinished is resumed by the next call with the same
store (``summary.resumed_from``); clear the store to start over.

Live traffic keeps priority: the daemon's fetch stage has its own rate limiter and the backfill's
defaults are low. The adaptive controller backs off on latency whatever causes it, live traffic
included, but it cannot tell the gateway to serve live requests first.
"""

from __future__ import annotations

import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field

import httpx
import structlog
from prometheus_client import CollectorRegistry

from indexer.backfill.batch_worker import BatchWorker, FetchedBatch
from indexer.backfill.checkpoint import Checkpoint, CheckpointStore, FailureLog
from indexer.backfill.enumeration import Enumeration, GatewayAccess, IdPage
from indexer.backfill.gateway_meter import MeteredTransport, gateway_transport
from indexer.backfill.grouped_writer import GroupedWriter
from indexer.backfill.load_control import (
    AdjustableRateLimiter,
    AimdController,
    LatencyWindow,
    LoadLimits,
    local_now,
    timedelta_text,
)
from indexer.backfill.page_ledger import OpenPage, PageLedger, resumable_checkpoint
from indexer.backfill.progress import BackfillProgress, BackfillSummary
from indexer.definition import IndexDefinition
from indexer.fetch.fetcher import DocumentFetcher
from indexer.fetch.gateway import GatewayClient
from indexer.fetch.metrics import FetchMetrics
from indexer.fetch.versions import VersionClock
from indexer.search_store import SearchStore, open_search_store
from indexer.sink.bulk_sink import BulkSink, WriteOutcome
from schema_gen.config import IndexConfig
from schema_gen.errors import GatewayUnavailable, StoreNotFound, StoreUnavailable

log = structlog.get_logger("graphdex.backfill")

LATENCY_WINDOW_SECONDS = 10.0
TICK_SECONDS = 0.25


def run_backfill(
    definition: IndexDefinition,
    *,
    target_index: str,
    enumeration: Enumeration,
    limits: LoadLimits,
    checkpoint: CheckpointStore,
    progress: bool = True,
    stop: threading.Event | None = None,
    store: SearchStore | None = None,
    transport: httpx.BaseTransport | None = None,
) -> BackfillSummary:
    """Backfill ``target_index`` (a concrete index or an alias) with the documents of every id of
    ``enumeration``, within ``limits``, resuming ``checkpoint`` if it holds an unfinished backfill.

    ``store`` is the search store (default: opened from the definition); ``transport`` replaces the HTTP
    transport to the gateway (tests count or break requests with it).
    """
    run = _BackfillRun(definition, target_index, enumeration, limits, checkpoint, stop or threading.Event(), store)
    try:
        return run.execute(progress=progress, transport=transport)
    finally:
        run.close()


@dataclass
class _InFlight:
    """Batches being fetched, and fetched batches being written."""

    fetching: dict[Future[FetchedBatch], OpenPage] = field(default_factory=dict)
    writing: dict[Future[list[WriteOutcome]], tuple[OpenPage, FetchedBatch]] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.fetching or self.writing)


class _BackfillRun:
    def __init__(
        self,
        definition: IndexDefinition,
        target: str,
        enumeration: Enumeration,
        limits: LoadLimits,
        store: CheckpointStore,
        stop: threading.Event,
        search_store: SearchStore | None,
    ) -> None:
        self.definition, self.config = definition, definition.config
        self.target, self.enumeration, self.limits, self.store = target, enumeration, limits, store
        self.stop = stop
        self._halt = threading.Event()
        self._own_search_store = search_store is None
        self.search_store = search_store or open_search_store(self.config.elasticsearch)
        self.window = LatencyWindow(LATENCY_WINDOW_SECONDS)
        self.limiter = AdjustableRateLimiter(limits.rate)
        self._closers: list[Callable[[], None]] = []
        self._failures = FailureLog(store.failures_path)
        self._queue: deque[tuple[OpenPage, list[str]]] = deque()
        self._outage = ""

    @property
    def _batch_size(self) -> int:
        return self.limits.batch_size or self.config.fetch.batch_size

    @property
    def _fetches_in_flight(self) -> int:
        """Twice the gateway concurrency, so a request is always ready when a slot frees up."""
        return 2 * self.limits.concurrency

    @property
    def _most_waiting(self) -> int:
        """Documents fetched but not written beyond which no new batch is fetched."""
        return 4 * self.config.sink.max_actions

    # -- set-up -------------------------------------------------------------------------------

    def _fetch_config(self) -> IndexConfig:
        # More fetch threads than gateway slots: a thread rendering the last answer or handing it on is
        # not one waiting for the next token (the transport still caps requests at the concurrency).
        fetch = self.config.fetch.model_copy(
            update={"max_in_flight": self._fetches_in_flight, "batch_size": self._batch_size, "rate_limit": None}
        )
        return self.config.model_copy(update={"fetch": fetch})

    def _clients(self, transport: httpx.BaseTransport | None) -> tuple[DocumentFetcher, GatewayClient]:
        config = self._fetch_config()
        inner = transport or gateway_transport(config.graph.verify_tls, self.limits.concurrency + 1)
        metered = MeteredTransport(inner, self.window, max_in_flight=self.limits.concurrency)
        metrics = FetchMetrics(CollectorRegistry())
        fetcher = DocumentFetcher.for_index(
            self.definition.model, config, rate_limiter=self.limiter, metrics=metrics, transport=metered
        )
        self._closers.append(fetcher.close)
        pages = GatewayClient.from_config(
            config, metrics=metrics, versions=VersionClock(), rate_limiter=self.limiter, transport=metered
        )
        self._closers.append(pages.close)
        return fetcher, pages

    def _start(self) -> tuple[Checkpoint, int | None]:
        resumed = resumable_checkpoint(self.store, self.config.index, self.target, self.enumeration.source)
        if resumed is not None:
            log.info("backfill resumes", target=self.target, ids_done=resumed.ids_done, checkpoint=str(self.store.path))
            return resumed, resumed.ids_done
        self.store.clear()
        fresh = Checkpoint(self.config.index, self.target, self.enumeration.source)
        self.store.save(fresh)
        return fresh, None

    def _estimated_total(self) -> tuple[int | None, bool]:
        total = self.enumeration.total()
        if total is not None:
            return total, False
        try:
            return self.search_store.count(self.config.index) or None, True
        except (StoreNotFound, StoreUnavailable):
            return None, False

    # -- the run --------------------------------------------------------------------------------

    def execute(self, *, progress: bool, transport: httpx.BaseTransport | None) -> BackfillSummary:
        began = time.monotonic()
        saved, resumed_from = self._start()
        self.ledger = PageLedger(self.store, saved, lambda: self.window.requests)
        total, estimated = self._estimated_total()
        fetcher, pages_client = self._clients(transport)
        aimd = self.limits.aimd()
        controller = AimdController(aimd, self.limiter, self.window) if aimd else None
        sink = self.config.sink
        writer = GroupedWriter(
            BulkSink(self.search_store, self.target, sink),
            max_actions=sink.max_actions,
            max_wait=sink.max_wait,
            pause=self._pause,
        )
        self._closers.append(writer.close)
        worker = BatchWorker(
            fetcher=fetcher,
            document_attempts=self.limits.document_attempts,
            stopping=self._stopping,
            pause=self._pause,
            on_outage=self._note_outage,
        )
        pages = self.enumeration.pages(saved.cursor, GatewayAccess(pages_client, self._pause))
        bar = BackfillProgress(
            total=total, initial=resumed_from or 0, estimated=estimated, enabled=progress, target=self.target
        )
        log.info("backfill starts", target=self.target, source=self.enumeration.source, limits=self.limits.describe())
        pool = ThreadPoolExecutor(max_workers=self._fetches_in_flight, thread_name_prefix="backfill-fetch")
        flight = _InFlight()
        error: BaseException | None = None
        try:
            while True:
                self._tick(controller, bar)
                closed_for = self.limits.windows.seconds_until_open(local_now())
                if closed_for > 0:
                    bar.state(f"outside {self.limits.windows.describe()}, opens in {timedelta_text(closed_for)}")
                elif not self._stopping():
                    self._fill(flight, pool, worker, writer, pages)
                if not flight:
                    if self.ledger.exhausted or self._stopping():
                        break
                    self.stop.wait(min(max(closed_for, TICK_SECONDS), 1.0))
                    continue
                self._advance(flight, writer, bar, timeout=TICK_SECONDS)
        except BaseException as raised:
            error = raised
            self._halt.set()
        finally:
            while flight:  # the batches in hand are fetched and written before returning or raising
                try:
                    self._advance(flight, writer, bar, timeout=None)
                except BaseException as raised:
                    error = error or raised
                    self._halt.set()
            pool.shutdown(wait=True)
            bar.close()
        completed = error is None and self.ledger.finished
        if completed:
            self._refresh()
        if error is not None:
            raise error
        return self._summary(began, resumed_from, completed)

    def _fill(
        self,
        flight: _InFlight,
        pool: ThreadPoolExecutor,
        worker: BatchWorker,
        writer: GroupedWriter,
        pages: Iterator[IdPage],
    ) -> None:
        while (
            len(flight.fetching) < self._fetches_in_flight
            and writer.waiting < self._most_waiting
            and not self._stopping()
        ):
            if not self._queue and not self._enumerate(pages):
                return
            page, ids = self._queue.popleft()
            flight.fetching[pool.submit(worker.fetch, ids)] = page

    def _advance(self, flight: _InFlight, writer: GroupedWriter, bar: BackfillProgress, timeout: float | None) -> None:
        """Wait for a fetch or a write to end: a fetched batch goes to the writer, a written one is done."""
        finished, _ = wait([*flight.fetching, *flight.writing], timeout=timeout, return_when=FIRST_COMPLETED)
        for future in finished:
            if future in flight.fetching:
                page = flight.fetching.pop(future)
                batch = future.result()
                flight.writing[writer.submit(batch.writes)] = (page, batch)
            else:
                page, batch = flight.writing.pop(future)
                self._handle(page, batch, future.result(), bar)

    def _enumerate(self, pages: Iterator[IdPage]) -> bool:
        """Queue the batches of the next page with work left; False when there are no more pages."""
        batch_size = self._batch_size
        while not self._queue:
            if self.ledger.exhausted:
                return False
            try:
                page = next(pages, None)
            except GatewayUnavailable:
                if self._stopping():
                    return False
                raise
            if page is None:
                self.ledger.end()
                return False
            opened, todo = self.ledger.open(page)
            self._queue.extend((opened, todo[n : n + batch_size]) for n in range(0, len(todo), batch_size))
        return True

    def _handle(self, page: OpenPage, batch: FetchedBatch, outcomes: list[WriteOutcome], bar: BackfillProgress) -> None:
        """Record a written batch: failures into the failures file, its ids done, the checkpoint saved."""
        statuses: Counter[str] = Counter({"failed": len(batch.failures)})
        failures = list(batch.failures)
        done: list[str] = []
        for outcome in outcomes:
            if outcome.status == "retry":
                continue  # the backfill stopped while the search server refused it: not done
            statuses[outcome.status] += 1
            if outcome.status == "failed":
                failures.append((outcome.write.id, f"refused by the index: {outcome.reason}: {outcome.detail}"))
            else:
                done.append(outcome.write.id)
        self._failures.record(failures)
        done += [document_id for document_id, _ in failures]
        self.ledger.record(page, done, statuses)
        bar.advance(len(done), statuses["failed"])

    # -- helpers ----------------------------------------------------------------------------------

    def _stopping(self) -> bool:
        return self.stop.is_set() or self._halt.is_set()

    def _pause(self, seconds: float) -> bool:
        """Wait up to ``seconds``; False (at once) when the backfill is stopping."""
        deadline = time.monotonic() + seconds
        while not self._stopping():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return True
            self.stop.wait(min(remaining, TICK_SECONDS))
        return False

    def _note_outage(self, detail: str) -> None:
        self._outage = detail

    def _tick(self, controller: AimdController | None, bar: BackfillProgress) -> None:
        if controller is not None:
            change = controller.tick()
            if change is not None:
                log.info("backfill rate changed", old=round(change.old, 2), new=round(change.new, 2), why=change.reason)
        bar.gauges(limit=self.limiter.rate, p95=self.window.stats().p95)
        if self._outage:
            bar.state("gateway unavailable, waiting")
            self._outage = ""
        elif self._stopping():
            bar.state("stopping after the batches in hand")
        else:
            bar.state("")

    def _refresh(self) -> None:
        try:
            self.search_store.refresh(self.target)
        except (StoreNotFound, StoreUnavailable) as error:
            log.warning("cannot refresh the backfilled index", target=self.target, error=str(error))

    def _summary(self, began: float, resumed_from: int | None, completed: bool) -> BackfillSummary:
        statuses = self.ledger.statuses
        return BackfillSummary(
            target=self.target,
            source=self.enumeration.source,
            enumerated=self.ledger.handled,
            indexed=statuses["indexed"],
            deleted=statuses["deleted"],
            noop=statuses["noop"],
            failed=statuses["failed"],
            gateway_requests=self.window.requests,
            seconds=time.monotonic() - began,
            resumed_from=resumed_from,
            completed=completed,
            failures_file=str(self.store.failures_path) if statuses["failed"] else None,
            final_rate=self.limiter.rate,
        )

    def close(self) -> None:
        for close in reversed(self._closers):
            close()
        self._failures.close()
        if self._own_search_store:
            self.search_store.close()
