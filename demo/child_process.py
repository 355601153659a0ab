"""One server process of the local stack: launched in its own process group, logged to a file, stopped
with SIGTERM then SIGKILL, and never left behind.

A child started with ``bound_to_parent=True`` also gets ``PR_SET_PDEATHSIG`` (Linux): the kernel kills it
when the thread that started it dies, even if the supervisor is killed with SIGKILL and has no chance to
clean up. Detached stacks (``graphdex dev up --detach``) leave it off so that the servers outlive the
command; ``graphdex dev down`` stops them from the state file with the functions at the end of this module.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from schema_gen.errors import StackError

_PR_SET_PDEATHSIG = 1
_LIBC = ctypes.CDLL(None, use_errno=True) if sys.platform.startswith("linux") else None


def _die_with_parent(parent_pid: int) -> Callable[[], None]:
    """A ``preexec_fn`` that asks the kernel to SIGKILL the child when its parent goes away."""
    libc = _LIBC

    def preexec() -> None:
        if libc is not None:
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent_pid:  # the parent died between fork and prctl
            os._exit(1)

    return preexec


@dataclass(frozen=True)
class LaunchSpec:
    """What to run for one service and where its output goes."""

    name: str
    argv: Sequence[str]
    log_path: Path
    env: Mapping[str, str] = field(default_factory=dict)
    """Added to the supervisor's environment."""
    cwd: Path | None = None


def log_tail(path: Path, lines: int = 20) -> str:
    """The last ``lines`` lines of a log file ('' if it does not exist)."""
    try:
        with path.open(encoding="utf-8", errors="replace") as log:
            return "".join(deque(log, maxlen=lines)).rstrip()
    except FileNotFoundError:
        return ""


class ChildProcess:
    """A running server: ``launch`` it, ``exit_code`` polls it, ``stop`` ends its whole process group."""

    def __init__(self, spec: LaunchSpec, popen: subprocess.Popen[bytes]) -> None:
        self.spec = spec
        self.popen = popen
        self._terminated_at: float | None = None

    @classmethod
    def launch(cls, spec: LaunchSpec, *, bound_to_parent: bool) -> ChildProcess:
        """Start ``spec`` in a new session (its own process group), stdout and stderr to a fresh log file."""
        spec.log_path.parent.mkdir(parents=True, exist_ok=True)
        with spec.log_path.open("wb") as log:
            try:
                popen = subprocess.Popen(
                    list(spec.argv),
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    cwd=spec.cwd,
                    env={**os.environ, **spec.env},
                    start_new_session=True,
                    preexec_fn=_die_with_parent(os.getpid()) if bound_to_parent else None,
                )
            except OSError as exc:
                raise StackError(f"{spec.name}: cannot run {spec.argv[0]}: {exc.strerror or exc}") from exc
        return cls(spec, popen)

    @property
    def name(self) -> str:
        """The service name."""
        return self.spec.name

    @property
    def pid(self) -> int:
        """Process id, which is also the process group id."""
        return self.popen.pid

    def exit_code(self) -> int | None:
        """None while running, else the exit status (negative: killed by that signal)."""
        return self.popen.poll()

    def log_tail(self, lines: int = 20) -> str:
        """The last lines the service wrote."""
        return log_tail(self.spec.log_path, lines)

    def release(self) -> None:
        """Stop owning the process (a detached stack): it runs on, is neither waited for nor warned about
        here, and is stopped later from the state file."""
        if self.popen.returncode is None:
            self.popen.returncode = 0  # what Popen checks before waiting, killing or warning "still running"

    def terminate(self) -> None:
        """Send SIGTERM to the process group, once; ``stop`` then waits for it (stop several in parallel)."""
        if self.popen.returncode is None and self._terminated_at is None and not self._exited_unreaped(0):
            _signal_group(self.pid, signal.SIGTERM)
            self._terminated_at = time.monotonic()

    def kill(self) -> None:
        """SIGKILL to the process group, with no warning (a crash, for fault tests); reaps the process."""
        if self.popen.returncode is None:
            _signal_group(self.pid, signal.SIGKILL)
            self.popen.wait()

    def stop(self, grace: float) -> None:
        """SIGTERM to the process group, SIGKILL ``grace`` seconds after it; reaps the process."""
        if self.popen.returncode is not None:
            return  # already reaped: its pid (and group id) may belong to someone else by now
        self.terminate()
        if self._terminated_at is not None:
            remaining = grace - (time.monotonic() - self._terminated_at)
            if not self._exited_unreaped(max(remaining, 0.0)):
                _signal_group(self.pid, signal.SIGKILL)
                self._exited_unreaped(None)
        # The leader is a zombie until reaped, so the group id is still ours: anything the service left
        # in its group goes too.
        _signal_group(self.pid, signal.SIGKILL)
        self.popen.wait()

    def _exited_unreaped(self, timeout: float | None) -> bool:
        """Wait up to ``timeout`` seconds (None: forever) for the process to exit, without reaping it."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            try:
                if os.waitid(os.P_PID, self.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None:
                    return True
            except ChildProcessError:
                return True
            if deadline is not None and time.monotonic() >= deadline:
                return False
            time.sleep(0.02)


def _signal_group(pgid: int, signum: int) -> bool:
    """Send ``signum`` to a process group; False if the group no longer exists."""
    try:
        os.killpg(pgid, signum)
    except ProcessLookupError:
        return False
    except PermissionError as exc:
        raise StackError(f"not allowed to signal process group {pgid}: {exc.strerror}") from exc
    return True


def process_start_ticks(pid: int) -> int | None:
    """When ``pid`` started (clock ticks since boot, from /proc), to tell it from a reused pid.

    None if the process does not exist, is a zombie, or /proc is not available.
    """
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()
    state, start_ticks = fields[0], fields[19]
    return None if state in ("Z", "X") else int(start_ticks)


def process_running(pid: int, start_ticks: int | None) -> bool:
    """Whether ``pid`` is still the process recorded with ``start_ticks`` and has not exited."""
    if Path("/proc/self/stat").exists():
        current = process_start_ticks(pid)
        return current is not None and (start_ticks is None or current == start_ticks)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def stop_recorded_process(pid: int, start_ticks: int | None, grace: float) -> bool:
    """Stop a process group this process did not start (recorded in a state file); True if it was running.

    The group is only signalled while its leader is verifiably the recorded process, so a reused pid is
    never hit. Its parent (init, or a foreground supervisor) reaps it; this waits until it is gone.
    """
    if not process_running(pid, start_ticks):
        return False
    _signal_group(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while process_running(pid, start_ticks) and time.monotonic() < deadline:
        time.sleep(0.05)
    if process_running(pid, start_ticks):
        _signal_group(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10.0
    while process_running(pid, start_ticks) and time.monotonic() < deadline:
        time.sleep(0.05)
    if process_running(pid, start_ticks):
        raise StackError(f"process {pid} did not exit after SIGKILL")
    return True
