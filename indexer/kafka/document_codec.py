"""Avro encoding of documents on the documents topic, with or without a schema registry.

Two framings of the same Avro binary body (written and read with fastavro):

- **Confluent wire format** when ``kafka.schema_registry_url`` is set: ``00`` + the schema id as a
  4-byte big-endian integer + the body. The document schema is registered under the subject
  ``<documents topic>-value`` (the topic-name strategy) on first use.
- **Avro single-object encoding** without a registry: ``C3 01`` + the schema's 8-byte little-endian
  CRC-64-AVRO fingerprint (of its parsing canonical form) + the body.

Decoding accepts both framings whichever one the codec writes, so switching a deployment to or from a
registry never strands the documents already on the topic. Every body is read with the codec's
schema as the reader schema, so documents written with an older compatible schema decode into the
current shape. Older schemas for single-object documents are given as ``known_schemas``.

Errors: ``DocumentError`` for a document that does not fit the schema or a message that is not a
document; ``ServiceError`` when the registry is unreachable or refuses the schema.
"""

from __future__ import annotations

import io
import json
import struct
from collections.abc import Iterable, Mapping
from typing import Any

import fastavro
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from confluent_kafka.schema_registry.error import SchemaRegistryError
from fastavro.schema import fingerprint, to_parsing_canonical_form

from schema_gen.errors import DocumentError, ServiceError

SINGLE_OBJECT_MAGIC = b"\xc3\x01"
CONFLUENT_MAGIC = b"\x00"
_SINGLE_OBJECT_HEADER = len(SINGLE_OBJECT_MAGIC) + 8
_CONFLUENT_HEADER = 5


def schema_fingerprint(schema: Mapping[str, Any] | str) -> bytes:
    """The 8-byte little-endian CRC-64-AVRO fingerprint of a schema, as single-object encoding writes it."""
    canonical = to_parsing_canonical_form(fastavro.parse_schema(schema))
    return bytes.fromhex(fingerprint(canonical, "CRC-64-AVRO"))


class DocumentCodec:
    """Encodes documents of one index for its documents topic and decodes them again."""

    def __init__(
        self,
        schema: Mapping[str, Any],
        *,
        topic: str,
        registry: SchemaRegistryClient | None = None,
        known_schemas: Iterable[Mapping[str, Any]] = (),
        id_field: str = "id",
    ) -> None:
        try:
            self._schema = fastavro.parse_schema(dict(schema))
        except (fastavro.schema.SchemaParseException, TypeError, ValueError, KeyError) as exc:
            raise DocumentError(f"the document Avro schema cannot be parsed: {exc}") from None
        self._schema_json = json.dumps(schema, sort_keys=True)
        self._topic = topic
        self._id_field = id_field
        self._registry = registry
        self._registered_id: int | None = None
        self._registry_writers: dict[int, Any] = {}
        self.fingerprint = schema_fingerprint(self._schema)
        self._writers: dict[bytes, Any] = {self.fingerprint: self._schema}
        for older in known_schemas:
            parsed = fastavro.parse_schema(dict(older))
            self._writers.setdefault(schema_fingerprint(parsed), parsed)

    @property
    def subject(self) -> str:
        """The registry subject of the document schema (topic-name strategy)."""
        return f"{self._topic}-value"

    def encode(self, document: Mapping[str, Any]) -> bytes:
        """The framed Avro encoding of ``document`` (a rendered document's source)."""
        header = self._confluent_header() if self._registry is not None else SINGLE_OBJECT_MAGIC + self.fingerprint
        buffer = io.BytesIO()
        buffer.write(header)
        try:
            fastavro.schemaless_writer(buffer, self._schema, dict(document), strict_allow_default=True)
        except (TypeError, ValueError, KeyError, AttributeError, OverflowError, struct.error) as exc:
            document_id = document.get(self._id_field, "(without id)")
            raise DocumentError(f"document {document_id!r}: does not fit the Avro schema: {exc}") from None
        return buffer.getvalue()

    def decode(self, data: bytes, where: str = "document") -> dict[str, Any]:
        """The document in ``data`` (either framing); ``where`` names the message in errors."""
        if data.startswith(SINGLE_OBJECT_MAGIC):
            if len(data) < _SINGLE_OBJECT_HEADER:
                raise DocumentError(f"{where}: truncated single-object header")
            found = data[len(SINGLE_OBJECT_MAGIC) : _SINGLE_OBJECT_HEADER]
            writer = self._writers.get(found)
            if writer is None:
                raise DocumentError(
                    f"{where}: written with an unknown schema (fingerprint {found.hex()}); "
                    "regenerate the artifacts or pass the older schema as a known schema"
                )
            return self._read(data[_SINGLE_OBJECT_HEADER:], writer, where)
        if data.startswith(CONFLUENT_MAGIC):
            if len(data) < _CONFLUENT_HEADER:
                raise DocumentError(f"{where}: truncated Confluent wire-format header")
            (schema_id,) = struct.unpack(">I", data[1:_CONFLUENT_HEADER])
            return self._read(data[_CONFLUENT_HEADER:], self._registry_writer(schema_id, where), where)
        raise DocumentError(
            f"{where}: not an Avro document (starts with {data[:2].hex() or 'nothing'}, "
            "expected c301 single-object or 00 Confluent framing)"
        )

    def _read(self, body: bytes, writer: Any, where: str) -> dict[str, Any]:
        buffer = io.BytesIO(body)
        try:
            record = fastavro.schemaless_reader(buffer, writer, self._schema)
        except (EOFError, StopIteration, ValueError, TypeError, IndexError, UnicodeDecodeError, KeyError) as exc:
            raise DocumentError(f"{where}: the Avro body does not decode: {str(exc) or type(exc).__name__}") from None
        except fastavro.read.SchemaResolutionError as exc:
            raise DocumentError(f"{where}: written with a schema the current one cannot read: {exc}") from None
        if buffer.tell() != len(body):
            raise DocumentError(f"{where}: {len(body) - buffer.tell()} bytes left after the Avro body")
        if not isinstance(record, dict):
            raise DocumentError(f"{where}: the Avro body is not a record")
        return record

    def _confluent_header(self) -> bytes:
        if self._registered_id is None:
            assert self._registry is not None
            try:
                self._registered_id = self._registry.register_schema(self.subject, Schema(self._schema_json, "AVRO"))
            except SchemaRegistryError as exc:
                raise ServiceError(
                    f"the schema registry refused the document schema for subject {self.subject}: "
                    f"{exc.error_message} (HTTP {exc.http_status_code})"
                ) from None
            except Exception as exc:  # the registry client's transport errors have no public base class
                raise ServiceError(f"the schema registry (kafka.schema_registry_url) is unreachable: {exc}") from exc
            self._registry_writers[self._registered_id] = self._schema
        return CONFLUENT_MAGIC + struct.pack(">I", self._registered_id)

    def _registry_writer(self, schema_id: int, where: str) -> Any:
        writer = self._registry_writers.get(schema_id)
        if writer is not None:
            return writer
        if self._registry is None:
            raise DocumentError(
                f"{where}: in Confluent wire format (schema id {schema_id}) but kafka.schema_registry_url is not set"
            )
        try:
            schema = self._registry.get_schema(schema_id)
        except SchemaRegistryError as exc:
            if exc.http_status_code == 404:
                raise DocumentError(f"{where}: schema id {schema_id} is not in the schema registry") from None
            raise ServiceError(
                f"the schema registry refused to return schema {schema_id}: {exc.error_message}"
            ) from None
        except Exception as exc:  # the registry client's transport errors have no public base class
            raise ServiceError(f"the schema registry (kafka.schema_registry_url) is unreachable: {exc}") from exc
        if schema.schema_type not in (None, "AVRO"):
            raise DocumentError(f"{where}: schema id {schema_id} is a {schema.schema_type} schema, not Avro")
        try:
            writer = fastavro.parse_schema(json.loads(schema.schema_str))
        except (ValueError, TypeError, KeyError, fastavro.schema.SchemaParseException) as exc:
            raise DocumentError(f"{where}: schema id {schema_id} is not a valid Avro schema: {exc}") from None
        self._registry_writers[schema_id] = writer
        return writer
