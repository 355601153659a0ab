"""BatchBisection on its own, with scripted requests: which ids it blames, what it reports as an outage,
and how many requests it takes."""

from __future__ import annotations

import math
from collections.abc import Sequence

import pytest
from hypothesis import given
from hypothesis import strategies as st

from indexer.fetch.gateway import GatewayFailure
from indexer.fetch.isolation import Answer, BatchBisection, IsolationMemory, IsolationResult, WholeFailure
from indexer.fetch.outcomes import Deleted, Fetched, FetchOutcome

SERVER_ERROR = GatewayFailure("gateway failed after 1 attempt(s): HTTP 500", None, "http_5xx", request_sent=True)
RATE_LIMITED = GatewayFailure("gateway failed: HTTP 429", 3.0, "http_429", request_sent=True)
REFUSED = GatewayFailure("gateway failed: ConnectError", None, "connection", request_sent=False)


class ScriptedGateway:
    """Fails every request holding a poison id (or every request while down); records each request."""

    def __init__(self, poison: set[str] = frozenset(), *, down: GatewayFailure | None = None) -> None:
        self.poison, self.down = set(poison), down
        self.requests: list[tuple[str, ...]] = []

    def __call__(self, ids: Sequence[str]) -> Answer:
        self.requests.append(tuple(ids))
        if self.down is not None:
            return WholeFailure(self.down.message, True, self.down)
        if self.poison & set(ids):
            return WholeFailure(f"HTTP 500 for {sorted(self.poison & set(ids))}", True, SERVER_ERROR)
        return {i: Fetched(i, {"id": i}, 1) for i in ids}


def ids_of(n: int) -> list[str]:
    return [f"m{k}" for k in range(n)]


FAILED = WholeFailure("HTTP 500", True, SERVER_ERROR)


@given(
    n=st.integers(min_value=2, max_value=200),
    picks=st.lists(st.integers(min_value=0, max_value=199), max_size=3, unique=True),
)
def test_the_culprits_and_only_they_are_blamed_within_the_request_bound(n: int, picks: list[int]):
    """Up to three poison ids anywhere in a batch: exactly they are culprits, every other id is answered,
    and the requests stay within 2·⌈log2 n⌉ per culprit plus one control request."""
    ids = ids_of(n)
    poison = {ids[p] for p in picks if p < n}
    gateway = ScriptedGateway(poison)
    found = BatchBisection(gateway).isolate(ids, FAILED, control="m-control")
    assert set(found.culprits) == poison
    assert set(found.outcomes) == set(ids) - poison
    assert found.requests == len(gateway.requests)
    assert found.requests <= max(1, len(poison)) * 2 * math.ceil(math.log2(n)) + 1
    assert found.result is (IsolationResult.CULPRITS if poison else IsolationResult.TRANSIENT)
    assert all((culprit,) in gateway.requests for culprit in found.culprits)


def test_every_culprit_failed_a_request_of_its_own():
    """An id is blamed only after a request for it alone failed: never by elimination."""
    gateway = ScriptedGateway({"m5"})
    found = BatchBisection(gateway).isolate(ids_of(8), FAILED)
    assert found.culprits == {"m5": found.culprits["m5"]}
    assert ("m5",) in gateway.requests


def test_an_outage_is_both_halves_and_the_control_failing():
    """Every request failing: the two halves, one request for the control, then an outage."""
    gateway = ScriptedGateway(down=SERVER_ERROR)
    found = BatchBisection(gateway).isolate(ids_of(50), FAILED, control="m-control")
    assert found.result is IsolationResult.OUTAGE
    assert gateway.requests[-1] == ("m-control",)
    assert found.requests == 3
    assert not found.control_answered
    assert {i for part, _ in found.unresolved for i in part} == set(ids_of(50))


def test_without_a_control_both_halves_failing_is_an_outage():
    """Nothing shows the gateway up: two poison ids in different halves are reported as an outage."""
    found = BatchBisection(ScriptedGateway({"m1", "m40"})).isolate(ids_of(50), FAILED)
    assert found.result is IsolationResult.OUTAGE
    assert found.requests == 2


@pytest.mark.parametrize("refusal", [RATE_LIMITED, REFUSED], ids=["429", "refused"])
def test_a_refused_or_rate_limited_part_stops_the_isolation(refusal: GatewayFailure):
    """A part refused for its rate or never sent says nothing about ids: stop at once as an outage."""
    gateway = ScriptedGateway(down=refusal)
    found = BatchBisection(gateway).isolate(ids_of(50), FAILED, control="m-control")
    assert found.result is IsolationResult.OUTAGE
    assert found.requests == 1
    [(rest, failure)] = found.unresolved
    assert failure.outage == refusal
    assert set(rest) == set(ids_of(50))


def test_more_failing_parts_than_max_culprits_stops_the_isolation():
    """Three poison ids with max_culprits 2: isolation stops with the failing parts unresolved."""
    gateway = ScriptedGateway({"m0", "m20", "m40"})
    found = BatchBisection(gateway, max_culprits=2).isolate(ids_of(64), FAILED, control="m-control")
    assert found.result is IsolationResult.TOO_MANY
    assert not found.culprits
    unresolved = {i for part, _ in found.unresolved for i in part}
    assert {"m0", "m20", "m40"} <= unresolved
    assert unresolved.isdisjoint(found.outcomes)


def test_a_single_id_is_judged_by_the_control_alone():
    """One id cannot be split: it is a culprit if the control is answered, an outage if not or if the
    control is the id itself."""
    answered = BatchBisection(ScriptedGateway({"m1"})).isolate(["m1"], FAILED, control="m2")
    assert answered.result is IsolationResult.CULPRITS
    assert answered.requests == 1
    down = BatchBisection(ScriptedGateway(down=SERVER_ERROR)).isolate(["m1"], FAILED, control="m2")
    assert down.result is IsolationResult.OUTAGE
    itself = BatchBisection(ScriptedGateway({"m1"})).isolate(["m1"], FAILED, control="m1")
    assert (itself.result, itself.requests) == (IsolationResult.OUTAGE, 0)


def test_the_memory_keeps_the_last_fetched_id_and_forgets_answered_culprits():
    """Fetched ids become the control (deleted ones do not); an answered culprit is a culprit no more; the
    oldest culprits go first beyond the capacity; memories are shared per gateway and index."""
    memory = IsolationMemory(capacity=2)
    outcomes: list[FetchOutcome] = [Fetched("m1", {}, 1), Deleted("m2", 1)]
    memory.answered(outcomes)
    assert memory.control == "m1"
    for culprit in ("c1", "c2", "c3"):
        memory.add_culprit(culprit)
    assert [memory.is_culprit(c) for c in ("c1", "c2", "c3")] == [False, True, True]
    memory.answered([Deleted("c2", 2)])
    assert not memory.is_culprit("c2")
    memory.forget_control("m1")
    assert memory.control is None
    shared = IsolationMemory.shared("http://gateway.test/", "movies-bisection-test")
    assert shared is IsolationMemory.shared("http://gateway.test/", "movies-bisection-test")
    assert shared is not IsolationMemory.shared("http://gateway.test/", "other-index")
