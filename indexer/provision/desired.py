"""What an index definition wants the cluster to hold: the template, the version's mappings and settings,
the internal topics and the Avro subject. Derived from the generated artifacts only, exactly as
``graphdex generate`` writes them."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from indexer.definition import IndexDefinition
from indexer.kafka.topics import TopicLayout, TopicSpec, topic_specs
from indexer.provision.versions import META_KEY, IndexNames, artifacts_hash, sha256_of
from schema_gen.artifacts import generate_artifacts


@dataclass(frozen=True)
class DesiredIndex:
    """The generated artifacts of one index and everything provisioning derives from them."""

    names: IndexNames
    template: dict[str, Any]
    avro: dict[str, Any]
    artifacts_hash: str
    avro_hash: str
    topics: tuple[TopicSpec, ...]
    layout: TopicLayout
    subject: str | None
    """The registry subject of the documents topic, when ``kafka.schema_registry_url`` is set."""

    @classmethod
    def from_definition(cls, definition: IndexDefinition) -> DesiredIndex:
        config = definition.config
        artifacts = generate_artifacts(definition.model, config, source=str(definition.path))
        layout = TopicLayout.from_config(config)
        return cls(
            names=IndexNames(config.index),
            template=artifacts.template,
            avro=artifacts.avro,
            artifacts_hash=artifacts_hash(artifacts.template, artifacts.avro),
            avro_hash=sha256_of(artifacts.avro),
            topics=topic_specs(config),
            layout=layout,
            subject=f"{layout.documents}-value" if config.kafka.schema_registry_url else None,
        )

    @property
    def index(self) -> str:
        return self.names.index

    @property
    def mappings(self) -> dict[str, Any]:
        """The mappings of a concrete version (``template.mappings``)."""
        mappings: dict[str, Any] = self.template["template"]["mappings"]
        return mappings

    @property
    def settings(self) -> dict[str, Any]:
        """The settings of a concrete version (``template.settings``)."""
        settings: dict[str, Any] = self.template["template"]["settings"]
        return settings

    def template_body(self) -> dict[str, Any]:
        """The template as sent: its ``_meta`` also carries the artifacts hash, to tell whether it is current."""
        meta = dict(self.template.get("_meta", {})) | {META_KEY: {"artifacts_hash": self.artifacts_hash}}
        return self.template | {"_meta": meta}

    def avro_text(self) -> str:
        """The Avro schema as registered: the same text ``DocumentCodec`` registers."""
        return json.dumps(self.avro, sort_keys=True)
