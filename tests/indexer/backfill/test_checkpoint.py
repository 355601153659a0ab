"""Checkpoints: saved atomically and durably, read back exactly, refused with the file and key when
broken; the failures file doubles as an ids file."""

from __future__ import annotations

import json
import os

import pytest

from indexer.backfill.checkpoint import Checkpoint, CheckpointStore, FailureLog
from indexer.backfill.enumeration import IdsFileEnumeration
from schema_gen.errors import ConfigError, GraphdexError


@pytest.fixture
def store(tmp_path):
    """A checkpoint store in a temporary folder that does not exist yet."""
    return CheckpointStore.for_backfill("movies", "movies-2", tmp_path / "state")


def test_for_backfill_names_the_file_after_index_and_target(tmp_path):
    """``<dir>/<index>-<target>.json``; characters a file name should not hold are replaced."""
    assert CheckpointStore.for_backfill("movies", "movies-2", tmp_path).path == tmp_path / "movies-movies-2.json"
    assert CheckpointStore.for_backfill("movies", "a/b*", tmp_path).path.name == "movies-a_b_.json"
    assert CheckpointStore.for_backfill("movies", "m", tmp_path).failures_path.name == "movies-m.failed.txt"


def test_round_trip(store):
    """What is saved is what is loaded, cursor, done ids and counts included."""
    assert store.load() is None
    saved = Checkpoint("movies", "movies-2", "query movieIds", cursor="YWZ0ZXI6bW92aWUtMDAx", done=("m1", "é"))
    saved = saved.advanced(counts={**saved.counts, "indexed": 7, "enumerated": 1000})
    store.save(saved)
    loaded = store.load()
    assert loaded == saved
    assert loaded.ids_done == 1002


def test_a_crash_while_saving_leaves_the_previous_checkpoint(store, monkeypatch):
    """If writing the new content fails half-way, the old file is intact and no temporary file remains."""
    first = Checkpoint("movies", "movies-2", "query movieIds", cursor="c1")
    store.save(first)

    def torn_write(data, file, **_):
        file.write(json.dumps(data)[:20])
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(json, "dump", torn_write)
    with pytest.raises(GraphdexError, match=r"cannot save the backfill checkpoint .*No space left on device"):
        store.save(first.advanced(cursor="c2"))
    monkeypatch.undo()
    assert store.load() == first
    assert os.listdir(store.path.parent) == [store.path.name]


def test_save_replaces_by_rename_and_syncs(store, monkeypatch):
    """The new content is fsynced before the rename, and the folder after it."""
    calls: list[str] = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(os, "fsync", lambda fd: (calls.append("fsync"), real_fsync(fd))[1])
    monkeypatch.setattr(os, "replace", lambda a, b: (calls.append("replace"), real_replace(a, b))[1])
    store.save(Checkpoint("movies", "movies-2", "query movieIds"))
    assert calls == ["fsync", "replace", "fsync"]


def test_invalid_json_names_the_line_and_column(store):
    """A torn or hand-edited file is a ConfigError with file:line:col."""
    store.path.parent.mkdir(parents=True)
    store.path.write_text('{"format": 1,\n  "index": }', encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        store.load()
    assert f"{store.path}:2:12: not valid JSON" in str(caught.value)


def test_wrong_kinds_are_all_named(store):
    """Every key of the wrong kind is listed with the file."""
    store.path.parent.mkdir(parents=True)
    store.path.write_text(json.dumps({"format": 1, "index": 3, "done": "m1", "counts": []}), encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        store.load()
    wheres = [problem.where for problem in caught.value.problems]
    assert wheres == [f"{store.path}: {key}" for key in ("index", "target", "source", "finished", "done", "counts")]


def test_unknown_format_is_refused(store):
    """A checkpoint of another format version is not guessed at."""
    store.path.parent.mkdir(parents=True)
    store.path.write_text(json.dumps({"format": 99}), encoding="utf-8")
    with pytest.raises(ConfigError, match="format: expected 1, got 99"):
        store.load()


def test_clear_removes_checkpoint_and_failures(store):
    """Starting over forgets both files; clearing nothing is fine."""
    store.save(Checkpoint("movies", "movies-2", "query movieIds"))
    log = FailureLog(store.failures_path)
    log.record([("m1", "graphql_error: boom")])
    log.close()
    store.clear()
    store.clear()
    assert not store.path.exists()
    assert not store.failures_path.exists()


def test_failures_file_is_an_ids_file(store):
    """Each failure is a comment line with the reason and the id; read back as ids it gives the ids."""
    log = FailureLog(store.failures_path)
    log.record([("movie-1", "graphql_error: the talent\nservice failed"), ("movie-2", "mapping_error: bad")])
    log.record([("movie-3", "refused by the index: mapper_parsing_exception: x")])
    log.close()
    text = store.failures_path.read_text(encoding="utf-8")
    assert text.startswith("# graphql_error: the talent service failed\nmovie-1\n# mapping_error: bad\nmovie-2\n")
    enumeration = IdsFileEnumeration(store.failures_path)
    assert enumeration.total() == 3
    assert [page.ids for page in enumeration.pages(None)] == [("movie-1", "movie-2", "movie-3")]
