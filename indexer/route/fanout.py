"""When to run reverse lookups for changed related entities. Pure: a clock in, due lookups out.

For each changed entity (``Talent:t9``) there is at most one pending *primary* lookup:

- the first change schedules it ``fanout_delay`` later; further changes before it runs join it, so a
  burst of changes costs one fan-out;
- a fan-out that found ``popular_threshold`` roots or more marks the entity popular: its next primary
  lookup waits until ``popular_delay`` after this one, absorbing every change in between (a talent in
  thousands of movies changing five times in a minute fans out once more, not five times);
- every primary lookup is followed, ``settle_delay`` later, by a *settle* lookup restricted to
  documents fetched before the primary ran. It catches the roots whose fetch was in flight during the
  primary lookup and so were not yet in the index with this relation (the lost update that
  Hibernate Search documents as HSEARCH-4064). Roots the primary re-fetched are newer and excluded;
  so are the roots the primary requested at all (``already_requested``, kept for fan-outs below
  ``popular_threshold``): their requests are fetched after the change whenever they land, and
  external versioning keeps an older in-flight fetch from overwriting them. Without that, a backlog
  that delays the primary's fetches beyond ``settle_delay`` would fetch every root twice.

The origins (Kafka positions) of the events behind a lookup are released only when its settle lookup
has run, so committed offsets never move past a change whose fan-out is not complete.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from typing import Literal

from indexer.route.events import EntityChange, Origin
from schema_gen.config import ReverseLookupSettings

EntityKey = tuple[str, tuple[str, ...]]


@dataclass
class Lookup:
    """A reverse lookup to run at ``due_ms``: for one entity, primary or settle."""

    entity_type: str
    key: tuple[str, ...]
    kind: Literal["primary", "settle"]
    due_ms: int
    origins: list[Origin] = field(default_factory=list)
    last_change_ts_ms: int = 0
    fetched_before_ms: int | None = None
    """Settle lookups only: match documents fetched before the primary lookup ran."""
    already_requested: frozenset[str] = frozenset()
    """Settle lookups only: roots the primary lookup requested, which need no second request."""

    @property
    def identity(self) -> str:
        return f"{self.entity_type}:{'/'.join(self.key)}"


class FanoutSchedule:
    """Coalesces changes per related entity into primary and settle lookups, on an injected clock."""

    def __init__(self, settings: ReverseLookupSettings) -> None:
        self._settings = settings
        self._primary: dict[EntityKey, Lookup] = {}
        self._quiet_until: dict[EntityKey, int] = {}
        self._queue: list[tuple[int, int, Lookup]] = []
        self._sequence = itertools.count()
        self.coalesced = 0
        """Changes that joined an already pending lookup (exported as a metric)."""

    def changed(self, change: EntityChange, now_ms: int) -> None:
        entity = (change.type, change.key)
        pending = self._primary.get(entity)
        if pending is not None:
            pending.origins.append(change.origin)
            pending.last_change_ts_ms = max(pending.last_change_ts_ms, change.ts_ms)
            self.coalesced += 1
            return
        due = max(now_ms + int(self._settings.fanout_delay * 1000), self._quiet_until.get(entity, 0))
        lookup = Lookup(change.type, change.key, "primary", due, [change.origin], change.ts_ms)
        self._primary[entity] = lookup
        self._push(lookup)

    def due(self, now_ms: int) -> list[Lookup]:
        """Lookups whose time has come, primary ones first; each must be passed to ``ran`` afterwards."""
        ready: list[Lookup] = []
        while self._queue and self._queue[0][0] <= now_ms:
            ready.append(heapq.heappop(self._queue)[2])
        for lookup in ready:
            if lookup.kind == "primary":
                self._primary.pop((lookup.entity_type, lookup.key), None)
        return sorted(ready, key=lambda lookup: lookup.kind != "primary")

    def ran(self, lookup: Lookup, roots_found: int, ran_at_ms: int, requested: Collection[str] = ()) -> list[Origin]:
        """Record that ``lookup`` ran and emitted requests for ``roots_found`` roots (``requested``: their
        ids, remembered for the settle lookup when the fan-out is not popular); returns the origins now
        complete."""
        if lookup.kind == "settle":
            return lookup.origins
        entity = (lookup.entity_type, lookup.key)
        if roots_found >= self._settings.popular_threshold:
            self._quiet_until[entity] = ran_at_ms + int(self._settings.popular_delay * 1000)
        else:
            self._quiet_until.pop(entity, None)
        settle = Lookup(
            lookup.entity_type,
            lookup.key,
            "settle",
            ran_at_ms + int(self._settings.settle_delay * 1000),
            lookup.origins,
            lookup.last_change_ts_ms,
            fetched_before_ms=ran_at_ms,
            already_requested=frozenset(requested if len(requested) < self._settings.popular_threshold else ()),
        )
        self._push(settle)
        return []

    def retry(self, lookup: Lookup, now_ms: int, delay_ms: int) -> None:
        """Put back a lookup that failed (search server unavailable) to run again after ``delay_ms``."""
        lookup.due_ms = now_ms + delay_ms
        if lookup.kind == "primary":
            entity = (lookup.entity_type, lookup.key)
            current = self._primary.get(entity)
            if current is not None:  # a newer change arrived meanwhile: merge into it
                current.origins.extend(lookup.origins)
                return
            self._primary[entity] = lookup
        self._push(lookup)

    def pending_origins(self) -> Iterable[Origin]:
        """Origins of every event whose fan-out is not complete yet (they hold back offset commits)."""
        for _, _, lookup in self._queue:
            yield from lookup.origins

    def next_due_ms(self) -> int | None:
        return self._queue[0][0] if self._queue else None

    def __len__(self) -> int:
        return len(self._queue)

    def _push(self, lookup: Lookup) -> None:
        heapq.heappush(self._queue, (lookup.due_ms, next(self._sequence), lookup))
