"""The daemon process: one ``StageRunner`` per stage and index, each in its own thread.

``graphdex run`` runs every stage of every index in one process by default; ``--stage`` picks some,
so stages can run (and scale) as separate processes: each stage is a consumer group, and more
processes mean more members sharing its partitions. The fetch stage has two runners: one for live
requests and one for the retry topic, so retries waiting for their time never hold up live traffic.

Stopping: SIGTERM or SIGINT only sets each runner's stop flag; runners finish the batch in hand, wait
for acknowledgements, commit and return, well within ``RunnerSettings.shutdown_timeout``; each logs
``stage stopped`` with what it processed and committed.

While running, ``ConsumerLag`` sets ``graphdex_consumer_lag`` for every stage's group and topic every
``lag_interval`` seconds.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum

import structlog

from indexer.daemon.lag import ConsumedTopics, ConsumerLag
from indexer.daemon.pipeline import IndexPipeline
from indexer.fetch.stage import FetchStage
from indexer.kafka.clients import GroupTimings, build_consumer, producer_config
from indexer.kafka.consumer_loop import RunnerSettings, StageRunner
from indexer.kafka.producer import TrackedProducer
from schema_gen.errors import ServiceError

log = structlog.get_logger("graphdex.daemon")

FETCH_ROUNDS_PER_BATCH = 4
"""A fetch batch holds up to this many rounds of ``fetch.max_in_flight`` gateway requests: through a
backlog the fetcher's pool stays full across rounds instead of waiting at every round for its slowest
request and for the produced documents' acknowledgements (about a tenth more documents per second on
the local stack). Under light load batches stay small: a stage takes only what is ready."""


class Stage(StrEnum):
    ROUTER = "router"
    FETCH = "fetch"
    SINK = "sink"


@dataclass
class _Worker:
    name: str
    runner: StageRunner
    consumes: ConsumedTopics
    thread: threading.Thread | None = None
    error: BaseException | None = None


class Daemon:
    """Runs the chosen stages of the given index pipelines until stopped."""

    def __init__(
        self,
        pipelines: Sequence[IndexPipeline],
        stages: Iterable[Stage] = tuple(Stage),
        runner_settings: RunnerSettings | None = None,
        lag_interval: float = 5.0,
    ) -> None:
        if not pipelines:
            raise ServiceError("no index definitions to run")
        self._pipelines = list(pipelines)
        self._stages = set(stages)
        self._settings = runner_settings or RunnerSettings()
        kafka = self._pipelines[0].definition.config.kafka
        self._producer = TrackedProducer(producer_config(kafka))
        self._workers: list[_Worker] = []
        self._fetch_stages: list[FetchStage] = []
        self._lag: list[ConsumerLag] = []
        for pipeline in self._pipelines:
            built = self._build(pipeline)
            self._workers += built
            self._lag.append(ConsumerLag([worker.consumes for worker in built], pipeline.metrics.lag, lag_interval))
        self._stopped = threading.Event()

    @property
    def workers(self) -> list[str]:
        return [worker.name for worker in self._workers]

    def start(self) -> None:
        for worker in self._workers:
            worker.thread = threading.Thread(target=self._run, args=(worker,), name=worker.name, daemon=True)
            worker.thread.start()
        for lag in self._lag:
            lag.start()
        log.info("daemon started", workers=self.workers)

    def stop(self) -> None:
        """Ask every runner to drain and stop; safe from a signal handler (it only sets flags)."""
        self._stopped.set()
        for worker in self._workers:
            worker.runner.stop()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for every runner to return; True when all have. A runner that crashed stops the others."""
        for worker in self._workers:
            if worker.thread is not None:
                worker.thread.join(timeout)
        return all(worker.thread is None or not worker.thread.is_alive() for worker in self._workers)

    def close(self) -> None:
        for lag in self._lag:
            lag.close()
        for worker in self._workers:
            worker.runner.close()
        for stage in self._fetch_stages:
            stage.close()
        self._producer.close(timeout=self._settings.shutdown_timeout)

    @property
    def failures(self) -> list[str]:
        return [f"{worker.name}: {worker.error}" for worker in self._workers if worker.error is not None]

    def healthy(self) -> bool:
        """Every runner thread is alive (or ended because it was asked to stop) and none crashed."""
        return not self.failures and all(
            worker.thread is not None and (worker.thread.is_alive() or self._stopped.is_set())
            for worker in self._workers
        )

    def joined(self) -> bool:
        """Every stage's consumer has joined its group (readiness)."""
        return all(worker.runner.joined for worker in self._workers)

    def _run(self, worker: _Worker) -> None:
        try:
            summary = worker.runner.run()
        except BaseException as exc:  # a crashed stage stops the process: better restarted than half-running
            worker.error = exc
            log.error("stage crashed, stopping the daemon", worker=worker.name, error=str(exc))
            self.stop()
            return
        log.info(
            "stage stopped",
            worker=worker.name,
            processed=summary.processed,
            batches=summary.batches,
            commits=summary.commits,
            pauses=summary.backpressure_pauses,
            ended_by=summary.ended_by,
        )

    def _build(self, pipeline: IndexPipeline) -> list[_Worker]:
        config = pipeline.definition.config
        topics = pipeline.topics
        timings = GroupTimings.from_settings(config.kafka)
        # Each stage's batching window: coalescing for fetch, bulk size for sink. The router takes what
        # is ready: its fan-outs wait ``reverse_lookup.fanout_delay`` anyway.
        fetch_settings = replace(
            self._settings,
            batch_size=config.fetch.batch_size * config.fetch.max_in_flight * FETCH_ROUNDS_PER_BATCH,
            linger=config.fetch.coalesce_window,
        )
        sink_settings = replace(self._settings, batch_size=config.sink.max_actions, linger=config.sink.max_wait)

        def worker(
            name: str, process: object, group: str, subscribed: list[str], settings: RunnerSettings, **hooks: object
        ) -> _Worker:
            metrics = pipeline.metrics
            paused = metrics.paused.labels(pipeline.index, group)
            batch_seconds = metrics.stage_batch_seconds.labels(pipeline.index, group)
            batch_records = metrics.stage_batch_records.labels(pipeline.index, group)

            def batch_done(records: int, seconds: float) -> None:
                batch_seconds.observe(seconds)
                batch_records.observe(records)

            runner = StageRunner(
                process,  # type: ignore[arg-type]
                consumer=build_consumer(config.kafka, topics.group_id(group), timings),
                topics=subscribed,
                producer=self._producer,
                settings=settings,
                name=f"{pipeline.index}.{group}",
                paused_changed=lambda now_paused: paused.set(1 if now_paused else 0),
                batch_done=batch_done,
                **hooks,  # type: ignore[arg-type]
            )
            paused.set(0)
            return _Worker(name, runner, ConsumedTopics(config.kafka, topics.group_id(group), tuple(subscribed)))

        workers: list[_Worker] = []
        if Stage.ROUTER in self._stages and config.events:
            route = pipeline.route_stage()
            workers.append(
                worker(
                    f"{pipeline.index}.route",
                    route.process,
                    "route",
                    route.topics,
                    self._settings,
                    idle=route.run_due_lookups,
                    held_offsets=route.held_offsets,
                )
            )
        if Stage.FETCH in self._stages:
            live, retry = pipeline.fetch_stage(), pipeline.fetch_stage()
            self._fetch_stages += [live, retry]
            workers.append(worker(f"{pipeline.index}.fetch", live.process, "fetch", [topics.requests], fetch_settings))
            workers.append(worker(f"{pipeline.index}.retry", retry.process, "retry", [topics.retry], fetch_settings))
        if Stage.SINK in self._stages:
            sink = pipeline.sink_stage()
            workers.append(worker(f"{pipeline.index}.sink", sink.process, "sink", [topics.documents], sink_settings))
        return workers
