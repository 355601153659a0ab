"""``graphdex search``: search an index from the command line, through the search library.

graphdex search CONFIG "text" --filter '...' --facet production.status --sort -releaseYear --first 10
graphdex search CONFIG --after CURSOR ...      the next page (same text, filter and sort)
graphdex search CONFIG "text" --json           the result as JSON

The catalogue is generated from the definition, or read from ``--catalogue`` (the committed
``<index>.fields.json``, which avoids loading the schema). The search server is the definition's
``elasticsearch`` section, or ``--es-url``.
"""

from __future__ import annotations

import dataclasses
import html
import json
import os
import re
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from cli.app import app
from indexer.catalogue import Catalogue, load_catalogue
from indexer.definition import load_definition
from indexer.search.client import SearchClient, definition_catalogue, excluded_paths
from indexer.search.query_builder import FacetRequest
from indexer.search.results import SearchResult, values_at
from indexer.search_store import open_search_store
from schema_gen.config import IndexConfig, parse_config
from schema_gen.errors import ConfigError, Problem

_EMPHASIS = re.compile(r"(</?em>)")


def _read_config(path: Path) -> IndexConfig:
    """The YAML definition alone (no schema, no query): enough for the server settings."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ConfigError(f"cannot read the index definition {path}: {error.strerror}") from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        raise ConfigError("invalid index definition", [Problem(where, "YAML syntax error")]) from None
    return parse_config(data, str(path), os.environ)


def _client(config: Path, catalogue_file: Path | None, es_url: str | None, index: str | None) -> SearchClient:
    catalogue: Catalogue
    if catalogue_file is None:
        definition = load_definition(config, os.environ)
        settings, catalogue = definition.config.elasticsearch, definition_catalogue(definition)
    else:
        definition_config = _read_config(config)
        settings = definition_config.elasticsearch
        catalogue = load_catalogue(catalogue_file).with_excluded(excluded_paths(definition_config))
    if es_url:
        settings = settings.model_copy(update={"url": es_url})
    return SearchClient(catalogue, open_search_store(settings), index=index)


def _emphasized(fragment: str) -> str:
    """An HTML highlight fragment as rich markup: ``<em>`` in bold, the text unescaped for the terminal."""
    parts = _EMPHASIS.split(fragment)
    return "".join(
        "[bold]" if part == "<em>" else "[/bold]" if part == "</em>" else escape(html.unescape(part)) for part in parts
    )


def _shown(value: Any) -> str:
    values = value if isinstance(value, list) else [value]
    return ", ".join("" if item is None else str(item) for item in values)


def _columns(client: SearchClient, fields: list[str]) -> list[str]:
    """The requested fields, else the first top-level sortable (so short) fields besides the id."""
    if fields:
        return fields
    catalogue = client.catalogue
    candidates = [
        entry.path
        for entry in catalogue.fields
        if "." not in entry.path and entry.sortable and not entry.is_container and entry.path != catalogue.id_field
    ]
    return candidates[:4]


def _print_table(client: SearchClient, result: SearchResult, fields: list[str], console: Console) -> None:
    columns = _columns(client, fields)
    table = Table(title=f"{result.total} documents ({'exact' if result.total.exact else 'at least'})")
    table.add_column("id", no_wrap=True)
    table.add_column("score", justify="right")
    for column in columns:
        table.add_column(column)
    show_matches = any(hit.highlights for hit in result.hits)
    if show_matches:
        table.add_column("matches")
    for hit in result.hits:
        row = [escape(hit.id), "" if hit.score is None else f"{hit.score:.3f}"]
        row += [escape(_shown(list(values_at(hit.document, column)))) for column in columns]
        if show_matches:
            fragments = [f"{path}: {fragment}" for path, found in hit.highlights.items() for fragment in found[:1]]
            row.append(_emphasized("\n".join(fragments)))
        table.add_row(*row)
    console.print(table)
    for facet in result.facets.values():
        facet_table = Table(title=f"facet {facet.path}")
        facet_table.add_column("value")
        facet_table.add_column("documents", justify="right")
        for value in facet.values:
            facet_table.add_row(escape(str(value.value)), str(value.count))
        if facet.missing:
            facet_table.add_row("(no value)", str(facet.missing))
        console.print(facet_table)
    if result.next_cursor:
        console.print(f"next page: --after {result.next_cursor}", soft_wrap=True)


ConfigArgument = Annotated[
    Path, typer.Argument(help="The index definition (YAML).", metavar="CONFIG", dir_okay=False, show_default=False)
]
TextArgument = Annotated[
    str, typer.Argument(help='Words and "quoted phrases"; the last word may be a prefix.', metavar="TEXT")
]
FilterOption = Annotated[
    str | None, typer.Option("--filter", "-f", help="A filter in the filter language.", metavar="FILTER")
]
FacetOption = Annotated[
    list[str] | None, typer.Option("--facet", help="Count documents per value of a field.", metavar="PATH")
]
FacetSizeOption = Annotated[int, typer.Option("--facet-size", help="Values per facet.", metavar="N")]
SortOption = Annotated[
    list[str] | None, typer.Option("--sort", help="A field, -field (descending) or _score.", metavar="KEY")
]
FirstOption = Annotated[int, typer.Option("--first", "-n", help="Documents per page.", metavar="N")]
AfterOption = Annotated[str | None, typer.Option("--after", help="The cursor of the previous page.", metavar="CURSOR")]
FieldOption = Annotated[
    list[str] | None, typer.Option("--field", help="Return (and show) only these fields.", metavar="PATH")
]
HighlightOption = Annotated[bool, typer.Option("--highlight", help="Show where the text matched.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print the result as JSON.")]
EsUrlOption = Annotated[
    str | None, typer.Option("--es-url", help="Search server URL (instead of the YAML's).", metavar="URL")
]
IndexOption = Annotated[
    str | None, typer.Option("--index", help="Index or alias to search (default: the alias).", metavar="NAME")
]
CatalogueOption = Annotated[
    Path | None,
    typer.Option("--catalogue", help="The index's .fields.json (skips the schema).", metavar="FILE", dir_okay=False),
]


@app.command("search")
def search(
    config: ConfigArgument,
    text: TextArgument = "",
    filter: FilterOption = None,
    facet: FacetOption = None,
    facet_size: FacetSizeOption = 10,
    sort: SortOption = None,
    first: FirstOption = 10,
    after: AfterOption = None,
    field: FieldOption = None,
    highlight: HighlightOption = False,
    as_json: JsonOption = False,
    es_url: EsUrlOption = None,
    index: IndexOption = None,
    catalogue: CatalogueOption = None,
) -> None:
    """Search an index: full text, a filter, facets, a sort order and cursor pagination."""
    client = _client(config, catalogue, es_url, index)
    result = client.search(
        text or None,
        filter=filter,
        facets=[FacetRequest(path, facet_size) for path in facet or []],
        sort=sort or [],
        first=first,
        after=after,
        highlight=highlight,
        fields=field or None,
    )
    if as_json:
        typer.echo(json.dumps(dataclasses.asdict(result), indent=2, ensure_ascii=False, default=str))
        return
    _print_table(client, result, field or [], Console(soft_wrap=False))
