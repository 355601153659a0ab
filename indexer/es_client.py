"""The one place graphdex builds Elasticsearch clients.

``plain_json`` makes the client send ``application/json`` instead of the vendor media type
``application/vnd.elasticsearch+json; compatible-with=8``, which OpenSearch and osmem-server reject.
It is done in the transport node (``PlainJsonNode``), so every API call and helper is covered.
"""

from __future__ import annotations

import re
from typing import Any

from elastic_transport import ApiResponseMeta, HttpHeaders, Urllib3HttpNode
from elasticsearch import Elasticsearch

from schema_gen.config import ElasticsearchSettings

_VENDOR_MEDIA_TYPE = re.compile(r"application/vnd\.elasticsearch\+([\w-]+)(?:\s*;\s*compatible-with=\d+)?")


def plain_media_type(value: str) -> str:
    """``application/vnd.elasticsearch+json; compatible-with=8`` -> ``application/json``."""
    return _VENDOR_MEDIA_TYPE.sub(r"application/\1", value)


class PlainJsonNode(Urllib3HttpNode):
    """An HTTP node that rewrites vendor media types in Accept and Content-Type to plain ones."""

    def perform_request(  # type: ignore[override]
        self,
        method: str,
        target: str,
        body: bytes | None = None,
        headers: HttpHeaders | None = None,
        request_timeout: Any = None,
    ) -> tuple[ApiResponseMeta, bytes]:
        if headers:
            headers = HttpHeaders(headers)
            for name in ("accept", "content-type"):
                if name in headers:
                    headers[name] = plain_media_type(headers[name])
        return super().perform_request(  # type: ignore[no-any-return]
            method, target, body=body, headers=headers, request_timeout=request_timeout
        )


def build_client(settings: ElasticsearchSettings) -> Elasticsearch:
    """An Elasticsearch client for ``settings``: auth, TLS, timeouts and the media-type option."""
    options: dict[str, Any] = {"request_timeout": settings.timeout}
    if settings.plain_json:
        options["node_class"] = PlainJsonNode
    if settings.api_key:
        options["api_key"] = settings.api_key
    elif settings.username:
        options["basic_auth"] = (settings.username, settings.password or "")
    if settings.url.startswith("https"):
        options["verify_certs"] = settings.verify_certs
        if settings.ca_certs:
            options["ca_certs"] = settings.ca_certs
    return Elasticsearch(settings.url, **options)
