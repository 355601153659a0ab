"""Backfills on the real local stack (Apache Kafka, OpenSearch, the three demo subgraphs and the Apollo gateway):
complete, exactly once, resumable after a crash or a stop, and never stale next to live updates."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import datetime, timedelta

import pytest

from demo.seed import generate
from demo.services import DEFAULT_SEED, DEFAULT_SIZE
from indexer.backfill import (
    AllowedWindows,
    CheckpointStore,
    IdsFileEnumeration,
    IndexEnumeration,
    LoadLimits,
    QueryEnumeration,
    run_backfill,
)
from indexer.fetch import DocumentFetcher, Fetched, VersionClock
from indexer.sink.bulk_sink import BulkSink, DocumentWrite
from schema_gen.avro import METADATA_FIELD

from .conftest import InjectedCrash, RecordingTransport, gateway_ids, iter_documents, stored_ids

pytestmark = pytest.mark.integration

SMALL_PAGES = {"backfill": {"enumeration": {"page_size": 64}}, "fetch": {"batch_size": 10}}
LIMITS = LoadLimits(rate=500, concurrency=3)


@pytest.fixture(scope="module")
def seeded_ids():
    """The ids of the movies the local stack was seeded with (demo/seed.py)."""
    return {movie.movie_id for movie in generate(DEFAULT_SEED, DEFAULT_SIZE).movies}


def without_metadata(document):
    return {key: value for key, value in document.items() if key != METADATA_FIELD}


def backfill(definition, target, checkpoint, **options):
    """run_backfill with the definition's query enumeration, no progress bar."""
    options.setdefault("enumeration", QueryEnumeration.from_definition(definition))
    options.setdefault("limits", LIMITS)
    return run_backfill(definition, target_index=target, checkpoint=checkpoint, progress=False, **options)


def test_full_backfill_indexes_every_movie_exactly_once(
    stack_definition, target_index, search_store, local_stack, tmp_path, seeded_ids
):
    """Every movie the gateway lists is fetched once and indexed once, equal to a fresh fetch."""
    definition = stack_definition(SMALL_PAGES)
    target = target_index(definition)
    transport = RecordingTransport()
    store = CheckpointStore.for_backfill("movies", target, tmp_path)
    summary = backfill(definition, target, store, transport=transport, store=search_store)

    ids = gateway_ids(local_stack.endpoints.gateway_url)
    assert set(ids) <= seeded_ids
    assert len(ids) >= len(seeded_ids) - 5  # other tests on the shared stack may delete a movie or two
    assert Counter(transport.ids) == Counter(ids)
    assert sorted(stored_ids(search_store, target)) == sorted(ids)
    assert (summary.enumerated, summary.indexed, summary.noop, summary.failed) == (len(ids), len(ids), 0, 0)
    assert summary.completed
    assert summary.resumed_from is None
    assert transport.pages == -(-len(ids) // 64)
    assert summary.gateway_requests == len(transport.batches) + transport.pages
    assert all(len(batch) <= 10 for batch in transport.batches)
    saved = store.load()
    assert saved.finished
    assert saved.counts["enumerated"] == len(ids)

    with DocumentFetcher.for_index(definition.model, definition.config) as fetcher:
        fresh = {o.id: without_metadata(o.document) for o in fetcher.fetch(ids) if isinstance(o, Fetched)}
    stored = {doc_id: without_metadata(source) for doc_id, source, _ in iter_documents(search_store, target, ids)}
    assert stored == fresh


def test_a_crash_mid_backfill_resumes_without_fetching_done_batches_again(
    stack_definition, target_index, search_store, local_stack, tmp_path
):
    """An exception after six batches; --resume fetches only the batch that was in hand, once more."""
    definition = stack_definition(SMALL_PAGES)
    target = target_index(definition)
    store = CheckpointStore.for_backfill("movies", target, tmp_path)

    def crash(number, ids):
        if number == 7:
            raise InjectedCrash(f"the process died while batch {number} was in hand")

    first = RecordingTransport(on_batch=crash)
    with pytest.raises(InjectedCrash):
        backfill(
            definition, target, store, transport=first, store=search_store, limits=LoadLimits(rate=500, concurrency=1)
        )
    saved = store.load()
    assert not saved.finished
    # Every batch the gateway answered before the crash was written and checkpointed. (Which batch is
    # the seventh request depends on timing: the short last batch of the first page may come earlier.)
    assert saved.ids_done == len(set(first.ids) - set(first.batches[6]))

    second = RecordingTransport()
    summary = backfill(definition, target, store, transport=second, store=search_store)
    assert summary.completed
    assert summary.resumed_from == saved.ids_done
    fetched_twice = set(first.ids) & set(second.ids)
    assert fetched_twice == set(first.batches[6])
    ids = gateway_ids(local_stack.endpoints.gateway_url)
    assert Counter(first.ids) + Counter(second.ids) == Counter(ids) + Counter(first.batches[6])
    assert sorted(stored_ids(search_store, target)) == sorted(ids)
    assert summary.enumerated == len(ids) - saved.ids_done
    assert store.load().counts["indexed"] == len(ids)


def test_a_stop_saves_the_batches_in_hand_and_resume_fetches_nothing_twice(
    stack_definition, target_index, search_store, local_stack, tmp_path
):
    """Stopping after five batches finishes those in hand; resuming fetches only what is left."""
    definition = stack_definition(SMALL_PAGES)
    target = target_index(definition)
    store = CheckpointStore.for_backfill("movies", target, tmp_path)
    stop = threading.Event()
    first = RecordingTransport(on_batch=lambda number, ids: stop.set() if number == 5 else None)
    stopped = backfill(definition, target, store, transport=first, store=search_store, stop=stop)
    assert not stopped.completed
    assert stopped.enumerated == len(first.ids)
    assert store.load().ids_done == len(first.ids)

    second = RecordingTransport()
    summary = backfill(definition, target, store, transport=second, store=search_store)
    assert summary.completed
    assert set(first.ids).isdisjoint(second.ids)
    assert sorted(stored_ids(search_store, target)) == sorted(gateway_ids(local_stack.endpoints.gateway_url))


def test_live_updates_are_never_overwritten_by_older_backfill_fetches(
    stack_definition, target_index, search_store, local_stack, tmp_path
):
    """A live write that lands between the backfill's fetch and its write wins (a noop for the
    backfill); documents written before the backfill fetched them are replaced by fresher data."""
    definition = stack_definition(SMALL_PAGES)
    target = target_index(definition)
    ids = gateway_ids(local_stack.endpoints.gateway_url)
    live_sink = BulkSink(search_store, target, definition.config.sink)
    with DocumentFetcher.for_index(definition.model, definition.config) as fetcher:
        documents = {o.id: o.document for o in fetcher.fetch(ids) if isinstance(o, Fetched)}
    old = ids[-20:]
    live_sink.write([DocumentWrite(i, 1, {**documents[i], "title": "OLD"}) for i in old])
    live: list[str] = []
    versions = VersionClock()

    def live_update(number, batch_ids):
        if number == 2:  # the backfill has fetched batch 2 but not written it yet
            live.extend(batch_ids)
            writes = [DocumentWrite(i, versions.next_version(), {**documents[i], "title": "LIVE"}) for i in batch_ids]
            assert {outcome.status for outcome in live_sink.write(writes)} == {"indexed"}

    store = CheckpointStore.for_backfill("movies", target, tmp_path)
    transport = RecordingTransport(on_batch=live_update)
    summary = backfill(definition, target, store, transport=transport, store=search_store)

    assert len(live) == 10
    assert summary.noop == len(live)
    assert summary.indexed == len(ids) - len(live)
    titles = {doc_id: source["title"] for doc_id, source, _ in iter_documents(search_store, target, ids)}
    assert {titles[i] for i in live} == {"LIVE"}
    assert all(titles[i] == documents[i]["title"] for i in ids if i not in live)


def test_backfill_of_the_ids_in_an_index(stack_definition, target_index, search_store, tmp_path):
    """``IndexEnumeration`` backfills exactly the ids another index holds, in pages by id."""
    definition = stack_definition(SMALL_PAGES)
    source, target = target_index(definition, "-from"), target_index(definition, "-to")
    chosen = sorted(gateway_ids(definition.config.graph.url))[5:75]
    with DocumentFetcher.for_index(definition.model, definition.config) as fetcher:
        outcomes = fetcher.fetch(chosen)
    BulkSink(search_store, source, definition.config.sink).write(
        [DocumentWrite(o.id, 1, o.document) for o in outcomes if isinstance(o, Fetched)]
    )
    search_store.refresh(source)
    enumeration = IndexEnumeration.for_definition(search_store, definition, source, page_size=32)
    assert enumeration.total() == 70
    transport = RecordingTransport()
    store = CheckpointStore.for_backfill("movies", target, tmp_path)
    summary = backfill(definition, target, store, enumeration=enumeration, transport=transport, store=search_store)
    assert summary.indexed == 70
    assert transport.pages == 0
    assert sorted(stored_ids(search_store, target)) == chosen


def test_ids_file_with_unknown_ids_deletes_them_as_noops(stack_definition, target_index, search_store, tmp_path):
    """Ids the gateway does not know become deletions of documents that are not there: noops."""
    definition = stack_definition(SMALL_PAGES)
    target = target_index(definition)
    known = sorted(gateway_ids(definition.config.graph.url))[:3]
    ids_file = tmp_path / "ids.txt"
    ids_file.write_text("\n".join([*known, "movie-unknown", 'movie-1") { x } #']) + "\n", encoding="utf-8")
    store = CheckpointStore.for_backfill("movies", target, tmp_path)
    summary = backfill(definition, target, store, enumeration=IdsFileEnumeration(ids_file), store=search_store)
    assert (summary.enumerated, summary.indexed, summary.noop, summary.failed) == (5, 3, 2, 0)
    assert sorted(stored_ids(search_store, target)) == known


def test_outside_its_time_window_a_backfill_sends_nothing(stack_definition, target_index, search_store, tmp_path):
    """A window that opens in two hours keeps the backfill waiting; a stop ends the wait cleanly."""
    definition = stack_definition(SMALL_PAGES)
    target = target_index(definition)
    now = datetime.now().astimezone()
    opens, closes = now + timedelta(hours=2), now + timedelta(hours=3)
    windows = AllowedWindows.parse([f"{opens:%H:%M}-{closes:%H:%M}"])
    stop = threading.Event()
    timer = threading.Timer(0.5, stop.set)
    timer.start()
    store = CheckpointStore.for_backfill("movies", target, tmp_path)
    summary = backfill(
        definition,
        target,
        store,
        store=search_store,
        stop=stop,
        limits=LoadLimits(rate=500, concurrency=2, windows=windows),
    )
    timer.join()
    assert not summary.completed
    assert (summary.gateway_requests, summary.enumerated) == (0, 0)
    assert not store.load().finished
