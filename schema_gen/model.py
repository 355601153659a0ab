"""The intermediate model of one index's document: a typed tree of fields.

The walker (``schema_gen.walker``) builds it once from the query AST and the schema; the Avro schema,
the index template, the field catalogue, the reverse-lookup paths and document rendering are all
derived from this tree and never from the AST again.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import StrEnum

from schema_gen.config import FieldOptions


class FieldKind(StrEnum):
    """What a field holds, once its list and non-null wrappers are taken off."""

    SCALAR = "scalar"  # a built-in or custom scalar; see ``ScalarKind``
    ENUM = "enum"
    OBJECT = "object"  # an object, interface or union selection with children
    TYPENAME = "typename"  # ``__typename``


class ScalarKind(StrEnum):
    """Built-in scalars, plus CUSTOM for every other scalar (mapped through ``config.scalars``)."""

    STRING = "String"
    ID = "ID"
    INT = "Int"
    FLOAT = "Float"
    BOOLEAN = "Boolean"
    CUSTOM = "custom"


@dataclass(frozen=True)
class FieldNode:
    """One selected field of the document (or the document root itself).

    ``list_items_nullable`` has one entry per list level, outermost first: ``[[Int!]]!`` gives
    ``nullable=False`` and ``list_items_nullable=(True, False)``. An empty tuple means not a list.
    """

    key: str
    """Response key: the alias if there is one, else the field name."""
    name: str
    """Field name in the schema (``__typename`` for the typename meta field)."""
    path: str
    """Dotted response path from the document root, e.g. ``talent.person.name``; ``""`` for the root."""
    type_name: str
    """Named GraphQL type with wrappers removed: ``String``, ``Movie``, ``Status``, ``DateTime``."""
    kind: FieldKind
    nullable: bool
    list_items_nullable: tuple[bool, ...] = ()
    scalar: ScalarKind | None = None
    enum_values: tuple[str, ...] = ()
    children: tuple[FieldNode, ...] = ()
    abstract: bool = False
    """True when ``type_name`` is an interface or union."""
    possible_types: tuple[str, ...] = ()
    """Concrete object types this selection can resolve to (one entry for a plain object type)."""
    only_on: tuple[str, ...] | None = None
    """Set when the field was selected only inside type conditions: the parent's concrete types that
    carry it. The field is absent (null in the document) for other types."""
    conditional: bool = False
    """Selected under ``@include``/``@skip`` (with a variable): it may be absent from a response."""
    key_fields: tuple[str, ...] = ()
    """For objects: response keys of the identity of the entity (its ``id`` or federation ``@key``
    fields) when all of them are selected; empty when the object has no selected identity."""
    description: str | None = None
    options: FieldOptions = field(default_factory=FieldOptions)
    """Options configured for ``path`` in the index definition."""

    @property
    def is_list(self) -> bool:
        return bool(self.list_items_nullable)

    @property
    def optional(self) -> bool:
        """May be null or absent in a document: nullable, conditional or type-conditioned."""
        return self.nullable or self.conditional or self.only_on is not None

    def child(self, key: str) -> FieldNode:
        for node in self.children:
            if node.key == key:
                return node
        raise KeyError(key)

    def walk(self) -> Iterator[FieldNode]:
        """This node and every node below it, depth first, in selection order."""
        yield self
        for node in self.children:
            yield from node.walk()


@dataclass(frozen=True)
class DocumentModel:
    """Everything known about one index's document and the query that fetches it."""

    index: str
    """Alias name of the index (``config.index``)."""
    root: FieldNode
    """The root entity: an OBJECT node whose children are the document's top-level fields."""
    root_field: str
    """Name of the Query field the template selects (``movies``, ``node``)."""
    root_response_key: str
    """Response key of that field in ``data`` (its alias, if any)."""
    root_returns_list: bool
    """The root field returns a list of entities (fetch many ids in one call)."""
    id_field: str
    """Response key, inside the root entity, of the document id."""
    id_variable: str
    id_variable_is_list: bool
    """The id variable takes a list of ids (``[ID!]!``): one request fetches many documents."""
    operation_name: str | None
    query: str
    """The template's source text, sent unchanged with ids as variables."""
    variable_defaults: dict[str, object] = field(default_factory=dict)
    """Default values of the template's other variables, sent with every fetch."""

    @property
    def root_type(self) -> str:
        return self.root.type_name

    def fields(self) -> Iterator[FieldNode]:
        """Every field of the document below the root, depth first."""
        for node in self.root.children:
            yield from node.walk()
