"""Reading a batch's GraphQL response: one result per requested id, errors mapped to the ids they touch.

An error whose ``path`` starts at a document (its alias ``e3``, or ``movies[3]`` in list mode) fails
that document only; any other error makes every document of the batch untrustworthy, and its results
say so (``Errored.whole_request``): one id of the batch may have made the whole request fail, which
the fetcher finds by splitting the batch. A document is never returned with an error touching it: a
nullable field nulled by an error would otherwise overwrite good data. Errors that say a subgraph
could not be reached (or answered HTTP 5xx) concern the graph, not the documents:
``unavailable_subgraph`` finds them so the caller can treat the batch as a gateway failure.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from schema_gen.batching import BatchQuery

_DETAIL_LIMIT = 500
_OPERATION_CODES = frozenset({"GRAPHQL_PARSE_FAILED", "GRAPHQL_VALIDATION_FAILED"})
"""Errors about the operation's text: the same whichever ids its variables carry."""
_NON_RETRYABLE_CODES = _OPERATION_CODES | {"BAD_USER_INPUT"}
_UNAVAILABLE_CODES = frozenset({"SUBREQUEST_HTTP_ERROR", "SUBGRAPH_UNAVAILABLE", "SERVICE_UNAVAILABLE"})
_FETCH_FAILED = re.compile(r"^request to \S+ failed, reason: ")
"""How Apollo Gateway reports a subgraph it cannot connect to (a Node fetch error, without a path)."""


@dataclass(frozen=True)
class Found:
    """The root entity, with no error touching it."""

    entity: dict[str, Any]


@dataclass(frozen=True)
class Absent:
    """The root is null (or not in the list) and no error touches it."""


@dataclass(frozen=True)
class Errored:
    """At least one error touches the document (or the whole batch)."""

    detail: str
    retryable: bool
    whole_request: bool = False
    """The error is at no document's path (no data at all, an error without a path or at the root list):
    the request failed as a whole, maybe because of any one of its ids. False for errors about the
    operation itself (parse and validation failures), which no id can cause."""


EntityResult = Found | Absent | Errored


def _errors(body: Mapping[str, Any]) -> list[dict[str, Any]]:
    raw = body.get("errors") or []
    if not isinstance(raw, list):
        raw = [raw]
    return [error if isinstance(error, dict) else {"message": str(error)} for error in raw]


def _code(error: Mapping[str, Any]) -> str | None:
    extensions = error.get("extensions")
    code = extensions.get("code") if isinstance(extensions, dict) else None
    return code if isinstance(code, str) else None


def _location(path: Any) -> str:
    if not isinstance(path, list) or not path:
        return ""
    text = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in path).lstrip(".")
    return f" (at {text})"


def describe_errors(errors: Sequence[Mapping[str, Any]]) -> str:
    """The errors' messages with their paths, shortened for a dead letter."""
    parts = [f"{error.get('message', 'error without a message')}{_location(error.get('path'))}" for error in errors]
    text = "; ".join(parts) or "error without a message"
    return text if len(text) <= _DETAIL_LIMIT else f"{text[: _DETAIL_LIMIT - 3]}..."


def _retryable(errors: Sequence[Mapping[str, Any]]) -> bool:
    """False only when every error says the request itself is invalid (sending it again cannot help)."""
    return not errors or not all(_code(error) in _NON_RETRYABLE_CODES for error in errors)


def _about_the_operation(errors: Sequence[Mapping[str, Any]]) -> bool:
    """Every error is about the operation's text (parse, validation), so no id of the batch caused it."""
    return bool(errors) and all(_code(error) in _OPERATION_CODES for error in errors)


def _whole_request(errors: Sequence[Mapping[str, Any]]) -> Errored:
    """The result of every id of a batch whose request failed as a whole with ``errors``."""
    detail = describe_errors(errors) if errors else "the gateway answered without data and without errors"
    return Errored(detail, _retryable(errors), whole_request=not _about_the_operation(errors))


def unavailable_subgraph(body: Mapping[str, Any]) -> str | None:
    """Detail of the first error saying the gateway could not reach a subgraph, or None."""
    for error in _errors(body):
        extensions = error.get("extensions")
        response = extensions.get("response") if isinstance(extensions, dict) else None
        status = response.get("status") if isinstance(response, dict) else None
        message = str(error.get("message", ""))
        if (
            _code(error) in _UNAVAILABLE_CODES
            or _FETCH_FAILED.match(message)
            or (isinstance(status, int) and (status >= 500 or status == 429))
        ):
            return describe_errors([error]) + _subgraph_answer(response)
    return None


def _subgraph_answer(response: Any) -> str:
    """What the subgraph said, when the gateway passes its HTTP answer on (Apollo: ``extensions.response``):
    a subgraph failing on one record usually names it there."""
    if not isinstance(response, dict):
        return ""
    body = response.get("body")
    if not body:
        return ""
    text = body if isinstance(body, str) else str(body)
    text = " ".join(text.split())
    limit = _DETAIL_LIMIT // 2
    text = text if len(text) <= limit else f"{text[: limit - 3]}..."
    url = response.get("url")
    return f" ({url} answered: {text})" if isinstance(url, str) and url else f" (the subgraph answered: {text})"


def _entity_id(entity: Any, id_field: str) -> str | None:
    if not isinstance(entity, dict):
        return None
    value = entity.get(id_field)
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    return str(value)


class _Attribution:
    """Collects, per id, the entity found and the errors that touch it."""

    def __init__(self, ids: tuple[str, ...]) -> None:
        self.ids = ids
        self.found: dict[str, dict[str, Any]] = {}
        self.touched: dict[str, list[dict[str, Any]]] = {}
        self.broken: dict[str, str] = {}
        self.unattributed: list[dict[str, Any]] = []

    def touch(self, document_id: str, error: dict[str, Any]) -> None:
        self.touched.setdefault(document_id, []).append(error)

    def results(self) -> dict[str, EntityResult]:
        # An error at no document's path fails the request as a whole: no document can be trusted.
        whole_request = bool(self.unattributed) and not _about_the_operation(self.unattributed)
        results: dict[str, EntityResult] = {}
        for document_id in self.ids:
            errors = self.touched.get(document_id, []) + self.unattributed
            if errors:
                results[document_id] = Errored(describe_errors(errors), _retryable(errors), whole_request)
            elif document_id in self.broken:
                results[document_id] = Errored(self.broken[document_id], True)
            elif document_id in self.found:
                results[document_id] = Found(self.found[document_id])
            else:
                results[document_id] = Absent()
        return results


def _read_aliased(batch: BatchQuery, data: dict[str, Any], id_field: str, into: _Attribution) -> dict[str, str]:
    for document_id, key in zip(batch.ids, batch.response_keys, strict=True):
        if key not in data:
            into.broken[document_id] = f"the response has no {key} (the result for {document_id!r})"
            continue
        value = data[key]
        candidates = value if isinstance(value, list) else [value]
        for entity in candidates:
            if isinstance(entity, dict) and (
                _entity_id(entity, id_field) in (document_id, None) or len(candidates) == 1
            ):
                into.found[document_id] = entity
                break
    return dict(zip(batch.response_keys, batch.ids, strict=True))


def _read_list(batch: BatchQuery, value: Any, id_field: str, into: _Attribution) -> dict[int, str]:
    """Entities by id; returns the id at each list position that can be told (for error paths)."""
    if value is None:
        return {}
    if not isinstance(value, list):
        value = [value]
    requested = set(batch.ids)
    at_position: dict[int, str] = {}
    for position, entity in enumerate(value):
        document_id = _entity_id(entity, id_field)
        if document_id in requested:
            at_position[position] = document_id
            into.found.setdefault(document_id, entity)
    # The list may follow the request order (``movies(ids:)`` returning null for unknown ids): then the
    # positions of nulls and of entities whose id was nulled by an error are known too.
    in_request_order = len(value) == len(batch.ids) and all(
        _entity_id(entity, id_field) in (None, batch.ids[position]) for position, entity in enumerate(value)
    )
    if in_request_order:
        for position, entity in enumerate(value):
            at_position.setdefault(position, batch.ids[position])
            if isinstance(entity, dict) and batch.ids[position] not in into.found:
                into.found[batch.ids[position]] = entity
    elif any(isinstance(entity, dict) and _entity_id(entity, id_field) is None for entity in value):
        # An entity without an id might be any of the ids not found: none of them may count as deleted.
        detail = f"an entity without {id_field} in the response cannot be matched to a requested id"
        for document_id in batch.ids:
            if document_id not in into.found:
                into.broken[document_id] = detail
    return at_position


def split_response(
    batch: BatchQuery, body: Mapping[str, Any], *, root_key: str, id_field: str
) -> dict[str, EntityResult]:
    """One result per id of ``batch`` from its parsed GraphQL response body."""
    errors = _errors(body)
    data = body.get("data")
    if not isinstance(data, dict):
        return dict.fromkeys(batch.ids, _whole_request(errors))
    into = _Attribution(batch.ids)
    if batch.aliased:
        by_key = _read_aliased(batch, data, id_field, into)
        for error in errors:
            path = error.get("path")
            head = path[0] if isinstance(path, list) and path else None
            if head in by_key:
                into.touch(by_key[head], error)
            else:
                into.unattributed.append(error)
        return into.results()
    at_position = _read_list(batch, data.get(root_key), id_field, into)
    if root_key not in data:
        into.unattributed.append({"message": f"the response has no {root_key}"})
    for error in errors:
        path = error.get("path")
        if not isinstance(path, list) or not path or path[0] != root_key:
            into.unattributed.append(error)
        elif len(path) == 1:
            into.unattributed.append(error)  # the root list itself failed: the request as a whole
        elif isinstance(path[1], int) and path[1] in at_position:
            into.touch(at_position[path[1]], error)
        else:
            into.unattributed.append(error)
    return into.results()
