"""The servers one index is provisioned on, and reading a plan from them.

``ProvisionTargets`` bundles the search cluster, the Kafka admin client and the schema registry (None
without ``kafka.schema_registry_url``); ``read_only`` gives the same targets behind the dry-run
wrappers. ``read_provisioned`` reads everything a plan needs and never writes; ``plan_index`` plans
from it. The daemon's start-up check (``indexer.daemon.preflight``) makes the same reads, so both judge
the same facts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from indexer.kafka.clients import build_admin, build_schema_registry
from indexer.kafka.topics import TopicPlan, plan_topics
from indexer.provision.desired import DesiredIndex
from indexer.provision.dry_run import DryRunRegistry, DryRunSearchCluster, DryRunTopicAdmin, Journal
from indexer.provision.observed import ObservedIndex, observe_index
from indexer.provision.planner import ProvisionPlan, plan_changes
from indexer.provision.registry import SubjectPlan, SubjectRegistry, plan_subject
from indexer.provision.search_cluster import SearchAdmin, SearchCluster
from indexer.search_store import open_search_store
from schema_gen.config import IndexConfig


@dataclass(frozen=True)
class ProvisionTargets:
    """The clients provisioning reads and writes through."""

    cluster: SearchAdmin
    admin: Any
    """A confluent-kafka ``AdminClient`` (or ``DryRunTopicAdmin``)."""
    registry: SubjectRegistry | None

    @classmethod
    def for_config(cls, config: IndexConfig, *, registry: SubjectRegistry | None = None) -> ProvisionTargets:
        """Clients built from the definition; ``registry`` replaces the one ``kafka.schema_registry_url``
        would give (a ``mock://`` registry lives in one process only, so tests share theirs)."""
        return cls(
            cluster=SearchCluster(open_search_store(config.elasticsearch)),
            admin=build_admin(config.kafka),
            registry=registry if registry is not None else build_schema_registry(config.kafka),
        )

    def read_only(self, journal: Journal) -> ProvisionTargets:
        """The same targets; reads reach the servers, writes are recorded in ``journal``."""
        return ProvisionTargets(
            cluster=DryRunSearchCluster(self.cluster, journal),
            admin=DryRunTopicAdmin(self.admin, journal),
            registry=None if self.registry is None else DryRunRegistry(self.registry, journal),
        )


@dataclass(frozen=True)
class ProvisionedState:
    """What the servers hold for one index, compared with what it wants where a comparison is a read."""

    observed: ObservedIndex
    topics: TopicPlan
    """The topic changes an apply would make (missing topics, configs) and the drift it leaves."""
    subject: SubjectPlan | None
    """None without a registry (or without ``kafka.schema_registry_url``)."""


def read_provisioned(desired: DesiredIndex, targets: ProvisionTargets) -> ProvisionedState:
    """Read the cluster, the topics and the subject of ``desired``'s index; never writes."""
    observed = observe_index(targets.cluster, desired.names)
    topics = plan_topics(targets.admin, desired.topics)
    subject = None
    if desired.subject is not None and targets.registry is not None:
        subject = plan_subject(targets.registry, desired.subject, desired.avro_text())
    return ProvisionedState(observed, topics, subject)


def plan_index(desired: DesiredIndex, targets: ProvisionTargets, *, now: datetime, grace: timedelta) -> ProvisionPlan:
    """Read the cluster, the topics and the subject; the plan that makes them match ``desired``."""
    state = read_provisioned(desired, targets)
    return plan_changes(desired, state.observed, topics=state.topics, subject=state.subject, now=now, grace=grace)
