"""``destroy``: remove everything provisioning made for one index.

The aliases first (one request), then every version graphdex created, the index template, the
internal topics, the index's consumer groups and the document schema's registry subject.
``<index>-<n>`` indexes graphdex did not create are left alone and reported.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from confluent_kafka import KafkaError, KafkaException

from indexer.provision.desired import DesiredIndex
from indexer.provision.observed import observe_index
from indexer.provision.registry import delete_subject, plan_subject
from indexer.provision.targets import ProvisionTargets
from schema_gen.errors import Problem, ServiceError

_GONE = (KafkaError.UNKNOWN_TOPIC_OR_PART, KafkaError.GROUP_ID_NOT_FOUND)


@dataclass(frozen=True)
class DestroyPlan:
    """What ``destroy`` removes."""

    index: str
    aliases: tuple[tuple[str, str], ...]
    """``(alias, index)`` pairs."""
    versions: tuple[str, ...]
    template: bool
    topics: tuple[str, ...]
    groups: tuple[str, ...]
    subject: str | None
    kept: tuple[Problem, ...] = ()
    """What looks like this index's but is left alone."""

    @property
    def empty(self) -> bool:
        return not (self.aliases or self.versions or self.template or self.topics or self.groups or self.subject)

    def lines(self) -> list[str]:
        lines = [f"remove alias {alias} from {index}" for alias, index in self.aliases]
        lines += [f"delete index {version}" for version in self.versions]
        lines += [f"delete index template {self.index}"] if self.template else []
        lines += [f"delete topic {topic}" for topic in self.topics]
        lines += [f"delete consumer group {group}" for group in self.groups]
        lines += [f"delete schema registry subject {self.subject}"] if self.subject else []
        return lines


def _groups(admin: Any, prefix: str) -> tuple[str, ...]:
    try:
        listing = admin.list_consumer_groups(request_timeout=10).result()
    except KafkaException as exc:
        raise ServiceError(f"Kafka: cannot list consumer groups: {exc}") from None
    return tuple(sorted(group.group_id for group in listing.valid if group.group_id.startswith(prefix)))


def plan_destroy(desired: DesiredIndex, targets: ProvisionTargets) -> DestroyPlan:
    """Read what exists of ``desired``'s index; changes nothing."""
    observed = observe_index(targets.cluster, desired.names)
    names = desired.names
    aliases = tuple((names.search_alias, target) for target in observed.search_targets if observed.version(target))
    aliases += tuple((names.write_alias, target) for target in observed.write_targets if observed.version(target))
    try:
        existing = targets.admin.list_topics(timeout=10).topics
    except KafkaException as exc:
        raise ServiceError(f"Kafka: cannot list topics: {exc}") from None
    subject = None
    if desired.subject is not None and targets.registry is not None:
        registered = plan_subject(targets.registry, desired.subject, desired.avro_text())
        subject = desired.subject if registered.latest_version is not None else None
    layout = desired.layout
    return DestroyPlan(
        index=desired.index,
        aliases=aliases,
        versions=tuple(version.name for version in observed.versions),
        template=observed.template is not None,
        topics=tuple(spec.name for spec in desired.topics if spec.name in existing),
        groups=_groups(targets.admin, f"{layout.group_prefix}.{layout.index}."),
        subject=subject,
        kept=observed.problems,
    )


def _wait(futures: dict[Any, Any], what: str) -> list[Problem]:
    problems = []
    for key, future in futures.items():
        try:
            future.result()
        except KafkaException as exc:
            error = exc.args[0] if exc.args else None
            if not (isinstance(error, KafkaError) and error.code() in _GONE):
                problems.append(Problem(str(key), f"cannot delete the {what}: {exc}"))
    return problems


def destroy(plan: DestroyPlan, targets: ProvisionTargets) -> None:
    """Remove what ``plan`` lists; ``ServiceError`` listing whatever could not be removed."""
    cluster = targets.cluster
    if plan.aliases:
        cluster.update_aliases([{"remove": {"index": index, "alias": alias}} for alias, index in plan.aliases])
    for version in plan.versions:
        cluster.delete_index(version)
    if plan.template:
        cluster.delete_template(plan.index)
    problems: list[Problem] = []
    if plan.topics:
        problems += _wait(targets.admin.delete_topics(list(plan.topics), operation_timeout=30), "topic")
    if plan.groups:
        problems += _wait(targets.admin.delete_consumer_groups(list(plan.groups), request_timeout=30), "group")
    if plan.subject and targets.registry is not None:
        delete_subject(targets.registry, plan.subject)
    if problems:
        raise ServiceError(f"{plan.index} is only partly destroyed", problems)
