"""BulkSink: external versioning, explicit outcomes, dedupe within a batch, and retryable failures."""

from __future__ import annotations

import json
from typing import Any

import pytest
from elastic_transport import ApiResponseMeta, BaseNode, HttpHeaders, NodeConfig
from elastic_transport._node._base import NodeApiResponse
from elasticsearch import Elasticsearch

from indexer.sink.bulk_sink import BulkSink, DocumentWrite
from schema_gen.config import SinkSettings

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
