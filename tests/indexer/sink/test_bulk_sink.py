"""BulkSink: external versioning, explicit outcomes, dedupe within a batch, and retryable failures."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest
from elastic_transport import ApiResponseMeta, BaseNode, HttpHeaders, NodeConfig
from elastic_transport._node._base import NodeApiResponse
from elasticsearch import Elasticsearch

from indexer.sink.bulk_sink import BulkSink, ConfirmedVersions, DocumentWrite
from schema_gen.avro import METADATA_FIELD
from schema_gen.config import SinkSettings
from schema_gen.index_template import metadata_mapping

MAPPING = {
    "dynamic": "strict",
    "properties": {"movieId": {"type": "keyword"}, "title": {"type": "text"}, "releaseYear": {"type": "integer"}},
}


class CannedNode(BaseNode):
    """A transport node that answers every request with one canned status and body (a test seam)."""

    status = 200
    body: Any = {}
    requests: list[bytes] = []

    def perform_request(
        self, method: str, target: str, body: bytes | None = None, headers: Any = None, request_timeout: Any = None
    ) -> Any:
        if "/_alias/" in target:  # no index behind the write alias: the sink writes to the search alias
            return self._reply(200, {})
        CannedNode.requests.append(body or b"")
        return self._reply(self.status, self.body)

    def _reply(self, status: int, reply: Any) -> Any:
        meta = ApiResponseMeta(
            status=status,
            http_version="1.1",
            headers=HttpHeaders({"content-type": "application/json", "x-elastic-product": "Elasticsearch"}),
            duration=0.0,
            node=NodeConfig("http", "127.0.0.1", 9200),
        )
        return NodeApiResponse(meta, json.dumps(reply).encode())


def canned_client(status: int, body: Any) -> Elasticsearch:
    CannedNode.status, CannedNode.body, CannedNode.requests = status, body, []
    return Elasticsearch("http://127.0.0.1:9200", node_class=CannedNode)


def write(doc_id: str, version: int, **source: Any) -> DocumentWrite:
    return DocumentWrite(doc_id, version, {"movieId": doc_id, **source} if source else None)


def test_item_statuses_map_to_outcomes() -> None:
    """201 is indexed, 409 a stale noop, 429/503 retry, 400 a failure with the server's reason."""
    items = [
        {"index": {"_id": "a", "status": 201}},
        {"index": {"_id": "b", "status": 409, "error": {"type": "version_conflict_engine_exception", "reason": "v"}}},
        {"index": {"_id": "c", "status": 429, "error": {"type": "es_rejected_execution_exception", "reason": "busy"}}},
        {"index": {"_id": "d", "status": 503, "error": {"type": "unavailable_shards_exception", "reason": "down"}}},
        {"index": {"_id": "e", "status": 400, "error": {"type": "mapper_parsing_exception", "reason": "bad year"}}},
        {"delete": {"_id": "f", "status": 404, "result": "not_found"}},
    ]
    client = canned_client(200, {"took": 1, "errors": True, "items": items})
    writes = [write(x, 1, title="t") for x in "abcde"] + [write("f", 1)]
    outcomes = BulkSink(client, "movies", SinkSettings()).write(writes)
    assert [(o.status, o.reason) for o in outcomes] == [
        ("indexed", None),
        ("noop", "stale"),
        ("retry", "es_rejected_execution_exception"),
        ("retry", "unavailable_shards_exception"),
        ("failed", "mapper_parsing_exception"),
        ("noop", "not_found"),
    ]
    header = json.loads(CannedNode.requests[0].split(b"\n")[0])
    assert header == {"index": {"_index": "movies", "_id": "a", "version": 1, "version_type": "external"}}


def test_whole_request_rejected_with_429_retries_every_write() -> None:
    """A bulk request refused as a whole (429) leaves every write to be retried, none failed."""
    client = canned_client(429, {"error": {"type": "es_rejected_execution_exception", "reason": "queue full"}})
    outcomes = BulkSink(client, "movies", SinkSettings()).write([write("a", 1, title="x"), write("b", 1, title="y")])
    assert {o.status for o in outcomes} == {"retry"}


def test_unreachable_server_retries_every_write() -> None:
    """A connection error is a retry for every write, not an exception out of the stage."""
    client = Elasticsearch("http://127.0.0.1:9", max_retries=0, request_timeout=1)
    outcomes = BulkSink(client, "movies", SinkSettings()).write([write("a", 1, title="x")])
    assert [(o.status, o.reason) for o in outcomes] == [("retry", "unavailable")]


def test_chunks_are_bounded_by_count() -> None:
    """Five writes with max_actions=2 go out as three bulk requests."""
    client = canned_client(200, {"took": 1, "errors": False, "items": [{"index": {"status": 201}}] * 2})
    BulkSink(client, "movies", SinkSettings(max_actions=2)).write([write(str(n), 1, title="x") for n in range(4)])
    assert len(CannedNode.requests) == 2


@pytest.mark.integration
def test_writes_reach_every_index_behind_the_write_alias(es_client: Elasticsearch, unique_name: str) -> None:
    """During a migration both versions get every write; a refusal by either one fails the write."""
    strict_year = {"dynamic": "strict", "properties": {**MAPPING["properties"], "releaseYear": {"type": "keyword"}}}
    es_client.indices.create(index=f"{unique_name}-1", mappings=MAPPING, aliases={unique_name: {}})
    es_client.indices.create(index=f"{unique_name}-2", mappings=strict_year)
    es_client.indices.update_aliases(
        actions=[{"add": {"index": f"{unique_name}-{n}", "alias": f"{unique_name}-write"}} for n in (1, 2)]
    )
    sink = BulkSink(es_client, unique_name, SinkSettings(refresh=True))
    assert sink.targets() == (f"{unique_name}-1", f"{unique_name}-2")
    outcomes = sink.write([write("m1", 3, title="both"), write("m2", 3, releaseYear="not a year")])
    assert [(o.status, o.reason) for o in outcomes] == [("indexed", None), ("failed", "mapper_parsing_exception")]
    for version in (1, 2):
        assert es_client.get(index=f"{unique_name}-{version}", id="m1")["_source"]["title"] == "both"


@pytest.mark.integration
def test_versions_on_a_real_search_server(es_client: Elasticsearch, unique_name: str) -> None:
    """Older versions never overwrite newer ones; deletes are versioned; mapping errors fail alone."""
    es_client.indices.create(index=f"{unique_name}-1", mappings=MAPPING, aliases={unique_name: {}})
    sink = BulkSink(es_client, unique_name, SinkSettings(refresh=True))
    first = sink.write([write("m1", 20, title="new"), write("m2", 5, title="two"), write("m1", 10, title="dup")])
    assert [o.status for o in first] == ["indexed", "indexed", "noop"]
    assert first[2].reason == "superseded"
    stale = sink.write([write("m1", 15, title="old"), write("m3", 1, title="x", bogus=1)])
    assert [(o.status, o.reason) for o in stale] == [("noop", "stale"), ("failed", "strict_dynamic_mapping_exception")]
    assert es_client.get(index=unique_name, id="m1")["_source"]["title"] == "new"
    deleted = sink.write([write("m2", 4), write("m2", 6), write("nope", 1)])
    assert [(o.status, o.reason) for o in deleted] == [("noop", "superseded"), ("deleted", None), ("noop", "not_found")]
    assert not es_client.exists(index=unique_name, id="m2")


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


class MgetFailsNode(CannedNode):
    """The search server answers bulk requests but fails every mget."""

    def perform_request(
        self, method: str, target: str, body: bytes | None = None, headers: Any = None, request_timeout: Any = None
    ) -> Any:
        if "_mget" in target:
            return self._reply(503, {"error": {"type": "unavailable_shards_exception", "reason": "down"}})
        return super().perform_request(method, target, body, headers, request_timeout)


def test_a_failed_content_check_writes_every_document() -> None:
    """When the index cannot say what it holds, the writes go ahead: skipping is only an optimization."""
    canned_client(200, {"took": 1, "errors": False, "items": [{"index": {"status": 201}}]})
    client = Elasticsearch("http://127.0.0.1:9200", node_class=MgetFailsNode, max_retries=0)
    outcomes = BulkSink(client, "movies", SinkSettings()).write([described("a", 5, title="x")])
    assert [o.status for o in outcomes] == ["indexed"]
    assert len(CannedNode.requests) == 1


@pytest.mark.integration
def test_unchanged_documents_are_not_rewritten(es_client: Elasticsearch, unique_name: str) -> None:
    """An if-changed write of content the index holds is skipped; new content, a forced write, a missing
    document or a disabled check are written; a write older than the index's version is a noop."""
    mapping = {"dynamic": "strict", "properties": {**MAPPING["properties"], METADATA_FIELD: metadata_mapping()}}
    es_client.indices.create(index=f"{unique_name}-1", mappings=mapping, aliases={unique_name: {}})
    sink = BulkSink(es_client, unique_name, SinkSettings(refresh=True))
    sink.write([described("m1", 10, if_changed=False, title="A"), described("m2", 10, title="B")])
    outcomes = sink.write(
        [described("m1", 20, title="A"), described("m2", 20, title="B2"), described("m3", 20, title="C")]
    )
    assert [o.status for o in outcomes] == ["unchanged", "indexed", "indexed"]
    assert es_client.get(index=unique_name, id="m1")["_version"] == 10  # left alone
    assert [o.status for o in sink.write([described("m2", 15, title="B")])] == ["noop"]  # the index holds 20
    assert [o.status for o in sink.write([described("m1", 30, if_changed=False, title="A")])] == ["indexed"]
    unchecked = BulkSink(es_client, unique_name, SinkSettings(refresh=True, skip_unchanged=False))
    assert [o.status for o in unchecked.write([described("m1", 40, title="A")])] == ["indexed"]


@pytest.mark.integration
def test_a_late_older_write_cannot_undo_a_skipped_one(es_client: Elasticsearch, unique_name: str) -> None:
    """Content confirmed unchanged at version 20 (the index still says 10): a write of other content at
    version 15, arriving late, is stale, though the search server alone would accept it."""
    mapping = {"dynamic": "strict", "properties": {**MAPPING["properties"], METADATA_FIELD: metadata_mapping()}}
    es_client.indices.create(index=f"{unique_name}-1", mappings=mapping, aliases={unique_name: {}})
    sink = BulkSink(es_client, unique_name, SinkSettings(refresh=True))
    sink.write([described("m1", 10, title="A")])
    assert [o.status for o in sink.write([described("m1", 20, title="A")])] == ["unchanged"]
    late = sink.write([described("m1", 15, if_changed=False, title="B")])
    assert [(o.status, o.reason) for o in late] == [("noop", "stale")]
    assert es_client.get(index=unique_name, id="m1")["_source"]["title"] == "A"


@pytest.mark.integration
def test_unchanged_is_decided_per_index_behind_the_write_alias(es_client: Elasticsearch, unique_name: str) -> None:
    """During a migration the new version lacks the document: it is written there, skipped in the old one."""
    mapping = {"dynamic": "strict", "properties": {**MAPPING["properties"], METADATA_FIELD: metadata_mapping()}}
    es_client.indices.create(index=f"{unique_name}-1", mappings=mapping, aliases={unique_name: {}})
    BulkSink(es_client, unique_name, SinkSettings(refresh=True)).write([described("m1", 10, title="A")])
    es_client.indices.create(index=f"{unique_name}-2", mappings=mapping)
    es_client.indices.update_aliases(
        actions=[{"add": {"index": f"{unique_name}-{n}", "alias": f"{unique_name}-write"}} for n in (1, 2)]
    )
    outcomes = BulkSink(es_client, unique_name, SinkSettings(refresh=True)).write([described("m1", 20, title="A")])
    assert [o.status for o in outcomes] == ["indexed"]
    assert es_client.get(index=f"{unique_name}-1", id="m1")["_version"] == 10
    assert es_client.get(index=f"{unique_name}-2", id="m1")["_version"] == 20


@pytest.mark.integration
def test_a_forced_write_superseded_in_its_batch_still_writes_the_newest(
    es_client: Elasticsearch, unique_name: str
) -> None:
    """A fan-out's write (always written) and a newer root change's write (if changed) of one document in
    one batch: the newer is sent, and written even though its content is unchanged."""
    mapping = {"dynamic": "strict", "properties": {**MAPPING["properties"], METADATA_FIELD: metadata_mapping()}}
    es_client.indices.create(index=f"{unique_name}-1", mappings=mapping, aliases={unique_name: {}})
    sink = BulkSink(es_client, unique_name, SinkSettings(refresh=True))
    sink.write([described("m1", 10, title="A")])
    outcomes = sink.write([described("m1", 20, if_changed=False, title="A"), described("m1", 30, title="A")])
    assert [o.status for o in outcomes] == ["noop", "indexed"]
    assert es_client.get(index=unique_name, id="m1")["_version"] == 30
