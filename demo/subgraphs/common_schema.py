"""GraphQL pieces every demo subgraph uses: the ``DateTime`` scalar, the shareable ``IdPage`` with its
opaque cursors, client errors with a ``code`` extension, and a schema class that logs errors briefly."""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, NewType, TypeVar

import strawberry
import structlog
from graphql import GraphQLError
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext

from demo.data.records import Genre, ProductionStatus, Role
from demo.seed import format_instant
from demo.subgraphs.store import CapturedStore, Table, Transaction
from schema_gen.errors import ServiceError

T = TypeVar("T")
log = structlog.get_logger("demo.subgraphs")

# The domain enums, as GraphQL enums (decorated once, here, for every subgraph that uses them).
strawberry.enum(Genre, description="A movie's genre.")
strawberry.enum(Role, description="What a person did on a movie.")
strawberry.enum(ProductionStatus, description="Where a production is in its life cycle.")

MAX_IDS = 10_000
"""Most ids one ``movies(ids:)``-style field or one ``IdPage`` accepts or returns."""

DateTime = NewType("DateTime", str)
"""An instant in UTC as ``2024-05-01T12:00:00.000Z``; stored and served in exactly that form."""


def parse_instant(value: Any) -> DateTime:
    """An ISO 8601 date-time with a time zone, normalised to UTC with milliseconds and ``Z``."""
    if not isinstance(value, str):
        raise GraphQLError(f"DateTime must be an ISO 8601 string, got {value!r}")
    try:
        instant = datetime.fromisoformat(value)
    except ValueError:
        raise GraphQLError(f"DateTime {value!r} is not ISO 8601 (e.g. 2024-05-01T12:00:00Z)") from None
    if instant.tzinfo is None:
        raise GraphQLError(f"DateTime {value!r} needs a time zone (e.g. a trailing Z for UTC)")
    return DateTime(format_instant(instant))


def schema_config() -> StrawberryConfig:
    """Configuration shared by the subgraph schemas (maps ``DateTime`` to its scalar)."""
    date_time = strawberry.scalar(
        name="DateTime",
        description="An instant in UTC, ISO 8601 with milliseconds: 2024-05-01T12:00:00.000Z.",
        specified_by_url="https://scalars.graphql.org/andimarek/date-time",
        serialize=str,
        parse_value=parse_instant,
    )
    return StrawberryConfig(scalar_map={DateTime: date_time})


@strawberry.federation.type(shareable=True, description="One page of entity ids, in ascending order.")
class IdPage:
    ids: list[strawberry.ID]
    end_cursor: str | None = strawberry.field(description="Pass as `after` to get the next page.")
    has_next_page: bool


def client_error(message: str, code: str = "BAD_USER_INPUT") -> GraphQLError:
    """A GraphQL error caused by the request, with ``extensions.code`` (``BAD_USER_INPUT``, ``NOT_FOUND``)."""
    return GraphQLError(message, extensions={"code": code})


def not_found(kind: str, entity_id: str) -> GraphQLError:
    return client_error(f"{kind} {entity_id} does not exist", "NOT_FOUND")


def _encode_cursor(last_id: str) -> str:
    return base64.urlsafe_b64encode(f"after:{last_id}".encode()).decode()


def _decode_cursor(cursor: str) -> str:
    try:
        text = base64.urlsafe_b64decode(cursor.encode()).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        text = ""
    if not text.startswith("after:"):
        raise client_error(f"invalid cursor {cursor!r}: pass the endCursor of the previous page")
    return text.removeprefix("after:")


def id_page(store: CapturedStore, table: str, column: str, first: int | None, after: str | None) -> IdPage:
    """Up to ``first`` (default 1000) ids of ``table`` after the cursor's, in ascending order."""
    first = 1000 if first is None else first
    if not 0 < first <= MAX_IDS:
        raise client_error(f"first must be between 1 and {MAX_IDS}, got {first}")
    since = _decode_cursor(after) if after is not None else ""
    rows = store.query(
        f'SELECT "{column}" AS id FROM "{table}" WHERE "{column}" > ? ORDER BY "{column}" LIMIT ?', (since, first + 1)
    )
    ids = [strawberry.ID(row["id"]) for row in rows[:first]]
    end_cursor = _encode_cursor(ids[-1]) if ids else after
    return IdPage(ids=ids, end_cursor=end_cursor, has_next_page=len(rows) > first)


def check_ids(ids: Sequence[str]) -> None:
    if len(ids) > MAX_IDS:
        raise client_error(f"at most {MAX_IDS} ids per request, got {len(ids)}")


def rows_by_key(store: CapturedStore, table: str, column: str, keys: Iterable[str]) -> dict[str, dict[str, Any]]:
    """The rows whose ``column`` is one of ``keys``, by that column."""
    wanted = list(dict.fromkeys(keys))
    rows: dict[str, dict[str, Any]] = {}
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        marks = ", ".join("?" for _ in chunk)
        for row in store.query(f'SELECT * FROM "{table}" WHERE "{column}" IN ({marks})', chunk):
            rows[row[column]] = row
    return rows


def in_request_order(found: Mapping[str, T], ids: Sequence[str]) -> list[T | None]:
    """One entry per requested id, ``None`` where nothing was found."""
    return [found.get(entity_id) for entity_id in ids]


def instant_of(ts_ms: int) -> DateTime:
    """The ``DateTime`` of a transaction's timestamp (milliseconds since the epoch)."""
    return DateTime(format_instant(datetime.fromtimestamp(ts_ms / 1000, UTC)))


async def write(store: CapturedStore, change: Callable[[Transaction], T]) -> T:
    """Run a captured write on a worker thread: it blocks until Kafka acknowledged its events."""
    return await asyncio.to_thread(store.write, change)


def to_json(values: Iterable[Any]) -> str:
    """A list column's stored form."""
    return json.dumps(list(values), ensure_ascii=False, separators=(",", ":"))


def from_json(text: str | None) -> list[Any]:
    return json.loads(text) if text else []


class SubgraphSchema(strawberry.federation.Schema):
    """A federation schema that logs request errors in one line and unexpected ones with a traceback."""

    def process_errors(self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None) -> None:
        for error in errors:
            cause = error.original_error
            if cause is None or isinstance(cause, GraphQLError | ServiceError):
                log.warning("graphql error", message=error.message, path=error.path)
            else:
                log.error("graphql resolver failed", path=error.path, exc_info=cause)


async def create_row(
    store: CapturedStore, table: Table, key: str, kind: str, id_prefix: str, columns: dict[str, Any]
) -> dict[str, Any]:
    """Insert a row (op c), generating its key when the input has none; CONFLICT if it exists."""
    columns = {**columns, key: columns.get(key) or f"{id_prefix}-{uuid.uuid4().hex[:12]}"}

    def create(tx: Transaction) -> dict[str, Any]:
        if tx.get(table, columns) is not None:
            raise client_error(f"{kind} {columns[key]} already exists", "CONFLICT")
        return tx.insert(table, {**columns, "updatedAt": instant_of(tx.ts_ms)})

    return await write(store, create)


async def update_row(
    store: CapturedStore, table: Table, key: str, kind: str, entity_id: str, changes: dict[str, Any]
) -> dict[str, Any]:
    """Change some columns of a row (op u) and its updatedAt; NOT_FOUND if it does not exist."""

    def update(tx: Transaction) -> dict[str, Any]:
        after = tx.update(table, {key: entity_id}, {**changes, "updatedAt": instant_of(tx.ts_ms)})
        if after is None:
            raise not_found(kind, entity_id)
        return after

    return await write(store, update)


async def delete_row(store: CapturedStore, table: Table, key: str, kind: str, entity_id: str) -> None:
    """Delete a row (op d plus a tombstone); NOT_FOUND if it does not exist."""

    def delete(tx: Transaction) -> None:
        if tx.delete(table, {key: entity_id}) is None:
            raise not_found(kind, entity_id)

    await write(store, delete)
