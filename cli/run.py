"""``graphdex run CONFIG...``: the indexer daemon, and ``graphdex dlq list|replay CONFIG``.

graphdex run CONFIG... [--stage router|fetch|sink]... [--metrics-port N] [--for SECONDS] [--skip-provision-check]
graphdex dlq list CONFIG [--reason R] [--id ID] [--json]
graphdex dlq replay CONFIG [--reason R] [--id ID]

Before any stage starts, ``indexer.daemon.preflight`` checks that each index is provisioned as its
definition says (what the chosen stages need of it): the daemon refuses to write documents an index
would refuse or read differently. The check runs after the definitions load, so an invalid definition
is still reported first.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
import time
from pathlib import Path
from typing import Annotated

import structlog
import typer
from rich.console import Console
from rich.table import Table

from cli.app import app
from indexer.daemon.dead_letters import DeadLetterTopic, LetterFilter
from indexer.daemon.health import HealthServer
from indexer.daemon.pipeline import IndexPipeline
from indexer.daemon.preflight import check_provisioning
from indexer.daemon.process import Daemon, Stage
from indexer.definition import load_definition
from indexer.metrics import PipelineMetrics

dlq_app = typer.Typer(help="Show and replay dead letters.", no_args_is_help=True)
app.add_typer(dlq_app, name="dlq")

ConfigArgument = Annotated[Path, typer.Argument(help="An index definition (YAML).", metavar="CONFIG", dir_okay=False)]


def configure_logging(json_logs: bool) -> None:
    """Structured logs on stderr: key=value for people, JSON lines for log collectors."""
    renderer = structlog.processors.JSONRenderer() if json_logs else structlog.dev.ConsoleRenderer(colors=False)
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.INFO),
        # Resolve sys.stderr at each call: a caller that swaps it (tests, embedding) is honoured.
        logger_factory=lambda *_: structlog.PrintLogger(sys.stderr),
        cache_logger_on_first_use=False,
    )


@app.command()
def run(
    configs: Annotated[list[Path], typer.Argument(help="Index definitions to keep fresh.", metavar="CONFIG...")],
    stage: Annotated[
        list[Stage] | None, typer.Option("--stage", help="Run only these stages (default: all).", show_default=False)
    ] = None,
    metrics_port: Annotated[
        int | None,
        typer.Option(
            "--metrics-port",
            envvar="GRAPHDEX_METRICS_PORT",
            help="Serve /metrics, /healthz and /readyz on this port.",
            show_default=False,
        ),
    ] = None,
    metrics_host: Annotated[str, typer.Option("--metrics-host", envvar="GRAPHDEX_METRICS_HOST")] = "127.0.0.1",
    seconds: Annotated[
        float | None, typer.Option("--for", help="Stop after this many seconds (demos and tests).", show_default=False)
    ] = None,
    json_logs: Annotated[bool, typer.Option("--json-logs", envvar="GRAPHDEX_JSON_LOGS")] = False,
    skip_provision_check: Annotated[
        bool,
        typer.Option(
            "--skip-provision-check",
            envvar="GRAPHDEX_SKIP_PROVISION_CHECK",
            help=(
                "Start without checking that each index is provisioned as its definition says. By default the "
                "daemon refuses an index whose topics, write alias, mapping or registered schema are missing or "
                "differ in a way its stages cannot work with (run `graphdex apply CONFIG`), and warns about "
                "harmless differences."
            ),
        ),
    ] = False,
) -> None:
    """Keep indexes in sync with the graph: route change events, fetch documents, write them to the index.

    Refuses to start on an index that is not provisioned as its definition says (`graphdex apply CONFIG`).
    """
    configure_logging(json_logs)
    metrics = PipelineMetrics()
    pipelines = [IndexPipeline(load_definition(path), metrics) for path in configs]
    stages = tuple(stage or Stage)
    if skip_provision_check:
        structlog.get_logger("graphdex.daemon").warning(
            "provision check skipped (--skip-provision-check)", indexes=[pipeline.index for pipeline in pipelines]
        )
    else:
        check_provisioning(pipelines, stages)
    daemon = Daemon(pipelines, stages)
    health = None
    if metrics_port is not None:
        health = HealthServer(
            metrics.registry, daemon.healthy, lambda: daemon.joined() and _ready(pipelines), metrics_port, metrics_host
        ).start()
    signal.signal(signal.SIGTERM, lambda *_: daemon.stop())
    signal.signal(signal.SIGINT, lambda *_: daemon.stop())
    daemon.start()
    typer.echo(f"graphdex running {', '.join(daemon.workers)} (pid {os.getpid()}); SIGTERM or Ctrl-C stops", err=True)
    deadline = time.monotonic() + seconds if seconds is not None else None
    try:
        while not daemon.wait(timeout=0.5):
            if deadline is not None and time.monotonic() >= deadline:
                daemon.stop()
                deadline = None
    finally:
        daemon.close()
        if health is not None:
            health.close()
    if daemon.failures:
        for failure in daemon.failures:
            typer.echo(f"error: {failure}", err=True)
        raise typer.Exit(1)


def _ready(pipelines: list[IndexPipeline]) -> bool:
    try:
        for pipeline in pipelines:
            pipeline.search_store().info()
    except Exception:  # readiness is a yes/no question; any failure to answer is a no
        return False
    return True


@dlq_app.command("list")
def dlq_list(
    config: ConfigArgument,
    reason: Annotated[str | None, typer.Option(help="Only this reason.")] = None,
    root_id: Annotated[str | None, typer.Option("--id", help="Only letters about this root id.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON lines instead of a table.")] = False,
) -> None:
    """Show the dead letters of an index."""
    definition = load_definition(config)
    chosen = LetterFilter(reason, root_id)
    stored = [s for s in DeadLetterTopic(definition.config).letters() if s.letter is None or chosen.matches(s)]
    if as_json:
        for item in stored:
            letter = item.letter
            typer.echo(
                json.dumps(
                    {
                        "partition": item.partition,
                        "offset": item.offset,
                        "replayed": item.replayed,
                        "root_id": item.root_id,
                        "stage": letter.stage if letter else None,
                        "reason": letter.reason if letter else "unreadable",
                        "detail": letter.detail if letter else item.error,
                    }
                )
            )
        return
    table = Table(
        "offset", "stage", "reason", "root id", "replayed", "detail", title=f"dead letters of {definition.config.index}"
    )
    for item in stored:
        letter = item.letter
        table.add_row(
            f"{item.partition}:{item.offset}",
            letter.stage if letter else "?",
            letter.reason if letter else "unreadable",
            item.root_id or "-",
            "yes" if item.replayed else "no",
            (letter.detail if letter else item.error or "")[:100],
        )
    Console().print(table)
    typer.echo(f"{len(stored)} dead letter(s)")


@dlq_app.command("replay")
def dlq_replay(
    config: ConfigArgument,
    reason: Annotated[str | None, typer.Option(help="Only this reason.")] = None,
    root_id: Annotated[str | None, typer.Option("--id", help="Only letters about this root id.")] = None,
) -> None:
    """Replay dead letters as fresh reindex requests (all not yet replayed, or those matching)."""
    definition = load_definition(config)
    replayed = DeadLetterTopic(definition.config).replay(LetterFilter(reason, root_id))
    for item in replayed:
        typer.echo(
            f"replayed {definition.config.root.type}:{item.root_id} ({item.letter.reason if item.letter else ''})"
        )
    typer.echo(f"{len(replayed)} dead letter(s) replayed")
