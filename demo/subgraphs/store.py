"""A SQLite store whose every committed write was first delivered as CDC events.

``CapturedStore.write(change)`` runs ``change(transaction)`` in one SQLite transaction; the
``Transaction`` records a Debezium event for each row it inserts, updates or deletes; the events are
delivered to the change log and only then is the transaction committed. If delivery fails, the
transaction is rolled back and the error propagates: a write never commits silently.

Writes are serialised by a lock and run on the caller's thread (subgraphs call ``write`` through
``asyncio.to_thread``); reads use a second connection and see committed data only (WAL mode).
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from demo.cdc import ChangeEvent, ChangeLog, Op, Row, Snapshot, row_events
from schema_gen.errors import ServiceError

T = TypeVar("T")


def now_ms() -> int:
    """Milliseconds since the epoch, the unit of Debezium's ``ts_ms``."""
    return time.time_ns() // 1_000_000


@dataclass(frozen=True)
class Table:
    """One captured table: its name, primary-key columns and all columns (key columns first)."""

    name: str
    key: tuple[str, ...]
    columns: tuple[str, ...]

    def key_of(self, row: Row) -> dict[str, Any]:
        return {column: row[column] for column in self.key}

    def _where_key(self) -> str:
        return " AND ".join(f'"{column}" = ?' for column in self.key)


class Transaction:
    """The writes of one ``CapturedStore.write`` call; each row change is recorded as CDC events."""

    def __init__(self, connection: sqlite3.Connection, *, db: str, ts_ms: int, tx_id: int) -> None:
        self._connection = connection
        self._db = db
        self.ts_ms = ts_ms
        self.tx_id = tx_id
        self.events: list[ChangeEvent] = []

    def get(self, table: Table, key: Row) -> dict[str, Any] | None:
        """The row with this primary key, or ``None``."""
        cursor = self._connection.execute(
            f'SELECT * FROM "{table.name}" WHERE {table._where_key()}', tuple(key[c] for c in table.key)
        )
        row = cursor.fetchone()
        return dict(row) if row is not None else None

    def select(self, table: Table, column: str, value: Any) -> list[dict[str, Any]]:
        """Rows whose ``column`` equals ``value``, in primary-key order."""
        order = ", ".join(f'"{c}"' for c in table.key)
        cursor = self._connection.execute(
            f'SELECT * FROM "{table.name}" WHERE "{column}" = ? ORDER BY {order}', (value,)
        )
        return [dict(row) for row in cursor]

    def insert(self, table: Table, row: Row) -> dict[str, Any]:
        """Insert a new row (every column of ``table``); return it as stored."""
        after = {column: row.get(column) for column in table.columns}
        names = ", ".join(f'"{c}"' for c in table.columns)
        marks = ", ".join("?" for _ in table.columns)
        self._connection.execute(f'INSERT INTO "{table.name}" ({names}) VALUES ({marks})', tuple(after.values()))
        self._record(Op.CREATE, table, None, after)
        return after

    def update(self, table: Table, key: Row, changes: Row) -> dict[str, Any] | None:
        """Change some columns of one row; return the row after, or ``None`` if there is no such row."""
        before = self.get(table, key)
        if before is None:
            return None
        unknown = set(changes) - set(table.columns) | set(changes) & set(table.key)
        if unknown:
            raise ValueError(f"cannot update {sorted(unknown)} of {table.name}")
        after = {**before, **changes}
        if changes:
            assignments = ", ".join(f'"{column}" = ?' for column in changes)
            self._connection.execute(
                f'UPDATE "{table.name}" SET {assignments} WHERE {table._where_key()}',
                (*changes.values(), *(key[c] for c in table.key)),
            )
        self._record(Op.UPDATE, table, before, after)
        return after

    def delete(self, table: Table, key: Row) -> dict[str, Any] | None:
        """Delete one row; return it as it was, or ``None`` if there is no such row."""
        before = self.get(table, key)
        if before is None:
            return None
        self._connection.execute(
            f'DELETE FROM "{table.name}" WHERE {table._where_key()}', tuple(key[c] for c in table.key)
        )
        self._record(Op.DELETE, table, before, None)
        return before

    def _record(self, op: Op, table: Table, before: Row | None, after: Row | None) -> None:
        self.events += row_events(
            op, before, after, db=self._db, table=table.name, key_columns=table.key, ts_ms=self.ts_ms, tx_id=self.tx_id
        )


class CapturedStore:
    """One service's SQLite database, its captured tables and the change log its writes go to."""

    def __init__(
        self,
        path: Path,
        *,
        db: str,
        tables: Sequence[Table],
        ddl: str,
        change_log: ChangeLog,
        clock: Callable[[], int] = now_ms,
    ) -> None:
        self.path = path
        self.db = db
        self.tables = tuple(tables)
        self._change_log = change_log
        self._clock = clock
        self._lock = threading.Lock()
        self._settled = threading.Event()
        """Set while no write is in progress: reads wait for it (see ``query``)."""
        self._settled.set()
        if not path.parent.is_dir():
            raise ServiceError(f"cannot create the {db} database {path}: directory {path.parent} does not exist")
        try:
            self._writer = self._connect()
            self._writer.executescript(ddl + "\nCREATE TABLE IF NOT EXISTS _cdc_state (tx_id INTEGER NOT NULL);")
            if self._writer.execute("SELECT COUNT(*) FROM _cdc_state").fetchone()[0] == 0:
                self._writer.execute("INSERT INTO _cdc_state (tx_id) VALUES (0)")
            self._reader = self._connect()
        except sqlite3.Error as error:
            raise ServiceError(f"cannot open the {db} database {path}: {error}") from None

    def _connect(self) -> sqlite3.Connection:
        connection = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=30)
        connection.row_factory = sqlite3.Row
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=NORMAL")
        return connection

    def is_empty(self) -> bool:
        """No captured table has a row."""
        return all(
            self._reader.execute(f'SELECT 1 FROM "{table.name}" LIMIT 1').fetchone() is None for table in self.tables
        )

    def load(self, table: Table, rows: Iterable[Row]) -> int:
        """Bulk-insert seed rows in one transaction, without CDC events; return how many.

        The table's secondary indexes are dropped and rebuilt around the insert (twice as fast for a
        million credits), within the same transaction."""
        names = ", ".join(f'"{c}"' for c in table.columns)
        marks = ", ".join("?" for _ in table.columns)
        with self._lock:
            self._writer.execute("BEGIN IMMEDIATE")
            try:
                indexes = self._writer.execute(
                    "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL",
                    (table.name,),
                ).fetchall()
                for index in indexes:
                    self._writer.execute(f'DROP INDEX "{index["name"]}"')
                cursor = self._writer.executemany(
                    f'INSERT INTO "{table.name}" ({names}) VALUES ({marks})',
                    (tuple(row[c] for c in table.columns) for row in rows),
                )
                for index in indexes:
                    self._writer.execute(index["sql"])
                self._writer.execute("COMMIT")
            except BaseException:
                self._writer.execute("ROLLBACK")
                raise
        return cursor.rowcount

    def snapshot(self) -> Iterator[ChangeEvent]:
        """A Debezium snapshot: an ``op: r`` event for every row of every table, the last one marked."""
        ts_ms = self._clock()
        previous: tuple[Table, dict[str, Any]] | None = None
        for table in self.tables:
            order = ", ".join(f'"{c}"' for c in table.key)
            for row in self._reader.execute(f'SELECT * FROM "{table.name}" ORDER BY {order}'):
                if previous is not None:
                    yield self._read_event(*previous, ts_ms, Snapshot.TRUE)
                previous = (table, dict(row))
        if previous is not None:
            yield self._read_event(*previous, ts_ms, Snapshot.LAST)

    def _read_event(self, table: Table, row: dict[str, Any], ts_ms: int, snapshot: Snapshot) -> ChangeEvent:
        (event,) = row_events(
            Op.READ, None, row, db=self.db, table=table.name, key_columns=table.key, ts_ms=ts_ms, snapshot=snapshot
        )
        return event

    def query(self, sql: str, parameters: Sequence[Any] = ()) -> list[dict[str, Any]]:
        """Rows of a read-only query over committed data.

        A write in progress may have delivered its events already (they go out just before the commit):
        the query waits for it to commit or roll back, so whoever reads because of an event sees its
        change, as with Debezium, which publishes committed changes only."""
        self._settled.wait()
        return [dict(row) for row in self._reader.execute(sql, tuple(parameters))]

    def write(self, change: Callable[[Transaction], T]) -> T:
        """Run ``change`` in a transaction, deliver its events, then commit; roll back if anything fails."""
        with self._lock:
            self._settled.clear()
            try:
                self._writer.execute("BEGIN IMMEDIATE")
                try:
                    tx_id = self._writer.execute("UPDATE _cdc_state SET tx_id = tx_id + 1 RETURNING tx_id").fetchone()[
                        0
                    ]
                    transaction = Transaction(self._writer, db=self.db, ts_ms=self._clock(), tx_id=tx_id)
                    result = change(transaction)
                    if transaction.events:
                        self._change_log.deliver(transaction.events)
                    self._writer.execute("COMMIT")
                except BaseException:
                    self._writer.execute("ROLLBACK")
                    raise
            finally:
                self._settled.set()
        return result

    def close(self) -> None:
        self._reader.close()
        self._writer.close()
