"""The fetch stage: coalescing, documents and tombstones with versions, retries, dead letters, outages."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from indexer.fetch.outcomes import Deleted, Failed, FailureReason, Fetched, FetchOutcome
from indexer.fetch.stage import FetchStage
from indexer.kafka.document_codec import DocumentCodec
from indexer.kafka.topics import TopicLayout
from indexer.messages import DeadLetter, EventCause, Record, ReindexRequest, read_document_headers
from indexer.metrics import PipelineMetrics
from schema_gen.config import FetchSettings
from schema_gen.errors import GatewayUnavailable

LAYOUT = TopicLayout("graphdex", "graphdex", "movies")
SCHEMA = {
    "type": "record",
    "name": "Movie",
    "fields": [{"name": "movieId", "type": "string"}, {"name": "title", "type": "string"}],
}
NOW = 1_700_000_000_000


class ScriptedFetcher:
    """Answers each id from a script; records the ids of every call."""

    def __init__(self, script: dict[str, FetchOutcome] | None = None, down: bool = False) -> None:
        self.script = script or {}
        self.down = down
        self.calls: list[list[str]] = []

    def fetch(self, ids: Iterable[str]) -> list[FetchOutcome]:
        ids = list(ids)
        self.calls.append(ids)
        if self.down:
            raise GatewayUnavailable("gateway http://127.0.0.1:4000/ refused the connection", retry_after=3)
        return [self.script[i] for i in ids]


def stage(fetcher: Any, **settings: Any) -> FetchStage:
    return FetchStage(
        index="movies",
        fetcher=fetcher,
        codec=DocumentCodec(SCHEMA, topic=LAYOUT.documents, id_field="movieId"),
        topics=LAYOUT,
        settings=FetchSettings(**settings),
        metrics=PipelineMetrics(),
        clock_ms=lambda: NOW,
    )


def request(offset: int, doc_id: str, event_ts: int = NOW - 100, **extra: Any) -> Record:
    value = ReindexRequest(id=doc_id, type="Movie", event_ts_ms=event_ts, **extra).to_bytes()
    return Record(LAYOUT.requests, 0, offset, doc_id.encode(), value)


def test_duplicates_are_fetched_once_and_documents_carry_versions() -> None:
    """Three requests for m1 and one for m2 make one fetch of two ids; m2 is gone and tombstoned."""
    fetcher = ScriptedFetcher({"m1": Fetched("m1", {"movieId": "m1", "title": "Léon"}, 77), "m2": Deleted("m2", 78)})
    result = stage(fetcher).process([request(0, "m1", NOW - 500), request(1, "m1"), request(2, "m2"), request(3, "m1")])
    assert fetcher.calls == [["m1", "m2"]]
    document, tombstone = result.outgoing
    assert (document.topic, document.key, tombstone.key, tombstone.value) == (LAYOUT.documents, b"m1", b"m2", None)
    record = Record(LAYOUT.documents, 0, 0, document.key, document.value, document.headers)
    assert read_document_headers(record).version == 77
    assert read_document_headers(record).event_ts_ms == NOW - 500  # the oldest event, for freshness
    codec = DocumentCodec(SCHEMA, topic=LAYOUT.documents, id_field="movieId")
    assert codec.decode(document.value) == {"movieId": "m1", "title": "Léon"}
    assert result.backpressure is None


def cause(entity_type: str, entity_id: str) -> EventCause:
    return EventCause(type=entity_type, id=entity_id, op="u", topic="events", partition=0, offset=1)


def test_only_documents_of_root_changes_may_be_skipped_when_unchanged() -> None:
    """A root's own change marks its document if-changed; a related entity's change (whose fetch time
    the settle lookup reads), a backfill or replay without a cause, or a merge with either, does not."""
    docs = {i: Fetched(i, {"movieId": i, "title": "t"}, 5) for i in ("m1", "m2", "m3", "m4")}
    result = stage(ScriptedFetcher(docs)).process(
        [
            request(0, "m1", cause=cause("Movie", "m1")),
            request(1, "m2", cause=cause("Talent", "t1")),
            request(2, "m3"),
            request(3, "m4", cause=cause("Movie", "m4")),
            request(4, "m4", cause=cause("Production", "p1")),
            request(5, "m1", cause=cause("Movie", "m1")),
        ]
    )
    marked = {
        out.key: read_document_headers(Record(LAYOUT.documents, 0, 0, out.key, out.value, out.headers)).if_changed
        for out in result.outgoing
    }
    assert marked == {b"m1": True, b"m2": False, b"m3": False, b"m4": False}


def test_retryable_failure_goes_to_the_retry_topic_with_growing_delay() -> None:
    """A document-specific failure is retried later, with the attempt counted and a not-before time."""
    failure = Failed("m1", FailureReason.GRAPHQL_ERROR, "talent subgraph: boom at movies.0.credits", retryable=True)
    result = stage(ScriptedFetcher({"m1": failure}), retry_delay=5).process([request(0, "m1", attempt=2)])
    [out] = result.outgoing
    retry = ReindexRequest.from_bytes(out.value)
    assert (out.topic, retry.attempt, retry.not_before_ms) == (LAYOUT.retry, 3, NOW + 20_000)
    assert retry.last_error
    assert "boom" in retry.last_error


def test_exhausted_or_permanent_failures_are_dead_lettered_with_the_request() -> None:
    """After the last retry pass (or for a permanent failure) the request goes to the dead-letter topic."""
    failure = Failed("m1", FailureReason.GRAPHQL_ERROR, "still failing", retryable=True)
    permanent = Failed("m2", FailureReason.MAPPING_ERROR, "title: expected string", retryable=False)
    result = stage(ScriptedFetcher({"m1": failure, "m2": permanent}), retry_topic_attempts=3).process(
        [request(0, "m1", attempt=3), request(1, "m2")]
    )
    letters = [DeadLetter.from_bytes(out.value) for out in result.outgoing]
    assert [(out.topic, letter.reason) for out, letter in zip(result.outgoing, letters, strict=True)] == [
        (LAYOUT.dlq, "graphql_error"),
        (LAYOUT.dlq, "mapping_error"),
    ]
    assert letters[0].request is not None
    assert letters[0].request.id == "m1"


def test_gateway_outage_pauses_without_dead_letters() -> None:
    """When the gateway is down, nothing is produced and the whole batch waits (backpressure)."""
    result = stage(ScriptedFetcher(down=True)).process([request(0, "m1"), request(1, "m2")])
    assert list(result.outgoing) == []
    assert result.backpressure is not None
    assert (result.backpressure.processed, result.backpressure.retry_after) == (0, 3)


def test_retry_not_due_yet_pauses_from_that_record() -> None:
    """Requests before a not-yet-due retry are fetched; from it on the batch waits for its time."""
    fetcher = ScriptedFetcher({"m1": Fetched("m1", {"movieId": "m1", "title": "x"}, 1)})
    result = stage(fetcher).process([request(0, "m1"), request(1, "m2", not_before_ms=NOW + 4000), request(2, "m3")])
    assert fetcher.calls == [["m1"]]
    assert result.backpressure is not None
    assert (result.backpressure.processed, result.backpressure.retry_after) == (1, 4.0)


def test_unreadable_request_is_dead_lettered() -> None:
    """A request that is not valid JSON of the contract is dead-lettered; the others are fetched."""
    fetcher = ScriptedFetcher({"m1": Fetched("m1", {"movieId": "m1", "title": "x"}, 1)})
    result = stage(fetcher).process([Record(LAYOUT.requests, 0, 0, b"zz", b"{}"), request(1, "m1")])
    assert DeadLetter.from_bytes(result.outgoing[0].value).reason == "bad_request"
    assert result.outgoing[1].topic == LAYOUT.documents
