"""``MeteredTransport``: every HTTP request a backfill sends to the gateway, timed and judged.

It wraps the httpx transport of the backfill's gateway clients (document batches and enumeration
pages), so it sees each attempt, retries included: it holds back requests beyond the backfill's
concurrency cap, and records in a ``LatencyWindow`` how long the
whole answer took and whether the gateway failed: no answer, HTTP 429 or 5xx, or a GraphQL answer
saying a subgraph could not be reached (the same judgement as ``GatewayClient``). The adaptive rate
controller reads the window; the backfill's summary counts its requests.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable

import httpx

from indexer.backfill.load_control import LatencyWindow
from indexer.fetch.response import unavailable_subgraph


def gateway_transport(verify_tls: bool, max_connections: int) -> httpx.HTTPTransport:
    """The plain HTTP transport ``GatewayClient`` would build itself (a custom transport replaces its pool)."""
    return httpx.HTTPTransport(
        verify=verify_tls,
        limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections),
    )


def answer_failed(response: httpx.Response) -> bool:
    """True when the gateway as a whole failed to answer (429, 5xx, a subgraph unreachable)."""
    if response.status_code == 429 or response.status_code >= 500:
        return True
    content = response.content
    if b'"errors"' not in content:
        return False
    try:
        body = json.loads(content)
    except ValueError:
        return False
    return isinstance(body, dict) and unavailable_subgraph(body) is not None


class MeteredTransport(httpx.BaseTransport):
    """Lets at most ``max_in_flight`` requests through ``inner`` at a time (the backfill's concurrency
    cap, whoever sends them) and times each one, reading the whole answer, into ``window``."""

    def __init__(
        self,
        inner: httpx.BaseTransport,
        window: LatencyWindow,
        *,
        max_in_flight: int,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self._inner, self.window, self._clock = inner, window, clock
        self._slots = threading.BoundedSemaphore(max_in_flight)
        self._closed = False

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        with self._slots:
            started = self._clock()
            try:
                response = self._inner.handle_request(request)
                response.read()
            except BaseException:
                self.window.record(self._clock() - started, ok=False)
                raise
            self.window.record(self._clock() - started, ok=not answer_failed(response))
            return response

    def close(self) -> None:
        """Close the inner transport once (several clients may share this one)."""
        if not self._closed:
            self._closed = True
            self._inner.close()
