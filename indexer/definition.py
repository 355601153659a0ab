"""Load one index definition from disk: the YAML file, its query template and its GraphQL schema.

This is the I/O edge in front of the pure ``schema_gen`` modules: it reads files (paths in the YAML
are relative to the YAML file), substitutes ``${VAR}`` from the environment, and, when the definition
has no ``graph.schema_file``, introspects ``graph.url`` with gql. Every failure is a
``DefinitionError`` naming the file (and line and column) or the URL.
"""

from __future__ import annotations

import json
import os
from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from gql import Client, gql
from gql.transport.exceptions import TransportError
from gql.transport.httpx import HTTPXTransport
from graphql import get_introspection_query

from schema_gen.config import GraphSettings, IndexConfig, parse_config
from schema_gen.errors import ConfigError, Problem, SchemaError
from schema_gen.model import DocumentModel
from schema_gen.schema_loader import LoadedSchema, schema_from_introspection, schema_from_sdl
from schema_gen.walker import build_model, parse_template

SDL_SUFFIXES = (".graphql", ".graphqls", ".gql", ".sdl")
INTROSPECTION_SUFFIXES = (".json",)


@dataclass(frozen=True)
class IndexDefinition:
    """An index definition read, validated and walked: everything the generators and the daemon need."""

    path: Path
    config: IndexConfig
    query_text: str
    query_source: str
    """How messages name the query: its file, or ``<yaml> (query)`` for an inline query."""
    loaded_schema: LoadedSchema
    model: DocumentModel
    warnings: tuple[Problem, ...]
    """Schema problems that do not touch the query (those that do are errors)."""


def load_definition(path: Path | str, env: Mapping[str, str] | None = None) -> IndexDefinition:
    """Read and check the index definition at ``path``; ``env`` (default: ``os.environ``) fills ``${VAR}``."""
    path = Path(path)
    source = str(path)
    config = parse_config(_read_yaml(path), source, os.environ if env is None else env)
    if config.query_file:
        query_path = _relative(path, config.query_file)
        query_text, query_source = _read_text(query_path, source, "query_file"), str(query_path)
    else:
        query_text, query_source = config.query or "", f"{source} (query)"
    loaded = load_schema(config.graph, path.parent, config_source=source)
    model = build_model(loaded, parse_template(query_text, query_source), config, query_source, config_source=source)
    return IndexDefinition(path, config, query_text, query_source, loaded, model, loaded.warnings)


def load_schema(
    graph: GraphSettings,
    base: Path,
    *,
    config_source: str = "index definition",
    transport: Any = None,
) -> LoadedSchema:
    """The schema of ``graph``: its ``schema_file`` (relative to ``base``), else introspected from ``url``.

    ``transport`` replaces the HTTP transport of the introspection request; see ``introspect``.
    """
    if not graph.schema_file:
        assert graph.url, "GraphSettings requires schema_file or url"
        return introspect(graph, transport=transport)
    file = _relative(base / "definition", graph.schema_file)
    where = f"{config_source}: graph.schema_file"
    if file.suffix.lower() not in SDL_SUFFIXES + INTROSPECTION_SUFFIXES:
        kinds = f"SDL ({', '.join(SDL_SUFFIXES)}) or an introspection result ({', '.join(INTROSPECTION_SUFFIXES)})"
        raise SchemaError("cannot load the schema", [Problem(where, f"{file} is not {kinds}")])
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise SchemaError("cannot load the schema", [Problem(where, f"cannot read {file}: {_reason(error)}")]) from None
    if file.suffix.lower() in SDL_SUFFIXES:
        return schema_from_sdl(text, str(file))
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise SchemaError(f"{file}:{error.lineno}:{error.colno}: not valid JSON: {error.msg}") from None
    if not isinstance(data, dict):
        raise SchemaError(f"{file}: not an introspection result (expected a JSON object with __schema)")
    return schema_from_introspection(data, str(file))


def introspect(graph: GraphSettings, *, transport: Any = None) -> LoadedSchema:
    """Fetch the schema of ``graph.url`` with an introspection query; ``SchemaError`` naming the URL on failure.

    ``transport``, when given, is the HTTP transport of the client gql's HTTPX transport builds (a
    ``MockTransport`` in tests); gql uses ``httpx2`` when it is installed, else ``httpx``.
    """
    url = str(graph.url)
    options: dict[str, Any] = {"headers": graph.headers, "timeout": graph.timeout, "verify": graph.verify_tls}
    if transport is not None:
        options["transport"] = transport
    client = Client(transport=HTTPXTransport(url=url, **options), execute_timeout=graph.timeout)
    try:
        with client as session:
            result = session.execute(gql(get_introspection_query(descriptions=True)))
    except (TransportError, OSError) as error:
        raise SchemaError(f"cannot introspect the schema at {url}: {_cause(error)}") from None
    return schema_from_introspection(result, f"{url} (introspection)")


def _reason(error: BaseException) -> str:
    """Why a file could not be read: ``No such file or directory`` rather than the whole errno text."""
    return getattr(error, "strerror", None) or str(error) or type(error).__name__


def _cause(error: BaseException) -> str:
    """What went wrong in a request: gql wraps the HTTP library's error, whose type says most."""
    cause = error.__cause__ or error
    text = (str(cause) or str(error)).split("\n", 1)[0]
    return f"{type(cause).__name__}: {text}" if text else type(cause).__name__


def _relative(definition: Path, name: str) -> Path:
    """``name`` (a path written in the definition) relative to the definition's directory."""
    return Path(os.path.normpath(definition.parent / name))


def _read_text(file: Path, source: str, key: str) -> str:
    try:
        return file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(
            "invalid index definition", [Problem(f"{source}: {key}", f"cannot read {file}: {_reason(error)}")]
        ) from None


class _UniqueKeyLoader(yaml.SafeLoader):
    """A safe YAML loader that rejects a key given twice instead of keeping the last one silently."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Hashable, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)  # type: ignore[no-untyped-call]
            if isinstance(key, Hashable) and key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"key {key!r} is given more than once", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _read_yaml(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"cannot read the index definition {path}: {_reason(error)}") from None
    try:
        return yaml.load(text, Loader=_UniqueKeyLoader)  # a SafeLoader subclass
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        message = ": ".join(part for part in (error.context, error.problem) if part)
        raise ConfigError("invalid index definition", [Problem(where, f"YAML syntax error: {message}")]) from None
    except yaml.YAMLError as error:
        raise ConfigError("invalid index definition", [Problem(str(path), f"YAML error: {error}")]) from None
