"""graphdex's schema registry path against a real registry (the local stack's Apicurio Registry, through
its Confluent-compatible API), where the unit tests use confluent-kafka's in-process ``mock://`` one.

* the document codec: Confluent wire format that Confluent's own Avro serde reads and writes, schemas
  fetched by id by another client (as another process would), an incompatible schema refused;
* ``graphdex apply | plan | run`` as installed, configured as ``graphdex dev up --registry``
  configures a shell (``GRAPHDEX_SCHEMA_REGISTRY_URL``, read by configs/movies.yaml): the subject
  registered, an incompatible change reported and refused, the daemon's start-up subject check;
* the daemon (``graphdex run``) writing a document in wire format that its sink reads back.
"""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import NewTopic
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext

from demo.data.fixtures import LEON
from demo.stack import LocalStack
from indexer.definition import load_definition
from indexer.kafka.clients import build_admin
from indexer.kafka.document_codec import CONFLUENT_MAGIC, DocumentCodec
from indexer.kafka.topics import TopicLayout
from indexer.provision.desired import DesiredIndex
from schema_gen.errors import DocumentError, ServiceError
from tests.indexer.daemon.daemon_process import DaemonProcess
from tests.stack_definitions import write_movies_definition

pytestmark = pytest.mark.integration

GRAPHDEX = str(Path(sys.executable).with_name("graphdex"))
MOVIE = {
    "type": "record",
    "name": "Movie",
    "namespace": "graphdex.test",
    "fields": [
        {"name": "id", "type": "string"},
        {"name": "title", "type": ["null", "string"], "default": None},
        {"name": "year", "type": "int"},
    ],
}
RETYPED = {**MOVIE, "fields": [MOVIE["fields"][0], MOVIE["fields"][1], {"name": "year", "type": "string"}]}
DOCUMENT = {"id": "m1", "title": "Amélie", "year": 2001}
DATETIME_AS_TIMESTAMP = {"scalars": {"DateTime": {"avro": "timestamp-millis", "index": "date"}}}
"""An incompatible change: documents written with ISO strings cannot be read as timestamps."""


def client(url: str) -> SchemaRegistryClient:
    """A new client, with nothing cached (as in another process)."""
    return SchemaRegistryClient({"url": url})


def latest_registered(url: str, subject: str) -> httpx.Response:
    return httpx.get(f"{url}/subjects/{subject}/versions/latest", timeout=30)


# --- the document codec -------------------------------------------------------------------------


def test_documents_in_wire_format_round_trip_with_confluent_serdes(schema_registry_url: str, unique_name: str):
    """graphdex's encoding is ``00`` + the id the registry gave its subject + the body: Confluent's Avro
    deserializer reads it, a codec with a fresh client reads it (fetching the schema by id), and the
    codec reads what Confluent's serializer writes."""
    codec = DocumentCodec(MOVIE, topic=unique_name, registry=client(schema_registry_url))
    encoded = codec.encode(DOCUMENT)
    latest = latest_registered(schema_registry_url, f"{unique_name}-value").json()
    assert encoded[:5] == CONFLUENT_MAGIC + struct.pack(">I", latest["id"])
    assert json.loads(latest["schema"]) == MOVIE

    context = SerializationContext(unique_name, MessageField.VALUE)
    assert AvroDeserializer(client(schema_registry_url))(encoded, context) == DOCUMENT
    reader = DocumentCodec(MOVIE, topic=unique_name, registry=client(schema_registry_url))
    assert reader.decode(encoded) == DOCUMENT

    other_topic = f"{unique_name}-confluent"
    serializer = AvroSerializer(client(schema_registry_url), json.dumps(MOVIE))
    written = serializer(DOCUMENT, SerializationContext(other_topic, MessageField.VALUE))
    assert reader.decode(written, "message 0") == DOCUMENT


def test_an_unknown_schema_id_is_a_document_error(schema_registry_url: str, unique_name: str):
    """A wire-format message whose schema id the registry does not know is a bad document, not an outage."""
    codec = DocumentCodec(MOVIE, topic=unique_name, registry=client(schema_registry_url))
    body = codec.encode(DOCUMENT)[5:]
    with pytest.raises(DocumentError, match=r"message 7: schema id 999999 is not in the schema registry"):
        codec.decode(CONFLUENT_MAGIC + struct.pack(">I", 999_999) + body, "message 7")


def test_an_incompatible_schema_is_refused_by_the_registry(schema_registry_url: str, unique_name: str):
    """The registry's BACKWARD rule refuses a schema that cannot read the subject's documents: encoding
    fails with the subject, the registry's reason and HTTP 409, and the subject keeps one version."""
    DocumentCodec(MOVIE, topic=unique_name, registry=client(schema_registry_url)).encode(DOCUMENT)
    retyped = DocumentCodec(RETYPED, topic=unique_name, registry=client(schema_registry_url))
    with pytest.raises(ServiceError) as refused:
        retyped.encode({**DOCUMENT, "year": "2001"})
    message = str(refused.value)
    assert message.startswith(f"the schema registry refused the document schema for subject {unique_name}-value: ")
    assert "reader type: STRING not compatible with writer type: INT" in message
    assert message.endswith("(HTTP 409)")
    versions = httpx.get(f"{schema_registry_url}/subjects/{unique_name}-value/versions", timeout=30).json()
    assert versions == [1]


# --- graphdex apply | plan | run --------------------------------------------------------------


def graphdex(stack: LocalStack, *args: Any) -> subprocess.CompletedProcess[str]:
    """The installed ``graphdex`` in the environment ``eval "$(graphdex dev up --registry)"`` sets."""
    environment = {**os.environ, **stack.endpoints.environment(schema_registry=True)}
    environment.pop("GRAPHDEX_SKIP_PROVISION_CHECK", None)
    argv = [GRAPHDEX, *(str(arg) for arg in args)]
    return subprocess.run(argv, capture_output=True, text=True, env=environment, timeout=300)


@pytest.fixture
def registry_stack(local_stack: LocalStack, schema_registry_url: str) -> LocalStack:
    """The whole shared stack with the registry running too."""
    assert local_stack.endpoints.schema_registry_url == schema_registry_url
    return local_stack


def test_apply_registers_the_subject_and_run_checks_it(registry_stack: LocalStack, tmp_path: Path, unique_name: str):
    """With GRAPHDEX_SCHEMA_REGISTRY_URL set, configs/movies.yaml uses the registry: apply registers the
    document schema under the documents topic's subject; plan then finds nothing to do; the
    daemon's start-up check reads the real registry (no "not checked" note) and starts.
    Once the subject is deleted behind graphdex's back, the daemon refuses to start, naming it."""
    url = registry_stack.endpoints.schema_registry_url
    assert url is not None
    path = write_movies_definition(tmp_path, unique_name)
    definition = load_definition(path, env=registry_stack.endpoints.environment(schema_registry=True))
    assert definition.config.kafka.schema_registry_url == url
    desired = DesiredIndex.from_definition(definition)
    assert desired.subject == f"{TopicLayout.from_config(definition.config).documents}-value"

    applied = graphdex(registry_stack, "apply", path, "--no-progress", "--checkpoints", tmp_path / "checkpoints")
    assert applied.returncode == 0, applied.stderr
    assert f"register {desired.subject} (first version)" in applied.stdout
    latest = latest_registered(url, desired.subject).json()
    assert (latest["version"], json.loads(latest["schema"])) == (1, json.loads(desired.avro_text()))

    planned = graphdex(registry_stack, "plan", path)
    assert planned.returncode == 0, planned.stderr
    assert "No changes: the cluster matches the definition." in planned.stdout

    started = graphdex(registry_stack, "run", path, "--for", "2")
    assert started.returncode == 0, started.stderr
    assert "not checked" not in started.stderr

    assert httpx.delete(f"{url}/subjects/{desired.subject}", timeout=30).status_code == 200
    refused = graphdex(registry_stack, "run", path, "--for", "2")
    assert refused.returncode == 1
    assert f"schema registry subject {desired.subject} has no version (the document schema)" in refused.stderr
    assert f"`graphdex apply {path}`" in refused.stderr
    assert "Traceback" not in refused.stderr


def test_an_incompatible_document_schema_is_reported_and_not_applied(
    registry_stack: LocalStack, tmp_path: Path, unique_name: str
):
    """After an apply, a definition whose documents could not read those already written (DateTime as
    timestamps instead of ISO strings): plan exits 1 naming the subject and why it cannot read the
    registered version, apply refuses and changes nothing, and the registry still holds one version."""
    url = registry_stack.endpoints.schema_registry_url
    assert url is not None
    path = write_movies_definition(tmp_path, unique_name)
    applied = graphdex(registry_stack, "apply", path, "--no-progress", "--checkpoints", tmp_path / "checkpoints")
    assert applied.returncode == 0, applied.stderr
    subject = DesiredIndex.from_definition(
        load_definition(path, env=registry_stack.endpoints.environment(schema_registry=True))
    ).subject

    changed = write_movies_definition(tmp_path, unique_name, DATETIME_AS_TIMESTAMP)
    planned = graphdex(registry_stack, "plan", changed)
    assert planned.returncode == 1
    report = " ".join((planned.stdout + planned.stderr).split())
    assert f"schema registry subject {subject}" in report
    assert "(NOT backward compatible with version 1)" in report
    assert "not backward compatible: reader type: long not compatible with writer type: string" in report

    refused = graphdex(registry_stack, "apply", changed, "--no-progress", "--checkpoints", tmp_path / "checkpoints")
    assert refused.returncode == 2  # an invalid definition, as graphdex reports it
    assert f"nothing was changed; fix these before applying {unique_name}" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert httpx.get(f"{url}/subjects/{subject}/versions", timeout=30).json() == [1]


# --- the daemon ---------------------------------------------------------------------------------


def test_the_daemon_writes_wire_format_documents_its_sink_reads(
    registry_stack: LocalStack, tmp_path: Path, unique_name: str
):
    """``graphdex run`` with the registry: an event for one movie is fetched, written to the documents
    topic in Confluent wire format under the registered subject's schema id (Confluent's deserializer
    reads it), and the sink, decoding it through the registry, puts the movie back into the index."""
    url = registry_stack.endpoints.schema_registry_url
    assert url is not None
    events = f"{unique_name}.events"
    overrides = {"kafka": {"schema_registry_url": url}}
    path = write_movies_definition(
        tmp_path, unique_name, overrides, extra_events=[{"topic": events, "type": "Movie", "format": "json"}]
    )
    definition = load_definition(path, env=registry_stack.endpoints.environment())
    admin = build_admin(definition.config.kafka)
    for future in admin.create_topics([NewTopic(events, 1, 1)]).values():
        future.result()
    applied = graphdex(registry_stack, "apply", path, "--no-progress", "--checkpoints", tmp_path / "checkpoints")
    assert applied.returncode == 0, applied.stderr

    document = f"{registry_stack.endpoints.search_url}/{unique_name}-1/_doc/{LEON}"
    assert httpx.delete(f"{document}?refresh=true", timeout=30).status_code == 200
    assert httpx.get(document, timeout=30).status_code == 404
    daemon = DaemonProcess.start(path, registry_stack, tmp_path / "daemon.log")
    try:
        daemon.wait_until_ready(timeout=60)
        producer = Producer({"bootstrap.servers": registry_stack.endpoints.kafka_bootstrap})
        producer.produce(events, key=LEON.encode(), value=json.dumps({"movieId": LEON}).encode())
        assert producer.flush(30) == 0
        deadline = time.monotonic() + 30
        while httpx.get(document, timeout=30).status_code != 200:
            assert time.monotonic() < deadline, f"the movie never came back:\n{daemon.output()}"
            time.sleep(0.2)
    finally:
        daemon.stop()

    subject_id = latest_registered(url, DesiredIndex.from_definition(definition).subject).json()["id"]
    message = read_one(registry_stack, TopicLayout.from_config(definition.config).documents, LEON)
    assert message[:5] == CONFLUENT_MAGIC + struct.pack(">I", subject_id)
    context = SerializationContext(TopicLayout.from_config(definition.config).documents, MessageField.VALUE)
    assert AvroDeserializer(client(url))(message, context)["movieId"] == LEON


def read_one(stack: LocalStack, topic: str, key: str, timeout: float = 30.0) -> bytes:
    """The value of the first message keyed ``key`` on partition-wide reads of ``topic`` from the start."""
    consumer = Consumer(
        {"bootstrap.servers": stack.endpoints.kafka_bootstrap, "group.id": f"reader-{uuid.uuid4().hex}"}
    )
    try:
        partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        consumer.assign([TopicPartition(topic, partition, 0) for partition in partitions])
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is not None and message.error() is None and message.key() == key.encode():
                value = message.value()
                assert value is not None
                return value
        raise AssertionError(f"no message keyed {key} on {topic} within {timeout}s")
    finally:
        consumer.close()
