"""``graphdex generate | validate | render | check`` through the real entry point."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from cli.app import main
from tests.schema_gen.real_definitions import SWAPI_RESPONSE, swapi_definition


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Run ``graphdex ARGS``; returns the exit code, stdout and stderr."""
    try:
        main([str(arg) for arg in args])
        code = 0
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else 1
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def definition(tmp_path: Path) -> Path:
    return swapi_definition(tmp_path)


def test_generate_writes_the_three_artifacts(capsys, definition, tmp_path):
    """``generate`` writes the Avro schema, template and catalogue and lists them."""
    out = tmp_path / "artifacts"
    code, stdout, _ = _run(capsys, "generate", definition, "--out", out)
    assert code == 0
    names = ["films.avsc", "films.template.json", "films.fields.json"]
    assert stdout.splitlines() == [f"wrote {out / name}" for name in names]
    assert json.loads((out / "films.fields.json").read_text())["root_type"] == "Film"


def test_validate_prints_one_ok_line(capsys, definition):
    """``validate`` on a good definition prints one OK line and exits 0."""
    code, stdout, stderr = _run(capsys, "validate", definition)
    assert code == 0
    assert stdout.startswith(f"OK {definition}: index films, Film documents with 21 fields and 4 entities")
    assert len(stdout.splitlines()) == 1
    assert stderr == ""


def test_validate_reports_bad_options_with_file_and_key(capsys, definition):
    """A field option that does not fit exits 2 with the file and dotted key, without a traceback."""
    text = definition.read_text().replace("boost: 3}", "boost: 3, analyzer: klingon}")
    definition.write_text(text)
    code, stdout, stderr = _run(capsys, "validate", definition)
    assert code == 2
    assert stdout == ""
    assert f"{definition}: fields.title.analyzer: unknown analyzer 'klingon'" in stderr
    assert "Traceback" not in stderr


def test_validate_reports_a_broken_query(capsys, definition):
    """A query that does not fit the schema exits 2 naming the field."""
    definition.write_text(definition.read_text().replace("episodeID", "episodeNumber"))
    code, _, stderr = _run(capsys, "validate", definition)
    assert code == 2
    assert "episodeNumber" in stderr


def test_render_prints_json_lines(capsys, definition, tmp_path):
    """``render`` prints one ``{"id", "source"}`` JSON object per document."""
    response = tmp_path / "response.json"
    response.write_text(json.dumps(SWAPI_RESPONSE))
    code, stdout, _ = _run(capsys, "render", definition, response, "--fetched-at", "2024-05-01T12:00:00Z")
    assert code == 0
    (line,) = stdout.splitlines()
    document = json.loads(line)
    assert document["id"] == "ZmlsbXM6MQ=="
    assert document["source"]["title"] == "A New Hope"
    metadata = document["source"]["graphdex"]
    assert metadata["fetched_at"] == 1714564800000
    assert re.fullmatch(r"[0-9a-f]{32}", metadata["content_hash"])


def test_render_reports_bad_json_with_line_and_column(capsys, definition, tmp_path):
    """A response file that is not JSON is named with its line and column."""
    response = tmp_path / "response.json"
    response.write_text('{"data":\n  {"film": }}')
    code, _, stderr = _run(capsys, "render", definition, response)
    assert code == 1
    assert f"{response}:2:12: not valid JSON" in stderr


def test_render_reports_documents_that_do_not_fit(capsys, definition, tmp_path):
    """A response value of the wrong type names the document and the path."""
    bad = json.loads(json.dumps(SWAPI_RESPONSE))
    bad["data"]["film"]["characterConnection"]["characters"][1]["name"] = 12
    response = tmp_path / "response.json"
    response.write_text(json.dumps(bad))
    code, stdout, stderr = _run(capsys, "render", definition, response)
    assert (code, stdout) == (1, "")
    assert "document Film:ZmlsbXM6MQ==" in stderr
    assert "characterConnection.characters[1].name: expected string, got 12" in stderr


def test_check_passes_then_reports_drift(capsys, definition, tmp_path):
    """``check`` is quiet-OK on fresh artifacts and exits 1 listing the drift after a change."""
    out = tmp_path / "artifacts"
    assert _run(capsys, "generate", definition, "--out", out)[0] == 0
    code, stdout, _ = _run(capsys, "check", definition, "--out", out)
    assert code == 0
    assert stdout.startswith("OK: films.avsc, films.template.json, films.fields.json")
    definition.write_text(definition.read_text().replace("boost: 3", "boost: 5"))
    code, stdout, stderr = _run(capsys, "check", definition, "--out", out)
    assert code == 1
    assert f"artifacts in {out} are out of date" in stderr
    assert f"{out / 'films.fields.json'}: out of date (2 lines differ)" in stderr
    assert '+      "boost": 5.0,' in stderr


def test_check_reports_missing_artifacts(capsys, definition, tmp_path):
    """``check`` against an empty directory lists every file as missing."""
    code, _, stderr = _run(capsys, "check", definition, "--out", tmp_path / "none")
    assert code == 1
    assert stderr.count("missing; run graphdex generate") == 3


def test_generate_requires_out(capsys, definition):
    """Leaving out ``--out`` is a usage error, not a traceback."""
    code, _, stderr = _run(capsys, "generate", definition)
    assert code == 2
    assert "--out" in stderr
