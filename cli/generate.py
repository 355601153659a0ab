"""``graphdex generate | validate | render | check``: the build-time commands of one index definition.

graphdex generate CONFIG --out DIR      write DIR/<index>.avsc, .template.json and .fields.json
graphdex validate CONFIG                check the definition; one OK line, or the errors (exit 2)
graphdex render CONFIG RESPONSE.json    render a saved GraphQL response to documents (JSON lines)
graphdex check CONFIG --out DIR         exit 1, listing the drift, when DIR is not what generates now
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from cli.app import app
from indexer.definition import IndexDefinition, load_definition
from schema_gen.artifacts import Artifacts, check_artifacts, generate_artifacts, write_artifacts
from schema_gen.errors import ArtifactError, DocumentError
from schema_gen.render import DocumentRenderer

ConfigArgument = Annotated[
    Path, typer.Argument(help="The index definition (YAML).", metavar="CONFIG", show_default=False, dir_okay=False)
]
OutOption = Annotated[
    Path, typer.Option("--out", "-o", help="Directory of the generated artifacts.", metavar="DIR", file_okay=False)
]


def _warn(warnings: Iterable[Any]) -> None:
    for warning in warnings:
        typer.echo(f"warning: {warning}", err=True)


def _load(config: Path) -> tuple[IndexDefinition, Artifacts]:
    definition = load_definition(config)
    artifacts = generate_artifacts(definition.model, definition.config, source=str(definition.path))
    return definition, artifacts


@app.command()
def generate(config: ConfigArgument, out: OutOption) -> None:
    """Generate the Avro schema, index template and field catalogue of an index definition."""
    definition, artifacts = _load(config)
    for path in write_artifacts(artifacts, out):
        typer.echo(f"wrote {path}")
    _warn(definition.warnings)


@app.command()
def validate(config: ConfigArgument) -> None:
    """Check an index definition: the YAML, the schema, the query and the field options."""
    definition, artifacts = _load(config)
    fields = len(artifacts.catalogue["fields"])
    entities = len(artifacts.catalogue["entities"])
    warnings = list(definition.warnings)
    typer.echo(
        f"OK {definition.path}: index {definition.model.index}, {definition.model.root_type} documents "
        f"with {fields} fields and {entities} entities, {len(warnings)} warnings"
    )
    _warn(warnings)


def _read_response(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise DocumentError(f"{path}: cannot be read: {error}") from error
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise DocumentError(f"{path}:{error.lineno}:{error.colno}: not valid JSON: {error.msg}") from None


def _fetched_at(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"expected an ISO-8601 date-time, got {value!r}", param_hint="--fetched-at") from None


@app.command()
def render(
    config: ConfigArgument,
    response: Annotated[
        Path,
        typer.Argument(
            help='A saved GraphQL response: {"data": ...}.', metavar="RESPONSE", show_default=False, dir_okay=False
        ),
    ],
    fetched_at: Annotated[
        str | None, typer.Option("--fetched-at", help="ISO-8601 time for graphdex.fetched_at (default: now).")
    ] = None,
) -> None:
    """Render a GraphQL response into documents, one JSON object per line: {"id": ..., "source": ...}."""
    moment = _fetched_at(fetched_at)
    definition = load_definition(config)
    renderer = DocumentRenderer(definition.model, definition.config)
    for document in renderer.render_response(_read_response(response), fetched_at=moment):
        typer.echo(json.dumps({"id": document.id, "source": document.source}, ensure_ascii=False))
    _warn(definition.warnings)


@app.command()
def check(config: ConfigArgument, out: OutOption) -> None:
    """Exit 1, listing each difference, when the artifacts in --out are not what generates now."""
    definition, artifacts = _load(config)
    problems = check_artifacts(artifacts, out)
    if problems:
        raise ArtifactError(
            f"artifacts in {out} are out of date (run: graphdex generate {config} --out {out})", problems
        )
    typer.echo(f"OK: {', '.join(artifacts.files())} in {out} are up to date")
    _warn(definition.warnings)
