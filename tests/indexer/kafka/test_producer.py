"""TrackedProducer's delivery tracking when Kafka cannot be reached (no broker needed)."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from indexer.kafka.clients import producer_config
from indexer.kafka.consumer_loop import ProcessResult, RunnerSettings, StageRunner
from indexer.kafka.producer import DeliveryFailed, TrackedProducer
from indexer.messages import OutgoingRecord, Record
from schema_gen.errors import ConfigError
from tests.indexer.kafka.definitions import index_config
from tests.indexer.kafka.in_memory_consumer import InMemoryConsumer


@pytest.fixture
def unreachable_producer():
    """A producer pointed at a closed port whose messages time out after 200 ms."""
    config = producer_config(index_config(bootstrap_servers="127.0.0.1:1").kafka)
    producer = TrackedProducer({**config, "message.timeout.ms": 200, "socket.connection.setup.timeout.ms": 1000})
    yield producer
    producer.close(timeout=1)


def test_an_empty_batch_is_acknowledged_at_once(unreachable_producer):
    """A batch with nothing in it needs no acknowledgement."""
    assert unreachable_producer.batch().wait(timeout=0)


def test_unacknowledged_messages_fail_their_own_batch_only(unreachable_producer):
    """wait() raises DeliveryFailed naming topic and key for the batch that produced them, and no other."""
    failing = unreachable_producer.batch().produce_all([OutgoingRecord("graphdex.movies.documents", b"m1", b"doc")])
    other = unreachable_producer.batch()
    assert failing.pending == 1
    with pytest.raises(DeliveryFailed) as caught:
        failing.wait(timeout=10)
    assert not caught.value.fatal
    assert "graphdex.movies.documents key=b'm1'" in str(caught.value)
    assert other.wait(timeout=0)
    assert unreachable_producer.delivered == 0


def test_flush_reports_what_is_still_pending(unreachable_producer):
    """flush() that runs out of time says how many messages are still unacknowledged."""
    unreachable_producer.batch().produce(OutgoingRecord("t", None, b"x"))
    with pytest.raises(DeliveryFailed, match=r"did not acknowledge 1 produced messages within 0\.01s"):
        unreachable_producer.flush(0.01)


def test_invalid_producer_settings_are_a_config_error():
    """librdkafka rejecting a producer setting is reported against kafka.extra."""
    with pytest.raises(ConfigError, match=r"kafka\.extra: .*bogus\.setting"):
        TrackedProducer({"bootstrap.servers": "127.0.0.1:1", "bogus.setting": 1})


def test_runner_redelivers_a_batch_whose_output_was_not_acknowledged(unreachable_producer):
    """When produced records fail, the runner stores no offset and processes the batch again later."""
    consumer = InMemoryConsumer({("req", 0): [b"a", b"b"]})
    calls: list[list[bytes]] = []

    def process(records: Sequence[Record]) -> ProcessResult:
        calls.append([record.value or b"" for record in records])
        return ProcessResult(outgoing=[OutgoingRecord("out", record.key, record.value) for record in records])

    settings = RunnerSettings(batch_size=10, poll_timeout=0.05, delivery_retry_after=0.01)
    runner = StageRunner(process, consumer=consumer, topics=["req"], producer=unreachable_producer, settings=settings)
    summary = runner.run(timeout=1.5)
    assert summary.delivery_failures >= 2
    assert calls[0] == calls[1] == [b"a", b"b"]
    assert summary.processed == 0
    assert consumer.committed == {}


def test_a_failed_idle_delivery_pins_commits_to_the_work_it_held(unreachable_producer):
    """Work the stage counted done but Kafka never acknowledged keeps its held offset for the rest of the run."""
    consumer = InMemoryConsumer({("req", 0): [b"a", b"b", b"c"]})
    held = {("req", 0): 1}

    def idle() -> list[OutgoingRecord]:
        if not held:
            return []
        held.clear()  # the stage considers the fan-out done ...
        return [OutgoingRecord("requests", b"m1", b"{}")]  # ... but its request never reaches Kafka

    settings = RunnerSettings(batch_size=10, poll_timeout=0.05, commit_interval=0)
    runner = StageRunner(
        lambda records: None,
        consumer=consumer,
        topics=["req"],
        producer=unreachable_producer,
        settings=settings,
        idle=idle,
        held_offsets=lambda: held,
    )
    summary = runner.run(timeout=2.5)
    assert summary.processed == 3
    assert summary.delivery_failures == 1
    assert consumer.committed == {("req", 0): 1}
