"""Carry out a provisioning plan, step by step, against real or dry-run targets.

``apply_plan`` refuses a plan that has problems (all of them listed, numbered, nothing changed);
otherwise it runs the steps in order. A step that fails stops the apply where it is: every step
is idempotent and the planner repairs half-done states, so applying again continues from there.
If the cut-over gates fail, the live version stays behind the search alias, untouched, and the new
version stays pending (and written to): the next apply resumes it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from indexer.kafka.topics import TopicPlan, apply_topic_plan
from indexer.provision.dry_run import DryRunTopicAdmin, Journal
from indexer.provision.gates import BackfillCounts, GateResult
from indexer.provision.planner import ProvisionPlan
from indexer.provision.registry import register
from indexer.provision.steps import (
    AddToWriteAlias,
    Backfill,
    CheckGates,
    CreateVersion,
    DeleteVersion,
    EnsureTopic,
    PutMappings,
    PutSettings,
    PutTemplate,
    RecordState,
    RegisterSubject,
    RemoveFromWriteAlias,
    Step,
    SwapSearchAlias,
)
from indexer.provision.targets import ProvisionTargets
from schema_gen.errors import ConfigError, GraphdexError, Problem, ServiceError


class Backfiller(Protocol):
    """Fetches every document into a version; returns the totals the gates check."""

    def __call__(self, target_index: str) -> BackfillCounts: ...


class Gatekeeper(Protocol):
    """The cut-over gates (``CutoverGates``)."""

    def check(self, index: str, counts: BackfillCounts) -> GateResult: ...


@dataclass
class ApplyReport:
    """What an apply did."""

    index: str
    done: list[Step] = field(default_factory=list)
    backfills: dict[str, BackfillCounts] = field(default_factory=dict)
    gates: dict[str, GateResult] = field(default_factory=dict)


def refuse_problems(plan: ProvisionPlan, definition_problems: Sequence[Problem] = ()) -> None:
    """Raise, listing every problem numbered, when the plan cannot be applied."""
    problems = [*definition_problems, *plan.problems]
    if not problems:
        return
    message = f"nothing was changed; fix these before applying {plan.index}"
    if definition_problems or any(problem.where.startswith("schema registry") for problem in plan.problems):
        raise ConfigError(message, problems)
    raise ServiceError(message, problems)


class StepExecutor:
    """Runs steps against ``targets``, with ``backfill`` and ``gates`` for the document steps."""

    def __init__(
        self,
        targets: ProvisionTargets,
        *,
        backfill: Backfiller,
        gates: Gatekeeper,
        on_step: Callable[[Step], None] = lambda step: None,
    ) -> None:
        self.targets, self._backfill, self._gates, self._on_step = targets, backfill, gates, on_step

    def run(self, plan: ProvisionPlan) -> ApplyReport:
        refuse_problems(plan)
        report = ApplyReport(plan.index)
        for step in plan.steps:
            self._on_step(step)
            self.execute(step, report)
            report.done.append(step)
        return report

    def execute(self, step: Step, report: ApplyReport) -> None:
        cluster = self.targets.cluster
        match step:
            case PutTemplate(name=name, body=body):
                cluster.put_template(name, body)
            case CreateVersion(index=index, settings=settings, mappings=mappings):
                cluster.create_index(index, settings, mappings)
            case PutMappings(index=index, properties=properties):
                cluster.put_mapping(index, {"properties": properties})
            case PutSettings(index=index, settings=settings):
                cluster.put_settings(index, settings)
            case RecordState(index=index, mapping_meta=meta):
                cluster.put_mapping(index, {"_meta": meta})
            case DeleteVersion(index=index):
                cluster.delete_index(index)
            case AddToWriteAlias(index=index, alias=alias):
                cluster.update_aliases([{"add": {"index": index, "alias": alias}}])
            case RemoveFromWriteAlias(index=index, alias=alias):
                cluster.update_aliases([{"remove": {"index": index, "alias": alias}}])
            case SwapSearchAlias(alias=alias, old=old, new=new):
                actions: list[dict[str, Any]] = [{"add": {"index": new, "alias": alias}}]
                if old is not None:
                    actions.insert(0, {"remove": {"index": old, "alias": alias}})
                cluster.update_aliases(actions)  # one request: searches see the old or the new, never neither
            case Backfill(index=index):
                report.backfills[index] = self._backfill(index)
            case CheckGates(index=index, live=live):
                self._check(index, live, report)
            case EnsureTopic(change=change):
                dry_run = isinstance(self.targets.admin, DryRunTopicAdmin)
                apply_topic_plan(self.targets.admin, TopicPlan((change,)), wait=not dry_run)
            case RegisterSubject(plan=subject, schema_text=text):
                if self.targets.registry is None:
                    raise ConfigError(f"no schema registry to register {subject.subject} in")
                register(self.targets.registry, subject.subject, text)

    def _check(self, index: str, live: str | None, report: ApplyReport) -> None:
        counts = report.backfills.get(index)
        if counts is None:
            raise GraphdexError(f"cannot check {index}: it was not backfilled in this apply")
        result = self._gates.check(index, counts)
        report.gates[index] = result
        if not result.passed:
            kept = f"{live} stays live and searched" if live else "the search alias is not created"
            raise GraphdexError(
                f"cut-over to {index} refused: it does not match the source ({kept}; {index} stays pending "
                "and receives writes, and the next apply checks it again)",
                result.problems,
            )


def apply_plan(
    plan: ProvisionPlan,
    targets: ProvisionTargets,
    *,
    backfill: Backfiller,
    gates: Gatekeeper,
    on_step: Callable[[Step], None] = lambda step: None,
) -> ApplyReport:
    """Run ``plan`` against ``targets``; ``GraphdexError`` when it has problems, a step fails or a gate fails."""
    return StepExecutor(targets, backfill=backfill, gates=gates, on_step=on_step).run(plan)


@dataclass(frozen=True)
class _NoDocuments:
    enumerated: int = 0
    indexed: int = 0
    deleted: int = 0
    failed: int = 0


class _RecordedDocumentSteps:
    """Backfills and gates of a dry run: recorded, never run."""

    def __init__(self, journal: Journal) -> None:
        self.journal = journal

    def __call__(self, target_index: str) -> BackfillCounts:
        self.journal.record(f"backfill every document into {target_index}")
        return _NoDocuments()

    def check(self, index: str, counts: BackfillCounts) -> GateResult:
        self.journal.record(f"check the cut-over gates on {index}")
        return GateResult(index, 0, 0, 0, ())


def rehearse(plan: ProvisionPlan, targets: ProvisionTargets) -> Journal:
    """Run ``plan`` through the dry-run wrappers: nothing changes; the journal lists what apply would send."""
    journal = Journal()
    documents = _RecordedDocumentSteps(journal)
    StepExecutor(targets.read_only(journal), backfill=documents, gates=documents).run(plan)
    return journal
