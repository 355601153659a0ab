"""The Elasticsearch client factory: what a client built from settings would send, seen by a recording node."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any, ClassVar

import pytest
from elastic_transport import ApiResponseMeta, BaseNode, HttpHeaders, NodeConfig
from elastic_transport._node._base import NodeApiResponse
from elastic_transport.client_utils import DEFAULT

from indexer.es_client import PlainJsonNode, build_client, plain_media_type
from schema_gen.config import ElasticsearchSettings, parse_config
from schema_gen.errors import ConfigError


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

    def perform_request(self, method, target, body=None, headers=None, request_timeout=DEFAULT):
        effective = self.config.request_timeout if request_timeout is DEFAULT else request_timeout
        merged = {**self.headers, **(headers or {})}
        RecordingNode.sent.append(SentRequest(self.config, method, target, body, merged, effective))
        meta = ApiResponseMeta(
            status=200,
            http_version="1.1",
            headers=HttpHeaders({"x-elastic-product": "Elasticsearch", "content-type": "application/json"}),
            duration=0.0,
            node=self.config,
        )
        return NodeApiResponse(meta, b'{"acknowledged": true}')


@pytest.fixture
def sent() -> list[SentRequest]:
    """The requests recorded during one test."""
    RecordingNode.sent = []
    return RecordingNode.sent


def _client(**settings: Any):
    return build_client(ElasticsearchSettings(**settings), node_class=RecordingNode)


def test_api_key_is_sent_as_apikey_authorization(sent):
    """An api_key setting becomes an ``Authorization: ApiKey`` header on every request."""
    _client(url="https://es.example:9243", api_key="c2VjcmV0").info()
    assert sent[0].headers["authorization"] == "ApiKey c2VjcmV0"


def test_username_and_password_are_sent_as_basic_auth(sent):
    """Username and password become an HTTP basic ``Authorization`` header."""
    _client(url="http://es.example:9200", username="elastic", password="changeme").info()
    expected = base64.b64encode(b"elastic:changeme").decode()
    assert sent[0].headers["authorization"] == f"Basic {expected}"


def test_no_credentials_send_no_authorization(sent):
    """Without credentials no Authorization header is sent."""
    _client(url="http://es.example:9200").info()
    assert "authorization" not in sent[0].headers


def test_timeout_from_config_applies_to_each_request(sent):
    """The configured timeout (a duration string in YAML) is the request timeout."""
    _client(url="http://es.example:9200", timeout="2500ms").indices.exists(index="movies")
    assert sent[0].timeout == pytest.approx(2.5)


def test_zero_timeout_waits_forever(sent):
    """A timeout of 0 disables the request timeout."""
    _client(url="http://es.example:9200", timeout=0).info()
    assert sent[0].timeout is None


def test_tls_settings_reach_the_node_config(sent, tmp_path):
    """ca_certs and verify_certs of an https URL configure the node's TLS."""
    bundle = tmp_path / "ca.pem"
    bundle.write_text("-----BEGIN CERTIFICATE-----\n")
    _client(url="https://es.example:9243", ca_certs=str(bundle), verify_certs=True).info()
    config = sent[0].config
    assert (config.scheme, config.ca_certs, config.verify_certs) == ("https", str(bundle), True)


def test_verification_can_be_turned_off(sent):
    """verify_certs false disables certificate verification without a warning per connection."""
    _client(url="https://es.example:9243", verify_certs=False).info()
    assert (sent[0].config.verify_certs, sent[0].config.ssl_show_warn) == (False, False)


def test_default_sends_the_vendor_media_type(sent):
    """Without plain_json the client sends Elasticsearch's compatibility media type."""
    _client(url="http://es.example:9200").indices.create(index="movies", mappings={"properties": {}})
    assert sent[0].headers["content-type"].startswith("application/vnd.elasticsearch+json")


def test_plain_json_rewrites_accept_and_content_type(sent):
    """plain_json sends application/json in both Accept and Content-Type, body unchanged."""
    _client(url="http://es.example:9200", plain_json=True).indices.create(index="movies", mappings={"properties": {}})
    request = sent[0]
    assert (request.headers["accept"], request.headers["content-type"]) == ("application/json", "application/json")
    assert (request.method, request.target, request.body) == ("PUT", "/movies", b'{"mappings":{"properties":{}}}')


def test_plain_json_covers_ndjson_bulk_bodies(sent):
    """The bulk API's x-ndjson vendor type becomes plain application/x-ndjson."""
    client = _client(url="http://es.example:9200", plain_json=True)
    client.bulk(operations=[{"index": {"_index": "movies", "_id": "1"}}, {"title": "Heat"}])
    assert sent[0].headers["content-type"] == "application/x-ndjson"


def test_default_node_with_plain_json_is_the_urllib3_node():
    """The real client uses urllib3 with the plain-JSON rewrite when asked."""
    client = build_client(ElasticsearchSettings(url="http://127.0.0.1:9", plain_json=True))
    node = next(iter(client.transport.node_pool.all()))
    assert isinstance(node, PlainJsonNode)


def test_settings_come_from_the_yaml_definition(sent):
    """The elasticsearch section of an index definition, env vars substituted, drives the client."""
    config = parse_config(
        {
            "index": "movies",
            "graph": {"schema_file": "schema.graphql"},
            "query": "query ($id: ID!) { movie(id: $id) { id } }",
            "root": {"type": "Movie"},
            "elasticsearch": {"url": "${ES_URL}", "api_key": "${ES_KEY}", "timeout": "3s", "plain_json": True},
        },
        "movies.yaml",
        {"ES_URL": "http://search.internal:9200", "ES_KEY": "a2V5"},
    )
    build_client(config.elasticsearch, node_class=RecordingNode).info()
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
    ],
)
def test_unusable_settings_name_the_key(settings, key):
    """Settings that cannot work raise ConfigError naming the offending key."""
    with pytest.raises(ConfigError) as caught:
        build_client(ElasticsearchSettings(**settings), node_class=RecordingNode)
    assert [problem.where for problem in caught.value.problems] == [key]


@pytest.mark.parametrize(
    ("vendor", "plain"),
    [
        ("application/vnd.elasticsearch+json; compatible-with=8", "application/json"),
        ("application/vnd.elasticsearch+x-ndjson;compatible-with=8", "application/x-ndjson"),
        ("application/json", "application/json"),
    ],
)
def test_plain_media_type(vendor, plain):
    """Vendor media types map to their plain equivalents; plain ones are left alone."""
    assert plain_media_type(vendor) == plain


@pytest.mark.integration
def test_plain_json_client_talks_to_the_search_server(es_client, unique_name):
    """A plain-JSON client creates, fills and searches an index on osmem-server."""
    es_client.indices.create(index=unique_name, mappings={"properties": {"title": {"type": "text"}}})
    es_client.bulk(operations=[{"index": {"_index": unique_name, "_id": "1"}}, {"title": "Heat"}], refresh=True)
    hits = es_client.search(index=unique_name, query={"match": {"title": "heat"}})["hits"]["hits"]
    assert [hit["_id"] for hit in hits] == ["1"]
