"""The composition root of one index's pipeline: every stage wired from one index definition.

Nothing else builds stages. The definition is loaded (and its query walked) once at start-up; the
artifacts (Avro schema, catalogue) are generated in memory from it, exactly as ``graphdex generate``
writes them, so the running daemon and the committed files cannot disagree silently (``graphdex
check`` reports drift).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from indexer.catalogue import Catalogue, parse_catalogue
from indexer.definition import IndexDefinition
from indexer.fetch.fetcher import DocumentFetcher
from indexer.fetch.rate_limit import RequestRateLimiter
from indexer.fetch.stage import FetchStage
from indexer.kafka.clients import build_schema_registry
from indexer.kafka.document_codec import DocumentCodec
from indexer.kafka.topics import TopicLayout
from indexer.metrics import PipelineMetrics
from indexer.route.events import EventDecoder
from indexer.route.fanout import FanoutSchedule
from indexer.route.reverse_lookup import ReverseLookup
from indexer.route.stage import RouteStage
from indexer.search_store import SearchStore, open_search_store
from indexer.sink.bulk_sink import BulkSink
from indexer.sink.stage import SinkStage
from schema_gen.artifacts import Artifacts, generate_artifacts
from schema_gen.errors import ConfigError, Problem


def wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


@dataclass
class IndexPipeline:
    """Everything one index's stages share, built lazily so a process running one stage builds only
    what that stage needs."""

    definition: IndexDefinition
    metrics: PipelineMetrics
    clock_ms: Callable[[], int] = wall_clock_ms
    rate_limiter: RequestRateLimiter | None = None
    store: SearchStore | None = None
    artifacts: Artifacts = field(init=False)
    catalogue: Catalogue = field(init=False)
    topics: TopicLayout = field(init=False)

    def __post_init__(self) -> None:
        config = self.definition.config
        self.artifacts = generate_artifacts(self.definition.model, config, source=str(self.definition.path))
        self.catalogue = parse_catalogue(self.artifacts.catalogue, f"{config.index} catalogue")
        self.topics = TopicLayout.from_config(config)
        self._check_event_sources()

    @property
    def index(self) -> str:
        return self.definition.config.index

    def search_store(self) -> SearchStore:
        if self.store is None:
            self.store = open_search_store(self.definition.config.elasticsearch)
        return self.store

    def codec(self) -> DocumentCodec:
        config = self.definition.config
        return DocumentCodec(
            self.artifacts.avro,
            topic=self.topics.documents,
            registry=build_schema_registry(config.kafka),
            id_field=config.root.id_field,
        )

    def route_stage(self) -> RouteStage:
        config = self.definition.config
        decoders = {
            source.topic: EventDecoder(source, self._key_fields(source.type), self.clock_ms, self._avro_events())
            for source in config.events
        }
        lookup = ReverseLookup(self.search_store(), config.index, self.catalogue, config.reverse_lookup)
        return RouteStage(
            index=config.index,
            root_type=self.catalogue.root_type,
            decoders=decoders,
            lookup=lookup,
            schedule=FanoutSchedule(config.reverse_lookup),
            topics=self.topics,
            metrics=self.metrics,
            clock_ms=self.clock_ms,
        )

    def fetch_stage(self) -> FetchStage:
        config = self.definition.config
        fetcher = DocumentFetcher.for_index(
            self.definition.model,
            config,
            rate_limiter=self.rate_limiter,
            metrics=self.metrics.fetch_metrics(),
        )
        return FetchStage(
            index=config.index,
            fetcher=fetcher,
            codec=self.codec(),
            topics=self.topics,
            settings=config.fetch,
            metrics=self.metrics,
            clock_ms=self.clock_ms,
        )

    def sink_stage(self) -> SinkStage:
        config = self.definition.config
        return SinkStage(
            index=config.index,
            root_type=self.catalogue.root_type,
            sink=BulkSink(self.search_store(), config.index, config.sink),
            codec=self.codec(),
            topics=self.topics,
            metrics=self.metrics,
            clock_ms=self.clock_ms,
        )

    def _key_fields(self, entity_type: str) -> list[str]:
        if entity_type == self.catalogue.root_type:
            return [self.catalogue.id_field]
        for entity in self.catalogue.entities:
            if entity.type == entity_type and entity.key_fields:
                return list(entity.key_fields)
        return []

    def _avro_events(self) -> Callable[[bytes, str], object] | None:
        registry = build_schema_registry(self.definition.config.kafka)
        if registry is None:
            return None
        from confluent_kafka.schema_registry.avro import AvroDeserializer
        from confluent_kafka.serialization import MessageField, SerializationContext

        deserializer = AvroDeserializer(registry)

        def decode(value: bytes, topic: str) -> object:
            return deserializer(value, SerializationContext(topic, MessageField.VALUE))

        return decode

    def _check_event_sources(self) -> None:
        """Every event source must concern the root type or a type embedded with a key, and its id
        paths must match that type's key fields."""
        source_file = str(self.definition.path)
        problems: list[Problem] = []
        embedded = {entity.type for entity in self.catalogue.entities if entity.path and entity.key_fields}
        for number, source in enumerate(self.definition.config.events):
            where = f"{source_file}: events[{number}]"
            if source.type != self.catalogue.root_type and source.type not in embedded:
                known = sorted(embedded | {self.catalogue.root_type})
                problems.append(
                    Problem(
                        f"{where}.type",
                        f"{source.type} is neither the root type nor a type embedded in the documents with a key "
                        f"(one of {', '.join(known)}); select its key field in the query or add it under keys:",
                    )
                )
                continue
            keys = self._key_fields(source.type)
            if source.id and len(source.id) != len(keys):
                problems.append(
                    Problem(f"{where}.id", f"{source.type}'s key has {len(keys)} field(s) ({', '.join(keys)})")
                )
        if problems:
            raise ConfigError("invalid event sources", problems)
