"""Avro document encoding: single-object encoding, Confluent wire format with a mock registry."""

from __future__ import annotations

import struct

import pytest
from confluent_kafka.schema_registry import SchemaRegistryClient

from indexer.kafka.document_codec import (
    CONFLUENT_MAGIC,
    SINGLE_OBJECT_MAGIC,
    DocumentCodec,
    schema_fingerprint,
)
from schema_gen.errors import DocumentError, ServiceError

TOPIC = "graphdex.movies.documents"
MOVIE_V1 = {
    "type": "record",
    "name": "Movie",
    "namespace": "graphdex.movies",
    "fields": [
        {"name": "id", "type": "string"},
        {"name": "title", "type": ["null", "string"], "default": None},
        {"name": "year", "type": "int"},
        {"name": "genres", "type": {"type": "array", "items": "string"}},
        {
            "name": "talent",
            "type": {
                "type": "array",
                "items": {
                    "type": "record",
                    "name": "Talent",
                    "fields": [{"name": "id", "type": "string"}, {"name": "name", "type": "string"}],
                },
            },
        },
    ],
}
MOVIE_V2 = {
    **MOVIE_V1,
    "fields": [*MOVIE_V1["fields"], {"name": "rating", "type": ["null", "double"], "default": None}],
}
DOCUMENT = {
    "id": "m1",
    "title": "Amélie",
    "year": 2001,
    "genres": ["comedy", "romance"],
    "talent": [{"id": "t9", "name": "Audrey Tautou"}],
}


def registry(name: str) -> SchemaRegistryClient:
    return SchemaRegistryClient.new_client({"url": f"mock://{name}"})


@pytest.mark.parametrize(
    ("schema", "expected"),
    [("null", 7195948357588979594), ("int", 8247732601305521295), ("boolean", -6970731678124411036)],
)
def test_fingerprint_matches_the_avro_specification(schema, expected):
    """CRC-64-AVRO fingerprints equal the Avro spec's test vectors, stored little-endian."""
    assert schema_fingerprint(schema) == struct.pack("<q", expected)


def test_fingerprint_ignores_formatting_and_docs():
    """Two spellings of one schema (key order, doc strings) have one fingerprint."""
    reordered = {"fields": MOVIE_V1["fields"], "namespace": "graphdex.movies", "name": "Movie", "type": "record"}
    documented = {**MOVIE_V1, "doc": "A movie."}
    assert schema_fingerprint(reordered) == schema_fingerprint(MOVIE_V1) == schema_fingerprint(documented)
    assert schema_fingerprint(MOVIE_V2) != schema_fingerprint(MOVIE_V1)


def test_single_object_round_trip():
    """Without a registry a document is C3 01, the fingerprint, then the Avro body, and decodes back."""
    codec = DocumentCodec(MOVIE_V1, topic=TOPIC)
    data = codec.encode(DOCUMENT)
    assert data[:2] == SINGLE_OBJECT_MAGIC
    assert data[2:10] == schema_fingerprint(MOVIE_V1) == codec.fingerprint
    assert codec.decode(data) == DOCUMENT


def test_missing_optional_fields_take_their_defaults():
    """A document without a nullable field encodes it as null."""
    codec = DocumentCodec(MOVIE_V1, topic=TOPIC)
    document = {key: value for key, value in DOCUMENT.items() if key != "title"}
    assert codec.decode(codec.encode(document))["title"] is None


def test_older_single_object_documents_decode_into_the_current_shape():
    """A document written with a known older schema reads with the current one (new field at its default)."""
    old = DocumentCodec(MOVIE_V1, topic=TOPIC).encode(DOCUMENT)
    current = DocumentCodec(MOVIE_V2, topic=TOPIC, known_schemas=[MOVIE_V1])
    assert current.decode(old) == {**DOCUMENT, "rating": None}


def test_unknown_fingerprint_is_a_document_error():
    """A single-object document from a schema the codec does not know names the fingerprint."""
    old = DocumentCodec(MOVIE_V1, topic=TOPIC).encode(DOCUMENT)
    with pytest.raises(
        DocumentError, match=r"docs\[0\]@5: written with an unknown schema \(fingerprint [0-9a-f]{16}\)"
    ):
        DocumentCodec(MOVIE_V2, topic=TOPIC).decode(old, "docs[0]@5")


def test_registry_round_trip_registers_under_the_topic_subject():
    """With a registry a document is 00, the schema id, then the body; the schema is registered once."""
    client = registry("codec-round-trip")
    codec = DocumentCodec(MOVIE_V1, topic=TOPIC, registry=client)
    first, second = codec.encode(DOCUMENT), codec.encode({**DOCUMENT, "id": "m2"})
    assert first[:1] == CONFLUENT_MAGIC
    (schema_id,) = struct.unpack(">I", first[1:5])
    assert second[1:5] == first[1:5]
    assert client.get_subjects() == [f"{TOPIC}-value"]
    assert client.get_latest_version(f"{TOPIC}-value").schema_id == schema_id
    assert codec.decode(first) == DOCUMENT


def test_registry_documents_decode_with_a_fresh_codec_looking_up_the_schema():
    """A reader that never wrote fetches the writer schema by id and resolves it to its own."""
    client = registry("codec-reader")
    data = DocumentCodec(MOVIE_V1, topic=TOPIC, registry=client).encode(DOCUMENT)
    reader = DocumentCodec(MOVIE_V2, topic=TOPIC, registry=client)
    assert reader.decode(data) == {**DOCUMENT, "rating": None}


def test_a_registry_codec_still_reads_single_object_documents():
    """Switching to a registry keeps the documents already on the topic readable."""
    old = DocumentCodec(MOVIE_V1, topic=TOPIC).encode(DOCUMENT)
    assert DocumentCodec(MOVIE_V1, topic=TOPIC, registry=registry("codec-switch")).decode(old) == DOCUMENT


def test_confluent_framing_without_a_registry_is_explained():
    """A wire-format document read without a registry says which setting is missing."""
    data = DocumentCodec(MOVIE_V1, topic=TOPIC, registry=registry("codec-no-reader")).encode(DOCUMENT)
    with pytest.raises(DocumentError, match=r"schema id \d+\) but kafka.schema_registry_url is not set"):
        DocumentCodec(MOVIE_V1, topic=TOPIC).decode(data)


def test_unknown_schema_id_is_a_document_error():
    """A schema id the registry does not have is reported with the id."""
    codec = DocumentCodec(MOVIE_V1, topic=TOPIC, registry=registry("codec-unknown-id"))
    with pytest.raises(DocumentError, match="schema id 4242 is not in the schema registry"):
        codec.decode(CONFLUENT_MAGIC + struct.pack(">I", 4242) + b"\x02")


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"year": "2001"}, "document 'm1': does not fit the Avro schema: .*year"),
        ({"genres": [1]}, "document 'm1': does not fit the Avro schema"),
        ({"unexpected": 1}, "document 'm1': does not fit the Avro schema: .*unexpected"),
        ({"id": 7}, "document 7: does not fit the Avro schema: .*id"),
    ],
)
def test_documents_that_do_not_fit_name_the_document(change, expected):
    """Encoding a document that does not fit the schema raises DocumentError naming its id and field."""
    with pytest.raises(DocumentError, match=expected):
        DocumentCodec(MOVIE_V1, topic=TOPIC).encode({**DOCUMENT, **change})


def test_missing_required_field_is_named():
    """A required field absent from the document is named."""
    document = {key: value for key, value in DOCUMENT.items() if key != "year"}
    with pytest.raises(DocumentError, match="Field year is specified in the schema but missing"):
        DocumentCodec(MOVIE_V1, topic=TOPIC).encode(document)


@pytest.mark.parametrize(
    ("mangle", "expected"),
    [
        (lambda data: b"", "not an Avro document"),
        (lambda data: b"{}", "not an Avro document \\(starts with 7b7d"),
        (lambda data: data[:6], "truncated single-object header"),
        (lambda data: data[:-3], "the Avro body does not decode"),
        (lambda data: data + b"\x00", "1 bytes left after the Avro body"),
        (lambda data: CONFLUENT_MAGIC + b"\x00", "truncated Confluent wire-format header"),
    ],
)
def test_damaged_messages_are_document_errors(mangle, expected):
    """Messages that are not whole documents raise DocumentError naming the message."""
    data = DocumentCodec(MOVIE_V1, topic=TOPIC).encode(DOCUMENT)
    with pytest.raises(DocumentError, match=f"^docs\\[1\\]@2: {expected}"):
        DocumentCodec(MOVIE_V1, topic=TOPIC).decode(mangle(data), "docs[1]@2")


def test_an_unparseable_schema_is_a_document_error():
    """A schema fastavro cannot parse is reported, not raised as a fastavro exception."""
    with pytest.raises(DocumentError, match="the document Avro schema cannot be parsed"):
        DocumentCodec({"type": "record", "name": "Movie", "fields": [{"name": "x", "type": "nope"}]}, topic=TOPIC)


def test_an_unreachable_registry_is_a_service_error():
    """A registry that cannot be reached is a ServiceError pointing at the setting, not a transport exception."""
    client = SchemaRegistryClient.new_client({"url": "http://127.0.0.1:1", "max.retries": 0})
    with pytest.raises(ServiceError, match=r"schema registry \(kafka.schema_registry_url\) is unreachable"):
        DocumentCodec(MOVIE_V1, topic=TOPIC, registry=client).encode(DOCUMENT)
