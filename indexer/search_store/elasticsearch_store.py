"""``SearchStore`` over the ``elasticsearch`` (8.x) client, for Elasticsearch clusters.

The client refuses any server that does not say ``X-Elastic-Product: Elasticsearch``; OpenSearch never
does, so it is served by ``OpenSearchStore``. ``info`` still reads such a server's ``GET /`` answer,
which is how ``engine: auto`` tells the two apart with the connection settings the user gave.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from elastic_transport import BaseNode, ConnectionTimeout, TransportError, Urllib3HttpNode
from elasticsearch import ApiError, Elasticsearch, UnsupportedProductError

from indexer.search_store.http_store import HttpSearchStore, RestCall, tls_options
from indexer.search_store.model import EngineInfo, engine_info
from indexer.search_store.translation import answered_error, unreachable_error
from schema_gen.config import ElasticsearchSettings
from schema_gen.errors import ConfigError, Problem, StoreRejected


class ElasticsearchStore(HttpSearchStore):
    """Sends every request through an ``elasticsearch.Elasticsearch`` client."""

    def __init__(self, client: Elasticsearch, url: str) -> None:
        super().__init__(url)
        self._client = client

    @classmethod
    def from_settings(
        cls, settings: ElasticsearchSettings, *, node_class: type[BaseNode] = Urllib3HttpNode
    ) -> ElasticsearchStore:
        """A store for checked connection settings (``indexer.search_store.connection`` checks them).
        ``node_class`` lets tests see what would go over the wire."""
        options: dict[str, Any] = {"request_timeout": settings.timeout or None, "node_class": node_class}
        if settings.api_key:
            options["api_key"] = settings.api_key
        elif settings.username:
            options["basic_auth"] = (settings.username, settings.password or "")
        options.update(tls_options(settings))
        try:
            client = Elasticsearch(settings.url, **options)
        except ValueError as exc:
            raise ConfigError(
                "invalid search server connection settings", [Problem("elasticsearch", str(exc))]
            ) from exc
        return cls(client, settings.url)

    def info(self) -> EngineInfo:
        """What ``GET /`` says, also when the server is not Elasticsearch (then nothing else works)."""
        try:
            return super().info()
        except StoreRejected as error:
            refusal = error.__cause__
            if isinstance(refusal, UnsupportedProductError) and isinstance(refusal.body, Mapping):
                return engine_info(refusal.body)
            raise

    def _perform(self, call: RestCall) -> Any:
        request = call.name
        headers = {"accept": "application/json"}
        if call.body is not None:
            headers["content-type"] = "application/x-ndjson" if call.ndjson else "application/json"
        client = self._client if call.timeout is None else self._client.options(request_timeout=call.timeout)
        try:
            return client.perform_request(
                call.method, call.path, params=call.params, headers=headers, body=call.body
            ).body
        except UnsupportedProductError as error:
            raise self._not_elasticsearch(request, "it does not send X-Elastic-Product: Elasticsearch") from error
        except ApiError as error:
            if error.meta.status == 406 and "compatible-with" in str(error.body):
                # OpenSearch refuses the client's Elasticsearch media type before anything else
                raise self._not_elasticsearch(request, "it refuses Elasticsearch's media type") from error
            raise answered_error(request, self.url, error.meta.status, error.body, error.message) from error
        except ConnectionTimeout as error:
            raise unreachable_error(request, self.url, error.message, timed_out=True) from error
        except TransportError as error:
            raise unreachable_error(request, self.url, error.message) from error

    def _not_elasticsearch(self, request: str, why: str) -> StoreRejected:
        return StoreRejected(
            f"the server at {self.url} is not Elasticsearch ({why}): set elasticsearch.engine to opensearch, "
            "or to auto",
            request=request,
        )

    def close(self) -> None:
        self._client.close()
