"""``graphdex backfill CONFIG``: (re)index every document of an index, gently on the gateway.

graphdex backfill CONFIG                          every id of backfill.enumeration, into the alias <index>
graphdex backfill CONFIG --target movies-2        into one concrete index (a migration)
graphdex backfill CONFIG --ids-file ids.txt       only these ids (one per line; a failures file works too)
graphdex backfill CONFIG --from-index movies      the ids already in an index or alias
graphdex backfill CONFIG --from-documents         rebuild from the documents topic: no gateway requests
graphdex backfill CONFIG --rate 50/s --concurrency 4 --window 22:00-06:00
graphdex backfill CONFIG --target-latency 300ms   adaptive rate (AIMD) keeping the gateway's p95 under 300ms
graphdex backfill CONFIG --resume                 continue a stopped backfill (Ctrl-C stops cleanly)

The limits default to the definition's ``backfill`` section. Progress is checkpointed in
``--state-dir`` (``.graphdex/backfill/<index>-<target>.json``); documents that could not be indexed
are listed next to it in ``<index>-<target>.failed.txt``.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Annotated, Any

import structlog
import typer
from rich.console import Console

from cli.app import app
from indexer.backfill.checkpoint import DEFAULT_DIRECTORY, CheckpointStore
from indexer.backfill.documents_topic import rebuild_from_documents
from indexer.backfill.enumeration import Enumeration, IdsFileEnumeration, IndexEnumeration, QueryEnumeration
from indexer.backfill.load_control import AllowedWindows, LoadLimits
from indexer.backfill.progress import BackfillSummary, summary_table
from indexer.backfill.runner import run_backfill
from indexer.definition import IndexDefinition, load_definition
from indexer.search_store import SearchStore, open_search_store
from schema_gen.config import parse_duration, parse_rate
from schema_gen.errors import ConfigError, GraphdexError, Problem

ConfigArgument = Annotated[
    Path, typer.Argument(help="The index definition (YAML).", metavar="CONFIG", dir_okay=False, show_default=False)
]


def _option_value(parse: Callable[[Any], float], value: str | None, option: str) -> float | None:
    if value is None:
        return None
    try:
        return parse(value)
    except ValueError as error:
        raise ConfigError("invalid backfill option", [Problem(option, str(error))]) from None


def _limits(
    definition: IndexDefinition,
    *,
    rate: str | None,
    min_rate: str | None,
    max_rate: str | None,
    target_latency: str | None,
    concurrency: int | None,
    batch_size: int | None,
    windows: list[str] | None,
) -> LoadLimits:
    """The definition's ``backfill`` limits with the command-line options on top."""
    return LoadLimits.from_settings(
        definition.config.backfill,
        rate=_option_value(parse_rate, rate, "--rate"),
        min_rate=_option_value(parse_rate, min_rate, "--min-rate"),
        max_rate=_option_value(parse_rate, max_rate, "--max-rate"),
        target_latency=_option_value(parse_duration, target_latency, "--target-latency"),
        concurrency=concurrency,
        batch_size=batch_size,
        windows=AllowedWindows.parse(windows, "--window") if windows else None,
    )


def _check_resume(store: CheckpointStore, *, resume: bool, restart: bool, index: str, target: str) -> None:
    """Refuse to start over an unfinished backfill silently, or to resume nothing."""
    if resume and restart:
        raise ConfigError("invalid backfill options", [Problem("--resume", "give --resume or --restart, not both")])
    saved = store.load()
    unfinished = saved is not None and not saved.finished
    if restart:
        store.clear()
    elif unfinished and not resume:
        assert saved is not None
        raise GraphdexError(
            f"a backfill of {index} into {target} stopped after {saved.ids_done:,} ids (checkpoint {store.path}): "
            "pass --resume to continue it or --restart to start over"
        )
    elif resume and not unfinished:
        raise GraphdexError(f"nothing to resume: no unfinished backfill of {index} into {target} in {store.path}")


@contextmanager
def _stop_on_interrupt() -> Iterator[threading.Event]:
    """The first Ctrl-C (or SIGTERM) asks the backfill to stop after the batches in hand; a second
    Ctrl-C interrupts at once."""
    stop = threading.Event()

    def ask_to_stop(signum: int, frame: FrameType | None) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()
        typer.echo("\nstopping after the batches in hand (Ctrl-C again to interrupt at once)", err=True)

    previous = {number: signal.signal(number, ask_to_stop) for number in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stop
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


class _CurrentStderr:
    """Whatever ``sys.stderr`` is when a line is logged (it is replaced under test runners)."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def _log_to_stderr() -> None:
    """Log lines on stderr, next to the progress bar, keeping stdout for the summary."""
    structlog.configure(
        processors=[
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.dev.ConsoleRenderer(colors=False),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.INFO),
        logger_factory=structlog.PrintLoggerFactory(_CurrentStderr()),  # type: ignore[arg-type]
    )


@app.command()
def backfill(
    config: ConfigArgument,
    target: Annotated[
        str | None,
        typer.Option("--target", help="Index or alias to write to (default: the index's alias).", metavar="NAME"),
    ] = None,
    ids_file: Annotated[
        Path | None,
        typer.Option("--ids-file", help="Backfill the ids in this file, one per line.", metavar="FILE", dir_okay=False),
    ] = None,
    from_index: Annotated[
        str | None, typer.Option("--from-index", help="Backfill the ids in this index or alias.", metavar="NAME")
    ] = None,
    from_documents: Annotated[
        bool, typer.Option("--from-documents", help="Rebuild from the documents topic (same query; no gateway).")
    ] = False,
    rate: Annotated[
        str | None, typer.Option("--rate", help="Gateway requests per second: 50/s, 600/m.", metavar="RATE")
    ] = None,
    concurrency: Annotated[
        int | None, typer.Option("--concurrency", help="Gateway requests in flight at most.", metavar="N", min=1)
    ] = None,
    target_latency: Annotated[
        str | None,
        typer.Option("--target-latency", help="Adaptive rate keeping the p95 under this: 300ms.", metavar="TIME"),
    ] = None,
    min_rate: Annotated[str | None, typer.Option("--min-rate", help="Adaptive floor.", metavar="RATE")] = None,
    max_rate: Annotated[str | None, typer.Option("--max-rate", help="Adaptive ceiling.", metavar="RATE")] = None,
    window: Annotated[
        list[str] | None,
        typer.Option("--window", help="Run only within this local time window: 22:00-06:00.", metavar="HH:MM-HH:MM"),
    ] = None,
    batch_size: Annotated[
        int | None, typer.Option("--batch-size", help="Documents per gateway request.", metavar="N", min=1)
    ] = None,
    resume: Annotated[bool, typer.Option("--resume", help="Continue the stopped backfill.")] = False,
    restart: Annotated[bool, typer.Option("--restart", help="Forget a stopped backfill and start over.")] = False,
    state_dir: Annotated[
        Path, typer.Option("--state-dir", help="Where checkpoints are kept.", metavar="DIR", file_okay=False)
    ] = DEFAULT_DIRECTORY,
    progress: Annotated[bool, typer.Option("--progress/--no-progress", help="Show a progress bar.")] = True,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Fetch every document of an index again and write it, within limits that protect the gateway."""
    sources = [name for name, given in (("--ids-file", ids_file), ("--from-index", from_index)) if given]
    sources += ["--from-documents"] if from_documents else []
    if len(sources) > 1:
        raise ConfigError("invalid backfill options", [Problem(sources[1], f"give only one of {', '.join(sources)}")])
    _log_to_stderr()
    definition = load_definition(config)
    index = definition.config.index
    destination = target or index
    limits = _limits(
        definition,
        rate=rate,
        min_rate=min_rate,
        max_rate=max_rate,
        target_latency=target_latency,
        concurrency=concurrency,
        batch_size=batch_size,
        windows=window,
    )
    checkpoint = CheckpointStore.for_backfill(index, destination, state_dir)
    _check_resume(checkpoint, resume=resume, restart=restart, index=index, target=destination)
    search_store = open_search_store(definition.config.elasticsearch)
    try:
        with _stop_on_interrupt() as stop:
            if from_documents:
                summary = rebuild_from_documents(
                    definition,
                    target_index=destination,
                    checkpoint=checkpoint,
                    progress=progress,
                    stop=stop,
                    store=search_store,
                )
            else:
                summary = run_backfill(
                    definition,
                    target_index=destination,
                    enumeration=_enumeration(definition, ids_file, from_index, search_store),
                    limits=limits,
                    checkpoint=checkpoint,
                    progress=progress,
                    stop=stop,
                    store=search_store,
                )
    finally:
        search_store.close()
    _report(summary, as_json)


def _enumeration(
    definition: IndexDefinition, ids_file: Path | None, from_index: str | None, store: SearchStore
) -> Enumeration:
    if ids_file is not None:
        return IdsFileEnumeration(ids_file)
    if from_index is not None:
        return IndexEnumeration.for_definition(store, definition, from_index)
    return QueryEnumeration.from_definition(definition)


def _report(summary: BackfillSummary, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(dataclasses.asdict(summary), indent=2))
    else:
        Console(stderr=False).print(summary_table(summary))
    if not summary.completed:
        typer.echo("stopped: continue with --resume", err=True)
        raise SystemExit(130)
    if summary.failed:
        raise GraphdexError(
            f"{summary.failed:,} documents could not be indexed; their ids and reasons are in {summary.failures_file} "
            f"(backfill them again with --ids-file {summary.failures_file})"
        )
