"""DocumentFetcher against a fake gateway: batching, outcomes per id, errors, versions, concurrency."""

from __future__ import annotations

import threading

import httpx
import pytest
from graphql import OperationDefinitionNode, parse

from indexer.fetch import Deleted, DocumentFetcher, Failed, FailureReason, Fetched, FetchMetrics, VersionClock
from indexer.metrics import PipelineMetrics
from schema_gen.avro import METADATA_FIELD

from .fakes import LIST_QUERY, make_config, make_model


def aliases(query: str) -> list[str]:
    (op,) = [d for d in parse(query).definitions if isinstance(d, OperationDefinitionNode)]
    return [f.alias.value for f in op.selection_set.selections]


def test_list_mode_fetches_batches_of_batch_size_with_the_ids_variable(build_fetcher, gateway):
    """Five ids with batch_size 2 take three requests, each passing its ids in the list variable."""
    for movie_id in ("m4", "m5"):
        gateway.add(movie_id)
    outcomes = build_fetcher("list").fetch(["m1", "m2", "m3", "m4", "m5"])
    assert [type(o) for o in outcomes] == [Fetched] * 5
    assert [o.id for o in outcomes] == ["m1", "m2", "m3", "m4", "m5"]
    assert sorted(tuple(r["variables"]["ids"]) for r in gateway.requests) == [("m1", "m2"), ("m3", "m4"), ("m5",)]
    assert outcomes[0].document["title"] == "Amélie"
    assert outcomes[2].document["title"] == "黒澤 明の夢"


def test_alias_mode_fetches_each_batch_in_one_aliased_operation(build_fetcher, gateway):
    """A single-id template is fetched as e0, e1 in one request per batch."""
    outcomes = build_fetcher("alias").fetch(["m1", "m2", "m3"])
    assert {o.id: o.document["title"] for o in outcomes} == {"m1": "Amélie", "m2": "Léon", "m3": "黒澤 明の夢"}
    assert sorted(len(r["variables"]) for r in gateway.requests) == [1, 2]
    assert any(aliases(r["query"]) == ["e0", "e1"] for r in gateway.requests)


def test_documents_are_rendered_with_the_fetch_version_as_metadata(build_fetcher):
    """Fetched documents carry the renderer's fields and metadata; fetched_at is the version's time."""
    (outcome,) = build_fetcher("list").fetch(["m1"])
    assert isinstance(outcome, Fetched)
    assert {k: outcome.document[k] for k in ("movieId", "title", "rating")} == {
        "movieId": "m1",
        "title": "Amélie",
        "rating": 7.5,
    }
    assert outcome.document[METADATA_FIELD]["fetched_at"] == outcome.version // 1000


def test_duplicate_ids_are_fetched_once_with_one_outcome_each(build_fetcher, gateway):
    """Repeated ids give one outcome per distinct id, in first-seen order, from one lookup."""
    outcomes = build_fetcher("list", batch_size=10).fetch(["m2", "m1", "m2", "m2", "m1"])
    assert [o.id for o in outcomes] == ["m2", "m1"]
    assert [r["variables"]["ids"] for r in gateway.requests] == [["m2", "m1"]]


def test_an_empty_call_sends_nothing(build_fetcher, gateway):
    """No ids, no request and no outcomes."""
    assert build_fetcher("list").fetch([]) == []
    assert gateway.requests == []


@pytest.mark.parametrize("mode", ["list", "alias"])
def test_a_null_root_without_an_error_is_deleted(build_fetcher, mode):
    """An id the gateway resolves to null, with no error touching it, becomes Deleted with a version."""
    outcomes = build_fetcher(mode).fetch(["m1", "gone"])
    assert isinstance(outcomes[0], Fetched)
    assert outcomes[1] == Deleted("gone", outcomes[1].version)
    assert outcomes[1].version > 0


@pytest.mark.parametrize("mode", ["list", "alias"])
def test_an_error_touching_one_document_fails_only_that_document(build_fetcher, gateway, mode):
    """A field error under one root fails that id (retryable, no partial data); its batch mates are fetched."""
    gateway.broken.add("m2")
    outcomes = build_fetcher(mode, batch_size=3).fetch(["m1", "m2", "m3"])
    assert [type(o) for o in outcomes] == [Fetched, Failed, Fetched]
    failed = outcomes[1]
    assert failed.reason is FailureReason.GRAPHQL_ERROR
    assert failed.retryable
    assert "talent service failed for m2" in failed.detail
    assert "title" in failed.detail


def test_a_request_level_error_fails_the_whole_batch_retryably(build_fetcher, gateway):
    """Errors without a path and no data, for the batch and for each of its halves, fail every id of that
    batch, and only of that batch."""
    gateway.respond(200, {"data": None, "errors": [{"message": "query planning failed"}]}, times=3)
    outcomes = build_fetcher("list", batch_size=2, max_in_flight=1).fetch(["m1", "m2", "m3"])
    assert [type(o) for o in outcomes] == [Failed, Failed, Fetched]
    assert all(o.retryable and "query planning failed" in o.detail for o in outcomes[:2])


def test_validation_errors_are_not_retryable(build_fetcher, gateway):
    """A GRAPHQL_VALIDATION_FAILED answer (HTTP 400 with a GraphQL body) is a non-retryable failure."""
    body = {"errors": [{"message": "Cannot query field", "extensions": {"code": "GRAPHQL_VALIDATION_FAILED"}}]}
    gateway.respond(400, body)
    (outcome,) = build_fetcher("list").fetch(["m1"])
    assert isinstance(outcome, Failed)
    assert not outcome.retryable
    assert len(gateway.requests) == 1


def test_an_error_without_a_path_next_to_data_fails_every_document_of_the_batch(build_fetcher, gateway):
    """An error that cannot be placed (for the batch and for each of its halves) makes all documents of
    its batch untrustworthy."""
    data = {"movies": [{"movieId": "m1", "title": "Amélie", "rating": 1.0}, None]}
    gateway.respond(200, {"data": data, "errors": [{"message": "something went wrong somewhere"}]}, times=3)
    outcomes = build_fetcher("list").fetch(["m1", "m2"])
    assert all(isinstance(o, Failed) and "somewhere" in o.detail for o in outcomes)


def test_a_document_that_does_not_fit_the_model_is_a_mapping_error(build_fetcher, gateway):
    """A null in a non-null field of the model fails that id as mapping_error, not retryable."""
    gateway.add("m9", title=None)
    outcomes = build_fetcher("list", title_nullable=False).fetch(["m1", "m9"])
    assert isinstance(outcomes[0], Fetched)
    failed = outcomes[1]
    assert isinstance(failed, Failed)
    assert failed.reason is FailureReason.MAPPING_ERROR
    assert not failed.retryable
    assert "Movie:m9" in failed.detail
    assert "title" in failed.detail


def test_ids_with_quotes_and_braces_are_fetched_through_variables_only(build_fetcher, gateway):
    """Hostile ids never appear in the query text and still resolve to their documents."""
    hostile = ['m1") { __schema { types { name } } } #', "x'}{$id", 'a"b\\c']
    for movie_id in hostile:
        gateway.add(movie_id, title=f"title of {movie_id}")
    for mode in ("list", "alias"):
        gateway.requests.clear()
        outcomes = build_fetcher(mode, batch_size=5).fetch(hostile)
        assert [o.document["title"] for o in outcomes] == [f"title of {m}" for m in hostile]
        (request,) = gateway.requests
        assert not any(movie_id in request["query"] for movie_id in hostile)


def test_ids_the_id_variable_cannot_carry_fail_without_a_request(build_fetcher, gateway):
    """With an Int id variable, a non-integer id fails as invalid_id and integer ids are fetched."""
    gateway.add("7", title="Seven")
    outcomes = build_fetcher("int").fetch(["seven", "7"])
    assert isinstance(outcomes[0], Failed)
    assert outcomes[0].reason is FailureReason.INVALID_ID
    assert not outcomes[0].retryable
    assert outcomes[1].document["title"] == "Seven"
    assert [r["variables"] for r in gateway.requests] == [{"number0": 7}]


def test_versions_increase_across_fetches_even_when_the_clock_stands_still(build_fetcher):
    """Every gateway request gets a new, higher version; its documents share it."""
    fetcher = build_fetcher("list", batch_size=1, max_in_flight=1, versions=VersionClock(lambda: 1_700_000_000_000_000))
    first = fetcher.fetch(["m1", "m2"])
    second = fetcher.fetch(["m1"])
    versions = [o.version for o in [*first, *second]]
    assert versions == sorted(versions)
    assert len(set(versions)) == 3
    assert versions[0] == 1_700_000_000_000


def test_no_more_than_max_in_flight_requests_run_at_once(build_fetcher, gateway):
    """Batches run concurrently up to max_in_flight and never beyond."""
    for n in range(4, 13):
        gateway.add(f"m{n}")
    barrier = threading.Barrier(3, timeout=10)
    in_flight, peak, lock = [0], [0], threading.Lock()

    def counting(request: httpx.Request) -> httpx.Response:
        with lock:
            in_flight[0] += 1
            peak[0] = max(peak[0], in_flight[0])
        barrier.wait()  # three requests must be in flight together for any to proceed
        with lock:
            in_flight[0] -= 1
        return httpx.Response(200, json={"data": {"movies": []}})

    gateway.script += [counting] * 6
    outcomes = build_fetcher("list", batch_size=2, max_in_flight=3).fetch([f"m{n}" for n in range(1, 13)])
    assert len(outcomes) == 12
    assert peak[0] == 3


def test_outcomes_are_counted_in_the_registry(build_fetcher, gateway, registry):
    """Fetched, deleted and failed outcomes and batch sizes are observable as metrics."""
    gateway.broken.add("m3")
    build_fetcher("list", batch_size=5).fetch(["m1", "gone", "m3"])

    def outcome(kind: str, reason: str = "") -> float | None:
        labels = {"index": "movies", "outcome": kind, "reason": reason}
        return registry.get_sample_value("graphdex_fetch_outcomes_total", labels)

    assert outcome("fetched") == 1
    assert outcome("deleted") == 1
    assert outcome("failed", "graphql_error") == 1
    assert registry.get_sample_value("graphdex_fetch_batch_size_sum", {"index": "movies"}) == 3
    assert registry.get_sample_value("graphdex_fetch_latency_seconds_count", {"index": "movies"}) == 1


def test_graph_headers_are_sent_with_every_request(build_fetcher, gateway):
    """Headers from config.graph (already env-substituted) reach the gateway."""
    build_fetcher("list").fetch(["m1"])
    assert gateway.headers[0]["authorization"] == "Bearer s3cret"
    assert "application/json" in gateway.headers[0]["content-type"]


def test_fetch_metrics_share_the_daemon_registry_without_duplicates(gateway):
    """for_pipeline reuses PipelineMetrics' fetch collectors, so both live in one registry."""
    pipeline = PipelineMetrics()
    config = make_config(LIST_QUERY, "ids")
    fetcher = DocumentFetcher.for_index(
        make_model(config),
        config,
        metrics=FetchMetrics.for_pipeline(pipeline),
        transport=httpx.MockTransport(gateway),
    )
    with fetcher:
        fetcher.fetch(["m1", "m2"])
    assert pipeline.value("graphdex_fetch_batch_size_sum", {"index": "movies"}) == 2
    assert pipeline.value("graphdex_fetch_outcomes_total", {"index": "movies", "outcome": "fetched", "reason": ""}) == 2
