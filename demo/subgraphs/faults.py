"""Fault injection for resilience tests: chosen entities fail, either alone or taking their request down.

Off by default. A subgraph that supports it (the movies subgraph) serves ``/faults`` only when it is
started with ``--fault-injection`` (or ``GRAPHDEX_DEMO_FAULTS=1`` in its environment), and even then
nothing fails until asked. Like every demo server it listens on 127.0.0.1.

    POST   /faults   {"movieIds": ["movie-000007"]}                     these fail from now on, per entity
    POST   /faults   {"movieIds": ["movie-000007"], "mode": "request"}  these fail every request asking for them
    DELETE /faults                                                       nothing fails any more
    GET    /faults   what fails now: {"movieIds": [...]}, plus "requestMode": [...] when some fail whole requests

``POST`` adds to what already fails (an id posted again takes the new mode). The two modes are the two
ways one bad entity shows itself to a client such as graphdex's fetcher:

* ``entity`` (the default): the failing entity is an error at its own path (``movies[3]``, its list item
  null) with ``extensions.code`` ``INJECTED_FAULT``: one document's GraphQL error, retryable, while the
  rest of the batch is fine;
* ``request``: the subgraph answers HTTP 500 to any request that asks for the entity (as a service that
  crashes on one record does), so the gateway reports a subgraph error without a document path and the
  whole batch fails with it: the fetcher has to find the culprit by splitting the batch.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from graphql import ExecutionResult, GraphQLError
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from demo.subgraphs.common_schema import SubgraphSchema

if TYPE_CHECKING:
    from demo.subgraphs.store import CapturedStore

FAULT_CODE = "INJECTED_FAULT"
ENVIRONMENT_VARIABLE = "GRAPHDEX_DEMO_FAULTS"


class FaultMode(StrEnum):
    """How a failing entity fails (the ``mode`` of ``POST /faults``)."""

    ENTITY = "entity"
    """An error at the entity's own path; the rest of the request is answered."""
    REQUEST = "request"
    """Every request asking for the entity fails as a whole with HTTP 500."""


class RequestFault(GraphQLError):
    """Raised by a resolver asked for an entity failing in request mode; ``FaultInjectingSchema`` turns the
    whole response into HTTP 500 (a resolver cannot set the HTTP status itself)."""


class EntityFaults:
    """The ids of one entity kind that fail now, with their mode; shared by the admin routes and the
    resolvers."""

    def __init__(self, entity: str, ids_key: str) -> None:
        self.entity = entity
        self.ids_key = ids_key
        self._lock = threading.Lock()
        self._failing: dict[str, FaultMode] = {}

    def fail(self, ids: Iterable[str], mode: FaultMode = FaultMode.ENTITY) -> None:
        with self._lock:
            self._failing.update(dict.fromkeys(ids, mode))

    def clear(self) -> None:
        with self._lock:
            self._failing.clear()

    def failing(self, mode: FaultMode | None = None) -> list[str]:
        """The failing ids (of ``mode`` only, if given), sorted."""
        with self._lock:
            return sorted(entity_id for entity_id, its in self._failing.items() if mode in (None, its))

    def error_for(self, entity_id: str) -> GraphQLError | None:
        """The error to report for ``entity_id`` instead of the entity, or None when it does not fail in
        entity mode."""
        with self._lock:
            if self._failing.get(entity_id) is not FaultMode.ENTITY:
                return None
        return GraphQLError(
            f"{self.entity} {entity_id} fails on purpose (fault injection; DELETE /faults clears it)",
            extensions={"code": FAULT_CODE},
        )

    def check_request(self, ids: Iterable[str]) -> None:
        """Raise ``RequestFault`` when any of ``ids`` fails in request mode: the whole request must fail."""
        with self._lock:
            culprit = next((entity_id for entity_id in ids if self._failing.get(entity_id) is FaultMode.REQUEST), None)
        if culprit is not None:
            raise RequestFault(
                f"{self.entity} {culprit} fails the whole request on purpose (fault injection, mode request; "
                "DELETE /faults clears it)",
                extensions={"code": FAULT_CODE},
            )


def _whole_request_failure(message: str) -> Exception:
    """An exception that makes the subgraph answer HTTP 500: strawberry's ASGI view answers a
    ``cross_web.HTTPException`` with its status and reason as plain text. Without cross_web (older
    strawberry releases) an ordinary exception leaves the app and Starlette answers a bare 500."""
    try:
        from cross_web import HTTPException
    except ImportError:  # pragma: no cover - depends on the installed strawberry
        return RuntimeError(message)
    return HTTPException(500, message)


class FaultInjectingSchema(SubgraphSchema):
    """A subgraph schema whose responses fail as a whole (HTTP 500) when a resolver raised ``RequestFault``.

    GraphQL execution turns every resolver exception into an error next to the data; only here, after
    execution, can the subgraph still refuse to answer at all."""

    async def execute(self, *args: Any, **kwargs: Any) -> ExecutionResult:
        result = await super().execute(*args, **kwargs)
        faults = [
            error.original_error for error in result.errors or [] if isinstance(error.original_error, RequestFault)
        ]
        if faults:
            raise _whole_request_failure(str(faults[0]))
        return result


@dataclass(frozen=True)
class FaultInjection:
    """How a subgraph supports fault injection: which entities fail, and its request context with them."""

    entity: str
    """Named in error messages (``movie``)."""
    ids_key: str
    """The JSON key of ``POST /faults`` (``movieIds``)."""
    context: Callable[[CapturedStore, EntityFaults], object]
    """The subgraph's per-request context, with the faults its resolvers consult."""

    def faults(self) -> EntityFaults:
        return EntityFaults(self.entity, self.ids_key)


def _fault_request(body: Any, ids_key: str) -> tuple[list[str], FaultMode] | str:
    """The ids and mode of a ``POST /faults`` body, or what is wrong with it."""
    modes = " | ".join(f'"{mode}"' for mode in FaultMode)
    expected = f'expected a JSON object {{"{ids_key}": ["id", ...], "mode": {modes} (optional)}}'
    ids = body.get(ids_key) if isinstance(body, dict) else None
    if not isinstance(ids, list) or not all(isinstance(entity_id, str) for entity_id in ids):
        return expected
    assert isinstance(body, dict)
    mode = body.get("mode", FaultMode.ENTITY.value)
    if mode not in {m.value for m in FaultMode}:
        return f"unknown mode {mode!r}: {expected}"
    return ids, FaultMode(mode)


def fault_routes(faults: EntityFaults) -> list[Route]:
    """``GET``, ``POST`` and ``DELETE`` on ``/faults``."""

    def current() -> JSONResponse:
        shown: dict[str, list[str]] = {faults.ids_key: faults.failing()}
        whole_request = faults.failing(FaultMode.REQUEST)
        if whole_request:
            shown["requestMode"] = whole_request
        return JSONResponse(shown)

    async def show(_request: Request) -> JSONResponse:
        return current()

    async def add(request: Request) -> JSONResponse:
        try:
            body = await request.json()
        except ValueError:
            body = None
        parsed = _fault_request(body, faults.ids_key)
        if isinstance(parsed, str):
            return JSONResponse({"error": parsed}, status_code=400)
        ids, mode = parsed
        faults.fail(ids, mode)
        return current()

    async def clear(_request: Request) -> JSONResponse:
        faults.clear()
        return current()

    return [
        Route("/faults", show, methods=["GET"]),
        Route("/faults", add, methods=["POST"]),
        Route("/faults", clear, methods=["DELETE"]),
    ]
