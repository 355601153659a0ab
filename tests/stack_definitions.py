"""Index definitions for tests on the local stack: the demo definition, renamed so that nothing is shared.

``write_movies_definition`` copies ``configs/movies.yaml`` into a temporary folder with a unique
index name, unique topic and group prefixes, absolute paths to the query and schema snapshot, the
local stack's endpoints, and short timings suited to tests. Overrides are merged section by section.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from demo.stack import LocalStack
from indexer.definition import IndexDefinition, load_definition

REPO = Path(__file__).resolve().parent.parent
MOVIES_YAML = REPO / "configs" / "movies.yaml"

TEST_TIMINGS: dict[str, Any] = {
    "kafka": {"session_timeout": "6s", "max_poll_interval": "20s", "partitions": 2},
    "fetch": {"coalesce_window": "50ms", "retry_delay": "500ms", "breaker_cooldown": "500ms", "timeout": "10s"},
    "sink": {"max_wait": "50ms", "refresh": True},
    "reverse_lookup": {"fanout_delay": "200ms", "settle_delay": "2s", "popular_delay": "5s"},
}


def write_movies_definition(
    folder: Path,
    name: str,
    overrides: Mapping[str, Any] | None = None,
    extra_events: list[dict[str, Any]] | None = None,
) -> Path:
    data = yaml.safe_load(MOVIES_YAML.read_text(encoding="utf-8"))
    data["index"] = name
    data["graph"]["schema_file"] = str(REPO / "configs" / data["graph"]["schema_file"])
    data["query_file"] = str(REPO / "configs" / data["query_file"])
    data["kafka"] = data.get("kafka", {}) | {"topic_prefix": f"{name}.graphdex", "group_prefix": name}
    for section, values in {**TEST_TIMINGS, **(overrides or {})}.items():
        current = data.get(section)
        data[section] = current | values if isinstance(current, dict) and isinstance(values, dict) else values
    if extra_events:
        data["events"] = [*data.get("events", []), *extra_events]
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


def load_on_stack(path: Path, stack: LocalStack) -> IndexDefinition:
    """Load a definition with the stack's endpoints as the environment."""
    return load_definition(path, env=stack.endpoints.environment())
