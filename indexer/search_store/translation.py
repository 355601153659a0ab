"""One translation of a search server's failure into graphdex's errors, shared by every adapter.

An adapter catches its client library's exceptions and calls ``answered_error`` (the server answered
with an error status) or ``unreachable_error`` (no answer: connection refused, TLS, timeout).

- ``StoreUnavailable``: no answer, 429, every 5xx, and 403 ``cluster_block_exception`` (an
  ``index.blocks.write``/``read_only`` block or a full disk): backpressure, not a failure;
- ``StoreNotFound``: 404;  ``StoreConflict``: 409;
- ``StoreAuthFailed``: 401, and 403 from the security layer;
- ``StoreRejected``: every other 4xx, with the server's reason.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from schema_gen.errors import (
    StoreAuthFailed,
    StoreConflict,
    StoreError,
    StoreNotFound,
    StoreRejected,
    StoreUnavailable,
)

BLOCKED = "cluster_block_exception"
TIMED_OUT = "timeout"
"""The ``error_type`` of a ``StoreUnavailable`` for a request that got no answer in time."""


def server_reason(body: Any, fallback: str) -> tuple[str | None, str]:
    """The server's error type and its own explanation (the root cause when it gives one)."""
    cause = body.get("error") if isinstance(body, Mapping) else None
    if isinstance(cause, Mapping):
        roots = cause.get("root_cause") or [cause]
        root = roots[0] if isinstance(roots[0], Mapping) else cause
        kind = root.get("type") or cause.get("type")
        return (str(kind) if kind else None), str(root.get("reason") or cause.get("reason") or fallback)
    if isinstance(cause, str) and cause:
        return None, cause
    if isinstance(body, str) and body.strip():
        return None, body.strip()[:500]
    return None, fallback


def answered_error(request: str, url: str, status: int, body: Any, fallback: str) -> StoreError:
    """The error for an answer with HTTP ``status`` >= 400 and error ``body`` to ``request``."""
    error_type, reason = server_reason(body, fallback)
    details = {"request": request, "status": status, "error_type": error_type, "reason": reason}
    said = f"HTTP {status}{' ' + error_type if error_type else ''}: {reason}"
    if status == 429 or status >= 500:
        return StoreUnavailable(
            f"the search server at {url} cannot take {request} now ({said}); retry later", **details
        )
    if status == 403 and error_type == BLOCKED:
        return StoreUnavailable(
            f"the search server at {url} blocks {request} ({reason}): an index.blocks.* setting or a full "
            "disk; writes wait until the block is lifted",
            **details,
        )
    if status == 401:
        return StoreAuthFailed(
            f"the search server at {url} refused the credentials for {request} ({reason}): check "
            "elasticsearch.api_key, or elasticsearch.username and password",
            **details,
        )
    if status == 403:
        return StoreAuthFailed(
            f"the search server at {url} does not allow {request} to these credentials ({reason}): "
            "grant the privilege or use other credentials",
            **details,
        )
    if status == 404:
        return StoreNotFound(f"{request}: not found on the search server at {url} ({reason})", **details)
    if status == 409:
        return StoreConflict(f"{request}: version conflict on the search server at {url} ({reason})", **details)
    return StoreRejected(f"the search server at {url} refused {request} ({said})", **details)


def unreachable_error(request: str, url: str, detail: str, *, timed_out: bool = False) -> StoreUnavailable:
    """The error when ``request`` got no answer from the server at ``url``."""
    if timed_out:
        message = f"the search server at {url} did not answer {request} in time ({detail})"
    else:
        message = f"cannot reach the search server at {url} ({request}): {detail}"
    return StoreUnavailable(message, request=request, reason=detail, error_type=TIMED_OUT if timed_out else None)
