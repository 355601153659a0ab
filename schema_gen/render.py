"""GraphQL responses in, index documents (which are also Avro records) out.

``DocumentRenderer`` compiles the ``DocumentModel`` once into a tree of converters. A document keeps
only the model's fields (extra response keys are dropped), in the Avro schema's field order, with
absent optional fields as null. Custom scalars are converted per their mapping: ``timestamp-millis``
from ISO-8601 strings to epoch milliseconds, ``date`` to days since the epoch, JSON values to JSON
text; ISO strings indexed as ``date`` are checked to be dates the search server accepts. Enum values
stay strings (an unknown value is kept: see ``schema_gen.avro``). Every document is validated
against the Avro schema; whatever does not fit raises ``DocumentError`` naming the document and
every bad path (``talent[3].name: expected string, got 12``); as a last check each document is
serialized with the Avro schema.

Each document's metadata carries ``content_hash`` (``DocumentRenderer.content_digest``): a digest of
the document's Avro encoding with the metadata left null, which the validating serialization produces
anyway. Two fetches of an unchanged entity have the same digest whatever their fetch times (the same
response renders to the same record, and records have no maps, whose order could vary), so the sink
can leave a document the index already holds alone; a new schema changes every digest, and every
document is written once again.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import fastavro
from fastavro.validation import ValidationError, validate

from schema_gen.avro import METADATA_FIELD, avro_schema, avro_type_name, scalar_mapping
from schema_gen.config import IndexConfig
from schema_gen.errors import DocumentError, Problem
from schema_gen.model import DocumentModel, FieldKind, FieldNode, ScalarKind

Converter = Callable[[Any, str, list[Problem]], Any]
"""``convert(value, path, problems)``: the document value; appends to ``problems`` if it does not fit."""

_MISSING = object()
_INT_RANGE = (-(2**31), 2**31 - 1)
_LONG_RANGE = (-(2**63), 2**63 - 1)
_EPOCH = date(1970, 1, 1)
_ES_DATE = re.compile(
    r"^\d{4}-\d{2}-\d{2}(T\d{2}(:\d{2}(:\d{2}([.,]\d{1,9})?)?)?(Z|[+-]\d{2}(:?\d{2})?)?)?$",
)


@dataclass(frozen=True)
class RenderedDocument:
    """One document for the index and the Avro topic."""

    id: str
    source: dict[str, Any]


def _show(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 60 else f"{text[:57]}..."


def _mismatch(expected: str, value: Any, path: str, problems: list[Problem]) -> None:
    problems.append(Problem(path, f"expected {expected}, got {_show(value)}"))


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _integer(value: Any, bounds: tuple[int, int], expected: str, path: str, problems: list[Problem]) -> Any:
    integral_text = isinstance(value, str) and re.fullmatch(r"[+-]?\d+", value.strip())
    integral_float = isinstance(value, float) and value.is_integer()
    number = int(value) if integral_text or integral_float else value
    if not _is_int(number) or not bounds[0] <= number <= bounds[1]:
        _mismatch(expected, value, path, problems)
        return None
    return number


def _parse_datetime(value: str) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _scalar_converter(node: FieldNode, config: IndexConfig) -> Converter:
    avro = avro_type_name(node, config)
    if node.kind is not FieldKind.SCALAR or node.scalar in (ScalarKind.STRING, None):
        return _convert_string
    if node.scalar is ScalarKind.ID:
        return _convert_id
    if node.scalar is ScalarKind.CUSTOM and avro == "string":
        if scalar_mapping(node.type_name, config).index == "date":
            return _convert_iso_date
        return _convert_custom_string
    return _BY_AVRO[avro or "string"]


def _convert_string(value: Any, path: str, problems: list[Problem]) -> Any:
    if isinstance(value, str):
        return value
    _mismatch("string", value, path, problems)
    return None


def _convert_id(value: Any, path: str, problems: list[Problem]) -> Any:
    if isinstance(value, str):
        return value
    if _is_int(value):
        return str(value)
    _mismatch("an ID (string)", value, path, problems)
    return None


def _convert_custom_string(value: Any, path: str, problems: list[Problem]) -> Any:
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def _convert_iso_date(value: Any, path: str, problems: list[Problem]) -> Any:
    if isinstance(value, str):
        if _ES_DATE.match(value):
            return value
        parsed = _parse_datetime(value)
        if parsed is not None:
            return parsed.isoformat()
    _mismatch("an ISO-8601 date such as 2024-01-31", value, path, problems)
    return None


def _convert_int(value: Any, path: str, problems: list[Problem]) -> Any:
    return _integer(value, _INT_RANGE, "int", path, problems)


def _convert_long(value: Any, path: str, problems: list[Problem]) -> Any:
    return _integer(value, _LONG_RANGE, "long", path, problems)


def _convert_double(value: Any, path: str, problems: list[Problem]) -> Any:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            pass
    _mismatch("double", value, path, problems)
    return None


def _convert_boolean(value: Any, path: str, problems: list[Problem]) -> Any:
    if isinstance(value, bool):
        return value
    _mismatch("boolean", value, path, problems)
    return None


def _convert_timestamp(value: Any, path: str, problems: list[Problem]) -> Any:
    if _is_int(value):
        return _integer(value, _LONG_RANGE, "epoch milliseconds", path, problems)
    parsed = _parse_datetime(value) if isinstance(value, str) else None
    if parsed is None:
        _mismatch("an ISO-8601 date-time or epoch milliseconds", value, path, problems)
        return None
    return int(parsed.timestamp() * 1000)


def _convert_date(value: Any, path: str, problems: list[Problem]) -> Any:
    if _is_int(value):
        return _integer(value, _INT_RANGE, "days since 1970-01-01", path, problems)
    parsed = _parse_datetime(value) if isinstance(value, str) else None
    if parsed is None:
        _mismatch("an ISO-8601 date such as 2024-01-31", value, path, problems)
        return None
    return (parsed.date() - _EPOCH).days


_BY_AVRO: dict[str, Converter] = {
    "string": _convert_string,
    "int": _convert_int,
    "long": _convert_long,
    "double": _convert_double,
    "boolean": _convert_boolean,
    "timestamp-millis": _convert_timestamp,
    "date": _convert_date,
}


def _list_converter(node: FieldNode, item: Converter, expected: str) -> Converter:
    levels = node.list_items_nullable

    def convert_level(value: Any, path: str, problems: list[Problem], level: int) -> Any:
        if not isinstance(value, list):
            _mismatch("a list", value, path, problems)
            return None
        items_nullable = levels[level]
        converted = []
        for position, element in enumerate(value):
            element_path = f"{path}[{position}]"
            if element is None:
                if not items_nullable:
                    _mismatch(expected, None, element_path, problems)
                converted.append(None)
            elif level + 1 < len(levels):
                converted.append(convert_level(element, element_path, problems, level + 1))
            else:
                converted.append(item(element, element_path, problems))
        return converted

    def convert(value: Any, path: str, problems: list[Problem]) -> Any:
        return convert_level(value, path, problems, 0)

    return convert


def _object_converter(node: FieldNode, config: IndexConfig) -> Converter:
    children = [(child.key, child.optional, _field_converter(child, config)) for child in node.children]
    expected = f"an object ({node.type_name})"

    def convert(value: Any, path: str, problems: list[Problem]) -> Any:
        if not isinstance(value, dict):
            _mismatch(expected, value, path, problems)
            return None
        prefix = f"{path}." if path else ""
        record: dict[str, Any] = {}
        for key, optional, child in children:
            item = value.get(key, _MISSING)
            if item is None or item is _MISSING:
                if not optional:
                    message = "missing from the response" if item is _MISSING else "expected a value, got null"
                    problems.append(Problem(f"{prefix}{key}", message))
                record[key] = None
            else:
                record[key] = child(item, f"{prefix}{key}", problems)
        return record

    return convert


def _field_converter(node: FieldNode, config: IndexConfig) -> Converter:
    if node.kind is FieldKind.OBJECT:
        item = _object_converter(node, config)
        expected = f"an object ({node.type_name})"
    else:
        item = _scalar_converter(node, config)
        expected = f"a {node.type_name}"
    return _list_converter(node, item, expected) if node.is_list else item


def _epoch_millis(moment: datetime) -> int:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def _error_location(error: Any) -> str:
    path = error.get("path") if isinstance(error, dict) else None
    if not isinstance(path, list):
        return "response"
    return "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in path).lstrip(".")


class DocumentRenderer:
    """Renders the responses of one index's query into documents that fit its Avro schema."""

    def __init__(self, model: DocumentModel, config: IndexConfig) -> None:
        self._model = model
        self.avro_schema: dict[str, Any] = avro_schema(model, config)
        self.parsed_schema = fastavro.parse_schema(self.avro_schema)
        self._convert_root = _object_converter(model.root, config)

    def render_response(self, response: Any, *, fetched_at: datetime | None = None) -> list[RenderedDocument]:
        """One document per non-null root entity of ``{"data": ...}``, in response order.

        ``fetched_at`` goes to the ``graphdex.fetched_at`` metadata (default: now).
        """
        return [
            RenderedDocument(id=document_id, source=self.render_entity(entity, document_id, fetched_at=fetched_at))
            for document_id, entity in self.root_entities(response)
        ]

    def root_entities(self, response: Any) -> list[tuple[str, dict[str, Any]]]:
        """``(id, entity)`` for every non-null root entity of a response; a caller that wants one outcome
        per document renders each with ``render_entity``.

        The root field may return a list or one object, or be aliased once per id (``e0: movie(id: $id0)``).
        Raises ``DocumentError`` for a response with GraphQL errors, without data, or with an entity
        that has no id: half a document must never overwrite a whole one.
        """
        if not isinstance(response, dict):
            raise DocumentError(f"a GraphQL response is a JSON object with data, got {_show(response)}")
        errors = response.get("errors")
        if errors:
            problems = [
                Problem(_error_location(error), str(error.get("message") if isinstance(error, dict) else error))
                for error in (errors if isinstance(errors, list) else [errors])
            ]
            raise DocumentError("the GraphQL response has errors", problems)
        data = response.get("data")
        if not isinstance(data, dict):
            raise DocumentError(f"the GraphQL response has no data object, got {_show(data)}")
        key = self._model.root_response_key
        if key in data:
            found = data[key]
            located = (
                [(f"{key}[{n}]", item) for n, item in enumerate(found)] if isinstance(found, list) else [(key, found)]
            )
        else:
            located = list(data.items())
        return [(self._entity_id(where, entity), entity) for where, entity in located if entity is not None]

    def _entity_id(self, where: str, entity: Any) -> str:
        model = self._model
        if not isinstance(entity, dict):
            raise DocumentError(f"{where}: expected a {model.root_type} object, got {_show(entity)}")
        value = entity.get(model.id_field)
        if isinstance(value, str) or _is_int(value):
            return str(value)
        raise DocumentError(f"{where}: a {model.root_type} without an id ({model.id_field}: {_show(value)})")

    def render_entity(self, entity: Any, id: str, *, fetched_at: datetime | None = None) -> dict[str, Any]:
        """The document (index ``_source`` and Avro record) for one root entity; ``id`` names it in errors."""
        problems: list[Problem] = []
        source = self._convert_root(entity, "", problems)
        what = f"document {self._model.root_type}:{id}"
        if problems:
            raise DocumentError(f"{what} does not fit the index model", problems)
        source[METADATA_FIELD] = None
        try:
            digest = self._digest(source)
        except (TypeError, ValueError, OverflowError, KeyError) as error:
            # Serializing is three times faster than validate(); validate() is only asked for its detail.
            problems = [Problem("", str(error))]
            try:
                validate(source, self.parsed_schema, raise_errors=True)
            except ValidationError as detail:
                problems = [Problem("", str(message)) for message in detail.errors]
            raise DocumentError(f"{what} does not fit the Avro schema", problems) from error
        source[METADATA_FIELD] = {"fetched_at": _epoch_millis(fetched_at or datetime.now(UTC)), "content_hash": digest}
        return source

    def content_digest(self, source: dict[str, Any]) -> str:
        """The ``graphdex.content_hash`` of a document: everything but its metadata."""
        return self._digest({**source, METADATA_FIELD: None})

    def _digest(self, source: dict[str, Any]) -> str:
        """Serializes ``source`` (which checks it against the schema) and digests the bytes: 128 bits, hex."""
        encoded = io.BytesIO()
        fastavro.schemaless_writer(encoded, self.parsed_schema, source)
        return hashlib.blake2b(encoded.getvalue(), digest_size=16).hexdigest()
