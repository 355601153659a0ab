"""How plans read: the kind of change and why, numbered steps with markers, JSON for scripts."""

from __future__ import annotations

from rich.console import Console

from indexer.provision.dry_run import Journal
from indexer.provision.views import plan_json, plan_view
from tests.indexer.provision.fake_cluster import FakeSearchCluster
from tests.indexer.provision.planning import apply_on, desired_index, plan_on


def rendered(renderable) -> str:
    console = Console(width=200, record=True, force_terminal=False)
    console.print(renderable)
    return console.export_text()


def test_a_new_version_plan_says_why_and_numbers_its_steps(tmp_path):
    """The plan names the kind of change, each differing path, and the steps in order with + ~ - markers."""
    cluster = FakeSearchCluster()
    apply_on(cluster, plan_on(cluster, desired_index(tmp_path / "a")))
    english = desired_index(tmp_path / "b", fields={"synopsis": {"search": ["fulltext"], "analyzer": "english"}})
    text = rendered(plan_view(plan_on(cluster, english)))
    lines = text.splitlines()
    assert lines[0] == "index movies: new version (built, backfilled, then swapped in)  (live: movies-1)"
    assert "  synopsis: changed (analyzer: folding -> english)  (needs a new version)" in lines
    assert "  2. + index versions: create index movies-2 (pending)" in lines
    assert "  6. ~ aliases: swap movies from movies-1 to movies-2 atomically" in lines
    assert "  7. - aliases: remove movies-1 from movies-write" in lines


def test_an_applied_plan_says_no_changes(tmp_path):
    """Once applied, the plan says so in one line."""
    cluster = FakeSearchCluster()
    desired = desired_index(tmp_path)
    apply_on(cluster, plan_on(cluster, desired))
    text = rendered(plan_view(plan_on(cluster, desired)))
    assert text.splitlines() == [
        "index movies: no change  (live: movies-1)",
        "No changes: the cluster matches the definition.",
    ]


def test_the_json_plan_has_steps_differences_and_requests(tmp_path):
    """``--json`` carries the change kind, each step's action and text, and the recorded requests."""
    cluster = FakeSearchCluster()
    journal = Journal(["PUT movies-1 {}"])
    found = plan_json(plan_on(cluster, desired_index(tmp_path)), journal)
    assert (found["change"], found["live"], found["target"]) == ("create", None, "movies-1")
    assert found["steps"][1] == {
        "section": "index versions",
        "action": "CreateVersion",
        "description": "create index movies-1 (pending)",
    }
    assert found["requests"] == ["PUT movies-1 {}"]
    assert found["problems"] == []
