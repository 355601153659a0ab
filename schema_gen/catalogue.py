"""The field catalogue (``<index>.fields.json``): everything the run time needs to know about a document.

The indexer daemon, the reverse lookup and the search library read only this file at run time; they
never walk GraphQL. It describes the query to send (template text, operation, id variable, where the
entities are in the response), every field with the paths to query it by (the same decisions the
index template is generated from), the nested paths, and every entity with an identity inside the
document (the paths a reverse lookup searches when that entity changes).

Format 1 (keys may be added, never renamed)::

    format, index, root_type, id_field, query, root_field, root_response_key, root_returns_list,
    id_variable, id_variable_is_list, operation_name, variable_defaults, index_pattern, avro_name,
    metadata_field, excluded (paths the definition leaves out with ``exclude: true``),
    fields: [{path, key, graphql_type, type_name, kind, scalar, avro_type, index_type, nested_path, list,
              multi_valued, nullable, conditional, only_on, enum_values, fulltext, analyzer, boost,
              autocomplete, filterable, sortable, facetable, exact_path, lowercase_path,
              autocomplete_path, description}],
    nested_paths: [...],
    entities: [{path, type, possible_types, key_fields, key_paths, nested_path, list}]

``index_type`` is ``disabled`` for values kept in the document but not indexed (JSON scalars).
``nullable`` is true when the value may be null in a document (nullable, conditional or only on some
concrete types); ``graphql_type`` keeps the schema's own nullability.
"""

from __future__ import annotations

from typing import Any

from schema_gen.avro import METADATA_FIELD, avro_schema, avro_type_name, graphql_type_label
from schema_gen.config import IndexConfig
from schema_gen.index_template import FieldIndexing, plan_fields
from schema_gen.model import DocumentModel, FieldKind, FieldNode

CATALOGUE_FORMAT = 1


def _field_entry(
    node: FieldNode,
    indexing: FieldIndexing,
    nested_path: str | None,
    multi_valued: bool,
    config: IndexConfig,
) -> dict[str, Any]:
    return {
        "path": node.path,
        "key": node.key,
        "graphql_type": graphql_type_label(node),
        "type_name": node.type_name,
        "kind": node.kind.value,
        "scalar": node.scalar.value if node.scalar else None,
        "avro_type": avro_type_name(node, config),
        "index_type": indexing.index_type,
        "nested_path": nested_path,
        "list": node.is_list,
        "multi_valued": multi_valued,
        "nullable": node.optional,
        "conditional": node.conditional,
        "only_on": list(node.only_on) if node.only_on is not None else None,
        "enum_values": list(node.enum_values),
        "fulltext": indexing.fulltext,
        "analyzer": indexing.analyzer,
        "boost": indexing.boost,
        "autocomplete": indexing.autocomplete,
        "filterable": indexing.filterable,
        "sortable": indexing.sortable,
        "facetable": indexing.facetable,
        "exact_path": indexing.exact_path(node.path),
        "lowercase_path": indexing.lowercase_path(node.path),
        "autocomplete_path": indexing.autocomplete_path(node.path),
        "description": node.description,
    }


def _entity_entry(node: FieldNode, nested_path: str | None, key_fields: tuple[str, ...]) -> dict[str, Any]:
    prefix = f"{node.path}." if node.path else ""
    return {
        "path": node.path,
        "type": node.type_name,
        "possible_types": list(node.possible_types or (node.type_name,)),
        "key_fields": list(key_fields),
        "key_paths": [f"{prefix}{key}" for key in key_fields],
        "nested_path": nested_path,
        "list": node.is_list,
    }


class _CatalogueWalk:
    """One depth-first pass collecting fields, nested paths and entities in selection order."""

    def __init__(self, plan: dict[str, FieldIndexing], config: IndexConfig) -> None:
        self._plan = plan
        self._config = config
        self.fields: list[dict[str, Any]] = []
        self.nested_paths: list[str] = []
        self.entities: list[dict[str, Any]] = []

    def visit(self, node: FieldNode, nested_path: str | None, multi_valued: bool) -> None:
        indexing = self._plan[node.path]
        multi_valued = multi_valued or node.is_list
        self.fields.append(_field_entry(node, indexing, nested_path, multi_valued, self._config))
        if node.kind is not FieldKind.OBJECT:
            return
        inner = nested_path
        if indexing.index_type == "nested":
            self.nested_paths.append(node.path)
            inner = node.path
        if node.key_fields:
            self.entities.append(_entity_entry(node, inner, node.key_fields))
        for child in node.children:
            self.visit(child, inner, multi_valued)


def field_catalogue(model: DocumentModel, config: IndexConfig) -> dict[str, Any]:
    """The JSON-able field catalogue of the index (format 1, see the module docstring)."""
    schema = avro_schema(model, config)
    walk = _CatalogueWalk(plan_fields(model, config), config)
    walk.entities.append(_entity_entry(model.root, None, model.root.key_fields or (model.id_field,)))
    for child in model.root.children:
        walk.visit(child, None, False)
    return {
        "format": CATALOGUE_FORMAT,
        "index": model.index,
        "index_pattern": f"{model.index}-*",
        "root_type": model.root_type,
        "id_field": model.id_field,
        "query": model.query,
        "root_field": model.root_field,
        "root_response_key": model.root_response_key,
        "root_returns_list": model.root_returns_list,
        "id_variable": model.id_variable,
        "id_variable_is_list": model.id_variable_is_list,
        "operation_name": model.operation_name,
        "variable_defaults": dict(model.variable_defaults),
        "avro_name": f"{schema['namespace']}.{schema['name']}",
        "metadata_field": METADATA_FIELD,
        "excluded": sorted(path for path, options in config.fields.items() if options.exclude),
        "fields": walk.fields,
        "nested_paths": walk.nested_paths,
        "entities": walk.entities,
    }
