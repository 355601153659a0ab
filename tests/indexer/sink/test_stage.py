"""The sink stage: decoding document messages, outcomes to metrics and dead letters, backpressure."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from indexer.kafka.document_codec import DocumentCodec
from indexer.kafka.topics import TopicLayout
from indexer.messages import DeadLetter, Record, document_headers
from indexer.metrics import PipelineMetrics
from indexer.search_store import open_search_store
from indexer.sink.bulk_sink import BulkSink, DocumentWrite, WriteOutcome
from indexer.sink.stage import SinkStage
from schema_gen.config import ElasticsearchSettings, SinkSettings
from tests.indexer.search_store.stub_server import OPENSEARCH_ROOT, stub_search_server

LAYOUT = TopicLayout("graphdex", "graphdex", "movies")
SCHEMA = {"type": "record", "name": "Movie", "fields": [{"name": "movieId", "type": "string"}]}
CODEC = DocumentCodec(SCHEMA, topic=LAYOUT.documents, id_field="movieId")


class ScriptedSink:
    """Returns a scripted status per document id and records the writes."""

    def __init__(self, statuses: dict[str, str]) -> None:
        self.statuses = statuses
        self.writes: list[DocumentWrite] = []

    def write(self, writes: Sequence[DocumentWrite]) -> list[WriteOutcome]:
        self.writes += writes
        return [
            WriteOutcome(
                w, self.statuses[w.id], "mapper_parsing_exception" if self.statuses[w.id] == "failed" else None, "why"
            )
            for w in writes
        ]  # type: ignore[arg-type]


def stage(sink: Any, metrics: PipelineMetrics | None = None) -> SinkStage:
    return SinkStage(
        index="movies",
        root_type="Movie",
        sink=sink,
        codec=CODEC,
        topics=LAYOUT,
        metrics=metrics or PipelineMetrics(),
        clock_ms=lambda: 10_000,
    )


def document(offset: int, doc_id: str, version: int = 5, tombstone: bool = False) -> Record:
    value = None if tombstone else CODEC.encode({"movieId": doc_id})
    return Record(LAYOUT.documents, 0, offset, doc_id.encode(), value, document_headers(version, 9_000))


def test_documents_and_tombstones_become_versioned_writes() -> None:
    """Values are decoded to index writes, tombstones to deletes, each at its header version."""
    sink = ScriptedSink({"m1": "indexed", "m2": "deleted"})
    metrics = PipelineMetrics()
    result = stage(sink, metrics).process([document(0, "m1", 7), document(1, "m2", 8, tombstone=True)])
    assert [(w.id, w.version, w.source) for w in sink.writes] == [("m1", 7, {"movieId": "m1"}), ("m2", 8, None)]
    assert result.outgoing == []
    assert result.backpressure is None
    assert metrics.value("graphdex_freshness_seconds_count", {"index": "movies"}) == 2
    assert metrics.value("graphdex_freshness_seconds_sum", {"index": "movies"}) == 2.0


def test_if_changed_header_reaches_the_sink_and_unchanged_counts_as_fresh() -> None:
    """A document marked if-changed is written with that permission; an unchanged outcome is counted and,
    since the index was just confirmed current, observed as freshness."""
    sink = ScriptedSink({"m1": "unchanged", "m2": "indexed"})
    metrics = PipelineMetrics()
    marked = Record(
        LAYOUT.documents, 0, 0, b"m1", CODEC.encode({"movieId": "m1"}), document_headers(5, 9_000, if_changed=True)
    )
    result = stage(sink, metrics).process([marked, document(1, "m2")])
    assert [(w.id, w.if_changed) for w in sink.writes] == [("m1", True), ("m2", False)]
    assert result.outgoing == []
    assert metrics.value("graphdex_documents_total", {"index": "movies", "outcome": "unchanged"}) == 1
    assert metrics.value("graphdex_freshness_seconds_count", {"index": "movies"}) == 2


def test_refused_document_is_dead_lettered_and_others_proceed() -> None:
    """A mapping error dead-letters that document with its bytes; stale writes are noops, not failures."""
    sink = ScriptedSink({"m1": "failed", "m2": "noop"})
    metrics = PipelineMetrics()
    result = stage(sink, metrics).process([document(0, "m1"), document(1, "m2")])
    [letter] = [DeadLetter.from_bytes(out.value) for out in result.outgoing]
    assert (letter.reason, letter.offset, letter.stage) == ("mapper_parsing_exception", 0, "sink")
    assert metrics.value("graphdex_documents_total", {"index": "movies", "outcome": "noop"}) == 1


def test_busy_index_pauses_from_the_first_retryable_write() -> None:
    """A 429 on the second write keeps the first as done and redelivers from the second on."""
    sink = ScriptedSink({"m1": "indexed", "m2": "retry", "m3": "failed"})
    result = stage(sink).process([document(0, "m1"), document(1, "m2"), document(2, "m3")])
    assert result.backpressure is not None
    assert result.backpressure.processed == 1
    assert result.outgoing == []  # m3's dead letter is not final: m3 is delivered again


def test_message_without_version_header_is_dead_lettered() -> None:
    """A document message without graphdex's headers cannot be versioned and is dead-lettered."""
    sink = ScriptedSink({})
    result = stage(sink).process([Record(LAYOUT.documents, 0, 4, b"m9", CODEC.encode({"movieId": "m9"}))])
    assert DeadLetter.from_bytes(result.outgoing[0].value).reason == "bad_document"
    assert sink.writes == []


def test_an_unavailable_search_server_is_backpressure_not_a_crash() -> None:
    """Over HTTP, through the real adapter: the search server answers 503 to the write-alias read, so the
    stage pauses with backpressure for the whole batch (nothing written, nothing dead-lettered)."""

    def script(method: str, path: str) -> tuple[int, Any]:
        if path == "/":
            return 200, OPENSEARCH_ROOT
        return 503, {"error": {"type": "cluster_manager_not_discovered_exception", "reason": "no manager"}}

    with stub_search_server(script) as (url, seen):
        store = open_search_store(ElasticsearchSettings(url=url))
        result = stage(BulkSink(store, "movies", SinkSettings())).process([document(0, "m1"), document(1, "m2")])
    assert result.outgoing == []
    assert result.backpressure is not None
    assert result.backpressure.processed == 0
    assert "HTTP 503" in str(result.backpressure)
    assert any(str(request).startswith("GET /_alias/movies-write") for request in seen)
    assert not any("_bulk" in request.path for request in seen)
