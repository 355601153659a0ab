"""BulkSink: external versioning, explicit outcomes, dedupe within a batch, and retryable failures."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest

from indexer.search_store import BulkAction, BulkItemResult, SearchStore, open_search_store
from indexer.search_store.memory import InMemorySearchStore
from indexer.search_store.translation import answered_error
from indexer.sink.bulk_sink import BulkSink, ConfirmedVersions, DocumentWrite
from schema_gen.avro import METADATA_FIELD
from schema_gen.config import ElasticsearchSettings, SinkSettings
from schema_gen.errors import StoreAuthFailed, StoreError
from schema_gen.index_template import metadata_mapping

MAPPING = {
    "dynamic": "strict",
    "properties": {"movieId": {"type": "keyword"}, "title": {"type": "text"}, "releaseYear": {"type": "integer"}},
}


def server_error(request: str, status: int, error_type: str, reason: str) -> StoreError:
    """The error an adapter raises when the server answers ``status`` with this error body."""
    body = {"error": {"type": error_type, "reason": reason}, "status": status}
    return answered_error(request, "http://search:9200", status, body, reason)


class ScriptedStore(InMemorySearchStore):
    """The in-memory store, with canned bulk answers and failures per operation (a test seam)."""

    def __init__(self) -> None:
        super().__init__()
        self.bulk_answers: list[list[tuple[int, str | None]]] = []
        self.failures: dict[str, StoreError] = {}
        self.bulk_requests: list[list[BulkAction]] = []

    def alias_targets(self, alias: str) -> list[str]:
        if "alias" in self.failures:
            raise self.failures["alias"]
        return super().alias_targets(alias)

    def mget(self, index: str, ids, *, source_includes=None):
        if "mget" in self.failures:
            raise self.failures["mget"]
        return super().mget(index, ids, source_includes=source_includes)

    def bulk(self, actions, *, refresh: bool = False) -> list[BulkItemResult]:
        self.bulk_requests.append(list(actions))
        if "bulk" in self.failures:
            raise self.failures["bulk"]
        if not self.bulk_answers:
            return super().bulk(actions, refresh=refresh)
        answers = self.bulk_answers.pop(0)
        return [
            BulkItemResult(action.op, action.index, action.id, status, None, None, error_type, error_type)
            for action, (status, error_type) in zip(actions, answers, strict=True)
        ]


def write(doc_id: str, version: int, **source: Any) -> DocumentWrite:
    return DocumentWrite(doc_id, version, {"movieId": doc_id, **source} if source else None)


def test_item_statuses_map_to_outcomes() -> None:
    """2xx is indexed, 409 a stale noop, 429/503 and a write block retry, 400 a failure with the server's
    reason, a delete of a missing document a noop."""
    store = ScriptedStore()
    store.bulk_answers.append(
        [
            (201, None),
            (409, "version_conflict_engine_exception"),
            (429, "es_rejected_execution_exception"),
            (503, "unavailable_shards_exception"),
            (403, "cluster_block_exception"),
            (400, "mapper_parsing_exception"),
            (404, None),
        ]
    )
    writes = [write(x, 1, title="t") for x in "abcdef"] + [write("g", 1)]
    outcomes = BulkSink(store, "movies", SinkSettings()).write(writes)
    assert [(o.status, o.reason) for o in outcomes] == [
        ("indexed", None),
        ("noop", "stale"),
        ("retry", "es_rejected_execution_exception"),
        ("retry", "unavailable_shards_exception"),
        ("retry", "cluster_block_exception"),
        ("failed", "mapper_parsing_exception"),
        ("noop", "not_found"),
    ]
    first = store.bulk_requests[0][0]
    assert (first.op, first.index, first.id, first.external_version) == ("index", "movies", "a", 1)


def test_whole_request_rejected_with_429_retries_every_write() -> None:
    """A bulk request refused as a whole (429) leaves every write to be retried, none failed."""
    store = ScriptedStore()
    store.failures["bulk"] = server_error("POST _bulk", 429, "es_rejected_execution_exception", "queue full")
    outcomes = BulkSink(store, "movies", SinkSettings()).write([write("a", 1, title="x"), write("b", 1, title="y")])
    assert {o.status for o in outcomes} == {"retry"}


def test_whole_request_refused_as_wrong_fails_each_write() -> None:
    """A 400 for the whole request is each write's failure, with the server's reason."""
    store = ScriptedStore()
    store.failures["bulk"] = server_error("POST _bulk", 400, "illegal_argument_exception", "bad request")
    outcomes = BulkSink(store, "movies", SinkSettings()).write([write("a", 1, title="x")])
    assert [(o.status, o.reason, o.detail) for o in outcomes] == [
        ("failed", "illegal_argument_exception", "bad request")
    ]


def test_refused_credentials_stop_the_sink_instead_of_dead_lettering() -> None:
    """401 is nothing a document did: it propagates (the daemon stops and says so) instead of failing writes."""
    store = ScriptedStore()
    store.failures["bulk"] = server_error("POST _bulk", 401, "security_exception", "missing authentication")
    with pytest.raises(StoreAuthFailed, match="credentials"):
        BulkSink(store, "movies", SinkSettings()).write([write("a", 1, title="x")])


@pytest.mark.parametrize(
    ("status", "error_type"),
    [(503, "master_not_discovered_exception"), (403, "cluster_block_exception"), (429, "circuit_breaking_exception")],
)
def test_an_unavailable_alias_read_is_a_retry_not_a_crash(status: int, error_type: str) -> None:
    """When the search server cannot say which indexes are behind the write alias, every write is retried
    later (the stage turns that into backpressure) instead of an exception stopping the daemon."""
    store = ScriptedStore()
    store.failures["alias"] = server_error("GET _alias/movies-write", status, error_type, "not now")
    sink = BulkSink(store, "movies", SinkSettings())
    outcomes = sink.write([write("a", 1, title="x"), write("b", 1)])
    assert [(o.status, o.reason) for o in outcomes] == [("retry", "unavailable"), ("retry", "unavailable")]
    assert f"HTTP {status}" in (outcomes[0].detail or "") or "blocks" in (outcomes[0].detail or "")
    assert store.bulk_requests == []
    del store.failures["alias"]
    store.create_index("movies-1", mappings=MAPPING, aliases=["movies"])
    assert [o.status for o in sink.write([write("a", 2, title="x")])] == ["indexed"]


def test_unreachable_server_retries_every_write() -> None:
    """A connection error is a retry for every write, not an exception out of the stage."""
    store = open_search_store(ElasticsearchSettings(url="http://127.0.0.1:9", engine="opensearch", timeout=1))
    outcomes = BulkSink(store, "movies", SinkSettings()).write([write("a", 1, title="x")])
    assert [(o.status, o.reason) for o in outcomes] == [("retry", "unavailable")]


def test_chunks_are_bounded_by_count_and_bytes() -> None:
    """Four writes with max_actions=2 go out as two bulk requests; a byte bound splits them further."""
    store = ScriptedStore()
    store.create_index("movies-1", mappings=MAPPING, aliases=["movies"])
    BulkSink(store, "movies", SinkSettings(max_actions=2)).write([write(str(n), 1, title="x") for n in range(4)])
    assert [len(request) for request in store.bulk_requests] == [2, 2]
    store.bulk_requests.clear()
    one = len(BulkAction("index", "movies", "0", {"movieId": "0", "title": "x"}, 2).ndjson)
    BulkSink(store, "movies", SinkSettings(max_bytes=one * 3)).write([write(str(n), 2, title="x") for n in range(4)])
    assert [len(request) for request in store.bulk_requests] == [3, 1]


@pytest.fixture(params=[pytest.param("memory"), pytest.param("server", marks=pytest.mark.integration)])
def store(request: pytest.FixtureRequest) -> SearchStore:
    """The in-memory store (unit tests) and the local stack's search server (integration)."""
    return InMemorySearchStore() if request.param == "memory" else request.getfixturevalue("search_store")


def source_of(store: SearchStore, index: str, doc_id: str) -> dict[str, Any] | None:
    found = store.mget(index, [doc_id]).get(doc_id)
    return None if found is None else found.source


def version_of(store: SearchStore, index: str, doc_id: str) -> int | None:
    found = store.mget(index, [doc_id]).get(doc_id)
    return None if found is None else found.version


def test_writes_reach_every_index_behind_the_write_alias(store: SearchStore, unique_name: str) -> None:
    """During a migration both versions get every write; a refusal by either one fails the write."""
    strict_year = {"dynamic": "strict", "properties": {**MAPPING["properties"], "releaseYear": {"type": "keyword"}}}
    store.create_index(f"{unique_name}-1", mappings=MAPPING, aliases=[unique_name])
    store.create_index(f"{unique_name}-2", mappings=strict_year)
    store.update_aliases([{"add": {"index": f"{unique_name}-{n}", "alias": f"{unique_name}-write"}} for n in (1, 2)])
    sink = BulkSink(store, unique_name, SinkSettings(refresh=True))
    assert sink.targets() == (f"{unique_name}-1", f"{unique_name}-2")
    outcomes = sink.write([write("m1", 3, title="both"), write("m2", 3, releaseYear="not a year")])
    assert [(o.status, o.reason) for o in outcomes] == [("indexed", None), ("failed", "mapper_parsing_exception")]
    for version in (1, 2):
        assert source_of(store, f"{unique_name}-{version}", "m1")["title"] == "both"


def test_versions_are_external(store: SearchStore, unique_name: str) -> None:
    """Older versions never overwrite newer ones; deletes are versioned; mapping errors fail alone."""
    store.create_index(f"{unique_name}-1", mappings=MAPPING, aliases=[unique_name])
    sink = BulkSink(store, unique_name, SinkSettings(refresh=True))
    first = sink.write([write("m1", 20, title="new"), write("m2", 5, title="two"), write("m1", 10, title="dup")])
    assert [o.status for o in first] == ["indexed", "indexed", "noop"]
    assert first[2].reason == "superseded"
    stale = sink.write([write("m1", 15, title="old"), write("m3", 1, title="x", bogus=1)])
    assert [(o.status, o.reason) for o in stale] == [("noop", "stale"), ("failed", "strict_dynamic_mapping_exception")]
    assert source_of(store, unique_name, "m1")["title"] == "new"
    deleted = sink.write([write("m2", 4), write("m2", 6), write("nope", 1)])
    assert [(o.status, o.reason) for o in deleted] == [("noop", "superseded"), ("deleted", None), ("noop", "not_found")]
    assert source_of(store, unique_name, "m2") is None


def test_a_write_block_is_retried_until_lifted(store: SearchStore, unique_name: str) -> None:
    """index.blocks.write (a full disk, an operator) refuses writes with 403: retried, never dead-lettered."""
    store.create_index(f"{unique_name}-1", mappings=MAPPING, aliases=[unique_name])
    sink = BulkSink(store, unique_name, SinkSettings(refresh=True))
    store.put_index_settings(f"{unique_name}-1", {"index.blocks.write": True})
    try:
        assert [(o.status, o.reason) for o in sink.write([write("m1", 1, title="x")])] == [
            ("retry", "cluster_block_exception")
        ]
    finally:
        store.put_index_settings(f"{unique_name}-1", {"index.blocks.write": False})
    assert [o.status for o in sink.write([write("m1", 1, title="x")])] == ["indexed"]


def described(doc_id: str, version: int, *, if_changed: bool = True, **source: Any) -> DocumentWrite:
    """A write whose source carries graphdex metadata with a digest of its content, like the renderer's."""
    content = {"movieId": doc_id, **source}
    digest = hashlib.blake2b(json.dumps(content, sort_keys=True).encode(), digest_size=16).hexdigest()
    metadata = {"fetched_at": version // 1000, "content_hash": digest}
    return DocumentWrite(doc_id, version, {**content, METADATA_FIELD: metadata}, if_changed=if_changed)


def test_confirmed_versions_expire_and_stay_bounded() -> None:
    """A confirmed version covers itself and older ones, until it expires or is pushed out."""
    now = [0.0]
    confirmed = ConfirmedVersions(ttl=10, limit=2, clock=lambda: now[0])
    confirmed.confirm(("i", "a"), 20)
    confirmed.confirm(("i", "a"), 15)  # never lowered
    assert confirmed.covers(("i", "a"), 20)
    assert confirmed.covers(("i", "a"), 5)
    assert not confirmed.covers(("i", "a"), 21)
    assert not confirmed.covers(("j", "a"), 5)
    confirmed.confirm(("i", "b"), 1)
    confirmed.confirm(("i", "c"), 1)
    assert len(confirmed) == 2
    assert not confirmed.covers(("i", "a"), 5)
    now[0] = 11.0
    assert not confirmed.covers(("i", "b"), 1)
    confirmed.forget(("i", "c"))
    assert len(confirmed) == 0


def test_a_failed_content_check_writes_every_document() -> None:
    """When the index cannot say what it holds, the writes go ahead: skipping is only an optimization."""
    store = ScriptedStore()
    mapping = {"dynamic": "strict", "properties": {**MAPPING["properties"], METADATA_FIELD: metadata_mapping()}}
    store.create_index("movies-1", mappings=mapping, aliases=["movies"])
    store.failures["mget"] = server_error("POST movies-1/_mget", 503, "unavailable_shards_exception", "down")
    outcomes = BulkSink(store, "movies", SinkSettings()).write([described("a", 5, title="x")])
    assert [o.status for o in outcomes] == ["indexed"]
    assert len(store.bulk_requests) == 1


def test_unchanged_documents_are_not_rewritten(store: SearchStore, unique_name: str) -> None:
    """An if-changed write of content the index holds is skipped; new content, a forced write, a missing
    document or a disabled check are written; a write older than the index's version is a noop."""
    mapping = {"dynamic": "strict", "properties": {**MAPPING["properties"], METADATA_FIELD: metadata_mapping()}}
    store.create_index(f"{unique_name}-1", mappings=mapping, aliases=[unique_name])
    sink = BulkSink(store, unique_name, SinkSettings(refresh=True))
    sink.write([described("m1", 10, if_changed=False, title="A"), described("m2", 10, title="B")])
    outcomes = sink.write(
        [described("m1", 20, title="A"), described("m2", 20, title="B2"), described("m3", 20, title="C")]
    )
    assert [o.status for o in outcomes] == ["unchanged", "indexed", "indexed"]
    assert version_of(store, unique_name, "m1") == 10  # left alone
    assert [o.status for o in sink.write([described("m2", 15, title="B")])] == ["noop"]  # the index holds 20
    assert [o.status for o in sink.write([described("m1", 30, if_changed=False, title="A")])] == ["indexed"]
    unchecked = BulkSink(store, unique_name, SinkSettings(refresh=True, skip_unchanged=False))
    assert [o.status for o in unchecked.write([described("m1", 40, title="A")])] == ["indexed"]


def test_a_late_older_write_cannot_undo_a_skipped_one(store: SearchStore, unique_name: str) -> None:
    """Content confirmed unchanged at version 20 (the index still says 10): a write of other content at
    version 15, arriving late, is stale, though the search server alone would accept it."""
    mapping = {"dynamic": "strict", "properties": {**MAPPING["properties"], METADATA_FIELD: metadata_mapping()}}
    store.create_index(f"{unique_name}-1", mappings=mapping, aliases=[unique_name])
    sink = BulkSink(store, unique_name, SinkSettings(refresh=True))
    sink.write([described("m1", 10, title="A")])
    assert [o.status for o in sink.write([described("m1", 20, title="A")])] == ["unchanged"]
    late = sink.write([described("m1", 15, if_changed=False, title="B")])
    assert [(o.status, o.reason) for o in late] == [("noop", "stale")]
    assert source_of(store, unique_name, "m1")["title"] == "A"


def test_unchanged_is_decided_per_index_behind_the_write_alias(store: SearchStore, unique_name: str) -> None:
    """During a migration the new version lacks the document: it is written there, skipped in the old one."""
    mapping = {"dynamic": "strict", "properties": {**MAPPING["properties"], METADATA_FIELD: metadata_mapping()}}
    store.create_index(f"{unique_name}-1", mappings=mapping, aliases=[unique_name])
    BulkSink(store, unique_name, SinkSettings(refresh=True)).write([described("m1", 10, title="A")])
    store.create_index(f"{unique_name}-2", mappings=mapping)
    store.update_aliases([{"add": {"index": f"{unique_name}-{n}", "alias": f"{unique_name}-write"}} for n in (1, 2)])
    outcomes = BulkSink(store, unique_name, SinkSettings(refresh=True)).write([described("m1", 20, title="A")])
    assert [o.status for o in outcomes] == ["indexed"]
    assert version_of(store, f"{unique_name}-1", "m1") == 10
    assert version_of(store, f"{unique_name}-2", "m1") == 20


def test_a_forced_write_superseded_in_its_batch_still_writes_the_newest(
    store: SearchStore, unique_name: str
) -> None:
    """A fan-out's write (always written) and a newer root change's write (if changed) of one document in
    one batch: the newer is sent, and written even though its content is unchanged."""
    mapping = {"dynamic": "strict", "properties": {**MAPPING["properties"], METADATA_FIELD: metadata_mapping()}}
    store.create_index(f"{unique_name}-1", mappings=mapping, aliases=[unique_name])
    sink = BulkSink(store, unique_name, SinkSettings(refresh=True))
    sink.write([described("m1", 10, title="A")])
    outcomes = sink.write([described("m1", 20, if_changed=False, title="A"), described("m1", 30, title="A")])
    assert [o.status for o in outcomes] == ["noop", "indexed"]
    assert version_of(store, unique_name, "m1") == 30
