"""``status``: where one index stands, read from the servers themselves (nothing is changed).

Per index: the live version and its document count; pending versions and their backfill progress
(the backfill checkpoint); retired versions and when they go; whether the deployed artifacts are the
ones the definition generates now; each stage's consumer lag and the dead letters; and whether the
query still fits the gateway's live schema. A server that cannot be reached is reported in its
section; the others are still shown.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from indexer.backfill.checkpoint import DEFAULT_DIRECTORY
from indexer.definition import IndexDefinition
from indexer.provision.desired import DesiredIndex
from indexer.provision.document_backfill import backfill_progress
from indexer.provision.kafka_progress import KafkaProgress, StageLag
from indexer.provision.live_schema import LiveSchemaCheck, check_live_schema
from indexer.provision.observed import ObservedIndex, ObservedVersion, observe_index
from indexer.provision.search_cluster import SearchAdmin
from indexer.provision.versions import VersionState
from schema_gen.errors import GraphdexError, ServiceError


@dataclass(frozen=True)
class BackfillStatus:
    """A backfill's checkpoint, as saved after its last batch."""

    source: str
    ids_done: int
    indexed: int
    deleted: int
    failed: int
    finished: bool
    updated_at: str


@dataclass(frozen=True)
class VersionStatus:
    name: str
    state: str
    created_at: str
    documents: int | None
    artifacts_current: bool
    """Built from the artifacts the definition generates now."""
    retire_after: str | None = None
    backfill: BackfillStatus | None = None


@dataclass(frozen=True)
class KafkaStatus:
    lag: tuple[StageLag, ...] = ()
    dead_letters: int | None = None
    error: str | None = None


@dataclass(frozen=True)
class IndexStatus:
    """Everything ``graphdex status`` shows about one index."""

    index: str
    artifacts_hash: str
    template_current: bool
    live: VersionStatus | None
    pending: tuple[VersionStatus, ...]
    retired: tuple[VersionStatus, ...]
    kafka: KafkaStatus
    schema: LiveSchemaCheck
    problems: tuple[str, ...] = field(default=())

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _backfill(index: str, version: ObservedVersion, checkpoints: Path) -> BackfillStatus | None:
    try:
        saved = backfill_progress(index, version.name, checkpoints)
    except GraphdexError:
        return None
    if saved is None:
        return None
    counts = saved.counts
    return BackfillStatus(
        saved.source,
        saved.ids_done,
        counts["indexed"],
        counts["deleted"],
        counts["failed"],
        saved.finished,
        saved.updated_at,
    )


def _version(cluster: SearchAdmin, desired: DesiredIndex, version: ObservedVersion, checkpoints: Path) -> VersionStatus:
    try:
        documents: int | None = cluster.count(version.name)
    except ServiceError:
        documents = None
    return VersionStatus(
        name=version.name,
        state=str(version.state),
        created_at=version.meta.created_at,
        documents=documents,
        artifacts_current=version.meta.artifacts_hash == desired.artifacts_hash,
        retire_after=version.meta.retire_after,
        backfill=_backfill(desired.index, version, checkpoints) if version.state is VersionState.PENDING else None,
    )


def _kafka(progress: Callable[[], KafkaProgress]) -> KafkaStatus:
    try:
        reader = progress()
        return KafkaStatus(tuple(reader.lag()), reader.dead_letters())
    except GraphdexError as error:
        return KafkaStatus(error=str(error))


def index_status(
    definition: IndexDefinition,
    cluster: SearchAdmin,
    kafka: Callable[[], KafkaProgress],
    *,
    checkpoints: Path = DEFAULT_DIRECTORY,
    schema_check: Callable[[IndexDefinition], LiveSchemaCheck] = check_live_schema,
) -> IndexStatus:
    """The status of ``definition``'s index; ``kafka`` builds the lag reader (its errors are reported)."""
    desired = DesiredIndex.from_definition(definition)
    observed: ObservedIndex = observe_index(cluster, desired.names)
    live = observed.live
    versions = [_version(cluster, desired, version, checkpoints) for version in observed.versions]
    by_state = {state: [status for status in versions if status.state == state] for state in VersionState}
    return IndexStatus(
        index=desired.index,
        artifacts_hash=desired.artifacts_hash,
        template_current=observed.template_hash == desired.artifacts_hash,
        live=next((status for status in versions if live and status.name == live.name), None),
        pending=tuple(status for status in by_state[VersionState.PENDING] if not live or status.name != live.name),
        retired=tuple(by_state[VersionState.RETIRED]),
        kafka=_kafka(kafka),
        schema=schema_check(definition),
        problems=tuple(str(problem) for problem in observed.problems) + _orphans(observed),
    )


def _orphans(observed: ObservedIndex) -> tuple[str, ...]:
    live = observed.live
    return tuple(
        f"{version.name} is marked live but {observed.names.search_alias} points elsewhere "
        "(an interrupted apply: apply again)"
        for version in observed.versions
        if version.state is VersionState.LIVE and (live is None or version.name != live.name)
    )
