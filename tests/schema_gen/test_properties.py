"""Properties over random document models: the generators never produce an artifact that does not work."""

from __future__ import annotations

import io
from datetime import UTC
from typing import Any

import fastavro
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schema_gen.avro import avro_schema
from schema_gen.catalogue import field_catalogue
from schema_gen.index_template import index_template
from schema_gen.model import DocumentModel, FieldKind, FieldNode, ScalarKind
from schema_gen.render import DocumentRenderer
from tests.schema_gen.generator_models import enum, make_config, make_model, obj, scalar

SCALAR_TYPES = ["String", "ID", "Int", "Float", "Boolean", "DateTime", "Date", "JSON", "URI"]
OBJECT_TYPES = ["Movie", "Person", "Talent"]
"""Few object type names, so the same type is often selected with different shapes."""
KEYS = st.from_regex(r"[a-z][a-zA-Z0-9_]{0,6}", fullmatch=True)
CONFIG = make_config()
PROPERTY_SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def field_nodes(draw: st.DrawFn, depth: int = 0) -> FieldNode:
    key = draw(KEYS)
    common: dict[str, Any] = {
        "nullable": draw(st.booleans()),
        "conditional": draw(st.booleans()),
        "only_on": draw(st.none() | st.just(("Series",))),
    }
    lists = tuple(draw(st.lists(st.booleans(), max_size=2)))
    kind = draw(st.sampled_from(["scalar", "enum", "object"] if depth < 3 else ["scalar", "enum"]))
    if kind == "scalar":
        return scalar(key, draw(st.sampled_from(SCALAR_TYPES)), lists=lists, **common)
    if kind == "enum":
        values = tuple(
            draw(st.lists(st.from_regex(r"[A-Z]{1,5}", fullmatch=True), min_size=1, max_size=3, unique=True))
        )
        return enum(key, "Status", values, list_items_nullable=lists, **common)
    children = draw(st.lists(field_nodes(depth + 1), min_size=1, max_size=4, unique_by=lambda node: node.key))
    return obj(key, draw(st.sampled_from(OBJECT_TYPES)), children, lists=lists, **common)


models = st.lists(field_nodes(), min_size=1, max_size=6, unique_by=lambda node: node.key).map(
    lambda children: make_model(children, CONFIG, key_fields=())
)

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3),
    max_leaves=6,
).filter(lambda value: value is not None)
"""A JSON scalar's value; a top-level JSON null is a GraphQL null."""
_SCALAR_VALUES: dict[str, st.SearchStrategy[Any]] = {
    "String": st.text(max_size=12),
    "ID": st.text(max_size=6) | st.integers(0, 10**12),
    "Int": st.integers(-(2**31), 2**31 - 1),
    "Float": st.floats(allow_nan=False, allow_infinity=False) | st.integers(-(10**6), 10**6),
    "Boolean": st.booleans(),
    "DateTime": st.datetimes(timezones=st.just(UTC)).map(lambda moment: moment.isoformat()) | st.integers(0, 2**42),
    "Date": st.dates().map(lambda day: day.isoformat()),
    "JSON": JSON_VALUES,
    "URI": st.text(max_size=12),
}


def _value(data: st.DataObject, node: FieldNode, level: int = 0) -> Any:
    if level < len(node.list_items_nullable):
        size = data.draw(st.integers(0, 3))
        items_nullable = node.list_items_nullable[level]
        return [
            None if items_nullable and data.draw(st.booleans()) else _value(data, node, level + 1) for _ in range(size)
        ]
    if node.kind is FieldKind.OBJECT:
        return _entity(data, node)
    if node.kind is FieldKind.ENUM:
        return data.draw(st.sampled_from(node.enum_values) | st.just("ADDED_UPSTREAM"))
    assert node.scalar is not None
    return data.draw(_SCALAR_VALUES[node.type_name if node.scalar is ScalarKind.CUSTOM else node.scalar.value])


def _entity(data: st.DataObject, node: FieldNode) -> dict[str, Any]:
    entity: dict[str, Any] = {"extraKeyNotSelected": 1}
    for child in node.children:
        if child.optional and data.draw(st.booleans()):
            if data.draw(st.booleans()):
                entity[child.key] = None
            continue
        entity[child.key] = _value(data, child)
    return entity


def _record_names(avro_type: Any) -> list[str]:
    if isinstance(avro_type, list):
        return [name for branch in avro_type for name in _record_names(branch)]
    if not isinstance(avro_type, dict):
        return []
    if avro_type.get("type") == "array":
        return _record_names(avro_type["items"])
    if avro_type.get("type") != "record":
        return []
    return [avro_type["name"]] + [name for field in avro_type["fields"] for name in _record_names(field["type"])]


@PROPERTY_SETTINGS
@given(models)
def test_random_models_give_a_valid_avro_schema_and_consistent_artifacts(model: DocumentModel):
    """Any model gives an Avro schema fastavro accepts, with unique record names, and a template and
    catalogue that cover every field."""
    schema = avro_schema(model, CONFIG)
    fastavro.parse_schema(schema)
    names = _record_names(schema)
    assert len(names) == len(set(names))
    catalogue = field_catalogue(model, CONFIG)
    assert [entry["path"] for entry in catalogue["fields"]] == [node.path for node in model.fields()]
    template = index_template(model, CONFIG)
    properties = template["template"]["mappings"]["properties"]
    for node in model.fields():
        mapping: dict[str, Any] = {"properties": properties}
        for key in node.path.split("."):
            mapping = mapping["properties"][key]
        assert "type" in mapping


@PROPERTY_SETTINGS
@given(models, st.data())
def test_conforming_entities_render_to_valid_avro_records(model: DocumentModel, data: st.DataObject):
    """Any entity that fits the model renders to a document that serializes with the Avro schema."""
    renderer = DocumentRenderer(model, CONFIG)
    source = renderer.render_entity(_entity(data, model.root), "doc-1")
    assert "extraKeyNotSelected" not in source
    assert set(source) == {node.key for node in model.root.children} | {"graphdex"}
    fastavro.schemaless_writer(io.BytesIO(), renderer.parsed_schema, source)
