"""The cut-over gates: a new version is searched only once it matches the source.

1. **Count parity**: after a refresh, the version holds as many documents as the backfill's source
   enumeration gave, less those deleted at the source (within ``count_tolerance``, for live
   creations and deletions during the backfill), and the backfill reported no failed documents.
2. **Sampled comparison**: ``sample_size`` documents drawn at random are fetched again from the
   gateway (``DocumentFetcher``) and compared field by field (graphdex's own metadata aside). A
   document that differs is read and fetched once more after ``recheck_delay`` seconds before it
   counts as a mismatch, so a change in flight while the gate runs is not mistaken for a bad index.

A failed gate is a ``GateResult`` with problems; ``check`` never changes anything.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from indexer.fetch.fetcher import DocumentFetcher
from indexer.fetch.outcomes import Deleted, Failed, Fetched
from indexer.provision.search_cluster import SearchAdmin, StoredDocument
from indexer.provision.versions import canonical_json
from schema_gen.avro import METADATA_FIELD
from schema_gen.errors import GatewayUnavailable, Problem

MAX_PATHS_SHOWN = 5


class BackfillCounts(Protocol):
    """What the gates read from a backfill's summary (``indexer.backfill``'s ``BackfillSummary``)."""

    @property
    def enumerated(self) -> int: ...
    @property
    def indexed(self) -> int: ...
    @property
    def deleted(self) -> int: ...
    @property
    def failed(self) -> int: ...


@dataclass(frozen=True)
class GateResult:
    """What the gates found on one version."""

    index: str
    expected: int
    counted: int
    sampled: int
    problems: tuple[Problem, ...]

    @property
    def passed(self) -> bool:
        return not self.problems


def value_differences(stored: Any, fresh: Any, path: str = "") -> list[str]:
    """Paths where two JSON values differ: ``title: "A" (index) != "B" (source)``."""
    if isinstance(stored, Mapping) and isinstance(fresh, Mapping):
        found: list[str] = []
        for key in [*fresh, *(key for key in stored if key not in fresh)]:
            found += value_differences(stored.get(key), fresh.get(key), f"{path}.{key}" if path else str(key))
        return found
    if isinstance(stored, list) and isinstance(fresh, list) and len(stored) == len(fresh):
        found = []
        for position, (left, right) in enumerate(zip(stored, fresh, strict=True)):
            found += value_differences(left, right, f"{path}[{position}]")
        return found
    if stored == fresh:
        return []
    return [f"{path or '(document)'}: {_short(stored)} (index) != {_short(fresh)} (source)"]


def _short(value: Any) -> str:
    text = canonical_json(value)
    return text if len(text) <= 60 else f"{text[:57]}..."


def _listed(reasons: Sequence[str]) -> str:
    shown = "; ".join(reasons[:MAX_PATHS_SHOWN])
    more = len(reasons) - MAX_PATHS_SHOWN
    return f"{shown}; and {more} more" if more > 0 else shown


def _content(source: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in source.items() if key != METADATA_FIELD}


class CutoverGates:
    """Checks a freshly built version against the source before the search alias moves to it."""

    def __init__(
        self,
        cluster: SearchAdmin,
        fetcher: DocumentFetcher,
        *,
        sample_size: int = 20,
        count_tolerance: int = 0,
        recheck_delay: float = 1.0,
        seed: int | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._cluster, self._fetcher = cluster, fetcher
        self.sample_size, self.count_tolerance = sample_size, count_tolerance
        self._recheck_delay, self._sleep = recheck_delay, sleep
        self._seed = random.randrange(2**31) if seed is None else seed

    def check(self, index: str, counts: BackfillCounts) -> GateResult:
        """Both gates on ``index``, after a backfill that reported ``counts``."""
        problems: list[Problem] = []
        self._cluster.refresh(index)
        if counts.failed:
            problems.append(Problem(index, f"the backfill could not index {counts.failed} document(s)"))
        expected = counts.enumerated - counts.deleted
        counted = self._cluster.count(index)
        if abs(counted - expected) > self.count_tolerance:
            problems.append(
                Problem(
                    index,
                    f"holds {counted} documents; the source enumeration gave {expected} "
                    f"({counts.enumerated} enumerated, {counts.deleted} deleted at the source)",
                )
            )
        sample = self._cluster.sample(index, self.sample_size, self._seed) if self.sample_size else []
        problems += self._compare(index, sample)
        return GateResult(index, expected, counted, len(sample), tuple(problems))

    def _compare(self, index: str, sample: Sequence[StoredDocument]) -> list[Problem]:
        try:
            suspects = self._mismatches(sample)
            if suspects:
                self._sleep(self._recheck_delay)
                stored = self._cluster.documents(index, list(suspects))
                again = [stored.get(document_id) or StoredDocument(document_id, None, {}) for document_id in suspects]
                suspects = self._mismatches(again)
        except GatewayUnavailable as outage:
            return [Problem(index, f"cannot compare documents with the source: {outage}")]
        return [Problem(f"{index}/{document_id}", _listed(reasons)) for document_id, reasons in suspects.items()]

    def _mismatches(self, documents: Sequence[StoredDocument]) -> dict[str, list[str]]:
        if not documents:
            return {}
        found: dict[str, list[str]] = {}
        outcomes = self._fetcher.fetch([document.id for document in documents])
        for document, outcome in zip(documents, outcomes, strict=True):
            if isinstance(outcome, Fetched):
                if not document.source:
                    found[document.id] = ["missing from the index"]
                    continue
                differences = value_differences(_content(document.source), _content(outcome.document))
                if differences:
                    found[document.id] = differences
            elif isinstance(outcome, Deleted):
                if document.source:
                    found[document.id] = ["deleted at the source, still in the index"]
            elif isinstance(outcome, Failed):
                found[document.id] = [f"cannot be fetched ({outcome.reason}): {outcome.detail}"]
        return found
