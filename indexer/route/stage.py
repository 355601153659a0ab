"""The route stage: change events in; reindex requests and dead letters out.

- An event about the root type becomes a reindex request for that id.
- An event about a related type (any type the catalogue lists at a path below the root) joins the
  fan-out schedule; when its lookup is due, the reverse lookup finds the root documents embedding it
  and each becomes a reindex request. A type can be both (a movie embedding related movies).
- A malformed event goes to the dead-letter topic with its reason and original bytes; the partition
  keeps moving.

Offsets of events whose fan-out is not complete are held back (``held_offsets``), so a restart
replays them rather than losing the fan-out.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import structlog

from indexer.kafka.consumer_loop import ProcessResult
from indexer.kafka.topics import TopicLayout
from indexer.messages import DeadLetter, EventCause, OutgoingRecord, Record, ReindexRequest
from indexer.metrics import PipelineMetrics
from indexer.route.events import EntityChange, EventDecoder, Origin, Rejected, Tombstone
from indexer.route.fanout import FanoutSchedule, Lookup
from indexer.route.reverse_lookup import ReverseLookup
from schema_gen.errors import StoreError

log = structlog.get_logger("graphdex.route")

LOOKUP_RETRY_MS = 2000


class RouteStage:
    """Turns change events into reindex requests for one index."""

    def __init__(
        self,
        *,
        index: str,
        root_type: str,
        decoders: Mapping[str, EventDecoder],
        lookup: ReverseLookup,
        schedule: FanoutSchedule,
        topics: TopicLayout,
        metrics: PipelineMetrics,
        clock_ms: Callable[[], int],
    ) -> None:
        self._index = index
        self._root_type = root_type
        self._decoders = decoders
        self._lookup = lookup
        self._related = lookup.related_types()
        self._schedule = schedule
        self._topics = topics
        self._metrics = metrics
        self._clock_ms = clock_ms

    @property
    def topics(self) -> list[str]:
        """The event topics this stage consumes."""
        return list(self._decoders)

    def process(self, records: Sequence[Record]) -> ProcessResult:
        now = self._clock_ms()
        outgoing: list[OutgoingRecord] = []
        for record in records:
            outgoing += self._route(record, now)
        outgoing += self.run_due_lookups()
        return ProcessResult(outgoing=outgoing)

    def run_due_lookups(self) -> list[OutgoingRecord]:
        """Run every lookup whose time has come; a lookup that fails is put back, never dropped."""
        outgoing: list[OutgoingRecord] = []
        for lookup in self._schedule.due(self._clock_ms()):
            outgoing += self._run(lookup)
        return outgoing

    def held_offsets(self) -> dict[tuple[str, int], int]:
        """Per partition, the lowest offset whose fan-out is not complete: commits must stay below it."""
        held: dict[tuple[str, int], int] = {}
        for origin in self._schedule.pending_origins():
            partition = (origin.topic, origin.partition)
            held[partition] = min(held.get(partition, origin.offset), origin.offset)
        return held

    def next_due_ms(self) -> int | None:
        return self._schedule.next_due_ms()

    def _route(self, record: Record, now: int) -> list[OutgoingRecord]:
        self._metrics.events.labels(self._index, record.topic).inc()
        decoder = self._decoders.get(record.topic)
        origin = Origin(record.topic, record.partition, record.offset)
        if decoder is None:
            return [
                self._dead_letter(record, "unknown_topic", f"no event source is configured for {record.topic}", now)
            ]
        decoded = decoder.decode(record.key, record.value, origin)
        if isinstance(decoded, Tombstone):
            return []
        if isinstance(decoded, Rejected):
            log.warning("event rejected", position=record.position, reason=decoded.reason, detail=decoded.detail)
            return [self._dead_letter(record, decoded.reason, decoded.detail, now)]
        outgoing: list[OutgoingRecord] = []
        for change in decoded:
            if change.type == self._root_type:
                outgoing.append(self._request(change.key[0], change, "event"))
            if change.type in self._related:
                self._schedule.changed(change, now)
        return outgoing

    def _run(self, lookup: Lookup) -> list[OutgoingRecord]:
        started = self._clock_ms()
        cause = _lookup_cause(lookup)
        requested: list[str] = []
        try:
            for page in self._lookup.root_ids(lookup.entity_type, [lookup.key], lookup.fetched_before_ms):
                requested += [root_id for root_id in page if root_id not in lookup.already_requested]
        except StoreError as exc:
            log.warning("reverse lookup failed, will retry", entity=lookup.identity, kind=lookup.kind, error=str(exc))
            self._schedule.retry(lookup, started, LOOKUP_RETRY_MS)
            return []
        self._metrics.lookups.labels(self._index, lookup.kind).inc()
        self._schedule.ran(lookup, len(requested), started, requested)
        log.info("reverse lookup", entity=lookup.identity, kind=lookup.kind, roots=len(requested))
        return [self._request(root_id, cause, lookup.kind) for root_id in requested]

    def _request(self, root_id: str, cause: EntityChange, kind: str) -> OutgoingRecord:
        request = ReindexRequest(
            id=root_id,
            type=self._root_type,
            cause=EventCause(
                type=cause.type,
                id="/".join(cause.key),
                op=cause.op,
                topic=cause.origin.topic,
                partition=cause.origin.partition,
                offset=cause.origin.offset,
            ),
            event_ts_ms=cause.ts_ms,
        )
        self._metrics.requests.labels(self._index, kind).inc()
        return OutgoingRecord(self._topics.requests, request.key(), request.to_bytes())

    def _dead_letter(self, record: Record, reason: str, detail: str, now: int) -> OutgoingRecord:
        self._metrics.dead_letters.labels(self._index, "route", reason).inc()
        letter = DeadLetter.for_record(record, stage="route", reason=reason, detail=detail, failed_at_ms=now)
        return OutgoingRecord(self._topics.dlq, record.key, letter.to_bytes())


def _lookup_cause(lookup: Lookup) -> EntityChange:
    """The change a lookup stands for: its latest event (for the request's cause and freshness)."""
    origin = lookup.origins[-1] if lookup.origins else Origin("", 0, 0)
    return EntityChange(lookup.entity_type, lookup.key, "u", lookup.last_change_ts_ms, origin)
