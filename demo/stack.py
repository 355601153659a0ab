"""The local development stack: Apache Kafka (KRaft), an OpenSearch node, the three demo subgraphs and the
Apollo gateway, all on 127.0.0.1, and on request (``start([REGISTRY])``) a schema registry (Apicurio
Registry's Confluent-compatible API). Their data lives under the state folder and outlives a stop:
started again, Kafka finds its topics and offsets, OpenSearch its indexes, the registry its subjects and
each subgraph its database (``StackOptions.fresh`` starts over). The CLI (``graphdex dev``), the pytest fixtures and the
benchmarks all run it through ``LocalStack``, so they run the identical stack.

    with LocalStack(StackOptions(state_dir=Path(".graphdex/stack"))) as stack:
        print(stack.endpoints.gateway_url)

``start`` can be called again with more services: the ones already running are reused (the test
fixtures start only Kafka for Kafka tests and the rest when a test needs the whole graph).
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterable
from types import TracebackType

from demo.child_process import ChildProcess, process_start_ticks
from demo.health_probes import HealthProbe
from demo.ports import ALL_SERVICE_NAMES, GATEWAY, SERVICE_NAMES, port_in_use
from demo.prerequisites import ensure_gateway_packages, missing_subgraph_modules
from demo.services import SUBGRAPHS
from demo.stack_services import DEPENDS_ON, Endpoints, ServiceDefinition, StackOptions, define_service
from demo.stack_state import ServiceRecord, ServiceStatus, StackState, check_service, current_process_record
from schema_gen.errors import StackError

__all__ = ["Endpoints", "LocalStack", "ServiceStatus", "StackOptions"]

_LOG_LINES_IN_ERRORS = 15


class LocalStack:
    """Starts the servers in dependency order, waits until each is ready, records them, stops them all."""

    def __init__(self, options: StackOptions) -> None:
        self.options = options
        self.startup_seconds: dict[str, float] = {}
        """Seconds from launch to ready, per service started by this object."""
        self.total_startup_seconds = 0.0
        """Wall-clock seconds of the last ``start`` call that started something (checks included)."""
        self._children: dict[str, ChildProcess] = {}
        self._claimed = False
        """Whether this object owns the state folder (from the first start until everything stopped)."""

    @property
    def endpoints(self) -> Endpoints:
        """Where the services answer (also for services not started yet)."""
        return Endpoints.for_ports(self.options.ports)

    @property
    def running(self) -> tuple[str, ...]:
        """Names of the services this stack started and has not stopped, in start order."""
        return tuple(self._children)

    def pids(self) -> dict[str, int]:
        """Process id of every started service."""
        return {name: child.pid for name, child in self._children.items()}

    def start(self, services: Iterable[str] = SERVICE_NAMES) -> LocalStack:
        """Start ``services`` and what they depend on, unless already running; returns when all are ready.

        On failure the services this call started are stopped again (those already running stay) and a
        ``StackError`` names the service, its log file and its last log lines.
        """
        wanted = [name for name in required_services(services) if name not in self._children]
        if not wanted:
            return self
        began = time.monotonic()
        if not self._claimed:
            self._claim_state_dir()
            self._claimed = True
        definitions = {name: define_service(name, self.options) for name in wanted}
        self._check_prerequisites(wanted)
        try:
            for wave in start_waves(wanted):
                for name in wave:
                    self._launch(definitions[name])
                started = [(self._children[name], definitions[name].probe) for name in wave]
                self.startup_seconds.update(wait_until_ready(started, self.options.startup_timeout))
        except BaseException:
            self._stop_services([name for name in wanted if name in self._children])
            raise
        self.total_startup_seconds = time.monotonic() - began
        return self

    def stop(self) -> None:
        """Stop every started service, the gateway first and Kafka last, and remove the state file."""
        self._stop_services(list(self._children))

    def _stop_services(self, names: list[str]) -> None:
        """Stop ``names`` wave by wave, the last wave first; the services of one wave stop in parallel."""
        failures: list[str] = []
        for wave in reversed(start_waves(names)):
            failures += _stop_together([self._children.pop(name) for name in wave], self.options.stop_grace)
        if self._children:
            self._state().write(self.options.state_dir)
        else:
            StackState.remove(self.options.state_dir)
            self._claimed = False
        if failures:
            raise StackError("could not stop every service of the local stack: " + "; ".join(failures))

    def stop_service(self, name: str, *, kill: bool = False) -> None:
        """Stop one running service (SIGTERM, or SIGKILL with ``kill``), keeping its data; ``start([name])``
        starts it again. Services that depend on it are left running, as in a real outage."""
        child = self._children.pop(name, None)
        if child is None:
            raise StackError(f"{name} is not running in this stack (running: {', '.join(self._children) or 'none'})")
        if kill:
            child.kill()
        failures = _stop_together([child], self.options.stop_grace)
        self._state().write(self.options.state_dir)
        if failures:
            raise StackError("; ".join(failures))

    def release(self) -> None:
        """Hand the running services over to the state file (detached stacks): they keep running after
        this process exits, and ``graphdex dev down`` (``stop_recorded_stack``) stops them."""
        if not self.options.detach:
            raise StackError("only a detached stack (StackOptions.detach) can outlive its supervisor")
        for child in self._children.values():
            child.release()
        self._children.clear()

    def status(self) -> list[ServiceStatus]:
        """Each started service: healthy, unhealthy (with the reason) or exited (with its last log lines)."""
        records = {record.name: record for record in self._state().services}
        return [
            check_service(records[name], dict(self.options.ports), child.exit_code() is None)
            for name, child in self._children.items()
        ]

    def supervise(self, poll_interval: float = 0.5) -> None:
        """Block while every service runs (until interrupted); ``StackError`` as soon as one exits."""
        while True:
            for child in self._children.values():
                code = child.exit_code()
                if code is not None:
                    raise StackError(_exited_message(child, code, "unexpectedly"))
            time.sleep(poll_interval)

    def __enter__(self) -> LocalStack:
        """Start the whole stack, unless ``start`` was already called (then keep what it started)."""
        return self if self._children else self.start()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()

    def _claim_state_dir(self) -> None:
        """Refuse to start over a stack that is still running from the same state folder; with
        ``fresh``, remove the data of earlier runs."""
        previous = StackState.read(self.options.state_dir)
        if previous is not None:
            self._refuse_running(previous)
        if self.options.fresh:
            shutil.rmtree(self.options.data_dir, ignore_errors=True)

    def _refuse_running(self, previous: StackState) -> None:
        alive = [record.name for record in previous.running_services()]
        if alive or previous.supervisor_running():
            folder = self.options.state_dir
            raise StackError(
                f"a local stack is already running from {folder} ({', '.join(alive) or 'its supervisor'}); "
                f"stop it with `graphdex dev down --state-dir {folder}` or use another state folder"
            )
        StackState.remove(self.options.state_dir)

    def _check_prerequisites(self, wanted: list[str]) -> None:
        subgraph_modules = [sub.module for sub in SUBGRAPHS if sub.name in wanted]
        problems = missing_subgraph_modules(subgraph_modules)
        if problems:
            raise StackError("the demo subgraphs cannot be started", problems)
        busy = [f"{name} port {self.options.ports[name]}" for name in wanted if port_in_use(self.options.ports[name])]
        if busy:
            raise StackError(
                f"already in use on 127.0.0.1: {', '.join(busy)} (another stack or server?); "
                "stop it or choose other ports"
            )
        if GATEWAY in wanted:
            ensure_gateway_packages(self.options.log_dir / "npm.log")

    def _launch(self, definition: ServiceDefinition) -> None:
        if definition.prepare is not None:
            definition.prepare()
        child = ChildProcess.launch(definition.launch, bound_to_parent=not self.options.detach)
        self._children[definition.name] = child
        self._state().write(self.options.state_dir)

    def _state(self) -> StackState:
        supervisor_pid, supervisor_ticks = (None, None) if self.options.detach else current_process_record()
        records = tuple(
            ServiceRecord(
                name=name,
                pid=child.pid,
                start_ticks=process_start_ticks(child.pid),
                port=self.options.ports[name],
                log=str(child.spec.log_path),
            )
            for name, child in self._children.items()
        )
        return StackState(supervisor_pid, supervisor_ticks, dict(self.options.ports), records)


def required_services(services: Iterable[str]) -> list[str]:
    """The services plus everything they need, in start-up order; ``StackError`` for an unknown name."""
    requested = list(services)
    unknown = sorted(set(requested) - set(ALL_SERVICE_NAMES))
    if unknown:
        raise StackError(f"unknown service(s) {', '.join(unknown)}; the services are {', '.join(ALL_SERVICE_NAMES)}")
    needed: set[str] = set()
    while requested:
        name = requested.pop()
        if name not in needed:
            needed.add(name)
            requested.extend(DEPENDS_ON[name])
    return [name for name in ALL_SERVICE_NAMES if name in needed]


def _level(name: str) -> int:
    """0 for a service that needs nothing, else one more than its deepest dependency."""
    return max((_level(dependency) + 1 for dependency in DEPENDS_ON[name]), default=0)


def start_waves(names: list[str]) -> list[list[str]]:
    """Groups that start together: Kafka, search and the registry, then the subgraphs, then the gateway."""
    levels = sorted({_level(name) for name in names})
    return [[name for name in names if _level(name) == level] for level in levels]


def wait_until_ready(started: list[tuple[ChildProcess, HealthProbe]], timeout: float) -> dict[str, float]:
    """Poll each probe until it passes; seconds until ready per service.

    ``StackError`` naming the service, its log file and last log lines as soon as one exits, or when
    one is not ready after ``timeout`` seconds.
    """
    launched = time.monotonic()
    ready: dict[str, float] = {}
    pending = list(started)
    while pending:
        for child, probe in list(pending):
            code = child.exit_code()
            if code is not None:
                raise StackError(_exited_message(child, code, "while starting"))
            reason = probe.check()
            elapsed = time.monotonic() - launched
            if reason is None:
                ready[child.name] = elapsed
                pending.remove((child, probe))
            elif elapsed > timeout:
                raise StackError(
                    f"{child.name} was not ready after {timeout:g} s ({reason}); log {child.spec.log_path}"
                    + _tail_block(child)
                )
        if pending:
            time.sleep(0.05)
    return ready


def _stop_together(children: list[ChildProcess], grace: float) -> list[str]:
    """SIGTERM to all, then wait for each (SIGKILL after ``grace``); what went wrong, per service."""
    failures: list[str] = []
    for action in (ChildProcess.terminate, lambda child: child.stop(grace)):
        for child in children:
            try:
                action(child)
            except StackError as exc:
                failures.append(f"{child.name}: {exc}")
    return failures


def _tail_block(child: ChildProcess) -> str:
    tail = child.log_tail(_LOG_LINES_IN_ERRORS)
    return f"; last lines:\n{tail}" if tail else " (empty)"


def _exited_message(child: ChildProcess, code: int, when: str) -> str:
    how = f"was killed by signal {-code}" if code < 0 else f"exited with status {code}"
    return f"{child.name} {how} {when}; log {child.spec.log_path}" + _tail_block(child)
