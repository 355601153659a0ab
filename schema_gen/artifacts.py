"""The generated files of one index, written once at build time and only read at run time.

    <index>.avsc            the document's Avro schema
    <index>.template.json   the composable index template body
    <index>.fields.json     the field catalogue

``check_artifacts`` regenerates nothing on disk: it compares what the definition generates now with
the committed files and reports each missing, unreadable or out-of-date file with a short diff, so a
CI job can fail when someone changed the query or the YAML without running ``graphdex generate``.
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from schema_gen.avro import avro_schema
from schema_gen.catalogue import field_catalogue
from schema_gen.config import IndexConfig
from schema_gen.errors import ArtifactError, DefinitionError, Problem
from schema_gen.index_template import index_template
from schema_gen.model import DocumentModel

MAX_DIFF_LINES = 40


@dataclass(frozen=True)
class Artifacts:
    """Everything generated for one index."""

    avro: dict[str, Any]
    template: dict[str, Any]
    catalogue: dict[str, Any]

    @property
    def index(self) -> str:
        return str(self.catalogue["index"])

    def files(self) -> dict[str, dict[str, Any]]:
        """File name -> content, in a fixed order."""
        return {
            f"{self.index}.avsc": self.avro,
            f"{self.index}.template.json": self.template,
            f"{self.index}.fields.json": self.catalogue,
        }


def generate_artifacts(model: DocumentModel, config: IndexConfig, *, source: str | None = None) -> Artifacts:
    """The Avro schema, index template and field catalogue of ``model``.

    ``source`` (the definition's file name) is put in front of the key paths of option errors.
    """
    try:
        return Artifacts(
            avro=avro_schema(model, config),
            template=index_template(model, config),
            catalogue=field_catalogue(model, config),
        )
    except DefinitionError as error:
        if source is None or not error.problems:
            raise
        problems = [Problem(f"{source}: {problem.where}", problem.message) for problem in error.problems]
        raise type(error)(error.summary, problems) from None


def render_json(content: dict[str, Any]) -> str:
    """The canonical text of an artifact: two-space indented JSON, UTF-8, with a final newline."""
    return json.dumps(content, indent=2, ensure_ascii=False) + "\n"


def write_artifacts(artifacts: Artifacts, out_dir: str | Path) -> list[Path]:
    """Write the three files into ``out_dir`` (created if needed), each replaced atomically; returns their paths."""
    directory = Path(out_dir)
    try:
        directory.mkdir(parents=True, exist_ok=True)
        written = []
        for name, content in artifacts.files().items():
            path = directory / name
            partial = directory / f".{name}.partial"
            partial.write_text(render_json(content), encoding="utf-8")
            partial.replace(path)  # atomic: a reader never sees half a file
            written.append(path)
    except OSError as error:
        raise ArtifactError(f"cannot write artifacts to {directory}: {error.strerror or error}") from error
    return written


def _diff_summary(committed: str, current: str, name: str) -> str:
    lines = list(
        difflib.unified_diff(
            committed.splitlines(), current.splitlines(), f"{name} (committed)", f"{name} (generated)", n=1, lineterm=""
        )
    )
    changed = sum(1 for line in lines if line[:1] in "+-" and not line.startswith(("+++", "---")))
    shown = lines[:MAX_DIFF_LINES]
    if len(lines) > MAX_DIFF_LINES:
        shown.append(f"... {len(lines) - MAX_DIFF_LINES} more diff lines")
    body = "\n".join(f"      {line}" for line in shown)
    return f"out of date ({changed} lines differ); run graphdex generate\n{body}"


def check_artifacts(artifacts: Artifacts, out_dir: str | Path) -> list[Problem]:
    """One problem per artifact file in ``out_dir`` that is missing, unreadable or not what generates now.

    Files are compared as JSON values, so reformatting a file is not drift; the diff is shown on the
    canonical text of both.
    """
    directory = Path(out_dir)
    problems: list[Problem] = []
    for name, content in artifacts.files().items():
        path = directory / name
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            problems.append(Problem(str(path), "missing; run graphdex generate"))
            continue
        except (OSError, UnicodeDecodeError) as error:
            problems.append(Problem(str(path), f"cannot be read: {error}"))
            continue
        try:
            committed = json.loads(text)
        except json.JSONDecodeError as error:
            problems.append(Problem(f"{path}:{error.lineno}:{error.colno}", f"not valid JSON: {error.msg}"))
            continue
        if committed != content:
            problems.append(Problem(str(path), _diff_summary(render_json(committed), render_json(content), name)))
    return problems
