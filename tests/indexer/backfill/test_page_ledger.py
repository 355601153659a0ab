"""The page ledger: the checkpoint's cursor moves only past finished pages, whatever order batches end
in; a resumed ledger skips the ids the checkpoint lists as done."""

from __future__ import annotations

from collections import Counter

import pytest

from indexer.backfill.checkpoint import Checkpoint, CheckpointStore
from indexer.backfill.enumeration import IdPage
from indexer.backfill.page_ledger import PageLedger, resumable_checkpoint
from schema_gen.errors import GraphdexError


@pytest.fixture
def store(tmp_path):
    """A checkpoint store holding a fresh checkpoint."""
    store = CheckpointStore.for_backfill("movies", "movies-2", tmp_path)
    store.save(Checkpoint("movies", "movies-2", "query movieIds"))
    return store


def test_the_cursor_moves_past_finished_pages_only(store):
    """Page 2 finishing before page 1 keeps the cursor at page 1, with page 2's ids listed as done."""
    ledger = PageLedger(store, store.load(), requests=lambda: 7)
    first, todo1 = ledger.open(IdPage(("a", "b"), "c1"))
    second, todo2 = ledger.open(IdPage(("c", "d", "c"), None))
    assert (todo1, todo2) == (["a", "b"], ["c", "d"])
    assert ledger.exhausted
    ledger.record(second, ["c", "d"], Counter(indexed=2))
    saved = store.load()
    assert (saved.cursor, sorted(saved.done), saved.finished) == (None, ["c", "d"], False)
    ledger.record(first, ["a"], Counter(noop=1))
    assert (store.load().cursor, sorted(store.load().done)) == (None, ["a", "c", "d"])
    ledger.record(first, ["b"], Counter(failed=1))
    saved = store.load()
    assert (saved.cursor, saved.done, saved.finished) == (None, (), True)
    assert saved.counts == {
        "enumerated": 4,
        "indexed": 2,
        "deleted": 0,
        "noop": 1,
        "failed": 1,
        "gateway_requests": 7,
    }
    assert ledger.handled == 4


def test_a_finished_first_page_moves_the_cursor_to_the_next(store):
    """Once page 1 is done the checkpoint starts at page 2's cursor and forgets page 1's ids."""
    ledger = PageLedger(store, store.load(), requests=lambda: 0)
    first, _ = ledger.open(IdPage(("a",), "after-a"))
    ledger.open(IdPage(("b",), "after-b"))
    ledger.record(first, ["a"], Counter(indexed=1))
    saved = store.load()
    assert (saved.cursor, saved.done, saved.counts["enumerated"]) == ("after-a", (), 1)


def test_resume_skips_done_ids_and_counts_on(store):
    """A ledger from a checkpoint with done ids returns only the others; a page all done closes at once."""
    counts = {**store.load().counts, "enumerated": 1}
    saved = store.load().advanced(cursor="after-a", done=("b", "c", "x"), counts=counts)
    ledger = PageLedger(store, saved, requests=lambda: 0)
    _, todo = ledger.open(IdPage(("b", "c"), "after-c"))
    assert todo == []
    assert store.load().cursor == "after-c"
    page, todo = ledger.open(IdPage(("x", "d"), None))
    assert todo == ["d"]
    ledger.record(page, ["d"], Counter(indexed=1))
    saved = store.load()
    assert (saved.finished, saved.counts["enumerated"], saved.counts["indexed"]) == (True, 5, 1)


def test_an_empty_enumeration_finishes(store):
    """No pages at all: the ledger ends finished."""
    ledger = PageLedger(store, store.load(), requests=lambda: 1)
    ledger.end()
    assert ledger.finished
    assert store.load().counts["gateway_requests"] == 1


def test_resumable_checkpoint_refuses_another_backfill(store):
    """A checkpoint from another enumeration is not resumed silently; a finished one is not resumed."""
    assert resumable_checkpoint(store, "movies", "movies-2", "query movieIds") == store.load()
    with pytest.raises(GraphdexError, match=r"belongs to another backfill .* from query movieIds"):
        resumable_checkpoint(store, "movies", "movies-2", "ids-file /tmp/ids.txt")
    store.save(store.load().advanced(finished=True))
    assert resumable_checkpoint(store, "movies", "movies-2", "ids-file /tmp/ids.txt") is None
