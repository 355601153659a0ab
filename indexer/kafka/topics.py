"""The internal topics of one index: their names, their specs, and making the cluster match them.

Names are ``<kafka.topic_prefix>.<index>.<role>``; consumer groups ``<kafka.group_prefix>.<index>.<stage>``.

- ``requests`` and ``retry``: reindex requests, kept ``REQUEST_RETENTION_MS`` (a week: enough to
  survive a long outage of the fetch stage; older requests are superseded by newer events anyway).
- ``documents``: the rendered documents, compacted (``cleanup.policy=compact``): the newest document
  per id is kept forever, so the topic can rebuild an index without the gateway.
- ``dlq``: dead letters, kept ``DEAD_LETTER_RETENTION_MS`` (four weeks, to give people time to look).

Every topic has ``kafka.partitions`` partitions and ``kafka.replication_factor`` replicas.
``plan_topics`` compares the cluster with the specs without changing anything; ``ensure_topics``
creates what is missing and sets the topic configs the specs name, and returns what it did, so a
second call returns an empty plan. Partition counts and replication factors are never changed
automatically (more partitions would move keys to other partitions, breaking per-id ordering and
compaction); a difference is reported as drift for a person to decide.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import (
    AdminClient,
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
    NewTopic,
    ResourceType,
)

from schema_gen.config import IndexConfig
from schema_gen.errors import ConfigError, Problem, ServiceError

REQUEST_RETENTION_MS = 7 * 24 * 3600 * 1000
DEAD_LETTER_RETENTION_MS = 28 * 24 * 3600 * 1000
_TOPIC_NAME = re.compile(r"^[A-Za-z0-9._-]+$")
_MAX_TOPIC_NAME = 249


class TopicRole(StrEnum):
    """What an internal topic holds; the last part of its name."""

    REQUESTS = "requests"
    RETRY = "retry"
    DOCUMENTS = "documents"
    DLQ = "dlq"


@dataclass(frozen=True)
class TopicLayout:
    """The names of one index's internal topics and consumer groups."""

    topic_prefix: str
    group_prefix: str
    index: str

    @classmethod
    def from_config(cls, config: IndexConfig) -> TopicLayout:
        """The layout of ``config``; ``ConfigError`` when a prefix makes an invalid topic name."""
        layout = cls(config.kafka.topic_prefix, config.kafka.group_prefix, config.index)
        problems = []
        longest = max((layout.topic(role) for role in TopicRole), key=len)
        if not _TOPIC_NAME.match(layout.topic_prefix):
            problems.append(Problem("kafka.topic_prefix", "use only letters, digits, '.', '_' and '-'"))
        elif len(longest) > _MAX_TOPIC_NAME:
            problems.append(Problem("kafka.topic_prefix", f"topic {longest!r} is longer than {_MAX_TOPIC_NAME}"))
        if not layout.group_prefix.strip():
            problems.append(Problem("kafka.group_prefix", "must not be empty"))
        if problems:
            raise ConfigError("invalid Kafka topic layout", problems)
        return layout

    def topic(self, role: TopicRole) -> str:
        return f"{self.topic_prefix}.{self.index}.{role}"

    @property
    def requests(self) -> str:
        return self.topic(TopicRole.REQUESTS)

    @property
    def retry(self) -> str:
        return self.topic(TopicRole.RETRY)

    @property
    def documents(self) -> str:
        return self.topic(TopicRole.DOCUMENTS)

    @property
    def dlq(self) -> str:
        return self.topic(TopicRole.DLQ)

    def group_id(self, stage: str) -> str:
        """The consumer group of one stage (``route``, ``fetch``, ``retry``, ``sink``) for this index."""
        return f"{self.group_prefix}.{self.index}.{stage}"


@dataclass(frozen=True)
class TopicSpec:
    """How one topic should look: partitions, replicas and the topic configs graphdex cares about."""

    name: str
    partitions: int
    replication_factor: int
    config: Mapping[str, str] = field(default_factory=dict)


_ROLE_CONFIG: dict[TopicRole, dict[str, str]] = {
    TopicRole.REQUESTS: {"cleanup.policy": "delete", "retention.ms": str(REQUEST_RETENTION_MS)},
    TopicRole.RETRY: {"cleanup.policy": "delete", "retention.ms": str(REQUEST_RETENTION_MS)},
    TopicRole.DOCUMENTS: {"cleanup.policy": "compact"},
    TopicRole.DLQ: {"cleanup.policy": "delete", "retention.ms": str(DEAD_LETTER_RETENTION_MS)},
}


def topic_specs(config: IndexConfig) -> tuple[TopicSpec, ...]:
    """The specs of the four internal topics of ``config``'s index."""
    layout = TopicLayout.from_config(config)
    return tuple(
        TopicSpec(layout.topic(role), config.kafka.partitions, config.kafka.replication_factor, _ROLE_CONFIG[role])
        for role in TopicRole
    )


@dataclass(frozen=True)
class TopicChange:
    """One change that makes the cluster match a spec: create the topic, or set some of its configs."""

    spec: TopicSpec
    action: Literal["create", "set_config"]
    settings: Mapping[str, tuple[str | None, str]] = field(default_factory=dict)
    """For ``set_config``: config name -> (current value or None, wanted value)."""

    def __str__(self) -> str:
        if self.action == "create":
            configs = ", ".join(f"{name}={value}" for name, value in self.spec.config.items())
            return (
                f"create {self.spec.name} ({self.spec.partitions} partitions, "
                f"replication {self.spec.replication_factor}{', ' + configs if configs else ''})"
            )
        changes = ", ".join(f"{name}: {old} -> {new}" for name, (old, new) in self.settings.items())
        return f"set {self.spec.name} {changes}"


@dataclass(frozen=True)
class TopicPlan:
    """What ``ensure_topics`` would do (or did), and the differences it leaves to a person."""

    changes: tuple[TopicChange, ...] = ()
    drift: tuple[Problem, ...] = ()

    @property
    def empty(self) -> bool:
        """Nothing to change (drift may still be reported)."""
        return not self.changes


def plan_topics(admin: AdminClient, specs: Sequence[TopicSpec], timeout: float = 10.0) -> TopicPlan:
    """Compare the cluster with ``specs``; read-only."""
    try:
        metadata = admin.list_topics(timeout=timeout)
    except KafkaException as exc:
        raise ServiceError(f"Kafka: cannot list topics: {_reason(exc)}") from None
    existing = {spec.name: metadata.topics[spec.name] for spec in specs if spec.name in metadata.topics}
    current_configs = _describe_configs(admin, [spec for spec in specs if spec.name in existing], timeout)
    changes: list[TopicChange] = []
    drift: list[Problem] = []
    for spec in specs:
        topic = existing.get(spec.name)
        if topic is None:
            changes.append(TopicChange(spec, "create"))
            continue
        partitions = len(topic.partitions)
        if partitions != spec.partitions:
            drift.append(
                Problem(
                    spec.name,
                    f"has {partitions} partitions, the definition says {spec.partitions} (kafka.partitions); "
                    "partition counts are not changed automatically",
                )
            )
        replicas = {len(partition.replicas) for partition in topic.partitions.values()}
        if replicas and replicas != {spec.replication_factor}:
            drift.append(
                Problem(
                    spec.name,
                    f"has replication factor {'/'.join(map(str, sorted(replicas)))}, the definition says "
                    f"{spec.replication_factor} (kafka.replication_factor)",
                )
            )
        current = current_configs.get(spec.name, {})
        wrong = {
            name: (current.get(name), wanted) for name, wanted in spec.config.items() if current.get(name) != wanted
        }
        if wrong:
            changes.append(TopicChange(spec, "set_config", wrong))
    return TopicPlan(tuple(changes), tuple(drift))


def apply_topic_plan(admin: AdminClient, plan: TopicPlan, timeout: float = 30.0, *, wait: bool = True) -> None:
    """Make the changes of ``plan``; ``ServiceError`` listing every change the cluster refused. With
    ``wait`` (not for a dry run, whose changes never happen), return once the cluster shows them."""
    problems: list[Problem] = []
    creates = [change.spec for change in plan.changes if change.action == "create"]
    if creates:
        new_topics = [
            NewTopic(spec.name, spec.partitions, spec.replication_factor, config=dict(spec.config)) for spec in creates
        ]
        for name, future in admin.create_topics(new_topics, operation_timeout=timeout, request_timeout=timeout).items():
            try:
                future.result()
            except KafkaException as exc:
                if exc.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:  # created meanwhile: fine
                    problems.append(Problem(name, f"cannot create: {_reason(exc)}"))
    alters = [change for change in plan.changes if change.action == "set_config"]
    if alters:
        resources = [
            ConfigResource(
                ResourceType.TOPIC,
                change.spec.name,
                incremental_configs=[
                    ConfigEntry(name, wanted, incremental_operation=AlterConfigOpType.SET)
                    for name, (_, wanted) in change.settings.items()
                ],
            )
            for change in alters
        ]
        for resource, future in admin.incremental_alter_configs(resources, request_timeout=timeout).items():
            try:
                future.result()
            except KafkaException as exc:
                problems.append(Problem(resource.name, f"cannot set configs: {_reason(exc)}"))
    if problems:
        raise ServiceError("Kafka refused topic changes", problems)
    if wait:
        _wait_until_visible(admin, plan, timeout)


def _wait_until_visible(admin: AdminClient, plan: TopicPlan, timeout: float) -> None:
    """Kafka acknowledges a new topic or config once the controller has it; the broker that answers
    Metadata and DescribeConfigs learns it from the metadata log a moment later. Wait (within
    ``timeout``) until planning the changed topics again finds nothing to do, so that a ``plan`` right
    after ``apply`` is empty."""
    specs = [change.spec for change in plan.changes]
    deadline = time.monotonic() + timeout
    while True:
        pending = plan_topics(admin, specs, timeout).changes
        if not pending:
            return
        if time.monotonic() >= deadline:
            raise ServiceError(
                f"Kafka accepted the topic changes but does not show them yet after {timeout:g}s",
                [Problem(change.spec.name, str(change)) for change in pending],
            )
        time.sleep(0.1)


def ensure_topics(admin: AdminClient, specs: Sequence[TopicSpec], timeout: float = 30.0) -> TopicPlan:
    """Create missing topics and set the configs the specs name; returns the plan it applied."""
    plan = plan_topics(admin, specs, timeout)
    if plan.changes:
        apply_topic_plan(admin, plan, timeout)
    return plan


def _describe_configs(admin: AdminClient, specs: Sequence[TopicSpec], timeout: float) -> dict[str, dict[str, str]]:
    if not specs:
        return {}
    resources = [ConfigResource(ResourceType.TOPIC, spec.name) for spec in specs]
    configs: dict[str, dict[str, str]] = {}
    problems: list[Problem] = []
    for resource, future in admin.describe_configs(resources, request_timeout=timeout).items():
        try:
            entries = future.result()
        except KafkaException as exc:
            problems.append(Problem(resource.name, f"cannot describe configs: {_reason(exc)}"))
            continue
        configs[resource.name] = {name: entry.value for name, entry in entries.items() if entry.value is not None}
    if problems:
        raise ServiceError("Kafka: cannot read topic configs", problems)
    return configs


def _reason(exc: KafkaException) -> str:
    error = exc.args[0] if exc.args else None
    if isinstance(error, KafkaError):
        return f"{error.str()} ({error.name()})"
    return str(exc)
