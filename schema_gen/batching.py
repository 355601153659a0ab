"""Batched fetch operations: one GraphQL request for many documents, ids only ever in variables.

The template fetches the documents of one index. When its id variable takes a list (``$ids: [ID!]!``)
a batch is the template unchanged with ``{"ids": [...]}``. When it takes one id (``$id: ID!``) the root
field is repeated once per id under an alias, each copy with its own variable, in ONE operation::

    query MovieDocuments($id0: ID!, $id1: ID!) { e0: movie(id: $id0) { ...M } e1: movie(id: $id1) { ...M } }

Fragments, directives and the template's other variables are kept. This module is pure: it reads the
template text and the facts the field catalogue records about it (``RootQueryFacts``) and never talks
to a server.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from graphql import GraphQLSyntaxError, Visitor, parse, print_ast, visit
from graphql.language import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    ListTypeNode,
    NamedTypeNode,
    NameNode,
    NonNullTypeNode,
    OperationDefinitionNode,
    SelectionNode,
    TypeNode,
    VariableDefinitionNode,
    VariableNode,
)

from schema_gen.errors import Problem, QueryError
from schema_gen.model import DocumentModel

_CATALOGUE_KEYS = (
    "query",
    "operation_name",
    "root_field",
    "root_response_key",
    "root_returns_list",
    "id_field",
    "id_variable",
    "id_variable_is_list",
)


@dataclass(frozen=True)
class RootQueryFacts:
    """What batching needs to know about a template: the same keys as the field catalogue."""

    query: str
    operation_name: str | None
    root_field: str
    root_response_key: str
    root_returns_list: bool
    id_field: str
    id_variable: str
    id_variable_is_list: bool
    variable_defaults: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_model(cls, model: DocumentModel) -> RootQueryFacts:
        return cls(
            query=model.query,
            operation_name=model.operation_name,
            root_field=model.root_field,
            root_response_key=model.root_response_key,
            root_returns_list=model.root_returns_list,
            id_field=model.id_field,
            id_variable=model.id_variable,
            id_variable_is_list=model.id_variable_is_list,
            variable_defaults=dict(model.variable_defaults),
        )

    @classmethod
    def from_catalogue(cls, catalogue: Mapping[str, Any], source: str = "field catalogue") -> RootQueryFacts:
        """The facts recorded in a field catalogue (``<index>.fields.json``)."""
        missing = [key for key in _CATALOGUE_KEYS if key not in catalogue]
        if missing:
            raise QueryError(
                "the field catalogue does not describe the query",
                [Problem(source, f"missing key {key!r}") for key in missing],
            )
        values = {key: catalogue[key] for key in _CATALOGUE_KEYS}
        return cls(**values, variable_defaults=dict(catalogue.get("variable_defaults") or {}))


@dataclass(frozen=True)
class BatchQuery:
    """One gateway request for ``ids``: the operation text, its variables and where each id's result is.

    ``response_keys`` has one entry per id (the alias ``e0``, ``e1``, ...) in alias mode and is empty
    in list mode, where every result is an element of ``data[root_response_key]``.
    """

    ids: tuple[str, ...]
    query: str
    operation_name: str | None
    variables: dict[str, Any]
    response_keys: tuple[str, ...] = ()

    @property
    def aliased(self) -> bool:
        return bool(self.response_keys)

    def payload(self) -> dict[str, Any]:
        """The JSON body of the GraphQL-over-HTTP POST."""
        body: dict[str, Any] = {"query": self.query, "variables": self.variables}
        if self.operation_name:
            body["operationName"] = self.operation_name
        return body


class InvalidIdError(ValueError):
    """An id that the id variable's type cannot carry (``Int`` ids must be integers)."""


def _named_type(node: TypeNode) -> str:
    while isinstance(node, NonNullTypeNode | ListTypeNode):
        node = node.type
    assert isinstance(node, NamedTypeNode)
    return node.name.value


def _free_name(stem: str, taken: set[str], count: int) -> str:
    """A prefix ``p`` such that ``p0 .. p<count-1>`` are all free; ``stem`` itself if possible."""
    prefix = stem
    while any(f"{prefix}{n}" in taken for n in range(count)):
        prefix += "_"
    return prefix


class _RenameVariable(Visitor):
    def __init__(self, old: str, new: str) -> None:
        super().__init__()
        self.old, self.new = old, new

    def enter_variable(self, node: VariableNode, *_: Any) -> VariableNode | None:
        if node.name.value == self.old:
            return VariableNode(name=NameNode(value=self.new))
        return None


class _VariableUses(Visitor):
    def __init__(self, name: str) -> None:
        super().__init__()
        self.name, self.found = name, False

    def enter_variable(self, node: VariableNode, *_: Any) -> None:
        if node.name.value == self.name:
            self.found = True


def _uses_variable(node: Any, name: str) -> bool:
    finder = _VariableUses(name)
    visit(node, finder)
    return finder.found


class BatchQueryBuilder:
    """Builds the request for a batch of ids from one index's template (see the module docstring)."""

    def __init__(self, facts: RootQueryFacts, source: str = "query") -> None:
        self.facts = facts
        self._source = source
        try:
            self._document = parse(facts.query, no_location=True)
        except GraphQLSyntaxError as error:
            raise QueryError(f"{source}: the query does not parse: {error.message}") from None
        self._operation = self._find_operation()
        self._id_definition = self._find_id_definition()
        self._id_type = _named_type(self._id_definition.type)
        self._root_index, self._root = self._find_root_field()
        if not facts.id_variable_is_list:
            self._check_aliasable()
        self._aliased_text = lru_cache(maxsize=64)(self._build_aliased)

    @classmethod
    def for_model(cls, model: DocumentModel, source: str = "query") -> BatchQueryBuilder:
        return cls(RootQueryFacts.from_model(model), source)

    def _problem(self, message: str) -> QueryError:
        return QueryError(f"{self._source}: cannot batch the query: {message}")

    def _find_operation(self) -> OperationDefinitionNode:
        operations = [d for d in self._document.definitions if isinstance(d, OperationDefinitionNode)]
        wanted = self.facts.operation_name
        named = [op for op in operations if wanted is None or (op.name and op.name.value == wanted)]
        if len(named) != 1:
            raise self._problem(f"expected one operation{f' named {wanted}' if wanted else ''}, found {len(named)}")
        return named[0]

    def _find_id_definition(self) -> VariableDefinitionNode:
        for definition in self._operation.variable_definitions or ():
            if definition.variable.name.value == self.facts.id_variable:
                return definition
        raise self._problem(f"the operation declares no variable ${self.facts.id_variable}")

    def _find_root_field(self) -> tuple[int, FieldNode]:
        for position, selection in enumerate(self._operation.selection_set.selections):
            if not isinstance(selection, FieldNode) or selection.name.value != self.facts.root_field:
                continue
            key = selection.alias.value if selection.alias else selection.name.value
            if key == self.facts.root_response_key:
                return position, selection
        raise self._problem(
            f"no top-level field {self.facts.root_field} with response key {self.facts.root_response_key}"
        )

    def _check_aliasable(self) -> None:
        """In alias mode the id variable may only be used inside the root field, outside fragments."""
        name = self.facts.id_variable
        others = [s for n, s in enumerate(self._operation.selection_set.selections) if n != self._root_index]
        fragments = [d for d in self._document.definitions if isinstance(d, FragmentDefinitionNode)]
        if any(_uses_variable(node, name) for node in [*others, *fragments, *(self._operation.directives or ())]):
            raise self._problem(
                f"${name} is used outside the root field {self.facts.root_field} (in another field, a fragment or "
                "a directive of the operation); an id variable that is not a list may only appear in the root "
                "field's arguments and selection"
            )

    def coerce_id(self, document_id: str) -> str | int:
        """The id as the variable's type carries it: an integer for ``Int``, else the string."""
        if self._id_type != "Int":
            return document_id
        try:
            return int(document_id)
        except ValueError:
            raise InvalidIdError(
                f"id {document_id!r} is not an integer, but ${self.facts.id_variable} is of type Int"
            ) from None

    def build(self, ids: Sequence[str]) -> BatchQuery:
        """The request fetching ``ids`` (distinct, at least one); ``InvalidIdError`` for an id the
        variable's type cannot carry."""
        if not ids:
            raise ValueError("a batch has at least one id")
        ids = tuple(ids)
        variables = dict(self.facts.variable_defaults)
        values = [self.coerce_id(document_id) for document_id in ids]
        if self.facts.id_variable_is_list:
            variables[self.facts.id_variable] = values
            return BatchQuery(ids, self.facts.query, self.facts.operation_name, variables)
        variables.pop(self.facts.id_variable, None)
        text, variable_prefix, alias_prefix = self._aliased_text(len(ids))
        variables.update({f"{variable_prefix}{n}": value for n, value in enumerate(values)})
        keys = tuple(f"{alias_prefix}{n}" for n in range(len(ids)))
        return BatchQuery(ids, text, self.facts.operation_name, variables, keys)

    def _build_aliased(self, count: int) -> tuple[str, str, str]:
        operation, name = self._operation, self.facts.id_variable
        variable_names = {d.variable.name.value for d in operation.variable_definitions or ()}
        top_keys = {(s.alias or s.name).value for s in operation.selection_set.selections if isinstance(s, FieldNode)}
        variable_prefix = _free_name(name, variable_names - {name}, count)
        alias_prefix = _free_name("e", top_keys - {self.facts.root_response_key}, count)

        definitions: list[VariableDefinitionNode] = []
        for definition in operation.variable_definitions or ():
            if definition.variable.name.value != name:
                definitions.append(definition)
                continue
            definitions += [
                dataclasses.replace(
                    definition,
                    variable=VariableNode(name=NameNode(value=f"{variable_prefix}{n}")),
                    default_value=None,
                )
                for n in range(count)
            ]
        copies: list[SelectionNode] = [
            dataclasses.replace(
                visit(self._root, _RenameVariable(name, f"{variable_prefix}{n}")),
                alias=NameNode(value=f"{alias_prefix}{n}"),
            )
            for n in range(count)
        ]
        selections = list(operation.selection_set.selections)
        selections[self._root_index : self._root_index + 1] = copies
        batched = dataclasses.replace(
            operation,
            variable_definitions=tuple(definitions),
            selection_set=dataclasses.replace(operation.selection_set, selections=tuple(selections)),
        )
        definitions_out = [batched if d is operation else d for d in self._document.definitions]
        text = print_ast(DocumentNode(definitions=tuple(definitions_out)))
        return text, variable_prefix, alias_prefix
