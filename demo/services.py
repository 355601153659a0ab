"""The demo graph's processes and topics: the contract between the subgraphs, the gateway, the local
stack, docker-compose.yml and ``configs/movies.yaml``. Change a name here, and only here."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Subgraph:
    """One domain service: its own process, GraphQL subgraph, SQLite store and CDC topics."""

    name: str
    module: str
    """Run as ``python -m <module> --host H --port P --db PATH --kafka BOOTSTRAP [--size N] [--seed S]``."""
    default_port: int
    topics: tuple[str, ...]
    """CDC topics it writes, Debezium style ``<server>.<schema>.<table>``, keyed by primary key."""


CDC_SERVER = "demo"

SUBGRAPHS: tuple[Subgraph, ...] = (
    Subgraph("movies", "demo.subgraphs.movies", 4001, ("demo.movies.movies", "demo.movies.credits")),
    Subgraph("productions", "demo.subgraphs.productions", 4002, ("demo.productions.productions",)),
    Subgraph("talent", "demo.subgraphs.talent", 4003, ("demo.talent.talent",)),
)

GATEWAY_DEFAULT_PORT = 4000
"""The Apollo gateway: ``node demo/gateway/server.mjs`` with env ``GATEWAY_PORT`` and ``SUBGRAPHS``
(a JSON list of ``{"name": ..., "url": ...}``)."""

KAFKA_DEFAULT_PORT = 9092
SEARCH_DEFAULT_PORT = 9200
REGISTRY_DEFAULT_PORT = 8081
"""The schema registry, as Confluent Schema Registry's default (and docker-compose.yml's) port."""

DEFAULT_SEED = 42
DEFAULT_SIZE = 200
"""Movies in the default (test) data set; benchmarks use up to 100_000."""
