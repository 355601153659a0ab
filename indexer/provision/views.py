"""How plans and statuses are shown: rich text for people, JSON for scripts."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from rich.console import Group, RenderableType
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
        parts.append(Text("differences with the live version:", style="bold"))
    for difference in plan.change.differences:
        line = Text(f"  {difference}")
        line.append("" if difference.in_place else "  (needs a new version)", style="bold yellow")
        parts.append(line)
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


def _version_line(status: VersionStatus) -> Text:
    line = Text(f"  {status.state:<8} ", style={"live": "green", "pending": "yellow"}.get(status.state, "dim"))
    line.append(status.name, style="bold")
    documents = "?" if status.documents is None else str(status.documents)
    current = "current artifacts" if status.artifacts_current else "artifacts differ from the definition"
    line.append(f"  {documents} documents, {current}")
    if status.retire_after:
        line.append(f"; deleted by an apply after {status.retire_after}")
    if status.backfill is not None:
        progress = status.backfill
        running = "finished" if progress.finished else "not finished"
        line.append(
            f"; backfill {running}: {progress.ids_done} ids done, {progress.indexed} indexed, "
            f"{progress.deleted} deleted, {progress.failed} failed (saved {progress.updated_at})"
        )
    return line


def status_view(status: IndexStatus) -> RenderableType:
    parts: list[RenderableType] = [Text(f"index {status.index}", style="bold")]
    versions = [*([status.live] if status.live else []), *status.pending, *status.retired]
    parts += [_version_line(version) for version in versions]
    if not versions:
        parts.append(Text("  no version is deployed (graphdex apply creates one)", style="yellow"))
    parts.append(Text(f"  index template: {'current' if status.template_current else 'differs from the definition'}"))
    kafka = status.kafka
    if kafka.error:
        parts.append(Text(f"  kafka: {kafka.error}", style="red"))
    else:
        lags = ", ".join(f"{lag.stage} {lag.lag}{'' if lag.committed else ' (never committed)'}" for lag in kafka.lag)
        parts.append(Text(f"  consumer lag: {lags}"))
        parts.append(Text(f"  dead letters: {kafka.dead_letters}", style="red" if kafka.dead_letters else ""))
    schema = status.schema
    if not schema.checked:
        parts.append(Text(f"  live schema not checked: {'; '.join(schema.problems)}", style="yellow"))
    elif schema.valid:
        parts.append(Text(f"  the query fits the live schema at {schema.url}", style="green"))
    else:
        parts.append(Text(f"  the live schema at {schema.url} breaks the definition:", style="bold red"))
        parts += [Text(f"    {line}", style="red") for line in (*schema.problems, *schema.changes)]
    parts += [Text(f"  problem: {problem}", style="bold red") for problem in status.problems]
    return Group(*parts)
