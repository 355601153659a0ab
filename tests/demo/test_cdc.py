"""Debezium-shaped change events and the store that delivers them before committing."""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from demo.cdc import ChangeEvent, KafkaChangeLog, Op, Snapshot, envelope, row_events, topic_for
from demo.subgraphs.store import CapturedStore, Table
from schema_gen.errors import ServiceError
from tests.demo.conftest import RecordingChangeLog, TopicReader, free_port

PEOPLE = Table("people", ("personId",), ("personId", "name"))
DDL = "CREATE TABLE IF NOT EXISTS people (personId TEXT PRIMARY KEY, name TEXT NOT NULL);"


def open_store(path: Path, change_log: object, clock_ms: int = 1_700_000_000_000) -> CapturedStore:
    return CapturedStore(path, db="crew", tables=(PEOPLE,), ddl=DDL, change_log=change_log, clock=lambda: clock_ms)  # type: ignore[arg-type]


def test_envelope_has_debezium_fields():
    """An update envelope carries before, after, op, ts_ms, source and transaction like Debezium."""
    value = envelope(
        Op.UPDATE, {"id": "1", "n": "a"}, {"id": "1", "n": "b"}, db="movies", table="movies", ts_ms=5, tx_id=9
    )
    assert value == {
        "before": {"id": "1", "n": "a"},
        "after": {"id": "1", "n": "b"},
        "source": {
            "version": "graphdex-demo-1",
            "connector": "sqlite",
            "name": "demo",
            "ts_ms": 5,
            "snapshot": "false",
            "db": "movies",
            "table": "movies",
            "txId": 9,
        },
        "op": "u",
        "ts_ms": 5,
        "transaction": None,
    }


@pytest.mark.parametrize(
    ("op", "before", "after"),
    [(Op.CREATE, {"id": "1"}, {"id": "1"}), (Op.DELETE, None, None), (Op.READ, {"id": "1"}, None)],
)
def test_envelope_refuses_images_that_do_not_fit_the_op(op, before, after):
    """A create needs only an after image, a delete only a before image, a read only an after image."""
    with pytest.raises(ValueError, match=f"op '{op.value}'"):
        envelope(op, before, after, db="d", table="t", ts_ms=0)


def test_delete_is_followed_by_a_tombstone_with_the_same_key():
    """Deleting a row gives its delete event, then a tombstone keyed like it."""
    events = row_events(
        Op.DELETE, {"movieId": "m1", "title": "x"}, None, db="movies", table="movies", key_columns=["movieId"], ts_ms=1
    )
    assert [event.topic for event in events] == ["demo.movies.movies"] * 2
    assert events[0].key == events[1].key == {"movieId": "m1"}
    assert events[0].value is not None
    assert events[0].value["op"] == "d"
    assert events[1].is_tombstone


def test_composite_keys_keep_column_order():
    """A credit's key is its three key columns, in order, as compact JSON."""
    (event,) = row_events(
        Op.CREATE,
        None,
        {"movieId": "m1", "talentId": "t1", "role": "ACTOR", "character": "Léon"},
        db="movies",
        table="credits",
        key_columns=["movieId", "talentId", "role"],
        ts_ms=1,
    )
    assert event.key_bytes() == b'{"movieId":"m1","talentId":"t1","role":"ACTOR"}'


def test_values_keep_non_ascii_text_as_utf8():
    """Accented and non-Latin text is written as UTF-8, not as escapes."""
    event = ChangeEvent("t", {"id": "黒澤"}, {"name": "Amélie"})
    assert event.key_bytes().decode() == '{"id":"黒澤"}'
    assert json.loads(event.value_bytes() or b"") == {"name": "Amélie"}
    assert ChangeEvent("t", {"id": "1"}, None).value_bytes() is None


def test_topic_names_follow_server_db_table():
    """Topics are named ``<server>.<db>.<table>`` as demo/services.py lists them."""
    assert topic_for("movies", "credits") == "demo.movies.credits"


def test_a_write_delivers_its_events_then_commits(tmp_path: Path, recording_change_log: RecordingChangeLog):
    """Insert, update and delete in one write give c, u, d and a tombstone, delivered as one batch."""
    store = open_store(tmp_path / "crew.db", recording_change_log)

    def change(tx):
        tx.insert(PEOPLE, {"personId": "p1", "name": "Léon"})
        tx.update(PEOPLE, {"personId": "p1"}, {"name": "Léon Montana"})
        tx.insert(PEOPLE, {"personId": "p2", "name": "Mathilda"})
        tx.delete(PEOPLE, {"personId": "p2"})

    store.write(change)
    (batch,) = recording_change_log.batches
    assert [(e.key["personId"], e.value and e.value["op"]) for e in batch] == [
        ("p1", "c"),
        ("p1", "u"),
        ("p2", "c"),
        ("p2", "d"),
        ("p2", None),
    ]
    assert batch[1].value is not None
    assert (batch[1].value["before"]["name"], batch[1].value["after"]["name"]) == ("Léon", "Léon Montana")
    assert {e.value["source"]["txId"] for e in batch if e.value} == {1}
    assert store.query("SELECT * FROM people") == [{"personId": "p1", "name": "Léon Montana"}]


def test_a_read_waits_for_the_write_whose_events_are_out(tmp_path: Path):
    """Events go out just before the commit: a query made once they are out (a consumer reacting to them)
    waits for the commit and sees the change, never the state before it."""
    delivered, release = threading.Event(), threading.Event()

    class SlowChangeLog:
        def deliver(self, events: Sequence[ChangeEvent]) -> None:
            delivered.set()
            release.wait(10)

    store = open_store(tmp_path / "crew.db", SlowChangeLog())
    writer = threading.Thread(target=store.write, args=(lambda tx: tx.insert(PEOPLE, {"personId": "p1", "name": "a"}),))
    writer.start()
    assert delivered.wait(10)
    seen: list[list[dict[str, Any]]] = []
    reader = threading.Thread(target=lambda: seen.append(store.query("SELECT * FROM people")))
    reader.start()
    reader.join(0.3)
    assert reader.is_alive()  # waiting for the commit
    release.set()
    writer.join(10)
    reader.join(10)
    assert seen == [[{"personId": "p1", "name": "a"}]]


def test_transaction_ids_increase_per_write(tmp_path: Path, recording_change_log: RecordingChangeLog):
    """Each write gets the next ``source.txId``, kept across reopening the database."""
    store = open_store(tmp_path / "crew.db", recording_change_log)
    store.write(lambda tx: tx.insert(PEOPLE, {"personId": "p1", "name": "a"}))
    store.close()
    store = open_store(tmp_path / "crew.db", recording_change_log)
    store.write(lambda tx: tx.insert(PEOPLE, {"personId": "p2", "name": "b"}))
    assert [event.value["source"]["txId"] for event in recording_change_log.events if event.value] == [1, 2]


def test_a_write_whose_events_are_not_delivered_is_rolled_back(
    tmp_path: Path, recording_change_log: RecordingChangeLog
):
    """When delivery fails the error propagates and nothing is committed."""
    store = open_store(tmp_path / "crew.db", recording_change_log)
    recording_change_log.failure = ServiceError("broker down")
    with pytest.raises(ServiceError, match="broker down"):
        store.write(lambda tx: tx.insert(PEOPLE, {"personId": "p1", "name": "a"}))
    assert store.query("SELECT * FROM people") == []
    recording_change_log.failure = None
    store.write(lambda tx: tx.insert(PEOPLE, {"personId": "p1", "name": "a"}))
    assert len(recording_change_log.events) == 1


def test_a_failing_change_is_rolled_back_without_events(tmp_path: Path, recording_change_log: RecordingChangeLog):
    """An exception inside the change rolls back its earlier statements and delivers nothing."""
    store = open_store(tmp_path / "crew.db", recording_change_log)

    def change(tx):
        tx.insert(PEOPLE, {"personId": "p1", "name": "a"})
        raise LookupError("no such movie")

    with pytest.raises(LookupError):
        store.write(change)
    assert store.query("SELECT * FROM people") == []
    assert recording_change_log.batches == []


def test_seed_loads_rows_without_events_and_a_snapshot_reads_them(
    tmp_path: Path, recording_change_log: RecordingChangeLog
):
    """Loading seed rows emits nothing; a snapshot gives one op r per row, the last marked ``last``."""
    store = open_store(tmp_path / "crew.db", recording_change_log)
    assert store.is_empty()
    assert store.load(PEOPLE, [{"personId": f"p{n}", "name": f"n{n}"} for n in range(3)]) == 3
    assert not store.is_empty()
    assert recording_change_log.events == []
    events = list(store.snapshot())
    assert [e.key["personId"] for e in events] == ["p0", "p1", "p2"]
    assert all(e.value and e.value["op"] == "r" and e.value["before"] is None for e in events)
    assert [e.value["source"]["snapshot"] for e in events if e.value] == [Snapshot.TRUE, Snapshot.TRUE, Snapshot.LAST]


def test_a_missing_database_folder_is_a_clear_error(tmp_path: Path, recording_change_log: RecordingChangeLog):
    """A database path in a folder that does not exist names the path."""
    with pytest.raises(ServiceError, match="does not exist"):
        open_store(tmp_path / "absent" / "crew.db", recording_change_log)


def test_kafka_change_log_refuses_a_write_when_the_broker_is_unreachable(tmp_path: Path):
    """With no broker, delivery fails within its timeout and the write is rolled back."""
    change_log = KafkaChangeLog(f"127.0.0.1:{free_port()}", client_id="test", delivery_timeout=1.0)
    store = open_store(tmp_path / "crew.db", change_log)
    with pytest.raises(ServiceError, match=r"demo\.crew\.people .*not (delivered|acknowledged)|were not acknowledged"):
        store.write(lambda tx: tx.insert(PEOPLE, {"personId": "p1", "name": "a"}))
    assert store.query("SELECT * FROM people") == []
    change_log.close()


@pytest.mark.integration
def test_kafka_change_log_delivers_keys_values_and_tombstones(demo_kafka: str, demo_topics: TopicReader):
    """Events delivered to Kafka read back with their JSON key, value and a null tombstone value."""
    change_log = KafkaChangeLog(demo_kafka, client_id="test")
    topic = topic_for("crew", "people")
    change_log.connect([topic])
    mark = demo_topics.mark(topic)
    events = row_events(Op.DELETE, {"personId": "p1", "name": "Амели"}, None, db="crew", table="people",
                        key_columns=["personId"], ts_ms=3)  # fmt: skip
    change_log.deliver(events)
    consumed = demo_topics.since(mark)
    assert [(c.key, c.value) for c in consumed] == [(e.key, e.value) for e in events]
    assert consumed[-1].value is None
    change_log.close()


@pytest.mark.integration
def test_kafka_change_log_streams_a_snapshot(demo_kafka: str, demo_topics: TopicReader, tmp_path: Path):
    """A store's snapshot streams every row to Kafka and reports how many were delivered."""
    change_log = KafkaChangeLog(demo_kafka, client_id="test")
    topic = topic_for("crew", "people")
    change_log.connect([topic])
    store = open_store(tmp_path / "crew.db", change_log)
    store.load(PEOPLE, [{"personId": f"p{n:04d}", "name": "x"} for n in range(2500)])
    mark = demo_topics.mark(topic)
    assert change_log.stream(store.snapshot()) == 2500
    consumed = demo_topics.since(mark)
    assert [c.key["personId"] for c in consumed] == [f"p{n:04d}" for n in range(2500)]
    assert consumed[-1].value is not None
    assert consumed[-1].value["source"]["snapshot"] == "last"
    change_log.close()
