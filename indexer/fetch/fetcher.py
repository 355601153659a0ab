"""``DocumentFetcher``: ids in, one outcome per id out (fetched and rendered, deleted, or failed).

Distinct ids are split into batches of ``fetch.batch_size``, each fetched in ONE gateway request (see
``schema_gen.batching``), up to ``fetch.max_in_flight`` at a time, and rendered by the same
``DocumentRenderer`` as ``graphdex render``. Errors are sorted per document (``indexer.fetch.response``);
a gateway that fails as a whole raises ``GatewayUnavailable`` instead, so that the caller pauses
rather than failing every document: nothing is dead-lettered because of an outage. The circuit
breaker refuses calls at once while the gateway is known to be down.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any, Protocol

import httpx
from prometheus_client import CollectorRegistry

from indexer.fetch.breaker import BreakerState, CircuitBreaker
from indexer.fetch.gateway import GatewayClient
from indexer.fetch.metrics import FetchMetrics
from indexer.fetch.outcomes import Deleted, Failed, FailureReason, Fetched, FetchOutcome
from indexer.fetch.rate_limit import RequestRateLimiter
from indexer.fetch.response import Absent, EntityResult, Errored, split_response
from indexer.fetch.versions import VersionClock
from schema_gen.batching import BatchQueryBuilder, InvalidIdError
from schema_gen.config import FetchSettings, IndexConfig
from schema_gen.errors import DocumentError, GatewayUnavailable
from schema_gen.model import DocumentModel
from schema_gen.render import DocumentRenderer


class EntityRenderer(Protocol):
    """Turns one root entity of a response into its index document (``DocumentRenderer``)."""

    def render_entity(self, entity: Any, id: str, *, fetched_at: datetime | None = None) -> dict[str, Any]: ...


class DocumentFetcher:
    """Fetches the documents of one index from the gateway; thread-safe, one per index and process."""

    def __init__(
        self,
        *,
        index: str,
        root_type: str,
        builder: BatchQueryBuilder,
        renderer: EntityRenderer,
        gateway: GatewayClient,
        settings: FetchSettings,
        breaker: CircuitBreaker,
        metrics: FetchMetrics,
    ) -> None:
        self.index, self.root_type = index, root_type
        self._builder, self._renderer, self._gateway = builder, renderer, gateway
        self._batch_size = settings.batch_size
        self._breaker, self._metrics = breaker, metrics
        self._pool = ThreadPoolExecutor(max_workers=settings.max_in_flight, thread_name_prefix=f"fetch-{index}")

    @classmethod
    def for_index(
        cls,
        model: DocumentModel,
        config: IndexConfig,
        *,
        renderer: EntityRenderer | None = None,
        rate_limiter: RequestRateLimiter | None = None,
        breaker: CircuitBreaker | None = None,
        metrics: FetchMetrics | None = None,
        transport: httpx.BaseTransport | None = None,
        versions: VersionClock | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> DocumentFetcher:
        """A fetcher wired from an index definition.

        Share ``rate_limiter`` (and ``metrics``, one per registry) between the fetchers of a process;
        without one, ``fetch.rate_limit`` (if set) gets a limiter of its own. ``transport`` is the test
        seam (``httpx.MockTransport``); ``sleep`` and ``clock`` drive backoff and the breaker's cooldown.
        """
        settings = config.fetch
        if rate_limiter is None and settings.rate_limit is not None:
            rate_limiter = RequestRateLimiter(settings.rate_limit, clock=clock, sleep=sleep)
        metrics = metrics or FetchMetrics(CollectorRegistry())
        gateway = GatewayClient.from_config(
            config,
            metrics=metrics,
            versions=versions or VersionClock(),
            rate_limiter=rate_limiter,
            transport=transport,
            sleep=sleep,
        )
        breaker = breaker or CircuitBreaker(
            threshold=settings.breaker_threshold,
            cooldown=settings.breaker_cooldown,
            name=f"gateway {config.graph.url}",
            clock=clock,
        )
        return cls(
            index=config.index,
            root_type=model.root_type,
            builder=BatchQueryBuilder.for_model(model, source=config.query_file or f"{config.index} query"),
            renderer=renderer or DocumentRenderer(model, config),
            gateway=gateway,
            settings=settings,
            breaker=breaker,
            metrics=metrics,
        )

    @property
    def breaker(self) -> CircuitBreaker:
        return self._breaker

    def close(self) -> None:
        """Wait for requests in flight, then release threads and connections."""
        self._pool.shutdown(wait=True)
        self._gateway.close()

    def __enter__(self) -> DocumentFetcher:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def fetch(self, ids: Iterable[str]) -> list[FetchOutcome]:
        """One outcome per distinct id, in first-seen order; ``GatewayUnavailable`` if the gateway failed
        as a whole (after retries) or its breaker is open: then no outcome is returned at all."""
        distinct = list(dict.fromkeys(ids))
        outcomes: dict[str, FetchOutcome] = {}
        fetchable: list[str] = []
        for document_id in distinct:
            try:
                self._builder.coerce_id(document_id)
            except InvalidIdError as error:
                outcomes[document_id] = Failed(document_id, FailureReason.INVALID_ID, str(error), retryable=False)
            else:
                fetchable.append(document_id)
        if fetchable:
            outcomes.update(self._fetch_batches(fetchable))
        ordered = [outcomes[document_id] for document_id in distinct]
        self._count(ordered)
        return ordered

    def _fetch_batches(self, ids: Sequence[str]) -> dict[str, FetchOutcome]:
        try:
            probe = self._breaker.admit()
        except GatewayUnavailable:
            self._metrics.rejected.labels(self.index).inc()
            self._show_breaker()
            raise
        try:
            batches = [ids[start : start + self._batch_size] for start in range(0, len(ids), self._batch_size)]
            futures: list[Future[dict[str, FetchOutcome]]] = [
                self._pool.submit(self._fetch_batch, batch) for batch in batches
            ]
            outcomes: dict[str, FetchOutcome] = {}
            outages: list[GatewayUnavailable] = []
            for future in futures:
                try:
                    outcomes.update(future.result())
                except GatewayUnavailable as outage:
                    outages.append(outage)
            if outages:
                raise outages[0]
            return outcomes
        finally:
            if probe:
                self._breaker.release_probe()
            self._show_breaker()

    def _fetch_batch(self, ids: Sequence[str]) -> dict[str, FetchOutcome]:
        batch = self._builder.build(ids)
        try:
            reply = self._gateway.execute(batch)
        except GatewayUnavailable as outage:
            self._breaker.record_failure(str(outage))
            raise
        self._breaker.record_success()
        facts = self._builder.facts
        results = split_response(batch, reply.body, root_key=facts.root_response_key, id_field=facts.id_field)
        return {
            document_id: self._outcome(document_id, result, reply.version) for document_id, result in results.items()
        }

    def _outcome(self, document_id: str, result: EntityResult, version: int) -> FetchOutcome:
        if isinstance(result, Absent):
            return Deleted(document_id, version)
        if isinstance(result, Errored):
            return Failed(document_id, FailureReason.GRAPHQL_ERROR, result.detail, retryable=result.retryable)
        fetched_at = datetime.fromtimestamp(version / 1_000_000, UTC)
        try:
            document = self._renderer.render_entity(result.entity, document_id, fetched_at=fetched_at)
        except DocumentError as error:
            return Failed(document_id, FailureReason.MAPPING_ERROR, str(error), retryable=False)
        return Fetched(document_id, document, version)

    def _count(self, outcomes: Iterable[FetchOutcome]) -> None:
        for outcome in outcomes:
            if isinstance(outcome, Fetched):
                self._metrics.outcomes.labels(self.index, "fetched", "").inc()
            elif isinstance(outcome, Deleted):
                self._metrics.outcomes.labels(self.index, "deleted", "").inc()
            else:
                self._metrics.outcomes.labels(self.index, "failed", outcome.reason.value).inc()

    def _show_breaker(self) -> None:
        self._metrics.breaker_open.labels(self.index).set(0 if self._breaker.state is BreakerState.CLOSED else 1)
