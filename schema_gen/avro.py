"""The Avro schema of an index's document, derived from the ``DocumentModel``.

The document is one Avro record named after the root type, in the namespace ``graphdex.<index>``.
GraphQL non-null types become plain Avro types; nullable, ``@include``/``@skip`` and type-conditioned
fields become ``["null", T]`` with ``default: null``. Lists become arrays (nested lists, arrays of
arrays), objects become records. A record is named after its GraphQL type; when one type is selected
with different shapes at several paths, each shape is named ``<Type>_<PathInPascalCase>`` so that
every name is unique and stable for a given query.

Enums are Avro ``string`` s, not Avro ``enum`` s, with the GraphQL enum name and its known values kept
as the properties ``graphql.enum`` and ``graphql.symbols``. An Avro enum breaks the pipeline the day
the upstream service adds a value: the writer cannot encode the new symbol until the schema is
regenerated, and every reader still holding the old schema fails to decode records written with the
new one unless each reader carries a ``default`` symbol, which then silently replaces real values.
A string keeps every value, reads and writes under both old and new schemas, and indexes as the same
``keyword`` the index template uses for enums.

graphdex adds one field of its own beyond the selection, ``graphdex`` (``METADATA_FIELD``), a
nullable record with ``default: null`` holding the fetch time and the digest of the document's
content, so records written without it (or read by a consumer that predates it) stay valid; each of
its fields is nullable with a null default for the same reason.
"""

from __future__ import annotations

import json
import re
from typing import Any

from schema_gen.config import IndexConfig, ScalarMapping
from schema_gen.errors import ConfigError, Problem, QueryError
from schema_gen.model import DocumentModel, FieldKind, FieldNode, ScalarKind

METADATA_FIELD = "graphdex"
"""Top-level field graphdex adds to every document: a ``GraphdexMetadata`` record (or null)."""
METADATA_RECORD = "GraphdexMetadata"

_BUILTIN_AVRO: dict[ScalarKind, str] = {
    ScalarKind.STRING: "string",
    ScalarKind.ID: "string",
    ScalarKind.INT: "int",
    ScalarKind.FLOAT: "double",
    ScalarKind.BOOLEAN: "boolean",
}

# Which index types can hold the values a custom scalar is rendered to, per Avro type. Avro ``date``
# (days since the epoch) is not indexable as an Elasticsearch ``date``: there is no epoch-days format.
_COMPATIBLE_INDEX: dict[str, frozenset[str]] = {
    "string": frozenset({"keyword", "text", "date", "long", "integer", "double", "boolean", "disabled"}),
    "long": frozenset({"long", "double", "date", "keyword", "disabled"}),
    "int": frozenset({"integer", "long", "double", "keyword", "disabled"}),
    "double": frozenset({"double", "keyword", "disabled"}),
    "boolean": frozenset({"boolean", "keyword", "disabled"}),
    "timestamp-millis": frozenset({"date", "long", "keyword", "disabled"}),
    "date": frozenset({"integer", "long", "keyword", "disabled"}),
}
_INDEX_FOR_AVRO = {
    "string": "keyword",
    "long": "long",
    "int": "integer",
    "double": "double",
    "boolean": "boolean",
    "timestamp-millis": "date",
    "date": "integer",
}
_AVRO_FOR_INDEX = {"long": "long", "integer": "int", "double": "double", "boolean": "boolean"}

_TIMESTAMP_NAME = re.compile(r"(date_?time|timestamp|instant)", re.IGNORECASE)
_DATE_NAME = re.compile(r"(^|[A-Za-z_])Date$|^date$")
_JSON_NAME = re.compile(r"json", re.IGNORECASE)
_AVRO_NAME_INVALID = re.compile(r"[^A-Za-z0-9_]")


def default_scalar_mapping(type_name: str) -> ScalarMapping:
    """How a custom scalar not listed in ``config.scalars`` is handled, judged by its name.

    ``DateTime``/``Timestamp``/``Instant``-like names become Avro ``timestamp-millis`` indexed as
    ``date`` (ISO strings from the gateway are converted to epoch milliseconds). ``Date``-like names
    stay ISO strings indexed as ``date``: Avro's ``date`` (days since the epoch) cannot be indexed as a
    date. ``JSON``-like names are JSON-encoded strings, kept in the document but not indexed.
    Anything else is a string indexed as ``keyword``.
    """
    if _TIMESTAMP_NAME.search(type_name):
        return ScalarMapping(avro="timestamp-millis", index="date")
    if _DATE_NAME.search(type_name):
        return ScalarMapping(avro="string", index="date")
    if _JSON_NAME.search(type_name):
        return ScalarMapping(avro="string", index="disabled")
    return ScalarMapping(avro="string", index="keyword")


def scalar_mapping(type_name: str, config: IndexConfig) -> ScalarMapping:
    """The Avro and index types of a custom scalar: ``config.scalars`` over the defaults by name.

    A mapping that sets only ``avro`` gets the index type that holds it (``long`` -> ``long``,
    ``timestamp-millis`` -> ``date``); one that sets only ``index`` gets the Avro type that feeds it.
    Raises ``ConfigError`` (key ``scalars.<Name>``) for a pair that cannot work.
    """
    default = default_scalar_mapping(type_name)
    configured = config.scalars.get(type_name)
    if configured is None:
        return default
    given = configured.model_fields_set
    if "avro" in given:
        avro = configured.avro
    elif "index" in given:
        fallback = default.avro if configured.index == "date" and default.index == "date" else "string"
        avro = _AVRO_FOR_INDEX.get(configured.index, fallback)
    else:
        avro = default.avro
    index = configured.index if "index" in given else _INDEX_FOR_AVRO[avro]
    if index not in _COMPATIBLE_INDEX[avro]:
        allowed = ", ".join(sorted(_COMPATIBLE_INDEX[avro]))
        raise ConfigError(
            "invalid scalar mapping",
            [Problem(f"scalars.{type_name}", f"avro {avro} cannot be indexed as {index} (use one of: {allowed})")],
        )
    return ScalarMapping(avro=avro, index=index)


def avro_type_name(node: FieldNode, config: IndexConfig) -> str | None:
    """The Avro type a scalar, enum or typename value is written as (``timestamp-millis`` for the
    logical type); None for objects."""
    if node.kind is FieldKind.OBJECT:
        return None
    if node.scalar is ScalarKind.CUSTOM:
        return scalar_mapping(node.type_name, config).avro
    if node.kind is FieldKind.SCALAR and node.scalar is not None:
        return _BUILTIN_AVRO[node.scalar]
    return "string"


def avro_namespace(index: str) -> str:
    """``graphdex.<index>`` with characters Avro names do not allow replaced by ``_``."""
    segment = _AVRO_NAME_INVALID.sub("_", index)
    if segment[0].isdigit():
        segment = f"_{segment}"
    return f"graphdex.{segment}"


def graphql_type_label(node: FieldNode) -> str:
    """The field's GraphQL type as written in SDL: ``[[Int!]]!``, ``String``."""
    label = node.type_name
    for items_nullable in reversed(node.list_items_nullable):
        label = f"[{label}{'' if items_nullable else '!'}]"
    return label if node.nullable else f"{label}!"


class _RecordNames:
    """Unique Avro record names for the object nodes of one document."""

    def __init__(self, model: DocumentModel, config: IndexConfig) -> None:
        self._config = config
        shapes: dict[str, dict[str, list[FieldNode]]] = {}
        self._shape_of: dict[str, tuple[str, str]] = {}
        for node in model.root.walk():
            if node.kind is FieldKind.OBJECT:
                shape = json.dumps(self._shape(node), sort_keys=True)
                self._shape_of[node.path] = (node.type_name, shape)
                shapes.setdefault(node.type_name, {}).setdefault(shape, []).append(node)
        used = {METADATA_RECORD}
        self._names: dict[tuple[str, str], str] = {}
        root_shape = self._shape_of[""][1]
        for type_name, by_shape in shapes.items():
            for shape, nodes in by_shape.items():
                plain = len(by_shape) == 1 or (nodes[0].path == "" and shape == root_shape)
                name = type_name if plain else f"{type_name}_{_pascal(nodes[0].path)}"
                unique, number = name, 2
                while unique in used:
                    unique, number = f"{name}_{number}", number + 1
                used.add(unique)
                self._names[type_name, shape] = unique

    def name_of(self, node: FieldNode) -> str:
        return self._names[self._shape_of[node.path]]

    def _shape(self, node: FieldNode) -> list[Any]:
        return [
            [child.key, graphql_type_label(child), child.optional, child.description]
            + ([self._shape(child)] if child.kind is FieldKind.OBJECT else [])
            + ([scalar_mapping(child.type_name, self._config).avro] if child.scalar is ScalarKind.CUSTOM else [])
            for child in node.children
        ]


def _pascal(path: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in path.split("."))


class _SchemaBuilder:
    def __init__(self, model: DocumentModel, config: IndexConfig) -> None:
        self._config = config
        self._names = _RecordNames(model, config)
        self._defined: set[str] = set()

    def record(self, node: FieldNode) -> dict[str, Any] | str:
        name = self._names.name_of(node)
        if name in self._defined:
            return name
        self._defined.add(name)
        record: dict[str, Any] = {"type": "record", "name": name}
        if node.path:
            record["doc"] = f"{node.type_name} selected at {node.path}"
        record["fields"] = [self.field(child) for child in node.children]
        return record

    def field(self, node: FieldNode) -> dict[str, Any]:
        avro_type: Any = self.value_type(node)
        for items_nullable in reversed(node.list_items_nullable):
            avro_type = {"type": "array", "items": ["null", avro_type] if items_nullable else avro_type}
        field: dict[str, Any] = {"name": node.key}
        if node.description:
            field["doc"] = node.description
        if node.optional:
            field["type"] = ["null", avro_type]
            field["default"] = None
        else:
            field["type"] = avro_type
        return field

    def value_type(self, node: FieldNode) -> Any:
        if node.kind is FieldKind.OBJECT:
            return self.record(node)
        if node.kind is FieldKind.ENUM:
            return {"type": "string", "graphql.enum": node.type_name, "graphql.symbols": list(node.enum_values)}
        if node.kind is FieldKind.TYPENAME or node.scalar is None:
            return "string"
        if node.scalar is not ScalarKind.CUSTOM:
            return _BUILTIN_AVRO[node.scalar]
        avro = scalar_mapping(node.type_name, self._config).avro
        if avro == "timestamp-millis":
            return {"type": "long", "logicalType": "timestamp-millis", "graphql.scalar": node.type_name}
        if avro == "date":
            return {"type": "int", "logicalType": "date", "graphql.scalar": node.type_name}
        return {"type": avro, "graphql.scalar": node.type_name}


def _metadata_field() -> dict[str, Any]:
    fetched_at = {
        "name": "fetched_at",
        "doc": "When graphdex fetched the document from the gateway.",
        "type": ["null", {"type": "long", "logicalType": "timestamp-millis"}],
        "default": None,
    }
    content_hash = {
        "name": "content_hash",
        "doc": "Digest of the document without this record: equal digests, equal content.",
        "type": ["null", "string"],
        "default": None,
    }
    record = {
        "type": "record",
        "name": METADATA_RECORD,
        "doc": "Added by graphdex.",
        "fields": [fetched_at, content_hash],
    }
    return {"name": METADATA_FIELD, "doc": "Added by graphdex.", "type": ["null", record], "default": None}


def check_metadata_name(model: DocumentModel) -> None:
    """Raise ``QueryError`` when the query selects a top-level field named like graphdex's metadata."""
    if any(child.key == METADATA_FIELD for child in model.root.children):
        raise QueryError(
            "the query cannot be indexed",
            [Problem(METADATA_FIELD, f"graphdex reserves the top-level name {METADATA_FIELD!r}; alias the field")],
        )


def avro_schema(model: DocumentModel, config: IndexConfig) -> dict[str, Any]:
    """The document's Avro schema (an ``.avsc`` as a JSON-able dict), accepted by ``fastavro.parse_schema``."""
    check_metadata_name(model)
    builder = _SchemaBuilder(model, config)
    root = builder.record(model.root)
    assert isinstance(root, dict)  # the root is the first record defined
    operation = f" (operation {model.operation_name})" if model.operation_name else ""
    return {
        "type": "record",
        "name": root["name"],
        "namespace": avro_namespace(model.index),
        "doc": f"A document of index {model.index}: {model.root_type} as fetched by {model.root_field}{operation}.",
        "fields": [*root["fields"], _metadata_field()],
    }
