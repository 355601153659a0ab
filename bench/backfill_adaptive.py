"""Adaptive backfill rate (AIMD) against a gateway that slows down and recovers.

    python bench/backfill_adaptive.py                   # target p95 300ms; 40 s normal, 40 s slow, 40 s normal
    python bench/backfill_adaptive.py --capacity 8 --target-latency 500ms

A small proxy on 127.0.0.1 stands in front of the demo gateway. In its slow phase it lets at most
``--capacity`` requests per second through (one at a time, each taking 1/capacity s: a saturated
server), so the latency grows with every request sent beyond that; otherwise it passes requests
straight through. The backfill runs in adaptive mode through the proxy; every 5 s the bench prints
the request rate achieved, the p95 latency the backfill saw and its rate limit, then per phase the
p95 (whole phase, and after the first 10 s the controller takes to react) and the throughput.
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import structlog
from backfill_stack import TimedTransport, demo_stack, drop_index, empty_target, movies_definition, p95
from structlog.testing import LogCapture

from demo.seed import generate
from demo.services import DEFAULT_SEED
from indexer.backfill import CheckpointStore, IdListEnumeration, LoadLimits, run_backfill
from schema_gen.config import parse_duration

BUCKET = 5.0
REACTION = 10.0


def stamp(_: object, __: str, event: dict) -> dict:
    """A structlog processor noting when each event happened (monotonic clock)."""
    event["at"] = time.monotonic()
    return event


class SlowProxy:
    """Forwards POSTs to ``upstream``; while ``capacity`` is set, serves at most that many per second."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.capacity: float | None = None
        self._turn = threading.Lock()
        self._client = httpx.Client(timeout=60, limits=httpx.Limits(max_connections=64))
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                capacity = proxy.capacity
                if capacity:
                    with proxy._turn:
                        time.sleep(1 / capacity)
                reply = proxy._client.post(proxy.upstream, content=body, headers={"content-type": "application/json"})
                self.send_response(reply.status_code)
                self.send_header("content-type", reply.headers.get("content-type", "application/json"))
                self.send_header("content-length", str(len(reply.content)))
                self.end_headers()
                self.wfile.write(reply.content)

            def log_message(self, format: str, *args: object) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._client.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--target-latency", default="300ms")
    parser.add_argument("--capacity", type=float, default=10.0, help="requests/s the slowed gateway serves")
    parser.add_argument("--phase", type=float, default=40.0, help="seconds of each phase")
    parser.add_argument("--rate", type=float, default=10.0, help="starting rate")
    parser.add_argument("--max-rate", type=float, default=60.0)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--size", type=int, default=2000)
    args = parser.parse_args()
    target = parse_duration(args.target_latency)
    ids = [movie.movie_id for movie in generate(DEFAULT_SEED, args.size).movies]
    capture = LogCapture()
    structlog.configure(processors=[stamp, capture])
    with (
        tempfile.TemporaryDirectory(prefix="graphdex-bench-adaptive-") as folder,
        demo_stack(Path(folder), args.size) as stack,
    ):
        proxy = SlowProxy(stack.endpoints.gateway_url)
        environment = {**stack.endpoints.environment(), "GRAPHDEX_GATEWAY_URL": proxy.url}
        definition = movies_definition(
            Path(folder), environment, {"fetch": {"batch_size": 1, "timeout": "30s"}, "sink": {"max_wait": "0.2s"}}
        )
        store, index = empty_target(definition, "bench-adaptive")
        transport = TimedTransport()
        stop = threading.Event()
        limits = LoadLimits(
            rate=args.rate, concurrency=args.concurrency, target_latency=target, min_rate=1.0, max_rate=args.max_rate
        )
        enumeration = IdListEnumeration([ids[n % len(ids)] for n in range(int(args.max_rate * args.phase * 4))])
        run = threading.Thread(
            target=run_backfill,
            args=(definition,),
            kwargs={
                "target_index": index,
                "enumeration": enumeration,
                "limits": limits,
                "checkpoint": CheckpointStore.for_backfill("movies", index, Path(folder)),
                "progress": False,
                "stop": stop,
                "store": store,
                "transport": transport,
            },
        )
        start = time.monotonic()
        run.start()
        phases = [("normal", None), (f"slow ({args.capacity:g}/s)", args.capacity), ("normal again", None)]
        bounds = []
        for name, capacity in phases:
            proxy.capacity = capacity
            began = time.monotonic()
            time.sleep(args.phase)
            bounds.append((name, began, time.monotonic()))
        stop.set()
        run.join()
        proxy.close()
        drop_index(store, index)
        store.close()
    changes = [(entry["at"], entry["new"]) for entry in capture.entries if entry["event"] == "backfill rate changed"]
    print(f"target p95 {target * 1000:.0f}ms; {len(changes)} rate changes; concurrency {args.concurrency}")
    print(f"{'t (s)':>6} {'phase':<16} {'req/s':>7} {'p95 ms':>7} {'limit/s':>8}")
    for name, began, ended in bounds:
        moment = began
        while moment < ended - 0.5:
            during = transport.between(moment, moment + BUCKET)
            limit = next((new for at, new in reversed(changes) if at <= moment + BUCKET), args.rate)
            print(
                f"{moment - start:6.0f} {name:<16} {len(during) / BUCKET:7.1f} {p95(during) * 1000:7.0f} {limit:8.1f}"
            )
            moment += BUCKET
    print()
    for name, began, ended in bounds:
        whole = transport.between(began, ended)
        settled = transport.between(began + REACTION, ended)
        print(
            f"{name:<16} {len(whole) / (ended - began):6.1f} req/s   p95 {p95(whole) * 1000:5.0f}ms"
            f"   after {REACTION:g}s: {len(settled) / (ended - began - REACTION):6.1f} req/s, "
            f"p95 {p95(settled) * 1000:5.0f}ms ({'under' if p95(settled) <= target else 'OVER'} target)"
        )


if __name__ == "__main__":
    main()
