"""``ConsumerLag`` on a real broker: high watermark minus committed offset, summed over a topic's partitions."""

from __future__ import annotations

import uuid

import pytest
from confluent_kafka import Producer, TopicPartition
from confluent_kafka.admin import NewTopic
from prometheus_client import CollectorRegistry

from indexer.daemon.lag import ConsumedTopics, ConsumerLag
from indexer.kafka.clients import build_admin, build_consumer
from indexer.metrics import PipelineMetrics
from schema_gen.config import KafkaSettings
from tests.indexer.daemon.conftest import eventually

pytestmark = pytest.mark.integration


@pytest.fixture
def topic(kafka_bootstrap: str) -> str:
    """A new two-partition topic with 6 messages on partition 0 and 4 on partition 1, produced as one
    batch per partition (the high watermark is the log end, however the messages were batched)."""
    name = f"t-lag-{uuid.uuid4().hex[:8]}"
    admin = build_admin(KafkaSettings(bootstrap_servers=kafka_bootstrap))
    for future in admin.create_topics([NewTopic(name, 2, 1)]).values():
        future.result()
    producer = Producer({"bootstrap.servers": kafka_bootstrap, "linger.ms": 100})
    for number in range(10):
        producer.produce(name, value=b"x", partition=0 if number < 6 else 1)
    assert producer.flush(10) == 0
    return name


def test_lag_counts_from_the_committed_offset_or_the_start(kafka_bootstrap: str, topic: str):
    """A group that committed 4 on partition 0 and nothing on partition 1 lags 2 + 4; the gauge says so."""
    kafka = KafkaSettings(bootstrap_servers=kafka_bootstrap)
    group = f"t-lag-group-{uuid.uuid4().hex[:8]}"
    committer = build_consumer(kafka, group)
    committer.commit(offsets=[TopicPartition(topic, 0, 4)], asynchronous=False)
    committer.close()
    metrics = PipelineMetrics(CollectorRegistry())
    lag = ConsumerLag([ConsumedTopics(kafka, group, (topic,))], metrics.lag)
    try:
        assert lag.measure() == {(group, topic): 6}
        assert metrics.value("graphdex_consumer_lag", {"group": group, "topic": topic}) == 6
    finally:
        lag.close()


def test_unknown_topics_are_left_out(kafka_bootstrap: str, topic: str):
    """A topic that does not exist (yet) is not measured rather than reported as zero lag."""
    kafka = KafkaSettings(bootstrap_servers=kafka_bootstrap)
    group = f"t-lag-group-{uuid.uuid4().hex[:8]}"
    metrics = PipelineMetrics(CollectorRegistry())
    lag = ConsumerLag([ConsumedTopics(kafka, group, (topic, f"{topic}-missing"))], metrics.lag)
    try:
        assert lag.measure() == {(group, topic): 10}
    finally:
        lag.close()


def test_the_thread_measures_until_closed(kafka_bootstrap: str, topic: str):
    """Started, it sets the gauge at once and keeps measuring; close stops it."""
    kafka = KafkaSettings(bootstrap_servers=kafka_bootstrap)
    group = f"t-lag-group-{uuid.uuid4().hex[:8]}"
    metrics = PipelineMetrics(CollectorRegistry())
    lag = ConsumerLag([ConsumedTopics(kafka, group, (topic,))], metrics.lag, interval=0.1).start()
    try:
        eventually(lambda: metrics.value("graphdex_consumer_lag", {"group": group, "topic": topic}) == 10)
    finally:
        lag.close()
