"""``DocumentFetcher``: ids in, one outcome per id out (fetched and rendered, deleted, or failed).

Distinct ids are split into batches of ``fetch.batch_size``, each fetched in ONE gateway request (see
``schema_gen.batching``), up to ``fetch.max_in_flight`` at a time, and rendered by the same
``DocumentRenderer`` as ``graphdex render``. Errors are sorted per document (``indexer.fetch.response``);
a gateway that fails as a whole raises ``GatewayUnavailable`` instead, so that the caller pauses
rather than failing every document: nothing is dead-lettered because of an outage. The circuit
breaker refuses calls at once while the gateway is known to be down.

A batch whose request fails as a whole (the gateway fails, or an error at no document's path) may owe
it to one poison id rather than to an outage: it is split (``indexer.fetch.isolation``) until the ids
that fail alone are found while the gateway answers without them. Those become ``Failed`` with reason
``request_failed`` (retryable: the retry topic, then the dead-letter topic) and the rest of the batch is
fetched; the breaker counts that batch as answered. Only when nothing is answered, not even a request
for an id fetched recently, is it an outage (``GatewayUnavailable``, one breaker failure per batch) or,
for GraphQL errors, a failure of every document, as without splitting. A single id that fails as a
whole is an outage too, unless it was isolated before and that recently fetched id is answered.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any, Protocol

import httpx
import structlog
from prometheus_client import CollectorRegistry

from indexer.fetch.breaker import BreakerState, CircuitBreaker
from indexer.fetch.gateway import GatewayClient, GatewayFailure
from indexer.fetch.isolation import BatchBisection, Isolation, IsolationMemory, IsolationResult, WholeFailure
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

_log = structlog.get_logger("graphdex.fetch")


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
        memory: IsolationMemory | None = None,
    ) -> None:
        self.index, self.root_type = index, root_type
        self._builder, self._renderer, self._gateway = builder, renderer, gateway
        self._batch_size = settings.batch_size
        self._breaker, self._metrics = breaker, metrics
        self._memory = memory or IsolationMemory()
        self._bisection = BatchBisection(lambda ids: self._request(ids, attempts=1))
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
        memory: IsolationMemory | None = None,
    ) -> DocumentFetcher:
        """A fetcher wired from an index definition.

        Share ``rate_limiter`` (and ``metrics``, one per registry) between the fetchers of a process;
        without one, ``fetch.rate_limit`` (if set) gets a limiter of its own. ``transport`` is the test
        seam (``httpx.MockTransport``); ``sleep`` and ``clock`` drive backoff and the breaker's cooldown.
        ``memory`` defaults to the process's ``IsolationMemory`` of this index and gateway, so that the
        live and retry fetchers know the same culprits.
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
            memory=memory or IsolationMemory.shared(gateway.url, config.index),
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
        as a whole (after retries, and after splitting the batch found nothing answered) or its breaker is
        open: then no outcome is returned at all."""
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
        """The outcomes of one batch; a request failing as a whole is split to find its poison ids."""
        answer = self._request(ids)
        if isinstance(answer, dict):
            self._breaker.record_success()
            return answer
        splittable = len(ids) > 1 or self._memory.is_culprit(ids[0])
        if not (splittable and answer.may_be_caused_by_ids):
            return self._whole_batch_failed(answer)
        isolation = self._bisection.isolate(ids, answer, control=self._memory.control)
        return self._settle(isolation)

    def _request(self, ids: Sequence[str], *, attempts: int | None = None) -> dict[str, FetchOutcome] | WholeFailure:
        """One gateway request for ``ids``: an outcome per id, or how the request failed as a whole."""
        batch = self._builder.build(ids)
        reply = self._gateway.send(batch, attempts=attempts)
        if isinstance(reply, GatewayFailure):
            return WholeFailure(reply.message, retryable=True, outage=reply)
        facts = self._builder.facts
        results = split_response(batch, reply.body, root_key=facts.root_response_key, id_field=facts.id_field)
        outcomes = {
            document_id: self._outcome(document_id, result, reply.version) for document_id, result in results.items()
        }
        whole = next((r for r in results.values() if isinstance(r, Errored) and r.whole_request), None)
        if whole is not None:
            return WholeFailure(whole.detail, retryable=whole.retryable, failed=outcomes)
        self._memory.answered(outcomes.values())
        return outcomes

    def _whole_batch_failed(self, failure: WholeFailure) -> dict[str, FetchOutcome]:
        """A batch that failed as a whole, reported as such: an outage, or every document failed."""
        if failure.outage is not None:
            self._breaker.record_failure(failure.outage.message)
            raise failure.outage.error()
        self._breaker.record_success()
        return dict(failure.failed)

    def _settle(self, isolation: Isolation) -> dict[str, FetchOutcome]:
        """The outcomes of a batch after isolation: answered ids, culprits failed, the rest as it failed."""
        self._metrics.isolations.labels(self.index, isolation.result.value).inc()
        self._metrics.isolation_requests.labels(self.index).inc(isolation.requests)
        if isolation.control is not None and not isolation.control_answered:
            self._memory.forget_control(isolation.control)
        context = {"index": self.index, "batch": isolation.batch_size, "requests": isolation.requests}
        outage = next((f.outage for _, f in isolation.unresolved if f.outage is not None), None)
        if outage is not None:
            outage = isolation.failure.outage or outage  # the batch's own failure says most (its attempts)
            _log.warning(
                "request failed as a whole and isolating its ids did not pin it on a few: the gateway is failing",
                result=isolation.result.value,
                detail=outage.message,
                **context,
            )
            self._breaker.record_failure(outage.message)
            raise outage.error()
        self._breaker.record_success()
        outcomes = dict(isolation.outcomes)
        for _, failure in isolation.unresolved:
            outcomes.update(failure.failed)
        if isolation.result is IsolationResult.TRANSIENT:
            _log.info("request failed as a whole, its parts were answered", **context)
        elif isolation.result is IsolationResult.TOO_MANY:
            _log.warning("request failed as a whole, too many parts failing to isolate ids", **context)
        for document_id, failure in isolation.culprits.items():
            outcomes[document_id] = self._culprit(document_id, failure, isolation)
            _log.warning(
                "poison id isolated: every request with it fails as a whole",
                entity=f"{self.root_type}:{document_id}",
                detail=failure.detail,
                **context,
            )
        return outcomes

    def _culprit(self, document_id: str, failure: WholeFailure, isolation: Isolation) -> Failed:
        self._memory.add_culprit(document_id)
        if isolation.batch_size > 1:
            evidence = f"splitting its batch of {isolation.batch_size} took {isolation.requests} more request(s)"
        else:
            evidence = f"fetched alone again; a request for {isolation.control} was answered"
        return Failed(
            document_id,
            FailureReason.REQUEST_FAILED,
            f"the request failed as a whole only when {document_id} was in it ({evidence}): {failure.detail}",
            retryable=failure.retryable,
        )

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
