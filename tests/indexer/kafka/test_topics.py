"""Topic layout and topic specs of an index (no broker needed)."""

from __future__ import annotations

from concurrent.futures import Future
from types import SimpleNamespace

import pytest
from confluent_kafka import KafkaError, KafkaException

from indexer.kafka.clients import build_admin
from indexer.kafka.topics import (
    DEAD_LETTER_RETENTION_MS,
    REQUEST_RETENTION_MS,
    TopicChange,
    TopicLayout,
    TopicPlan,
    TopicRole,
    TopicSpec,
    ensure_topics,
    plan_topics,
    topic_specs,
)
from schema_gen.errors import ConfigError, ServiceError
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


class RefusingAdmin:
    """An admin client over an empty cluster that refuses every topic creation with a policy error."""

    def list_topics(self, timeout: float) -> SimpleNamespace:
        return SimpleNamespace(topics={})

    def describe_configs(self, resources: list, **kwargs: object) -> dict:
        return {}

    def create_topics(self, topics: list, **kwargs: object) -> dict[str, Future]:
        futures = {}
        for topic in topics:
            future: Future = Future()
            future.set_exception(KafkaException(KafkaError(KafkaError.POLICY_VIOLATION, "retention too long")))
            futures[topic.topic] = future
        return futures


def test_refused_creations_are_listed_by_topic():
    """Every topic the cluster refuses to create is named in one ServiceError."""
    specs = topic_specs(index_config())
    with pytest.raises(ServiceError) as caught:
        ensure_topics(RefusingAdmin(), specs)  # type: ignore[arg-type]
    message = str(caught.value)
    assert "Kafka refused topic changes (4 problems)" in message
    assert "graphdex.movies.documents: cannot create: retention too long (POLICY_VIOLATION)" in message


def test_an_unreachable_cluster_is_a_service_error():
    """Planning against a cluster that does not answer is a ServiceError, not a librdkafka exception."""
    admin = build_admin(index_config(bootstrap_servers="127.0.0.1:1").kafka)
    with pytest.raises(ServiceError, match="Kafka: cannot list topics"):
        plan_topics(admin, topic_specs(index_config()), timeout=0.2)
