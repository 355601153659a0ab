"""Helpers for planner tests: definitions of the demo index, plans and applies on the fake cluster."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from indexer.definition import load_definition
from indexer.kafka.topics import TopicPlan
from indexer.provision.apply import ApplyReport, StepExecutor
from indexer.provision.desired import DesiredIndex
from indexer.provision.dry_run import DryRunTopicAdmin, Journal
from indexer.provision.gates import BackfillCounts, GateResult
from indexer.provision.observed import observe_index
from indexer.provision.planner import ProvisionPlan, plan_changes
from indexer.provision.registry import SubjectPlan
from indexer.provision.targets import ProvisionTargets
from schema_gen.errors import Problem
from tests.indexer.provision.fake_cluster import FakeSearchCluster
from tests.stack_definitions import write_movies_definition

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def desired_index(folder: Path, name: str = "movies", **overrides: Any) -> DesiredIndex:
    """The demo definition (its schema snapshot, no server) with ``overrides``, as ``DesiredIndex``."""
    folder.mkdir(parents=True, exist_ok=True)
    return DesiredIndex.from_definition(load_definition(write_movies_definition(folder, name, overrides), env={}))


def plan_on(
    cluster: FakeSearchCluster,
    desired: DesiredIndex,
    *,
    now: datetime = NOW,
    topics: TopicPlan | None = None,
    subject: SubjectPlan | None = None,
) -> ProvisionPlan:
    observed = observe_index(cluster, desired.names)
    return plan_changes(desired, observed, topics=topics or TopicPlan(), subject=subject, now=now, grace=HOUR)


@dataclass(frozen=True)
class Counts:
    enumerated: int
    indexed: int
    deleted: int
    failed: int


class FakeBackfill:
    """Writes the same three documents into every target it is given."""

    def __init__(self, cluster: FakeSearchCluster) -> None:
        self.cluster = cluster
        self.targets: list[str] = []

    def __call__(self, target_index: str) -> BackfillCounts:
        self.targets.append(target_index)
        self.cluster.store(target_index, {f"movie-{n}": {"movieId": f"movie-{n}"} for n in range(3)})
        return Counts(3, 3, 0, 0)


class FakeGates:
    """Passes, or fails with one problem, and remembers what it checked."""

    def __init__(self, passing: bool = True) -> None:
        self.passing = passing
        self.checked: list[str] = []

    def check(self, index: str, counts: BackfillCounts) -> GateResult:
        self.checked.append(index)
        problems = () if self.passing else (Problem(f"{index}/movie-1", 'title: "A" (index) != "B" (source)'),)
        return GateResult(index, counts.enumerated, counts.indexed, 1, problems)


def apply_on(cluster: FakeSearchCluster, plan: ProvisionPlan, gates: FakeGates | None = None) -> ApplyReport:
    """Run ``plan`` on the fake cluster with the fake backfill and gates (topics recorded, not sent)."""
    targets = ProvisionTargets(cluster, DryRunTopicAdmin(None, Journal()), None)  # type: ignore[arg-type]
    return StepExecutor(targets, backfill=FakeBackfill(cluster), gates=gates or FakeGates()).run(plan)


def step_names(plan: ProvisionPlan) -> list[str]:
    return [type(step).__name__ for step in plan.steps]
