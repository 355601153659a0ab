"""The one exception tree of graphdex. Every message is meant for the person running graphdex.

    GraphdexError                 base: a user-facing message, never shown with a traceback by the CLI
    ├── DefinitionError           an index definition (YAML, query file, schema file) is invalid
    │   ├── ConfigError           a YAML key is missing, unknown or of the wrong kind (names file and dotted key)
    │   ├── SchemaError           the GraphQL schema cannot be loaded at all
    │   └── QueryError            the query template does not validate (names field, line and column)
    ├── DocumentError             a GraphQL response does not fit the document model (names the path)
    ├── ArtifactError             generated artifacts are missing or out of date
    ├── SearchError               a search request does not fit the index's field catalogue or limits
    │   └── FilterSyntaxError     the filter string does not parse (line, column and a caret line)
    └── ServiceError              a server graphdex talks to is unreachable or refused a request
        ├── StackError            the local development stack could not be started or stopped
        ├── GatewayUnavailable    the GraphQL gateway fails for every request (outage): pause, retry later
        └── StoreError            the search server (Elasticsearch or OpenSearch) failed a request
            ├── StoreUnavailable  unreachable, timed out, 429, 5xx or a write/read block: back off, retry
            ├── StoreNotFound     404: the index, alias or template does not exist
            ├── StoreConflict     409: a version conflict (an older write than the stored document)
            ├── StoreRejected     any other 4xx: the request is wrong; carries the server's reason
            └── StoreAuthFailed   401, or 403 from the security layer: credentials or privileges

Errors that aggregate several problems (all config problems at once, every query error) carry them
as ``problems`` and list them numbered in the message.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One thing wrong, with where it is: ``file:line:col``, ``file: key.path`` or a document path."""

    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}" if self.where else self.message


class GraphdexError(Exception):
    """Base of every error graphdex raises on purpose; ``str(error)`` is the whole user-facing message."""

    exit_code: int = 1

    def __init__(self, message: str, problems: Iterable[Problem] = ()) -> None:
        self.problems: tuple[Problem, ...] = tuple(problems)
        self.summary = message
        super().__init__(self._format(message, self.problems))

    @staticmethod
    def _format(message: str, problems: tuple[Problem, ...]) -> str:
        if not problems:
            return message
        if len(problems) == 1:
            return f"{message}: {problems[0]}"
        lines = [f"{message} ({len(problems)} problems):"]
        lines += [f"  {number}. {problem}" for number, problem in enumerate(problems, 1)]
        return "\n".join(lines)


class DefinitionError(GraphdexError):
    """An index definition cannot be used as written."""

    exit_code = 2


class ConfigError(DefinitionError):
    """The YAML index definition is invalid; each problem names the file and the dotted key path."""


class SchemaError(DefinitionError):
    """The GraphQL schema could not be loaded (unreadable file, introspection failed, no types)."""


class QueryError(DefinitionError):
    """The templated query does not validate; each problem names the field, line and column."""


class DocumentError(GraphdexError):
    """A GraphQL response or document does not fit the generated document model."""


class ArtifactError(GraphdexError):
    """Generated artifacts are missing or differ from what the definition generates now."""


class SearchError(GraphdexError):
    """A search request names unknown fields, misuses an operator or literal, or exceeds a limit."""

    exit_code = 2


class FilterSyntaxError(SearchError):
    """The filter string is not in the filter language; the message points at the line and column."""


class ServiceError(GraphdexError):
    """A server graphdex depends on (gateway, Kafka, search server, registry) failed or is unreachable."""


class StackError(ServiceError):
    """The local development stack could not be started, checked or stopped."""


class GatewayUnavailable(ServiceError):
    """The gateway failed as a whole (connection, timeout, 5xx, 429, a subgraph down) beyond retries, or
    its circuit breaker is open. Nothing is any document's fault: pause and try again after ``retry_after``
    seconds (None when unknown); never dead-letter because of it."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        self.retry_after = retry_after
        super().__init__(message)


class StoreError(ServiceError):
    """The search server (Elasticsearch or OpenSearch) did not do what was asked.

    Raised only by ``indexer.search_store``, which translates each client library's exceptions at the
    boundary. ``request`` names the request (``GET movies/_search``), ``status`` is the HTTP status
    (None when there was no answer), ``error_type`` and ``reason`` are the server's own words."""

    def __init__(
        self,
        message: str,
        *,
        request: str = "",
        status: int | None = None,
        error_type: str | None = None,
        reason: str = "",
    ) -> None:
        self.request, self.status, self.error_type, self.reason = request, status, error_type, reason or message
        super().__init__(message)


class StoreUnavailable(StoreError):
    """The search server cannot take the request now (unreachable, a timeout, 429, a 5xx, or a
    ``cluster_block_exception`` such as ``index.blocks.write``): back off and try again; no document's fault."""


class StoreNotFound(StoreError):
    """The index, alias, template or document the request names does not exist (404)."""


class StoreConflict(StoreError):
    """A version conflict (409): the stored document is as new as, or newer than, the write."""


class StoreRejected(StoreError):
    """The server refused the request as wrong (a 4xx other than the above); ``reason`` says why."""


class StoreAuthFailed(StoreError):
    """The server refused the credentials (401) or their privileges (403 from the security layer)."""
