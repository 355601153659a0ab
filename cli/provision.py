"""``graphdex plan | apply | status | destroy``: provision an index's versions, aliases, template, topics
and schema subject, with zero-downtime swaps.

graphdex plan CONFIG [--json] [--requests]      what apply would do, and why; changes nothing
graphdex apply CONFIG [--grace 1h] [--sample N] validate everything, then make the cluster match
graphdex status CONFIG [--json]                 versions, backfills, lag, dead letters, schema drift
graphdex destroy CONFIG [--yes]                 remove the aliases, versions, template and topics
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from cli.app import app
from indexer.backfill.checkpoint import DEFAULT_DIRECTORY
from indexer.definition import IndexDefinition, load_definition
from indexer.kafka.clients import build_admin, build_schema_registry
from indexer.provision.desired import DesiredIndex
from indexer.provision.destroy import destroy as destroy_index
from indexer.provision.destroy import plan_destroy
from indexer.provision.dry_run import DryRunTopicAdmin, Journal
from indexer.provision.kafka_progress import ConsumerWatermarks, KafkaProgress
from indexer.provision.provisioner import Provisioner
from indexer.provision.search_cluster import SearchCluster
from indexer.provision.status import index_status
from indexer.provision.steps import Step
from indexer.provision.targets import ProvisionTargets
from indexer.provision.views import plan_json, plan_view, status_view, step_marker
from indexer.search_store import open_search_store
from schema_gen.config import parse_duration

ConfigArgument = Annotated[
    Path, typer.Argument(help="The index definition (YAML).", metavar="CONFIG", show_default=False, dir_okay=False)
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]
GraceOption = Annotated[
    str,
    typer.Option("--grace", help="How long a replaced version is kept before an apply deletes it.", metavar="DURATION"),
]
CheckpointsOption = Annotated[
    Path,
    typer.Option("--checkpoints", help="Folder of the backfill checkpoints.", metavar="DIR", file_okay=False),
]


def _grace(text: str) -> timedelta:
    try:
        return timedelta(seconds=parse_duration(text))
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint="--grace") from None


def _print_json(value: Any) -> None:
    typer.echo(json.dumps(value, indent=2, ensure_ascii=False))


def _provisioner(definition: IndexDefinition, **options: Any) -> Provisioner:
    return Provisioner(definition, store=open_search_store(definition.config.elasticsearch), **options)


@app.command()
def plan(
    config: ConfigArgument,
    json_output: JsonOption = False,
    requests: Annotated[bool, typer.Option("--requests", help="Also list the requests apply would send.")] = False,
    grace: GraceOption = "1h",
) -> None:
    """Show what apply would change, and why; change nothing. Exit 1 when something must be fixed first."""
    definition = load_definition(config)
    provisioner = _provisioner(definition, grace=_grace(grace))
    found = provisioner.plan()
    journal = provisioner.rehearse(found) if not found.problems else Journal()
    if json_output:
        _print_json(plan_json(found, journal))
    else:
        Console(soft_wrap=True).print(plan_view(found, journal if requests else None))
    if found.problems:
        raise typer.Exit(1)


@app.command()
def apply(
    config: ConfigArgument,
    grace: GraceOption = "1h",
    sample: Annotated[
        int, typer.Option("--sample", help="Documents compared with fresh fetches before a cut-over.", min=0)
    ] = 20,
    count_tolerance: Annotated[
        int,
        typer.Option("--count-tolerance", help="Documents the new version may differ by from the source count.", min=0),
    ] = 0,
    progress: Annotated[bool, typer.Option("--progress/--no-progress", help="Show backfill progress bars.")] = True,
    checkpoints: CheckpointsOption = DEFAULT_DIRECTORY,
) -> None:
    """Validate everything, then make the cluster match the definition (a second apply changes nothing)."""
    definition = load_definition(config)
    provisioner = _provisioner(
        definition,
        grace=_grace(grace),
        sample_size=sample,
        count_tolerance=count_tolerance,
        checkpoints=checkpoints,
        progress=progress,
    )
    console = Console(soft_wrap=True, stderr=False)

    def announce(step: Step) -> None:
        marker, colour = step_marker(step)
        console.print(f"[{colour}]{marker}[/{colour}] {step}", highlight=False)

    report = provisioner.apply(on_step=announce)
    for index, counts in report.backfills.items():
        console.print(
            f"backfilled {index}: {counts.enumerated} enumerated, {counts.indexed} indexed, "
            f"{counts.deleted} deleted, {counts.failed} failed",
            highlight=False,
        )
    for index, result in report.gates.items():
        console.print(
            f"gates passed on {index}: {result.counted} documents (source {result.expected}), "
            f"{result.sampled} sampled documents match the source",
            highlight=False,
        )
    done = len(report.done)
    console.print(f"{definition.config.index}: {done} change(s) applied" if done else "No changes.", highlight=False)


@app.command()
def status(
    config: ConfigArgument, json_output: JsonOption = False, checkpoints: CheckpointsOption = DEFAULT_DIRECTORY
) -> None:
    """Show the live and pending versions, backfills, consumer lag, dead letters and live-schema drift."""
    definition = load_definition(config)
    kafka = definition.config.kafka
    cluster = SearchCluster(open_search_store(definition.config.elasticsearch))
    watermarks: list[ConsumerWatermarks] = []

    def kafka_progress() -> KafkaProgress:
        watermarks.append(ConsumerWatermarks(definition.config))
        admin = DryRunTopicAdmin(build_admin(kafka), Journal())  # status only reads
        return KafkaProgress(definition.config, admin, watermarks=watermarks[-1])

    try:
        found = index_status(definition, cluster, kafka_progress, checkpoints=checkpoints)
    finally:
        for reader in watermarks:
            reader.close()
    if json_output:
        _print_json(found.to_json())
    else:
        Console(soft_wrap=True).print(status_view(found))


@app.command()
def destroy(
    config: ConfigArgument,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Remove the index's aliases, every version, the template, the topics and the schema subject."""
    definition = load_definition(config)
    desired = DesiredIndex.from_definition(definition)
    targets = ProvisionTargets(
        cluster=SearchCluster(open_search_store(definition.config.elasticsearch)),
        admin=build_admin(definition.config.kafka),
        registry=build_schema_registry(definition.config.kafka),
    )
    found = plan_destroy(desired, targets)
    for problem in found.kept:
        typer.echo(f"kept: {problem}", err=True)
    if found.empty:
        typer.echo(f"Nothing to destroy: {desired.index} has no aliases, versions, template or topics.")
        return
    for line in found.lines():
        typer.echo(f"- {line}")
    if not yes and not typer.confirm(f"Destroy {desired.index}? Searches on it fail from now on", default=False):
        raise typer.Abort()
    destroy_index(found, targets)
    typer.echo(f"{desired.index} destroyed.")
