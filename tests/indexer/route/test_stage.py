"""The route stage: root events, related events through reverse lookups, dead letters, held offsets."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from indexer.kafka.topics import TopicLayout
from indexer.messages import DeadLetter, Record, ReindexRequest
from indexer.metrics import PipelineMetrics
from indexer.route.events import EventDecoder
from indexer.route.fanout import FanoutSchedule
from indexer.route.reverse_lookup import ReverseLookup
from indexer.route.stage import RouteStage
from indexer.search_store import BulkAction
from indexer.search_store.memory import InMemorySearchStore
from schema_gen.config import EventSource, ReverseLookupSettings
from schema_gen.errors import StoreUnavailable
from tests.indexer.route.test_reverse_lookup import CATALOGUE

LAYOUT = TopicLayout("graphdex", "graphdex", "movies")


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000

    def __call__(self) -> int:
        return self.now


class LookupIndex(InMemorySearchStore):
    """The in-memory store holding movies that credit talents, with the fetch time graphdex records; it
    can be taken down (every search is unavailable)."""

    def __init__(self) -> None:
        super().__init__()
        self.down = False

    def put(self, movie_id: str, talents: set[str], fetched_at: int) -> None:
        """Index a movie crediting ``talents``, fetched at ``fetched_at``, visible to searches at once."""
        credits = [{"talent": {"talentId": talent}} for talent in sorted(talents)]
        source = {"movieId": movie_id, "credits": credits, "graphdex": {"fetched_at": fetched_at}}
        self.bulk([BulkAction("index", "movies", movie_id, source)], refresh=True)

    def search(self, index: str, body: Mapping[str, Any], *, timeout: float | None = None) -> dict[str, Any]:
        if self.down:
            raise StoreUnavailable(f"cannot reach the search server at {self.url} (POST {index}/_search): refused")
        return super().search(index, body, timeout=timeout)


def make_stage(index: LookupIndex, clock: Clock) -> RouteStage:
    settings = ReverseLookupSettings(fanout_delay=1, settle_delay=10, popular_threshold=100, popular_delay=60)
    sources = {
        "movies": EventSource(topic="movies", type="Movie"),
        "talent": EventSource(topic="talent", type="Talent"),
    }
    keys = {"Movie": ["movieId"], "Talent": ["talentId"]}
    decoders = {topic: EventDecoder(src, keys[src.type], clock) for topic, src in sources.items()}
    return RouteStage(
        index="movies",
        root_type="Movie",
        decoders=decoders,
        lookup=ReverseLookup(index, "movies", CATALOGUE, settings),
        schedule=FanoutSchedule(settings),
        topics=LAYOUT,
        metrics=PipelineMetrics(),
        clock_ms=clock,
    )


def event(topic: str, offset: int, row: dict[str, Any], op: str = "u") -> Record:
    value = json.dumps(
        {"op": op, "before": row if op == "d" else None, "after": None if op == "d" else row, "ts_ms": 5}
    )
    return Record(topic, 0, offset, None, value.encode())


def requested(result: Any) -> list[str]:
    return [ReindexRequest.from_bytes(out.value).id for out in result.outgoing if out.topic == LAYOUT.requests]


def test_root_event_becomes_a_request_keyed_by_root_id() -> None:
    """A movie update asks for that movie, keyed by its id so one partition owns it."""
    stage = make_stage(LookupIndex(), Clock())
    result = stage.process([event("movies", 3, {"movieId": "m1"})])
    [out] = result.outgoing
    assert out.topic == "graphdex.movies.requests"
    assert out.key == b"m1"
    request = ReindexRequest.from_bytes(out.value)
    assert (request.identity, request.cause.offset if request.cause else None, request.event_ts_ms) == (
        "Movie:m1",
        3,
        5,
    )


def test_related_change_fans_out_after_the_delay_and_holds_its_offset() -> None:
    """A talent change reaches every movie crediting them once the fan-out runs, and not before."""
    index, clock = LookupIndex(), Clock()
    index.put("m1", {"t1"}, 0)
    index.put("m2", {"t1", "t2"}, 0)
    index.put("m3", {"t2"}, 0)
    stage = make_stage(index, clock)
    assert stage.process([event("talent", 7, {"talentId": "t1"})]).outgoing == []
    assert stage.held_offsets() == {("talent", 0): 7}
    clock.now += 1000
    assert sorted(requested(stage.process([]))) == ["m1", "m2"]
    assert stage.held_offsets() == {("talent", 0): 7}
    clock.now += 10_000
    stage.process([])
    assert stage.held_offsets() == {}


def test_in_flight_fetch_is_caught_by_the_settle_lookup() -> None:
    """HSEARCH-4064: a movie fetched before the talent change but indexed after the lookup is re-fetched."""
    index, clock = LookupIndex(), Clock()
    stage = make_stage(index, clock)
    in_flight_started = clock.now  # m9's fetch starts, reading the old talent name
    stage.process([event("talent", 1, {"talentId": "t1"})])
    clock.now += 1000
    assert requested(stage.process([])) == []  # m9 is not in the index yet: the primary lookup misses it
    index.put("m9", {"t1"}, in_flight_started)  # the stale m9 lands
    index.put("m8", {"t1"}, clock.now + 5)  # a fetch that started after the primary: already fresh
    clock.now += 10_000
    assert requested(stage.process([])) == ["m9"]


def test_settle_lookup_skips_roots_the_primary_already_requested() -> None:
    """Under a backlog the primary's requests may not be fetched by settle time: the roots it requested
    are not requested again (versioning protects them), only a root it could not have seen is."""
    index, clock = LookupIndex(), Clock()
    index.put("m1", {"t1"}, 0)
    index.put("m2", {"t1"}, 0)
    stage = make_stage(index, clock)
    stage.process([event("talent", 1, {"talentId": "t1"})])
    clock.now += 1000
    assert sorted(requested(stage.process([]))) == ["m1", "m2"]  # still fetched_at 0 at settle time
    index.put("m9", {"t1"}, 5)  # an in-flight fetch that landed after the primary lookup
    clock.now += 10_000
    assert requested(stage.process([])) == ["m9"]


def test_malformed_event_is_dead_lettered_and_the_batch_goes_on() -> None:
    """A poison event becomes a dead letter with reason and bytes; the next event is still routed."""
    stage = make_stage(LookupIndex(), Clock())
    poison = Record("movies", 0, 1, b"k", b"{broken")
    result = stage.process([poison, event("movies", 2, {"movieId": "m2"})])
    letter = DeadLetter.from_bytes(result.outgoing[0].value)
    assert (result.outgoing[0].topic, letter.reason, letter.original_value(), letter.offset) == (
        "graphdex.movies.dlq",
        "bad_json",
        b"{broken",
        1,
    )
    assert requested(result) == ["m2"]


def test_lookup_failure_is_retried_not_dropped() -> None:
    """When the search server is down, the fan-out waits and runs once it is back."""
    index, clock = LookupIndex(), Clock()
    index.put("m1", {"t1"}, 0)
    stage = make_stage(index, clock)
    stage.process([event("talent", 1, {"talentId": "t1"}, op="d")])
    index.down = True
    clock.now += 1000
    assert requested(stage.process([])) == []
    assert stage.held_offsets() == {("talent", 0): 1}
    index.down = False
    clock.now += 2000
    assert requested(stage.process([])) == ["m1"]
