"""Read-only stand-ins for the clients provisioning writes through: reads go to the real server, writes
are recorded in a ``Journal`` and never sent.

``plan`` observes the cluster and runs the very steps ``apply`` would run through these wrappers, so
a plan can never change anything, and the journal lists the requests ``apply`` would send. Each
wrapper forwards only the reads it names (like block/elasticgraph's dry-run datastore client): a call
to anything else is an ``AttributeError``, not a write that slipped through.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka.admin import AdminClient
from confluent_kafka.schema_registry import Schema

from indexer.provision.registry import SubjectRegistry
from indexer.provision.search_cluster import SearchAdmin, StoredDocument
from indexer.provision.versions import canonical_json


@dataclass
class Journal:
    """The writes a dry run would have made, in order: ``PUT movies-1 {...}``."""

    requests: list[str] = field(default_factory=list)

    def record(self, request: str, body: Any = None) -> None:
        self.requests.append(request if body is None else f"{request} {canonical_json(body)}")


class DryRunSearchCluster:
    """``SearchAdmin`` that reads from ``cluster`` and records every write."""

    def __init__(self, cluster: SearchAdmin, journal: Journal) -> None:
        self._cluster = cluster
        self.journal = journal

    def get_template(self, name: str) -> dict[str, Any] | None:
        return self._cluster.get_template(name)

    def get_indices(self, pattern: str) -> dict[str, dict[str, Any]]:
        return self._cluster.get_indices(pattern)

    def alias_targets(self, alias: str) -> list[str]:
        return self._cluster.alias_targets(alias)

    def is_concrete_index(self, name: str) -> bool:
        return self._cluster.is_concrete_index(name)

    def count(self, index: str) -> int:
        return self._cluster.count(index)

    def sample(self, index: str, size: int, seed: int) -> list[StoredDocument]:
        return self._cluster.sample(index, size, seed)

    def documents(self, index: str, ids: Sequence[str]) -> dict[str, StoredDocument]:
        return self._cluster.documents(index, ids)

    def refresh(self, index: str) -> None:
        self.journal.record(f"POST {index}/_refresh")

    def put_template(self, name: str, body: Mapping[str, Any]) -> None:
        self.journal.record(f"PUT _index_template/{name}", body)

    def create_index(self, name: str, settings: Mapping[str, Any], mappings: Mapping[str, Any]) -> None:
        self.journal.record(f"PUT {name}", {"settings": settings, "mappings": mappings})

    def put_mapping(self, name: str, mappings: Mapping[str, Any]) -> None:
        self.journal.record(f"PUT {name}/_mapping", mappings)

    def put_settings(self, name: str, settings: Mapping[str, Any]) -> None:
        self.journal.record(f"PUT {name}/_settings", settings)

    def update_aliases(self, actions: Sequence[Mapping[str, Any]]) -> None:
        self.journal.record("POST _aliases", {"actions": list(actions)})

    def delete_index(self, name: str) -> None:
        self.journal.record(f"DELETE {name}")

    def delete_template(self, name: str) -> None:
        self.journal.record(f"DELETE _index_template/{name}")


def _done(keys: Sequence[Any]) -> dict[Any, Future[None]]:
    futures: dict[Any, Future[None]] = {}
    for key in keys:
        future: Future[None] = Future()
        future.set_result(None)
        futures[key] = future
    return futures


class DryRunTopicAdmin:
    """The admin-client calls of ``indexer.kafka.topics`` and status: reads forwarded, writes recorded."""

    def __init__(self, admin: AdminClient, journal: Journal) -> None:
        self._admin = admin
        self.journal = journal

    def list_topics(self, *args: Any, **kwargs: Any) -> Any:
        return self._admin.list_topics(*args, **kwargs)

    def describe_configs(self, *args: Any, **kwargs: Any) -> Any:
        return self._admin.describe_configs(*args, **kwargs)

    def list_consumer_group_offsets(self, *args: Any, **kwargs: Any) -> Any:
        return self._admin.list_consumer_group_offsets(*args, **kwargs)

    def list_consumer_groups(self, *args: Any, **kwargs: Any) -> Any:
        return self._admin.list_consumer_groups(*args, **kwargs)

    def create_topics(self, new_topics: Sequence[Any], **_: Any) -> dict[Any, Future[None]]:
        for topic in new_topics:
            self.journal.record(f"create topic {topic.topic}", {"partitions": topic.num_partitions})
        return _done([topic.topic for topic in new_topics])

    def incremental_alter_configs(self, resources: Sequence[Any], **_: Any) -> dict[Any, Future[None]]:
        for resource in resources:
            entries = {entry.name: entry.value for entry in resource.incremental_configs}
            self.journal.record(f"alter topic {resource.name} configs", entries)
        return _done(list(resources))

    def delete_topics(self, topics: Sequence[str], **_: Any) -> dict[Any, Future[None]]:
        for topic in topics:
            self.journal.record(f"delete topic {topic}")
        return _done(list(topics))

    def delete_consumer_groups(self, group_ids: Sequence[str], **_: Any) -> dict[Any, Future[None]]:
        for group in group_ids:
            self.journal.record(f"delete consumer group {group}")
        return _done(list(group_ids))


class DryRunRegistry:
    """``SubjectRegistry`` that reads from ``registry`` and records registrations and deletions."""

    def __init__(self, registry: SubjectRegistry, journal: Journal) -> None:
        self._registry = registry
        self.journal = journal

    def get_latest_version(self, subject_name: str, fmt: str | None = None) -> Any:
        return self._registry.get_latest_version(subject_name, fmt)

    def lookup_schema(self, subject_name: str, schema: Schema, *args: Any, **kwargs: Any) -> Any:
        return self._registry.lookup_schema(subject_name, schema, *args, **kwargs)

    def register_schema(self, subject_name: str, schema: Schema, *args: Any, **kwargs: Any) -> int:
        self.journal.record(f"register schema under {subject_name}")
        return 0

    def delete_subject(self, subject_name: str, permanent: bool = False) -> list[int]:
        self.journal.record(f"delete subject {subject_name}")
        return []
