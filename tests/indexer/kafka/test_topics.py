"""Topic layout and topic specs of an index (no broker needed)."""

from __future__ import annotations

import pytest

from indexer.kafka.topics import (
    DEAD_LETTER_RETENTION_MS,
    REQUEST_RETENTION_MS,
    TopicChange,
    TopicLayout,
    TopicPlan,
    TopicRole,
    TopicSpec,
    topic_specs,
)
from schema_gen.errors import ConfigError
from tests.indexer.kafka.definitions import index_config


def test_layout_names_topics_after_prefix_and_index():
    """Internal topics are <prefix>.<index>.<role>."""
    layout = TopicLayout.from_config(index_config(topic_prefix="acme.graphdex"))
    assert layout.requests == "acme.graphdex.movies.requests"
    assert layout.retry == "acme.graphdex.movies.retry"
    assert layout.documents == "acme.graphdex.movies.documents"
    assert layout.dlq == "acme.graphdex.movies.dlq"
    assert layout.topic(TopicRole.DOCUMENTS) == layout.documents


def test_layout_names_consumer_groups_per_stage():
    """Each stage of an index has its own consumer group under kafka.group_prefix."""
    layout = TopicLayout.from_config(index_config(group_prefix="team-a"))
    assert layout.group_id("fetch") == "team-a.movies.fetch"
    assert layout.group_id("sink") != layout.group_id("fetch")


def test_default_layout_uses_graphdex_prefixes():
    """Without a kafka section, topics and groups start with graphdex."""
    layout = TopicLayout.from_config(index_config())
    assert layout.requests == "graphdex.movies.requests"
    assert layout.group_id("route") == "graphdex.movies.route"


@pytest.mark.parametrize(
    ("kafka", "expected"),
    [
        ({"topic_prefix": "bad prefix!"}, "kafka.topic_prefix: use only letters"),
        ({"topic_prefix": "x" * 240}, "kafka.topic_prefix: topic 'xxx"),
        ({"group_prefix": "  "}, "kafka.group_prefix: must not be empty"),
    ],
)
def test_layout_rejects_prefixes_that_make_invalid_names(kafka, expected):
    """A prefix that cannot name a Kafka topic or group is a ConfigError naming the key."""
    with pytest.raises(ConfigError) as caught:
        TopicLayout.from_config(index_config(**kafka))
    assert expected in str(caught.value)


def test_specs_compact_documents_and_retain_the_rest():
    """Documents are compacted; requests, retry and dead letters are deleted after their retention."""
    specs = {spec.name: spec for spec in topic_specs(index_config(partitions=3, replication_factor=2))}
    assert set(specs) == {
        "graphdex.movies.requests",
        "graphdex.movies.retry",
        "graphdex.movies.documents",
        "graphdex.movies.dlq",
    }
    assert all((spec.partitions, spec.replication_factor) == (3, 2) for spec in specs.values())
    assert specs["graphdex.movies.documents"].config == {"cleanup.policy": "compact"}
    assert specs["graphdex.movies.requests"].config["retention.ms"] == str(REQUEST_RETENTION_MS)
    assert specs["graphdex.movies.retry"].config["cleanup.policy"] == "delete"
    assert specs["graphdex.movies.dlq"].config["retention.ms"] == str(DEAD_LETTER_RETENTION_MS)


def test_changes_describe_themselves():
    """A plan's changes read as one line each, for graphdex plan."""
    spec = TopicSpec("t.docs", 6, 1, {"cleanup.policy": "compact"})
    assert str(TopicChange(spec, "create")) == "create t.docs (6 partitions, replication 1, cleanup.policy=compact)"
    change = TopicChange(spec, "set_config", {"cleanup.policy": ("delete", "compact")})
    assert str(change) == "set t.docs cleanup.policy: delete -> compact"
    assert TopicPlan().empty
    assert not TopicPlan((change,)).empty
