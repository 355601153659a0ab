"""The composition root of provisioning: one definition, its servers, plan and apply.

    provisioner = Provisioner(load_definition("configs/movies.yaml"), store=open_search_store(...))
    plan = provisioner.plan()              # read-only (through the dry-run wrappers)
    provisioner.rehearse(plan).requests    # what apply would send
    provisioner.apply()                    # validate everything, then change the cluster

``apply`` plans again itself, refuses the plan (listing every problem, numbered) before changing
anything, then runs it: backfills through ``indexer.backfill`` and cut-over gates comparing a sample
with fresh fetches from the gateway. Tests replace ``backfill`` and ``gates``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from indexer.backfill.checkpoint import DEFAULT_DIRECTORY
from indexer.definition import IndexDefinition
from indexer.fetch.fetcher import DocumentFetcher
from indexer.kafka.clients import build_admin, build_schema_registry
from indexer.provision.apply import ApplyReport, Backfiller, Gatekeeper, apply_plan, refuse_problems, rehearse
from indexer.provision.desired import DesiredIndex
from indexer.provision.document_backfill import DefinitionBackfill
from indexer.provision.dry_run import Journal
from indexer.provision.gates import BackfillCounts, CutoverGates, GateResult
from indexer.provision.live_schema import LiveSchemaCheck, backfill_blockers, check_live_schema
from indexer.provision.planner import ProvisionPlan
from indexer.provision.registry import SubjectRegistry
from indexer.provision.search_cluster import SearchCluster
from indexer.provision.steps import Backfill, Step
from indexer.provision.targets import ProvisionTargets, plan_index
from indexer.search_store import SearchStore
from schema_gen.errors import Problem

DEFAULT_GRACE = timedelta(hours=1)


def utc_now() -> datetime:
    return datetime.now(UTC)


class Provisioner:
    """Plans and applies one definition's index, template, topics and subject."""

    def __init__(
        self,
        definition: IndexDefinition,
        *,
        store: SearchStore,
        registry: SubjectRegistry | None = None,
        grace: timedelta = DEFAULT_GRACE,
        sample_size: int = 20,
        count_tolerance: int = 0,
        checkpoints: Path = DEFAULT_DIRECTORY,
        progress: bool = True,
        gateway_transport: httpx.BaseTransport | None = None,
        backfill: Backfiller | None = None,
        gates: Gatekeeper | None = None,
        schema_check: Callable[[IndexDefinition], LiveSchemaCheck] = check_live_schema,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        config = definition.config
        self.definition, self.store, self.grace, self.clock = definition, store, grace, clock
        self.desired = DesiredIndex.from_definition(definition)
        self.targets = ProvisionTargets(
            cluster=SearchCluster(store),
            admin=build_admin(config.kafka),
            registry=registry if registry is not None else build_schema_registry(config.kafka),
        )
        self.sample_size, self.count_tolerance = sample_size, count_tolerance
        self.transport = gateway_transport
        self.backfill = backfill or DefinitionBackfill(
            definition, store=store, checkpoints=checkpoints, progress=progress, transport=gateway_transport
        )
        self.gates = gates or _GatesWithFreshFetches(self)
        self._schema_check = schema_check

    def plan(self) -> ProvisionPlan:
        """What apply would do now; reads through the dry-run wrappers, so nothing can change."""
        return plan_index(self.desired, self.targets.read_only(Journal()), now=self.clock(), grace=self.grace)

    def rehearse(self, plan: ProvisionPlan) -> Journal:
        """The requests ``plan`` would send, recorded by the dry-run wrappers (none is sent)."""
        return rehearse(plan, self.targets)

    def apply(self, on_step: Callable[[Step], None] = lambda step: None) -> ApplyReport:
        """Plan, validate everything (all problems at once, nothing changed), then apply."""
        plan = self.plan()
        refuse_problems(plan, self._backfill_problems(plan))
        return apply_plan(plan, self.targets, backfill=self.backfill, gates=self.gates, on_step=on_step)

    def _backfill_problems(self, plan: ProvisionPlan) -> list[Problem]:
        """What would make a planned backfill fail: its own set-up, an unreachable gateway, a query that no
        longer fits the gateway's schema."""
        if not any(isinstance(step, Backfill) for step in plan.steps):
            return []
        checker = getattr(self.backfill, "problems", None)
        problems: list[Problem] = list(checker()) if callable(checker) else []
        source = str(self.definition.path)
        return problems + backfill_blockers(self._schema_check(self.definition), source)


class _GatesWithFreshFetches:
    """``CutoverGates`` with a fetcher of the definition's gateway, opened for the check only."""

    def __init__(self, provisioner: Provisioner) -> None:
        self._provisioner = provisioner

    def check(self, index: str, counts: BackfillCounts) -> GateResult:
        owner = self._provisioner
        definition = owner.definition
        with DocumentFetcher.for_index(definition.model, definition.config, transport=owner.transport) as fetcher:
            gates = CutoverGates(
                owner.targets.cluster, fetcher, sample_size=owner.sample_size, count_tolerance=owner.count_tolerance
            )
            return gates.check(index, counts)
