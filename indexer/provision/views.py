"""How plans and statuses are shown: rich text for people, JSON for scripts."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from indexer.provision.diff import ChangeKind
from indexer.provision.dry_run import Journal
from indexer.provision.planner import ProvisionPlan
from indexer.provision.status import IndexStatus, VersionStatus
from indexer.provision.steps import (
    AddToWriteAlias,
    CreateVersion,
    DeleteVersion,
    EnsureTopic,
    PutTemplate,
    RegisterSubject,
    RemoveFromWriteAlias,
    Step,
)

_KIND_TEXT = {
    ChangeKind.NONE: "no change",
    ChangeKind.CREATE: "first version",
    ChangeKind.IN_PLACE: "in place (the live version takes the change)",
    ChangeKind.NEW_VERSION: "new version (built, backfilled, then swapped in)",
}


def step_marker(step: Step) -> tuple[str, str]:
    """``+`` (creates), ``-`` (removes) or ``~`` (changes), with its colour."""
    match step:
        case DeleteVersion() | RemoveFromWriteAlias():
            return "-", "red"
        case CreateVersion() | AddToWriteAlias() | PutTemplate(exists=False):
            return "+", "green"
        case EnsureTopic(change=change) if change.action == "create":
            return "+", "green"
        case RegisterSubject(plan=subject) if subject.latest_version is None:
            return "+", "green"
        case _:
            return "~", "yellow"


def plan_view(plan: ProvisionPlan, journal: Journal | None = None) -> RenderableType:
    """The plan as a readable diff: why, then the steps by section, then notes, warnings and problems."""
    parts: list[RenderableType] = []
    title = Text(f"index {plan.index}: ", style="bold")
    title.append(_KIND_TEXT[plan.change.kind], style="bold cyan")
    if plan.live:
        title.append(f"  (live: {plan.live})")
    parts.append(title)
    if plan.change.differences:
        table = Table("path", "change", "detail", "in place", title="differences with the live version")
        for difference in plan.change.differences:
            table.add_row(difference.path, difference.change, difference.detail, "yes" if difference.in_place else "no")
        parts.append(table)
    if plan.empty:
        parts.append(Text("No changes: the cluster matches the definition.", style="green"))
    if plan.steps:
        parts.append(Text("steps, in the order apply takes them:", style="bold"))
    for number, step in enumerate(plan.steps, 1):
        marker, colour = step_marker(step)
        line = Text(f"{number:>3}. ")
        line.append(marker, style=f"bold {colour}")
        line.append(f" {step.section.value}: ", style="bold")
        line.append(str(step))
        parts.append(line)
    parts += [Text(f"note: {note}", style="dim") for note in plan.notes]
    parts += [Text(f"warning: {warning}", style="yellow") for warning in plan.warnings]
    for number, problem in enumerate(plan.problems, 1):
        parts.append(Text(f"problem {number}: {problem}", style="bold red"))
    if journal is not None and journal.requests:
        parts.append(Text("requests apply would send", style="bold"))
        parts += [Text(f"  {request}", style="dim") for request in journal.requests]
    return Group(*parts)


def plan_json(plan: ProvisionPlan, journal: Journal | None = None) -> dict[str, Any]:
    return {
        "index": plan.index,
        "change": plan.change.kind.value,
        "live": plan.live,
        "target": plan.target,
        "differences": [asdict(difference) for difference in plan.change.differences],
        "steps": [
            {"section": step.section.value, "action": type(step).__name__, "description": str(step)}
            for step in plan.steps
        ],
        "notes": list(plan.notes),
        "warnings": [str(warning) for warning in plan.warnings],
        "problems": [str(problem) for problem in plan.problems],
        "requests": list(journal.requests) if journal is not None else [],
    }


def _version_row(table: Table, status: VersionStatus) -> None:
    backfill = ""
    if status.backfill is not None:
        progress = status.backfill
        backfill = (
            f"{progress.ids_done} ids done, {progress.failed} failed"
            f"{', finished' if progress.finished else ''} (at {progress.updated_at})"
        )
    table.add_row(
        status.name,
        status.state,
        "?" if status.documents is None else str(status.documents),
        "yes" if status.artifacts_current else "no",
        status.retire_after or "",
        backfill,
    )


def status_view(status: IndexStatus) -> RenderableType:
    parts: list[RenderableType] = [Text(f"index {status.index}", style="bold")]
    versions = Table("version", "state", "documents", "current artifacts", "retire after", "backfill")
    for version in [*([status.live] if status.live else []), *status.pending, *status.retired]:
        _version_row(versions, version)
    if versions.row_count:
        parts.append(versions)
    else:
        parts.append(Text("no version is deployed (graphdex apply creates one)", style="yellow"))
    parts.append(Text(f"index template current: {'yes' if status.template_current else 'no'}"))
    kafka = status.kafka
    if kafka.error:
        parts.append(Text(f"kafka: {kafka.error}", style="red"))
    else:
        lag = Table("stage", "consumer group", "lag", "committed", title="consumer lag")
        for stage in kafka.lag:
            lag.add_row(stage.stage, stage.group, str(stage.lag), "yes" if stage.committed else "never")
        parts.append(lag)
        parts.append(Text(f"dead letters: {kafka.dead_letters}"))
    schema = status.schema
    if not schema.checked:
        parts.append(Text(f"live schema not checked: {'; '.join(schema.problems)}", style="yellow"))
    elif schema.valid:
        parts.append(Text(f"the query fits the live schema at {schema.url}", style="green"))
    else:
        parts.append(Text(f"the live schema at {schema.url} breaks the definition:", style="bold red"))
        parts += [Text(f"  {line}", style="red") for line in (*schema.problems, *schema.changes)]
    parts += [Text(f"problem: {problem}", style="bold red") for problem in status.problems]
    return Group(*parts)
