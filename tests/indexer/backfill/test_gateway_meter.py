"""The metered transport: every request timed and judged, and never more than the cap in flight."""

from __future__ import annotations

import threading
import time

import httpx
import pytest

from indexer.backfill.gateway_meter import MeteredTransport, answer_failed
from indexer.backfill.load_control import LatencyWindow

URL = "http://gateway.test/"


def test_answers_are_recorded_with_their_verdict():
    """A GraphQL answer is fine; 503, 429 and a subgraph outage are failures; a refused connection too."""
    answers = iter(
        [
            httpx.Response(200, json={"data": {"movies": []}}),
            httpx.Response(503, text="busy"),
            httpx.Response(429, text="slow down"),
            httpx.Response(200, json={"errors": [{"message": "x", "extensions": {"code": "SUBREQUEST_HTTP_ERROR"}}]}),
            httpx.Response(200, json={"errors": [{"message": "movie m1 does not exist"}], "data": None}),
        ]
    )

    def handler(request: httpx.Request) -> httpx.Response:
        answer = next(answers, None)
        if answer is None:
            raise httpx.ConnectError("refused", request=request)
        return answer

    window = LatencyWindow(60)
    with httpx.Client(transport=MeteredTransport(httpx.MockTransport(handler), window, max_in_flight=2)) as client:
        bodies = [client.post(URL, json={}).status_code for _ in range(5)]
        with pytest.raises(httpx.ConnectError):
            client.post(URL, json={})
    assert bodies == [200, 503, 429, 200, 200]
    assert (window.requests, window.errors) == (6, 4)


def test_the_client_still_reads_the_body():
    """Reading the answer inside the transport leaves it readable for the client."""
    transport = MeteredTransport(
        httpx.MockTransport(lambda _: httpx.Response(200, json={"data": {"a": "é"}})), LatencyWindow(), max_in_flight=1
    )
    with httpx.Client(transport=transport) as client:
        assert client.post(URL, json={}).json() == {"data": {"a": "é"}}


def test_no_more_than_the_cap_reach_the_gateway():
    """Eight threads through a cap of three: at most three requests are inside the gateway at once."""
    inside = 0
    most = 0
    lock = threading.Lock()

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal inside, most
        with lock:
            inside += 1
            most = max(most, inside)
        time.sleep(0.02)
        with lock:
            inside -= 1
        return httpx.Response(200, json={"data": {}})

    window = LatencyWindow(60)
    transport = MeteredTransport(httpx.MockTransport(handler), window, max_in_flight=3)
    with httpx.Client(transport=transport) as client:
        threads = [threading.Thread(target=lambda: client.post(URL, json={})) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert most == 3
    assert window.requests == 8
    assert window.stats().p95 >= 0.02


def test_answer_failed_ignores_errors_that_are_not_outages():
    """A GraphQL error about one document is the document's business, not the gateway failing."""
    document_error = httpx.Response(200, json={"errors": [{"message": "not found", "path": ["movies", 0]}]})
    assert not answer_failed(document_error)
    assert not answer_failed(httpx.Response(200, content=b'{"errors": not json'))
    assert answer_failed(httpx.Response(502))
