"""What a person watching a backfill sees: a tqdm bar while it runs, a table when it ends.

The bar counts documents (with tqdm's rate and, when the total is known or estimated, its ETA) and
shows failures, the current request-rate limit, the gateway's recent p95 latency, and what the
backfill is waiting for (a time window, a gateway outage).
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.table import Table
from tqdm import tqdm


@dataclass(frozen=True)
class BackfillSummary:
    """What one run of a backfill did; document counts cover this run only."""

    target: str
    source: str
    enumerated: int
    """Ids done in this run: written, or recorded as failed (ids done before a resume are not counted)."""
    indexed: int
    deleted: int
    """Deletions written (the root no longer exists)."""
    noop: int
    """Writes the index already had at that version or a newer one (a live update won, or an earlier
    attempt of a bulk request that timed out had landed), or deletes of missing documents."""
    failed: int
    """Documents recorded in ``failures_file`` (a GraphQL or mapping error, refused by the index)."""
    gateway_requests: int
    """HTTP requests to the gateway in this run (pages, batches and their retries)."""
    seconds: float
    resumed_from: int | None
    """Ids already done when this run resumed a checkpoint; None when it started afresh."""
    completed: bool
    """False when stopped early (Ctrl-C, a stop event); resume continues it."""
    failures_file: str | None = None
    final_rate: float | None = None
    """The request-rate limit at the end (it moves in adaptive mode)."""

    @property
    def documents_per_second(self) -> float:
        return self.enumerated / self.seconds if self.seconds > 0 else 0.0


class BackfillProgress:
    """A tqdm bar on stderr; a no-op when disabled."""

    def __init__(self, *, total: int | None, initial: int, estimated: bool, enabled: bool, target: str) -> None:
        self._bar = tqdm(
            total=total,
            initial=initial,
            unit="doc",
            unit_scale=True,
            dynamic_ncols=True,
            desc=f"backfill {target}" + (" (total estimated)" if estimated and total else ""),
            disable=not enabled,
            smoothing=0.1,
        )
        self._failed = 0
        self._limit = 0.0
        self._p95 = 0.0
        self._state = ""

    def advance(self, documents: int, failed: int) -> None:
        self._failed += failed
        self._bar.update(documents)
        self._show()

    def gauges(self, *, limit: float, p95: float) -> None:
        self._limit, self._p95 = limit, p95
        self._show()

    def state(self, text: str) -> None:
        if text != self._state:
            self._state = text
            self._show()

    def _show(self) -> None:
        postfix = {"failed": self._failed, "limit": f"{self._limit:.1f}/s", "p95": f"{self._p95 * 1000:.0f}ms"}
        if self._state:
            postfix["state"] = self._state
        self._bar.set_postfix(postfix, refresh=False)

    def close(self) -> None:
        self._bar.close()


def summary_table(summary: BackfillSummary) -> Table:
    """The final table of a backfill run."""
    status = "completed" if summary.completed else "stopped (continue with --resume)"
    table = Table(title=f"backfill into {summary.target}: {status}", show_header=False)
    table.add_column("", style="bold")
    table.add_column("", justify="right")
    rows = [
        ("source", summary.source),
        ("documents", f"{summary.enumerated:,}"),
        ("indexed", f"{summary.indexed:,}"),
        ("deleted", f"{summary.deleted:,}"),
        ("noop (index had it)", f"{summary.noop:,}"),
        ("failed", f"{summary.failed:,}"),
        ("gateway requests", f"{summary.gateway_requests:,}"),
        ("seconds", f"{summary.seconds:,.1f}"),
        ("documents/s", f"{summary.documents_per_second:,.1f}"),
    ]
    if summary.resumed_from is not None:
        rows.append(("resumed after", f"{summary.resumed_from:,} ids"))
    if summary.final_rate is not None:
        rows.append(("final rate limit", f"{summary.final_rate:.1f}/s"))
    if summary.failed and summary.failures_file:
        rows.append(("failed ids in", summary.failures_file))
    for name, value in rows:
        table.add_row(name, value)
    return table
