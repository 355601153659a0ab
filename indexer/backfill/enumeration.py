"""Where a backfill's root ids come from, page by page, each page with the cursor of the next one.

* ``QueryEnumeration``: the definition's ``backfill.enumeration`` query on the gateway (cursor
  pagination; its requests share the backfill's rate limit). The query is checked against the schema
  and its paths and variables against the query when it is built, with errors naming the YAML key.
* ``IdsFileEnumeration``: a file with one id per line (blank lines and ``#`` comments skipped).
* ``IndexEnumeration``: the ids already in an index or alias, in id order (``search_after``).
* ``IdListEnumeration``: ids in memory (tests, benchmarks, callers that know their ids).

A cursor is an opaque string (``None``: the start) saved in the checkpoint; ``pages(after)`` resumes
from the page that starts at ``after``. ``source`` names the enumeration in checkpoints, so a backfill
is never resumed from another enumeration's cursor.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    Source,
    parse,
    specified_rules,
    validate,
)

from indexer.definition import IndexDefinition
from indexer.fetch.gateway import GatewayClient
from indexer.search_store import SearchStore
from schema_gen.batching import BatchQuery
from schema_gen.config import EnumerationSettings
from schema_gen.errors import ConfigError, GatewayUnavailable, Problem, ServiceError, StoreNotFound


@dataclass(frozen=True)
class GatewayAccess:
    """How an enumeration reaches the gateway: the backfill's client (its rate limit and meter) and how
    to wait out an outage."""

    client: GatewayClient
    wait: Callable[[float], bool]
    """Sleeps up to the given seconds; False when the backfill is stopping (give up)."""


@dataclass(frozen=True)
class IdPage:
    """One page of root ids and the cursor of the page after it (None when there is none)."""

    ids: tuple[str, ...]
    next_cursor: str | None


class Enumeration(Protocol):
    """Root ids, a page at a time."""

    @property
    def source(self) -> str:
        """What is enumerated, for checkpoints and messages (``query movieIds``, ``ids-file /x``)."""
        ...

    def pages(self, after: str | None, gateway: GatewayAccess | None = None) -> Iterator[IdPage]:
        """The pages from the one that starts at cursor ``after`` (None: the first) to the last;
        ``gateway`` is for enumerations that ask the gateway."""
        ...

    def total(self) -> int | None:
        """How many ids there are, when known without enumerating them."""
        ...


class IdListEnumeration:
    """Ids in memory, in pages of ``page_size``; the cursor is the position of a page's start."""

    def __init__(self, ids: Sequence[str], *, page_size: int = 1000, source: str = "id list") -> None:
        self._ids, self._page_size, self.source = tuple(ids), page_size, source

    def pages(self, after: str | None, gateway: GatewayAccess | None = None) -> Iterator[IdPage]:
        start = int(after or 0)
        while start < len(self._ids):
            end = start + self._page_size
            yield IdPage(self._ids[start:end], str(end) if end < len(self._ids) else None)
            start = end

    def total(self) -> int | None:
        return len(self._ids)


class IdsFileEnumeration:
    """A file of ids, one per line; the cursor is the number of lines before a page."""

    def __init__(self, path: Path, *, page_size: int = 1000) -> None:
        self.path, self._page_size = path, page_size
        self.source = f"ids-file {path.resolve()}"
        try:
            with path.open(encoding="utf-8") as lines:
                self._total = sum(1 for line in lines if _id_of(line) is not None)
        except (OSError, UnicodeDecodeError) as error:
            reason = getattr(error, "strerror", None) or str(error)
            raise ConfigError("cannot read the ids file", [Problem("--ids-file", f"{path}: {reason}")]) from None

    def pages(self, after: str | None, gateway: GatewayAccess | None = None) -> Iterator[IdPage]:
        consumed = int(after or 0)
        with self.path.open(encoding="utf-8") as lines:
            remaining = itertools.islice(lines, consumed, None)
            while True:
                chunk = list(itertools.islice(remaining, self._page_size))
                if not chunk:
                    return
                consumed += len(chunk)
                ids = tuple(found for found in map(_id_of, chunk) if found is not None)
                yield IdPage(ids, str(consumed) if len(chunk) == self._page_size else None)

    def total(self) -> int | None:
        return self._total


def _id_of(line: str) -> str | None:
    text = line.strip()
    return None if not text or text.startswith("#") else text


class IndexEnumeration:
    """The ids of the documents in ``index`` (an index or alias), sorted by ``sort_field``."""

    def __init__(self, store: SearchStore, index: str, *, sort_field: str = "_id", page_size: int = 1000) -> None:
        self._store, self.index, self._sort_field, self._page_size = store, index, sort_field, page_size
        self.source = f"index {index}"

    @classmethod
    def for_definition(
        cls, store: SearchStore, definition: IndexDefinition, index: str, *, page_size: int = 1000
    ) -> IndexEnumeration:
        """Sorted by the root's id field (a keyword in the generated mapping), which every
        Elasticsearch allows, unlike sorting by ``_id``."""
        return cls(store, index, sort_field=definition.config.root.id_field, page_size=page_size)

    def pages(self, after: str | None, gateway: GatewayAccess | None = None) -> Iterator[IdPage]:
        search_after: list[Any] | None = json.loads(after) if after else None
        while True:
            try:
                body: dict[str, Any] = {
                    "size": self._page_size,
                    "sort": [{self._sort_field: "asc"}],
                    "_source": False,
                    "track_total_hits": False,
                }
                if search_after is not None:
                    body["search_after"] = search_after
                found = self._store.search(self.index, body)
            except StoreNotFound:
                raise ServiceError(f"cannot enumerate the ids of {self.index}: no such index or alias") from None
            hits = found["hits"]["hits"]
            if not hits:
                return
            search_after = hits[-1]["sort"]
            last = len(hits) < self._page_size
            yield IdPage(tuple(hit["_id"] for hit in hits), None if last else json.dumps(search_after))
            if last:
                return

    def total(self) -> int | None:
        try:
            return self._store.count(self.index)
        except StoreNotFound:
            return None


class QueryEnumeration:
    """Root ids from the gateway through the definition's enumeration query and its cursor."""

    def __init__(
        self,
        settings: EnumerationSettings,
        document: DocumentNode,
        *,
        where: str,
    ) -> None:
        self.settings, self._document, self._where = settings, document, where
        operation = _operation(document)
        self._operation_name = operation.name.value if operation and operation.name else None
        self.source = f"query {_root_fields(document)}"

    @classmethod
    def from_definition(cls, definition: IndexDefinition) -> QueryEnumeration:
        """The definition's ``backfill.enumeration``, checked; ``ConfigError`` naming the YAML keys."""
        source = str(definition.path)
        settings = definition.config.backfill.enumeration
        if settings is None:
            raise ConfigError(
                "no way to enumerate the root ids",
                [
                    Problem(
                        f"{source}: backfill.enumeration",
                        "is not set: add the query that lists every id (see configs/movies.yaml), or pass "
                        "--ids-file or --from-index",
                    )
                ],
            )
        where = f"{source}: backfill.enumeration"
        document = _checked_query(settings, definition, where)
        return cls(settings, document, where=where)

    def pages(self, after: str | None, gateway: GatewayAccess | None = None) -> Iterator[IdPage]:
        if gateway is None:
            raise ServiceError(f"{self._where}: no gateway client to run the enumeration query with")
        cursor = after
        while True:
            body = self._request(cursor, gateway)
            settings = self.settings
            ids = _at(body, settings.ids_path, f"{self._where}.ids_path")
            if not isinstance(ids, list) or not all(isinstance(item, str | int) for item in ids):
                raise ServiceError(f"{self._where}.ids_path: {settings.ids_path} is not a list of ids in the answer")
            next_cursor = _at(body, settings.cursor_path, f"{self._where}.cursor_path")
            if settings.has_next_path is not None:
                has_next = bool(_at(body, settings.has_next_path, f"{self._where}.has_next_path"))
            else:
                has_next = bool(ids) and next_cursor is not None
            has_next = has_next and next_cursor is not None and next_cursor != cursor
            yield IdPage(tuple(str(item) for item in ids), str(next_cursor) if has_next else None)
            if not has_next:
                return
            cursor = str(next_cursor)

    def total(self) -> int | None:
        return None

    def _request(self, cursor: str | None, gateway: GatewayAccess) -> dict[str, Any]:
        settings = self.settings
        variables = {settings.page_size_variable: settings.page_size, settings.cursor_variable: cursor}
        query = BatchQuery((), settings.query, self._operation_name, variables)
        while True:
            try:
                body = gateway.client.execute(query).body
            except GatewayUnavailable as outage:
                if not gateway.wait(outage.retry_after or 2.0):
                    raise
                continue
            errors = body.get("errors")
            if errors:
                messages = "; ".join(str(error.get("message", error)) for error in errors if isinstance(error, dict))
                raise ServiceError(f"{self._where}.query: the gateway answered with errors: {messages or errors}")
            return body


def _at(body: dict[str, Any], path: str, key: str) -> Any:
    value: Any = body.get("data")
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            raise ServiceError(f"{key}: the answer has no {path}")
        value = value[part]
    return value


def _operation(document: DocumentNode) -> OperationDefinitionNode | None:
    operations = [node for node in document.definitions if isinstance(node, OperationDefinitionNode)]
    return operations[0] if len(operations) == 1 else None


def _root_fields(document: DocumentNode) -> str:
    operation = _operation(document)
    if operation is None:
        return "(no operation)"
    return ",".join(node.name.value for node in operation.selection_set.selections if isinstance(node, FieldNode))


def _response_paths(document: DocumentNode) -> set[str]:
    """Every dotted response path the operation selects (aliases used, fragments followed)."""
    fragments = {node.name.value: node for node in document.definitions if isinstance(node, FragmentDefinitionNode)}
    paths: set[str] = set()

    def walk(selection_set: SelectionSetNode | None, prefix: str, seen: frozenset[str]) -> None:
        for node in selection_set.selections if selection_set else ():
            if isinstance(node, FieldNode):
                path = f"{prefix}{(node.alias or node.name).value}"
                paths.add(path)
                walk(node.selection_set, f"{path}.", seen)
            elif isinstance(node, InlineFragmentNode):
                walk(node.selection_set, prefix, seen)
            elif isinstance(node, FragmentSpreadNode) and node.name.value not in seen:
                fragment = fragments.get(node.name.value)
                if fragment is not None:
                    walk(fragment.selection_set, prefix, seen | {node.name.value})

    operation = _operation(document)
    if operation is not None:
        walk(operation.selection_set, "", frozenset())
    return paths


def _checked_query(settings: EnumerationSettings, definition: IndexDefinition, where: str) -> DocumentNode:
    """Parse and validate the enumeration query against the schema; check its paths and variables."""
    source = f"{where}.query"
    try:
        document = parse(Source(settings.query, source))
    except GraphQLError as error:
        raise ConfigError("invalid backfill enumeration query", [_located(error, source)]) from None
    errors = validate(definition.loaded_schema.schema, document, specified_rules)
    if errors:
        raise ConfigError("invalid backfill enumeration query", [_located(error, source) for error in errors])
    operation = _operation(document)
    if operation is None or operation.operation.value != "query":
        raise ConfigError("invalid backfill enumeration query", [Problem(source, "give exactly one query operation")])
    problems: list[Problem] = []
    declared = [node.variable.name.value for node in operation.variable_definitions or ()]
    for key in ("cursor_variable", "page_size_variable"):
        name = getattr(settings, key)
        if name not in declared:
            listed = ", ".join(f"${variable}" for variable in declared) or "none"
            problems.append(Problem(f"{where}.{key}", f"the query declares no variable ${name} (it declares {listed})"))
    paths = _response_paths(document)
    for key in ("ids_path", "cursor_path", "has_next_path"):
        path = getattr(settings, key)
        if path is not None and path not in paths:
            problems.append(Problem(f"{where}.{key}", f"the query does not select {path}"))
    if problems:
        raise ConfigError("invalid backfill enumeration", problems)
    return document


def _located(error: GraphQLError, source: str) -> Problem:
    if error.locations:
        location = error.locations[0]
        return Problem(f"{source}:{location.line}:{location.column}", error.message)
    return Problem(source, error.message)
