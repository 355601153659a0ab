"""``graphdex dev up | down | status``: options, output, and stopping foreground and detached stacks."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

import cli.dev
from cli.app import app
from demo.child_process import process_running, process_start_ticks
from demo.ports import free_ports
from demo.stack_state import STATE_FILE, ServiceStatus, StackState
from schema_gen.errors import StackError

assert cli.dev.dev_app  # registers the ``dev`` commands on ``app``

RUNNER = CliRunner()
GRAPHDEX = str(Path(sys.executable).with_name("graphdex"))


def _invoke(*args: str, env: dict[str, str] | None = None):
    return RUNNER.invoke(app, ["dev", *args], env=env)


def _recorded_processes(state_dir: Path) -> dict[int, int | None]:
    state = StackState.read(state_dir)
    assert state is not None
    return {record.pid: record.start_ticks for record in state.services}


def _all_gone(processes: dict[int, int | None], timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while any(process_running(pid, ticks) for pid, ticks in processes.items()) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not any(process_running(pid, ticks) for pid, ticks in processes.items())


def _graphdex(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run the installed ``graphdex dev`` command."""
    return subprocess.run(
        [GRAPHDEX, "dev", *args], capture_output=True, text=True, env={**os.environ, **(env or {})}, timeout=120
    )


def _foreground_up(state_dir: Path) -> subprocess.Popen[str]:
    """``graphdex dev up`` (Kafka and search only) in the foreground, once it says it is ready."""
    argv = [GRAPHDEX, "dev", "up", "-s", "kafka", "-s", "search", "--free-ports"]
    process = subprocess.Popen([*argv, "--state-dir", str(state_dir)], stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    for line in process.stdout:
        if "press Ctrl-C" in line:
            return process
    raise AssertionError(f"graphdex dev up exited with {process.wait()} before it was ready")


def test_the_same_port_twice_is_refused():
    """Two services on one port are refused before anything starts."""
    result = _invoke("up", "--kafka-port", "5000", "--search-port", "5000")
    assert isinstance(result.exception, StackError)
    assert "used twice: 5000" in str(result.exception)


def test_unknown_service_is_refused(tmp_path):
    """``--service`` with an unknown name lists the valid ones."""
    result = _invoke("up", "-s", "elastic", "--free-ports", "--state-dir", str(tmp_path))
    assert isinstance(result.exception, StackError)
    assert "unknown service(s) elastic" in str(result.exception)


def test_status_without_stack_is_an_error(tmp_path):
    """``status`` on a folder with no stack fails with a message, not a traceback."""
    result = _invoke("status", "--state-dir", str(tmp_path))
    assert isinstance(result.exception, StackError)


def test_down_without_stack_says_so(tmp_path):
    """``down`` on a folder with no stack says nothing is running."""
    result = _invoke("down", "--state-dir", str(tmp_path))
    assert (result.exit_code, result.output.strip()) == (0, f"no local stack is running from {tmp_path}")


def test_status_lines_show_log_tail_of_an_exited_service():
    """An exited service is followed by its log file and last lines."""
    statuses = [
        ServiceStatus("kafka", "exited", 10, 9092, "/s/logs/kafka.log", "listening\npanic: out of memory"),
        ServiceStatus("search", "healthy", 11, 9200, "/s/logs/search.log"),
    ]
    lines = cli.dev.format_statuses(statuses)
    assert lines[1:4] == ["    log /s/logs/kafka.log", "    | listening", "    | panic: out of memory"]
    assert lines[4].split() == ["search", "healthy", "pid", "11", "port", "9200"]


@pytest.mark.integration
def test_errors_are_one_line_without_traceback(tmp_path):
    """The real command prints a StackError as one message and exits 1."""
    result = _graphdex("status", "--state-dir", str(tmp_path))
    assert result.returncode == 1
    assert result.stderr.startswith(f"error: no local stack is recorded in {tmp_path}")
    assert "Traceback" not in result.stderr


@pytest.mark.integration
def test_detached_up_status_down(tmp_path):
    """A detached stack keeps running after ``up`` returns, reports healthy, and ``down`` removes it."""
    ports = free_ports(["kafka", "search"])
    env = {"GRAPHDEX_DEV_KAFKA_PORT": str(ports["kafka"]), "GRAPHDEX_DEV_SEARCH_PORT": str(ports["search"])}
    try:
        up = _graphdex("up", "--detach", "-s", "kafka", "-s", "search", "--state-dir", str(tmp_path), env=env)
        assert up.returncode == 0, up.stderr
        processes = _recorded_processes(tmp_path)
        lines = up.stdout.splitlines()
        assert all(line.startswith(("#", "export ")) for line in lines)  # eval-able
        assert f"export GRAPHDEX_KAFKA_BOOTSTRAP=127.0.0.1:{ports['kafka']}" in lines
        assert f"export GRAPHDEX_ES_URL=http://127.0.0.1:{ports['search']}" in lines
        status = _graphdex("status", "--state-dir", str(tmp_path))
        conditions = [line.split()[:2] for line in status.stdout.splitlines()]
        assert (status.returncode, conditions) == (0, [["kafka", "healthy"], ["search", "healthy"]])
    finally:
        down = _graphdex("down", "--state-dir", str(tmp_path))
    assert down.stdout.strip() == "stopped kafka, search"
    assert _all_gone(processes)
    assert not (tmp_path / STATE_FILE).exists()


@pytest.mark.integration
def test_status_reports_a_crashed_service(tmp_path):
    """``status`` shows a killed service as exited with its log and fails."""
    try:
        up = _graphdex("up", "--detach", "-s", "kafka", "-s", "search", "--free-ports", "--state-dir", str(tmp_path))
        assert up.returncode == 0, up.stderr
        processes = _recorded_processes(tmp_path)
        kafka_pid = next(iter(processes))
        os.kill(kafka_pid, signal.SIGKILL)
        assert _all_gone({kafka_pid: processes[kafka_pid]})
        status = _graphdex("status", "--state-dir", str(tmp_path))
        assert status.returncode == 1
        assert "the local stack in" in status.stderr
        assert "kafka exited" in status.stderr
        assert status.stdout.splitlines()[0].split()[:2] == ["kafka", "exited"]
        assert "kafka.log" in status.stdout
        assert "Kafka Server started" in status.stdout
    finally:
        _graphdex("down", "--state-dir", str(tmp_path))
    assert _all_gone(processes)


@pytest.mark.integration
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_foreground_up_stops_cleanly_on_a_signal(tmp_path, signum):
    """SIGTERM or Ctrl-C (SIGINT) stops a foreground stack: exit 0, no server left, no state file."""
    with _foreground_up(tmp_path) as process:
        processes = _recorded_processes(tmp_path)
        process.send_signal(signum)
        remaining, _ = process.communicate(timeout=30)
    assert process.returncode == 0
    assert "# stopping the local stack" in remaining
    assert _all_gone(processes)
    assert not (tmp_path / STATE_FILE).exists()


@pytest.mark.integration
def test_down_stops_a_foreground_up(tmp_path):
    """``down`` from another shell stops a foreground ``up`` and its servers."""
    with _foreground_up(tmp_path) as process:
        processes = _recorded_processes(tmp_path)
        processes[process.pid] = process_start_ticks(process.pid)
        down = _graphdex("down", "--state-dir", str(tmp_path))
        process.communicate(timeout=30)
    assert down.stdout.strip() == "stopped kafka, search"
    assert process.returncode == 0
    assert _all_gone(processes)


@pytest.mark.integration
def test_second_up_on_a_running_state_folder_is_refused(tmp_path):
    """A second ``up`` with the same state folder says a stack is already running there."""
    try:
        first = _graphdex("up", "--detach", "-s", "kafka", "--free-ports", "--state-dir", str(tmp_path))
        assert first.returncode == 0, first.stderr
        second = _graphdex("up", "--detach", "-s", "kafka", "--free-ports", "--state-dir", str(tmp_path))
        assert second.returncode == 1
        assert "already running" in second.stderr
    finally:
        _graphdex("down", "--state-dir", str(tmp_path))
    assert _graphdex("status", "--state-dir", str(tmp_path)).returncode == 1
