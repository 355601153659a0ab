"""The daemon's start-up check without servers: the assessment fed with what the servers would answer
(the fake search cluster of the provisioning tests, topic and subject plans), and ``ProvisionCheck``
reading through a fake cluster, a fake Kafka admin and an in-process mock registry."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import structlog
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient

from indexer.daemon.pipeline import IndexPipeline
from indexer.daemon.preflight import (
    ProvisionCheck,
    ProvisionVerdict,
    assess_provisioning,
    blocks_documents,
    reverse_lookup_paths,
)
from indexer.daemon.process import Stage
from indexer.definition import IndexDefinition, load_definition
from indexer.kafka.topics import TopicChange, TopicPlan
from indexer.metrics import PipelineMetrics
from indexer.provision.desired import DesiredIndex
from indexer.provision.diff import Difference
from indexer.provision.observed import observe_index
from indexer.provision.registry import SubjectPlan
from indexer.provision.targets import ProvisionedState, ProvisionTargets
from schema_gen.errors import Problem, ServiceError
from tests.indexer.daemon.fake_topic_admin import FakeTopicAdmin
from tests.indexer.provision.fake_cluster import FakeSearchCluster
from tests.indexer.provision.planning import apply_on, plan_on
from tests.stack_definitions import write_movies_definition

ALL_STAGES = tuple(Stage)
WITHOUT_RUNTIME = {"fields": {"runtime": {"exclude": True}}}
LOOKUPS = frozenset({"movieId", "production.ptpId", "credits.talent.talentId", "graphdex.fetched_at"})


@dataclass
class Index:
    """One version of the demo definition (its file, its desired artifacts), loaded offline."""

    definition: IndexDefinition

    @classmethod
    def write(cls, folder: Path, overrides: dict[str, Any] | None = None) -> Index:
        """The demo definition as ``movies`` in ``folder``, with ``overrides`` merged section by section."""
        folder.mkdir(parents=True, exist_ok=True)
        return cls(load_definition(write_movies_definition(folder, "movies", overrides), env={}))

    @property
    def desired(self) -> DesiredIndex:
        return DesiredIndex.from_definition(self.definition)

    @property
    def source(self) -> str:
        return str(self.definition.path)

    def assess(
        self,
        cluster: FakeSearchCluster,
        stages: tuple[Stage, ...] = ALL_STAGES,
        *,
        topics: TopicPlan | None = None,
        subject: SubjectPlan | None = None,
    ) -> ProvisionVerdict:
        desired = self.desired
        state = ProvisionedState(observe_index(cluster, desired.names), topics or TopicPlan(), subject)
        return assess_provisioning(desired, state, stages, lookup_paths=LOOKUPS, source=self.source)


def applied(index: Index) -> FakeSearchCluster:
    """A cluster ``graphdex apply`` left holding ``index`` (first version, live, behind both aliases)."""
    cluster = FakeSearchCluster()
    apply_on(cluster, plan_on(cluster, index.desired))
    return cluster


def without_field(cluster: FakeSearchCluster, version: str, path: str) -> None:
    """Take a field out of a version's mapping, as if it had been created from an older query."""
    *parents, leaf = path.split(".")
    properties = cluster.indexes[version]["mappings"]["properties"]
    for parent in parents:
        properties = properties[parent]["properties"]
    del properties[leaf]


@pytest.fixture
def current(tmp_path: Path) -> Index:
    """The demo definition as it is now (what the daemon is started with)."""
    return Index.write(tmp_path / "current")


def test_an_index_provisioned_as_defined_starts_without_findings(current: Index):
    """Right after apply, every stage may start and there is nothing to warn about."""
    verdict = current.assess(applied(current))
    assert verdict == ProvisionVerdict("movies", current.source)
    assert verdict.error() is None


def test_nothing_provisioned_is_refused_naming_the_index_the_definition_and_apply(current: Index):
    """No topics, no alias, no version: one message naming the index, its definition and the command to run."""
    missing_topics = TopicPlan(tuple(TopicChange(spec, "create") for spec in current.desired.topics))
    verdict = current.assess(FakeSearchCluster(), topics=missing_topics)
    assert verdict.refused
    message = str(verdict.error())
    assert message.startswith(f"index movies is not provisioned as {current.source} says: ")
    assert f"topics {', '.join(spec.name for spec in current.desired.topics)} missing" in message
    assert "no index behind movies-write or movies to write to" in message
    assert f"Run `graphdex apply {current.source}` to provision it" in message
    assert "\n" not in message


def test_a_field_the_index_lacks_is_drift_naming_the_field(tmp_path: Path, current: Index):
    """The query gained a field and nobody applied: the strict mapping would refuse every document."""
    cluster = applied(Index.write(tmp_path / "before", WITHOUT_RUNTIME))
    verdict = current.assess(cluster)
    assert verdict.drift == (Problem("movies-1", "runtime: missing from the index (new integer field)"),)
    assert not verdict.missing
    message = str(verdict.error())
    assert message.startswith(f"index movies is not provisioned as {current.source} says")
    assert f"`graphdex plan {current.source}`" in message
    assert f"`graphdex apply {current.source}`" in message
    assert message.endswith(": movies-1: runtime: missing from the index (new integer field)")


def test_a_field_mapped_differently_is_drift(tmp_path: Path, current: Index):
    """A field analysed otherwise than the definition says would be indexed to mean something else."""
    english = {"fields": {"synopsis": {"search": ["fulltext"], "analyzer": "english"}}}
    verdict = current.assess(applied(Index.write(tmp_path / "before", english)))
    assert verdict.drift == (
        Problem("movies-1", "synopsis: differs (index -> definition: analyzer: english -> folding)"),
    )


def test_fields_only_the_index_has_and_settings_are_harmless(tmp_path: Path):
    """A field dropped from the query and another replica count: documents still fit; one warning."""
    cluster = applied(Index.write(tmp_path / "before", {"settings": {"shards": 1, "replicas": 1}}))
    now = Index.write(tmp_path / "now", WITHOUT_RUNTIME)
    verdict = now.assess(cluster)
    assert not verdict.refused
    assert verdict.harmless == (
        "movies-1: runtime: only the index has it (integer field)",
        "movies-1: settings.number_of_replicas: differs (index -> definition: 1 -> 0)",
        "index template movies is out of date (only new versions are made from it)",
    )


def test_an_out_of_date_template_the_index_satisfies_is_harmless(current: Index):
    """Templates only shape versions apply creates later; the live version is what documents meet."""
    cluster = applied(current)
    cluster.templates["movies"]["_meta"]["graphdex"]["artifacts_hash"] = "from-an-older-definition"
    verdict = current.assess(cluster)
    assert not verdict.refused
    assert verdict.harmless == ("index template movies is out of date (only new versions are made from it)",)


def test_harmless_findings_are_one_warning_line(current: Index):
    """Starting with harmless differences logs them once, with the command that shows them."""
    verdict = ProvisionVerdict("movies", current.source, harmless=("movies-1: a", "movies-1: b"))
    with structlog.testing.capture_logs() as logged:
        verdict.log_findings()
    assert logged == [
        {
            "event": "index differs from its definition in ways the daemon can work with; starting",
            "log_level": "warning",
            "index": "movies",
            "differences": ["movies-1: a", "movies-1: b"],
            "hint": f"graphdex plan {current.source}",
        }
    ]


def test_during_a_migration_every_version_written_must_take_the_documents(tmp_path: Path, current: Index):
    """While apply builds the next version, the sink writes to both: the old one would refuse the new field."""
    english = {"synopsis": {"search": ["fulltext"], "analyzer": "english"}, "runtime": {"exclude": True}}
    cluster = applied(Index.write(tmp_path / "before", {"fields": english}))
    apply_on(cluster, plan_on(cluster, current.desired))  # a new version: movies-2 built and live, movies-1 retired
    cluster.update_aliases([{"add": {"index": "movies-1", "alias": "movies-write"}}])  # as during the backfill
    verdict = current.assess(cluster, (Stage.SINK,))
    assert verdict.drift == (
        Problem("movies-1", "synopsis: differs (index -> definition: analyzer: english -> folding)"),
        Problem("movies-1", "runtime: missing from the index (new integer field)"),
    )


def test_the_router_and_fetch_alone_need_no_index_before_the_first_apply(current: Index):
    """Reverse lookups on a missing index find nothing, which is right before the first backfill; the fetch
    stage never reads the index."""
    router = current.assess(FakeSearchCluster(), (Stage.ROUTER,))
    assert not router.refused
    assert router.notes == ("no version behind movies yet: reverse lookups find nothing until one is",)
    fetch = current.assess(FakeSearchCluster(), (Stage.FETCH,))
    assert fetch == ProvisionVerdict("movies", current.source)


def test_the_router_refuses_only_differences_in_the_fields_its_lookups_query(current: Index):
    """A live version without the talent key would make talent changes miss their movies; a missing plain
    field is the sink's business, harmless to a router-only process."""
    cluster = applied(current)
    without_field(cluster, "movies-1", "runtime")
    router = current.assess(cluster, (Stage.ROUTER,))
    assert not router.refused
    assert router.harmless == ("movies-1: runtime: missing from the index (new integer field)",)
    without_field(cluster, "movies-1", "credits.talent.talentId")
    router = current.assess(cluster, (Stage.ROUTER,))
    assert router.drift == (
        Problem(
            "movies-1",
            "credits.talent.talentId: missing from the index (new keyword field) (reverse lookups query it)",
        ),
    )
    sink = current.assess(cluster, (Stage.SINK,))
    assert [problem.message.split(":")[0] for problem in sink.drift] == ["runtime", "credits.talent.talentId"]


def test_what_provisioning_refuses_the_daemon_refuses(current: Index):
    """An index graphdex did not create, behind the write alias: nobody knows what it takes."""
    cluster = FakeSearchCluster()
    cluster.create_index("movies-1", current.desired.settings, {"dynamic": "strict", "properties": {}})
    cluster.update_aliases([{"add": {"index": "movies-1", "alias": "movies-write"}}])
    verdict = current.assess(cluster, (Stage.SINK,))
    assert [problem.where for problem in verdict.drift] == ["movies-1", "movies-write"]
    assert "graphdex did not create it" in verdict.drift[0].message


def test_topic_configs_and_partition_counts_that_differ_are_harmless(current: Index):
    """Apply sets topic configs; partition counts are left to a person. Neither stops documents flowing."""
    documents = next(spec for spec in current.desired.topics if spec.name.endswith(".documents"))
    topics = TopicPlan(
        (TopicChange(documents, "set_config", {"cleanup.policy": ("delete", "compact")}),),
        (Problem(documents.name, "has 3 partitions, the definition says 2 (kafka.partitions)"),),
    )
    verdict = current.assess(applied(current), topics=topics)
    assert not verdict.refused
    assert verdict.harmless == (
        f"apply would set {documents.name} cleanup.policy: delete -> compact",
        f"{documents.name}: has 3 partitions, the definition says 2 (kafka.partitions)",
    )


def test_the_registry_subject_is_checked_for_the_stages_that_encode_or_decode(current: Index):
    """Fetch and sink need the definition's schema registered; the router never touches documents."""
    subject = "graphdex.movies.documents-value"
    cluster = applied(current)
    unregistered = SubjectPlan(subject, "register")
    assert current.assess(cluster, (Stage.FETCH,), subject=unregistered).missing == (
        f"schema registry subject {subject} has no version (the document schema)",
    )
    assert not current.assess(cluster, (Stage.ROUTER,), subject=unregistered).refused
    other = SubjectPlan(subject, "register", 3, ("reader field 'runtime' has no default (at /fields/6)",))
    assert current.assess(cluster, (Stage.SINK,), subject=other).drift == (
        Problem(
            f"schema registry subject {subject}",
            "does not hold the definition's document schema (latest version 3; the definition's is NOT backward "
            "compatible with it: reader field 'runtime' has no default (at /fields/6))",
        ),
    )
    assert not current.assess(cluster, subject=SubjectPlan(subject, "none", 3)).refused


@pytest.mark.parametrize(
    ("difference", "blocks"),
    [
        (Difference("runtime", "added", "new integer field", in_place=True, refetch=True), True),
        (Difference("title", "changed", "type: keyword -> text", in_place=False), True),
        (Difference("title.autocomplete", "added", "new text field", in_place=True, refetch=True), True),
        (Difference("mappings.dynamic", "changed", "true -> strict", in_place=False), True),
        (Difference("runtime", "removed", "integer field", in_place=False), False),
        (Difference("settings.analysis.analyzer.folding", "changed", "filter", in_place=False), True),
        (Difference("settings.analysis.analyzer.old", "removed", "type", in_place=False), False),
        (Difference("settings.number_of_shards", "changed", "2 -> 1", in_place=False), False),
        (Difference("settings.number_of_replicas", "changed", "1 -> 0", in_place=True), False),
        (Difference("avro", "changed", "the document schema changed", in_place=True, refetch=True), False),
        (Difference("template", "changed", "template metadata", in_place=True), False),
    ],
)
def test_which_differences_block_documents(difference: Difference, blocks: bool):
    """Writes would fail or mean something else: fields the index lacks or maps otherwise, root mapping
    parameters, analysis the definition uses. Fields only the index has, settings and metadata: no."""
    assert blocks_documents(difference) is blocks


def test_reverse_lookup_paths_of_the_demo(current: Index):
    """The keys of every embedded entity, the id lookups page by, and the fetch time settle lookups filter on."""
    catalogue = IndexPipeline(current.definition, PipelineMetrics()).catalogue
    assert reverse_lookup_paths(catalogue) == LOOKUPS


def test_the_check_reads_the_cluster_topics_and_subject(tmp_path: Path):
    """``ProvisionCheck`` reads through provisioning's own reads, and only reads: after an apply (template,
    version, topics, subject) nothing is found; a subject holding another schema is drift."""
    index = Index.write(tmp_path, {"kafka": {"schema_registry_url": "mock://preflight"}})
    desired = index.desired
    subject = desired.subject
    assert subject is not None
    cluster = applied(index)
    writes = list(cluster.writes)

    def check_with(schema_text: str) -> ProvisionVerdict:
        registry = SchemaRegistryClient.new_client({"url": "mock://preflight"})  # a new, empty one each time
        registry.register_schema(subject, Schema(schema_text, "AVRO"))
        targets = ProvisionTargets(cluster, FakeTopicAdmin.holding(desired.topics), registry)
        return ProvisionCheck(desired, targets, lookup_paths=LOOKUPS, source=index.source).verdict(ALL_STAGES)

    assert check_with(desired.avro_text()) == ProvisionVerdict("movies", index.source)
    other = check_with('{"type": "record", "name": "Other", "fields": []}')
    assert [problem.where for problem in other.drift] == [f"schema registry subject {subject}"]
    assert "latest version 1" in other.drift[0].message
    assert cluster.writes == writes


def test_a_server_that_cannot_be_read_is_a_service_error_naming_the_index(current: Index):
    """Kafka unreachable at start-up: one message naming the index, its definition and what failed."""
    desired = current.desired
    check = ProvisionCheck(
        desired,
        ProvisionTargets(applied(current), FakeTopicAdmin(unreachable=True), None),
        lookup_paths=LOOKUPS,
        source=current.source,
    )
    with pytest.raises(ServiceError) as raised:
        check.verdict(ALL_STAGES)
    assert str(raised.value) == (
        f"cannot check that index movies is provisioned as {current.source} says: Kafka: cannot list topics: "
        "Failed to get metadata: Local: Broker transport failure (_TRANSPORT)"
    )


def test_an_index_without_event_sources_runs_no_router_and_is_not_checked_for_one(current: Index):
    """The daemon builds no router for an index without events; the check does not judge one either."""
    desired = current.desired
    check = ProvisionCheck(
        desired,
        ProvisionTargets(FakeSearchCluster(), FakeTopicAdmin.holding(desired.topics), None),
        lookup_paths=LOOKUPS,
        source=current.source,
        has_events=False,
    )
    assert check.verdict((Stage.ROUTER,)) == ProvisionVerdict("movies", current.source)


def test_a_mock_registry_is_noted_not_checked(tmp_path: Path):
    """A ``mock://`` registry lives in one process's memory: the daemon's is empty whatever apply did."""
    index = Index.write(tmp_path, {"kafka": {"schema_registry_url": "mock://elsewhere"}})
    check = ProvisionCheck.for_pipeline(IndexPipeline(index.definition, PipelineMetrics()))
    assert check.targets.registry is None
    check.targets = ProvisionTargets(applied(index), FakeTopicAdmin.holding(index.desired.topics), None)
    assert check.verdict(ALL_STAGES).notes == (
        "the schema registry mock://elsewhere lives in this process only: not checked",
    )
