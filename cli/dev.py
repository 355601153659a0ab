"""``graphdex dev up | down | status``: the local development stack (see ``demo.stack``).

Every option also reads an environment variable (``GRAPHDEX_DEV_*``). ``up`` prints only shell comments
and ``export`` lines, so ``eval "$(graphdex dev up --detach)"`` configures the current shell.
``up --registry`` also starts a schema registry and exports ``GRAPHDEX_SCHEMA_REGISTRY_URL``: graphdex
then writes documents in Confluent wire format and registers their schema (``configs/movies.yaml``).
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Annotated

import typer
from typer.models import OptionInfo

from cli.app import app
from demo.ports import (
    ALL_SERVICE_NAMES,
    GATEWAY,
    KAFKA,
    REGISTRY,
    SEARCH,
    SERVICE_NAMES,
    default_ports,
    free_ports,
    with_overrides,
)
from demo.services import DEFAULT_SEED, DEFAULT_SIZE
from demo.stack import LocalStack, ServiceStatus, StackOptions
from demo.stack_state import recorded_status, stop_recorded_stack
from schema_gen.errors import StackError

dev_app = typer.Typer(
    help="Run the local development stack: Kafka, search server, demo subgraphs, gateway (and a schema registry)."
)
app.add_typer(dev_app, name="dev")

DEFAULT_STATE_DIR = Path(".graphdex/stack")

StateDir = Annotated[
    Path,
    typer.Option("--state-dir", envvar="GRAPHDEX_DEV_STATE_DIR", help="Logs, data and state.json of the stack."),
]
Grace = Annotated[
    float, typer.Option("--grace", min=0, envvar="GRAPHDEX_DEV_GRACE", help="Seconds between SIGTERM and SIGKILL.")
]


def _port_option(service: str) -> OptionInfo:
    return typer.Option(
        f"--{service}-port",
        min=1,
        max=65535,
        envvar=f"GRAPHDEX_DEV_{service.upper()}_PORT",
        help=f"Port of {service} on 127.0.0.1 (default {default_ports()[service]}).",
    )


@dev_app.command()
def up(
    state_dir: StateDir = DEFAULT_STATE_DIR,
    detach: Annotated[
        bool, typer.Option("--detach", "-d", help="Return once everything is ready; stop it with `graphdex dev down`.")
    ] = False,
    size: Annotated[
        int, typer.Option(min=1, envvar="GRAPHDEX_DEV_SIZE", help="Movies in the generated demo data.")
    ] = DEFAULT_SIZE,
    seed: Annotated[
        int, typer.Option(envvar="GRAPHDEX_DEV_SEED", help="Seed of the generated demo data.")
    ] = DEFAULT_SEED,
    free: Annotated[
        bool, typer.Option("--free-ports", help="Pick free ports instead of the documented defaults.")
    ] = False,
    fresh: Annotated[
        bool,
        typer.Option(
            "--fresh",
            help=(
                "Start over: remove the data kept from earlier runs "
                "(Kafka topics, indexes, registry subjects, subgraph databases)."
            ),
        ),
    ] = False,
    timeout: Annotated[
        float, typer.Option(min=1, envvar="GRAPHDEX_DEV_TIMEOUT", help="Seconds each service may take to be ready.")
    ] = 60.0,
    grace: Grace = 5.0,
    only: Annotated[
        list[str] | None,
        typer.Option(
            "--service",
            "-s",
            help=f"Start only this service and what it needs (repeatable): {', '.join(ALL_SERVICE_NAMES)}.",
        ),
    ] = None,
    registry: Annotated[
        bool,
        typer.Option(
            "--registry",
            envvar="GRAPHDEX_DEV_REGISTRY",
            help=(
                "Also start a schema registry (Apicurio Registry, Confluent-compatible API) and export "
                "GRAPHDEX_SCHEMA_REGISTRY_URL: graphdex then writes documents in Confluent wire format."
            ),
        ),
    ] = False,
    kafka_port: Annotated[int | None, _port_option(KAFKA)] = None,
    search_port: Annotated[int | None, _port_option(SEARCH)] = None,
    registry_port: Annotated[int | None, _port_option(REGISTRY)] = None,
    movies_port: Annotated[int | None, _port_option("movies")] = None,
    productions_port: Annotated[int | None, _port_option("productions")] = None,
    talent_port: Annotated[int | None, _port_option("talent")] = None,
    gateway_port: Annotated[int | None, _port_option(GATEWAY)] = None,
) -> None:
    """Start the stack on 127.0.0.1 and wait until every service is ready; Ctrl-C stops it."""
    chosen = (kafka_port, search_port, registry_port, movies_port, productions_port, talent_port, gateway_port)
    overrides = dict(zip(ALL_SERVICE_NAMES, chosen, strict=True))
    ports = with_overrides(free_ports() if free else default_ports(), overrides)
    duplicates = sorted({port for port in ports.values() if list(ports.values()).count(port) > 1})
    if duplicates:
        raise StackError(f"each service needs its own port; used twice: {', '.join(map(str, duplicates))}")
    options = StackOptions(
        state_dir=state_dir.resolve(),
        ports=ports,
        size=size,
        seed=seed,
        startup_timeout=timeout,
        stop_grace=grace,
        fresh=fresh,
        detach=detach,
    )
    stack = LocalStack(options)
    services = [*(only or SERVICE_NAMES), *([REGISTRY] if registry else [])]
    if detach:
        stack.start(services)
        _print_ready(stack)
        stack.release()
        typer.echo(f"# stop it with: graphdex dev down --state-dir {state_dir}")
        return
    with _interrupted_by_sigterm():
        try:
            stack.start(services)
            _print_ready(stack)
            typer.echo("# press Ctrl-C to stop")
            stack.supervise()
        except KeyboardInterrupt:
            typer.echo("# stopping the local stack")
        finally:
            with _signals_ignored():
                stack.stop()


@dev_app.command()
def down(state_dir: StateDir = DEFAULT_STATE_DIR, grace: Grace = 5.0) -> None:
    """Stop the stack recorded in the state folder (detached, or a foreground `up` elsewhere)."""
    stopped = stop_recorded_stack(state_dir, grace)
    if stopped:
        typer.echo(f"stopped {', '.join(stopped)}")
    else:
        typer.echo(f"no local stack is running from {state_dir}")


@dev_app.command()
def status(state_dir: StateDir = DEFAULT_STATE_DIR) -> None:
    """Show whether each service is healthy; exit status 1 if any is not."""
    statuses = recorded_status(state_dir)
    for line in format_statuses(statuses):
        typer.echo(line)
    failing = [f"{service.name} {service.condition}" for service in statuses if service.condition != "healthy"]
    if failing:
        raise StackError(f"the local stack in {state_dir} is not healthy: {', '.join(failing)}")


def format_statuses(statuses: list[ServiceStatus]) -> list[str]:
    """One line per service, followed by the reason or last log lines of any that is not healthy."""
    lines: list[str] = []
    for service in statuses:
        lines.append(f"{service.name:<12} {service.condition:<10} pid {service.pid:<8} port {service.port:<6}")
        if service.condition != "healthy":
            lines.append(f"    log {service.log}")
            lines += [f"    | {line}" for line in service.detail.splitlines()]
    return lines


def _print_ready(stack: LocalStack) -> None:
    endpoints = stack.endpoints
    addresses = {KAFKA: endpoints.kafka_bootstrap, SEARCH: endpoints.search_url, GATEWAY: endpoints.gateway_url}
    addresses.update(endpoints.subgraph_urls)
    addresses[REGISTRY] = endpoints.schema_registry_url or ""
    typer.echo(f"# local stack ready (state and logs in {stack.options.state_dir})")
    for name in stack.running:
        seconds = stack.startup_seconds.get(name, 0.0)
        typer.echo(f"#   {name:<12} {addresses[name]:<36} ready after {seconds:.1f} s")
    typer.echo(f"# all ready in {stack.total_startup_seconds:.1f} s; to use this stack from a shell:")
    for variable, value in endpoints.environment(schema_registry=REGISTRY in stack.running).items():
        typer.echo(f"export {variable}={value}")


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


@contextmanager
def _interrupted_by_sigterm() -> Iterator[None]:
    """SIGTERM stops a foreground stack exactly like Ctrl-C."""
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextmanager
def _signals_ignored() -> Iterator[None]:
    """A second Ctrl-C or SIGTERM must not interrupt stopping the servers."""
    previous = {signum: signal.signal(signum, signal.SIG_IGN) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
