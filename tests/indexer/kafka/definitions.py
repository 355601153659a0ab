"""Index definitions for the Kafka tests, built through the real config parser."""

from __future__ import annotations

from typing import Any

from schema_gen.config import IndexConfig, parse_config


def index_config(index: str = "movies", **kafka: Any) -> IndexConfig:
    """A minimal valid index definition with the given ``kafka`` section."""
    data = {
        "index": index,
        "graph": {"schema_file": "schema.graphql"},
        "query": "query Movie($id: ID!) { movie(id: $id) { id } }",
        "root": {"type": "Movie"},
        "kafka": kafka,
    }
    return parse_config(data, "movies.yaml", {})
