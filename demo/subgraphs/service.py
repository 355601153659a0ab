"""Running one subgraph as a process: open (and seed) its store, connect its change log, serve GraphQL.

``command_line(definition)`` is the ``python -m demo.subgraphs.<name>`` entry point. Start-up order:
open the SQLite store, check Kafka and create the service's topics, seed an empty store from
``demo.seed.generate(seed, size)`` (no events), emit a snapshot if asked, then listen. ``GET /health``
answers 200 while Kafka is reachable (503 otherwise); GraphQL is served at ``/graphql`` and ``/``.
With ``--fault-injection`` (off by default), a subgraph that supports it also serves ``/faults``
(see ``demo.subgraphs.faults``). SIGTERM and SIGINT stop the server gracefully and exit with status 0.
"""

from __future__ import annotations

import asyncio
import signal
import sys
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Annotated, Any

import structlog
import typer
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.federation import Schema

from demo.cdc import KafkaChangeLog, topic_for
from demo.seed import MIN_SIZE, DemoData, generate
from demo.services import DEFAULT_SEED, DEFAULT_SIZE, SUBGRAPHS
from demo.subgraphs.faults import ENVIRONMENT_VARIABLE, EntityFaults, FaultInjection, fault_routes
from demo.subgraphs.store import CapturedStore, Table
from schema_gen.errors import GraphdexError

log = structlog.get_logger("demo.subgraphs")


@dataclass(frozen=True)
class SubgraphDefinition:
    """What makes one domain service: its tables, seed slice, GraphQL schema and request context."""

    name: str
    """As in ``demo.services.SUBGRAPHS``; also the CDC ``db`` and the topics' middle part."""
    tables: tuple[Table, ...]
    ddl: str
    seed_rows: Callable[[DemoData], Mapping[Table, Iterable[Mapping[str, Any]]]]
    """The service's slice of a ``DemoData``, as rows per table."""
    schema: Schema
    context: Callable[[CapturedStore], object]
    """A fresh per-request context (store and data loaders) for the schema's resolvers."""
    fault_injection: FaultInjection | None = None
    """Set when the subgraph can make chosen entities fail on request (resilience tests only)."""

    @property
    def topics(self) -> tuple[str, ...]:
        return tuple(topic_for(self.name, table.name) for table in self.tables)


class _GraphQLApp(GraphQL):  # type: ignore[type-arg]
    def __init__(self, schema: Schema, context: Callable[[], object]) -> None:
        super().__init__(schema, graphql_ide=None)
        self._context = context

    async def get_context(self, request: Request | WebSocket, response: Response | WebSocket) -> object:
        return self._context()


def build_app(
    definition: SubgraphDefinition,
    store: CapturedStore,
    change_log: KafkaChangeLog,
    faults: EntityFaults | None = None,
) -> Starlette:
    """The ASGI application of one subgraph: GraphQL at ``/graphql`` and ``/``, health at ``/health``, and
    ``/faults`` when ``faults`` is given (the subgraph must support fault injection)."""
    injection = definition.fault_injection
    if faults is not None and injection is None:
        raise ValueError(f"the {definition.name} subgraph has no fault injection")
    if faults is not None and injection is not None:
        graphql = _GraphQLApp(definition.schema, lambda: injection.context(store, faults))
    else:
        graphql = _GraphQLApp(definition.schema, lambda: definition.context(store))

    async def health(_request: Request) -> JSONResponse:
        if await asyncio.to_thread(change_log.reachable):
            return JSONResponse({"status": "ok", "subgraph": definition.name})
        return JSONResponse({"status": "kafka unreachable", "subgraph": definition.name}, status_code=503)

    routes = [
        Route("/health", health, methods=["GET"]),
        Route("/graphql", graphql, methods=["GET", "POST"]),
        Route("/", graphql, methods=["GET", "POST"]),
    ]
    return Starlette(routes=routes + (fault_routes(faults) if faults is not None else []))


def seed_if_empty(definition: SubgraphDefinition, store: CapturedStore, *, seed: int, size: int) -> None:
    """Load the service's slice of ``demo.seed.generate(seed, size)`` into an empty store (no events)."""
    if not store.is_empty():
        return
    started = time.perf_counter()
    data = generate(seed, size)
    counts = {table.name: store.load(table, rows) for table, rows in definition.seed_rows(data).items()}
    seconds = round(time.perf_counter() - started, 2)
    log.info("seeded", subgraph=definition.name, seed=seed, size=size, seconds=seconds, **counts)


class _Stop(Exception):
    """SIGTERM or SIGINT arrived."""


def _stop(signum: int, _frame: FrameType | None) -> None:
    raise _Stop(signal.Signals(signum).name)


def serve(
    definition: SubgraphDefinition,
    *,
    host: str,
    port: int,
    db: Path,
    kafka: str,
    seed: int,
    size: int,
    snapshot: bool,
    fault_injection: bool = False,
) -> None:
    """Start the subgraph and serve until SIGTERM or SIGINT."""
    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    change_log = KafkaChangeLog(kafka, client_id=f"demo-{definition.name}")
    store: CapturedStore | None = None
    try:
        tables, ddl = definition.tables, definition.ddl
        store = CapturedStore(db, db=definition.name, tables=tables, ddl=ddl, change_log=change_log)
        change_log.connect(definition.topics)
        seed_if_empty(definition, store, seed=seed, size=size)
        if snapshot:
            count = change_log.stream(store.snapshot())
            log.info("snapshot emitted", subgraph=definition.name, events=count)
        faults = _faults(definition, fault_injection)
        config = uvicorn.Config(
            build_app(definition, store, change_log, faults),
            host=host,
            port=port,
            log_level="warning",
            access_log=False,
            lifespan="off",
        )
        log.info("serving", subgraph=definition.name, url=f"http://{host}:{port}/graphql")
        uvicorn.Server(config).run()
    except _Stop as stop:
        log.info("stopping", subgraph=definition.name, signal=str(stop))
    finally:
        change_log.close()
        if store is not None:
            store.close()


def _faults(definition: SubgraphDefinition, wanted: bool) -> EntityFaults | None:
    """The subgraph's fault switch when fault injection is wanted and supported (else None, said in the log)."""
    if not wanted:
        return None
    if definition.fault_injection is None:
        log.info("fault injection not supported, ignored", subgraph=definition.name)
        return None
    log.warning("fault injection on: POST /faults makes chosen entities fail", subgraph=definition.name)
    return definition.fault_injection.faults()


def command_line(definition: SubgraphDefinition) -> typer.Typer:
    """The ``python -m demo.subgraphs.<name>`` entry point: options, then ``serve``; errors without traceback."""
    default_port = next(subgraph.default_port for subgraph in SUBGRAPHS if subgraph.name == definition.name)

    def main(
        host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
        port: Annotated[int, typer.Option(help="Port to listen on.")] = default_port,
        db: Annotated[Path, typer.Option(help="SQLite database file (created and seeded if empty).")] = Path(
            f"{definition.name}.sqlite3"
        ),
        kafka: Annotated[str, typer.Option(help="Kafka bootstrap servers for the CDC topics.")] = "127.0.0.1:9092",
        size: Annotated[int, typer.Option(min=MIN_SIZE, help="Movies in the seeded data set.")] = DEFAULT_SIZE,
        seed: Annotated[int, typer.Option(help="Seed of the data set.")] = DEFAULT_SEED,
        snapshot: Annotated[
            bool, typer.Option(help="Emit a Debezium snapshot (op r) of every row at start-up.")
        ] = False,
        fault_injection: Annotated[
            bool,
            typer.Option(
                envvar=ENVIRONMENT_VARIABLE,
                help="Serve /faults to make chosen entities fail (resilience tests; ignored where unsupported).",
            ),
        ] = False,
    ) -> None:
        structlog.configure(logger_factory=structlog.PrintLoggerFactory(sys.stderr))
        try:
            serve(
                definition,
                host=host,
                port=port,
                db=db,
                kafka=kafka,
                seed=seed,
                size=size,
                snapshot=snapshot,
                fault_injection=fault_injection,
            )
        except GraphdexError as error:
            typer.echo(f"error: {definition.name} subgraph: {error}", err=True)
            sys.exit(error.exit_code)

    app = typer.Typer(
        add_completion=False, pretty_exceptions_enable=False, help=f"The demo {definition.name} subgraph."
    )
    app.command()(main)
    return app
