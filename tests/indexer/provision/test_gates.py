"""The cut-over gates: count parity with the source enumeration and a sample compared field by field."""

from __future__ import annotations

from indexer.fetch.outcomes import Deleted, Failed, FailureReason, Fetched
from indexer.provision.gates import CutoverGates, value_differences
from schema_gen.errors import GatewayUnavailable
from tests.indexer.provision.fake_cluster import FakeSearchCluster
from tests.indexer.provision.planning import Counts

DOCUMENTS = {
    "m1": {"movieId": "m1", "title": "Alien", "graphdex": {"fetched_at": 1}},
    "m2": {"movieId": "m2", "title": "Heat", "graphdex": {"fetched_at": 2}},
}


class FakeFetcher:
    """Answers each fetch from ``answers`` (id -> document or None for deleted), one dict per call."""

    def __init__(self, *answers):
        self.answers = list(answers)
        self.calls: list[list[str]] = []

    def fetch(self, ids):
        self.calls.append(list(ids))
        answer = self.answers[min(len(self.calls), len(self.answers)) - 1]
        if isinstance(answer, Exception):
            raise answer
        outcomes = []
        for document_id in ids:
            found = answer.get(document_id, "failed")
            if found == "failed":
                outcomes.append(Failed(document_id, FailureReason.GRAPHQL_ERROR, "boom", retryable=True))
            elif found is None:
                outcomes.append(Deleted(document_id, 10))
            else:
                outcomes.append(Fetched(document_id, found | {"graphdex": {"fetched_at": 99}}, 10))
        return outcomes


def gates_for(cluster, fetcher, **options):
    return CutoverGates(cluster, fetcher, sleep=lambda seconds: None, seed=7, **options)


def test_value_differences_name_each_path():
    """Nested objects and lists are compared element by element, each difference with its path."""
    stored = {"title": "A", "credits": [{"role": "ACTOR"}, {"role": "WRITER"}], "tags": ["x"]}
    fresh = {"title": "A", "credits": [{"role": "ACTOR"}, {"role": "DIRECTOR"}], "tags": ["x", "y"]}
    assert value_differences(stored, fresh) == [
        'credits[1].role: "WRITER" (index) != "DIRECTOR" (source)',
        'tags: ["x"] (index) != ["x","y"] (source)',
    ]


def test_a_version_that_matches_the_source_passes():
    """Same count as enumerated, sampled documents equal apart from graphdex's metadata: passed."""
    cluster = FakeSearchCluster()
    cluster.store("movies-2", DOCUMENTS)
    result = gates_for(cluster, FakeFetcher(DOCUMENTS)).check("movies-2", Counts(2, 2, 0, 0))
    assert result.passed
    assert (result.expected, result.counted, result.sampled) == (2, 2, 2)
    assert "refresh movies-2" in cluster.writes


def test_a_count_off_by_more_than_the_tolerance_fails():
    """Three enumerated, none deleted, two in the index: a count problem; a tolerance of one lets it pass."""
    cluster = FakeSearchCluster()
    cluster.store("movies-2", DOCUMENTS)
    result = gates_for(cluster, FakeFetcher(DOCUMENTS)).check("movies-2", Counts(3, 3, 0, 0))
    assert [str(problem) for problem in result.problems] == [
        "movies-2: holds 2 documents; the source enumeration gave 3 (3 enumerated, 0 deleted at the source)"
    ]
    assert gates_for(cluster, FakeFetcher(DOCUMENTS), count_tolerance=1).check("movies-2", Counts(3, 3, 0, 0)).passed


def test_deleted_roots_are_not_expected_and_failed_documents_fail_the_gate():
    """Deletions at the source lower the expected count; documents the backfill could not index fail it."""
    cluster = FakeSearchCluster()
    cluster.store("movies-2", DOCUMENTS)
    result = gates_for(cluster, FakeFetcher(DOCUMENTS)).check("movies-2", Counts(3, 2, 1, 1))
    assert [str(problem) for problem in result.problems] == ["movies-2: the backfill could not index 1 document(s)"]


def test_a_document_that_differs_twice_is_a_mismatch_with_its_paths():
    """A sampled document that still differs after the recheck is reported with the differing fields."""
    cluster = FakeSearchCluster()
    cluster.store("movies-2", DOCUMENTS)
    changed = DOCUMENTS | {"m2": {"movieId": "m2", "title": "Heat (1995)"}}
    fetcher = FakeFetcher(changed)
    result = gates_for(cluster, fetcher).check("movies-2", Counts(2, 2, 0, 0))
    assert [str(problem) for problem in result.problems] == [
        'movies-2/m2: title: "Heat" (index) != "Heat (1995)" (source)'
    ]
    assert fetcher.calls == [["m1", "m2"], ["m2"]]


def test_a_change_caught_up_by_the_recheck_is_not_a_mismatch():
    """A document changed while the gate ran, and written meanwhile, matches on the second look."""
    cluster = FakeSearchCluster()
    cluster.store("movies-2", DOCUMENTS)
    changed = DOCUMENTS | {"m2": {"movieId": "m2", "title": "Heat (1995)"}}

    class CatchingUp(FakeFetcher):
        def fetch(self, ids):
            outcomes = super().fetch(ids)
            if len(self.calls) == 1:  # the daemon writes the new title before the recheck
                cluster.store("movies-2", {"m2": changed["m2"]})
            return outcomes

    assert gates_for(cluster, CatchingUp(changed)).check("movies-2", Counts(2, 2, 0, 0)).passed


def test_deleted_and_unfetchable_sampled_documents_are_mismatches():
    """A sampled document deleted at the source, or that cannot be fetched, fails the gate."""
    cluster = FakeSearchCluster()
    cluster.store("movies-2", DOCUMENTS)
    result = gates_for(cluster, FakeFetcher({"m1": None})).check("movies-2", Counts(2, 2, 0, 0))
    assert [str(problem) for problem in result.problems] == [
        "movies-2/m1: deleted at the source, still in the index",
        "movies-2/m2: cannot be fetched (graphql_error): boom",
    ]


def test_an_unavailable_gateway_fails_the_gate():
    """Without the gateway nothing can be compared: the gate fails rather than passing unchecked."""
    cluster = FakeSearchCluster()
    cluster.store("movies-2", DOCUMENTS)
    result = gates_for(cluster, FakeFetcher(GatewayUnavailable("gateway down"))).check("movies-2", Counts(2, 2, 0, 0))
    assert [str(problem) for problem in result.problems] == [
        "movies-2: cannot compare documents with the source: gateway down"
    ]
