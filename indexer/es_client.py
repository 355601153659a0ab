"""The one place graphdex builds Elasticsearch clients, from the ``elasticsearch`` section of a config.

* Auth: ``api_key`` (the encoded key, sent as ``Authorization: ApiKey ...``) or ``username`` and
  ``password`` (basic auth); not both.
* TLS (``https://`` URLs only): ``ca_certs`` (a CA bundle file or folder) and ``verify_certs``.
* ``timeout``: seconds each request may take (``0`` waits forever).
* ``plain_json`` makes the client send ``application/json`` instead of the vendor media type
  ``application/vnd.elasticsearch+json; compatible-with=8``, which OpenSearch and osmem-server reject.
  It is done in the transport node (``PlainJsonMixin``), so every API call and helper is covered.

``build_client`` takes the node class as a keyword so tests can pass a recording node and inspect
exactly what would go over the wire.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import structlog
from elastic_transport import BaseNode, HttpHeaders, Urllib3HttpNode
from elastic_transport.client_utils import DEFAULT, DefaultType
from elasticsearch import ApiError, Elasticsearch

from schema_gen.config import ElasticsearchSettings
from schema_gen.errors import ConfigError, Problem

_VENDOR_MEDIA_TYPE = re.compile(r"application/vnd\.elasticsearch\+([\w-]+)(?:\s*;\s*compatible-with=\d+)?")
_log = structlog.get_logger(__name__)


def plain_media_type(value: str) -> str:
    """``application/vnd.elasticsearch+json; compatible-with=8`` -> ``application/json``."""
    return _VENDOR_MEDIA_TYPE.sub(r"application/\1", value)


class PlainJsonMixin(BaseNode):
    """Put before an HTTP node class: rewrites vendor media types in Accept and Content-Type to plain ones."""

    def perform_request(  # type: ignore[override]
        self,
        method: str,
        target: str,
        body: bytes | None = None,
        headers: HttpHeaders | None = None,
        request_timeout: DefaultType | float | None = DEFAULT,
    ) -> Any:
        if headers:
            headers = HttpHeaders(headers)
            for name in ("accept", "content-type"):
                if name in headers:
                    headers[name] = plain_media_type(headers[name])
        return super().perform_request(method, target, body=body, headers=headers, request_timeout=request_timeout)


class PlainJsonNode(PlainJsonMixin, Urllib3HttpNode):
    """The default HTTP node with plain JSON media types."""


def _plain_json(node_class: type[BaseNode]) -> type[BaseNode]:
    if issubclass(node_class, PlainJsonMixin):
        return node_class
    if node_class is Urllib3HttpNode:
        return PlainJsonNode
    return type(f"PlainJson{node_class.__name__}", (PlainJsonMixin, node_class), {})


def _problems(settings: ElasticsearchSettings) -> list[Problem]:
    """What cannot work in the connection settings, each naming its key."""
    problems: list[Problem] = []
    url = urlsplit(settings.url)
    if url.scheme not in ("http", "https") or not url.hostname:
        problems.append(Problem("elasticsearch.url", f"expected http(s)://host[:port], got {settings.url!r}"))
    if settings.api_key and (settings.username or settings.password):
        problems.append(Problem("elasticsearch.api_key", "give either api_key or username and password, not both"))
    if settings.password and not settings.username:
        problems.append(Problem("elasticsearch.password", "a password needs a username"))
    if settings.ca_certs:
        if url.scheme != "https":
            problems.append(Problem("elasticsearch.ca_certs", "only used with an https:// url"))
        elif not Path(settings.ca_certs).exists():
            problems.append(Problem("elasticsearch.ca_certs", f"no such file or folder: {settings.ca_certs}"))
    return problems


def build_client(settings: ElasticsearchSettings, *, node_class: type[BaseNode] = Urllib3HttpNode) -> Elasticsearch:
    """An Elasticsearch client for ``settings``: auth, TLS, timeouts and the media-type option.

    Raises ``ConfigError`` naming the key when the settings cannot work (both auth kinds, a CA bundle
    for an http:// URL, a missing CA file, a malformed URL).
    """
    problems = _problems(settings)
    if problems:
        raise ConfigError("invalid Elasticsearch connection settings", problems)
    options: dict[str, Any] = {
        "request_timeout": settings.timeout or None,
        "node_class": _plain_json(node_class) if settings.plain_json else node_class,
    }
    if settings.api_key:
        options["api_key"] = settings.api_key
    elif settings.username:
        options["basic_auth"] = (settings.username, settings.password or "")
    if settings.url.startswith("https"):
        options["verify_certs"] = settings.verify_certs
        if settings.ca_certs:
            options["ca_certs"] = settings.ca_certs
        if not settings.verify_certs:
            options["ssl_show_warn"] = False  # said once here, not as a warning on every connection
            _log.warning("elasticsearch TLS certificates are not verified", url=settings.url)
    try:
        return Elasticsearch(settings.url, **options)
    except ValueError as exc:
        raise ConfigError("invalid Elasticsearch connection settings", [Problem("elasticsearch", str(exc))]) from exc


def server_reason(error: ApiError) -> str:
    """The search server's own explanation of an error response (its root cause when it gives one)."""
    info = error.info if isinstance(error.info, Mapping) else {}
    cause = info.get("error")
    if isinstance(cause, Mapping):
        root = (cause.get("root_cause") or [cause])[0]
        return str(root.get("reason") or cause.get("reason") or error.message)
    return str(error.message)
