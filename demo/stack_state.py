"""The state file of a running local stack (``<state_dir>/state.json``) and what can be done from it
alone, in another process: ``graphdex dev status`` and ``graphdex dev down``."""

from __future__ import annotations

import json
import os
import signal
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal

from demo.child_process import log_tail, process_running, process_start_ticks, stop_recorded_process
from demo.stack_services import Endpoints, probe_for
from schema_gen.errors import StackError

STATE_FILE = "state.json"
_FORMAT_VERSION = 1

ServiceCondition = Literal["healthy", "unhealthy", "exited"]


@dataclass(frozen=True)
class ServiceRecord:
    """One started service as recorded in the state file."""

    name: str
    pid: int
    start_ticks: int | None
    port: int
    log: str


@dataclass(frozen=True)
class StackState:
    """Everything ``down`` and ``status`` need: who supervises, which processes, which ports."""

    supervisor_pid: int | None
    """The foreground ``graphdex dev up`` (None when detached)."""
    supervisor_start_ticks: int | None
    ports: dict[str, int]
    services: tuple[ServiceRecord, ...] = field(default_factory=tuple)

    @property
    def endpoints(self) -> Endpoints:
        """Where the recorded stack answers."""
        return Endpoints.for_ports(self.ports)

    def write(self, state_dir: Path) -> None:
        """Replace the state file atomically."""
        state_dir.mkdir(parents=True, exist_ok=True)
        path = state_dir / STATE_FILE
        data = {"version": _FORMAT_VERSION, **asdict(self)}
        temporary = path.with_suffix(f".{os.getpid()}.tmp")
        temporary.write_text(json.dumps(data, indent=2) + "\n")
        os.replace(temporary, path)

    @classmethod
    def read(cls, state_dir: Path) -> StackState | None:
        """The recorded state, None if there is no state file; ``StackError`` if it is unreadable."""
        path = state_dir / STATE_FILE
        try:
            data = json.loads(path.read_text())
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            raise StackError(
                f"{path}: not a readable stack state file ({exc}); delete it if no stack is running"
            ) from exc
        try:
            if data.get("version") != _FORMAT_VERSION:
                raise KeyError("version")
            services = tuple(ServiceRecord(**record) for record in data["services"])
            return cls(data["supervisor_pid"], data["supervisor_start_ticks"], dict(data["ports"]), services)
        except (KeyError, TypeError, AttributeError) as exc:
            raise StackError(f"{path}: unexpected content ({exc}); delete it if no stack is running") from exc

    @staticmethod
    def remove(state_dir: Path) -> None:
        """Delete the state file (the stack is stopped)."""
        (state_dir / STATE_FILE).unlink(missing_ok=True)

    def supervisor_running(self) -> bool:
        """Whether the foreground supervisor that wrote this file is still alive."""
        return self.supervisor_pid is not None and process_running(self.supervisor_pid, self.supervisor_start_ticks)

    def running_services(self) -> list[ServiceRecord]:
        """The recorded services whose process is still alive."""
        return [record for record in self.services if process_running(record.pid, record.start_ticks)]


@dataclass(frozen=True)
class ServiceStatus:
    """How one service of a stack is doing."""

    name: str
    condition: ServiceCondition
    pid: int
    port: int
    log: str
    detail: str = ""
    """Why it is unhealthy, or the last lines of its log if it exited."""


def check_service(record: ServiceRecord, ports: dict[str, int], alive: bool) -> ServiceStatus:
    """The status of one service: exited (with its log tail), or healthy/unhealthy by its readiness check."""
    if not alive:
        tail = log_tail(Path(record.log), 10)
        return ServiceStatus(record.name, "exited", record.pid, record.port, record.log, tail)
    reason = probe_for(record.name, ports).check()
    condition: ServiceCondition = "healthy" if reason is None else "unhealthy"
    return ServiceStatus(record.name, condition, record.pid, record.port, record.log, reason or "")


def recorded_status(state_dir: Path) -> list[ServiceStatus]:
    """The status of every service in the state file; ``StackError`` if there is none."""
    state = StackState.read(state_dir)
    if state is None:
        raise StackError(f"no local stack is recorded in {state_dir} (start one with `graphdex dev up`)")
    return [check_service(rec, state.ports, process_running(rec.pid, rec.start_ticks)) for rec in state.services]


def stop_recorded_stack(state_dir: Path, grace: float) -> list[str]:
    """Stop the stack recorded in ``state_dir``; returns the names of the services that were running."""
    state = StackState.read(state_dir)
    if state is None:
        return []
    running = [record.name for record in state.running_services()]
    if state.supervisor_running() and state.supervisor_pid is not None:
        # A foreground ``up``: ask it to stop its children itself, in order.
        _ask_supervisor_to_stop(state.supervisor_pid, state.supervisor_start_ticks, grace * (len(running) + 2))
    for record in reversed(state.services):
        stop_recorded_process(record.pid, record.start_ticks, grace)
    StackState.remove(state_dir)
    return running


def _ask_supervisor_to_stop(pid: int, start_ticks: int | None, timeout: float) -> None:
    """SIGTERM one process (not its group) and wait up to ``timeout`` seconds for it to exit."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while process_running(pid, start_ticks) and time.monotonic() < deadline:
        time.sleep(0.05)


def current_process_record() -> tuple[int, int | None]:
    """This process's pid and start ticks, to record a foreground supervisor."""
    return os.getpid(), process_start_ticks(os.getpid())
