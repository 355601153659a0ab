"""``--metrics-port``: Prometheus metrics on ``/metrics``, liveness on ``/healthz``, readiness on ``/readyz``.

Liveness: every stage thread runs and none crashed. Readiness: live, and every stage has reached its
consumer loop (the search server and the gateway answer too, when the caller's probe says so).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from schema_gen.errors import ServiceError


class HealthServer:
    """A small HTTP server on 127.0.0.1 (or ``host``) serving metrics and health checks in a thread."""

    def __init__(
        self,
        registry: CollectorRegistry,
        live: Callable[[], bool],
        ready: Callable[[], bool],
        port: int,
        host: str = "127.0.0.1",
    ) -> None:
        registry_, live_, ready_ = registry, live, ready

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path == "/metrics":
                    self._reply(200, generate_latest(registry_), CONTENT_TYPE_LATEST)
                elif self.path == "/healthz":
                    ok = live_()
                    self._reply(200 if ok else 503, b"ok\n" if ok else b"a stage is not running\n")
                elif self.path == "/readyz":
                    ok = live_() and ready_()
                    self._reply(200 if ok else 503, b"ready\n" if ok else b"not ready\n")
                else:
                    self._reply(404, b"not found: try /metrics, /healthz or /readyz\n")

            def _reply(self, status: int, body: bytes, content_type: str = "text/plain; charset=utf-8") -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                return

        try:
            self._server = ThreadingHTTPServer((host, port), Handler)
        except OSError as exc:
            raise ServiceError(
                f"cannot serve metrics and health checks on {host}:{port} (--metrics-port): {exc.strerror or exc}"
            ) from None
        self._thread = threading.Thread(target=self._server.serve_forever, name="health", daemon=True)

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    def start(self) -> HealthServer:
        self._thread.start()
        return self

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
