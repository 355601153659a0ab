"""``PageLedger``: which ids of a backfill are done, page by page, and the checkpoint that says so.

Pages are worked on concurrently (the next page is enumerated while the last batches of the previous
one are still in flight) and their batches finish in any order. The ledger keeps the pages not
finished yet, in enumeration order; the checkpoint holds the cursor of the oldest of them and the
ids done in all of them. When the oldest page is finished the cursor moves past it. On resume the
ledger is built from the checkpoint: pages are enumerated again from its cursor, and the ids it
lists as done are skipped.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from indexer.backfill.checkpoint import Checkpoint, CheckpointStore
from indexer.backfill.enumeration import IdPage
from schema_gen.errors import GraphdexError

STATUSES = ("indexed", "deleted", "noop", "failed")


def resumable_checkpoint(store: CheckpointStore, index: str, target: str, source: str) -> Checkpoint | None:
    """The unfinished checkpoint of this backfill in ``store`` (None when absent or finished);
    ``GraphdexError`` when it belongs to another backfill (a different index, target or enumeration)."""
    saved = store.load()
    if saved is None or saved.finished:
        return None
    if (saved.index, saved.target, saved.source) != (index, target, source):
        raise GraphdexError(
            f"the checkpoint {store.path} belongs to another backfill ({saved.index} into {saved.target} from "
            f"{saved.source}), not {index} into {target} from {source}: start over (--restart) or resume that one"
        )
    return saved


@dataclass
class OpenPage:
    """A page some of whose ids are not done yet."""

    cursor: str | None
    """The cursor this page starts at."""
    next_cursor: str | None
    ids: tuple[str, ...]
    done: set[str]

    @property
    def finished(self) -> bool:
        return len(self.done) >= len(self.ids)


class PageLedger:
    """The open pages and this run's counts; saves the checkpoint on every change. Not thread-safe: the
    backfill's main thread owns it."""

    def __init__(self, store: CheckpointStore, saved: Checkpoint, requests: Callable[[], int]) -> None:
        self._store, self.saved = store, saved
        self._requests = requests
        """Gateway requests made so far in this run."""
        self._base = dict(saved.counts)
        self._cursor = saved.cursor
        self._resume_done = set(saved.done)
        self._open: deque[OpenPage] = deque()
        self.exhausted = False
        """The enumeration has no more pages."""
        self.handled = 0
        """Ids done in this run."""
        self.statuses: Counter[str] = Counter()
        self._closed = 0

    @property
    def finished(self) -> bool:
        return self.saved.finished

    def open(self, page: IdPage) -> tuple[OpenPage, list[str]]:
        """Register the next page; returns it and its ids still to do (distinct, in order)."""
        cursor = self._open[-1].next_cursor if self._open else self._cursor
        ids = tuple(dict.fromkeys(page.ids))
        done = {item for item in ids if item in self._resume_done}
        opened = OpenPage(cursor, page.next_cursor, ids, done)
        self._open.append(opened)
        if page.next_cursor is None:
            self.exhausted = True
        self._save()
        return opened, [item for item in ids if item not in done]

    def end(self) -> None:
        """The enumeration returned no more pages."""
        self.exhausted = True
        self._save()

    def record(self, page: OpenPage, done: Iterable[str], statuses: Counter[str]) -> None:
        """Ids of ``page`` are done (written, or recorded as failed) with these write statuses."""
        done = list(done)
        page.done.update(done)
        self.handled += len(done)
        self.statuses.update(statuses)
        self._save()

    def _save(self) -> None:
        while self._open and self._open[0].finished:
            page = self._open.popleft()
            self._closed += len(page.ids)
            self._cursor = page.next_cursor
        counts = {key: self._base[key] + self.statuses[key] for key in STATUSES}
        counts["enumerated"] = self._base["enumerated"] + self._closed
        counts["gateway_requests"] = self._base["gateway_requests"] + self._requests()
        done = tuple(item for page in self._open for item in page.done)
        finished = self.exhausted and not self._open
        self.saved = self.saved.advanced(cursor=self._cursor, done=done, counts=counts, finished=finished)
        self._store.save(self.saved)
