"""Readiness checks for the servers of the local stack. ``check()`` returns None when the server is ready,
else a short reason (kept for the error message if it never becomes ready)."""

from __future__ import annotations

import logging
import socket
from typing import Any, Protocol

import httpx
from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient

_QUIET = logging.getLogger("graphdex.stack.kafka-probe")
_QUIET.addHandler(logging.NullHandler())
_QUIET.propagate = False


class HealthProbe(Protocol):
    """Something that can tell whether one server is ready."""

    def check(self) -> str | None:
        """None if ready, else why not."""
        ...

    def describe(self) -> str:
        """What is checked, for messages (``GET http://127.0.0.1:4001/health``)."""
        ...


def _tcp_refusal(host: str, port: int, timeout: float) -> str | None:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return None
    except OSError as exc:
        return f"{host}:{port}: {exc.strerror or exc}"


class KafkaProbe:
    """Ready when the port accepts connections and a metadata request lists at least one broker."""

    def __init__(self, host: str, port: int, timeout: float = 2.0) -> None:
        self.host, self.port, self.timeout = host, port, timeout

    def describe(self) -> str:
        """The bootstrap address and the request made."""
        return f"Kafka metadata request to {self.host}:{self.port}"

    def check(self) -> str | None:
        """TCP first (cheap, and librdkafka would retry noisily), then a real metadata round trip."""
        refused = _tcp_refusal(self.host, self.port, self.timeout)
        if refused:
            return refused
        admin = AdminClient({"bootstrap.servers": f"{self.host}:{self.port}", "logger": _QUIET})
        try:
            metadata = admin.list_topics(timeout=self.timeout)
        except KafkaException as exc:
            return f"metadata request failed: {exc.args[0].str() if exc.args else exc}"
        return None if metadata.brokers else "metadata lists no broker"


class HttpProbe:
    """Ready when an HTTP request answers with status 200."""

    def __init__(self, method: str, url: str, json_body: Any = None, timeout: float = 2.0) -> None:
        self.method, self.url, self.json_body, self.timeout = method, url, json_body, timeout

    def describe(self) -> str:
        """Method and URL."""
        return f"{self.method} {self.url}"

    def check(self) -> str | None:
        """One request; any transport error or status other than 200 is the reason."""
        try:
            response = httpx.request(self.method, self.url, json=self.json_body, timeout=self.timeout)
        except httpx.HTTPError as exc:
            return f"{self.describe()}: {exc}"
        if response.status_code != 200:
            return f"{self.describe()}: HTTP {response.status_code} {response.text[:200]}"
        return None


def graphql_probe(url: str, timeout: float = 2.0) -> HttpProbe:
    """The gateway's readiness check: ``{ __typename }`` answers 200."""
    return HttpProbe("POST", url, json_body={"query": "{ __typename }"}, timeout=timeout)
