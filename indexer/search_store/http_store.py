"""The ``SearchStore`` operations as REST requests, shared by the Elasticsearch and OpenSearch adapters.

Both engines speak the same REST API for everything graphdex does, so each operation is written once
here as a method, a path, query parameters and a body. An adapter supplies ``_perform`` (send it with
its client library) and turns that library's exceptions into ``StoreError``s at the boundary.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import structlog

from indexer.search_store.model import (
    BulkAction,
    BulkItemResult,
    EngineInfo,
    IndexDescription,
    StoredDocument,
    encode_bulk,
    engine_info,
    read_bulk_items,
    stored_document,
)
from schema_gen.config import ElasticsearchSettings
from schema_gen.errors import StoreNotFound, StoreRejected

_log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class RestCall:
    """One REST request to the search engine, as every adapter sends it."""

    method: str
    path: str
    params: Mapping[str, str] | None = None
    body: Any = None
    ndjson: bool = False
    """The body is newline-delimited JSON (``_bulk``)."""
    timeout: float | None = None
    """Seconds for this request; None: the connection's timeout."""

    @property
    def name(self) -> str:
        """How messages name the request: ``PUT movies-1``, ``POST _bulk``."""
        return f"{self.method} {self.path.lstrip('/') or '/'}"


def tls_options(settings: ElasticsearchSettings) -> dict[str, Any]:
    """The TLS options both client libraries take, for an ``https://`` URL (none for ``http://``)."""
    if not settings.url.startswith("https"):
        return {}
    options: dict[str, Any] = {"verify_certs": settings.verify_certs}
    if settings.ca_certs:
        options["ca_certs"] = settings.ca_certs
    if not settings.verify_certs:
        options["ssl_show_warn"] = False  # said once here, not as a warning on every connection
        _log.warning("search server TLS certificates are not verified", url=settings.url)
    return options


def path_part(name: str) -> str:
    """An index, alias or template name (or a comma-separated wildcard pattern) in a URL path."""
    return quote(name, safe=",*")


class HttpSearchStore(ABC):
    """``SearchStore`` over a client library that can send a REST request."""

    def __init__(self, url: str) -> None:
        self._url = url

    @property
    def url(self) -> str:
        return self._url

    @abstractmethod
    def _perform(self, call: RestCall) -> Any:
        """Send ``call`` and return the parsed answer; raise ``StoreError`` (never the library's own
        exceptions) when there is no answer or the answer is an error."""

    @abstractmethod
    def close(self) -> None: ...

    def _send(self, method: str, path: str, **options: Any) -> Any:
        return self._perform(RestCall(method, path, **options))

    def info(self) -> EngineInfo:
        return engine_info(self._send("GET", "/"))

    # -- index templates ------------------------------------------------------------------------

    def get_index_template(self, name: str) -> dict[str, Any] | None:
        try:
            answer = self._send("GET", f"/_index_template/{path_part(name)}")
        except StoreNotFound:
            return None
        for entry in answer.get("index_templates", []):
            if entry.get("name") == name:
                template: dict[str, Any] = entry["index_template"]
                return template
        return None

    def put_index_template(self, name: str, body: Mapping[str, Any]) -> None:
        self._send("PUT", f"/_index_template/{path_part(name)}", body=dict(body))

    def delete_index_template(self, name: str) -> None:
        self._send("DELETE", f"/_index_template/{path_part(name)}")

    # -- indexes --------------------------------------------------------------------------------

    def create_index(
        self,
        name: str,
        *,
        settings: Mapping[str, Any] | None = None,
        mappings: Mapping[str, Any] | None = None,
        aliases: Sequence[str] = (),
    ) -> None:
        body: dict[str, Any] = {}
        if settings is not None:
            body["settings"] = dict(settings)
        if mappings is not None:
            body["mappings"] = dict(mappings)
        if aliases:
            body["aliases"] = {alias: {} for alias in aliases}
        self._send("PUT", f"/{path_part(name)}", body=body)

    def delete_index(self, name: str) -> None:
        self._send("DELETE", f"/{path_part(name)}")

    def get_indices(self, pattern: str) -> dict[str, IndexDescription]:
        params = {"flat_settings": "true", "allow_no_indices": "true", "expand_wildcards": "open,closed"}
        try:
            answer = self._send("GET", f"/{path_part(pattern)}", params=params)
        except StoreNotFound:
            return {}
        return {
            name: IndexDescription(
                aliases=dict(found.get("aliases") or {}),
                mappings=dict(found.get("mappings") or {}),
                settings=dict(found.get("settings") or {}),
            )
            for name, found in answer.items()
        }

    def put_index_settings(self, name: str, settings: Mapping[str, Any]) -> None:
        self._send("PUT", f"/{path_part(name)}/_settings", body=dict(settings))

    def put_mapping(self, name: str, mappings: Mapping[str, Any]) -> None:
        self._send("PUT", f"/{path_part(name)}/_mapping", body=dict(mappings))

    def refresh(self, index: str) -> None:
        self._send("POST", f"/{path_part(index)}/_refresh")

    # -- aliases --------------------------------------------------------------------------------

    def alias_targets(self, alias: str) -> list[str]:
        try:
            answer = self._send("GET", f"/_alias/{path_part(alias)}")
        except StoreNotFound:
            return []
        return sorted(answer)

    def update_aliases(self, actions: Sequence[Mapping[str, Any]]) -> None:
        self._send("POST", "/_aliases", body={"actions": [dict(action) for action in actions]})

    # -- documents ------------------------------------------------------------------------------

    def bulk(self, actions: Sequence[BulkAction], *, refresh: bool = False) -> list[BulkItemResult]:
        if not actions:
            return []
        params = {"refresh": "true"} if refresh else None
        answer = self._send("POST", "/_bulk", params=params, body=encode_bulk(actions), ndjson=True)
        try:
            return read_bulk_items(actions, answer)
        except ValueError as error:
            raise StoreRejected(f"the search server at {self.url} answered POST _bulk oddly: {error}") from None

    def mget(
        self, index: str, ids: Sequence[str], *, source_includes: Sequence[str] | None = None
    ) -> dict[str, StoredDocument]:
        if not ids:
            return {}
        params = {"realtime": "true"}
        if source_includes is not None:
            params["_source_includes"] = ",".join(source_includes)
        answer = self._send("POST", f"/{path_part(index)}/_mget", params=params, body={"ids": list(ids)})
        return {doc["_id"]: stored_document(doc) for doc in answer.get("docs", ()) if doc.get("found")}

    def search(self, index: str, body: Mapping[str, Any], *, timeout: float | None = None) -> dict[str, Any]:
        answer: dict[str, Any] = self._send("POST", f"/{path_part(index)}/_search", body=dict(body), timeout=timeout)
        return answer

    def count(self, index: str, query: Mapping[str, Any] | None = None) -> int:
        body = {"query": dict(query)} if query is not None else None
        return int(self._send("POST", f"/{path_part(index)}/_count", body=body)["count"])
