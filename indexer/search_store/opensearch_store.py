"""``SearchStore`` over the ``opensearch-py`` client, for OpenSearch clusters.

OpenSearch has no Elasticsearch API keys: ``elasticsearch.api_key`` is refused for it (give
``username`` and ``password``). It takes plain ``application/json``, which opensearch-py sends.
"""

from __future__ import annotations

from typing import Any

from opensearchpy import OpenSearch
from opensearchpy.exceptions import ConnectionError as OpenSearchConnectionError
from opensearchpy.exceptions import ConnectionTimeout, ImproperlyConfigured, TransportError

from indexer.search_store.http_store import HttpSearchStore, RestCall, tls_options
from indexer.search_store.translation import answered_error, unreachable_error
from schema_gen.config import ElasticsearchSettings
from schema_gen.errors import ConfigError, Problem


class OpenSearchStore(HttpSearchStore):
    """Sends every request through an ``opensearchpy.OpenSearch`` client's transport."""

    def __init__(self, client: OpenSearch, url: str) -> None:
        super().__init__(url)
        self._client = client

    @classmethod
    def from_settings(cls, settings: ElasticsearchSettings) -> OpenSearchStore:
        """A store for checked connection settings (``indexer.search_store.connection`` checks them)."""
        if settings.api_key:
            raise ConfigError(
                "invalid search server connection settings",
                [
                    Problem(
                        "elasticsearch.api_key",
                        f"{settings.url} is OpenSearch, which takes no Elasticsearch API keys: "
                        "give username and password",
                    )
                ],
            )
        options: dict[str, Any] = {"timeout": settings.timeout or None}
        if settings.username:
            options["http_auth"] = (settings.username, settings.password or "")
        options.update(tls_options(settings))
        try:
            client = OpenSearch([settings.url], **options)
        except (ValueError, ImproperlyConfigured) as exc:
            raise ConfigError(
                "invalid search server connection settings", [Problem("elasticsearch", str(exc))]
            ) from exc
        return cls(client, settings.url)

    def _perform(self, call: RestCall) -> Any:
        request = call.name
        query: dict[str, Any] = dict(call.params or {})
        if call.timeout is not None:
            query["request_timeout"] = call.timeout
        headers = {"content-type": "application/x-ndjson"} if call.ndjson else None
        try:
            return self._client.transport.perform_request(
                call.method, call.path, params=query or None, body=call.body, headers=headers
            )
        except ConnectionTimeout as error:
            raise unreachable_error(request, self.url, _detail(error), timed_out=True) from error
        except OpenSearchConnectionError as error:
            raise unreachable_error(request, self.url, _detail(error)) from error
        except TransportError as error:
            status = error.status_code
            if not isinstance(status, int):
                raise unreachable_error(request, self.url, _detail(error)) from error
            raise answered_error(request, self.url, status, error.info, str(error.error)) from error

    def close(self) -> None:
        self._client.close()


def _detail(error: TransportError) -> str:
    """What went wrong on the way, without the client's ``ConnectionError(...)`` wrapping."""
    cause = error.info if isinstance(error.info, Exception) else None
    return str(cause or error.error)
