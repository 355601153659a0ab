"""StageRunner's offset, backpressure and stop logic, over an in-memory consumer (no broker)."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from indexer.kafka.consumer_loop import Backpressure, ProcessResult, RunnerSettings, StageRunner
from indexer.messages import OutgoingRecord, Record
from schema_gen.errors import GatewayUnavailable
from tests.indexer.kafka.in_memory_consumer import InMemoryConsumer, InMemoryMessage

FAST = RunnerSettings(batch_size=4, poll_timeout=0.01, commit_interval=60, commit_every=1000)


def partitions(*sizes: int, topic: str = "req") -> dict[tuple[str, int], list[bytes]]:
    return {
        (topic, number): [f"{number}-{offset}".encode() for offset in range(size)] for number, size in enumerate(sizes)
    }


class RecordingStage:
    """Remembers every record it saw and can be told to misbehave on a given call."""

    def __init__(self) -> None:
        self.calls: list[list[Record]] = []
        self.done: list[bytes] = []

    def process(self, records: Sequence[Record]) -> ProcessResult | Backpressure | None:
        self.calls.append(list(records))
        self.done += [record.value or b"" for record in records]
        return None


def values(log: dict[tuple[str, int], list[bytes]]) -> list[bytes]:
    return sorted(value for entries in log.values() for value in entries)


def test_every_record_is_processed_once_and_committed():
    """All records reach the stage once; the final commit is one past the last offset per partition."""
    log = partitions(5, 3)
    consumer, stage = InMemoryConsumer(log), RecordingStage()
    summary = StageRunner(stage.process, consumer=consumer, topics=["req"], settings=FAST).run(max_messages=8)
    assert sorted(stage.done) == values(log)
    assert consumer.committed == {("req", 0): 5, ("req", 1): 3}
    assert (summary.processed, summary.ended_by) == (8, "max_messages")


def test_records_carry_position_key_headers_and_timestamp():
    """The stage sees plain Records with everything the Kafka message had."""
    consumer, stage = InMemoryConsumer(partitions(1)), RecordingStage()
    StageRunner(stage.process, consumer=consumer, topics=["req"], settings=FAST).run(max_messages=1)
    record = stage.calls[0][0]
    assert (record.topic, record.partition, record.offset, record.key, record.value) == ("req", 0, 0, b"k0", b"0-0")
    assert record.header("n") == b"0"
    assert record.timestamp_ms == 1_700_000_000_000


def test_max_messages_never_consumes_more_than_asked():
    """run(max_messages=n) processes exactly n records and commits exactly those."""
    consumer, stage = InMemoryConsumer(partitions(10)), RecordingStage()
    runner = StageRunner(stage.process, consumer=consumer, topics=["req"], settings=FAST)
    runner.run(max_messages=3)
    assert len(stage.done) == 3
    assert consumer.committed == {("req", 0): 3}
    runner.run(max_messages=2)
    assert consumer.committed == {("req", 0): 5}


def test_backpressure_keeps_the_processed_part_and_redelivers_the_rest():
    """Backpressure(processed=k) stores the first k records and redelivers exactly the others."""
    consumer = InMemoryConsumer(partitions(6))
    seen: list[list[bytes]] = []

    def process(records: Sequence[Record]) -> Backpressure | None:
        seen.append([record.value or b"" for record in records])
        if len(seen) == 1:
            raise Backpressure(0.02, processed=1, reason="search server answered 429")
        return None

    summary = StageRunner(process, consumer=consumer, topics=["req"], settings=FAST).run(max_messages=6)
    assert seen[0] == [b"0-0", b"0-1", b"0-2", b"0-3"]
    assert seen[1][:3] == [b"0-1", b"0-2", b"0-3"]
    assert sorted(value for batch in seen[1:] for value in batch) == values(partitions(6))[1:]
    assert summary.backpressure_pauses == 1
    assert consumer.committed == {("req", 0): 6}
    assert not consumer.paused


def test_returned_backpressure_pauses_every_partition_until_due():
    """A stage may return Backpressure; the whole assignment is paused and resumed after retry_after."""
    consumer = InMemoryConsumer(partitions(2, 2))
    calls: list[int] = []

    def process(records: Sequence[Record]) -> ProcessResult:
        calls.append(len(records))
        if len(calls) == 1:
            return ProcessResult(backpressure=Backpressure(0.05))
        return ProcessResult()

    reported: list[bool] = []
    runner = StageRunner(process, consumer=consumer, topics=["req"], settings=FAST, paused_changed=reported.append)
    runner.run(timeout=0.02)
    assert consumer.paused == {("req", 0), ("req", 1)}
    assert consumer.committed == {}
    assert reported == [True]
    runner.run(max_messages=4)
    assert not consumer.paused
    assert consumer.committed == {("req", 0): 2, ("req", 1): 2}
    assert reported == [True, False]  # told once each way, not per partition


def test_gateway_unavailable_is_backpressure_for_the_whole_batch():
    """GatewayUnavailable from a stage pauses and redelivers the batch instead of crashing."""
    consumer = InMemoryConsumer(partitions(3))
    seen: list[list[bytes]] = []

    def process(records: Sequence[Record]) -> None:
        seen.append([record.value or b"" for record in records])
        if len(seen) == 1:
            raise GatewayUnavailable("gateway answered 503", retry_after=0.01)

    StageRunner(process, consumer=consumer, topics=["req"], settings=FAST).run(max_messages=3)
    assert seen[0] == seen[1] == [b"0-0", b"0-1", b"0-2"]
    assert consumer.committed == {("req", 0): 3}


def test_records_fetched_before_a_pause_are_read_again_later():
    """Records that still arrive from paused partitions are not processed but sought back to."""
    consumer = InMemoryConsumer(partitions(8))
    consumer.ignore_pause = True
    seen: list[bytes] = []

    def process(records: Sequence[Record]) -> Backpressure | None:
        first = not seen
        seen.extend(record.value or b"" for record in records)
        return Backpressure(0.05, processed=2) if first else None

    StageRunner(process, consumer=consumer, topics=["req"], settings=FAST).run(max_messages=8)
    assert seen[:4] == [b"0-0", b"0-1", b"0-2", b"0-3"]
    assert seen[4:] == values(partitions(8))[2:]
    assert consumer.committed == {("req", 0): 8}


def test_a_crash_mid_batch_commits_earlier_batches_and_redelivers_the_rest():
    """An exception from the stage commits only finished batches; a new runner starts at the failed batch."""
    log = partitions(10)
    consumer = InMemoryConsumer(log)
    done: list[bytes] = []

    def crashing(records: Sequence[Record]) -> None:
        if len(done) >= 4:
            done.extend(record.value or b"" for record in records[: len(records) // 2])
            raise RuntimeError("stage bug")
        done.extend(record.value or b"" for record in records)

    with pytest.raises(RuntimeError, match="stage bug"):
        StageRunner(crashing, consumer=consumer, topics=["req"], settings=FAST).run()
    assert consumer.committed == {("req", 0): 4}
    restarted, stage = InMemoryConsumer(log, committed=consumer.committed), RecordingStage()
    StageRunner(stage.process, consumer=restarted, topics=["req"], settings=FAST).run(max_messages=6)
    assert stage.done == log[("req", 0)][4:]
    assert set(done) | set(stage.done) == set(log[("req", 0)])


def test_stop_finishes_the_batch_and_commits():
    """stop() during a batch lets it finish, commits it and returns without taking another."""
    consumer = InMemoryConsumer(partitions(12))
    runner: StageRunner
    calls: list[int] = []

    def process(records: Sequence[Record]) -> None:
        calls.append(len(records))
        runner.stop()

    runner = StageRunner(process, consumer=consumer, topics=["req"], settings=FAST)
    summary = runner.run()
    assert calls == [4]
    assert summary.ended_by == "stop"
    assert consumer.committed == {("req", 0): 4}


def test_revoked_partitions_are_committed_before_they_go():
    """A rebalance commits the offsets stored for the partitions taken away."""
    consumer = InMemoryConsumer(partitions(3))
    runner = StageRunner(lambda records: None, consumer=consumer, topics=["req"], settings=FAST)
    runner.run(max_messages=2)
    consumer.committed.clear()
    runner.run(max_messages=1)
    consumer.rebalance()
    assert consumer.committed == {("req", 0): 3}


def test_checkpoint_commits_every_n_records():
    """With commit_every=2, offsets are committed while the run goes on, not only at its end."""
    consumer = InMemoryConsumer(partitions(6))
    settings = RunnerSettings(batch_size=2, poll_timeout=0.01, commit_interval=60, commit_every=2)
    summary = StageRunner(lambda records: None, consumer=consumer, topics=["req"], settings=settings).run(
        max_messages=6
    )
    assert summary.commits >= 3


def test_close_commits_and_leaves():
    """close() commits what is stored and closes the consumer; a closed runner refuses to run."""
    consumer = InMemoryConsumer(partitions(2))
    with StageRunner(lambda records: None, consumer=consumer, topics=["req"], settings=FAST) as runner:
        runner.run(max_messages=2)
    assert consumer.closed
    assert consumer.committed == {("req", 0): 2}
    with pytest.raises(Exception, match="closed"):
        runner.run(max_messages=1)


def test_outgoing_records_need_a_producer():
    """A stage that returns records to produce, run without a producer, is a programming error."""
    consumer = InMemoryConsumer(partitions(1))

    def process(records: Sequence[Record]) -> ProcessResult:
        return ProcessResult(outgoing=[OutgoingRecord("out", b"k", b"v")])

    with pytest.raises(ValueError, match="no producer"):
        StageRunner(process, consumer=consumer, topics=["req"], settings=FAST).run(max_messages=1)
    assert consumer.committed == {}


def test_an_impossible_processed_count_is_refused():
    """Backpressure claiming more processed records than the batch had raises instead of skipping."""
    consumer = InMemoryConsumer(partitions(2))
    with pytest.raises(ValueError, match="reported 9 processed records of a batch of 2"):
        StageRunner(lambda records: Backpressure(1, processed=9), consumer=consumer, topics=["req"], settings=FAST).run(
            max_messages=2
        )
    assert consumer.committed == {}


def test_a_stage_returning_something_else_is_refused():
    """A stage returning neither a ProcessResult, Backpressure nor None raises instead of guessing."""
    consumer = InMemoryConsumer(partitions(1))
    with pytest.raises(TypeError, match="not list"):
        StageRunner(lambda records: [], consumer=consumer, topics=["req"], settings=FAST).run(max_messages=1)
    assert consumer.committed == {}


def test_held_offsets_keep_commits_behind_pending_work():
    """Commits stay at the stage's held offset until it lets go; then they catch up."""
    consumer = InMemoryConsumer(partitions(5))
    held = {("req", 0): 2}
    runner = StageRunner(
        lambda records: None, consumer=consumer, topics=["req"], settings=FAST, held_offsets=lambda: held
    )
    runner.run(max_messages=5)
    assert consumer.committed == {("req", 0): 2}
    held.clear()
    runner.run(timeout=0.05)
    assert consumer.committed == {("req", 0): 5}


def test_idle_work_runs_when_no_records_arrive():
    """The idle hook runs on polls that bring nothing, not in place of processing."""
    consumer = InMemoryConsumer(partitions(2))
    idle_calls: list[int] = []
    stage = RecordingStage()
    runner = StageRunner(
        stage.process, consumer=consumer, topics=["req"], settings=FAST, idle=lambda: idle_calls.append(1) or []
    )
    runner.run(max_messages=2)
    assert idle_calls == []
    runner.run(timeout=0.1)
    assert idle_calls
    assert len(stage.done) == 2


def test_a_waiting_partition_pauses_alone():
    """Backpressure for waiting partitions only pauses the first unprocessed record's partition; others go on."""
    consumer = InMemoryConsumer(partitions(3, 3))
    seen: list[bytes] = []

    def process(records: Sequence[Record]) -> Backpressure | None:
        seen.extend(record.value or b"" for record in records)
        waiting = next((n for n, record in enumerate(records) if record.value == b"0-1"), None)
        if waiting is not None and seen.count(b"0-1") == 1:
            return Backpressure(60, processed=waiting, reason="retry not due", only_waiting_partitions=True)
        return None

    runner = StageRunner(process, consumer=consumer, topics=["req"], settings=FAST)
    runner.run(timeout=0.3)
    assert consumer.paused == {("req", 0)}
    assert consumer.committed == {("req", 0): 1, ("req", 1): 3}
    assert seen.count(b"0-1") == 1  # the waiting record is not delivered again while its partition waits
    assert seen.count(b"1-1") == 2  # it came after the waiting record: rewound, delivered again at once
    assert b"0-2" not in seen


class ArrivingConsumer(InMemoryConsumer):
    """Records each consume call; ``arrivals[n]`` are appended to partition 0 just before call ``n``."""

    def __init__(self, arrivals: dict[int, list[bytes]]) -> None:
        super().__init__({("req", 0): []})
        self.arrivals = arrivals
        self.calls: list[tuple[int, float]] = []

    def consume(self, num_messages: int = 1, timeout: float = -1) -> list[InMemoryMessage]:
        self.log[("req", 0)] += self.arrivals.get(len(self.calls), [])
        self.calls.append((num_messages, timeout))
        return super().consume(num_messages, timeout)


def test_a_record_reaching_a_quiet_stage_is_handed_on_at_once():
    """Nothing ready: the runner waits only for the first record, then takes it without lingering."""
    consumer, stage = ArrivingConsumer({1: [b"a"]}), RecordingStage()
    settings = RunnerSettings(batch_size=4, poll_timeout=0.3, linger=0.0)
    StageRunner(stage.process, consumer=consumer, topics=["req"], settings=settings).run(max_messages=1)
    assert [[record.value for record in call] for call in stage.calls] == [[b"a"]]
    assert consumer.calls[:2] == [(1, 0), (1, 0.3)]


def test_records_arriving_within_the_linger_join_the_batch():
    """After the first record the batch may fill for ``linger`` seconds; what is ready is taken at once."""
    consumer, stage = ArrivingConsumer({0: [b"a", b"b"], 1: [b"c", b"d", b"e"]}), RecordingStage()
    settings = RunnerSettings(batch_size=4, poll_timeout=0.3, linger=0.05)
    StageRunner(stage.process, consumer=consumer, topics=["req"], settings=settings).run(max_messages=5)
    assert [[record.value for record in call] for call in stage.calls] == [[b"a", b"b", b"c", b"d"], [b"e"]]
    assert consumer.calls[:2] == [(4, 0), (2, 0.05)]


def test_each_batch_is_reported_with_its_size_and_duration():
    """``batch_done`` hears every batch the stage took: how many records, and how long until acknowledged."""
    consumer, stage = InMemoryConsumer(partitions(6)), RecordingStage()
    reported: list[tuple[int, float]] = []
    StageRunner(
        stage.process, consumer=consumer, topics=["req"], settings=FAST, batch_done=lambda n, s: reported.append((n, s))
    ).run(max_messages=6)
    assert [count for count, _ in reported] == [len(call) for call in stage.calls] == [4, 2]
    assert all(seconds >= 0 for _, seconds in reported)
