"""A tiny HTTP server on 127.0.0.1 answering search-server requests from a script, for tests of the
adapters' wire behaviour (engine detection, error translation) without a search server."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Answer = tuple[int, Any]
Script = Callable[[str, str], Answer]
"""(method, path with query) -> (status, JSON body)."""

OPENSEARCH_ROOT = {"name": "stub", "version": {"distribution": "opensearch", "number": "2.19.6"}}
ELASTICSEARCH_ROOT = {"name": "stub", "version": {"number": "8.15.0", "build_flavor": "default"}}


@dataclass(frozen=True)
class SeenRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


@contextmanager
def stub_search_server(script: Script, *, elasticsearch: bool = False) -> Iterator[tuple[str, list[SeenRequest]]]:
    """Serve ``script`` until the block ends; yields the URL and the requests seen."""
    seen: list[SeenRequest] = []

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length) if length else b""
            headers = {name.lower(): value for name, value in self.headers.items()}
            seen.append(SeenRequest(self.command, self.path, headers, body))
            status, body = script(self.command, self.path)
            payload = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(payload)))
            if elasticsearch:
                self.send_header("x-elastic-product", "Elasticsearch")
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _answer

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", seen
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
