"""The dry-run wrappers: reads reach the server, writes are only recorded; rehearsing a plan changes nothing."""

from __future__ import annotations

import pytest

from indexer.kafka.topics import TopicChange, TopicPlan, TopicSpec, apply_topic_plan
from indexer.provision.apply import rehearse
from indexer.provision.dry_run import DryRunSearchCluster, DryRunTopicAdmin, Journal
from indexer.provision.targets import ProvisionTargets
from tests.indexer.provision.fake_cluster import FakeSearchCluster
from tests.indexer.provision.planning import apply_on, desired_index, plan_on


def test_reads_are_forwarded_and_writes_recorded():
    """The wrapper answers reads from the real cluster and records writes without sending them."""
    cluster = FakeSearchCluster()
    cluster.create_index("movies-1", {}, {"properties": {}})
    cluster.writes.clear()
    journal = Journal()
    dry = DryRunSearchCluster(cluster, journal)
    assert list(dry.get_indices("movies-*")) == ["movies-1"]
    dry.update_aliases([{"add": {"index": "movies-1", "alias": "movies"}}])
    dry.delete_index("movies-1")
    assert journal.requests == [
        'POST _aliases {"actions":[{"add":{"alias":"movies","index":"movies-1"}}]}',
        "DELETE movies-1",
    ]
    assert cluster.writes == []
    assert cluster.alias_targets("movies") == []


def test_an_api_the_wrapper_does_not_name_is_refused():
    """Only the calls the wrapper lists exist on it: nothing is forwarded by accident."""
    dry = DryRunSearchCluster(FakeSearchCluster(), Journal())
    with pytest.raises(AttributeError):
        dry.client  # noqa: B018 - the attribute access is the test


def test_topic_changes_are_recorded_not_sent():
    """``apply_topic_plan`` through the dry-run admin records the creation and sends nothing (nor waits for
    the topic to appear: it never will)."""
    journal = Journal()
    spec = TopicSpec("graphdex.movies.dlq", 3, 1, {"cleanup.policy": "delete"})
    plan = TopicPlan((TopicChange(spec, "create"),))
    apply_topic_plan(DryRunTopicAdmin(None, journal), plan, wait=False)  # type: ignore[arg-type]
    assert journal.requests == ['create topic graphdex.movies.dlq {"partitions":3}']


def test_rehearsing_a_plan_lists_its_requests_and_changes_nothing(tmp_path):
    """Rehearsal runs every step through the wrappers: the journal has each request; the cluster is untouched."""
    cluster = FakeSearchCluster()
    desired = desired_index(tmp_path)
    plan = plan_on(cluster, desired)
    targets = ProvisionTargets(cluster, DryRunTopicAdmin(None, Journal()), None)  # type: ignore[arg-type]
    journal = rehearse(plan, targets)
    assert [request.split(" {")[0] for request in journal.requests] == [
        "PUT _index_template/movies",
        "PUT movies-1",
        "POST _aliases",
        "backfill every document into movies-1",
        "check the cut-over gates on movies-1",
        "POST _aliases",
        "PUT movies-1/_mapping",
    ]
    assert cluster.writes == []
    assert plan_on(cluster, desired) == plan


def test_rehearsal_of_an_applied_plan_sends_nothing(tmp_path):
    """Once applied, the plan is empty and so is its rehearsal."""
    cluster = FakeSearchCluster()
    desired = desired_index(tmp_path)
    apply_on(cluster, plan_on(cluster, desired))
    targets = ProvisionTargets(cluster, DryRunTopicAdmin(None, Journal()), None)  # type: ignore[arg-type]
    assert rehearse(plan_on(cluster, desired), targets).requests == []
