"""``StageRunner``: the Kafka adapter around one stage's ``process(records) -> ProcessResult``.

One loop iteration: consume a batch, hand it to the stage, produce the records the stage returned,
wait until Kafka acknowledged them, and only then store the batch's offsets. (A stage that produces
on its own instead of returning records waits for its own ``DeliveryBatch`` before it returns.)
Stored offsets are committed on a checkpoint (``commit_interval`` seconds or ``commit_every``
records), when partitions are revoked, and on exit. So every offset committed is behind work that
is done: after a crash, at most the uncommitted records are processed again (at-least-once), and
none is ever skipped.

Batching: a batch is whatever is ready, up to ``batch_size`` records. The runner waits (at most
``poll_timeout``) only for the first record; then it takes what the client has already fetched and
waits at most ``linger`` more for the batch to fill. So a record arriving at a quiet stage is handed
on at once, and under load batches grow by themselves: records pile up while the stage processes the
previous batch (a bulk request, a gateway fetch), and the next poll takes them all.

Backpressure: a stage that cannot take more right now (the search server answers 429, the gateway is
down, a retry is not due yet) raises or returns ``Backpressure(retry_after, processed=k)``. The first
``k`` records of the batch count as done; the runner pauses the assignment (or, with
``only_waiting_partitions``, just the waiting record's partition), seeks every partition back to its
first record not done, and resumes after ``retry_after`` seconds. ``GatewayUnavailable``
from a stage is read the same way. A failed delivery of produced records is handled like
backpressure for the whole batch. Nothing crashes and nothing is dropped.

Stopping: ``stop()`` (or a signal handler installed by ``stop_on_signals``) only sets a flag. The
loop finishes the batch in hand, waits for its acknowledgements (up to ``shutdown_timeout``),
commits and returns. ``run(timeout=, max_messages=)`` also returns after a time or a number of
processed records, which makes tests deterministic.

``paused_changed`` is told when the runner starts and stops pausing (the ``graphdex_paused`` gauge),
``batch_done`` each batch's size and duration (``graphdex_stage_batch_*``).

Stages that keep work across batches (the route stage's delayed fan-outs) give two hooks: ``idle``
runs when a poll brings nothing, and its records are produced and acknowledged like a batch's;
``held_offsets`` says, per partition, the offset commits must not pass yet (an event whose fan-out
is still pending). When produced records are not acknowledged, the held offsets from before the
call stay in force for the rest of the run, since the stage already counts that work as done: a
restart then replays it.

Any other exception from the stage is a bug or a fatal condition: the runner commits what it stored
before the failing batch and re-raises, and the failing batch is delivered again after a restart.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import FrameType
from typing import Literal

import structlog
from confluent_kafka import TIMESTAMP_NOT_AVAILABLE, Consumer, KafkaError, KafkaException, Message, TopicPartition

from indexer.kafka.offset_ledger import OffsetLedger, Partition
from indexer.kafka.producer import DeliveryFailed, TrackedProducer
from indexer.messages import OutgoingRecord, Record
from schema_gen.errors import GatewayUnavailable, ServiceError

log = structlog.get_logger(__name__)

_COMMIT_RESERVE = 3.0
"""Seconds of the shutdown timeout kept for the final commit and leaving the group."""


class Backpressure(ServiceError):
    """A stage cannot take more right now: pause for ``retry_after`` seconds, then redeliver.

    ``processed`` leading records of the batch were handled before the pressure and are not redelivered.
    ``only_waiting_partitions`` pauses just the partition of the first record not processed (a retry
    that is not due yet holds up its own partition only; the batch's later records of other partitions
    are delivered again at once); by default the whole assignment pauses (the search server or the
    gateway is overloaded, whatever the partition).
    """

    def __init__(
        self, retry_after: float, processed: int = 0, reason: str = "", *, only_waiting_partitions: bool = False
    ) -> None:
        self.retry_after = max(0.0, retry_after)
        self.processed = processed
        self.only_waiting_partitions = only_waiting_partitions
        super().__init__(f"backpressure for {self.retry_after:g}s{': ' + reason if reason else ''}")


@dataclass(frozen=True)
class ProcessResult:
    """What a stage did with a batch: records to produce, and backpressure if it stopped early."""

    outgoing: Sequence[OutgoingRecord] = ()
    backpressure: Backpressure | None = None


Process = Callable[[Sequence[Record]], ProcessResult | Backpressure | None]
"""A stage: every record of the batch is done when it returns, unless it reports backpressure."""
Idle = Callable[[], Sequence[OutgoingRecord]]
"""Work due between batches; returns records to produce."""
HeldOffsets = Callable[[], Mapping[Partition, int]]
"""Per partition, the lowest offset whose work is not complete: commits stay at or below it."""
PausedChanged = Callable[[bool], None]
"""Told True when the runner pauses partitions while none were paused, False when none are any more."""
BatchDone = Callable[[int, float], None]
"""Told each batch's record count and seconds from handing it to the stage to its acknowledgements."""


@dataclass(frozen=True)
class RunnerSettings:
    batch_size: int = 500
    poll_timeout: float = 0.5
    """Longest wait for a first record; also how quickly a stop request is noticed when idle."""
    linger: float = 0.0
    """After the first record, how long a batch may wait to fill up (the stage's batching window)."""
    commit_interval: float = 5.0
    commit_every: int = 10_000
    shutdown_timeout: float = 10.0
    """From a stop request to returning: finish the batch, wait for acknowledgements, commit."""
    delivery_retry_after: float = 1.0
    """Pause after produced records were not acknowledged, before the batch is processed again."""
    gateway_retry_after: float = 2.0
    """Pause after ``GatewayUnavailable`` without its own ``retry_after``."""


@dataclass
class RunSummary:
    processed: int = 0
    batches: int = 0
    backpressure_pauses: int = 0
    delivery_failures: int = 0
    commits: int = 0
    ended_by: Literal["stop", "timeout", "max_messages"] = "stop"


class StageRunner:
    """Runs one stage over ``topics`` with ``consumer`` (from ``clients.build_consumer``)."""

    def __init__(
        self,
        process: Process,
        *,
        consumer: Consumer,
        topics: Sequence[str],
        producer: TrackedProducer | None = None,
        settings: RunnerSettings | None = None,
        name: str = "stage",
        idle: Idle | None = None,
        held_offsets: HeldOffsets | None = None,
        paused_changed: PausedChanged | None = None,
        batch_done: BatchDone | None = None,
    ) -> None:
        self._process = process
        self._idle = idle
        self._held_offsets = held_offsets
        self._paused_changed = paused_changed
        self._batch_done = batch_done
        self._reported_paused = False
        self._consumer = consumer
        self._topics = list(topics)
        self._producer = producer
        self._settings = settings or RunnerSettings()
        self._log = log.bind(stage=name)
        self._subscribed = False
        self._closed = False
        self._stop_requested_at: float | None = None  # a plain attribute: safe to set from a signal handler
        self._assigned: set[Partition] = set()
        self._joined = False
        self._ledger = OffsetLedger()
        self._last_commit = time.monotonic()
        self._paused: dict[Partition, float] = {}  # partition -> when to resume it
        self.summary = RunSummary()

    def stop(self) -> None:
        """Ask the loop to finish its batch, commit and return; safe from a signal handler."""
        if self._stop_requested_at is None:
            self._stop_requested_at = time.monotonic()

    def run(self, timeout: float | None = None, max_messages: int | None = None) -> RunSummary:
        """Process until stopped, ``timeout`` seconds passed or ``max_messages`` records were processed."""
        if self._closed:
            raise ServiceError("this stage runner is closed")
        self._subscribe()
        started = self.summary.processed
        deadline = time.monotonic() + timeout if timeout is not None else None
        try:
            while True:
                if self._stop_requested_at is not None:
                    self.summary.ended_by = "stop"
                    break
                if max_messages is not None and self.summary.processed - started >= max_messages:
                    self.summary.ended_by = "max_messages"
                    break
                now = time.monotonic()
                if deadline is not None and now >= deadline:
                    self.summary.ended_by = "timeout"
                    break
                wanted = self._settings.batch_size
                if max_messages is not None:
                    wanted = min(wanted, max_messages - (self.summary.processed - started))
                wait = (
                    self._settings.poll_timeout
                    if deadline is None
                    else min(self._settings.poll_timeout, deadline - now)
                )
                self._step(wanted, max(wait, 0.0))
                self._checkpoint_if_due()
        except BaseException:
            self._commit()
            raise
        self._commit()
        return self.summary

    def close(self) -> None:
        """Commit what is stored and leave the group (revoking partitions commits them too)."""
        if self._closed:
            return
        self._commit()
        self._consumer.close()
        self._closed = True

    def __enter__(self) -> StageRunner:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _subscribe(self) -> None:
        if not self._subscribed:
            self._consumer.subscribe(
                self._topics, on_assign=self._on_assign, on_revoke=self._on_revoke, on_lost=self._on_lost
            )
            self._subscribed = True

    def _step(self, wanted: int, wait: float) -> None:
        self._resume_if_due()
        if self._paused:
            wait = max(0.0, min(wait, min(self._paused.values()) - time.monotonic()))
        messages = self._consume(wanted, wait)
        batch = [record_of(message) for message in messages if not self._is_error(message)]
        early = [record for record in batch if (record.topic, record.partition) in self._paused]
        if early:  # fetched before their partition's pause took effect: read them again after it
            self._seek_back(early)
            batch = [record for record in batch if (record.topic, record.partition) not in self._paused]
        if not batch:
            self._run_idle()
            return
        self.summary.batches += 1
        started = time.perf_counter()
        held_before = self._held()
        try:
            outcome = self._process(batch)
        except Backpressure as pressure:
            outcome = pressure
        except GatewayUnavailable as unavailable:
            outcome = Backpressure(unavailable.retry_after or self._settings.gateway_retry_after, 0, str(unavailable))
        if outcome is not None and not isinstance(outcome, ProcessResult | Backpressure):
            raise TypeError(f"a stage returns a ProcessResult, Backpressure or None, not {type(outcome).__name__}")
        result = outcome if isinstance(outcome, ProcessResult) else ProcessResult(backpressure=outcome)
        pressure = result.backpressure
        done = len(batch) if pressure is None else pressure.processed
        if not 0 <= done <= len(batch):
            raise ValueError(f"the stage reported {done} processed records of a batch of {len(batch)}")
        acknowledged = self._acknowledged(result.outgoing)
        if self._batch_done is not None:
            self._batch_done(len(batch), time.perf_counter() - started)
        if not acknowledged:
            self.summary.delivery_failures += 1
            self._ledger.pin(held_before)
            retry_after = self._settings.delivery_retry_after
            self._pause_and_rewind(batch, retry_after, "produced records not acknowledged", only_waiting=False)
            return
        self._ledger.store(batch[:done], self._assigned)
        self.summary.processed += done
        if pressure is not None:
            self.summary.backpressure_pauses += 1
            only_waiting = pressure.only_waiting_partitions
            self._pause_and_rewind(batch[done:], pressure.retry_after, str(pressure), only_waiting=only_waiting)

    def _consume(self, wanted: int, wait: float) -> list[Message]:
        """Up to ``wanted`` messages: what is ready now, else the first to arrive within ``wait``; then
        whatever else arrives within ``linger``."""
        messages = self._consumer.consume(num_messages=wanted, timeout=0)
        if not messages:
            messages = self._consumer.consume(num_messages=1, timeout=wait)
            if not messages:
                return []
        messages = list(messages)
        if len(messages) < wanted:
            more = self._consumer.consume(num_messages=wanted - len(messages), timeout=self._settings.linger)
            messages.extend(more)
        return messages

    def _acknowledged(self, outgoing: Sequence[OutgoingRecord]) -> bool:
        """Produce ``outgoing`` and wait until Kafka acknowledged all of it; False when it did not."""
        if self._producer is None:
            if outgoing:
                raise ValueError("the stage returned records to produce, but the runner has no producer")
            return True
        batch = self._producer.batch()
        try:
            batch.produce_all(outgoing)
            while not batch.wait(self._settings.poll_timeout):
                stop_at = self._stop_requested_at
                if stop_at is not None and time.monotonic() >= stop_at + self._ack_patience_on_stop():
                    self._log.warning("kafka.shutdown_before_acknowledged", pending=batch.pending)
                    return False
        except DeliveryFailed as failure:
            if failure.fatal:
                raise
            self._log.warning("kafka.delivery_failed", error=str(failure))
            return False
        return True

    def _run_idle(self) -> None:
        if self._idle is None:
            return
        held_before = self._held()
        if not self._acknowledged(self._idle()):
            self.summary.delivery_failures += 1
            self._ledger.pin(held_before)

    def _held(self) -> dict[Partition, int]:
        return dict(self._held_offsets()) if self._held_offsets is not None else {}

    def _ack_patience_on_stop(self) -> float:
        """How long after a stop request acknowledgements may take, leaving time to commit and leave."""
        return max(0.0, self._settings.shutdown_timeout - _COMMIT_RESERVE)

    def _pause_and_rewind(
        self, undone: Sequence[Record], retry_after: float, reason: str, *, only_waiting: bool
    ) -> None:
        if only_waiting:
            chosen = {(undone[0].topic, undone[0].partition)} & self._assigned if undone else set()
        else:
            chosen = set(self._assigned)
        resume_at = time.monotonic() + retry_after
        self._consumer.pause([TopicPartition(topic, partition) for topic, partition in sorted(chosen)])
        for partition in chosen:
            self._paused[partition] = max(self._paused.get(partition, resume_at), resume_at)
        self._seek_back(undone)
        self._report_paused()
        self._log.info("kafka.paused", retry_after=retry_after, reason=reason, partitions=len(chosen))

    def _report_paused(self) -> None:
        paused = bool(self._paused)
        if paused != self._reported_paused and self._paused_changed is not None:
            self._paused_changed(paused)
        self._reported_paused = paused

    def _seek_back(self, records: Sequence[Record]) -> None:
        """Make each partition's first record in ``records`` the next one consumed."""
        first: dict[Partition, int] = {}
        for record in records:
            first.setdefault((record.topic, record.partition), record.offset)
        for (topic, partition), offset in first.items():
            if (topic, partition) not in self._assigned:
                continue  # revoked meanwhile: the new owner starts from the committed offset
            try:
                self._consumer.seek(TopicPartition(topic, partition, offset))
            except KafkaException as exc:
                # Going on would skip records; stop instead, so a restart resumes from committed offsets.
                raise ServiceError(f"Kafka: cannot seek {topic}[{partition}] back to {offset}: {exc}") from None

    def _resume_if_due(self) -> None:
        now = time.monotonic()
        due = sorted(partition for partition, resume_at in self._paused.items() if resume_at <= now)
        if not due:
            return
        for partition in due:
            del self._paused[partition]
        self._report_paused()
        assigned = [TopicPartition(topic, number) for topic, number in due if (topic, number) in self._assigned]
        if assigned:
            self._consumer.resume(assigned)
        self._log.info("kafka.resumed", partitions=len(due))

    def _checkpoint_if_due(self) -> None:
        due = time.monotonic() - self._last_commit >= self._settings.commit_interval
        if self._ledger.has_uncommitted and (due or self._ledger.uncommitted >= self._settings.commit_every):
            self._commit()

    def _commit(self, partitions: Iterable[Partition] | None = None) -> None:
        offsets = self._ledger.to_commit(self._held(), partitions) if self._ledger.has_uncommitted else {}
        self._last_commit = time.monotonic()
        self._ledger.checkpointed()
        if not offsets:
            return
        chosen = [TopicPartition(topic, partition, offset) for (topic, partition), offset in offsets.items()]
        try:
            results = self._consumer.commit(offsets=chosen, asynchronous=False)
        except KafkaException as exc:
            self._log.warning("kafka.commit_failed", error=str(exc.args[0] if exc.args else exc))
            return
        for result in results or ():
            partition = (result.topic, result.partition)
            if result.error is not None:
                self._log.warning("kafka.commit_failed", partition=partition, error=str(result.error))
            else:
                self._ledger.committed(partition, result.offset)
        self.summary.commits += 1

    @property
    def joined(self) -> bool:
        """The consumer has joined its group and received an assignment (possibly empty)."""
        return self._joined

    def _on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        self._joined = True
        self._assigned |= {(tp.topic, tp.partition) for tp in partitions}
        self._log.info("kafka.assigned", partitions=sorted(self._assigned))

    def _on_revoke(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        revoked = {(tp.topic, tp.partition) for tp in partitions}
        self._commit(revoked)
        self._forget(revoked)
        self._log.info("kafka.revoked", partitions=sorted(revoked))

    def _on_lost(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        lost = {(tp.topic, tp.partition) for tp in partitions}
        self._forget(lost)  # another member owns them now: committing would move its offsets
        self._log.warning("kafka.partitions_lost", partitions=sorted(lost))

    def _forget(self, partitions: set[Partition]) -> None:
        self._assigned -= partitions
        self._ledger.forget(partitions)
        for partition in partitions:
            self._paused.pop(partition, None)  # a partition assigned again starts unpaused
        self._report_paused()

    def _is_error(self, message: Message) -> bool:
        error = message.error()
        if error is None:
            return False
        if error.fatal():
            raise ServiceError(f"Kafka consumer failed: {error.str()} ({error.name()})")
        if error.code() != KafkaError._PARTITION_EOF:
            self._log.warning("kafka.consume_error", error=error.str(), code=error.name())
        return True


def record_of(message: Message) -> Record:
    """The ``Record`` a stage sees for a confluent-kafka message (not an error message)."""
    kind, timestamp = message.timestamp()
    return Record(
        topic=message.topic() or "",
        partition=message.partition() or 0,
        offset=message.offset() or 0,
        key=message.key(),
        value=message.value(),
        headers=tuple(message.headers() or ()),
        timestamp_ms=timestamp if kind != TIMESTAMP_NOT_AVAILABLE else None,
    )


def stop_on_signals(runners: Iterable[StageRunner], signals: Iterable[int] = (signal.SIGTERM, signal.SIGINT)) -> None:
    """Install handlers (main thread only) that ask every runner to stop; they only set flags."""
    chosen = list(runners)

    def handler(signum: int, frame: FrameType | None) -> None:
        for runner in chosen:
            runner.stop()

    for number in signals:
        signal.signal(number, handler)
