"""``graphdex backfill``: option errors naming the option (exit 2, no traceback), refusing to start over a
stopped backfill silently, a JSON summary, and Ctrl-C on the installed command followed by --resume."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import structlog

import cli.backfill
from cli.app import main
from indexer.backfill.checkpoint import Checkpoint, CheckpointStore
from indexer.definition import load_definition
from tests.indexer.backfill.conftest import gateway_ids, stored_ids, target_index, write_definition

__all__ = ["target_index"]  # a fixture shared with the backfill tests

assert cli.backfill.backfill  # registers the command on ``app``
GRAPHDEX = str(Path(sys.executable).with_name("graphdex"))


@pytest.fixture(autouse=True)
def _restore_logging():
    """The command configures structlog for the process; put the defaults back after each test."""
    yield
    structlog.reset_defaults()


def run(capsys, *args: str) -> tuple[int, str, str]:
    """Run ``graphdex backfill ...`` in this process; the exit code, stdout and stderr."""
    try:
        main(["backfill", *args])
        code = 0
    except SystemExit as exit_:
        code = int(exit_.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def definition_file(tmp_path):
    """The demo definition with absolute paths, loadable offline."""
    return str(write_definition(tmp_path, {"fetch": {"batch_size": 10}}))


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        (["--ids-file", "x.txt", "--from-documents"], "--from-documents: give only one of --ids-file, --from-doc"),
        (["--rate", "fast"], "--rate: expected a rate such as 50/s or 600/m, got 'fast'"),
        (["--target-latency", "soon"], "--target-latency: expected a duration such as 500ms"),
        (["--window", "22:00-30:00"], "--window: '22:00-30:00' is not a time of day"),
        (["--min-rate", "50/s", "--max-rate", "5/s", "--target-latency", "1s"], "min_rate: must be positive"),
        (["--resume", "--restart"], "--resume: give --resume or --restart, not both"),
    ],
)
def test_bad_options_name_the_option(capsys, definition_file, tmp_path, options, expected):
    """Each bad option exits 2 with a message naming it, before any server is contacted."""
    code, _, err = run(capsys, definition_file, "--state-dir", str(tmp_path / "state"), *options)
    assert code == 2
    assert expected in err
    assert "Traceback" not in err


def test_nothing_to_resume(capsys, definition_file, tmp_path):
    """--resume without a stopped backfill says so (exit 1)."""
    code, _, err = run(capsys, definition_file, "--state-dir", str(tmp_path), "--resume")
    assert code == 1
    assert f"error: nothing to resume: no unfinished backfill of movies into movies in {tmp_path}" in err


def test_a_stopped_backfill_is_never_restarted_silently(capsys, definition_file, tmp_path):
    """An unfinished checkpoint makes a plain run refuse, pointing at --resume and --restart."""
    store = CheckpointStore.for_backfill("movies", "movies-2", tmp_path)
    saved = Checkpoint("movies", "movies-2", "query movieIds", done=("a", "b"))
    store.save(saved.advanced(counts={**saved.counts, "enumerated": 1000}))
    code, _, err = run(capsys, definition_file, "--state-dir", str(tmp_path), "--target", "movies-2")
    assert code == 1
    assert "a backfill of movies into movies-2 stopped after 1,002 ids" in err
    assert "pass --resume to continue it or --restart to start over" in err


@pytest.fixture
def stack_env(local_stack, monkeypatch):
    """The local stack's endpoints in the environment, for definitions and the installed command."""
    environment = local_stack.endpoints.environment()
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    return environment


@pytest.mark.integration
def test_json_summary_and_every_movie_indexed(capsys, stack_env, target_index, search_store, tmp_path):
    """A backfill through the CLI prints its summary as JSON and indexes every movie of the gateway."""
    path = write_definition(tmp_path, {"fetch": {"batch_size": 20}, "sink": {"max_wait": "50ms"}})
    target = target_index(load_definition(path))
    code, out, err = run(
        capsys, str(path), "--target", target, "--state-dir", str(tmp_path / "state"), "--no-progress", "--json"
    )
    assert code == 0, err
    summary = json.loads(out)
    ids = gateway_ids(stack_env["GRAPHDEX_GATEWAY_URL"])
    assert (summary["indexed"], summary["failed"], summary["completed"]) == (len(ids), 0, True)
    assert summary["gateway_requests"] == -(-len(ids) // 20) + 1
    assert sorted(stored_ids(search_store, target)) == sorted(ids)


@pytest.mark.integration
def test_ctrl_c_stops_cleanly_and_resume_finishes(capsys, stack_env, target_index, search_store, tmp_path):
    """SIGINT to the installed command stops it after the batches in hand (exit 130, checkpoint saved);
    --resume completes it, and the index holds every movie."""
    path = write_definition(tmp_path, {"fetch": {"batch_size": 5}, "sink": {"max_wait": "50ms"}})
    target = target_index(load_definition(path))
    state = tmp_path / "state"
    store = CheckpointStore.for_backfill("movies", target, state)
    argv = [GRAPHDEX, "backfill", str(path), "--target", target, "--state-dir", str(state), "--no-progress"]
    process = subprocess.Popen(
        [*argv, "--rate", "4/s"], stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=os.environ
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and (store.load() is None or store.load().ids_done < 10):
            time.sleep(0.1)
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 130, err
    assert "stopping after the batches in hand" in err
    assert "stopped: continue with --resume" in err
    assert "Traceback" not in err
    saved = store.load()
    assert not saved.finished
    assert saved.ids_done >= 10

    code, out, err = run(capsys, *argv[2:], "--resume", "--rate", "500/s", "--json")
    assert code == 0, err
    summary = json.loads(out)
    assert summary["resumed_from"] == saved.ids_done
    ids = gateway_ids(stack_env["GRAPHDEX_GATEWAY_URL"])
    assert summary["enumerated"] == len(ids) - saved.ids_done
    assert sorted(stored_ids(search_store, target)) == sorted(ids)


@pytest.mark.integration
def test_from_documents_without_a_documents_topic(capsys, stack_env, tmp_path, unique_name):
    """--from-documents reads the daemon's documents topic; without one it says so (exit 1)."""
    path = write_definition(tmp_path, {"kafka": {"topic_prefix": unique_name}})
    code, _, err = run(capsys, str(path), "--from-documents", "--state-dir", str(tmp_path / "state"), "--no-progress")
    assert code == 1
    assert f"error: there is no documents topic {unique_name}.movies.documents: the daemon creates and fills it" in err
