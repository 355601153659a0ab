"""Before ``graphdex run`` starts its stages: is each index provisioned as its definition says?

The daemon generates its artifacts in memory from the definition at start-up; provisioning (``graphdex
apply``) is a separate step. Someone who edits the query or the YAML and restarts the daemon without
applying gets a daemon writing documents the live index refuses (its mapping is ``dynamic: strict``:
every document is dead-lettered) or maps differently; a daemon started before the first apply fails
later with obscure errors. ``ProvisionCheck`` refuses to start instead, naming what is missing or
different and the command that fixes it.

It judges with provisioning's own reads and rules, never a copy of them: ``read_provisioned`` (the
reads ``graphdex plan`` makes, through the read-only dry-run wrappers: the check can change nothing)
and ``classify`` (the same field-by-field comparison that decides between an in-place change and a new
version). What the daemon may live with differs from what ``apply`` may change in place, though: a
field the index lacks is an in-place change for ``apply`` but a refused document for the sink. So
``assess_provisioning`` (pure: fed the servers' answers, it calls none) sorts each difference into:

- **missing** (not provisioned: ``graphdex apply CONFIG``): an internal topic does not exist; no index
  behind the write alias for the sink; no version of the registry subject for fetch and sink;
- **drift** (refused; ``graphdex plan`` shows it, ``graphdex apply`` fixes it): the mapping of an index
  the daemon writes lacks a field the documents carry, maps a field differently (type, analyzer,
  nested, sub-fields) or differs in a root parameter (``dynamic``); an analyzer or normalizer the
  definition uses is missing or defined differently; the registry subject does not hold the
  definition's Avro schema; the cluster holds something provisioning itself refuses (an index where
  an alias should be, a version graphdex did not create);
- **harmless** (one warning log line, then start): fields only the index has (documents written now
  simply lack them), settings (replicas, refresh interval, shards), an out-of-date index template
  (only new versions are created from it), a changed Avro schema without a registry when the mapping
  agrees, topic configs or partition counts that differ.

Which stage needs what (``--stage`` runs some of them; only their needs are checked):

- every stage: the four internal topics. Each stage consumes or produces them, and a broker that
  creates missing topics on first use would create them without graphdex's configs (an uncompacted
  documents topic).
- fetch and sink: the registry subject, when ``kafka.schema_registry_url`` is set: fetch encodes with
  the definition's schema (and would register a new version itself, unchecked), sink decodes with it.
  A ``mock://`` registry lives in one process's memory, so the daemon's own is always empty: it is
  not checked (a note says so).
- sink: every index behind ``<index>-write`` (or ``<index>`` when there is no write alias, as
  ``BulkSink`` does) must exist and take the documents. During a migration the old version is still
  there: a definition whose documents it refuses must wait for the cut-over.
- router: reverse lookups query ``<index>``. Before the first apply points it at a version there is
  none, which is normal (lookups find nothing; the first backfill fetches every document), so a
  missing index is not an error for the router. When it exists, the fields the lookups query (the
  keys of embedded entities, the document id, ``graphdex.fetched_at``) must be mapped as the
  definition maps them, or lookups silently miss documents.
- fetch needs no index.

A search server, Kafka or registry that cannot be reached is a ``ServiceError`` naming the index and
its definition; ``--skip-provision-check`` (``GRAPHDEX_SKIP_PROVISION_CHECK``) starts without asking.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, replace

import structlog

from indexer.catalogue import Catalogue
from indexer.daemon.pipeline import IndexPipeline
from indexer.daemon.process import Stage
from indexer.kafka.clients import build_admin, build_schema_registry
from indexer.provision.desired import DesiredIndex
from indexer.provision.diff import Difference, classify
from indexer.provision.dry_run import Journal
from indexer.provision.observed import ObservedVersion
from indexer.provision.planner import desired_shape
from indexer.provision.registry import SubjectPlan
from indexer.provision.search_cluster import SearchCluster
from indexer.provision.targets import ProvisionedState, ProvisionTargets, read_provisioned
from indexer.route.reverse_lookup import METADATA_FETCHED_AT
from schema_gen.errors import ArtifactError, Problem, ServiceError

log = structlog.get_logger("graphdex.daemon.preflight")

MOCK_REGISTRY = "mock://"
_DOCUMENT_STAGES = frozenset({Stage.FETCH, Stage.SINK})
"""The stages that encode or decode documents with the Avro schema."""


@dataclass(frozen=True)
class ProvisionVerdict:
    """What the start-up check found for one index, sorted by what it means for starting."""

    index: str
    source: str
    """The definition file, as the user named it."""
    missing: tuple[str, ...] = ()
    """What is not provisioned at all."""
    drift: tuple[Problem, ...] = ()
    """Differences the chosen stages cannot work with."""
    harmless: tuple[str, ...] = ()
    """Differences they can work with (an apply would still make them)."""
    notes: tuple[str, ...] = ()
    """Facts worth a log line that need nothing done."""

    @property
    def refused(self) -> bool:
        return bool(self.missing or self.drift)

    def error(self) -> ArtifactError | None:
        """The refusal, as the one message the CLI prints; None when the stages may start."""
        if self.missing:
            others = (
                f" The index also differs from the definition in {len(self.drift)} other way(s): "
                f"`graphdex plan {self.source}` lists them."
                if self.drift
                else ""
            )
            return ArtifactError(
                f"index {self.index} is not provisioned as {self.source} says: {'; '.join(self.missing)}. "
                f"Run `graphdex apply {self.source}` to provision it, then start the daemon again.{others}"
            )
        if self.drift:
            return ArtifactError(
                f"index {self.index} is not provisioned as {self.source} says, in ways the daemon cannot work "
                f"with (`graphdex plan {self.source}` shows what apply would change, `graphdex apply {self.source}` "
                "changes it)",
                self.drift,
            )
        return None

    def log_findings(self) -> None:
        """One warning line for harmless differences, one info line for notes."""
        if self.harmless:
            log.warning(
                "index differs from its definition in ways the daemon can work with; starting",
                index=self.index,
                differences=list(self.harmless),
                hint=f"graphdex plan {self.source}",
            )
        if self.notes:
            log.info("provision check", index=self.index, notes=list(self.notes))


def reverse_lookup_paths(catalogue: Catalogue) -> frozenset[str]:
    """The index fields reverse lookups query: each embedded entity's key fields (where exact values are
    matched), the document id they page by, and the fetch time the settle lookup filters on."""
    paths = {METADATA_FETCHED_AT}
    id_entry = catalogue.id_entry
    paths.add(id_entry.term_path if id_entry else catalogue.id_field)
    for entity in catalogue.entities:
        if not entity.path:
            continue
        for key_path in entity.key_paths:
            entry = catalogue.field(key_path)
            paths.add(entry.term_path if entry else key_path)
    return frozenset(paths)


def blocks_documents(difference: Difference) -> bool:
    """Would writing the definition's documents into an index with this difference fail or mean something
    else? Fields only the index has, settings other than analysis, and metadata would not."""
    path = difference.path
    if path in ("avro", "template"):
        return False
    if path.startswith("settings.analysis."):
        return difference.change != "removed"
    if path.startswith("settings."):
        return False
    if path.startswith("mappings."):
        return True
    return difference.change != "removed"


def touches(difference: Difference, paths: Collection[str]) -> bool:
    """The difference is at one of ``paths`` or at an object above one of them."""
    return any(path == difference.path or path.startswith(f"{difference.path}.") for path in paths)


def _describe(difference: Difference, why: str = "") -> str:
    detail = difference.detail
    if difference.change == "added":
        text = f"{difference.path}: missing from the index{f' ({detail})' if detail else ''}"
    elif difference.change == "removed":
        text = f"{difference.path}: only the index has it{f' ({detail})' if detail else ''}"
    else:
        text = f"{difference.path}: differs{f' (index -> definition: {detail})' if detail else ''}"
    return f"{text}{why}"


def _topic_findings(state: ProvisionedState, missing: list[str], harmless: list[str]) -> None:
    absent = [change.spec.name for change in state.topics.changes if change.action == "create"]
    if absent:
        missing.append(f"topic{'s' if len(absent) > 1 else ''} {', '.join(absent)} missing")
    harmless += [f"apply would {change}" for change in state.topics.changes if change.action != "create"]
    harmless += [str(problem) for problem in state.topics.drift]


def _subject_findings(subject: SubjectPlan | None, missing: list[str], drift: list[Problem]) -> None:
    if subject is None or subject.action == "none":
        return
    if subject.latest_version is None:
        missing.append(f"schema registry subject {subject.subject} has no version (the document schema)")
        return
    verdict = (
        "backward compatible with it"
        if subject.compatible
        else f"NOT backward compatible with it: {'; '.join(subject.incompatibilities)}"
    )
    drift.append(
        Problem(
            f"schema registry subject {subject.subject}",
            f"does not hold the definition's document schema (latest version {subject.latest_version}; "
            f"the definition's is {verdict})",
        )
    )


def _compared_versions(state: ProvisionedState, stages: Collection[Stage]) -> dict[str, tuple[ObservedVersion, bool]]:
    """The versions the stages use, each with whether the sink writes to it."""
    observed = state.observed
    compared: dict[str, tuple[ObservedVersion, bool]] = {}
    if Stage.SINK in stages:
        for name in observed.write_targets or observed.search_targets:
            version = observed.version(name)
            if version is not None:  # anything else is already one of ``observed.problems``
                compared[name] = (version, True)
    live = observed.live
    if Stage.ROUTER in stages and live is not None and live.name not in compared:
        compared[live.name] = (live, False)
    return compared


def assess_provisioning(
    desired: DesiredIndex,
    state: ProvisionedState,
    stages: Collection[Stage],
    *,
    lookup_paths: Collection[str],
    source: str,
) -> ProvisionVerdict:
    """Sort what ``state`` holds against what ``desired`` needs for ``stages`` (see the module docstring).
    Pure: ``state`` is what the servers answered."""
    missing: list[str] = []
    drift: list[Problem] = []
    harmless: list[str] = []
    notes: list[str] = []
    observed = state.observed
    _topic_findings(state, missing, harmless)
    if _DOCUMENT_STAGES & set(stages):
        _subject_findings(state.subject, missing, drift)
    uses_index = Stage.SINK in stages or Stage.ROUTER in stages
    if uses_index:
        drift += observed.problems
    if Stage.SINK in stages and not (observed.write_targets or observed.search_targets):
        missing.append(f"no index behind {desired.names.write_alias} or {desired.names.search_alias} to write to")
    if Stage.ROUTER in stages and observed.live is None and Stage.SINK not in stages:
        notes.append(f"no version behind {desired.names.search_alias} yet: reverse lookups find nothing until one is")
    wanted = desired_shape(desired)
    live = observed.live
    for name, (version, written) in _compared_versions(state, stages).items():
        looked_up = Stage.ROUTER in stages and live is not None and version.name == live.name
        for difference in classify(version.shape(), wanted).differences:
            for_lookups = looked_up and touches(difference, lookup_paths)
            if blocks_documents(difference) and (written or for_lookups):
                why = "" if written else " (reverse lookups query it)"
                drift.append(Problem(name, _describe(difference, why)))
            else:
                harmless.append(f"{name}: {_describe(difference)}")
    if uses_index and observed.versions and observed.template_hash != desired.artifacts_hash:
        state_of_template = "missing" if observed.template is None else "out of date"
        harmless.append(f"index template {desired.index} is {state_of_template} (only new versions are made from it)")
    return ProvisionVerdict(
        index=desired.index,
        source=source,
        missing=tuple(missing),
        drift=tuple(drift),
        harmless=tuple(harmless),
        notes=tuple(notes),
    )


class ProvisionCheck:
    """Compares one index's definition with what its servers hold (the I/O edge of the start-up check)."""

    def __init__(
        self,
        desired: DesiredIndex,
        targets: ProvisionTargets,
        *,
        lookup_paths: Collection[str],
        source: str,
        has_events: bool = True,
        notes: Iterable[str] = (),
    ) -> None:
        self.desired, self.targets, self.source = desired, targets, source
        self.lookup_paths = frozenset(lookup_paths)
        self.has_events = has_events
        self._notes = tuple(notes)

    @classmethod
    def for_pipeline(cls, pipeline: IndexPipeline) -> ProvisionCheck:
        """The check of a daemon pipeline, on the servers its definition names (and its search client)."""
        definition = pipeline.definition
        kafka = definition.config.kafka
        notes: list[str] = []
        registry = None
        if kafka.schema_registry_url and kafka.schema_registry_url.startswith(MOCK_REGISTRY):
            notes.append(f"the schema registry {kafka.schema_registry_url} lives in this process only: not checked")
        else:
            registry = build_schema_registry(kafka)
        targets = ProvisionTargets(SearchCluster(pipeline.search_store()), build_admin(kafka), registry)
        return cls(
            DesiredIndex.from_definition(definition),
            targets,
            lookup_paths=reverse_lookup_paths(pipeline.catalogue),
            source=str(definition.path),
            has_events=bool(definition.config.events),
            notes=notes,
        )

    def verdict(self, stages: Iterable[Stage]) -> ProvisionVerdict:
        """Read the servers (nothing is written) and judge; ``ServiceError`` when one cannot be read."""
        chosen = set(stages)
        if not self.has_events:
            chosen.discard(Stage.ROUTER)  # the daemon runs no router for an index without event sources
        try:
            state = read_provisioned(self.desired, self.targets.read_only(Journal()))
        except ServiceError as error:
            raise ServiceError(
                f"cannot check that index {self.desired.index} is provisioned as {self.source} says: {error}"
            ) from None
        found = assess_provisioning(self.desired, state, chosen, lookup_paths=self.lookup_paths, source=self.source)
        return replace(found, notes=(*found.notes, *self._notes))


def check_provisioning(pipelines: Iterable[IndexPipeline], stages: Iterable[Stage]) -> list[ProvisionVerdict]:
    """Check every pipeline; log the harmless findings, raise one ``ArtifactError`` naming every index
    that is refused (``ServiceError`` when a server cannot be read)."""
    chosen = tuple(stages)
    verdicts = [ProvisionCheck.for_pipeline(pipeline).verdict(chosen) for pipeline in pipelines]
    errors = [error for verdict in verdicts if (error := verdict.error()) is not None]
    for verdict in verdicts:
        if not verdict.refused:
            verdict.log_findings()
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise ArtifactError("\n".join(str(error) for error in errors))
    return verdicts
