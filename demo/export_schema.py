"""Export the running gateway's API schema as SDL, for offline generation from ``configs/movies.yaml``.

    python -m demo.export_schema [--gateway http://127.0.0.1:4000/] [--output configs/movies.schema.graphql]
    python -m demo.export_schema --check    # exit 1 if the snapshot differs from the live schema

The SDL is printed by graphql-core from the gateway's introspection result, so it is stable for a
given composed schema (types in name order, descriptions kept, no federation directives).
"""

from __future__ import annotations

import difflib
import sys
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from graphql import build_client_schema, get_introspection_query, print_schema

from demo.services import GATEWAY_DEFAULT_PORT
from schema_gen.errors import ArtifactError, GraphdexError, ServiceError

DEFAULT_GATEWAY = f"http://127.0.0.1:{GATEWAY_DEFAULT_PORT}/"
DEFAULT_OUTPUT = Path(__file__).resolve().parent.parent / "configs" / "movies.schema.graphql"
HEADER = "# The demo supergraph's API schema, exported from the gateway by `python -m demo.export_schema`.\n\n"


def fetch_schema_sdl(gateway: str, timeout: float = 30.0) -> str:
    """The gateway's API schema as SDL (with the header line ``export`` writes)."""
    try:
        response = httpx.post(
            gateway, json={"query": get_introspection_query(descriptions=True, specified_by_url=True)}, timeout=timeout
        )
        response.raise_for_status()
        result: dict[str, Any] = response.json()
    except (httpx.HTTPError, ValueError) as error:
        raise ServiceError(f"cannot introspect the gateway at {gateway}: {error}") from None
    if result.get("errors") or not result.get("data"):
        raise ServiceError(f"the gateway at {gateway} refused introspection: {result.get('errors')}")
    return HEADER + print_schema(build_client_schema(result["data"])) + "\n"


def check_snapshot(gateway: str, snapshot: Path) -> None:
    """Raise ``ArtifactError`` with a diff when ``snapshot`` differs from the live schema."""
    live = fetch_schema_sdl(gateway)
    stored = snapshot.read_text(encoding="utf-8") if snapshot.exists() else ""
    if stored != live:
        diff = "".join(
            difflib.unified_diff(
                stored.splitlines(keepends=True), live.splitlines(keepends=True), str(snapshot), gateway, n=1
            )
        )
        raise ArtifactError(f"{snapshot} is out of date; run `python -m demo.export_schema`:\n{diff}")


def main(
    gateway: Annotated[str, typer.Option(help="URL of the running gateway.")] = DEFAULT_GATEWAY,
    output: Annotated[Path, typer.Option(help="Where to write the SDL.")] = DEFAULT_OUTPUT,
    check: Annotated[bool, typer.Option(help="Only compare the file with the live schema.")] = False,
) -> None:
    """Write (or check) the SDL snapshot of the gateway's API schema."""
    try:
        if check:
            check_snapshot(gateway, output)
            typer.echo(f"{output} matches {gateway}")
        else:
            output.write_text(fetch_schema_sdl(gateway), encoding="utf-8")
            typer.echo(f"wrote {output}")
    except GraphdexError as error:
        typer.echo(f"error: {error}", err=True)
        sys.exit(error.exit_code)


if __name__ == "__main__":
    typer.run(main)
