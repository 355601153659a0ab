"""The backfill step of an apply, through ``indexer.backfill.run_backfill``.

Root ids come from the definition's ``backfill.enumeration`` query (or another ``Enumeration``), at
the definition's ``backfill`` load limits, with the usual checkpoint per target
(``.graphdex/backfill/<index>-<target>.json``): an apply interrupted in the middle of a backfill
resumes it. The gates need totals over every run of the backfill, not only the last one, so they
are read back from the checkpoint.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import httpx

from indexer.backfill import Checkpoint, CheckpointStore, Enumeration, LoadLimits, QueryEnumeration, run_backfill
from indexer.backfill.checkpoint import DEFAULT_DIRECTORY
from indexer.definition import IndexDefinition
from indexer.search_store import SearchStore
from schema_gen.errors import DefinitionError, GraphdexError, Problem


@dataclass(frozen=True)
class BackfillTotals:
    """Counts over every run of one backfill (its checkpoint's counts)."""

    enumerated: int
    indexed: int
    deleted: int
    failed: int

    @classmethod
    def of(cls, checkpoint: Checkpoint) -> BackfillTotals:
        counts = checkpoint.counts
        return cls(counts["enumerated"], counts["indexed"], counts["deleted"], counts["failed"])


def backfill_progress(index: str, target: str, directory: Path = DEFAULT_DIRECTORY) -> Checkpoint | None:
    """The saved checkpoint of the backfill of ``index`` into ``target``, if any (read-only)."""
    return CheckpointStore.for_backfill(index, target, directory).load()


class DefinitionBackfill:
    """Backfills of one definition's index into a given version."""

    def __init__(
        self,
        definition: IndexDefinition,
        *,
        store: SearchStore,
        limits: LoadLimits | None = None,
        enumeration: Enumeration | None = None,
        checkpoints: Path = DEFAULT_DIRECTORY,
        progress: bool = True,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.definition, self._store, self._transport = definition, store, transport
        self._limits, self._enumeration = limits, enumeration
        self.checkpoints, self._progress = checkpoints, progress

    def problems(self) -> list[Problem]:
        """What stops a backfill from starting (no enumeration query, a query that does not validate)."""
        try:
            self._limits = self._limits or LoadLimits.from_settings(self.definition.config.backfill)
            self._enumeration = self._enumeration or QueryEnumeration.from_definition(self.definition)
        except DefinitionError as error:
            return list(error.problems) or [Problem(str(self.definition.path), error.summary)]
        if not self.definition.config.graph.url:
            return [Problem(f"{self.definition.path}: graph.url", "a backfill fetches documents from the gateway")]
        return []

    def __call__(self, target_index: str) -> BackfillTotals:
        problems = self.problems()
        if problems:
            raise DefinitionError(f"cannot backfill {target_index}", problems)
        assert self._limits is not None
        assert self._enumeration is not None
        store = CheckpointStore.for_backfill(self.definition.config.index, target_index, self.checkpoints)
        summary = run_backfill(
            self.definition,
            target_index=target_index,
            enumeration=self._enumeration,
            limits=self._limits,
            checkpoint=store,
            progress=self._progress,
            store=self._store,
            transport=self._transport,
        )
        saved = store.load()
        if not summary.completed or saved is None or not saved.finished:
            raise GraphdexError(f"the backfill of {target_index} stopped before the end; apply again to resume it")
        return BackfillTotals.of(saved)
