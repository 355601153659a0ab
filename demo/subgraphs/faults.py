"""Fault injection for resilience tests: chosen entities fail with a GraphQL error, the others answer.

Off by default. A subgraph that supports it (the movies subgraph) serves ``/faults`` only when it is
started with ``--fault-injection`` (or ``GRAPHDEX_DEMO_FAULTS=1`` in its environment), and even then
nothing fails until asked. Like every demo server it listens on 127.0.0.1.

    POST   /faults   {"movieIds": ["movie-000007"]}   these entities fail from now on (added to the others)
    DELETE /faults                                     nothing fails any more
    GET    /faults                                     {"movieIds": [...]}: what fails now

A failing entity is reported as an error at its own path (``movies[3]``, its list item null), with
``extensions.code`` ``INJECTED_FAULT``: to a client such as graphdex's fetcher it is one document's
GraphQL error, retryable, while the rest of the batch is fine.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from graphql import GraphQLError
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

if TYPE_CHECKING:
    from demo.subgraphs.store import CapturedStore

FAULT_CODE = "INJECTED_FAULT"
ENVIRONMENT_VARIABLE = "GRAPHDEX_DEMO_FAULTS"


class EntityFaults:
    """The ids of one entity kind that fail now; shared by the admin routes and the resolvers."""

    def __init__(self, entity: str, ids_key: str) -> None:
        self.entity = entity
        self.ids_key = ids_key
        self._lock = threading.Lock()
        self._failing: set[str] = set()

    def fail(self, ids: Iterable[str]) -> None:
        with self._lock:
            self._failing.update(ids)

    def clear(self) -> None:
        with self._lock:
            self._failing.clear()

    def failing(self) -> list[str]:
        with self._lock:
            return sorted(self._failing)

    def error_for(self, entity_id: str) -> GraphQLError | None:
        """The error to report for ``entity_id`` instead of the entity, or None when it does not fail."""
        with self._lock:
            if entity_id not in self._failing:
                return None
        return GraphQLError(
            f"{self.entity} {entity_id} fails on purpose (fault injection; DELETE /faults clears it)",
            extensions={"code": FAULT_CODE},
        )


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


def fault_routes(faults: EntityFaults) -> list[Route]:
    """``GET``, ``POST`` and ``DELETE`` on ``/faults``."""

    def current() -> JSONResponse:
        return JSONResponse({faults.ids_key: faults.failing()})

    async def show(_request: Request) -> JSONResponse:
        return current()

    async def add(request: Request) -> JSONResponse:
        try:
            body = await request.json()
        except ValueError:
            body = None
        ids = body.get(faults.ids_key) if isinstance(body, dict) else None
        if not isinstance(ids, list) or not all(isinstance(entity_id, str) for entity_id in ids):
            message = f'expected a JSON object {{"{faults.ids_key}": ["id", ...]}}'
            return JSONResponse({"error": message}, status_code=400)
        faults.fail(ids)
        return current()

    async def clear(_request: Request) -> JSONResponse:
        faults.clear()
        return current()

    return [
        Route("/faults", show, methods=["GET"]),
        Route("/faults", add, methods=["POST"]),
        Route("/faults", clear, methods=["DELETE"]),
    ]
