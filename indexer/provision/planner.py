"""From what the definition wants and what the cluster has, the ordered steps that make them agree.

The planner is pure: it never calls a server. Its plan converges: once applied, planning again gives
no steps. It also repairs what an interrupted apply left behind (a version left pending or marked
live while the alias points elsewhere, a live version missing from the write alias).

For the versions: a first apply creates ``<index>-1``; an in-place change adds fields and dynamic
settings to the live version and backfills it when documents change; any other change builds
``<index>-<n+1>`` (or resumes a pending version built from the same artifacts), backfills it, checks
the cut-over gates, swaps the search alias atomically, takes the old version out of the write alias
and retires it for a grace period. Retired versions past their grace are deleted. A pending version
built from other artifacts (an abandoned migration) leaves the write alias and is deleted by the
next apply, never at once, so a writer still holding the old alias resolution cannot recreate it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from indexer.kafka.topics import TopicPlan
from indexer.provision.desired import DesiredIndex
from indexer.provision.diff import DYNAMIC_SETTINGS, ChangeKind, IndexChange, VersionShape, classify, flatten_settings
from indexer.provision.observed import ObservedIndex, ObservedVersion
from indexer.provision.registry import SubjectPlan
from indexer.provision.steps import (
    AddToWriteAlias,
    Backfill,
    CheckGates,
    CreateVersion,
    DeleteVersion,
    EnsureTopic,
    PutMappings,
    PutSettings,
    PutTemplate,
    RecordState,
    RegisterSubject,
    RemoveFromWriteAlias,
    Step,
    SwapSearchAlias,
)
from indexer.provision.versions import META_KEY, VersionMeta, VersionState, format_instant
from schema_gen.errors import Problem


@dataclass(frozen=True)
class ProvisionPlan:
    """What ``apply`` would do for one index, why, and what stops it."""

    index: str
    change: IndexChange
    target: str | None
    """The version the documents are written to by this apply (new, resumed or live), if any."""
    live: str | None
    steps: tuple[Step, ...]
    notes: tuple[str, ...] = ()
    """Facts worth knowing that need no change (a retired version kept until its grace ends)."""
    problems: tuple[Problem, ...] = ()
    """What must be fixed before anything is changed."""
    warnings: tuple[Problem, ...] = ()
    """Differences left to a person (topic partition counts)."""

    @property
    def empty(self) -> bool:
        return not self.steps


def desired_shape(desired: DesiredIndex) -> VersionShape:
    return VersionShape(desired.mappings, desired.settings, desired.artifacts_hash, desired.avro_hash)


def _new_meta(desired: DesiredIndex, number: int, now: datetime) -> VersionMeta:
    return VersionMeta(
        version=number,
        artifacts_hash=desired.artifacts_hash,
        avro_hash=desired.avro_hash,
        created_at=format_instant(now),
        state=VersionState.PENDING,
    )


def _reason(change: IndexChange) -> str:
    if change.kind is ChangeKind.CREATE:
        return "first version"
    shown = ", ".join(f"{difference.path} {difference.change}" for difference in change.reasons[:4])
    more = f" and {len(change.reasons) - 4} more" if len(change.reasons) > 4 else ""
    return f"{shown}{more}"


class _Planner:
    def __init__(self, desired: DesiredIndex, observed: ObservedIndex, now: datetime, grace: timedelta) -> None:
        self.desired, self.observed, self.now, self.grace = desired, observed, now, grace
        self.names = desired.names
        self.steps: list[Step] = []
        self.notes: list[str] = []
        self.handled: set[str] = set()

    def in_write_alias(self, version: ObservedVersion) -> bool:
        return version.name in self.observed.write_targets

    def versions(self, change: IndexChange) -> str | None:
        live = self.observed.live
        if change.kind in (ChangeKind.CREATE, ChangeKind.NEW_VERSION):
            return self.build_version(change, live)
        assert live is not None
        self.handled.add(live.name)
        if change.kind is ChangeKind.IN_PLACE:
            self.change_in_place(change, live)
        elif live.state is not VersionState.LIVE:
            self.steps.append(RecordState(live.name, live.meta.live(), live.mapping_meta(live.meta.live())))
        if not self.in_write_alias(live):
            self.steps.append(AddToWriteAlias(live.name, self.names.write_alias))
        return live.name if change.refetch else None

    def build_version(self, change: IndexChange, live: ObservedVersion | None) -> str:
        resumable = [
            version
            for version in self.observed.versions
            if version is not live
            and version.state is VersionState.PENDING
            and version.meta.artifacts_hash == self.desired.artifacts_hash
        ]
        if resumable:
            building = resumable[-1]
            target, meta = building.name, building.meta
            self.notes.append(f"resuming the migration to {target} (pending since {meta.created_at})")
            mapping_meta = building.mapping_meta(meta.live())
            in_write_alias = self.in_write_alias(building)
        else:
            number = self.observed.next_number
            target, meta = self.names.version(number), _new_meta(self.desired, number, self.now)
            mappings = self.desired.mappings | {"_meta": dict(self.desired.mappings.get("_meta") or {})}
            mappings["_meta"][META_KEY] = meta.to_meta()
            self.steps.append(CreateVersion(target, self.desired.settings, mappings))
            mapping_meta = mappings["_meta"] | {META_KEY: meta.live().to_meta()}
            in_write_alias = False
        if not in_write_alias:
            self.steps.append(AddToWriteAlias(target, self.names.write_alias))
        self.steps.append(Backfill(target, _reason(change)))
        self.steps.append(CheckGates(target, live.name if live else None))
        self.steps.append(SwapSearchAlias(self.names.search_alias, live.name if live else None, target))
        if live is not None:
            self.retire(live)
        self.steps.append(RecordState(target, meta.live(), mapping_meta))
        self.handled.add(target)
        return target

    def change_in_place(self, change: IndexChange, live: ObservedVersion) -> None:
        added = tuple(
            difference.path
            for difference in change.differences
            if difference.change == "added" and difference.refetch and difference.path != "avro"
        )
        if added:
            self.steps.append(PutMappings(live.name, self.desired.mappings["properties"], added))
        have, want = flatten_settings(live.settings), flatten_settings(self.desired.settings)
        dynamic = {key: want[key] for key in sorted(DYNAMIC_SETTINGS) if key in want and have.get(key) != want[key]}
        if dynamic:
            self.steps.append(PutSettings(live.name, dynamic))
        if change.refetch:
            self.steps.append(Backfill(live.name, _reason(change)))
        meta = replace(live.meta.live(), artifacts_hash=self.desired.artifacts_hash, avro_hash=self.desired.avro_hash)
        self.steps.append(RecordState(live.name, meta, live.mapping_meta(meta)))

    def retire(self, version: ObservedVersion, grace: timedelta | None = None) -> None:
        if self.in_write_alias(version):
            self.steps.append(RemoveFromWriteAlias(version.name, self.names.write_alias))
        meta = version.meta.retired(self.now, self.grace if grace is None else grace)
        self.steps.append(RecordState(version.name, meta, version.mapping_meta(meta)))
        self.handled.add(version.name)

    def others(self) -> None:
        """Versions neither live nor being built: abandoned, orphaned or retired ones."""
        for version in self.observed.versions:
            if version.name in self.handled:
                continue
            if version.state is VersionState.PENDING:
                self.retire(version, grace=timedelta(0))  # an abandoned migration: deleted by the next apply
            elif version.state is VersionState.LIVE:
                self.retire(version)  # marked live, but the search alias points elsewhere
            elif self.in_write_alias(version) or version.meta.retire_after is None:
                self.retire(version)
            elif version.meta.deletable(self.now):
                reason = f"retired, grace period over at {version.meta.retire_after}"
                self.steps.append(DeleteVersion(version.name, reason))
            else:
                self.notes.append(f"{version.name} is retired; an apply after {version.meta.retire_after} deletes it")


def plan_changes(
    desired: DesiredIndex,
    observed: ObservedIndex,
    *,
    topics: TopicPlan,
    subject: SubjectPlan | None,
    now: datetime,
    grace: timedelta,
) -> ProvisionPlan:
    """The plan that makes the cluster hold ``desired``; ``problems`` stop it from being applied."""
    problems = list(observed.problems)
    live = observed.live
    change = classify(live.shape() if live else None, desired_shape(desired))
    planner = _Planner(desired, observed, now, grace)
    if observed.template_hash != desired.artifacts_hash:
        planner.steps.append(PutTemplate(desired.index, desired.template_body(), exists=observed.template is not None))
    planner.steps += [EnsureTopic(topic_change) for topic_change in topics.changes]
    if subject is not None and subject.action == "register":
        if not subject.compatible:
            problems += [
                Problem(f"schema registry subject {subject.subject}", f"not backward compatible: {reason}")
                for reason in subject.incompatibilities
            ]
        planner.steps.append(RegisterSubject(subject, desired.avro_text()))
    target = None
    if not observed.problems:
        target = planner.versions(change)
        planner.others()
    return ProvisionPlan(
        index=desired.index,
        change=change,
        target=target,
        live=live.name if live else None,
        steps=tuple(planner.steps),
        notes=tuple(planner.notes),
        problems=tuple(problems),
        warnings=topics.drift,
    )
