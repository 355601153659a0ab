"""``graphdex run`` refuses an index that is not provisioned as its definition says.

Without servers: the command in this process with the servers' answers coming from the fake search
cluster and Kafka admin (the reads are replaced, everything else is the real command), and the daemon
replaced by a stand-in that stops at once. On the local stack: the installed command, before and after
``graphdex apply``, and after the query gained a field nobody applied.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
import structlog

import cli.run
import indexer.daemon.preflight
from cli.app import main
from demo.stack import LocalStack
from indexer.daemon.pipeline import IndexPipeline
from indexer.daemon.process import Stage
from indexer.definition import load_definition
from indexer.provision.desired import DesiredIndex
from indexer.provision.targets import ProvisionedState, ProvisionTargets, read_provisioned
from tests.indexer.daemon.fake_topic_admin import FakeTopicAdmin
from tests.indexer.provision.fake_cluster import FakeSearchCluster
from tests.indexer.provision.planning import apply_on, plan_on
from tests.indexer.provision.stack_provisioning import QUERY, QUERY_WITHOUT_RUNTIME
from tests.stack_definitions import write_movies_definition

GRAPHDEX = str(Path(sys.executable).with_name("graphdex"))


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """The command configures structlog for the process; put the defaults back after each test."""
    yield
    structlog.reset_defaults()


class StoppedDaemon:
    """Stands in for ``Daemon``: records what it was asked to run, and has finished as soon as it starts."""

    started: list[tuple[list[str], tuple[Stage, ...]]] = []

    def __init__(self, pipelines: Sequence[IndexPipeline], stages: Sequence[Stage]) -> None:
        self._run = ([pipeline.index for pipeline in pipelines], tuple(stages))
        self.workers = [f"{index}.stand-in" for index in self._run[0]]
        self.failures: list[str] = []

    def start(self) -> None:
        StoppedDaemon.started.append(self._run)

    def stop(self) -> None:
        """Nothing runs."""

    def wait(self, timeout: float | None = None) -> bool:
        return True

    def close(self) -> None:
        """Nothing to close."""


class Servers:
    """What the search cluster and Kafka hold, per index, as the command's reads see them."""

    def __init__(self) -> None:
        self.clusters: dict[str, FakeSearchCluster] = {}
        self.admins: dict[str, FakeTopicAdmin] = {}

    def apply(self, path: Path) -> None:
        """What ``graphdex apply`` leaves for the definition at ``path``."""
        desired = DesiredIndex.from_definition(load_definition(path, env={}))
        cluster = self.clusters.setdefault(desired.index, FakeSearchCluster())
        apply_on(cluster, plan_on(cluster, desired))
        self.admins[desired.index] = FakeTopicAdmin.holding(desired.topics)

    def read(self, desired: DesiredIndex, targets: ProvisionTargets) -> ProvisionedState:
        cluster = self.clusters.get(desired.index, FakeSearchCluster())
        return read_provisioned(
            desired, ProvisionTargets(cluster, self.admins.get(desired.index, FakeTopicAdmin()), None)
        )


@pytest.fixture
def servers(monkeypatch: pytest.MonkeyPatch) -> Servers:
    """The command's provision reads answered by fakes; its daemon a stand-in; its signal handlers kept
    out of the test process."""
    found = Servers()
    monkeypatch.setattr(indexer.daemon.preflight, "read_provisioned", found.read)
    monkeypatch.setattr(cli.run, "Daemon", StoppedDaemon)
    monkeypatch.setattr(signal, "signal", lambda *_: None)
    monkeypatch.setattr(StoppedDaemon, "started", [])
    monkeypatch.delenv("GRAPHDEX_SKIP_PROVISION_CHECK", raising=False)
    return found


def run(capsys: pytest.CaptureFixture[str], *args: Any) -> tuple[int, str, str]:
    """Run ``graphdex run ARGS`` in this process; the exit code, stdout and stderr."""
    try:
        main(["run", *(str(arg) for arg in args)])
        code = 0
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else 1
    out, err = capsys.readouterr()
    return code, out, err


def definition(folder: Path, name: str = "movies", **overrides: Any) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    return write_movies_definition(folder, name, overrides)


def test_an_unprovisioned_index_is_refused_naming_it_its_definition_and_apply(capsys, servers, tmp_path):
    """Nothing applied yet: exit 1, one paragraph saying what is missing and to run apply; nothing started."""
    path = definition(tmp_path)
    code, _, err = run(capsys, path)
    assert code == 1
    assert err.startswith(f"error: index movies is not provisioned as {path} says: topics ")
    assert "no index behind movies-write or movies to write to" in err
    assert f"Run `graphdex apply {path}` to provision it" in err
    assert err.count("\n") == 1
    assert "Traceback" not in err
    assert StoppedDaemon.started == []


def test_drift_is_refused_listing_the_differences(capsys, servers, tmp_path):
    """The query gained a field nobody applied: exit 1 naming the version and the field, and plan/apply."""
    servers.apply(definition(tmp_path / "before", fields={"runtime": {"exclude": True}}))
    path = definition(tmp_path / "now")
    code, _, err = run(capsys, path)
    assert code == 1
    assert err == (
        f"error: index movies is not provisioned as {path} says, in ways the daemon cannot work with "
        f"(`graphdex plan {path}` shows what apply would change, `graphdex apply {path}` changes it): "
        "movies-1: runtime: missing from the index (new integer field)\n"
    )
    assert StoppedDaemon.started == []


def test_harmless_differences_are_one_warning_and_the_daemon_starts(capsys, servers, tmp_path):
    """A field only the index has: one warning line naming it, then the stages start."""
    servers.apply(definition(tmp_path / "before"))
    path = definition(tmp_path / "now", fields={"runtime": {"exclude": True}})
    code, _, err = run(capsys, path, "--json-logs")
    assert code == 0, err
    events = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    warnings = [event for event in events if event["level"] == "warning"]
    assert [warning["index"] for warning in warnings] == ["movies"], err
    assert "movies-1: runtime: only the index has it (integer field)" in warnings[0]["differences"]
    assert StoppedDaemon.started == [(["movies"], tuple(Stage))]


def test_only_the_chosen_stages_needs_are_checked(capsys, servers, tmp_path):
    """A fetch-only process needs the topics, not the index: it starts where the sink would be refused."""
    path = definition(tmp_path)
    servers.apply(path)
    del servers.clusters["movies"]
    assert run(capsys, path, "--stage", "sink")[0] == 1
    code, _, err = run(capsys, path, "--stage", "fetch")
    assert code == 0, err
    assert StoppedDaemon.started == [(["movies"], (Stage.FETCH,))]


def test_every_refused_index_is_named(capsys, servers, tmp_path):
    """With several definitions, each refused index is reported, and none starts."""
    movies, films, series = (definition(tmp_path / name, name) for name in ("movies", "films", "series"))
    servers.apply(movies)
    code, _, err = run(capsys, movies, films, series)
    assert code == 1
    assert f"index films is not provisioned as {films} says" in err
    assert f"index series is not provisioned as {series} says" in err
    assert "index movies" not in err
    assert StoppedDaemon.started == []


@pytest.mark.parametrize("skip", ["option", "environment"])
def test_the_check_can_be_skipped(capsys, servers, tmp_path, monkeypatch, skip):
    """``--skip-provision-check`` or ``GRAPHDEX_SKIP_PROVISION_CHECK=1``: no reads, a warning, and the start."""
    monkeypatch.setattr(indexer.daemon.preflight, "read_provisioned", None)  # calling it would fail
    path = definition(tmp_path)
    if skip == "environment":
        monkeypatch.setenv("GRAPHDEX_SKIP_PROVISION_CHECK", "1")
        code, _, err = run(capsys, path)
    else:
        code, _, err = run(capsys, path, "--skip-provision-check")
    assert code == 0, err
    assert "provision check skipped (--skip-provision-check)" in err
    assert StoppedDaemon.started == [(["movies"], tuple(Stage))]


def test_the_option_is_in_the_help(capsys):
    """``graphdex run --help`` documents the option and what the check refuses."""
    code, out, _ = run(capsys, "--help")
    assert code == 0
    assert "--skip-provision-check" in out
    assert "graphdex apply CONFIG" in " ".join(out.split())


def test_an_unreachable_search_server_is_one_message(tmp_path):
    """The installed command with no search server: exit 1, the index, its definition and what failed."""
    path = definition(tmp_path)
    env = {**os.environ, "GRAPHDEX_ES_URL": "http://127.0.0.1:9"}
    env.pop("GRAPHDEX_SKIP_PROVISION_CHECK", None)
    result = subprocess.run([GRAPHDEX, "run", str(path), "--for", "1"], capture_output=True, text=True, env=env)
    assert result.returncode == 1
    assert result.stderr.startswith(
        f"error: cannot check that index movies is provisioned as {path} says: cannot reach the search server"
    )
    assert "Traceback" not in result.stderr


# -- on the local stack ------------------------------------------------------------------------------


def graphdex(stack: LocalStack, *args: Any, **env: str) -> subprocess.CompletedProcess[str]:
    """The installed ``graphdex`` against ``stack`` (``env`` overrides its endpoints)."""
    environment = {**os.environ, **stack.endpoints.environment(), **env}
    environment.pop("GRAPHDEX_SKIP_PROVISION_CHECK", None)
    return subprocess.run(
        [GRAPHDEX, *(str(arg) for arg in args)], capture_output=True, text=True, env=environment, timeout=180
    )


@pytest.mark.integration
def test_run_refuses_before_apply_starts_after_and_refuses_a_field_added_since(
    local_stack: LocalStack, tmp_path: Path, unique_name: str
):
    """(1) Before apply: refused, naming the index, the definition and apply. (2) After apply: it starts.
    (3) The query gains ``runtime`` without an apply: refused, naming the field; a fetch-only process,
    which never writes to the index, still starts."""
    query = tmp_path / "movies.graphql"
    query.write_text(QUERY_WITHOUT_RUNTIME, encoding="utf-8")
    path = write_movies_definition(tmp_path, unique_name, {"query_file": str(query)})

    before = graphdex(local_stack, "run", path, "--for", "2")
    assert before.returncode == 1
    assert f"index {unique_name} is not provisioned as {path} says" in before.stderr
    assert f"Run `graphdex apply {path}`" in before.stderr
    assert "Traceback" not in before.stderr

    applied = graphdex(local_stack, "apply", path, "--no-progress", "--checkpoints", tmp_path / "checkpoints")
    assert applied.returncode == 0, applied.stderr
    after = graphdex(local_stack, "run", path, "--for", "2")
    assert after.returncode == 0, after.stderr
    assert f"graphdex running {unique_name}.route, " in after.stderr

    query.write_text(QUERY, encoding="utf-8")
    drifted = graphdex(local_stack, "run", path, "--for", "2")
    assert drifted.returncode == 1
    assert f"{unique_name}-1: runtime: missing from the index (new integer field)" in drifted.stderr
    assert f"`graphdex apply {path}`" in drifted.stderr
    assert "Traceback" not in drifted.stderr
    fetch_only = graphdex(local_stack, "run", path, "--stage", "fetch", "--for", "1")
    assert fetch_only.returncode == 0, fetch_only.stderr


@pytest.mark.integration
def test_unreachable_kafka_is_one_message(local_stack: LocalStack, tmp_path: Path, unique_name: str):
    """The search server answers but no broker does: exit 1 naming the index and Kafka, no traceback."""
    path = write_movies_definition(tmp_path, unique_name)
    result = graphdex(local_stack, "run", path, "--for", "1", GRAPHDEX_KAFKA_BOOTSTRAP="127.0.0.1:9")
    assert result.returncode == 1
    assert result.stderr.startswith(
        f"error: cannot check that index {unique_name} is provisioned as {path} says: Kafka: cannot list topics"
    )
    assert "Traceback" not in result.stderr
