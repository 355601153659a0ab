"""The documents topic's Avro subject in the schema registry: registered, current, and compatible.

The subject is ``<documents topic>-value`` (``DocumentCodec.subject``), registered with the same text
the codec registers. A new schema must be backward compatible with the latest registered version:
the sink decodes documents already on the topic with the new schema as its reader schema. The check
is made with Apache Avro's own resolution rules (``avro.compatibility``), so it also works against
``mock://`` registries, which cannot check compatibility themselves.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, Protocol

import avro.errors
import avro.schema
from avro.compatibility import ReaderWriterCompatibilityChecker, SchemaCompatibilityType
from confluent_kafka.schema_registry import Schema
from confluent_kafka.schema_registry.error import SchemaRegistryError

from schema_gen.errors import ServiceError


class SubjectRegistry(Protocol):
    """The schema registry calls provisioning makes (``SchemaRegistryClient`` has them)."""

    def get_latest_version(self, subject_name: str, fmt: str | None = None) -> Any: ...
    def lookup_schema(self, subject_name: str, schema: Schema, *args: Any, **kwargs: Any) -> Any: ...
    def register_schema(self, subject_name: str, schema: Schema, *args: Any, **kwargs: Any) -> int: ...
    def delete_subject(self, subject_name: str, permanent: bool = False) -> list[int]: ...


@dataclass(frozen=True)
class SubjectPlan:
    """What the subject needs: nothing, a first version, or a new (compatible or not) version."""

    subject: str
    action: Literal["none", "register"]
    latest_version: int | None = None
    incompatibilities: tuple[str, ...] = ()

    @property
    def compatible(self) -> bool:
        return not self.incompatibilities

    def __str__(self) -> str:
        if self.action == "none":
            return f"{self.subject}: the document schema is registered (version {self.latest_version})"
        if self.latest_version is None:
            return f"register {self.subject} (first version)"
        verdict = "backward compatible" if self.compatible else "NOT backward compatible"
        return f"register a new version of {self.subject} ({verdict} with version {self.latest_version})"


def _unreachable(subject: str, exc: Exception) -> ServiceError:
    return ServiceError(f"the schema registry (kafka.schema_registry_url) failed on subject {subject}: {exc}")


def plan_subject(registry: SubjectRegistry, subject: str, schema_text: str) -> SubjectPlan:
    """Compare ``schema_text`` with what ``subject`` holds; read-only."""
    try:
        latest = registry.get_latest_version(subject)
    except SchemaRegistryError as exc:
        if exc.http_status_code == 404:
            return SubjectPlan(subject, "register")
        raise _unreachable(subject, exc) from None
    except Exception as exc:  # the registry client's transport errors have no public base class
        raise _unreachable(subject, exc) from exc
    try:
        registry.lookup_schema(subject, Schema(schema_text, "AVRO"))
        return SubjectPlan(subject, "none", latest.version)
    except SchemaRegistryError as exc:
        if exc.http_status_code != 404:
            raise _unreachable(subject, exc) from None
    except Exception as exc:  # the registry client's transport errors have no public base class
        raise _unreachable(subject, exc) from exc
    problems = backward_incompatibilities(schema_text, latest.schema.schema_str)
    return SubjectPlan(subject, "register", latest.version, problems)


def backward_incompatibilities(reader_text: str, writer_text: str) -> tuple[str, ...]:
    """Why data written with ``writer_text`` cannot be read with ``reader_text`` (empty: it can)."""
    try:
        reader, writer = avro.schema.parse(reader_text), avro.schema.parse(writer_text)
    except (avro.errors.SchemaParseException, ValueError) as exc:
        return (f"the registered schema cannot be parsed: {exc}",)
    result = ReaderWriterCompatibilityChecker().get_compatibility(reader, writer)
    if result.compatibility is SchemaCompatibilityType.compatible:
        return ()
    locations = ", ".join(sorted(result.locations))
    return tuple(f"{message} (at {locations})" for message in sorted(result.messages))


def register(registry: SubjectRegistry, subject: str, schema_text: str) -> int:
    """Register ``schema_text`` under ``subject``; its schema id."""
    try:
        return registry.register_schema(subject, Schema(schema_text, "AVRO"))
    except SchemaRegistryError as exc:
        raise ServiceError(
            f"the schema registry refused the document schema for {subject}: {exc.error_message} "
            f"(HTTP {exc.http_status_code})"
        ) from None
    except Exception as exc:  # the registry client's transport errors have no public base class
        raise _unreachable(subject, exc) from exc


def delete_subject(registry: SubjectRegistry, subject: str) -> bool:
    """Delete every version of ``subject``, soft then permanently; False when there was none.

    Only a permanent deletion leaves nothing behind on every registry: Apicurio Registry keeps a
    soft-deleted subject, and registering the same schema under it again then leaves it without a
    latest version (a later apply would register it forever and the daemon refuse to start).
    """
    try:
        deleted = registry.delete_subject(subject)
        if deleted:
            registry.delete_subject(subject, permanent=True)
    except SchemaRegistryError as exc:
        if exc.http_status_code == 404:
            return False
        raise _unreachable(subject, exc) from None
    except Exception as exc:  # the registry client's transport errors have no public base class
        raise _unreachable(subject, exc) from exc
    return bool(deleted)
