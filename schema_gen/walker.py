"""Walk a validated query template once into the ``DocumentModel`` every generator derives from.

Fields are collected the way graphql-core's ``execution/collect_fields.py`` does it (fragments
expanded, literal ``@include``/``@skip`` honoured), but for every concrete type at once: each
occurrence of a response key remembers the concrete types it applies to and whether a variable makes
it conditional, which gives ``only_on`` and ``conditional``. Occurrences of one key are merged and
their sub-selections collected together, so no part of the query is walked twice.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from graphql import (
    DocumentNode,
    FragmentDefinitionNode,
    GraphQLCompositeType,
    GraphQLEnumType,
    GraphQLError,
    GraphQLID,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLScalarType,
    GraphQLSchema,
    InlineFragmentNode,
    ListTypeNode,
    NonNullTypeNode,
    OperationDefinitionNode,
    SelectionSetNode,
    Source,
    get_named_type,
    is_abstract_type,
    is_composite_type,
    parse,
    print_ast,
    specified_rules,
    validate,
    value_from_ast_untyped,
)
from graphql import FieldNode as FieldSelection
from graphql.pyutils import did_you_mean, suggestion_list

from schema_gen.config import IndexConfig
from schema_gen.errors import ConfigError, Problem, QueryError
from schema_gen.model import DocumentModel, FieldKind, FieldNode, ScalarKind
from schema_gen.rules import Inclusion, inclusion, root_field_of, single_query, template_rules
from schema_gen.schema_loader import LoadedSchema, SchemaProblem, federation_keys

_BUILT_IN_SCALARS = {kind.value: kind for kind in ScalarKind if kind is not ScalarKind.CUSTOM}


def parse_template(text: str, source: str) -> DocumentNode:
    """Parse a query template; ``QueryError`` with ``source:line:col`` on a syntax error."""
    try:
        return parse(Source(text, source))
    except GraphQLError as error:
        raise QueryError("cannot parse the query template", [_problem(error, source)]) from None


def build_model(
    loaded: LoadedSchema,
    document: DocumentNode,
    config: IndexConfig,
    source: str,
    *,
    config_source: str = "index definition",
) -> DocumentModel:
    """Validate the template against the schema and the index definition, then walk it into a model.

    Raises ``ConfigError`` (naming ``config_source`` and the dotted key) when the definition does not
    fit the schema or the query, and ``QueryError`` listing every problem as ``source:line:col``;
    schema warnings about types or fields the query uses are query errors too.
    """
    schema = loaded.schema
    problems = _config_problems(schema, config, config_source)
    if problems:
        raise ConfigError("invalid index definition", problems)
    errors = validate(schema, document, [*specified_rules, *template_rules(config.root)])
    if errors:
        raise QueryError("the query template does not validate", [_problem(e, source) for e in errors])
    operation = single_query(document)
    root_field = root_field_of(operation) if operation else None
    assert operation is not None, "guaranteed by the template rules"
    assert root_field is not None, "guaranteed by the template rules"
    walker = _Walker(loaded, document, config, source)
    model = walker.model(operation, root_field)
    walker.check(config_source)
    return model


def _problem(error: GraphQLError, source: str) -> Problem:
    if error.locations:
        location = error.locations[0]
        return Problem(f"{source}:{location.line}:{location.column}", error.message)
    return Problem(source, error.message)


def _suggest(name: str, options: Iterable[str]) -> str:
    """`` Did you mean 'x'?`` for the closest options, leaving out internal names (``_Any``, ``__Type``)."""
    return did_you_mean(suggestion_list(name, [option for option in options if not option.startswith("_")]))


def _config_problems(schema: GraphQLSchema, config: IndexConfig, where: str) -> list[Problem]:
    """Keys of the index definition that name types or fields the schema does not have."""
    problems: list[Problem] = []
    composite = [name for name, t in schema.type_map.items() if is_composite_type(t) and not name.startswith("__")]
    root_type = schema.get_type(config.root.type)
    if root_type is None or not is_composite_type(root_type):
        reason = "is not a type in the schema" if root_type is None else "is not an object, interface or union type"
        suggestion = _suggest(config.root.type, composite)
        problems.append(Problem(f"{where}: root.type", f"'{config.root.type}' {reason}.{suggestion}"))
    for type_name, field_names in config.keys.items():
        type_ = schema.get_type(type_name)
        if not isinstance(type_, GraphQLObjectType | GraphQLInterfaceType):
            message = f"'{type_name}' is not an object or interface type in the schema.{_suggest(type_name, composite)}"
            problems.append(Problem(f"{where}: keys.{type_name}", message))
            continue
        if not field_names:
            problems.append(Problem(f"{where}: keys.{type_name}", "give at least one field"))
        for index, name in enumerate(field_names):
            if name not in type_.fields:
                message = f"'{type_name}' has no field '{name}'.{_suggest(name, type_.fields)}"
                problems.append(Problem(f"{where}: keys.{type_name}[{index}]", message))
    for index, event in enumerate(config.events):
        if not isinstance(schema.get_type(event.type), GraphQLObjectType | GraphQLInterfaceType):
            message = (
                f"'{event.type}' is not an object or interface type in the schema.{_suggest(event.type, composite)}"
            )
            problems.append(Problem(f"{where}: events[{index}].type", message))
    scalars = [name for name, t in schema.type_map.items() if isinstance(t, GraphQLScalarType)]
    for name in config.scalars:
        if name not in scalars:
            message = f"'{name}' is not a scalar in the schema.{_suggest(name, scalars)}"
            problems.append(Problem(f"{where}: scalars.{name}", message))
    return problems


def _list_levels(type_: GraphQLOutputType) -> tuple[bool, ...]:
    """Whether the items of each list level may be null, outermost first (empty when not a list)."""
    levels: list[bool] = []
    inner = type_.of_type if isinstance(type_, GraphQLNonNull) else type_
    while isinstance(inner, GraphQLList):
        item = inner.of_type
        levels.append(not isinstance(item, GraphQLNonNull))
        inner = item.of_type if isinstance(item, GraphQLNonNull) else item
    return tuple(levels)


def _lower_camel(name: str) -> str:
    """``Movie`` -> ``movie``, ``TVSeries`` -> ``tvSeries``, ``URL`` -> ``url``."""
    upper = len(name) - len(name.lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ"))
    if upper > 1 and upper < len(name):
        upper -= 1
    return name[:upper].lower() + name[upper:]


@dataclass(frozen=True)
class _Occurrence:
    """One selection of a response key: the field node, the type it is selected on, and when it applies."""

    node: FieldSelection
    parent: GraphQLCompositeType
    scope: frozenset[str]
    """Concrete types of the enclosing object for which this selection applies."""
    conditional: bool


_Grouped = dict[str, dict[tuple[int, frozenset[str], bool], _Occurrence]]


@dataclass
class _Usage:
    """Schema coordinates the query touches, to tell which schema warnings matter."""

    fields: set[str] = field(default_factory=set)
    types: set[str] = field(default_factory=set)

    def touches(self, problem: SchemaProblem) -> bool:
        return any(c in self.fields or c in self.types for c in problem.coordinates)


class _Walker:
    """Builds the model of one template; collects what the query uses and what is wrong on the way."""

    def __init__(self, loaded: LoadedSchema, document: DocumentNode, config: IndexConfig, source: str) -> None:
        self.schema = loaded.schema
        self.warnings = loaded.warnings
        self.config = config
        self.source = source
        self.document = document
        self.fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
        self.usage = _Usage()
        self.paths: set[str] = set()
        self.problems: list[Problem] = []
        self._keys: dict[str, tuple[tuple[str, ...], ...]] = {}

    def model(self, operation: OperationDefinitionNode, root_field: FieldSelection) -> DocumentModel:
        schema, root = self.schema, self.config.root
        assert schema.query_type is not None
        definition = schema.query_type.fields[root_field.name.value]
        parent, root_type = get_named_type(definition.type), schema.get_type(root.type)
        assert is_composite_type(parent)
        assert root_type is not None
        assert is_composite_type(root_type)
        scope = self._possible(root_type)
        self.usage.fields.add(f"{schema.query_type.name}.{root_field.name.value}")
        self.usage.types |= scope | {root_type.name, parent.name}
        grouped: _Grouped = {}
        self._collect(root_field.selection_set, parent, scope, False, grouped)  # type: ignore[arg-type]
        children = self._children(grouped, "", scope)
        root_node = FieldNode(
            key=root_field.alias.value if root_field.alias else root_field.name.value,
            name=root_field.name.value,
            path="",
            type_name=root_type.name,
            kind=FieldKind.OBJECT,
            nullable=False,
            children=children,
            abstract=is_abstract_type(root_type),
            possible_types=tuple(sorted(scope)),
            key_fields=self._key_fields(root_type, children),
            description=root_type.description,
            options=self.config.options_for(""),
        )
        variables = operation.variable_definitions or ()
        id_type = next(v.type for v in variables if v.variable.name.value == root.id_variable)
        return DocumentModel(
            index=self.config.index,
            root=root_node,
            root_field=root_field.name.value,
            root_response_key=root_node.key,
            root_returns_list=bool(_list_levels(definition.type)),
            id_field=root.id_field,
            id_variable=root.id_variable,
            id_variable_is_list=isinstance(id_type, NonNullTypeNode) and isinstance(id_type.type, ListTypeNode),
            operation_name=operation.name.value if operation.name else None,
            query=self.document.loc.source.body if self.document.loc else print_ast(self.document),
            variable_defaults={
                v.variable.name.value: value_from_ast_untyped(v.default_value)
                for v in variables
                if v.default_value is not None and v.variable.name.value != root.id_variable
            },
        )

    def check(self, config_source: str) -> None:
        """Raise for what the walk found: unmodellable selections, broken schema parts in use, stray options."""
        if self.problems:
            raise QueryError("the query template cannot be turned into a document", self.problems)
        touched = [w for w in self.warnings if isinstance(w, SchemaProblem) and self.usage.touches(w)]
        if touched:
            raise QueryError(
                "the query template uses parts of the schema that are broken",
                [Problem(w.where, f"{w.message} (the query uses it)") for w in touched],
            )
        problems = []
        for path in self.config.fields:
            if path not in self.paths:
                message = f"no field of the query has this response path.{_suggest(path, sorted(self.paths))}"
                problems.append(Problem(f"{config_source}: fields.{path}", message))
        id_field = self.config.root.id_field
        if self.config.options_for(id_field).exclude:
            problems.append(
                Problem(f"{config_source}: fields.{id_field}", "the document id (root.id_field) cannot be excluded")
            )
        if problems:
            raise ConfigError("invalid index definition", problems)

    def _possible(self, type_: GraphQLNamedType) -> frozenset[str]:
        if is_abstract_type(type_):
            return frozenset(t.name for t in self.schema.get_possible_types(type_))  # type: ignore[arg-type]
        return frozenset((type_.name,))

    def _collect(
        self,
        selection_set: SelectionSetNode | None,
        parent: GraphQLCompositeType,
        scope: frozenset[str],
        conditional: bool,
        into: _Grouped,
    ) -> None:
        """Group selections by response key (fragments expanded), each with where and when it applies."""
        for selection in selection_set.selections if selection_set else ():
            included = inclusion(selection)
            if included is Inclusion.NEVER:
                continue
            maybe = conditional or included is Inclusion.CONDITIONAL
            if isinstance(selection, FieldSelection):
                key = selection.alias.value if selection.alias else selection.name.value
                occurrence = _Occurrence(selection, parent, scope, maybe)
                into.setdefault(key, {})[(id(selection), scope, maybe)] = occurrence
                continue
            if isinstance(selection, InlineFragmentNode):
                condition, inner = selection.type_condition, selection.selection_set
            else:
                fragment = self.fragments[selection.name.value]
                condition, inner = fragment.type_condition, fragment.selection_set
            target = self.schema.get_type(condition.name.value) if condition else parent
            assert target is not None
            assert is_composite_type(target)
            narrowed = scope & self._possible(target)
            if narrowed:  # a fragment on a type the enclosing object can never be adds nothing
                self.usage.types.add(target.name)
                self._collect(inner, target, narrowed, maybe, into)  # type: ignore[arg-type]

    def _children(self, grouped: _Grouped, parent_path: str, scope: frozenset[str]) -> tuple[FieldNode, ...]:
        nodes = (self._field(key, list(found.values()), parent_path, scope) for key, found in grouped.items())
        return tuple(node for node in nodes if node is not None)

    def _field(
        self, key: str, occurrences: list[_Occurrence], parent_path: str, scope: frozenset[str]
    ) -> FieldNode | None:
        """The merged node of one response key, or None when it is excluded or cannot be modelled."""
        path = f"{parent_path}.{key}" if parent_path else key
        self.paths.add(path)
        covered = frozenset().union(*(o.scope for o in occurrences))
        name = occurrences[0].node.name.value
        common = {
            "key": key,
            "name": name,
            "path": path,
            "only_on": None if covered >= scope else tuple(sorted(covered)),
            "conditional": all(o.conditional for o in occurrences),
            "options": self.config.options_for(path),
        }
        if all(o.node.name.value == "__typename" for o in occurrences):
            node = FieldNode(type_name="String", kind=FieldKind.TYPENAME, nullable=False, **common)  # type: ignore[arg-type]
            return None if node.options.exclude else node
        definitions = [o.parent.fields.get(o.node.name.value) for o in occurrences]  # type: ignore[union-attr]
        shapes = {
            (o.node.name.value, str(get_named_type(d.type)) if d else "", len(_list_levels(d.type)) if d else 0)
            for o, d in zip(occurrences, definitions, strict=True)
        }
        if len(shapes) > 1 or definitions[0] is None:
            selected = ", ".join(f"{o.parent}.{o.node.name.value}" for o in occurrences)
            self.problems.append(
                _problem(
                    GraphQLError(
                        f"Response key '{key}' selects different fields ({selected}); a document field has one"
                        " meaning, so give them different aliases.",
                        occurrences[-1].node,
                    ),
                    self.source,
                )
            )
            return None
        for occurrence in occurrences:
            self.usage.fields |= {f"{t}.{name}" for t in (occurrence.parent.name, *occurrence.scope)}
        types = [d.type for d in definitions if d is not None]
        named = get_named_type(types[0])
        self.usage.types.add(named.name)
        levels = tuple(any(level) for level in zip(*(_list_levels(t) for t in types), strict=True))
        nullable = any(not isinstance(t, GraphQLNonNull) for t in types)
        shape = {"type_name": named.name, "nullable": nullable, "list_items_nullable": levels, **common}
        shape["description"] = definitions[0].description  # type: ignore[union-attr]
        if isinstance(named, GraphQLEnumType):
            node = FieldNode(kind=FieldKind.ENUM, enum_values=tuple(named.values), **shape)  # type: ignore[arg-type]
        elif isinstance(named, GraphQLScalarType):
            scalar = _BUILT_IN_SCALARS.get(named.name, ScalarKind.CUSTOM)
            node = FieldNode(kind=FieldKind.SCALAR, scalar=scalar, **shape)  # type: ignore[arg-type]
        else:
            assert is_composite_type(named)
            child_scope = self._possible(named)
            grouped: _Grouped = {}
            for occurrence in occurrences:
                self._collect(occurrence.node.selection_set, named, child_scope, False, grouped)  # type: ignore[arg-type]
            children = self._children(grouped, path, child_scope)
            node = FieldNode(
                kind=FieldKind.OBJECT,
                children=children,
                abstract=is_abstract_type(named),
                possible_types=tuple(sorted(child_scope)),
                key_fields=self._key_fields(named, children),
                **shape,  # type: ignore[arg-type]
            )
        return None if node.options.exclude else node

    def _key_fields(self, type_: GraphQLNamedType, children: tuple[FieldNode, ...]) -> tuple[str, ...]:
        """Response keys of the entity's identity when all of its fields are selected (always, on every type)."""
        selected: dict[str, str] = {}
        for child in children:
            if child.kind is not FieldKind.TYPENAME and child.only_on is None and not child.conditional:
                selected.setdefault(child.name, child.key)
        for names in self._key_candidates(type_):
            if all(name in selected for name in names):
                return tuple(selected[name] for name in names)
        return ()

    def _key_candidates(self, type_: GraphQLNamedType) -> tuple[tuple[str, ...], ...]:
        """Identity fields of a type: federation ``@key``s, else ``config.keys``, else ``id``/``<type>Id: ID``."""
        if type_.name not in self._keys:
            self._keys[type_.name] = self._find_keys(type_)
        return self._keys[type_.name]

    def _find_keys(self, type_: GraphQLNamedType) -> tuple[tuple[str, ...], ...]:
        if not isinstance(type_, GraphQLObjectType | GraphQLInterfaceType):
            return ()
        keys = federation_keys(type_)
        if keys:
            return keys
        if type_.name in self.config.keys:
            return (tuple(self.config.keys[type_.name]),)
        for name in ("id", f"{_lower_camel(type_.name)}Id"):
            definition = type_.fields.get(name)
            if (
                definition is not None
                and not _list_levels(definition.type)
                and get_named_type(definition.type) is GraphQLID
            ):
                return ((name,),)
        return ()
