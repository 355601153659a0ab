"""Load a GraphQL schema leniently: real schemas are imperfect, and a query can still be checked against them.

SDL is parsed, then repaired before it is built: later duplicate definitions of a type, field, enum
value, argument or directive are dropped (the first is kept), extensions of types the file never
defines become the definitions (federation 1 subgraphs), and directives and types the file uses but
does not declare (``@key``, ``@link``, ``_FieldSet``, ``_Any`` ...) are declared leniently. The schema
is then built without SDL validation, and whatever ``validate_sdl`` and ``validate_schema`` still
find becomes a warning. Only a schema that cannot be parsed or built, or has no Query type, is an
error (``SchemaError``).

Each warning is a ``SchemaProblem`` carrying the schema coordinates it is about (``Type`` or
``Type.field``), so that the walker can turn the ones the query touches into errors.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from graphql import (
    BooleanValueNode,
    ConstDirectiveNode,
    DirectiveDefinitionNode,
    DirectiveNode,
    DocumentNode,
    EnumTypeDefinitionNode,
    EnumTypeExtensionNode,
    FieldNode,
    FloatValueNode,
    GraphQLError,
    GraphQLNamedType,
    GraphQLSchema,
    InputObjectTypeDefinitionNode,
    InputObjectTypeExtensionNode,
    InterfaceTypeDefinitionNode,
    InterfaceTypeExtensionNode,
    IntValueNode,
    ListTypeNode,
    NamedTypeNode,
    Node,
    NonNullTypeNode,
    ObjectTypeDefinitionNode,
    ObjectTypeExtensionNode,
    OperationDefinitionNode,
    ScalarTypeDefinitionNode,
    ScalarTypeExtensionNode,
    SchemaDefinitionNode,
    Source,
    StringValueNode,
    TypeDefinitionNode,
    TypeExtensionNode,
    TypeNode,
    UnionTypeDefinitionNode,
    UnionTypeExtensionNode,
    build_ast_schema,
    build_client_schema,
    is_specified_scalar_type,
    parse,
    specified_directives,
    specified_scalar_types,
    validate_schema,
)
from graphql.validation.validate import validate_sdl

from schema_gen.errors import Problem, SchemaError

_BUILT_IN_DIRECTIVES = frozenset(directive.name for directive in specified_directives)
_BUILT_IN_SCALARS = frozenset(specified_scalar_types)

# Apollo Federation (subgraph and supergraph) names that are routinely used without a declaration;
# declaring them is expected and not worth a warning. Namespaced names (``join__type``) count too.
_FEDERATION_DIRECTIVES = frozenset(
    (
        "key", "external", "requires", "provides", "extends", "shareable", "inaccessible", "override", "tag",
        "link", "composeDirective", "interfaceObject", "authenticated", "requiresScopes", "policy", "context",
        "fromContext", "cost", "listSize", "core",
    )
)  # fmt: skip
_FEDERATION_TYPES = frozenset(("_Any", "_FieldSet", "FieldSet", "_Entity", "_Service", "Import", "Purpose", "Scope"))
_LENIENT_SCALAR = "_Any"
_TYPE_SYSTEM_LOCATIONS = (
    "SCHEMA | SCALAR | OBJECT | FIELD_DEFINITION | ARGUMENT_DEFINITION | INTERFACE | UNION | ENUM | ENUM_VALUE"
    " | INPUT_OBJECT | INPUT_FIELD_DEFINITION"
)
_LITERAL_TYPES: dict[type[Node], str] = {
    StringValueNode: "String",
    IntValueNode: "Int",
    FloatValueNode: "Float",
    BooleanValueNode: "Boolean",
}
_EXTENSION_TO_DEFINITION: dict[type[TypeExtensionNode], type[TypeDefinitionNode]] = {
    ObjectTypeExtensionNode: ObjectTypeDefinitionNode,
    InterfaceTypeExtensionNode: InterfaceTypeDefinitionNode,
    UnionTypeExtensionNode: UnionTypeDefinitionNode,
    EnumTypeExtensionNode: EnumTypeDefinitionNode,
    InputObjectTypeExtensionNode: InputObjectTypeDefinitionNode,
    ScalarTypeExtensionNode: ScalarTypeDefinitionNode,
}
_COORDINATE_IN_MESSAGE = re.compile(r"\b([A-Za-z_]\w*)\.([A-Za-z_]\w*)\b")
_WORD = re.compile(r"[A-Za-z_]\w*")


@dataclass(frozen=True)
class SchemaProblem(Problem):
    """A schema problem with the schema coordinates it concerns: ``Type``, ``Type.field`` or ``@directive``."""

    coordinates: frozenset[str] = frozenset()


@dataclass(frozen=True)
class LoadedSchema:
    """A usable schema (marked valid, so queries can be validated against it) and what is wrong with it."""

    schema: GraphQLSchema
    warnings: tuple[Problem, ...]
    """Schema problems that did not stop loading, in source order."""


def schema_from_sdl(text: str, source: str) -> LoadedSchema:
    """Build a schema from SDL leniently; ``SchemaError`` only if it cannot be parsed or built at all."""
    try:
        document = parse(Source(text, source))
    except GraphQLError as error:
        raise SchemaError("cannot parse the schema", [_problem(error, source)]) from None
    repair = _SdlRepair(source)
    repaired = repair.apply(document)
    locator = _CoordinateLocator(repaired, source)
    problems = list(repair.problems)
    problems += [_schema_problem(error, source, locator) for error in validate_sdl(repaired)]
    try:
        schema = build_ast_schema(repaired, assume_valid_sdl=True)
    except (GraphQLError, TypeError) as error:
        raise SchemaError(f"cannot build a schema from {source}: {error}") from None
    return _finish(schema, source, problems, locator)


def schema_from_introspection(data: Mapping[str, Any], source: str) -> LoadedSchema:
    """Build a schema from an introspection result: ``{"data": {"__schema": ...}}`` or ``{"__schema": ...}``."""
    result: Any = data.get("data", data) if isinstance(data, Mapping) else None
    if not isinstance(result, Mapping) or not isinstance(result.get("__schema"), Mapping):
        raise SchemaError(f"{source}: not an introspection result (expected a __schema object, or data.__schema)")
    try:
        schema = build_client_schema(result)  # type: ignore[arg-type]
    except (GraphQLError, TypeError, KeyError, ValueError) as error:
        raise SchemaError(f"{source}: the introspection result cannot be used: {error}") from None
    return _finish(schema, source, [], None)


def _finish(
    schema: GraphQLSchema, source: str, problems: list[SchemaProblem], locator: _CoordinateLocator | None
) -> LoadedSchema:
    if schema.query_type is None:
        raise SchemaError(f"{source}: the schema has no Query type, so there is nothing to query")
    for error in validate_schema(schema):
        problems.append(_schema_problem(error, source, locator, schema))
    problems.sort(key=_source_order)
    usable = GraphQLSchema(**{**schema.to_kwargs(), "assume_valid": True})
    return LoadedSchema(usable, tuple(problems))


def _source_order(problem: SchemaProblem) -> tuple[int, int]:
    match = re.search(r":(\d+):(\d+)$", problem.where)
    return (int(match.group(1)), int(match.group(2))) if match else (0, 0)


def _problem(error: GraphQLError, source: str) -> Problem:
    """A graphql-core error as a ``Problem`` at ``source:line:col`` of its first location."""
    if error.locations:
        location = error.locations[0]
        return Problem(f"{source}:{location.line}:{location.column}", error.message)
    return Problem(source, error.message)


def _schema_problem(
    error: GraphQLError, source: str, locator: _CoordinateLocator | None, schema: GraphQLSchema | None = None
) -> SchemaProblem:
    base = _problem(error, source)
    coordinates: set[str] = set()
    if locator is not None:
        coordinates |= locator.coordinates(error.nodes or ())
    if not coordinates:
        coordinates |= _coordinates_in_message(error.message, schema)
    return SchemaProblem(base.where, base.message, frozenset(coordinates))


def _coordinates_in_message(message: str, schema: GraphQLSchema | None) -> set[str]:
    """Coordinates named in a message (``Type.field``, type names), for problems that have no AST nodes."""
    found = {f"{match.group(1)}.{match.group(2)}" for match in _COORDINATE_IN_MESSAGE.finditer(message)}
    if schema is not None:
        found |= {
            word
            for word in _WORD.findall(message)
            if word in schema.type_map and not is_specified_scalar_type(schema.type_map[word])
        }
    return found


class _CoordinateLocator:
    """Maps a position in the SDL to the innermost definition around it: ``Type.member``, ``Type`` or ``@dir``."""

    def __init__(self, document: DocumentNode, source: str) -> None:
        self._source = source
        types: list[tuple[int, int, str]] = []
        members: list[tuple[int, int, str]] = []
        for definition in document.definitions:
            if definition.loc is None or definition.loc.source.name != source:
                continue
            if isinstance(definition, TypeDefinitionNode | TypeExtensionNode):
                name = definition.name.value
                types.append((definition.loc.start, definition.loc.end, name))
                for member in _members(definition):
                    if member.loc is not None:
                        members.append((member.loc.start, member.loc.end, f"{name}.{member.name.value}"))
            elif isinstance(definition, DirectiveDefinitionNode):
                types.append((definition.loc.start, definition.loc.end, f"@{definition.name.value}"))
        self._types = sorted(types)
        self._members = sorted(members)
        self._type_starts = [start for start, _, _ in self._types]
        self._member_starts = [start for start, _, _ in self._members]

    def coordinates(self, nodes: Iterable[Node]) -> set[str]:
        found: set[str] = set()
        for node in nodes:
            if node.loc is None or node.loc.source.name != self._source:
                continue
            coordinate = self._find(self._members, self._member_starts, node.loc.start) or self._find(
                self._types, self._type_starts, node.loc.start
            )
            if coordinate:
                found.add(coordinate)
        return found

    @staticmethod
    def _find(spans: list[tuple[int, int, str]], starts: list[int], position: int) -> str | None:
        index = bisect_right(starts, position) - 1
        if index >= 0 and spans[index][1] >= position:
            return spans[index][2]
        return None


def _members(definition: Node) -> Sequence[Any]:
    """Fields, enum values or input fields of a type definition or extension."""
    return tuple(getattr(definition, "fields", None) or getattr(definition, "values", None) or ())


def _named(type_node: TypeNode) -> NamedTypeNode:
    while isinstance(type_node, NonNullTypeNode | ListTypeNode):
        type_node = type_node.type
    assert isinstance(type_node, NamedTypeNode)
    return type_node


def _federation_name(name: str, known: frozenset[str]) -> bool:
    return name in known or "__" in name.strip("_")


class _SdlRepair:
    """Turns imperfect SDL into SDL that builds, recording each repair as a warning."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.problems: list[SchemaProblem] = []

    def apply(self, document: DocumentNode) -> DocumentNode:
        definitions = self._drop_duplicate_definitions(document.definitions)
        definitions = self._drop_duplicate_members(definitions)
        definitions = self._promote_orphan_extensions(definitions)
        definitions = self._drop_missing_abstract_references(definitions)
        definitions += self._declare_missing(definitions)
        return DocumentNode(definitions=tuple(definitions), loc=document.loc)

    def _warn(self, node: Node, message: str, coordinates: Iterable[str]) -> None:
        if not isinstance(node, DirectiveNode):  # point at a definition's name, not at its description
            node = getattr(node, "name", None) or node
        where = self.source
        if node.loc is not None:
            location = node.loc.source.get_location(node.loc.start)
            where = f"{self.source}:{location.line}:{location.column}"
        self.problems.append(SchemaProblem(where, message, frozenset(coordinates)))

    def _line(self, node: Node) -> str:
        node = getattr(node, "name", None) or node
        return f"line {node.loc.source.get_location(node.loc.start).line}" if node.loc else "elsewhere"

    def _drop_duplicate_definitions(self, definitions: Sequence[Any]) -> list[Any]:
        kept: list[Any] = []
        first: dict[str, Node] = {}
        for definition in definitions:
            if isinstance(definition, TypeDefinitionNode):
                key, label = definition.name.value, f"type {definition.name.value}"
            elif isinstance(definition, DirectiveDefinitionNode):
                key, label = f"@{definition.name.value}", f"directive @{definition.name.value}"
            elif isinstance(definition, SchemaDefinitionNode):
                key, label = "schema", "the schema definition"
            else:
                kept.append(definition)
                continue
            if key in first:
                self._warn(
                    definition, f"{label} is defined again (first at {self._line(first[key])}); kept the first", {key}
                )
                continue
            first[key] = definition
            kept.append(definition)
        return kept

    def _drop_duplicate_members(self, definitions: list[Any]) -> list[Any]:
        seen: dict[tuple[str, str], dict[str, Node]] = {}
        kept: list[Any] = []
        for definition in definitions:
            if isinstance(definition, DirectiveDefinitionNode):
                name = f"@{definition.name.value}"
                kept.append(self._unique(definition, "arguments", {}, name, f"argument of {name}"))
                continue
            if not isinstance(definition, TypeDefinitionNode | TypeExtensionNode):
                kept.append(definition)
                continue
            name = definition.name.value
            for attribute, what in (
                ("fields", "field"),
                ("values", "value"),
                ("interfaces", "interface"),
                ("types", "member"),
            ):
                if getattr(definition, attribute, None):
                    scope = seen.setdefault((name, attribute), {})
                    definition = self._unique(definition, attribute, scope, name, what)
            if getattr(definition, "fields", None) and not isinstance(
                definition, InputObjectTypeDefinitionNode | InputObjectTypeExtensionNode
            ):
                fields = tuple(
                    self._unique(field, "arguments", {}, f"{name}.{field.name.value}", "argument")
                    for field in definition.fields
                )
                definition = replace(definition, fields=fields)
            kept.append(definition)
        return kept

    def _unique(self, node: Any, attribute: str, seen: dict[str, Node], owner: str, what: str) -> Any:
        """``node`` with later duplicates (by name) in ``node.<attribute>`` dropped."""
        members = getattr(node, attribute, None) or ()
        unique = []
        for member in members:
            member_name = member.name.value
            if member_name in seen:
                coordinate = f"{owner}.{member_name}" if what in ("field", "value") else owner
                self._warn(
                    member,
                    f"{what} {member_name} of {owner} is defined again (first at {self._line(seen[member_name])});"
                    " kept the first",
                    {coordinate},
                )
                continue
            seen[member_name] = member
            unique.append(member)
        if len(unique) == len(members):
            return node
        return replace(node, **{attribute: tuple(unique)})

    def _promote_orphan_extensions(self, definitions: list[Any]) -> list[Any]:
        defined = {d.name.value for d in definitions if isinstance(d, TypeDefinitionNode)} | _BUILT_IN_SCALARS
        promoted: list[Any] = []
        for definition in definitions:
            if isinstance(definition, TypeExtensionNode) and definition.name.value not in defined:
                kind = _EXTENSION_TO_DEFINITION[type(definition)]
                definition = kind(**{key: getattr(definition, key) for key in definition.keys})
                defined.add(definition.name.value)
            promoted.append(definition)
        return promoted

    def _drop_missing_abstract_references(self, definitions: list[Any]) -> list[Any]:
        defined = {d.name.value for d in definitions if isinstance(d, TypeDefinitionNode)}
        kept: list[Any] = []
        for definition in definitions:
            for attribute, what in (("interfaces", "interface"), ("types", "union member")):
                references = getattr(definition, attribute, None)
                if not references:
                    continue
                present = tuple(ref for ref in references if ref.name.value in defined)
                for ref in references:
                    if ref.name.value not in defined:
                        name = definition.name.value
                        self._warn(ref, f"{what} {ref.name.value} of {name} is not defined; left it out", {name})
                if len(present) != len(references):
                    definition = replace(definition, **{attribute: present})
            kept.append(definition)
        return kept

    def _declare_missing(self, definitions: list[Any]) -> list[Any]:
        """Declarations for the directives and types the SDL uses without declaring them."""
        defined_types = {d.name.value for d in definitions if isinstance(d, TypeDefinitionNode)} | _BUILT_IN_SCALARS
        defined_directives = {
            d.name.value for d in definitions if isinstance(d, DirectiveDefinitionNode)
        } | _BUILT_IN_DIRECTIVES
        missing_types: dict[str, Node | None] = {}
        missing_directives: dict[str, tuple[Node, dict[str, set[str]]]] = {}
        for node in _type_references(definitions):
            name = node.name.value
            if name not in defined_types:
                missing_types.setdefault(name, node)
        for directive in _directive_usages(definitions):
            name = directive.name.value
            if name in defined_directives:
                continue
            _, arguments = missing_directives.setdefault(name, (directive, {}))
            for argument in directive.arguments or ():
                kind = _LITERAL_TYPES.get(type(argument.value), _LENIENT_SCALAR)
                arguments.setdefault(argument.name.value, set()).add(kind)
        lines: list[str] = []
        for name, (directive, arguments) in missing_directives.items():
            if not _federation_name(name, _FEDERATION_DIRECTIVES):
                self._warn(directive, f"directive @{name} is not declared; declared it leniently", {f"@{name}"})
            declared = [
                f"{arg}: {kinds.pop() if len(kinds) == 1 else _LENIENT_SCALAR}" for arg, kinds in arguments.items()
            ]
            signature = f"({', '.join(declared)})" if declared else ""
            lines.append(f"directive @{name}{signature} repeatable on {_TYPE_SYSTEM_LOCATIONS}")
        if any(_LENIENT_SCALAR in line for line in lines) and _LENIENT_SCALAR not in defined_types:
            missing_types.setdefault(_LENIENT_SCALAR, None)
        for name, node in missing_types.items():
            if node is not None and not _federation_name(name, _FEDERATION_TYPES):
                self._warn(node, f"type {name} is not defined; declared it as a scalar", {name})
            lines.append(f"scalar {name}")
        if not lines:
            return []
        return list(parse(Source("\n".join(lines), f"{self.source} (declared by graphdex)")).definitions)


def _type_references(definitions: Iterable[Any]) -> Iterable[NamedTypeNode]:
    """Named types used as field, argument and input-field types and as root operation types."""
    for definition in definitions:
        if isinstance(definition, SchemaDefinitionNode):
            yield from (operation.type for operation in definition.operation_types)
        for member in getattr(definition, "fields", None) or ():
            yield _named(member.type)
            for argument in getattr(member, "arguments", None) or ():
                yield _named(argument.type)
        if isinstance(definition, DirectiveDefinitionNode):
            for argument in definition.arguments or ():
                yield _named(argument.type)


def _directive_usages(definitions: Iterable[Any]) -> Iterable[ConstDirectiveNode]:
    """Directives applied anywhere in type-system definitions."""
    for definition in definitions:
        yield from getattr(definition, "directives", None) or ()
        for member in _members(definition):
            yield from member.directives or ()
            for argument in getattr(member, "arguments", None) or ():
                yield from argument.directives or ()
        for argument in getattr(definition, "arguments", None) or ():
            yield from argument.directives or ()


def federation_keys(type_: GraphQLNamedType) -> tuple[tuple[str, ...], ...]:
    """Top-level field names of each ``@key(fields: ...)`` (or supergraph ``@join__type(key: ...)``) on a type.

    Read from the SDL the type was built from (definition and extensions); empty for introspected schemas.
    """
    keys: list[tuple[str, ...]] = []
    for node in (type_.ast_node, *(getattr(type_, "extension_ast_nodes", None) or ())):
        for directive in getattr(node, "directives", None) or ():
            argument = {"key": "fields", "join__type": "key"}.get(directive.name.value)
            value = next((a.value for a in directive.arguments or () if a.name.value == argument), None)
            if isinstance(value, StringValueNode):
                try:
                    selection = parse(f"{{{value.value}}}", no_location=True)
                except GraphQLError:
                    continue  # a malformed key names no fields we could match
                operation = selection.definitions[0]
                assert isinstance(operation, OperationDefinitionNode)
                names = tuple(s.name.value for s in operation.selection_set.selections if isinstance(s, FieldNode))
                if names and names not in keys:
                    keys.append(names)
    return tuple(keys)
