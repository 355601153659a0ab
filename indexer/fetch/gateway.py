"""The GraphQL gateway over HTTP: one POST per batch, retried with backoff, gateway failures told apart.

A request is retried (exponential backoff with jitter, up to ``attempts`` in all) when the gateway as
a whole failed: timeout, connection error, HTTP 429 (waiting at least its ``Retry-After``) or 5xx, a
2xx body that is not a GraphQL response, or an error saying a subgraph could not be reached. If it
still fails, ``execute`` raises ``GatewayUnavailable``; other 4xx answers without a GraphQL body
(401, 403, 404: the gateway refuses everything) raise it at once. Every other answer, including
GraphQL errors, is returned for the caller to sort per document.

``send`` is the same without raising: it returns the ``GatewayFailure``, which also tells whether the
request's content could have caused it (the fetcher then splits the batch to find a poison id), and
takes fewer attempts for such probes.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
import structlog
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential,
    wait_random,
)

from indexer.fetch.metrics import FetchMetrics
from indexer.fetch.rate_limit import RequestRateLimiter
from indexer.fetch.response import unavailable_subgraph
from indexer.fetch.versions import VersionClock
from schema_gen.batching import BatchQuery
from schema_gen.config import IndexConfig
from schema_gen.errors import ConfigError, GatewayUnavailable

_log = structlog.get_logger(__name__)
_ACCEPT = "application/graphql-response+json, application/json;q=0.9"


@dataclass(frozen=True)
class GatewayReply:
    """A GraphQL response body and the version of the data in it."""

    body: dict[str, Any]
    version: int
    """When the answering attempt started, in microseconds since the epoch (see ``VersionClock``)."""


@dataclass(frozen=True)
class GatewayFailure:
    """A request the gateway failed as a whole, after its attempts: what ``execute`` raises as
    ``GatewayUnavailable``."""

    message: str
    retry_after: float | None
    kind: str
    """The last attempt's failure: timeout, connection, http_429, http_5xx, http_4xx, bad_response,
    subgraph_unavailable (the ``graphdex_gateway_errors`` kinds)."""
    request_sent: bool
    """False when the last attempt never reached the gateway (no connection could be made)."""

    @property
    def may_be_caused_by_the_request(self) -> bool:
        """Whether something the request carries (one of its ids) could have caused the failure: it
        reached the gateway and was not refused for its rate (429). Only then is splitting a batch worth it."""
        return self.request_sent and self.kind != "http_429"

    def error(self) -> GatewayUnavailable:
        return GatewayUnavailable(self.message, retry_after=self.retry_after)


class _GatewayFailure(Exception):
    """One attempt failed because of the gateway, not of any document (never leaves this module)."""

    def __init__(
        self,
        kind: str,
        detail: str,
        *,
        retry_after: float | None = None,
        transient: bool = True,
        sent: bool = True,
    ) -> None:
        super().__init__(detail)
        self.kind, self.detail, self.retry_after, self.transient = kind, detail, retry_after, transient
        self.sent = sent


class _TransientFailure(_GatewayFailure):
    """Worth another attempt."""


def parse_retry_after(value: str | None, now: Callable[[], float] = time.time) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta seconds or an HTTP date), or None."""
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(moment.timestamp() - now(), 0.0)


def _short(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else f"{text[: limit - 3]}..."


class GatewayClient:
    """Sends batched operations to one gateway; thread-safe (one ``httpx.Client`` shared by threads)."""

    def __init__(
        self,
        url: str,
        *,
        index: str,
        metrics: FetchMetrics,
        versions: VersionClock,
        headers: Mapping[str, str] | None = None,
        timeout: float = 10.0,
        verify_tls: bool = True,
        attempts: int = 3,
        max_connections: int = 4,
        rate_limiter: RequestRateLimiter | None = None,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        backoff_initial: float = 0.1,
        backoff_max: float = 5.0,
        retry_after_limit: float = 30.0,
    ) -> None:
        self.url, self.index, self.attempts = url, index, attempts
        self._metrics, self._versions, self._rate_limiter = metrics, versions, rate_limiter
        self._sleep = sleep
        self._backoff = wait_exponential(multiplier=backoff_initial, max=backoff_max) + wait_random(0, backoff_initial)
        self._retry_after_limit = retry_after_limit
        self._http = httpx.Client(
            headers={"accept": _ACCEPT, **(headers or {})},
            timeout=httpx.Timeout(timeout),
            verify=verify_tls,
            transport=transport,
            limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections),
        )

    @classmethod
    def from_config(
        cls,
        config: IndexConfig,
        *,
        metrics: FetchMetrics,
        versions: VersionClock,
        rate_limiter: RequestRateLimiter | None = None,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> GatewayClient:
        """A client for ``config.graph.url`` with its headers and TLS setting, and ``config.fetch``'s
        timeout, attempts and concurrency."""
        if not config.graph.url:
            raise ConfigError(
                f"index {config.index}: graph.url is not set; the indexer fetches documents from the gateway at "
                "graph.url (graph.schema_file alone only serves generation)"
            )
        return cls(
            config.graph.url,
            index=config.index,
            metrics=metrics,
            versions=versions,
            headers=config.graph.headers,
            timeout=config.fetch.timeout,
            verify_tls=config.graph.verify_tls,
            attempts=config.fetch.attempts,
            max_connections=config.fetch.max_in_flight,
            rate_limiter=rate_limiter,
            transport=transport,
            sleep=sleep,
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> GatewayClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def execute(self, batch: BatchQuery) -> GatewayReply:
        """The gateway's answer to ``batch``; ``GatewayUnavailable`` if the gateway failed as a whole."""
        answer = self.send(batch)
        if isinstance(answer, GatewayFailure):
            raise answer.error()
        return answer

    def send(self, batch: BatchQuery, *, attempts: int | None = None) -> GatewayReply | GatewayFailure:
        """The gateway's answer to ``batch``, or how the gateway failed as a whole after ``attempts``
        attempts (the client's own number by default; 1 sends it once, without any backoff)."""
        self._metrics.batch_size.labels(self.index).observe(len(batch.ids))
        retrying = Retrying(
            stop=stop_after_attempt(attempts or self.attempts) | self._retry_after_too_long,
            wait=self._wait,
            retry=retry_if_exception_type(_TransientFailure),
            sleep=self._sleep,
            before_sleep=self._before_sleep,
            reraise=True,
        )
        try:
            return retrying(self._attempt, batch)
        except _GatewayFailure as failure:
            tries = "" if not failure.transient else f" after {self._attempts_made(retrying)} attempt(s)"
            return GatewayFailure(
                f"gateway {self.url} failed{tries}: {failure.detail}",
                retry_after=failure.retry_after,
                kind=failure.kind,
                request_sent=failure.sent,
            )

    @staticmethod
    def _attempts_made(retrying: Retrying) -> int:
        return int(retrying.statistics.get("attempt_number", 1))

    def _wait(self, state: RetryCallState) -> float:
        backoff = float(self._backoff(state))
        failure = state.outcome.exception() if state.outcome else None
        if isinstance(failure, _GatewayFailure) and failure.retry_after is not None:
            return max(failure.retry_after, backoff)
        return backoff

    def _retry_after_too_long(self, state: RetryCallState) -> bool:
        failure = state.outcome.exception() if state.outcome else None
        return (
            isinstance(failure, _GatewayFailure)
            and failure.retry_after is not None
            and failure.retry_after > self._retry_after_limit
        )

    def _before_sleep(self, state: RetryCallState) -> None:
        failure = state.outcome.exception() if state.outcome else None
        kind = failure.kind if isinstance(failure, _GatewayFailure) else "unknown"
        self._metrics.retries.labels(self.index, kind).inc()
        _log.warning(
            "gateway request failed, retrying",
            index=self.index,
            kind=kind,
            detail=str(failure),
            attempt=state.attempt_number,
            wait_s=round(state.upcoming_sleep, 3),
        )

    def _attempt(self, batch: BatchQuery) -> GatewayReply:
        if self._rate_limiter is not None:
            self._rate_limiter.acquire()
        version = self._versions.next_version()
        started = time.perf_counter()
        try:
            response = self._post(batch)
            body = self._body(response)
        except _GatewayFailure as failure:
            self._metrics.gateway_errors.labels(self.index, failure.kind).inc()
            raise
        finally:
            self._metrics.latency.labels(self.index).observe(time.perf_counter() - started)
        return GatewayReply(body, version)

    def _post(self, batch: BatchQuery) -> httpx.Response:
        try:
            return self._http.post(self.url, json=batch.payload())
        except httpx.TimeoutException as error:
            # Waiting for a connection (ours or the gateway's) means nothing was sent yet.
            sent = not isinstance(error, httpx.ConnectTimeout | httpx.PoolTimeout)
            raise _TransientFailure("timeout", f"timed out ({type(error).__name__}: {error})", sent=sent) from error
        except httpx.TransportError as error:
            sent = not isinstance(error, httpx.ConnectError)
            raise _TransientFailure("connection", f"{type(error).__name__}: {error}", sent=sent) from error

    def _body(self, response: httpx.Response) -> dict[str, Any]:
        """The parsed GraphQL body of a response, or the ``_GatewayFailure`` it amounts to."""
        status = response.status_code
        if status == 429 or status >= 500:
            kind = "http_429" if status == 429 else "http_5xx"
            retry_after = parse_retry_after(response.headers.get("retry-after"))
            raise _TransientFailure(kind, f"HTTP {status}: {_short(response.text)}", retry_after=retry_after)
        try:
            body = response.json()
        except ValueError:
            body = None
        graphql_body = isinstance(body, dict) and ("data" in body or "errors" in body)
        if not graphql_body:
            detail = f"HTTP {status} without a GraphQL response: {_short(response.text) or '(empty body)'}"
            if status >= 400:
                raise _GatewayFailure("http_4xx", detail, transient=False)
            raise _TransientFailure("bad_response", detail)
        assert isinstance(body, dict)
        unavailable = unavailable_subgraph(body)
        if unavailable is not None:
            raise _TransientFailure("subgraph_unavailable", f"a subgraph is unavailable: {unavailable}")
        return body
