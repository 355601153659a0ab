"""The steps of a provisioning plan: each one change, in the order ``apply`` makes them.

Steps are plain values computed by the planner from what the definition wants and what the cluster
has; ``indexer.provision.apply.StepExecutor`` carries them out (against the real clients, or the
dry-run ones). ``str(step)`` is the line ``plan`` prints.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from indexer.kafka.topics import TopicChange
from indexer.provision.registry import SubjectPlan
from indexer.provision.versions import VersionMeta, VersionState


class Section(StrEnum):
    """What a step touches; ``plan`` groups its output by section."""

    TEMPLATE = "index template"
    VERSIONS = "index versions"
    ALIASES = "aliases"
    DOCUMENTS = "documents"
    TOPICS = "kafka topics"
    REGISTRY = "schema registry"


@dataclass(frozen=True)
class PutTemplate:
    name: str
    body: dict[str, Any]
    exists: bool
    section = Section.TEMPLATE

    def __str__(self) -> str:
        verb = "update" if self.exists else "create"
        return f"{verb} index template {self.name} (patterns {', '.join(self.body['index_patterns'])})"


@dataclass(frozen=True)
class CreateVersion:
    index: str
    settings: dict[str, Any]
    mappings: dict[str, Any]
    section = Section.VERSIONS

    def __str__(self) -> str:
        return f"create index {self.index} (pending)"


@dataclass(frozen=True)
class PutMappings:
    """Add fields to an existing version (only additions reach this step)."""

    index: str
    properties: dict[str, Any]
    added: tuple[str, ...]
    section = Section.VERSIONS

    def __str__(self) -> str:
        return f"add {len(self.added)} field(s) to {self.index} in place: {', '.join(self.added)}"


@dataclass(frozen=True)
class PutSettings:
    index: str
    settings: dict[str, str]
    section = Section.VERSIONS

    def __str__(self) -> str:
        changes = ", ".join(f"{key}={value}" for key, value in self.settings.items())
        return f"set {changes} on {self.index} in place"


@dataclass(frozen=True)
class RecordState:
    """Write a version's provisioning state into its ``_meta`` (replacing the whole ``_meta``)."""

    index: str
    meta: VersionMeta
    mapping_meta: dict[str, Any]
    section = Section.VERSIONS

    def __str__(self) -> str:
        if self.meta.state is VersionState.RETIRED:
            return f"mark {self.index} retired (deleted by an apply after {self.meta.retire_after})"
        return f"mark {self.index} {self.meta.state} (artifacts {self.meta.artifacts_hash[:12]})"


@dataclass(frozen=True)
class DeleteVersion:
    index: str
    reason: str
    section = Section.VERSIONS

    def __str__(self) -> str:
        return f"delete index {self.index} ({self.reason})"


@dataclass(frozen=True)
class AddToWriteAlias:
    index: str
    alias: str
    section = Section.ALIASES

    def __str__(self) -> str:
        return f"add {self.index} to {self.alias} (the daemon writes to it from now on)"


@dataclass(frozen=True)
class RemoveFromWriteAlias:
    index: str
    alias: str
    section = Section.ALIASES

    def __str__(self) -> str:
        return f"remove {self.index} from {self.alias}"


@dataclass(frozen=True)
class SwapSearchAlias:
    """Point the search alias at ``new`` in one atomic request (removing it from ``old``)."""

    alias: str
    old: str | None
    new: str
    section = Section.ALIASES

    def __str__(self) -> str:
        if self.old is None:
            return f"point {self.alias} at {self.new}"
        return f"swap {self.alias} from {self.old} to {self.new} atomically"


@dataclass(frozen=True)
class Backfill:
    """Fetch every document again into ``index``."""

    index: str
    reason: str
    section = Section.DOCUMENTS

    def __str__(self) -> str:
        return f"backfill every document into {self.index} ({self.reason})"


@dataclass(frozen=True)
class CheckGates:
    """Refuse the cut-over unless ``index`` matches the source (count parity, sampled documents)."""

    index: str
    live: str | None
    section = Section.DOCUMENTS

    def __str__(self) -> str:
        return f"check {self.index} against the source: document count parity and a sample compared field by field"


@dataclass(frozen=True)
class EnsureTopic:
    change: TopicChange
    section = Section.TOPICS

    def __str__(self) -> str:
        return str(self.change)


@dataclass(frozen=True)
class RegisterSubject:
    plan: SubjectPlan
    schema_text: str = field(repr=False)
    section = Section.REGISTRY

    def __str__(self) -> str:
        return str(self.plan)


Step = (
    PutTemplate
    | CreateVersion
    | PutMappings
    | PutSettings
    | RecordState
    | DeleteVersion
    | AddToWriteAlias
    | RemoveFromWriteAlias
    | SwapSearchAlias
    | Backfill
    | CheckGates
    | EnsureTopic
    | RegisterSubject
)
