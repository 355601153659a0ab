"""ensure_topics against a real broker (Apache Kafka): create, converge, report drift."""

from __future__ import annotations

import time

import pytest
from confluent_kafka.admin import AdminClient, AlterConfigOpType, ConfigEntry, ConfigResource, NewTopic, ResourceType

from indexer.kafka.clients import build_admin
from indexer.kafka.topics import TopicSpec, ensure_topics, plan_topics, topic_specs
from tests.indexer.kafka.definitions import index_config

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def admin(kafka_bootstrap: str) -> AdminClient:
    """An admin client for the test broker, built by graphdex's client factory."""
    return build_admin(index_config(bootstrap_servers=kafka_bootstrap).kafka)


def topic_config(admin: AdminClient, name: str) -> dict[str, str]:
    (future,) = admin.describe_configs([ConfigResource(ResourceType.TOPIC, name)]).values()
    return {key: entry.value for key, entry in future.result().items()}


def test_ensure_topics_creates_them_and_changes_nothing_the_second_time(admin, kafka_bootstrap, unique_name):
    """The first call creates the four topics with their configs; the second finds nothing to do."""
    config = index_config(index=unique_name, bootstrap_servers=kafka_bootstrap, partitions=3)
    specs = topic_specs(config)
    first = ensure_topics(admin, specs)
    assert sorted(change.action for change in first.changes) == ["create"] * 4
    second = ensure_topics(admin, specs)
    assert second.empty
    assert second.drift == ()
    metadata = admin.list_topics(timeout=10)
    for spec in specs:
        assert len(metadata.topics[spec.name].partitions) == 3
        assert topic_config(admin, spec.name).items() >= dict(spec.config).items()


def test_changed_topic_configs_are_planned_and_set_back(admin, kafka_bootstrap, unique_name):
    """A topic config changed by hand shows up in the plan (read-only) and ensure_topics sets it back."""
    specs = topic_specs(index_config(index=unique_name, bootstrap_servers=kafka_bootstrap, partitions=1))
    ensure_topics(admin, specs)
    requests = next(spec for spec in specs if spec.name.endswith(".requests"))
    entry = ConfigEntry("retention.ms", "1000", incremental_operation=AlterConfigOpType.SET)
    resource = ConfigResource(ResourceType.TOPIC, requests.name, incremental_configs=[entry])
    for future in admin.incremental_alter_configs([resource]).values():
        future.result()
    plan = plan_topics(admin, specs)
    assert [str(change) for change in plan.changes] == [
        f"set {requests.name} retention.ms: 1000 -> {requests.config['retention.ms']}"
    ]
    assert topic_config(admin, requests.name)["retention.ms"] == "1000"
    ensure_topics(admin, specs)
    assert topic_config(admin, requests.name)["retention.ms"] == requests.config["retention.ms"]
    assert plan_topics(admin, specs).empty


def test_partition_count_differences_are_drift_not_changes(admin, unique_name):
    """A topic with another partition count is reported as drift and left alone."""
    name = f"{unique_name}.documents"
    for future in admin.create_topics([NewTopic(name, 2, 1, config={"cleanup.policy": "compact"})]).values():
        future.result()
    plan = ensure_topics(admin, [TopicSpec(name, 4, 1, {"cleanup.policy": "compact"})])
    assert plan.empty
    assert [str(problem) for problem in plan.drift] == [
        f"{name}: has 2 partitions, the definition says 4 (kafka.partitions); partition counts are not changed "
        "automatically"
    ]
    assert len(admin.list_topics(timeout=10).topics[name].partitions) == 2


def test_apply_returns_once_the_broker_shows_every_change(admin, kafka_bootstrap, unique_name):
    """Kafka acknowledges changes before every broker's metadata has them; apply waits, so planning right
    after each of ten applies finds nothing left to do."""
    specs = topic_specs(index_config(index=unique_name, bootstrap_servers=kafka_bootstrap, partitions=1))
    requests = next(spec for spec in specs if spec.name.endswith(".requests"))
    ensure_topics(admin, specs)
    assert plan_topics(admin, specs).empty
    for retention in range(1000, 11000, 1000):
        entry = ConfigEntry("retention.ms", str(retention), incremental_operation=AlterConfigOpType.SET)
        resource = ConfigResource(ResourceType.TOPIC, requests.name, incremental_configs=[entry])
        for future in admin.incremental_alter_configs([resource]).values():
            future.result()
        deadline = time.monotonic() + 10
        while topic_config(admin, requests.name)["retention.ms"] != str(retention):  # our own change, seen
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert [change.action for change in ensure_topics(admin, specs).changes] == ["set_config"]
        assert plan_topics(admin, specs).empty
