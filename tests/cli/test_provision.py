"""``graphdex plan | apply | status | destroy`` through the real entry point."""

from __future__ import annotations

import json

import pytest

from cli.app import main
from demo.services import DEFAULT_SIZE
from tests.stack_definitions import write_movies_definition


def run(capsys, *args, input_text=None, monkeypatch=None):
    """Run ``graphdex ARGS``; the exit code, stdout and stderr."""
    if input_text is not None:
        import io

        monkeypatch.setattr("sys.stdin", io.StringIO(input_text))
    try:
        main([str(arg) for arg in args])
        code = 0
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else 1
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def definition(tmp_path, unique_name):
    """The demo definition under a unique name (endpoints from the GRAPHDEX_* environment)."""
    return write_movies_definition(tmp_path, unique_name)


def test_a_bad_grace_period_is_a_usage_error(capsys, definition):
    """``--grace soon`` exits 2 naming the option, before any server is contacted."""
    code, _, err = run(capsys, "plan", definition, "--grace", "soon")
    assert code == 2
    assert "--grace" in err
    assert "expected a duration" in err


def test_an_invalid_definition_exits_2_with_the_key(capsys, tmp_path):
    """A definition with an unknown key is reported with the file and key, without a traceback."""
    path = write_movies_definition(tmp_path, "movies", {"settings": {"shards": 1, "replicas": 0, "colour": "red"}})
    code, out, err = run(capsys, "apply", path)
    assert code == 2
    assert out == ""
    assert f"{path}: settings.colour: unknown key" in err
    assert "Traceback" not in err


def test_an_unreachable_search_server_is_one_line(capsys, monkeypatch, definition):
    """A search server that refuses connections is reported in one line, exit 1."""
    monkeypatch.setenv("GRAPHDEX_ES_URL", "http://127.0.0.1:9")
    code, _, err = run(capsys, "plan", definition)
    assert code == 1
    assert err.startswith("error: cannot reach the search server")
    assert "Traceback" not in err


@pytest.fixture
def stack_env(local_stack, monkeypatch):
    """The GRAPHDEX_* variables pointing at the local stack."""
    for key, value in local_stack.endpoints.environment().items():
        monkeypatch.setenv(key, value)
    return local_stack


@pytest.mark.integration
def test_plan_apply_status_destroy(capsys, monkeypatch, stack_env, definition, tmp_path, unique_name):
    """A whole life: plan lists the objects, apply creates them, plan then says no changes, status shows the
    live version, destroy asks first and then removes everything."""
    checkpoints = ["--checkpoints", tmp_path / "checkpoints"]
    code, out, _ = run(capsys, "plan", definition, "--json")
    assert code == 0
    planned = json.loads(out)
    assert (planned["change"], planned["target"]) == ("create", f"{unique_name}-1")
    assert [step["action"] for step in planned["steps"]][:5] == ["PutTemplate", *["EnsureTopic"] * 4]
    assert f"PUT {unique_name}-1" in [request.split(" {")[0] for request in planned["requests"]]

    code, out, _ = run(capsys, "apply", definition, "--no-progress", *checkpoints)
    assert code == 0
    assert f"+ create index {unique_name}-1 (pending)" in out
    assert f"gates passed on {unique_name}-1: {DEFAULT_SIZE} documents (source {DEFAULT_SIZE})" in out

    code, out, _ = run(capsys, "plan", definition)
    assert (code, out.splitlines()[-1]) == (0, "No changes: the cluster matches the definition.")

    code, out, _ = run(capsys, "status", definition, "--json", *checkpoints)
    assert code == 0
    status = json.loads(out)
    assert (status["live"]["name"], status["live"]["documents"]) == (f"{unique_name}-1", DEFAULT_SIZE)
    assert [stage["stage"] for stage in status["kafka"]["lag"]] == ["route", "fetch", "retry", "sink"]

    code, out, _ = run(capsys, "status", definition, *checkpoints)
    assert code == 0
    assert f"{unique_name}-1" in out
    assert "the query fits the live schema" in out

    code, out, err = run(capsys, "destroy", definition, input_text="n\n", monkeypatch=monkeypatch)
    assert (code, err.strip().splitlines()[-1]) == (130, "aborted")
    assert f"- delete index {unique_name}-1" in out

    code, out, _ = run(capsys, "destroy", definition, "--yes")
    assert (code, out.splitlines()[-1]) == (0, f"{unique_name} destroyed.")
    code, out, _ = run(capsys, "destroy", definition, "--yes")
    assert code == 0
    assert out.startswith(f"Nothing to destroy: {unique_name}")
