"""The fan-out schedule: coalescing changes per entity, popular entities, and settle lookups."""

from __future__ import annotations

from indexer.route.events import EntityChange, Origin
from indexer.route.fanout import FanoutSchedule
from schema_gen.config import ReverseLookupSettings

SETTINGS = ReverseLookupSettings(fanout_delay=1, popular_threshold=100, popular_delay=60, settle_delay=10)


def change(key: str, offset: int, ts: int = 0) -> EntityChange:
    return EntityChange("Talent", (key,), "u", ts, Origin("talent", 0, offset))


def test_changes_within_the_delay_share_one_lookup() -> None:
    """Three changes of one talent before its lookup runs make one primary lookup."""
    schedule = FanoutSchedule(SETTINGS)
    for offset, now in enumerate((0, 200, 900)):
        schedule.changed(change("t1", offset), now)
    assert schedule.due(999) == []
    [lookup] = schedule.due(1000)
    assert lookup.kind == "primary"
    assert [origin.offset for origin in lookup.origins] == [0, 1, 2]
    assert schedule.coalesced == 2


def test_settle_lookup_follows_and_releases_origins() -> None:
    """A primary lookup is followed by a settle lookup limited to documents fetched before it ran."""
    schedule = FanoutSchedule(SETTINGS)
    schedule.changed(change("t1", 5), 0)
    [primary] = schedule.due(1000)
    assert schedule.ran(primary, roots_found=3, ran_at_ms=1000) == []
    assert [origin.offset for origin in schedule.pending_origins()] == [5]
    assert schedule.due(10_999) == []
    [settle] = schedule.due(11_000)
    assert settle.kind == "settle"
    assert settle.fetched_before_ms == 1000
    assert schedule.ran(settle, roots_found=0, ran_at_ms=11_000) == [Origin("talent", 0, 5)]
    assert list(schedule.pending_origins()) == []


def test_settle_lookup_remembers_what_the_primary_requested_unless_popular() -> None:
    """The roots a fan-out requested ride along to its settle lookup; a popular fan-out's are not kept."""
    schedule = FanoutSchedule(SETTINGS)
    schedule.changed(change("t1", 0), 0)
    schedule.changed(change("star", 1), 0)
    lookups = {lookup.key: lookup for lookup in schedule.due(1000)}
    small, popular = lookups[("t1",)], lookups[("star",)]
    schedule.ran(small, roots_found=2, ran_at_ms=1000, requested=["m1", "m2"])
    schedule.ran(popular, roots_found=100, ran_at_ms=1000, requested=[f"m{n}" for n in range(100)])
    settles = {lookup.key: lookup for lookup in schedule.due(11_000)}
    assert settles[("t1",)].already_requested == {"m1", "m2"}
    assert settles[("star",)].already_requested == frozenset()


def test_popular_entity_fans_out_once_more_per_popular_delay() -> None:
    """After a large fan-out, five further changes within the minute make one more primary lookup."""
    schedule = FanoutSchedule(SETTINGS)
    schedule.changed(change("star", 0), 0)
    [primary] = schedule.due(1000)
    schedule.ran(primary, roots_found=5000, ran_at_ms=1000)
    for offset, now in enumerate((5_000, 15_000, 30_000, 45_000, 59_000), start=1):
        schedule.changed(change("star", offset), now)
    lookups = []
    for now in range(1_000, 70_000, 500):
        lookups += [(lookup.kind, now) for lookup in schedule.due(now)]
    assert lookups == [("settle", 11_000), ("primary", 61_000)]


def test_unpopular_entity_is_not_held_back() -> None:
    """A small fan-out does not delay the entity's next change beyond the usual delay."""
    schedule = FanoutSchedule(SETTINGS)
    schedule.changed(change("t2", 0), 0)
    [primary] = schedule.due(1000)
    schedule.ran(primary, roots_found=3, ran_at_ms=1000)
    schedule.changed(change("t2", 1), 2000)
    assert [lookup.kind for lookup in schedule.due(3000)] == ["primary"]


def test_failed_lookup_is_retried_and_merges_with_new_changes() -> None:
    """A lookup put back after a failure merges with a change that arrived meanwhile."""
    schedule = FanoutSchedule(SETTINGS)
    schedule.changed(change("t3", 0), 0)
    [primary] = schedule.due(1000)
    schedule.changed(change("t3", 1), 1100)
    schedule.retry(primary, now_ms=1200, delay_ms=500)
    [merged] = schedule.due(2100)
    assert sorted(origin.offset for origin in merged.origins) == [0, 1]
    assert len(schedule) == 0
