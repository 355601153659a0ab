"""Which TCP port each service of the local stack listens on (always on 127.0.0.1).

The defaults come from ``demo.services`` so that the local stack, docker-compose.yml and
``configs/movies.yaml`` agree; tests ask for free ports instead so that several runs can coexist.
"""

from __future__ import annotations

import socket
from collections.abc import Iterable, Mapping
from contextlib import ExitStack

from demo.services import (
    GATEWAY_DEFAULT_PORT,
    KAFKA_DEFAULT_PORT,
    REGISTRY_DEFAULT_PORT,
    SEARCH_DEFAULT_PORT,
    SUBGRAPHS,
)

HOST = "127.0.0.1"

KAFKA = "kafka"
SEARCH = "search"
REGISTRY = "registry"
GATEWAY = "gateway"
SUBGRAPH_NAMES: tuple[str, ...] = tuple(subgraph.name for subgraph in SUBGRAPHS)
SERVICE_NAMES: tuple[str, ...] = (KAFKA, SEARCH, *SUBGRAPH_NAMES, GATEWAY)
"""The services the local stack starts unless told otherwise (``graphdex dev up``, ``LocalStack.start()``),
in start-up order."""
OPTIONAL_SERVICES: tuple[str, ...] = (REGISTRY,)
"""Started only when asked for (``graphdex dev up --registry``, the ``schema_registry_url`` test fixture):
the schema registry, which graphdex uses only when ``kafka.schema_registry_url`` is set."""
ALL_SERVICE_NAMES: tuple[str, ...] = (KAFKA, SEARCH, REGISTRY, *SUBGRAPH_NAMES, GATEWAY)
"""Every service the local stack can run, in start-up order."""


def default_ports() -> dict[str, int]:
    """The documented port of every service, from ``demo.services``."""
    ports = {
        KAFKA: KAFKA_DEFAULT_PORT,
        SEARCH: SEARCH_DEFAULT_PORT,
        REGISTRY: REGISTRY_DEFAULT_PORT,
        GATEWAY: GATEWAY_DEFAULT_PORT,
    }
    ports.update({subgraph.name: subgraph.default_port for subgraph in SUBGRAPHS})
    return {name: ports[name] for name in ALL_SERVICE_NAMES}


def free_ports(names: Iterable[str] = ALL_SERVICE_NAMES) -> dict[str, int]:
    """A port the kernel considers free for each name, all different (the sockets are held together)."""
    with ExitStack() as sockets:
        ports: dict[str, int] = {}
        for name in names:
            sock = sockets.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
            sock.bind((HOST, 0))
            ports[name] = sock.getsockname()[1]
        return ports


def with_overrides(base: Mapping[str, int], overrides: Mapping[str, int | None]) -> dict[str, int]:
    """``base`` with every non-None override applied; unknown service names are a ``ValueError``."""
    unknown = sorted(set(overrides) - set(ALL_SERVICE_NAMES))
    if unknown:
        raise ValueError(f"unknown service(s) {', '.join(unknown)}; the services are {', '.join(ALL_SERVICE_NAMES)}")
    return {**base, **{name: port for name, port in overrides.items() if port is not None}}


def port_in_use(port: int) -> bool:
    """Whether something already accepts connections on ``127.0.0.1:port``."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((HOST, port)) == 0
