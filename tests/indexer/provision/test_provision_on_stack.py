"""Provisioning on the real local stack (Apache Kafka, OpenSearch, the demo gateway): plan, apply,
in-place and new-version changes with a search loop running, failing gates, status and destroy."""

from __future__ import annotations

from datetime import timedelta

import pytest
from confluent_kafka import Consumer, TopicPartition

from demo.services import DEFAULT_SIZE
from indexer.fetch.fetcher import DocumentFetcher
from indexer.kafka.clients import build_admin, consumer_config
from indexer.kafka.topics import TopicLayout
from indexer.provision.destroy import destroy, plan_destroy
from indexer.provision.diff import ChangeKind
from indexer.provision.gates import CutoverGates
from indexer.provision.kafka_progress import ConsumerWatermarks, KafkaProgress
from indexer.provision.live_schema import check_live_schema
from indexer.provision.observed import observe_index
from indexer.provision.provisioner import utc_now
from indexer.provision.search_cluster import SearchCluster
from indexer.provision.status import index_status
from indexer.provision.versions import META_KEY, IndexNames
from indexer.search_store import open_search_store
from schema_gen.config import ElasticsearchSettings
from schema_gen.errors import ConfigError, GraphdexError
from schema_gen.render import DocumentRenderer
from tests.indexer.provision.stack_provisioning import (
    ENGLISH_SYNOPSIS,
    QUERY,
    QUERY_WITHOUT_RUNTIME,
    SCHEMA,
    SearchLoop,
    StackIndex,
)
from tests.stack_definitions import load_on_stack, write_movies_definition

pytestmark = pytest.mark.integration


@pytest.fixture
def stack_index(tmp_path, unique_name, local_stack):
    """A fresh index name on the local stack, with its own mock registry and checkpoint folder."""
    store = open_search_store(ElasticsearchSettings(url=local_stack.endpoints.search_url))
    yield StackIndex(tmp_path, unique_name, local_stack, store)
    store.close()


def state_of(store, index):
    return store.get_indices(index)[index].mappings["_meta"][META_KEY]["state"]


def aliases(store, name):
    return store.alias_targets(name)


def test_plan_on_an_empty_cluster_lists_every_object(stack_index):
    """The first plan lists the template, the four topics, the subject, the first version and both aliases;
    planning changes nothing."""
    name = stack_index.name
    plan = stack_index.provisioner(stack_index.definition()).plan()
    descriptions = [str(step) for step in plan.steps]
    assert plan.change.kind is ChangeKind.CREATE
    assert descriptions[0] == f"create index template {name} (patterns {name}-*)"
    assert [line.split(" (")[0] for line in descriptions[1:5]] == [
        f"create {name}.graphdex.{name}.{role}" for role in ("requests", "retry", "documents", "dlq")
    ]
    assert descriptions[5] == f"register {name}.graphdex.{name}.documents-value (first version)"
    assert descriptions[6:] == [
        f"create index {name}-1 (pending)",
        f"add {name}-1 to {name}-write (the daemon writes to it from now on)",
        f"backfill every document into {name}-1 (first version)",
        f"check {name}-1 against the source: document count parity and a sample compared field by field",
        f"point {name} at {name}-1",
        f"mark {name}-1 live (artifacts {plan.steps[-1].meta.artifacts_hash[:12]})",
    ]
    assert observe_index(SearchCluster(stack_index.store), IndexNames(name)).empty
    topics = build_admin(stack_index.definition().config.kafka).list_topics(timeout=10).topics
    assert not [topic for topic in topics if topic.startswith(f"{name}.")]


def test_apply_then_plan_shows_no_changes(stack_index):
    """Apply creates and fills the first version behind both aliases; the next plan and apply change nothing."""
    definition = stack_index.definition()
    report = stack_index.provisioner(definition).apply()
    name, store = stack_index.name, stack_index.store
    assert report.gates[f"{name}-1"].passed
    assert report.backfills[f"{name}-1"].enumerated == DEFAULT_SIZE
    assert store.count(name) == DEFAULT_SIZE
    assert aliases(store, name) == [f"{name}-1"]
    assert aliases(store, f"{name}-write") == [f"{name}-1"]
    assert state_of(store, f"{name}-1") == "live"
    again = stack_index.provisioner(definition)
    assert again.plan().empty
    assert again.apply().done == []


def test_a_new_field_in_the_query_is_applied_in_place(stack_index):
    """A field added to the query is added to the live version's mapping and every document is refetched."""
    stack_index.provisioner(stack_index.definition(QUERY_WITHOUT_RUNTIME)).apply()
    wider = stack_index.provisioner(stack_index.definition())
    plan = wider.plan()
    assert plan.change.kind is ChangeKind.IN_PLACE
    assert "runtime: added (new integer field)" in [str(difference) for difference in plan.change.differences]
    report = wider.apply()
    name, store = stack_index.name, stack_index.store
    assert list(report.backfills) == [f"{name}-1"]
    assert aliases(store, name) == [f"{name}-1"]
    assert "runtime" in store.get_indices(f"{name}-1")[f"{name}-1"].mappings["properties"]
    with_runtime = store.count(name, {"exists": {"field": "runtime"}})
    assert 0 < with_runtime <= DEFAULT_SIZE
    assert wider.plan().empty


def test_an_incompatible_change_swaps_in_a_new_version_while_searches_keep_answering(stack_index):
    """An analyzer change builds version 2 and swaps the alias atomically: a search loop running throughout
    never fails and never sees zero documents; version 1 is retired, then deleted after its grace."""
    name, store = stack_index.name, stack_index.store
    stack_index.provisioner(stack_index.definition()).apply()
    english = stack_index.definition(fields=ENGLISH_SYNOPSIS)
    provisioner = stack_index.provisioner(english)
    plan = provisioner.plan()
    assert plan.change.kind is ChangeKind.NEW_VERSION
    assert [str(reason) for reason in plan.change.reasons] == ["synopsis: changed (analyzer: folding -> english)"]
    with SearchLoop(store, name) as searches:
        report = provisioner.apply()
    assert searches.errors == []
    assert len(searches.totals) > 10
    assert min(searches.totals) == DEFAULT_SIZE
    assert report.gates[f"{name}-2"].passed
    assert aliases(store, name) == [f"{name}-2"]
    assert aliases(store, f"{name}-write") == [f"{name}-2"]
    assert (state_of(store, f"{name}-1"), state_of(store, f"{name}-2")) == ("retired", "live")
    mapping = store.get_indices(f"{name}-2")[f"{name}-2"].mappings["properties"]
    assert mapping["synopsis"]["analyzer"] == "english"
    later = stack_index.provisioner(english, clock=lambda: utc_now() + timedelta(hours=2))
    assert [str(step).split(" (")[0] for step in later.plan().steps] == [f"delete index {name}-1"]
    later.apply()
    assert store.get_indices(f"{name}-1") == {}


class TitleTampering:
    """A renderer that changes every title, so fresh fetches never match the index."""

    def __init__(self, renderer):
        self._renderer = renderer

    def render_entity(self, entity, id, *, fetched_at=None):
        document = self._renderer.render_entity(entity, id, fetched_at=fetched_at)
        return document | {"title": f"{document['title']} (tampered)"}


def test_failing_gates_leave_the_live_index_untouched(stack_index):
    """When the sampled documents differ from the source the swap is refused: the live version keeps serving
    every search, the new one stays pending (shown by status with its backfill), and a later apply resumes it."""
    name, store = stack_index.name, stack_index.store
    stack_index.provisioner(stack_index.definition()).apply()
    english = stack_index.definition(fields=ENGLISH_SYNOPSIS)
    renderer = TitleTampering(DocumentRenderer(english.model, english.config))
    with DocumentFetcher.for_index(english.model, english.config, renderer=renderer) as fetcher:
        gates = CutoverGates(SearchCluster(store), fetcher, sample_size=5, recheck_delay=0.1)
        with pytest.raises(GraphdexError) as refused:
            stack_index.provisioner(english, gates=gates).apply()
    message = str(refused.value)
    assert f"cut-over to {name}-2 refused" in message
    assert f"{name}-1 stays live and searched" in message
    assert "(tampered)" in message
    assert aliases(store, name) == [f"{name}-1"]
    assert aliases(store, f"{name}-write") == [f"{name}-1", f"{name}-2"]
    assert (state_of(store, f"{name}-1"), state_of(store, f"{name}-2")) == ("live", "pending")
    assert store.count(name) == DEFAULT_SIZE

    status = index_status(
        english,
        SearchCluster(store),
        lambda: KafkaProgress(english.config, build_admin(english.config.kafka), watermarks=watermarks(english)),
        checkpoints=stack_index.folder / "checkpoints",
    )
    (pending,) = status.pending
    assert (pending.name, pending.artifacts_current, pending.backfill.finished) == (f"{name}-2", True, True)
    assert pending.backfill.ids_done == DEFAULT_SIZE
    assert (status.live.name, status.live.artifacts_current) == (f"{name}-1", False)

    stack_index.provisioner(english).apply()
    assert aliases(store, name) == [f"{name}-2"]


_WATERMARKS: list[ConsumerWatermarks] = []


def watermarks(definition):
    reader = ConsumerWatermarks(definition.config)
    _WATERMARKS.append(reader)
    return reader


@pytest.fixture(autouse=True)
def _close_watermark_readers():
    yield
    while _WATERMARKS:
        _WATERMARKS.pop().close()


def test_status_shows_the_live_version_lag_dead_letters_and_the_live_schema(stack_index):
    """After apply, status shows the live version with its documents, current artifacts and template, the four
    stages' lag, no dead letters, and a query that fits the gateway's live schema."""
    definition = stack_index.definition()
    stack_index.provisioner(definition).apply()
    name = stack_index.name
    commit_fetch_offset(definition)
    status = index_status(
        definition,
        SearchCluster(stack_index.store),
        lambda: KafkaProgress(
            definition.config, build_admin(definition.config.kafka), watermarks=watermarks(definition)
        ),
        checkpoints=stack_index.folder / "checkpoints",
    )
    assert (status.live.name, status.live.documents, status.live.artifacts_current) == (f"{name}-1", DEFAULT_SIZE, True)
    assert status.template_current
    assert (status.pending, status.retired, status.problems) == ((), (), ())
    assert status.kafka.error is None
    assert [(lag.stage, lag.committed) for lag in status.kafka.lag] == [
        ("route", False),
        ("fetch", True),
        ("retry", False),
        ("sink", False),
    ]
    assert all(lag.lag >= 0 for lag in status.kafka.lag)
    assert status.kafka.dead_letters == 0
    assert (status.schema.checked, status.schema.valid) == (True, True)
    assert status.to_json()["live"]["name"] == f"{name}-1"


def commit_fetch_offset(definition):
    """Commit offset 0 for the fetch stage's group, as if the daemon had started."""
    layout = TopicLayout.from_config(definition.config)
    consumer = Consumer(consumer_config(definition.config.kafka, layout.group_id("fetch")))
    try:
        consumer.commit(offsets=[TopicPartition(layout.requests, 0, 0)], asynchronous=False)
    finally:
        consumer.close()
    return layout


def test_a_field_removed_upstream_is_reported_and_stops_apply(stack_index, tmp_path):
    """A query built on a snapshot with a field the live gateway lacks fails the live check; apply refuses it."""
    snapshot = tmp_path / "snapshot.graphql"
    snapshot.write_text(SCHEMA.replace("type Movie {\n", "type Movie {\n  tagline: String\n", 1), encoding="utf-8")
    query_file = tmp_path / "tagline.graphql"
    query_file.write_text(QUERY.replace("    title\n", "    title\n    tagline\n", 1), encoding="utf-8")
    overrides = {"graph": {"schema_file": str(snapshot)}, "query_file": str(query_file)}
    definition = load_on_stack(write_movies_definition(tmp_path, stack_index.name, overrides), stack_index.stack)
    check = check_live_schema(definition)
    assert (check.checked, check.valid) == (True, False)
    assert any("tagline" in problem for problem in check.problems)
    with pytest.raises(ConfigError) as refused:
        stack_index.provisioner(definition).apply()
    assert f"nothing was changed; fix these before applying {stack_index.name}" in str(refused.value)
    assert "the query does not fit the gateway's live schema" in str(refused.value)
    assert "tagline" in str(refused.value)
    assert observe_index(SearchCluster(stack_index.store), IndexNames(stack_index.name)).empty


def test_destroy_leaves_nothing(stack_index):
    """Destroy removes the aliases, every version, the template, the topics, the consumer groups and the subject."""
    definition = stack_index.definition()
    provisioner = stack_index.provisioner(definition)
    provisioner.apply()
    layout = commit_fetch_offset(definition)
    name = stack_index.name
    found = plan_destroy(provisioner.desired, provisioner.targets)
    assert found.versions == (f"{name}-1",)
    assert found.groups == (layout.group_id("fetch"),)
    destroy(found, provisioner.targets)
    assert observe_index(SearchCluster(stack_index.store), provisioner.desired.names).empty
    topics = build_admin(definition.config.kafka).list_topics(timeout=10).topics
    assert not [topic for topic in topics if topic.startswith(f"{name}.")]
    assert plan_destroy(provisioner.desired, provisioner.targets).empty
    assert provisioner.plan().change.kind is ChangeKind.CREATE
