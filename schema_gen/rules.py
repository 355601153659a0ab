"""What graphdex needs of a query template, as graphql-core validation rules (so errors carry line:col).

They run next to graphql-core's ``specified_rules``:

- ``SingleQueryOperationRule``: exactly one operation, and it is a query.
- ``RootFieldRule``: the query selects one root field, which returns ``root.type``, a list of it, or an
  interface or union narrowed to it by a fragment (``node(id: $id) { ... on Repository { ... } }``).
- ``TemplateVariablesRule``: ``$<root.id_variable>`` is declared as ``ID!``, ``String!``, ``Int!`` (or a
  custom scalar) or a non-null list of them, reaches the root field, and every other variable can be
  left out (nullable or defaulted): the indexer sends only the ids.
- ``IdFieldRule``: ``root.id_field`` is selected on the root entity, always, as a single scalar.

The rules that depend on the index definition are bound to its ``RootSettings`` by ``template_rules``.
"""

from __future__ import annotations

from collections.abc import Iterator
from enum import StrEnum
from typing import Any, ClassVar

from graphql import (
    BooleanValueNode,
    DocumentNode,
    FieldNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLList,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLOutputType,
    GraphQLScalarType,
    InlineFragmentNode,
    ListTypeNode,
    ListValueNode,
    NamedTypeNode,
    Node,
    NonNullTypeNode,
    ObjectValueNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    TypeNode,
    ValidationRule,
    VariableNode,
    get_named_type,
    is_abstract_type,
    is_composite_type,
    is_leaf_type,
)

from schema_gen.config import RootSettings

_ID_SCALARS = ("ID", "String", "Int")
_NOT_IDS = ("Float", "Boolean")


class Inclusion(StrEnum):
    """What ``@include``/``@skip`` make of a selection."""

    ALWAYS = "always"
    NEVER = "never"  # a literal ``@include(if: false)`` or ``@skip(if: true)``
    CONDITIONAL = "conditional"  # depends on a variable


def inclusion(node: FieldNode | FragmentSpreadNode | InlineFragmentNode) -> Inclusion:
    """Whether a selection is always, never or conditionally part of the response."""
    result = Inclusion.ALWAYS
    for directive in node.directives or ():
        name = directive.name.value
        if name not in ("include", "skip"):
            continue
        value = next((argument.value for argument in directive.arguments or () if argument.name.value == "if"), None)
        if isinstance(value, BooleanValueNode):
            if value.value == (name == "skip"):
                return Inclusion.NEVER
        else:
            result = Inclusion.CONDITIONAL
    return result


def root_field_of(operation: OperationDefinitionNode) -> FieldNode | None:
    """The operation's one root field (``__typename`` aside), or None if it does not have exactly one."""
    fields = [
        selection
        for selection in operation.selection_set.selections
        if isinstance(selection, FieldNode) and selection.name.value != "__typename"
    ]
    return fields[0] if len(fields) == 1 else None


def single_query(document: DocumentNode) -> OperationDefinitionNode | None:
    """The document's operation when it has exactly one and that one is a query."""
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if len(operations) == 1 and operations[0].operation == OperationType.QUERY:
        return operations[0]
    return None


def _describe(operation: OperationDefinitionNode) -> str:
    return f"'{operation.name.value}'" if operation.name else "(anonymous)"


class SingleQueryOperationRule(ValidationRule):
    """A template is exactly one operation, and a query: each fetch sends it unchanged."""

    def enter_document(self, node: DocumentNode, *_args: Any) -> None:
        operations = [d for d in node.definitions if isinstance(d, OperationDefinitionNode)]
        if not operations:
            self.report_error(
                GraphQLError(
                    "The template has no operation; write one query such as 'query Movie($id: ID!) { movie(id: $id)"
                    " { id } }'.",
                    node.definitions[0] if node.definitions else None,
                )
            )
        for extra in operations[1:]:
            self.report_error(
                GraphQLError(
                    f"Operation {_describe(extra)} is a second operation; a template has exactly one query.", extra
                )
            )
        for operation in operations:
            if operation.operation != OperationType.QUERY:
                self.report_error(
                    GraphQLError(
                        f"Operation {_describe(operation)} is a {operation.operation.value}; a template is a query.",
                        operation,
                    )
                )


class _TemplateRule(ValidationRule):
    """Base of the rules bound to an index definition's ``root`` settings."""

    root: ClassVar[RootSettings]

    def _root_field(self, operation: OperationDefinitionNode) -> tuple[FieldNode, GraphQLOutputType] | None:
        """The root field and its type when the operation is a query with one known root field."""
        query_type = self.context.schema.query_type
        field = root_field_of(operation)
        if operation.operation != OperationType.QUERY or field is None or query_type is None:
            return None
        definition = query_type.fields.get(field.name.value)
        return (field, definition.type) if definition else None

    def _root_type(self) -> GraphQLNamedType | None:
        return self.context.schema.get_type(self.root.type)


def _unwrap_list(type_: GraphQLOutputType) -> tuple[GraphQLOutputType, int]:
    """The type inside its list wrappers (non-null removed) and how many lists there were."""
    depth = 0
    while True:
        if isinstance(type_, GraphQLNonNull):
            type_ = type_.of_type
        elif isinstance(type_, GraphQLList):
            type_, depth = type_.of_type, depth + 1
        else:
            return type_, depth


class RootFieldRule(_TemplateRule):
    """One root field, returning ``root.type`` (or a list of it, or an abstract type narrowed to it)."""

    def enter_operation_definition(self, node: OperationDefinitionNode, *_args: Any) -> None:
        if node.operation != OperationType.QUERY:
            return
        selections = node.selection_set.selections
        for selection in selections:
            if not isinstance(selection, FieldNode):
                self.report_error(
                    GraphQLError("Select the root field directly, not through a fragment on Query.", selection)
                )
        fields = [s for s in selections if isinstance(s, FieldNode) and s.name.value != "__typename"]
        if not fields:
            self.report_error(GraphQLError(f"The query selects no root field returning '{self.root.type}'.", node))
        elif len(fields) > 1:
            names = ", ".join(f"'{field.name.value}'" for field in fields)
            self.report_error(
                GraphQLError(
                    f"The query selects {len(fields)} root fields ({names}); a template selects exactly one,"
                    f" returning '{self.root.type}' (root.type).",
                    fields[1],
                )
            )
        found = self._root_field(node)
        root_type = self._root_type()
        if found is None or root_type is None:
            return
        field, field_type = found
        named, depth = _unwrap_list(field_type)
        name = field.name.value
        if depth > 1:
            self.report_error(
                GraphQLError(
                    f"Root field '{name}' returns a list of lists ({field_type}); it must return one list.", field
                )
            )
        elif named is root_type:
            return
        elif (
            is_abstract_type(named) and is_composite_type(root_type) and self._covers(named, root_type)  # type: ignore[arg-type]
        ):
            if not self._narrowed(field.selection_set):
                self.report_error(
                    GraphQLError(
                        f"Root field '{name}' returns '{named}'; narrow it to '{root_type}' (root.type) with"
                        f" '... on {root_type} {{ ... }}'.",
                        field,
                    )
                )
        else:
            self.report_error(
                GraphQLError(f"Root field '{name}' returns '{field_type}', not '{root_type}' (root.type).", field)
            )

    def _covers(self, abstract: GraphQLNamedType, root_type: GraphQLNamedType) -> bool:
        schema = self.context.schema
        inner = (
            {t.name for t in schema.get_possible_types(root_type)} if is_abstract_type(root_type) else {root_type.name}
        )
        return inner <= {t.name for t in schema.get_possible_types(abstract)}  # type: ignore[arg-type]

    def _narrowed(self, selection_set: SelectionSetNode | None) -> bool:
        for selection in selection_set.selections if selection_set else ():
            condition = None
            if isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
            elif isinstance(selection, FragmentSpreadNode):
                fragment = self.context.get_fragment(selection.name.value)
                condition = fragment.type_condition if fragment else None
            if condition is not None and condition.name.value == self.root.type:
                return True
        return False


def _id_variable_shape(type_node: TypeNode) -> tuple[str, bool] | None:
    """``(scalar name, is_list)`` for ``X!`` and ``[X!]!``; None for any other shape."""
    if not isinstance(type_node, NonNullTypeNode):
        return None
    inner = type_node.type
    if isinstance(inner, NamedTypeNode):
        return inner.name.value, False
    if isinstance(inner, ListTypeNode) and isinstance(inner.type, NonNullTypeNode):
        item = inner.type.type
        if isinstance(item, NamedTypeNode):
            return item.name.value, True
    return None


def _variables_in(node: Node | None) -> Iterator[str]:
    """Names of the variables in an argument value, however deeply nested."""
    if isinstance(node, VariableNode):
        yield node.name.value
    elif isinstance(node, ListValueNode):
        for value in node.values:
            yield from _variables_in(value)
    elif isinstance(node, ObjectValueNode):
        for field in node.fields:
            yield from _variables_in(field.value)


class TemplateVariablesRule(_TemplateRule):
    """The id variable is declared with an id type and reaches the root field; other variables are optional."""

    def enter_operation_definition(self, node: OperationDefinitionNode, *_args: Any) -> None:
        if node.operation != OperationType.QUERY:
            return
        id_name = self.root.id_variable
        example = f"query Movie(${id_name}: ID!) {{ ... }}"
        for variable in node.variable_definitions or ():
            name = variable.variable.name.value
            if name != id_name and isinstance(variable.type, NonNullTypeNode) and variable.default_value is None:
                self.report_error(
                    GraphQLError(
                        f"Variable '${name}' is required and has no default; the indexer sends only '${id_name}',"
                        " so give it a default or make it nullable.",
                        variable,
                    )
                )
        declared = next((v for v in node.variable_definitions or () if v.variable.name.value == id_name), None)
        if declared is None:
            self.report_error(
                GraphQLError(
                    f"Variable '${id_name}' (root.id_variable) is not declared; declare it, e.g. '{example}'.",
                    node.name or node,
                )
            )
            return
        shape = _id_variable_shape(declared.type)
        scalar = self.context.schema.get_type(shape[0]) if shape else None
        if shape is None or not isinstance(scalar, GraphQLScalarType) or scalar.name in _NOT_IDS:
            self.report_error(
                GraphQLError(
                    f"Variable '${id_name}' (root.id_variable) must be ID!, String!, Int! (or a custom scalar),"
                    " or a non-null list of them such as [ID!]!.",
                    declared,
                )
            )
            return
        found = self._root_field(node)
        if found is None:
            return
        field, field_type = found
        used = {name for argument in field.arguments or () for name in _variables_in(argument.value)}
        if id_name not in used:
            self.report_error(
                GraphQLError(
                    f"Root field '{field.name.value}' does not use '${id_name}' (root.id_variable) in its arguments.",
                    field,
                )
            )
        elif shape[1] and _unwrap_list(field_type)[1] == 0:
            self.report_error(
                GraphQLError(
                    f"Variable '${id_name}' is a list, so root field '{field.name.value}' must return a list"
                    f" (it returns '{field_type}').",
                    field,
                )
            )


class IdFieldRule(_TemplateRule):
    """``root.id_field`` is selected on the root entity, for every document, as one scalar value."""

    def enter_operation_definition(self, node: OperationDefinitionNode, *_args: Any) -> None:
        found = self._root_field(node)
        root_type = self._root_type()
        if found is None or root_type is None or not is_composite_type(root_type):
            return
        field, field_type = found
        id_key = self.root.id_field
        matches = list(self._selected(field.selection_set, get_named_type(field_type), root_type, False, set()))
        if not matches:
            self.report_error(
                GraphQLError(
                    f"Field '{id_key}' (root.id_field) is not selected on '{root_type}'; select it, it is the"
                    " document id.",
                    field,
                )
            )
            return
        always = [(selection, parent) for selection, parent, conditional in matches if not conditional]
        if not always:
            self.report_error(
                GraphQLError(
                    f"Field '{id_key}' (root.id_field) is selected only under @include/@skip; the document id"
                    " must always be selected.",
                    matches[0][0],
                )
            )
            return
        selection, parent = always[0]
        definition = getattr(parent, "fields", {}).get(selection.name.value)
        if definition is None:
            return  # an unknown field: FieldsOnCorrectTypeRule reports it
        named, depth = _unwrap_list(definition.type)
        if depth or not is_leaf_type(named):
            self.report_error(
                GraphQLError(
                    f"Field '{id_key}' (root.id_field) is '{definition.type}'; the document id must be a single"
                    " scalar value.",
                    selection,
                )
            )

    def _selected(
        self,
        selection_set: SelectionSetNode | None,
        parent: GraphQLNamedType,
        root_type: GraphQLNamedType,
        conditional: bool,
        visited: set[str],
    ) -> Iterator[tuple[FieldNode, GraphQLNamedType, bool]]:
        """Selections of the id's response key that apply to every possible type of the root entity."""
        schema = self.context.schema
        for selection in selection_set.selections if selection_set else ():
            included = inclusion(selection)
            if included is Inclusion.NEVER:
                continue
            maybe = conditional or included is Inclusion.CONDITIONAL
            if isinstance(selection, FieldNode):
                key = selection.alias.value if selection.alias else selection.name.value
                if key == self.root.id_field:
                    yield selection, parent, maybe
                continue
            if isinstance(selection, InlineFragmentNode):
                condition, inner = selection.type_condition, selection.selection_set
            else:
                name = selection.name.value
                fragment = self.context.get_fragment(name)
                if fragment is None or name in visited:
                    continue
                visited = visited | {name}
                condition, inner = fragment.type_condition, fragment.selection_set
            target = schema.get_type(condition.name.value) if condition else parent
            if target is not None and is_composite_type(target) and self._applies_to_all(target, root_type):
                yield from self._selected(inner, target, root_type, maybe, visited)

    def _applies_to_all(self, target: GraphQLNamedType, root_type: GraphQLNamedType) -> bool:
        schema = self.context.schema
        if target is root_type:
            return True
        if not is_abstract_type(target):
            return False
        needed = schema.get_possible_types(root_type) if is_abstract_type(root_type) else [root_type]  # type: ignore[arg-type]
        return all(schema.is_sub_type(target, t) for t in needed)  # type: ignore[arg-type]


def template_rules(root: RootSettings) -> tuple[type[ValidationRule], ...]:
    """Our rules, the ones that need it bound to the index definition's ``root`` settings."""
    bound = {"root": root}
    return (
        SingleQueryOperationRule,
        type("RootFieldRule", (RootFieldRule,), bound),
        type("TemplateVariablesRule", (TemplateVariablesRule,), bound),
        type("IdFieldRule", (IdFieldRule,), bound),
    )
