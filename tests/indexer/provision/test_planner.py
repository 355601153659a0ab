"""The planner on an in-memory cluster: first version, convergence, in-place changes, new versions,
gates, repairs and problems."""

from __future__ import annotations

import pytest

from indexer.kafka.topics import TopicChange, TopicPlan, TopicSpec
from indexer.provision.diff import ChangeKind
from indexer.provision.registry import SubjectPlan
from indexer.provision.steps import (
    Backfill,
    CreateVersion,
    DeleteVersion,
    PutMappings,
    RecordState,
    RemoveFromWriteAlias,
    SwapSearchAlias,
)
from indexer.provision.versions import META_KEY, VersionState
from schema_gen.errors import ConfigError, GraphdexError, ServiceError
from tests.indexer.provision.fake_cluster import FakeSearchCluster
from tests.indexer.provision.planning import (
    HOUR,
    NOW,
    FakeGates,
    apply_on,
    desired_index,
    plan_on,
    step_names,
)

FIRST_VERSION = [
    "PutTemplate",
    "CreateVersion",
    "AddToWriteAlias",
    "Backfill",
    "CheckGates",
    "SwapSearchAlias",
    "RecordState",
]
ENGLISH_SYNOPSIS = {"fields": {"synopsis": {"search": ["fulltext"], "analyzer": "english"}}}


@pytest.fixture
def cluster():
    return FakeSearchCluster()


@pytest.fixture
def base(tmp_path):
    """The demo definition without ``runtime`` in the index (excluded)."""
    return desired_index(tmp_path / "base", fields={"runtime": {"exclude": True}})


def state(cluster, name):
    return cluster.indexes[name]["mappings"]["_meta"][META_KEY]["state"]


def test_an_empty_cluster_gets_the_template_a_first_version_and_both_aliases(cluster, base):
    """On an empty cluster the plan creates the template and movies-1, backfills it and points both aliases."""
    plan = plan_on(cluster, base)
    assert plan.change.kind is ChangeKind.CREATE
    assert step_names(plan) == FIRST_VERSION
    assert plan.target == "movies-1"
    assert next(step for step in plan.steps if isinstance(step, SwapSearchAlias)).old is None


def test_a_plan_applied_then_planned_again_is_empty(cluster, base):
    """After apply the cluster matches: the next plan has no steps; the version is live behind both aliases."""
    apply_on(cluster, plan_on(cluster, base))
    assert plan_on(cluster, base).empty
    assert cluster.alias_targets("movies") == ["movies-1"]
    assert cluster.alias_targets("movies-write") == ["movies-1"]
    assert state(cluster, "movies-1") == "live"


def test_a_new_field_is_added_in_place_and_backfilled(cluster, base, tmp_path):
    """Including a field the live version lacks adds it to that version's mapping and refetches everything."""
    apply_on(cluster, plan_on(cluster, base))
    wider = desired_index(tmp_path / "wider")
    plan = plan_on(cluster, wider)
    assert plan.change.kind is ChangeKind.IN_PLACE
    assert [str(difference) for difference in plan.change.differences] == [
        "runtime: added (new integer field)",
        "avro: changed (the document schema changed; every document is fetched again)",
    ]
    assert step_names(plan) == ["PutTemplate", "PutMappings", "Backfill", "RecordState"]
    assert next(step for step in plan.steps if isinstance(step, PutMappings)).added == ("runtime",)
    apply_on(cluster, plan)
    assert "runtime" in cluster.indexes["movies-1"]["mappings"]["properties"]
    assert plan_on(cluster, wider).empty


def test_a_changed_analyzer_builds_a_new_version_and_swaps_it_in(cluster, base, tmp_path):
    """An analyzer change creates movies-2, backfills and checks it, swaps the alias and retires movies-1."""
    apply_on(cluster, plan_on(cluster, base))
    english = desired_index(tmp_path / "english", fields={"runtime": {"exclude": True}} | ENGLISH_SYNOPSIS["fields"])
    plan = plan_on(cluster, english)
    assert plan.change.kind is ChangeKind.NEW_VERSION
    assert [str(reason) for reason in plan.change.reasons] == ["synopsis: changed (analyzer: folding -> english)"]
    assert step_names(plan) == [
        "PutTemplate",
        "CreateVersion",
        "AddToWriteAlias",
        "Backfill",
        "CheckGates",
        "SwapSearchAlias",
        "RemoveFromWriteAlias",
        "RecordState",
        "RecordState",
    ]
    swap = next(step for step in plan.steps if isinstance(step, SwapSearchAlias))
    assert (swap.old, swap.new) == ("movies-1", "movies-2")
    apply_on(cluster, plan)
    assert cluster.alias_targets("movies") == ["movies-2"]
    assert cluster.alias_targets("movies-write") == ["movies-2"]
    assert (state(cluster, "movies-1"), state(cluster, "movies-2")) == ("retired", "live")
    again = plan_on(cluster, english)
    assert again.empty
    assert again.notes == ("movies-1 is retired; an apply after 2025-06-01T13:00:00Z deletes it",)


def test_a_retired_version_is_deleted_once_its_grace_is_over(cluster, base, tmp_path):
    """An apply after the grace period deletes the retired version, and only it."""
    apply_on(cluster, plan_on(cluster, base))
    english = desired_index(tmp_path / "english", fields=ENGLISH_SYNOPSIS["fields"])
    apply_on(cluster, plan_on(cluster, english))
    later = plan_on(cluster, english, now=NOW + HOUR)
    assert [str(step) for step in later.steps] == [
        "delete index movies-1 (retired, grace period over at 2025-06-01T13:00:00Z)"
    ]
    apply_on(cluster, later)
    assert sorted(cluster.indexes) == ["movies-2"]


def test_failed_gates_leave_the_live_version_untouched_and_the_next_apply_resumes(cluster, base, tmp_path):
    """Gates that fail stop before the swap: movies-1 stays searched, movies-2 pending and written to."""
    apply_on(cluster, plan_on(cluster, base))
    english = desired_index(tmp_path / "english", fields=ENGLISH_SYNOPSIS["fields"])
    with pytest.raises(GraphdexError, match="cut-over to movies-2 refused") as refused:
        apply_on(cluster, plan_on(cluster, english), gates=FakeGates(passing=False))
    assert "movies-1 stays live and searched" in str(refused.value)
    assert 'movies-2/movie-1: title: "A" (index) != "B" (source)' in str(refused.value)
    assert cluster.alias_targets("movies") == ["movies-1"]
    assert cluster.alias_targets("movies-write") == ["movies-1", "movies-2"]
    assert (state(cluster, "movies-1"), state(cluster, "movies-2")) == ("live", "pending")
    resumed = plan_on(cluster, english)
    assert "CreateVersion" not in step_names(resumed)
    assert resumed.notes[0].startswith("resuming the migration to movies-2")
    apply_on(cluster, resumed)
    assert cluster.alias_targets("movies") == ["movies-2"]


def test_an_abandoned_migration_leaves_the_write_alias_and_is_deleted_later(cluster, base, tmp_path):
    """A pending version built from other artifacts is retired at once (grace 0) and a new one is built."""
    apply_on(cluster, plan_on(cluster, base))
    english = desired_index(tmp_path / "english", fields=ENGLISH_SYNOPSIS["fields"])
    with pytest.raises(GraphdexError):
        apply_on(cluster, plan_on(cluster, english), gates=FakeGates(passing=False))
    french = desired_index(tmp_path / "french", fields={"synopsis": {"search": ["fulltext"], "analyzer": "french"}})
    plan = plan_on(cluster, french)
    assert next(step for step in plan.steps if isinstance(step, CreateVersion)).index == "movies-3"
    retired = [step for step in plan.steps if isinstance(step, RecordState) and step.index == "movies-2"]
    assert [step.meta.state for step in retired] == [VersionState.RETIRED]
    assert retired[0].meta.retire_after == "2025-06-01T12:00:00Z"
    assert any(isinstance(step, RemoveFromWriteAlias) and step.index == "movies-2" for step in plan.steps)
    apply_on(cluster, plan)
    assert cluster.alias_targets("movies-write") == ["movies-3"]
    assert [step.index for step in plan_on(cluster, french).steps if isinstance(step, DeleteVersion)] == ["movies-2"]


def test_a_live_version_missing_from_the_write_alias_is_put_back(cluster, base):
    """Repair: the live version is added to the write alias again."""
    apply_on(cluster, plan_on(cluster, base))
    cluster.update_aliases([{"remove": {"index": "movies-1", "alias": "movies-write"}}])
    assert [str(step) for step in plan_on(cluster, base).steps] == [
        "add movies-1 to movies-write (the daemon writes to it from now on)"
    ]


def test_a_version_marked_live_behind_no_alias_is_retired(cluster, base, tmp_path):
    """Repair after an interrupted swap: the alias is the truth, the other 'live' version is retired."""
    apply_on(cluster, plan_on(cluster, base))
    english = desired_index(tmp_path / "english", fields=ENGLISH_SYNOPSIS["fields"])
    plan = plan_on(cluster, english)
    swap = plan.steps.index(next(step for step in plan.steps if isinstance(step, SwapSearchAlias)))
    interrupted = type(plan)(**{**plan.__dict__, "steps": plan.steps[: swap + 1]})
    apply_on(cluster, interrupted)
    repair = plan_on(cluster, english)
    assert [str(step).split(" (")[0] for step in repair.steps] == [
        "mark movies-2 live",
        "remove movies-1 from movies-write",
        "mark movies-1 retired",
    ]


def test_problems_stop_the_apply_before_any_change(cluster, base):
    """An index graphdex did not create and an index on the write alias's name: both listed, nothing changed."""
    cluster.create_index("movies-7", {}, {"properties": {}})
    cluster.create_index("movies-write", {}, {"properties": {}})
    cluster.writes.clear()
    plan = plan_on(cluster, base)
    assert [str(problem) for problem in plan.problems] == [
        "movies-7: it has no _meta.graphdex: graphdex did not create it; delete or rename it, or choose another "
        "index name",
        "movies-write: is an index, not an alias; graphdex needs the name for its alias",
    ]
    assert not any(isinstance(step, Backfill | CreateVersion) for step in plan.steps)
    with pytest.raises(ServiceError) as refused:
        apply_on(cluster, plan)
    assert "nothing was changed; fix these before applying movies (2 problems):\n  1. movies-7:" in str(refused.value)
    assert cluster.writes == []


def test_an_incompatible_document_schema_is_a_problem(cluster, base):
    """A new Avro schema the registry's latest version cannot be read with stops the apply."""
    subject = SubjectPlan("graphdex.movies.documents-value", "register", 3, ("reader type: long not compatible",))
    plan = plan_on(cluster, base, subject=subject)
    assert [str(problem) for problem in plan.problems] == [
        "schema registry subject graphdex.movies.documents-value: not backward compatible: reader type: long not "
        "compatible"
    ]
    with pytest.raises(ConfigError):
        apply_on(cluster, plan)


def test_topic_changes_and_a_subject_registration_are_steps(cluster, base):
    """Topics to create and a first subject version are planned after the template, before the versions."""
    spec = TopicSpec("graphdex.movies.requests", 2, 1, {"cleanup.policy": "delete"})
    subject = SubjectPlan("graphdex.movies.documents-value", "register")
    plan = plan_on(cluster, base, topics=TopicPlan((TopicChange(spec, "create"),)), subject=subject)
    assert step_names(plan)[:4] == ["PutTemplate", "EnsureTopic", "RegisterSubject", "CreateVersion"]
    assert str(plan.steps[2]) == "register graphdex.movies.documents-value (first version)"
