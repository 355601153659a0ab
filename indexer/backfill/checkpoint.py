"""A backfill's progress, saved durably after every batch, so that it can resume where it stopped.

A JSON file per backfill (``.graphdex/backfill/<index>-<target>.json``), replaced atomically: the new
content is written to a temporary file in the same folder, flushed and fsynced, renamed over the old
file, and the folder is fsynced, so a crash at any moment leaves either the old or the new
checkpoint, never a torn one. A file rather than a compacted Kafka topic: a backfill from an ids file
or from the gateway needs no Kafka at all, one process owns it, and a person can read it.

What it holds: the cursor of the oldest page not finished yet and the ids already done in the pages
from there on (pages are worked on concurrently, so later pages may be partly done too), the counts
so far, and whether the backfill finished. Resuming re-enumerates from that cursor and skips the ids
done: only the batches in flight at a crash are fetched again.

Documents that could not be indexed are appended to ``<index>-<target>.failed.txt``: a ``#`` line with
the reason, then the id, so the file can be passed back to ``graphdex backfill --ids-file``.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from schema_gen.errors import ConfigError, GraphdexError, Problem

FORMAT = 1
DEFAULT_DIRECTORY = Path(".graphdex") / "backfill"
COUNTS = ("enumerated", "indexed", "deleted", "noop", "failed", "gateway_requests")


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class Checkpoint:
    """Where one backfill of ``index`` into ``target`` stands."""

    index: str
    target: str
    source: str
    """The enumeration (``query movieIds``, ``ids-file /path``, ``index movies``, ``documents topic``)."""
    cursor: str | None = None
    """Cursor of the oldest page not finished (None: the first page)."""
    done: tuple[str, ...] = ()
    """Ids done in the pages from ``cursor`` on."""
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNTS, 0))
    """Totals over every run of this backfill; ``enumerated`` counts the ids of finished pages."""
    finished: bool = False
    started_at: str = field(default_factory=utc_now)
    updated_at: str = field(default_factory=utc_now)

    @property
    def ids_done(self) -> int:
        """Ids handled so far (finished pages plus the ids done after the cursor)."""
        return self.counts.get("enumerated", 0) + len(self.done)

    def to_json(self) -> dict[str, Any]:
        return {"format": FORMAT, **asdict(self), "done": list(self.done)}

    @classmethod
    def from_json(cls, data: Any, where: str) -> Checkpoint:
        """A checkpoint read back; ``ConfigError`` naming the file and key when it is not one."""
        if not isinstance(data, dict):
            raise ConfigError("not a backfill checkpoint", [Problem(where, "expected a JSON object")])
        if data.get("format") != FORMAT:
            raise ConfigError(
                "unknown backfill checkpoint format",
                [Problem(f"{where}: format", f"expected {FORMAT}, got {data.get('format')!r}")],
            )
        problems: list[Problem] = []
        for key, kind in (("index", str), ("target", str), ("source", str), ("finished", bool)):
            if not isinstance(data.get(key), kind):
                problems.append(Problem(f"{where}: {key}", f"expected a {kind.__name__}"))
        if data.get("cursor") is not None and not isinstance(data["cursor"], str):
            problems.append(Problem(f"{where}: cursor", "expected a string or null"))
        done, counts = data.get("done"), data.get("counts")
        if not isinstance(done, list) or not all(isinstance(item, str) for item in done):
            problems.append(Problem(f"{where}: done", "expected a list of ids"))
        if not isinstance(counts, dict) or not all(isinstance(counts.get(key, 0), int) for key in COUNTS):
            problems.append(Problem(f"{where}: counts", f"expected integer counts {', '.join(COUNTS)}"))
        if problems:
            raise ConfigError("invalid backfill checkpoint", problems)
        assert isinstance(done, list)
        assert isinstance(counts, dict)
        return cls(
            index=data["index"],
            target=data["target"],
            source=data["source"],
            cursor=data.get("cursor"),
            done=tuple(done),
            counts={key: int(counts.get(key, 0)) for key in COUNTS},
            finished=data["finished"],
            started_at=str(data.get("started_at", "")),
            updated_at=str(data.get("updated_at", "")),
        )

    def advanced(self, **changes: Any) -> Checkpoint:
        return replace(self, updated_at=utc_now(), **changes)


class CheckpointStore:
    """The checkpoint file of one backfill and its failures file next to it."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    @classmethod
    def for_backfill(cls, index: str, target: str, directory: Path = DEFAULT_DIRECTORY) -> CheckpointStore:
        """``<directory>/<index>-<target>.json``."""
        safe_target = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in target)
        return cls(Path(directory) / f"{index}-{safe_target}.json")

    @property
    def failures_path(self) -> Path:
        return self.path.with_suffix(".failed.txt")

    def load(self) -> Checkpoint | None:
        """The saved checkpoint, or None when there is none."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except (OSError, UnicodeDecodeError) as error:
            reason = getattr(error, "strerror", None) or str(error)
            raise GraphdexError(f"cannot read the backfill checkpoint {self.path}: {reason}") from None
        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            raise ConfigError(
                "invalid backfill checkpoint",
                [Problem(f"{self.path}:{error.lineno}:{error.colno}", f"not valid JSON: {error.msg}")],
            ) from None
        return Checkpoint.from_json(data, str(self.path))

    def save(self, checkpoint: Checkpoint) -> None:
        """Replace the checkpoint atomically and durably."""
        directory = self.path.parent
        try:
            directory.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".tmp", dir=directory)
            try:
                with os.fdopen(handle, "w", encoding="utf-8") as file:
                    json.dump(checkpoint.to_json(), file, ensure_ascii=False, separators=(",", ":"))
                    file.flush()
                    os.fsync(file.fileno())
                os.replace(temporary, self.path)
            except BaseException:
                Path(temporary).unlink(missing_ok=True)
                raise
            _fsync_directory(directory)
        except OSError as error:
            raise GraphdexError(f"cannot save the backfill checkpoint {self.path}: {error.strerror or error}") from None

    def clear(self) -> None:
        """Forget the checkpoint and the failures file (start over)."""
        self.path.unlink(missing_ok=True)
        self.failures_path.unlink(missing_ok=True)


def _fsync_directory(directory: Path) -> None:
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


class FailureLog:
    """Appends the documents a backfill could not index, each under a ``#`` line with its reason."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._file: TextIO | None = None

    def record(self, failures: Iterable[tuple[str, str]]) -> None:
        """``(id, reason)`` pairs, flushed and fsynced before returning (they are then counted as done)."""
        lines = [f"# {' '.join(reason.split())[:500]}\n{document_id}\n" for document_id, reason in failures]
        if not lines:
            return
        with self._lock:
            try:
                if self._file is None:
                    self.path.parent.mkdir(parents=True, exist_ok=True)
                    self._file = self.path.open("a", encoding="utf-8")
                self._file.writelines(lines)
                self._file.flush()
                os.fsync(self._file.fileno())
            except OSError as error:
                raise GraphdexError(f"cannot record failed documents in {self.path}: {error.strerror}") from None

    def close(self) -> None:
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None
