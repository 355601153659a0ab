"""Finding the ids that make a whole request fail, by splitting their batch.

One poison id (a subgraph that answers HTTP 500 or crashes for it, an error at no document's path
because of it) fails the whole request of its batch. Left alone, that looks like a gateway outage (the
breaker opens and the partition pauses for as long as the id is in the batch: the index goes stale) or
fails every innocent document of the batch with it. ``BatchBisection`` splits such a batch into halves
and requests each once (one attempt, no backoff); answered halves are done, failing halves are split
again, until the failing ids are alone. An id that fails alone while the gateway answers requests
without it is a *culprit*: a per-document failure (the retry topic, then the dead-letter topic), while
every other document of the batch is fetched.

Whether the gateway answers at all is what tells a poison id from an outage, and it is settled by
evidence, never assumed: some part of the batch was answered, or, when every part of a split failed,
one request for an id fetched recently (the *control*) is. Without either it is an outage and is
reported as one (so an outage costs the two halves and one control request). The control also finds
two poison ids that sit in different halves.

Bounds: each round splits every failing part in two, so one culprit in a batch of n costs at most
2·⌈log2 n⌉ extra requests and k culprits k times that, plus one control request. More failing parts
at once than ``max_culprits`` is not a few poison ids but something wider (a subgraph failing for a
class of entities, a partial outage, an outage that began during the isolation): isolation stops there
and what still fails is reported as the batch's failure.

A single id that fails as a whole cannot be told from an outage by itself; ``IsolationMemory``
remembers, per gateway and index and for the whole process (the live and the retry fetch stages have a
fetcher each), the ids isolated as culprits and the last id fetched. A remembered culprit fetched alone
later (its retry) that fails as a whole again is a culprit again if the control is answered.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import ClassVar

from indexer.fetch.gateway import GatewayFailure
from indexer.fetch.outcomes import Deleted, Fetched, FetchOutcome

DEFAULT_MAX_CULPRITS = 4
"""Failing parts one isolation follows at once; beyond that the failure is not a few poison ids."""


@dataclass(frozen=True)
class WholeFailure:
    """A request that failed as a whole: nothing it says belongs to any one document."""

    detail: str
    retryable: bool
    outage: GatewayFailure | None = None
    """How the gateway failed, when it did (HTTP 5xx, a timeout, a subgraph unavailable): reported as
    ``GatewayUnavailable`` unless isolation pins the failure on ids. None for a GraphQL error at no
    document's path."""
    failed: Mapping[str, FetchOutcome] = field(default_factory=dict)
    """For a GraphQL error: each id's ``Failed`` outcome as it stands when nobody splits the batch."""

    @property
    def may_be_caused_by_ids(self) -> bool:
        """False when no id can be the cause (the request never reached the gateway, or was refused for
        its rate): splitting the batch would only send more requests to a gateway that cannot take them."""
        return self.outage is None or self.outage.may_be_caused_by_the_request


Answer = dict[str, FetchOutcome] | WholeFailure
"""What one request for some ids came to: an outcome per id, or a failure of the whole request."""


class IsolationResult(StrEnum):
    """How an isolation ended (the ``result`` label of ``graphdex_fetch_isolations``)."""

    CULPRITS = "culprits"
    """Some ids fail alone while the gateway answers without them; every other id was answered."""
    TRANSIENT = "transient"
    """Every part was answered: the batch's failure did not repeat."""
    OUTAGE = "outage"
    """Nothing was answered, not even the control: the gateway (or every id) is failing."""
    TOO_MANY = "too_many"
    """More parts failed at once than isolation follows: what still fails is the batch's failure."""


@dataclass
class Isolation:
    """What splitting one failed batch found."""

    batch_size: int
    failure: WholeFailure
    """How the batch's own request failed."""
    result: IsolationResult = IsolationResult.TRANSIENT
    outcomes: dict[str, FetchOutcome] = field(default_factory=dict)
    """Outcomes of the ids that were answered."""
    culprits: dict[str, WholeFailure] = field(default_factory=dict)
    """Ids that failed alone while the gateway answered requests without them, with that failure."""
    unresolved: list[tuple[tuple[str, ...], WholeFailure]] = field(default_factory=list)
    """Parts still failing when isolation stopped (an outage, too many failures), with their failure."""
    requests: int = 0
    """Requests sent by the isolation (the control included): all beyond the batch's own request."""
    gateway_answered: bool = False
    control: str | None = None
    """The recently fetched id requested to see whether the gateway answers, when that was needed."""
    control_answered: bool = False

    def stop(self, result: IsolationResult, unresolved: list[tuple[tuple[str, ...], WholeFailure]]) -> Isolation:
        self.result, self.unresolved = result, unresolved
        return self


Request = Callable[[Sequence[str]], Answer]
"""Sends one request for some ids, with a single attempt."""


class BatchBisection:
    """Splits a batch that failed as a whole until the ids that make it fail are alone."""

    def __init__(self, request: Request, *, max_culprits: int = DEFAULT_MAX_CULPRITS) -> None:
        if max_culprits < 1:
            raise ValueError("an isolation follows at least one failing part")
        self._request = request
        self._max_culprits = max_culprits

    def isolate(self, ids: Sequence[str], failure: WholeFailure, *, control: str | None = None) -> Isolation:
        """Split ``ids``, whose request failed as a whole with ``failure``. ``control`` is an id fetched
        recently, requested (once) when nothing else shows the gateway answering; a single id is only
        ever judged by it."""
        found = Isolation(batch_size=len(ids), failure=failure)
        suspects: list[tuple[tuple[str, ...], WholeFailure]] = [(tuple(ids), failure)]
        while any(len(part) > 1 for part, _ in suspects):
            if len(suspects) > self._max_culprits:
                return found.stop(IsolationResult.TOO_MANY, suspects)
            failing: list[tuple[tuple[str, ...], WholeFailure]] = []
            for part, part_failure in suspects:
                if len(part) == 1:
                    failing.append((part, part_failure))
                    continue
                for half in _halves(part):
                    answer = self._ask(half, found)
                    if isinstance(answer, dict):
                        found.outcomes.update(answer)
                    elif not answer.may_be_caused_by_ids:
                        # The gateway refuses or rate-limits: nothing more to learn, and no more to send.
                        rest = tuple(document_id for document_id in ids if document_id not in found.outcomes)
                        return found.stop(IsolationResult.OUTAGE, [(rest, answer)])
                    else:
                        failing.append((half, answer))
            if not self._gateway_answers(found, control, ids):
                return found.stop(IsolationResult.OUTAGE, failing)
            suspects = failing
        if not self._gateway_answers(found, control, ids):
            return found.stop(IsolationResult.OUTAGE, suspects)
        if len(suspects) > self._max_culprits:
            return found.stop(IsolationResult.TOO_MANY, suspects)
        found.culprits = {part[0]: part_failure for part, part_failure in suspects}
        found.result = IsolationResult.CULPRITS if suspects else IsolationResult.TRANSIENT
        return found

    def _ask(self, ids: Sequence[str], found: Isolation) -> Answer:
        found.requests += 1
        answer = self._request(ids)
        if isinstance(answer, dict):
            found.gateway_answered = True
        return answer

    def _gateway_answers(self, found: Isolation, control: str | None, ids: Sequence[str]) -> bool:
        """Whether the gateway answers: some part was, or else the control is (requested once; not when
        the control is the only id, whose request is the one that failed)."""
        if found.gateway_answered or found.control is not None or control is None or list(ids) == [control]:
            return found.gateway_answered
        found.control = control
        found.control_answered = isinstance(self._ask([control], found), dict)
        return found.control_answered


def _halves(part: tuple[str, ...]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    middle = (len(part) + 1) // 2
    return part[:middle], part[middle:]


class IsolationMemory:
    """What fetching taught this process about one index's gateway: the last id fetched (the control of
    later isolations) and the ids recently isolated as culprits (so that their retries, fetched alone,
    can be judged). Thread-safe; at most ``capacity`` culprits, the oldest forgotten first."""

    _shared: ClassVar[dict[tuple[str, str], IsolationMemory]] = {}
    _shared_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, capacity: int = 1000) -> None:
        self._capacity = capacity
        self._lock = threading.Lock()
        self._control: str | None = None
        self._culprits: OrderedDict[str, None] = OrderedDict()

    @classmethod
    def shared(cls, gateway_url: str, index: str) -> IsolationMemory:
        """The process's memory for ``index`` on ``gateway_url``, shared by every fetcher of it."""
        with cls._shared_lock:
            return cls._shared.setdefault((gateway_url, index), cls())

    @property
    def control(self) -> str | None:
        with self._lock:
            return self._control

    def forget_control(self, document_id: str) -> None:
        """The control failed as a whole: a newer fetched id will take its place."""
        with self._lock:
            if self._control == document_id:
                self._control = None

    def answered(self, outcomes: Iterable[FetchOutcome]) -> None:
        """Ids the gateway answered for: a fetched one is the new control; none of them is a culprit now."""
        with self._lock:
            for outcome in outcomes:
                if isinstance(outcome, Fetched):
                    self._control = outcome.id
                if isinstance(outcome, Fetched | Deleted):
                    self._culprits.pop(outcome.id, None)

    def add_culprit(self, document_id: str) -> None:
        with self._lock:
            self._culprits[document_id] = None
            self._culprits.move_to_end(document_id)
            while len(self._culprits) > self._capacity:
                self._culprits.popitem(last=False)

    def is_culprit(self, document_id: str) -> bool:
        with self._lock:
            return document_id in self._culprits
