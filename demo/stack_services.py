"""What each service of the local stack runs, what it waits for and how its readiness is checked.

Everything is derived from ``StackOptions`` (ports, data size and seed, state folder) and from
``demo.services``, the contract with the demo graph, docker-compose.yml and ``configs/movies.yaml``.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from demo.child_process import LaunchSpec
from demo.health_probes import HealthProbe, HttpProbe, KafkaProbe, graphql_probe
from demo.java_servers import (
    REGISTRY_API_PATH,
    KafkaLayout,
    kafka_argv,
    prepare_kafka,
    registry_argv,
    search_argv,
    search_settings,
)
from demo.ports import GATEWAY, HOST, KAFKA, REGISTRY, SEARCH, SUBGRAPH_NAMES, default_ports, free_ports
from demo.prerequisites import GATEWAY_SCRIPT, node_binary
from demo.services import DEFAULT_SEED, DEFAULT_SIZE, SUBGRAPHS
from schema_gen.errors import StackError

SUBGRAPH_GRAPHQL_PATH = "/graphql"
GATEWAY_GRAPHQL_PATH = "/"
"""As ``configs/movies.yaml`` defaults ``GRAPHDEX_GATEWAY_URL`` (the gateway answers on every path)."""


@dataclass(frozen=True)
class StackOptions:
    """How to run the local stack. Every server binds to 127.0.0.1."""

    state_dir: Path
    """Logs (``logs/<service>.log``), data (``data/``: Kafka's log dirs, the search node's indexes, the
    registry's database, the subgraphs' databases; kept between runs) and ``state.json`` go here."""
    ports: Mapping[str, int] = field(default_factory=default_ports)
    size: int = DEFAULT_SIZE
    """Movies in the generated demo data."""
    seed: int = DEFAULT_SEED
    startup_timeout: float = 60.0
    """Seconds each service may take to become ready."""
    stop_grace: float = 5.0
    """Seconds between SIGTERM and SIGKILL when stopping a service."""
    fresh: bool = False
    """Remove the data of earlier runs (topics, indexes, registry subjects, subgraph databases) before starting."""
    detach: bool = False
    """Let the servers outlive this process (``graphdex dev up --detach``); stop them with ``down``."""
    python: str = sys.executable

    @property
    def log_dir(self) -> Path:
        """Where each service's log file is written."""
        return self.state_dir / "logs"

    @property
    def data_dir(self) -> Path:
        """Every service's data, kept when the stack stops (``fresh``, ``graphdex dev up --fresh``, removes it)."""
        return self.state_dir / "data"


@dataclass(frozen=True)
class Endpoints:
    """Where the running stack answers."""

    kafka_bootstrap: str
    search_url: str
    gateway_url: str
    subgraph_urls: Mapping[str, str]
    schema_registry_url: str | None = None
    """The registry's Confluent-compatible API, for ``kafka.schema_registry_url`` (None in the state of a
    stack recorded before the registry existed)."""

    @classmethod
    def for_ports(cls, ports: Mapping[str, int]) -> Endpoints:
        """The endpoints of a stack listening on ``ports``."""
        return cls(
            kafka_bootstrap=f"{HOST}:{ports[KAFKA]}",
            search_url=f"http://{HOST}:{ports[SEARCH]}",
            gateway_url=f"http://{HOST}:{ports[GATEWAY]}{GATEWAY_GRAPHQL_PATH}",
            subgraph_urls={name: f"http://{HOST}:{ports[name]}{SUBGRAPH_GRAPHQL_PATH}" for name in SUBGRAPH_NAMES},
            schema_registry_url=f"http://{HOST}:{ports[REGISTRY]}{REGISTRY_API_PATH}" if REGISTRY in ports else None,
        )

    def environment(self, *, schema_registry: bool = False) -> dict[str, str]:
        """The variables graphdex (``configs/movies.yaml``) reads to find this stack.

        ``GRAPHDEX_SCHEMA_REGISTRY_URL`` only with ``schema_registry`` (the registry is an optional
        service): it switches the documents to Confluent wire format, so it is set only on purpose.
        """
        variables = {
            "GRAPHDEX_GATEWAY_URL": self.gateway_url,
            "GRAPHDEX_ES_URL": self.search_url,
            "GRAPHDEX_KAFKA_BOOTSTRAP": self.kafka_bootstrap,
        }
        if schema_registry:
            if self.schema_registry_url is None:
                raise StackError("this stack was recorded without a schema registry port; start it again")
            variables["GRAPHDEX_SCHEMA_REGISTRY_URL"] = self.schema_registry_url
        return variables


DEPENDS_ON: dict[str, tuple[str, ...]] = {
    KAFKA: (),
    SEARCH: (),
    REGISTRY: (),
    **dict.fromkeys(SUBGRAPH_NAMES, (KAFKA,)),
    GATEWAY: SUBGRAPH_NAMES,
}
"""What must be ready before each service starts (the subgraphs write CDC events to Kafka; the
gateway composes the subgraphs' schemas at start-up). The registry keeps its subjects in its own
database, not in Kafka as Confluent's does."""


@dataclass(frozen=True)
class ServiceDefinition:
    """One service: its command and its readiness check."""

    name: str
    launch: LaunchSpec
    probe: HealthProbe
    prepare: Callable[[], None] | None = None
    """Run just before the launch (writes configuration, formats storage on a first start)."""


def probe_for(name: str, ports: Mapping[str, int]) -> HealthProbe:
    """The readiness check of service ``name`` in a stack on ``ports``."""
    if name == KAFKA:
        return KafkaProbe(HOST, ports[KAFKA])
    if name == SEARCH:
        return HttpProbe("GET", f"http://{HOST}:{ports[SEARCH]}/_cluster/health?wait_for_status=yellow&timeout=1s")
    if name == GATEWAY:
        return graphql_probe(Endpoints.for_ports(ports).gateway_url)
    if name == REGISTRY:
        return HttpProbe("GET", f"http://{HOST}:{ports[REGISTRY]}{REGISTRY_API_PATH}/subjects")
    return HttpProbe("GET", f"http://{HOST}:{ports[name]}/health")


def define_service(name: str, options: StackOptions) -> ServiceDefinition:
    """The definition of service ``name``; raises ``StackError`` if its program is not installed."""
    ports, log = options.ports, options.log_dir / f"{name}.log"
    endpoints = Endpoints.for_ports(ports)
    probe = probe_for(name, ports)
    if name == KAFKA:
        layout = KafkaLayout(options.data_dir / "kafka")
        controller_port = free_ports(["kafka-controller"])["kafka-controller"]
        prepare = partial(prepare_kafka, layout, HOST, ports[KAFKA], controller_port, log)
        return ServiceDefinition(name, LaunchSpec(name, kafka_argv(layout), log), probe, prepare)
    if name == SEARCH:
        transport_port = free_ports(["search-transport"])["search-transport"]
        argv = search_argv(options.data_dir / "opensearch", search_settings(HOST, ports[SEARCH], transport_port))
        return ServiceDefinition(name, LaunchSpec(name, argv, log), probe)
    if name == REGISTRY:
        argv = registry_argv(options.data_dir / "registry", HOST, ports[REGISTRY])
        return ServiceDefinition(name, LaunchSpec(name, argv, log), probe)
    if name == GATEWAY:
        subgraphs = [{"name": sub, "url": url} for sub, url in endpoints.subgraph_urls.items()]
        env = {"GATEWAY_PORT": str(ports[GATEWAY]), "SUBGRAPHS": json.dumps(subgraphs)}
        launch = LaunchSpec(name, [node_binary(), str(GATEWAY_SCRIPT)], log, env=env, cwd=GATEWAY_SCRIPT.parent)
        return ServiceDefinition(name, launch, probe)
    subgraph = next(sub for sub in SUBGRAPHS if sub.name == name)
    database = options.data_dir / f"{name}.sqlite"
    database.parent.mkdir(parents=True, exist_ok=True)
    argv = [options.python, "-m", subgraph.module, "--host", HOST, "--port", str(ports[name])]
    argv += ["--db", str(database), "--kafka", endpoints.kafka_bootstrap]
    argv += ["--size", str(options.size), "--seed", str(options.seed)]
    return ServiceDefinition(name, LaunchSpec(name, argv, log, env={"PYTHONUNBUFFERED": "1"}), probe)
