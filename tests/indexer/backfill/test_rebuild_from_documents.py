"""Rebuilding an index from the documents topic on the local stack: no gateway request, the newest
version of each document wins, tombstones delete, and a stopped rebuild resumes where it stopped."""

from __future__ import annotations

import threading

import pytest

from indexer.backfill import CheckpointStore
from indexer.backfill.documents_topic import rebuild_from_documents
from indexer.fetch import DocumentFetcher, Fetched
from indexer.kafka.clients import build_admin, producer_config
from indexer.kafka.document_codec import DocumentCodec
from indexer.kafka.producer import TrackedProducer
from indexer.kafka.topics import TopicLayout, ensure_topics, topic_specs
from indexer.messages import OutgoingRecord, document_headers
from schema_gen.artifacts import generate_artifacts
from schema_gen.avro import METADATA_FIELD
from schema_gen.errors import ServiceError

from .conftest import gateway_ids, iter_documents, stored_ids

pytestmark = pytest.mark.integration


def without_metadata(document):
    """A document without graphdex's metadata (Avro gives ``fetched_at`` back as a datetime)."""
    return {key: value for key, value in document.items() if key != METADATA_FIELD}


class StopAfterChecks(threading.Event):
    """A stop event that reads as set from its ``n``-th check on (a Ctrl-C after n - 1 chunks)."""

    def __init__(self, n: int) -> None:
        super().__init__()
        self._left = n

    def is_set(self) -> bool:
        self._left -= 1
        return self._left <= 0 or super().is_set()


@pytest.fixture
def documents_topic(stack_definition, unique_name):
    """A definition whose documents topic (two partitions) holds every movie the daemon would have
    written, plus out-of-order older versions and a deleted movie; yields (definition, expected)."""
    definition = stack_definition(
        {"kafka": {"topic_prefix": unique_name, "partitions": 2}, "sink": {"max_actions": 40, "max_wait": "50ms"}}
    )
    config = definition.config
    ensure_topics(build_admin(config.kafka), topic_specs(config))
    layout = TopicLayout.from_config(config)
    codec = DocumentCodec(generate_artifacts(definition.model, config).avro, topic=layout.documents)
    ids = gateway_ids(config.graph.url)
    with DocumentFetcher.for_index(definition.model, config) as fetcher:
        fetched = [o for o in fetcher.fetch(ids) if isinstance(o, Fetched)]
    deleted = fetched[0].id
    records = [
        OutgoingRecord(layout.documents, o.id.encode(), codec.encode(o.document), document_headers(o.version, None))
        for o in fetched
    ]
    records += [  # older fetches arriving later must not win
        OutgoingRecord(
            layout.documents, o.id.encode(), codec.encode({**o.document, "title": "STALE"}), document_headers(5, None)
        )
        for o in fetched[1:11]
    ]
    tombstone = document_headers(fetched[0].version + 1, 7)
    records.append(OutgoingRecord(layout.documents, deleted.encode(), None, tombstone))
    producer = TrackedProducer(producer_config(config.kafka))
    try:
        assert producer.batch().produce_all(records).wait(30)
    finally:
        producer.close()
    expected = {o.id: o.document for o in fetched if o.id != deleted}
    return definition, expected, len(records)


def test_rebuild_equals_the_source_without_gateway_requests(documents_topic, target_index, search_store, tmp_path):
    """Every document on the topic lands at its newest version; the deleted movie is absent."""
    definition, expected, messages = documents_topic
    target = target_index(definition)
    store = CheckpointStore.for_backfill(definition.config.index, target, tmp_path)
    summary = rebuild_from_documents(
        definition, target_index=target, checkpoint=store, progress=False, store=search_store
    )
    assert summary.completed
    assert summary.gateway_requests == 0
    assert summary.enumerated == messages
    assert summary.failed == 0
    assert summary.noop >= 10
    assert sorted(stored_ids(search_store, target)) == sorted(expected)
    stored = {doc_id: source for doc_id, source, _ in iter_documents(search_store, target, sorted(expected))}
    assert {key: without_metadata(doc) for key, doc in stored.items()} == {
        key: without_metadata(doc) for key, doc in expected.items()
    }
    assert store.load().finished


def test_a_stopped_rebuild_resumes_from_its_offsets(documents_topic, target_index, search_store, tmp_path):
    """Stopped after the first chunk, the rebuild continues from the saved offsets and ends the same."""
    definition, expected, messages = documents_topic
    target = target_index(definition)
    store = CheckpointStore.for_backfill(definition.config.index, target, tmp_path)
    first = rebuild_from_documents(
        definition, target_index=target, checkpoint=store, progress=False, store=search_store, stop=StopAfterChecks(2)
    )
    assert not first.completed
    assert 0 < first.enumerated < messages
    second = rebuild_from_documents(
        definition, target_index=target, checkpoint=store, progress=False, store=search_store
    )
    assert second.completed
    assert second.resumed_from == first.enumerated
    assert first.enumerated + second.enumerated == messages
    assert sorted(stored_ids(search_store, target)) == sorted(expected)


def test_a_missing_documents_topic_is_a_clear_error(
    stack_definition, target_index, search_store, tmp_path, unique_name
):
    """Without the daemon's documents topic there is nothing to rebuild from."""
    definition = stack_definition({"kafka": {"topic_prefix": f"{unique_name}-none"}})
    target = target_index(definition)
    store = CheckpointStore.for_backfill(definition.config.index, target, tmp_path)
    with pytest.raises(ServiceError, match=r"there is no documents topic .*-none\.movies\.documents"):
        rebuild_from_documents(definition, target_index=target, checkpoint=store, progress=False, store=search_store)
