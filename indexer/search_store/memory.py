"""``InMemorySearchStore``: a ``SearchStore`` in dictionaries, for unit tests and trying things out.

It keeps the semantics graphdex relies on, checked against real engines by the contract suite
(``tests/indexer/search_store/test_contract.py``):

- index templates apply to indexes created (or auto-created by a bulk write) with a matching name;
  settings read back flat with ``index.`` prefixes and text values; mappings merge on ``put_mapping``
  (a field's type cannot change) and ``dynamic: strict`` refuses unknown fields;
- aliases resolve for reads and writes (a write needs exactly one index behind the alias); alias
  updates are atomic (all actions or none);
- bulk writes with external versions: a write at or below the stored (or deleted) version is a 409;
  ``index.blocks.write``/``read_only`` refuse writes with 403 ``cluster_block_exception``;
- ``mget`` is real-time; searches and counts see what the last refresh made visible (``refresh`` or
  a bulk request with ``refresh=True``), as near-real-time search does;
- queries: ``match_all``, ``ids``, ``term``, ``terms``, ``range``, ``exists``, ``bool`` and ``nested``
  on exact values (no text analysis, normalizers or date math); ``sort`` on fields, ``search_after``,
  ``from``/``size``, ``_source`` filtering, ``version``. Anything else (``match``, aggregations,
  highlighting, suggesters) is refused with a 400 naming it, never answered wrongly.

Errors are made from the same error bodies a server sends, through the adapters' own translation.
"""

from __future__ import annotations

import copy
import fnmatch
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from indexer.search_store.model import (
    BulkAction,
    BulkItemResult,
    EngineInfo,
    IndexDescription,
    StoredDocument,
    flatten_settings,
)
from indexer.search_store.translation import BLOCKED, answered_error
from schema_gen.errors import StoreError

_NUMERIC = {"integer", "long", "short", "byte", "float", "double", "half_float", "scaled_float"}
_BLOCKS = ("index.blocks.write", "index.blocks.read_only")


@dataclass
class _Index:
    settings: dict[str, Any]
    mappings: dict[str, Any]
    aliases: set[str] = field(default_factory=set)
    documents: dict[str, StoredDocument] = field(default_factory=dict)
    """Real time: what ``mget`` reads."""
    searchable: dict[str, StoredDocument] = field(default_factory=dict)
    """What the last refresh made visible to searches and counts."""
    tombstones: dict[str, int] = field(default_factory=dict)
    """Versions of deleted documents (kept, like ``index.gc_deletes``, so late writes stay stale)."""

    def blocked(self, *keys: str) -> bool:
        return any(self.settings.get(key) == "true" for key in keys)


def _error(request: str, status: int, error_type: str, reason: str) -> StoreError:
    body = {"error": {"root_cause": [{"type": error_type, "reason": reason}], "type": error_type, "reason": reason}}
    return answered_error(request, InMemorySearchStore.URL, status, body, reason)


def _unsupported(request: str, what: str) -> StoreError:
    return _error(
        request, 400, "unsupported_by_in_memory_store", f"the in-memory search store does not implement {what}"
    )


class InMemorySearchStore:
    """A ``SearchStore`` holding templates, indexes, aliases and documents in this process."""

    URL = "memory://search-store"

    def __init__(self, *, version: str = "in-memory") -> None:
        self._version = version
        self.templates: dict[str, dict[str, Any]] = {}
        self.indexes: dict[str, _Index] = {}
        self.closed = False

    @property
    def url(self) -> str:
        return self.URL

    def info(self) -> EngineInfo:
        return EngineInfo("opensearch", self._version)

    # -- index templates ------------------------------------------------------------------------

    def get_index_template(self, name: str) -> dict[str, Any] | None:
        return copy.deepcopy(self.templates.get(name))

    def put_index_template(self, name: str, body: Mapping[str, Any]) -> None:
        patterns = body.get("index_patterns")
        if not patterns:
            raise _error(
                f"PUT _index_template/{name}",
                400,
                "action_request_validation_exception",
                "Validation Failed: 1: index patterns are missing;",
            )
        self.templates[name] = copy.deepcopy(dict(body))

    def delete_index_template(self, name: str) -> None:
        if name not in self.templates:
            raise _error(
                f"DELETE _index_template/{name}",
                404,
                "index_template_missing_exception",
                f"index_template [{name}] missing",
            )
        del self.templates[name]

    # -- indexes --------------------------------------------------------------------------------

    def create_index(
        self,
        name: str,
        *,
        settings: Mapping[str, Any] | None = None,
        mappings: Mapping[str, Any] | None = None,
        aliases: Sequence[str] = (),
    ) -> None:
        request = f"PUT {name}"
        if name in self.indexes:
            raise _error(request, 400, "resource_already_exists_exception", f"index [{name}] already exists")
        if self._alias_names() & {name}:
            raise _error(
                request, 400, "invalid_index_name_exception", f"Invalid index name [{name}], already exists as alias"
            )
        template = self._template_for(name)
        flat = {"index.number_of_shards": "1", "index.number_of_replicas": "1"}
        combined_mappings: dict[str, Any] = {}
        alias_names = set(aliases)
        if template is not None:
            flat.update(_flat(template.get("settings") or {}))
            combined_mappings = _as_returned(template.get("mappings") or {})
            alias_names |= set(template.get("aliases") or {})
        flat.update(_flat(settings or {}))
        if mappings:
            self._merge_mapping(request, combined_mappings, mappings)
        self.indexes[name] = _Index(flat, combined_mappings, alias_names)

    def delete_index(self, name: str) -> None:
        for concrete in self._resolve(f"DELETE {name}", name, aliases=False):
            del self.indexes[concrete]

    def get_indices(self, pattern: str) -> dict[str, IndexDescription]:
        try:
            names = self._resolve(f"GET {pattern}", pattern, allow_none=True)
        except StoreError:
            return {}
        return {
            name: IndexDescription(
                aliases={alias: {} for alias in sorted(self.indexes[name].aliases)},
                mappings=copy.deepcopy(self.indexes[name].mappings),
                settings=dict(self.indexes[name].settings),
            )
            for name in names
        }

    def put_index_settings(self, name: str, settings: Mapping[str, Any]) -> None:
        for concrete in self._resolve(f"PUT {name}/_settings", name):
            self.indexes[concrete].settings.update(_flat(settings))

    def put_mapping(self, name: str, mappings: Mapping[str, Any]) -> None:
        request = f"PUT {name}/_mapping"
        for concrete in self._resolve(request, name):
            current = self.indexes[concrete].mappings
            updated = copy.deepcopy(current)
            self._merge_mapping(request, updated, {key: value for key, value in mappings.items() if key != "_meta"})
            if "_meta" in mappings:
                updated["_meta"] = copy.deepcopy(dict(mappings["_meta"]))
            self.indexes[concrete].mappings = updated

    def refresh(self, index: str) -> None:
        for concrete in self._resolve(f"POST {index}/_refresh", index):
            held = self.indexes[concrete]
            held.searchable = dict(held.documents)

    # -- aliases --------------------------------------------------------------------------------

    def alias_targets(self, alias: str) -> list[str]:
        return sorted(name for name, held in self.indexes.items() if alias in held.aliases)

    def update_aliases(self, actions: Sequence[Mapping[str, Any]]) -> None:
        request = "POST _aliases"
        planned: list[tuple[str, str, str]] = []
        for action in actions:
            ((verb, target),) = action.items()
            index, alias = target.get("index"), target.get("alias")
            if verb not in ("add", "remove") or not index or not alias:
                raise _unsupported(request, f"the alias action {dict(action)}")
            if index not in self.indexes:
                raise _error(request, 404, "index_not_found_exception", f"no such index [{index}]")
            if verb == "add" and alias in self.indexes:
                raise _error(
                    request,
                    400,
                    "invalid_alias_name_exception",
                    f"Invalid alias name [{alias}]: an index or data stream exists with the same name",
                )
            if verb == "remove" and alias not in self.indexes[index].aliases:
                raise _error(request, 404, "aliases_not_found_exception", f"aliases [{alias}] missing")
            planned.append((verb, index, alias))
        for verb, index, alias in planned:  # every action was valid: apply all of them at once
            if verb == "add":
                self.indexes[index].aliases.add(alias)
            else:
                self.indexes[index].aliases.discard(alias)

    # -- documents ------------------------------------------------------------------------------

    def bulk(self, actions: Sequence[BulkAction], *, refresh: bool = False) -> list[BulkItemResult]:
        results = [self._write(action) for action in actions]
        if refresh:
            for name in {result.index for result in results if result.index in self.indexes}:
                self.refresh(name)
        return results

    def mget(
        self, index: str, ids: Sequence[str], *, source_includes: Sequence[str] | None = None
    ) -> dict[str, StoredDocument]:
        try:
            (concrete,) = self._resolve(f"POST {index}/_mget", index)
        except (StoreError, ValueError):
            return {}  # the server answers each id with an error: none is found
        held = self.indexes[concrete].documents
        found: dict[str, StoredDocument] = {}
        for document_id in ids:
            stored = held.get(document_id)
            if stored is not None:
                source = stored.source if source_includes is None else _included(stored.source, source_includes)
                found[document_id] = StoredDocument(document_id, stored.version, copy.deepcopy(source))
        return found

    def search(self, index: str, body: Mapping[str, Any], *, timeout: float | None = None) -> dict[str, Any]:
        request = f"POST {index}/_search"
        for unsupported in ("aggs", "aggregations", "highlight", "suggest", "collapse", "rescore", "pit"):
            if unsupported in body:
                raise _unsupported(request, unsupported)
        matched = self._matching(request, index, body.get("query"))
        ordered = self._sorted(request, matched, body.get("sort"))
        after = body.get("search_after")
        if after is not None:
            ordered = [entry for entry in ordered if _after(entry[0], list(after), body.get("sort"))]
        start, size = int(body.get("from", 0)), int(body.get("size", 10))
        page = ordered[start : start + size]
        hits = [self._hit(name, stored, keys, body) for keys, name, stored in page]
        total = len(matched)
        limit = body.get("track_total_hits", 10_000)
        answer: dict[str, Any] = {"timed_out": False, "_shards": {"failures": []}, "hits": {"hits": hits}}
        if limit is not False:
            cap = total if limit is True else min(total, int(limit))
            answer["hits"]["total"] = {"value": cap, "relation": "eq" if cap == total else "gte"}
        return answer

    def count(self, index: str, query: Mapping[str, Any] | None = None) -> int:
        return len(self._matching(f"POST {index}/_count", index, query))

    def close(self) -> None:
        self.closed = True

    # -- helpers --------------------------------------------------------------------------------

    def _alias_names(self) -> set[str]:
        return {alias for held in self.indexes.values() for alias in held.aliases}

    def _template_for(self, name: str) -> dict[str, Any] | None:
        candidates = [
            (int(body.get("priority") or 0), body)
            for body in self.templates.values()
            if any(fnmatch.fnmatchcase(name, pattern) for pattern in body["index_patterns"])
        ]
        if not candidates:
            return None
        return dict(max(candidates, key=lambda candidate: candidate[0])[1].get("template") or {})

    def _resolve(self, request: str, expression: str, *, aliases: bool = True, allow_none: bool = False) -> list[str]:
        """The concrete indexes an expression names (names, aliases, wildcards, comma-separated)."""
        names: list[str] = []
        for part in expression.split(","):
            if "*" in part:
                names += [name for name in self.indexes if fnmatch.fnmatchcase(name, part)]
                if aliases:
                    names += [
                        name
                        for name, held in self.indexes.items()
                        if any(fnmatch.fnmatchcase(alias, part) for alias in held.aliases)
                    ]
            elif part in self.indexes:
                names.append(part)
            elif aliases and self.alias_targets(part):
                names += self.alias_targets(part)
            else:
                raise _error(request, 404, "index_not_found_exception", f"no such index [{part}]")
        if not names and not allow_none:
            raise _error(request, 404, "index_not_found_exception", f"no such index [{expression}]")
        return sorted(set(names))

    def _write_target(self, action: BulkAction) -> str | BulkItemResult:
        if action.index in self.indexes:
            return action.index
        behind = self.alias_targets(action.index)
        if len(behind) == 1:
            return behind[0]
        if behind:
            reason = f"no write index is defined for alias [{action.index}]"
            return BulkItemResult(
                action.op, action.index, action.id, 400, None, None, "illegal_argument_exception", reason
            )
        try:
            self.create_index(action.index)  # auto-created, as a server does by default
        except StoreError as error:
            return BulkItemResult(
                action.op, action.index, action.id, error.status or 400, None, None, error.error_type, error.reason
            )
        return action.index

    def _write(self, action: BulkAction) -> BulkItemResult:
        target = self._write_target(action)
        if isinstance(target, BulkItemResult):
            return target
        held = self.indexes[target]

        def refused(status: int, error_type: str, reason: str) -> BulkItemResult:
            return BulkItemResult(action.op, target, action.id, status, None, None, error_type, reason)

        if held.blocked(*_BLOCKS):
            return refused(
                403, BLOCKED, f"index [{target}] blocked by: [FORBIDDEN/8/index write (api)];"
            )
        stored = held.documents.get(action.id)
        current = stored.version if stored is not None else held.tombstones.get(action.id)
        version = action.external_version
        if version is not None and current is not None and current >= version:
            return refused(
                409,
                "version_conflict_engine_exception",
                f"[{action.id}]: version conflict, current version [{current}] is higher or equal to the "
                f"one provided [{version}]",
            )
        if version is None:
            version = (stored.version or 0) + 1 if stored is not None else 1
        if action.source is None:
            held.documents.pop(action.id, None)
            held.tombstones[action.id] = version
            status, result = (200, "deleted") if stored is not None else (404, "not_found")
            return BulkItemResult("delete", target, action.id, status, result, version)
        problem = _mapping_problem(held.mappings, action.source, action.id)
        if problem is not None:
            return refused(400, *problem)
        held.documents[action.id] = StoredDocument(action.id, version, copy.deepcopy(dict(action.source)))
        held.tombstones.pop(action.id, None)
        return BulkItemResult(
            "index", target, action.id, 200 if stored else 201, "updated" if stored else "created", version
        )

    def _merge_mapping(self, request: str, current: dict[str, Any], added: Mapping[str, Any]) -> None:
        for key, value in added.items():
            if key == "properties":
                _merge_properties(request, current.setdefault("properties", {}), value)
            else:
                current[key] = copy.deepcopy(value)

    def _matching(self, request: str, index: str, query: Mapping[str, Any] | None) -> list[tuple[str, StoredDocument]]:
        names = self._resolve(request, index)
        for name in names:
            if self.indexes[name].blocked("index.blocks.read"):
                raise _error(
                    request,
                    403,
                    BLOCKED,
                    f"index [{name}] blocked by: [FORBIDDEN/7/index read (api)];",
                )
        matches = _compiled(request, query or {"match_all": {}})
        return [
            (name, stored)
            for name in names
            for stored in self.indexes[name].searchable.values()
            if matches({**stored.source, "_id": stored.id})
        ]

    def _sorted(
        self, request: str, matched: list[tuple[str, StoredDocument]], sort: Any
    ) -> list[tuple[list[Any], str, StoredDocument]]:
        keys = _sort_keys(request, sort)
        entries = [([_sort_value(stored, path) for path, _ in keys], name, stored) for name, stored in matched]
        for position in reversed(range(len(keys))):
            descending = keys[position][1]
            present = [entry for entry in entries if entry[0][position] is not None]
            missing = [entry for entry in entries if entry[0][position] is None]
            present.sort(key=lambda entry: entry[0][position], reverse=descending)
            entries = present + missing
        return entries

    def _hit(self, index: str, stored: StoredDocument, keys: list[Any], body: Mapping[str, Any]) -> dict[str, Any]:
        hit: dict[str, Any] = {"_index": index, "_id": stored.id, "_score": None if body.get("sort") else 1.0}
        wanted = body.get("_source", True)
        if wanted is True:
            hit["_source"] = copy.deepcopy(stored.source)
        elif isinstance(wanted, list | str | dict):
            includes = wanted.get("includes", []) if isinstance(wanted, dict) else wanted
            hit["_source"] = _included(stored.source, [includes] if isinstance(includes, str) else includes)
        if body.get("version"):
            hit["_version"] = stored.version
        if body.get("sort"):
            hit["sort"] = keys
        return hit


# -- mappings ---------------------------------------------------------------------------------------


def _flat(settings: Mapping[str, Any]) -> dict[str, Any]:
    return {f"index.{key}": value for key, value in flatten_settings(settings).items()}


def _as_returned(mapping: Mapping[str, Any]) -> dict[str, Any]:
    """A mapping as servers return it: the implicit ``type: object`` left out."""
    returned = {key: value for key, value in mapping.items() if not (key == "type" and value == "object")}
    for structural in ("properties", "fields"):
        if structural in returned:
            returned[structural] = {name: _as_returned(child) for name, child in returned[structural].items()}
    return copy.deepcopy(returned)


def _merge_properties(request: str, current: dict[str, Any], added: Mapping[str, Any]) -> None:
    for name, mapping in added.items():
        wanted = _as_returned(mapping)
        if name not in current:
            current[name] = wanted
            continue
        have = current[name]
        if have.get("type", "object") != wanted.get("type", "object"):
            raise _error(
                request,
                400,
                "illegal_argument_exception",
                f"mapper [{name}] cannot be changed from type [{have.get('type', 'object')}] to "
                f"[{wanted.get('type', 'object')}]",
            )
        for key, value in wanted.items():
            if key in ("properties", "fields"):
                _merge_properties(request, have.setdefault(key, {}), value)
            else:
                have[key] = value


def _mapping_problem(mapping: Mapping[str, Any], source: Mapping[str, Any], document_id: str) -> tuple[str, str] | None:
    """Why a strict or typed mapping refuses ``source`` (the server's error type and reason), if it does."""
    return _object_problem(mapping, source, "_doc", "", mapping.get("dynamic"), document_id)


def _object_problem(
    mapping: Mapping[str, Any], value: Mapping[str, Any], within: str, prefix: str, dynamic: Any, document_id: str
) -> tuple[str, str] | None:
    properties = mapping.get("properties") or {}
    dynamic = mapping.get("dynamic", dynamic)
    for name, child in value.items():
        field_mapping = properties.get(name)
        if field_mapping is None:
            if str(dynamic).lower() == "strict":
                return (
                    "strict_dynamic_mapping_exception",
                    f"mapping set to strict, dynamic introduction of [{name}] within [{within}] is not allowed",
                )
            continue
        path = f"{prefix}{name}"
        for item in child if isinstance(child, list) else [child]:
            if item is None:
                continue
            kind = field_mapping.get("type", "object")
            if kind in ("object", "nested"):
                if not isinstance(item, Mapping):
                    return (
                        "mapper_parsing_exception",
                        f"object mapping for [{path}] tried to parse field [{name}] as object, "
                        "but found a concrete value",
                    )
                problem = _object_problem(field_mapping, item, path, f"{path}.", dynamic, document_id)
                if problem is not None:
                    return problem
            elif kind in _NUMERIC and not _is_number(item):
                return (
                    "mapper_parsing_exception",
                    f"failed to parse field [{path}] of type [{kind}] in document with id '{document_id}'. "
                    f"Preview of field's value: '{item}'",
                )
    return None


def _is_number(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int | float):
        return True
    try:
        float(str(value))
    except ValueError:
        return False
    return True


# -- queries ----------------------------------------------------------------------------------------

Matcher = Callable[[Mapping[str, Any]], bool]


def _values(document: Any, path: str) -> Iterator[Any]:
    """Every value at a dotted path, through lists and objects."""
    if isinstance(document, list):
        for item in document:
            yield from _values(item, path)
        return
    if not isinstance(document, Mapping):
        return
    if path in document:  # a field whose own name has a dot (``_id``, or a flat key)
        found = document[path]
        if isinstance(found, list):
            yield from (item for item in found if item is not None)
        elif found is not None:
            yield found
        return
    head, _, rest = path.partition(".")
    if rest and head in document:
        yield from _values(document[head], rest)


def _field_values(document: Mapping[str, Any], path: str) -> list[Any]:
    """Values of a field, or of the field a multi-field (``title.keyword``) indexes."""
    found = list(_values(document, path))
    if not found and "." in path:
        found = [value for value in _values(document, path.rsplit(".", 1)[0]) if not isinstance(value, Mapping)]
    return found


def _narrowed(document: Mapping[str, Any], path: str, element: Any) -> dict[str, Any]:
    """``document`` with the nested objects at ``path`` replaced by ``element`` alone."""
    head, _, rest = path.partition(".")
    narrowed = dict(document)
    if not rest:
        narrowed[head] = element
    elif isinstance(document.get(head), Mapping):
        narrowed[head] = _narrowed(document[head], rest, element)
    return narrowed


def _nested_elements(document: Mapping[str, Any], path: str) -> list[Any]:
    found = list(_values(document, path))
    return [item for item in found if isinstance(item, Mapping)]


def _compiled(request: str, query: Mapping[str, Any]) -> Matcher:
    if not isinstance(query, Mapping) or len(query) != 1:
        raise _error(request, 400, "parsing_exception", f"a query is an object with one key, not {query!r}")
    ((kind, spec),) = query.items()
    if kind == "match_all":
        return lambda document: True
    if kind == "ids":
        wanted = set(spec.get("values", ()))
        return lambda document: document["_id"] in wanted
    if kind in ("term", "terms"):
        ((path, value),) = ((key, item) for key, item in spec.items() if key != "boost")
        if kind == "term":
            value = value.get("value") if isinstance(value, Mapping) else value
            wanted_values = [value]
        else:
            wanted_values = list(value)
        return lambda document: any(found in wanted_values for found in _field_values(document, path))
    if kind == "exists":
        path = spec["field"]
        return lambda document: bool(_field_values(document, path))
    if kind == "range":
        ((path, bounds),) = spec.items()
        return _range(request, path, bounds)
    if kind == "bool":
        return _bool(request, spec)
    if kind == "nested":
        path, inner = spec["path"], _compiled(request, spec["query"])
        return lambda document: any(
            inner(_narrowed(document, path, element)) for element in _nested_elements(document, path)
        )
    raise _unsupported(request, f"the query [{kind}]")


def _range(request: str, path: str, bounds: Mapping[str, Any]) -> Matcher:
    checks = {
        "gt": lambda a, b: a > b,
        "gte": lambda a, b: a >= b,
        "lt": lambda a, b: a < b,
        "lte": lambda a, b: a <= b,
    }
    wanted = {key: value for key, value in bounds.items() if key in checks}
    for value in wanted.values():
        if isinstance(value, str) and value.startswith("now"):
            raise _unsupported(request, "date math in range queries")

    def matches(document: Mapping[str, Any]) -> bool:
        for found in _field_values(document, path):
            try:
                if all(checks[key](found, value) for key, value in wanted.items()):
                    return True
            except TypeError:
                continue
        return False

    return matches


def _bool(request: str, spec: Mapping[str, Any]) -> Matcher:
    def clauses(key: str) -> list[Matcher]:
        value = spec.get(key) or []
        return [_compiled(request, clause) for clause in (value if isinstance(value, list) else [value])]

    required = clauses("must") + clauses("filter")
    excluded, optional = clauses("must_not"), clauses("should")
    default_minimum = 0 if required else 1
    minimum = int(spec.get("minimum_should_match", default_minimum if optional else 0))

    def matches(document: Mapping[str, Any]) -> bool:
        if not all(clause(document) for clause in required):
            return False
        if any(clause(document) for clause in excluded):
            return False
        return sum(1 for clause in optional if clause(document)) >= minimum

    return matches


# -- sorting and sources ----------------------------------------------------------------------------


def _sort_keys(request: str, sort: Any) -> list[tuple[str, bool]]:
    """``(path, descending)`` per sort key; ``_doc`` is insertion order, as on one shard."""
    keys: list[tuple[str, bool]] = []
    for entry in sort if isinstance(sort, list) else ([sort] if sort else []):
        if isinstance(entry, str):
            keys.append((entry, False))
            continue
        ((path, order),) = entry.items()
        if isinstance(order, Mapping):
            if set(order) - {"order", "missing", "unmapped_type"}:
                raise _unsupported(request, f"the sort options {sorted(set(order) - {'order'})}")
            order = order.get("order", "asc")
        keys.append((path, order == "desc"))
    for path, _ in keys:
        if path == "_score":
            raise _unsupported(request, "sorting by relevance (_score)")
    return keys


def _sort_value(stored: StoredDocument, path: str) -> Any:
    if path == "_id":
        return stored.id
    values = _field_values(stored.source, path)
    return min(values) if values else None


def _after(keys: list[Any], after: list[Any], sort: Any) -> bool:
    """The hit with sort values ``keys`` comes after the cursor ``after``."""
    orders = [descending for _, descending in _sort_keys("search_after", sort)]
    for key, cursor, descending in zip(keys, after, orders, strict=False):
        if key == cursor:
            continue
        if key is None:
            return True  # missing values sort last
        if cursor is None:
            return False
        return key < cursor if descending else key > cursor
    return False


def _included(source: Mapping[str, Any], includes: Sequence[str]) -> dict[str, Any]:
    """The parts of ``source`` at the dotted paths ``includes`` (``*`` wildcards allowed)."""
    kept: dict[str, Any] = {}
    for key, value in source.items():
        if any(fnmatch.fnmatchcase(key, pattern) for pattern in includes):
            kept[key] = copy.deepcopy(value)
            continue
        deeper = [pattern[len(key) + 1 :] for pattern in includes if pattern.startswith(f"{key}.")]
        if deeper and isinstance(value, Mapping):
            inner = _included(value, deeper)
            if inner:
                kept[key] = inner
        elif deeper and isinstance(value, list):
            items = [_included(item, deeper) for item in value if isinstance(item, Mapping)]
            if any(items):
                kept[key] = items
    return kept
