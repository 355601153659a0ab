"""Concrete index versions, their names and the provisioning state each one carries in its mapping.

    <index>-<n>     a concrete index version (n = 1, 2, ...), created from the generated template
    <index>         the search alias: exactly one live version
    <index>-write   the write alias: every version that must receive writes (live, plus pending)

The state of a version lives in the cluster, in its mapping's ``_meta.graphdex`` (``VersionMeta``),
so planning and status need no local files. ``artifacts_hash`` is the sha256 of the canonical JSON of
the generated template and Avro schema; ``avro_hash`` (the Avro schema alone) tells whether documents
render differently, which decides whether an in-place change must re-fetch every document.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

META_KEY = "graphdex"
"""The key of graphdex's provisioning state in a mapping's (and the template's) ``_meta``."""


class VersionState(StrEnum):
    """Where a concrete version is in its life."""

    PENDING = "pending"
    """Created and receiving writes (in ``<index>-write``), not yet searched: being backfilled."""
    LIVE = "live"
    """Behind the search alias ``<index>``."""
    RETIRED = "retired"
    """Replaced; kept without writes until ``retire_after``, then deleted by a later apply."""


@dataclass(frozen=True)
class IndexNames:
    """The names of one index's aliases and versions."""

    index: str

    @property
    def search_alias(self) -> str:
        return self.index

    @property
    def write_alias(self) -> str:
        return f"{self.index}-write"

    @property
    def pattern(self) -> str:
        """A wildcard matching every version (and, possibly, unrelated ``<index>-...`` indexes)."""
        return f"{self.index}-*"

    def version(self, number: int) -> str:
        return f"{self.index}-{number}"

    def version_number(self, name: str) -> int | None:
        """``3`` for ``<index>-3``; None when ``name`` is not a version of this index."""
        match = re.fullmatch(rf"{re.escape(self.index)}-([1-9][0-9]*)", name)
        return int(match.group(1)) if match else None


def canonical_json(value: Any) -> str:
    """Sorted keys, no whitespace: equal values give equal text."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def sha256_of(value: Any) -> str:
    return hashlib.sha256(canonical_json(value).encode("utf-8")).hexdigest()


def artifacts_hash(template: Mapping[str, Any], avro: Mapping[str, Any]) -> str:
    """The sha256 of the canonical JSON of ``{"template": ..., "avro": ...}``."""
    return sha256_of({"template": template, "avro": avro})


def format_instant(moment: datetime) -> str:
    """``2025-06-01T12:00:00Z``: the one timestamp format of provisioning state."""
    return moment.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def parse_instant(text: str) -> datetime:
    """The instant of ``format_instant``'s text (any ISO-8601 text; a naive one is taken as UTC)."""
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@dataclass(frozen=True)
class VersionMeta:
    """The provisioning state of one concrete version, as stored in ``_meta.graphdex``."""

    version: int
    artifacts_hash: str
    avro_hash: str
    created_at: str
    state: VersionState
    retire_after: str | None = None

    def to_meta(self) -> dict[str, Any]:
        """The value of ``_meta.graphdex``."""
        meta: dict[str, Any] = {
            "version": self.version,
            "artifacts_hash": self.artifacts_hash,
            "avro_hash": self.avro_hash,
            "created_at": self.created_at,
            "state": str(self.state),
        }
        if self.retire_after is not None:
            meta["retire_after"] = self.retire_after
        return meta

    @classmethod
    def from_meta(cls, meta: Any) -> VersionMeta:
        """Read ``_meta.graphdex``; ``ValueError`` saying what is wrong with it."""
        if not isinstance(meta, Mapping):
            raise ValueError("_meta.graphdex is not an object")
        try:
            version = meta["version"]
            state = VersionState(meta["state"])
            stored_hash, created_at = str(meta["artifacts_hash"]), str(meta["created_at"])
        except KeyError as missing:
            raise ValueError(f"_meta.graphdex has no {missing.args[0]}") from None
        except ValueError:
            raise ValueError(f"_meta.graphdex.state is {meta['state']!r}, not pending, live or retired") from None
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            raise ValueError(f"_meta.graphdex.version is {version!r}, not a positive integer")
        retire_after = meta.get("retire_after")
        if retire_after is not None:
            try:
                parse_instant(str(retire_after))
            except ValueError:
                raise ValueError(f"_meta.graphdex.retire_after is {retire_after!r}, not an ISO-8601 time") from None
        return cls(
            version=version,
            artifacts_hash=stored_hash,
            avro_hash=str(meta.get("avro_hash", "")),
            created_at=created_at,
            state=state,
            retire_after=None if retire_after is None else str(retire_after),
        )

    def live(self) -> VersionMeta:
        return replace(self, state=VersionState.LIVE, retire_after=None)

    def retired(self, now: datetime, grace: timedelta) -> VersionMeta:
        return replace(self, state=VersionState.RETIRED, retire_after=format_instant(now + grace))

    def deletable(self, now: datetime) -> bool:
        """Retired and past its grace period."""
        return (
            self.state is VersionState.RETIRED
            and self.retire_after is not None
            and parse_instant(self.retire_after) <= now
        )
