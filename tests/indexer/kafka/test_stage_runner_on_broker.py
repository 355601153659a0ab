"""StageRunner on a real broker (Apache Kafka): at-least-once across a crash, backpressure, stop and commit."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections import Counter
from collections.abc import Iterator, Sequence

import pytest
from confluent_kafka import TopicPartition
from confluent_kafka.admin import NewTopic

from indexer.kafka.clients import GroupTimings, build_admin, build_consumer, producer_config
from indexer.kafka.consumer_loop import Backpressure, ProcessResult, RunnerSettings, StageRunner, stop_on_signals
from indexer.kafka.producer import TrackedProducer
from indexer.messages import OutgoingRecord, Record
from schema_gen.config import KafkaSettings
from tests.indexer.kafka.definitions import index_config

pytestmark = pytest.mark.integration

PARTITIONS = 3
SETTINGS = RunnerSettings(batch_size=10, poll_timeout=0.2, commit_interval=0.5, commit_every=20)


@pytest.fixture(scope="module")
def kafka(kafka_bootstrap: str) -> KafkaSettings:
    """Kafka settings pointing at the test broker."""
    return index_config(bootstrap_servers=kafka_bootstrap).kafka


@pytest.fixture
def producer(kafka: KafkaSettings) -> Iterator[TrackedProducer]:
    """A tracked producer for the test broker."""
    tracked = TrackedProducer(producer_config(kafka))
    yield tracked
    tracked.close()


@pytest.fixture
def topics(kafka: KafkaSettings, unique_name: str) -> tuple[str, str]:
    """A fresh input topic and output topic, three partitions each."""
    names = (f"{unique_name}.in", f"{unique_name}.out")
    admin = build_admin(kafka)
    for future in admin.create_topics([NewTopic(name, PARTITIONS, 1) for name in names]).values():
        future.result()
    return names


def fill(producer: TrackedProducer, topic: str, count: int) -> list[bytes]:
    values = [f"v{number:03d}".encode() for number in range(count)]
    batch = producer.batch().produce_all(OutgoingRecord(topic, f"id{n % 7}".encode(), v) for n, v in enumerate(values))
    assert batch.wait(30)
    return values


def runner(kafka: KafkaSettings, group: str, topic: str, stage, producer=None) -> StageRunner:
    consumer = build_consumer(kafka, group, GroupTimings.local_stack())
    return StageRunner(stage, consumer=consumer, topics=[topic], producer=producer, settings=SETTINGS, name=group)


def committed(kafka: KafkaSettings, group: str, topic: str) -> dict[int, int]:
    consumer = build_consumer(kafka, group, GroupTimings.local_stack())
    try:
        offsets = consumer.committed([TopicPartition(topic, number) for number in range(PARTITIONS)], timeout=10)
    finally:
        consumer.close()
    return {tp.partition: tp.offset for tp in offsets if tp.offset >= 0}


def read_all(kafka: KafkaSettings, topic: str, expected: int) -> list[bytes]:
    consumer = build_consumer(kafka, "reader")
    consumer.assign([TopicPartition(topic, number, 0) for number in range(PARTITIONS)])
    values: list[bytes] = []
    deadline = time.monotonic() + 30
    try:
        while len(values) < expected and time.monotonic() < deadline:
            values += [message.value() for message in consumer.consume(100, 0.5) if message.error() is None]
    finally:
        consumer.close()
    return values


def test_a_crash_mid_batch_redelivers_the_unacknowledged_records_and_skips_none(kafka, producer, topics, unique_name):
    """A stage that raises halfway through a batch loses nothing: after a restart every record gets processed."""
    source, sink = topics
    values = fill(producer, source, 60)
    group = f"{unique_name}.crash"
    first_run: list[bytes] = []
    crashed_batch: list[bytes] = []

    def crashing(records: Sequence[Record]) -> ProcessResult:
        if len(first_run) >= 25:
            crashed_batch.extend(record.value or b"" for record in records)
            first_run.extend(crashed_batch[: len(records) // 2])
            raise RuntimeError("simulated crash after half a batch")
        first_run.extend(record.value or b"" for record in records)
        return ProcessResult(outgoing=[OutgoingRecord(sink, record.key, record.value) for record in records])

    crashed = runner(kafka, group, source, crashing, producer)
    with pytest.raises(RuntimeError, match="simulated crash"):
        crashed.run(timeout=60)
    crashed.close()
    progress = committed(kafka, group, source)
    assert 25 <= sum(progress.values()) < 60

    second_run: list[Record] = []

    def forwarding(records: Sequence[Record]) -> ProcessResult:
        second_run.extend(records)
        return ProcessResult(outgoing=[OutgoingRecord(sink, record.key, record.value) for record in records])

    restarted = runner(kafka, group, source, forwarding, producer)
    restarted.run(timeout=60, max_messages=60 - sum(progress.values()))
    restarted.close()

    for partition, offset in progress.items():
        offsets = sorted(record.offset for record in second_run if record.partition == partition)
        assert not offsets or offsets[0] == offset  # resumes exactly at the committed offset: no gap
    assert set(first_run) | {record.value for record in second_run} == set(values)
    assert {record.value for record in second_run} & set(first_run) <= set(crashed_batch)  # only it is redone
    assert sum(committed(kafka, group, source).values()) == 60
    assert set(read_all(kafka, sink, 60)) == set(values)  # every input led to an acknowledged output


def test_backpressure_pauses_and_resumes_without_losing_records(kafka, producer, topics, unique_name):
    """Backpressure mid-run redelivers only the paused batch's unprocessed records, then finishes."""
    source, _ = topics
    values = fill(producer, source, 40)
    seen: list[bytes] = []
    paused_batch: list[bytes] = []

    def pressured(records: Sequence[Record]) -> Backpressure | None:
        batch = [record.value or b"" for record in records]
        seen.extend(batch)
        if not paused_batch and len(seen) > 10:
            paused_batch.extend(batch[3:])
            return Backpressure(0.5, processed=3, reason="search server answered 429")
        return None

    stage_runner = runner(kafka, f"{unique_name}.pressure", source, pressured)
    summary = stage_runner.run(timeout=60, max_messages=40)
    stage_runner.close()
    counts = Counter(seen)
    assert set(counts) == set(values)
    duplicated = {value for value, count in counts.items() if count > 1}
    assert duplicated <= set(paused_batch)
    assert all(counts[value] == 2 for value in paused_batch)
    assert summary.backpressure_pauses == 1
    assert sum(committed(kafka, f"{unique_name}.pressure", source).values()) == 40


def test_sigterm_drains_the_batch_commits_and_returns(kafka, producer, topics, unique_name):
    """A SIGTERM handler only sets the flag; the runner finishes its batch, commits it and returns."""
    source, _ = topics
    fill(producer, source, 200)
    group = f"{unique_name}.sigterm"
    processed: list[Record] = []
    started = threading.Event()

    def slow(records: Sequence[Record]) -> None:
        started.set()
        time.sleep(0.05)
        processed.extend(records)

    stage_runner = runner(kafka, group, source, slow)
    previous = signal.getsignal(signal.SIGTERM)
    stop_on_signals([stage_runner])
    outcome: list[object] = []
    thread = threading.Thread(target=lambda: outcome.append(stage_runner.run()), daemon=True)
    try:
        thread.start()
        assert started.wait(60)
        os.kill(os.getpid(), signal.SIGTERM)
        thread.join(timeout=10)  # the shutdown contract: drain, commit and return within 10 seconds
        assert not thread.is_alive()
    finally:
        signal.signal(signal.SIGTERM, previous)
    stage_runner.close()
    assert outcome[0].ended_by == "stop"
    assert 0 < len(processed) < 200
    progress = committed(kafka, group, source)
    assert sum(progress.values()) == len(processed)
    for partition, offset in progress.items():
        assert max(record.offset for record in processed if record.partition == partition) + 1 == offset


def test_a_second_member_takes_over_partitions_after_committed_offsets(kafka, producer, topics, unique_name):
    """When a second runner joins the group, revoked partitions are committed first: nothing is lost or redone."""
    source, _ = topics
    values = fill(producer, source, 150)
    group = f"{unique_name}.rebalance"
    seen: list[tuple[str, bytes]] = []
    lock = threading.Lock()

    def stage_for(member: str):
        def process(records: Sequence[Record]) -> None:
            time.sleep(0.5)  # slow enough that the first member is still busy when the second joins
            with lock:
                seen.extend((member, record.value or b"") for record in records)
                if len(seen) >= len(values):
                    first.stop()
                    second.stop()

        return process

    first = runner(kafka, group, source, stage_for("first"))
    second = runner(kafka, group, source, stage_for("second"))
    threads = [threading.Thread(target=first.run, kwargs={"timeout": 120}, daemon=True)]
    threads[0].start()
    while not seen:
        time.sleep(0.05)
    threads.append(threading.Thread(target=second.run, kwargs={"timeout": 120}, daemon=True))
    threads[1].start()
    for thread in threads:
        thread.join(timeout=130)
    first.close()
    second.close()
    counts = Counter(value for _, value in seen)
    assert set(counts) == set(values)
    assert {member for member, _ in seen} == {"first", "second"}
    assert sum(count - 1 for count in counts.values()) <= SETTINGS.batch_size  # at most one batch in flight redone
    assert sum(committed(kafka, group, source).values()) == 150
