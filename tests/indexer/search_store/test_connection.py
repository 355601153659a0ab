"""Opening a search store from the ``elasticsearch`` section: auth, TLS, timeouts, the engine choice
(``auto`` asks ``GET /`` once) and the translation of each adapter's failures, seen on the wire."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any, ClassVar

import pytest
from elastic_transport import ApiResponseMeta, BaseNode, HttpHeaders, NodeConfig
from elastic_transport._node._base import NodeApiResponse
from elastic_transport.client_utils import DEFAULT

from indexer.search_store import BulkAction, open_search_store
from indexer.search_store.connection import EngineDetectingStore
from indexer.search_store.elasticsearch_store import ElasticsearchStore
from indexer.search_store.opensearch_store import OpenSearchStore
from schema_gen.config import ElasticsearchSettings, SearchEngine, parse_config
from schema_gen.errors import (
    ConfigError,
    StoreAuthFailed,
    StoreConflict,
    StoreNotFound,
    StoreRejected,
    StoreUnavailable,
)
from tests.indexer.search_store.stub_server import ELASTICSEARCH_ROOT, OPENSEARCH_ROOT, stub_search_server


@dataclass(frozen=True)
class SentRequest:
    """One request as the HTTP layer would have sent it."""

    config: NodeConfig
    method: str
    target: str
    body: bytes | None
    headers: dict[str, str]
    timeout: Any


class RecordingNode(BaseNode):
    """A transport node that records every request and answers like an Elasticsearch 8 node."""

    _CLIENT_META_HTTP_CLIENT = ("rec", "1.0")
    sent: ClassVar[list[SentRequest]] = []
    answer: ClassVar[tuple[int, bytes]] = (200, b'{"acknowledged": true}')

    def perform_request(self, method, target, body=None, headers=None, request_timeout=DEFAULT):
        effective = self.config.request_timeout if request_timeout is DEFAULT else request_timeout
        merged = {**self.headers, **(headers or {})}
        RecordingNode.sent.append(SentRequest(self.config, method, target, body, merged, effective))
        meta = ApiResponseMeta(
            status=RecordingNode.answer[0],
            http_version="1.1",
            headers=HttpHeaders({"x-elastic-product": "Elasticsearch", "content-type": "application/json"}),
            duration=0.0,
            node=self.config,
        )
        return NodeApiResponse(meta, RecordingNode.answer[1])


@pytest.fixture
def sent() -> list[SentRequest]:
    """The requests recorded during one test."""
    RecordingNode.sent = []
    RecordingNode.answer = (200, b'{"acknowledged": true}')
    return RecordingNode.sent


def _elasticsearch(**settings: Any) -> ElasticsearchStore:
    return ElasticsearchStore.from_settings(ElasticsearchSettings(**settings), node_class=RecordingNode)


def test_api_key_is_sent_as_apikey_authorization(sent):
    """An api_key setting becomes an ``Authorization: ApiKey`` header on every request."""
    _elasticsearch(url="https://es.example:9243", api_key="c2VjcmV0").refresh("movies")
    assert sent[0].headers["authorization"] == "ApiKey c2VjcmV0"


def test_username_and_password_are_sent_as_basic_auth(sent):
    """Username and password become an HTTP basic ``Authorization`` header."""
    _elasticsearch(url="http://es.example:9200", username="elastic", password="changeme").refresh("movies")
    expected = base64.b64encode(b"elastic:changeme").decode()
    assert sent[0].headers["authorization"] == f"Basic {expected}"


def test_no_credentials_send_no_authorization(sent):
    _elasticsearch(url="http://es.example:9200").refresh("movies")
    assert "authorization" not in sent[0].headers


def test_timeout_from_config_applies_to_each_request(sent):
    """The configured timeout (a duration string in YAML) is the request timeout; a search may set its own."""
    store = _elasticsearch(url="http://es.example:9200", timeout="2500ms")
    store.refresh("movies")
    RecordingNode.answer = (200, b'{"hits": {"hits": []}}')
    store.search("movies", {"query": {"match_all": {}}}, timeout=0.5)
    assert [request.timeout for request in sent] == [pytest.approx(2.5), pytest.approx(0.5)]


def test_zero_timeout_waits_forever(sent):
    _elasticsearch(url="http://es.example:9200", timeout=0).refresh("movies")
    assert sent[0].timeout is None


def test_tls_settings_reach_the_node_config(sent, tmp_path):
    """ca_certs and verify_certs of an https URL configure the node's TLS."""
    bundle = tmp_path / "ca.pem"
    bundle.write_text("-----BEGIN CERTIFICATE-----\n")
    _elasticsearch(url="https://es.example:9243", ca_certs=str(bundle), verify_certs=True).refresh("movies")
    config = sent[0].config
    assert (config.scheme, config.ca_certs, config.verify_certs) == ("https", str(bundle), True)


def test_verification_can_be_turned_off(sent):
    """verify_certs false disables certificate verification without a warning per connection."""
    _elasticsearch(url="https://es.example:9243", verify_certs=False).refresh("movies")
    assert (sent[0].config.verify_certs, sent[0].config.ssl_show_warn) == (False, False)


def test_elasticsearch_gets_its_compatibility_media_types(sent):
    """Real Elasticsearch is sent its vendor media type, the bulk body as NDJSON with external versions."""
    RecordingNode.answer = (200, b'{"errors": false, "items": [{"index": {"_id": "1", "status": 201}}]}')
    store = _elasticsearch(url="http://es.example:9200")
    (item,) = store.bulk([BulkAction("index", "movies", "1", {"title": "Heat"}, 7)], refresh=True)
    request = sent[0]
    assert request.headers["content-type"].startswith("application/vnd.elasticsearch+x-ndjson")
    assert (request.method, request.target) == ("POST", "/_bulk?refresh=true")
    assert request.body == (
        b'{"index":{"_index":"movies","_id":"1","version":7,"version_type":"external"}}\n{"title":"Heat"}\n'
    )
    assert (item.status, item.index) == (201, "movies")


def test_settings_come_from_the_yaml_definition(sent):
    """The elasticsearch section of an index definition, env vars substituted, drives the store."""
    config = parse_config(
        {
            "index": "movies",
            "graph": {"schema_file": "schema.graphql"},
            "query": "query ($id: ID!) { movie(id: $id) { id } }",
            "root": {"type": "Movie"},
            "elasticsearch": {"url": "${ES_URL}", "api_key": "${ES_KEY}", "timeout": "3s", "engine": "elasticsearch"},
        },
        "movies.yaml",
        {"ES_URL": "http://search.internal:9200", "ES_KEY": "a2V5"},
    )
    assert config.elasticsearch.engine == SearchEngine.ELASTICSEARCH
    ElasticsearchStore.from_settings(config.elasticsearch, node_class=RecordingNode).refresh("movies")
    request = sent[0]
    assert (request.config.host, request.headers["authorization"], request.timeout) == (
        "search.internal",
        "ApiKey a2V5",
        3.0,
    )


@pytest.mark.parametrize(
    ("settings", "key"),
    [
        ({"api_key": "k", "username": "u", "password": "p"}, "elasticsearch.api_key"),
        ({"password": "p"}, "elasticsearch.password"),
        ({"ca_certs": "/etc/ssl/ca.pem"}, "elasticsearch.ca_certs"),
        ({"url": "https://es.example:9243", "ca_certs": "/nonexistent/ca.pem"}, "elasticsearch.ca_certs"),
        ({"url": "es.example:9200"}, "elasticsearch.url"),
        ({"api_key": "k", "engine": "opensearch"}, "elasticsearch.api_key"),
    ],
)
def test_unusable_settings_name_the_key(settings, key):
    """Settings that cannot work raise ConfigError naming the offending key, before anything is sent."""
    with pytest.raises(ConfigError) as caught:
        open_search_store(ElasticsearchSettings(**settings))
    assert [problem.where for problem in caught.value.problems] == [key]


def test_plain_json_is_gone_with_a_pointer_to_engine():
    """The removed plain_json key is refused with what to do instead; unknown engines list the choices."""
    base = {"index": "movies", "graph": {"url": "http://g/"}, "query": "{ a }", "root": {"type": "Movie"}}
    with pytest.raises(ConfigError, match=r"plain_json was removed.*engine: opensearch"):
        parse_config({**base, "elasticsearch": {"plain_json": True}}, "movies.yaml", {})
    with pytest.raises(ConfigError, match=r"elasticsearch\.engine: Input should be 'auto', 'elasticsearch' or"):
        parse_config({**base, "elasticsearch": {"engine": "solr"}}, "movies.yaml", {})


def _answers(root: dict[str, Any]):
    def script(method: str, path: str) -> tuple[int, Any]:
        if path == "/":
            return 200, root
        if path.startswith("/_alias/"):
            return 200, {"movies-1": {"aliases": {"movies": {}}}}
        return 404, {"error": "not here", "status": 404}

    return script


def test_auto_opens_opensearch_when_the_server_says_so():
    """engine: auto sends nothing when opened, reads GET / once before the first request and then sends
    every request through the OpenSearch adapter, which sends plain JSON."""
    with stub_search_server(_answers(OPENSEARCH_ROOT)) as (url, seen):
        store = open_search_store(ElasticsearchSettings(url=url, username="admin", password="pw"))
        assert seen == []
        assert store.alias_targets("movies") == ["movies-1"]
        assert store.alias_targets("movies") == ["movies-1"]
        assert isinstance(store, EngineDetectingStore)
        assert isinstance(store.adapter(), OpenSearchStore)
        store.close()
    assert [str(request) for request in seen] == ["GET /", "GET /_alias/movies", "GET /_alias/movies"]
    assert seen[1].headers["authorization"] == "Basic " + base64.b64encode(b"admin:pw").decode()
    assert "vnd.elasticsearch" not in seen[1].headers.get("accept", "")


def test_auto_opens_elasticsearch_otherwise():
    with stub_search_server(_answers(ELASTICSEARCH_ROOT), elasticsearch=True) as (url, seen):
        store = open_search_store(ElasticsearchSettings(url=url))
        assert store.alias_targets("movies") == ["movies-1"]
        assert isinstance(store, EngineDetectingStore)
        assert isinstance(store.adapter(), ElasticsearchStore)
        assert store.info().engine == "elasticsearch"
    assert [str(request) for request in seen][:2] == ["GET /", "GET /_alias/movies"]


def test_auto_refuses_an_api_key_for_opensearch():
    with stub_search_server(_answers(OPENSEARCH_ROOT)) as (url, _), pytest.raises(ConfigError) as caught:
        open_search_store(ElasticsearchSettings(url=url, api_key="a2V5")).refresh("movies")
    assert caught.value.problems[0].where == "elasticsearch.api_key"
    assert "is OpenSearch" in str(caught.value)


def test_auto_names_the_url_when_the_server_cannot_be_asked():
    """An unreachable server is unavailable (retryable) at the first request, and asked again at the next."""
    store = open_search_store(ElasticsearchSettings(url="http://127.0.0.1:9", timeout=1))
    for _ in range(2):
        with pytest.raises(StoreUnavailable, match=r"cannot reach the search server at http://127\.0\.0\.1:9 .*auto"):
            store.count("movies")


def test_the_elasticsearch_adapter_names_the_engine_setting_for_opensearch():
    """An Elasticsearch client pointed at OpenSearch says which setting fixes it."""
    with stub_search_server(_answers(OPENSEARCH_ROOT)) as (url, _):
        store = open_search_store(ElasticsearchSettings(url=url, engine="elasticsearch"))
        with pytest.raises(StoreRejected, match=r"is not Elasticsearch.*elasticsearch\.engine"):
            store.alias_targets("movies")
        assert store.info().engine == "opensearch"


ERRORS = [
    (429, {"error": {"type": "es_rejected_execution_exception", "reason": "queue full"}}, StoreUnavailable),
    (502, {"error": "bad gateway"}, StoreUnavailable),
    (503, {"error": {"type": "unavailable_shards_exception", "reason": "down"}}, StoreUnavailable),
    (403, {"error": {"type": "cluster_block_exception", "reason": "index [m] blocked"}}, StoreUnavailable),
    (401, {"error": {"type": "security_exception", "reason": "missing authentication credentials"}}, StoreAuthFailed),
    (403, {"error": {"type": "security_exception", "reason": "no permissions for [indices:data]"}}, StoreAuthFailed),
    (404, {"error": {"type": "index_not_found_exception", "reason": "no such index [m]"}}, StoreNotFound),
    (409, {"error": {"type": "version_conflict_engine_exception", "reason": "[1]: version conflict"}}, StoreConflict),
    (400, {"error": {"root_cause": [{"type": "parsing_exception", "reason": "unknown query [x]"}]}}, StoreRejected),
]


@pytest.mark.parametrize("engine", ["elasticsearch", "opensearch"])
@pytest.mark.parametrize(("status", "body", "kind"), ERRORS)
def test_each_adapter_translates_failures_at_the_boundary(engine, status, body, kind):
    """Both adapters turn the same answer into the same graphdex error, with the server's reason."""

    def script(method: str, path: str) -> tuple[int, Any]:
        return status, body

    with stub_search_server(script, elasticsearch=True) as (url, _):
        store = open_search_store(ElasticsearchSettings(url=url, engine=engine))
        with pytest.raises(kind) as caught:
            store.search("m", {"query": {"match_all": {}}})
    assert caught.value.status == status
    assert caught.value.request == "POST m/_search"
    error = body["error"]
    reason = error if isinstance(error, str) else (error.get("root_cause") or [error])[0]["reason"]
    assert caught.value.reason == reason
    assert reason in str(caught.value)
