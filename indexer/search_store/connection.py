"""Opening the search store a definition's ``elasticsearch`` section describes.

* ``engine``: ``elasticsearch`` (the ``elasticsearch`` 8.x client), ``opensearch`` (``opensearch-py``)
  or ``auto`` (the default): ``GET /`` once, before the first request; ``version.distribution:
  opensearch`` means OpenSearch, anything else Elasticsearch.
* Auth: ``api_key`` (Elasticsearch only, sent as ``Authorization: ApiKey ...``) or ``username`` and
  ``password`` (basic auth); not both.
* TLS (``https://`` URLs only): ``ca_certs`` (a CA bundle file or folder) and ``verify_certs``.
* ``timeout``: seconds each request may take (``0`` waits forever).

Settings that cannot work raise ``ConfigError`` naming the key, before anything is sent.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from indexer.search_store.elasticsearch_store import ElasticsearchStore
from indexer.search_store.http_store import HttpSearchStore, RestCall
from indexer.search_store.model import SearchStore
from indexer.search_store.opensearch_store import OpenSearchStore
from schema_gen.config import ElasticsearchSettings, SearchEngine
from schema_gen.errors import ConfigError, Problem, StoreError


def connection_problems(settings: ElasticsearchSettings) -> list[Problem]:
    """What cannot work in the connection settings, each naming its key."""
    problems: list[Problem] = []
    url = urlsplit(settings.url)
    if url.scheme not in ("http", "https") or not url.hostname:
        problems.append(Problem("elasticsearch.url", f"expected http(s)://host[:port], got {settings.url!r}"))
    if settings.api_key and (settings.username or settings.password):
        problems.append(Problem("elasticsearch.api_key", "give either api_key or username and password, not both"))
    if settings.api_key and settings.engine == SearchEngine.OPENSEARCH:
        problems.append(
            Problem("elasticsearch.api_key", "OpenSearch takes no Elasticsearch API keys: give username and password")
        )
    if settings.password and not settings.username:
        problems.append(Problem("elasticsearch.password", "a password needs a username"))
    if settings.ca_certs:
        if url.scheme != "https":
            problems.append(Problem("elasticsearch.ca_certs", "only used with an https:// url"))
        elif not Path(settings.ca_certs).exists():
            problems.append(Problem("elasticsearch.ca_certs", f"no such file or folder: {settings.ca_certs}"))
    return problems


def open_search_store(settings: ElasticsearchSettings) -> SearchStore:
    """The store for ``settings``: the engine's adapter, with auth, TLS and timeouts.

    Raises ``ConfigError`` naming the key when the settings cannot work. Sends nothing: with
    ``engine: auto`` the first request asks ``GET /`` first (a ``StoreError`` naming the URL when
    that fails; the next request asks again)."""
    problems = connection_problems(settings)
    if problems:
        raise ConfigError("invalid search server connection settings", problems)
    if settings.engine == SearchEngine.OPENSEARCH:
        return OpenSearchStore.from_settings(settings)
    if settings.engine == SearchEngine.ELASTICSEARCH:
        return ElasticsearchStore.from_settings(settings)
    return EngineDetectingStore(settings)


class EngineDetectingStore(HttpSearchStore):
    """``engine: auto``: asks the server which engine it is on the first request, then sends every request
    through that engine's adapter."""

    def __init__(self, settings: ElasticsearchSettings) -> None:
        super().__init__(settings.url)
        self._settings = settings
        self._adapter: HttpSearchStore | None = None
        self._lock = threading.Lock()

    def adapter(self) -> HttpSearchStore:
        """The adapter of the server's engine, asking ``GET /`` the first time."""
        with self._lock:
            if self._adapter is None:
                self._adapter = _detected_adapter(self._settings)
            return self._adapter

    def _perform(self, call: RestCall) -> Any:
        return self.adapter()._perform(call)

    def close(self) -> None:
        with self._lock:
            if self._adapter is not None:
                self._adapter.close()
            self._adapter = None


def _detected_adapter(settings: ElasticsearchSettings) -> HttpSearchStore:
    elasticsearch = ElasticsearchStore.from_settings(settings)
    try:
        found = elasticsearch.info()
    except StoreError as error:
        elasticsearch.close()
        raise type(error)(
            f"{error} (elasticsearch.engine: auto asks GET / whether this is Elasticsearch or OpenSearch; "
            "set elasticsearch.engine to skip the question)",
            request=error.request,
            status=error.status,
            error_type=error.error_type,
            reason=error.reason,
        ) from error
    if found.engine == "elasticsearch":
        return elasticsearch
    elasticsearch.close()
    return OpenSearchStore.from_settings(settings)
