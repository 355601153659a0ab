"""The one place graphdex builds Kafka clients: librdkafka settings from ``config.kafka``.

Consumers never commit or store offsets on their own (``enable.auto.commit`` and
``enable.auto.offset.store`` are off): the ``StageRunner`` stores an offset only once everything the
message led to is acknowledged. A new consumer group starts at the earliest offset, so nothing that
was written before the group first ran is skipped. Producers are idempotent (``acks=all``): a retried
send never writes a duplicate or reorders a partition.

``kafka.extra`` is passed to every client unchanged and wins over graphdex's defaults, except for the
settings at-least-once delivery depends on (``RESERVED_SETTINGS``), which it may not name.
librdkafka's own log lines go to the standard ``logging`` logger ``graphdex.kafka.librdkafka``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from confluent_kafka import Consumer, KafkaException
from confluent_kafka.admin import AdminClient
from confluent_kafka.schema_registry import SchemaRegistryClient

from schema_gen.config import KafkaSettings
from schema_gen.errors import ConfigError, Problem

LIBRDKAFKA_LOGGER = logging.getLogger("graphdex.kafka.librdkafka")

RESERVED_SETTINGS = frozenset(
    {"group.id", "enable.auto.commit", "enable.auto.offset.store", "enable.idempotence", "acks", "bootstrap.servers"}
)
"""librdkafka settings ``kafka.extra`` may not override: offsets, idempotence and the cluster address."""


BOUNDED_PREFETCH: dict[str, int] = {
    "fetch.max.bytes": 2 * 1024 * 1024,
    "max.partition.fetch.bytes": 512 * 1024,
    "queued.max.messages.kbytes": 8 * 1024,
    "queued.min.messages": 2_000,
}
"""Consumer prefetch limits. A stage takes at most one batch (hundreds of records) per poll; librdkafka's
defaults (50 MB fetches, a 64 MB queue, 100,000 queued messages per partition) let each consumer of a
daemon buffer hundreds of MB of a large backlog of small events. Larger messages still arrive, one at a
time. ``kafka.extra`` may override them."""


@dataclass(frozen=True)
class GroupTimings:
    """How quickly a consumer group notices a dead or stuck member.

    ``max_poll_interval_ms`` bounds how long one batch may take (a stage that takes longer is
    considered stuck and loses its partitions), so it must cover the slowest ``process`` call.
    """

    session_timeout_ms: int = 45_000
    heartbeat_interval_ms: int = 3_000
    max_poll_interval_ms: int = 300_000

    @classmethod
    def from_settings(cls, kafka: KafkaSettings) -> GroupTimings:
        """``kafka.session_timeout`` and ``kafka.max_poll_interval``, with a heartbeat a third of the session."""
        session_ms = round(kafka.session_timeout * 1000)
        return cls(
            session_timeout_ms=session_ms,
            heartbeat_interval_ms=min(3_000, max(1, session_ms // 3)),
            max_poll_interval_ms=round(kafka.max_poll_interval * 1000),
        )

    @classmethod
    def local_stack(cls) -> GroupTimings:
        """Short timeouts for the local stack and tests, where brokers rebalance only after them."""
        return cls(session_timeout_ms=6_000, heartbeat_interval_ms=1_000, max_poll_interval_ms=20_000)

    def problems(self) -> list[Problem]:
        found = []
        if not 0 < self.heartbeat_interval_ms < self.session_timeout_ms:
            found.append(Problem("heartbeat_interval_ms", "must be positive and below session_timeout_ms"))
        if self.max_poll_interval_ms < self.session_timeout_ms:
            found.append(Problem("max_poll_interval_ms", "must be at least session_timeout_ms"))
        return found


def common_config(kafka: KafkaSettings) -> dict[str, Any]:
    """Connection settings shared by every client: bootstrap servers, TLS, SASL and ``kafka.extra``."""
    problems = _settings_problems(kafka)
    if problems:
        raise ConfigError("invalid Kafka settings", problems)
    config: dict[str, Any] = {
        "bootstrap.servers": kafka.bootstrap_servers,
        "security.protocol": kafka.security_protocol,
        "logger": LIBRDKAFKA_LOGGER,
    }
    if kafka.security_protocol.startswith("SASL"):
        config["sasl.mechanism"] = kafka.sasl_mechanism
        if kafka.sasl_username is not None:
            config["sasl.username"] = kafka.sasl_username
            config["sasl.password"] = kafka.sasl_password or ""
    if kafka.ssl_ca_location:
        config["ssl.ca.location"] = kafka.ssl_ca_location
    return config


def consumer_config(kafka: KafkaSettings, group_id: str, timings: GroupTimings | None = None) -> dict[str, Any]:
    """Settings of a stage's consumer: manual offsets, earliest start, the group's timings (from
    ``kafka.session_timeout`` and ``kafka.max_poll_interval`` unless given)."""
    timings = timings or GroupTimings.from_settings(kafka)
    problems = timings.problems()
    if problems:
        raise ConfigError("invalid consumer group timings", problems)
    config = common_config(kafka) | {
        "group.id": group_id,
        "enable.auto.commit": False,
        "enable.auto.offset.store": False,
        "auto.offset.reset": "earliest",
        "session.timeout.ms": timings.session_timeout_ms,
        "heartbeat.interval.ms": timings.heartbeat_interval_ms,
        "max.poll.interval.ms": timings.max_poll_interval_ms,
        "enable.partition.eof": False,
        "fetch.wait.max.ms": round(kafka.fetch_wait_max * 1000),
        **BOUNDED_PREFETCH,
    }
    return config | dict(kafka.extra)


def producer_config(kafka: KafkaSettings) -> dict[str, Any]:
    """Settings of a producer (``producer.TrackedProducer(producer_config(kafka))``): idempotent,
    ``acks=all``, a short linger for batching."""
    config = common_config(kafka) | {
        "enable.idempotence": True,
        "acks": "all",
        "linger.ms": 5,
        "message.timeout.ms": 120_000,
    }
    return config | dict(kafka.extra)


def admin_config(kafka: KafkaSettings) -> dict[str, Any]:
    return common_config(kafka) | dict(kafka.extra)


def build_consumer(kafka: KafkaSettings, group_id: str, timings: GroupTimings | None = None) -> Consumer:
    """A consumer for one stage's group; ``ConfigError`` when librdkafka rejects a setting."""
    config = consumer_config(kafka, group_id, timings)
    try:
        return Consumer(config)
    except KafkaException as exc:
        raise _rejected(exc) from None


def build_admin(kafka: KafkaSettings) -> AdminClient:
    """An admin client for topic management; ``ConfigError`` when librdkafka rejects a setting."""
    try:
        return AdminClient(admin_config(kafka))
    except KafkaException as exc:
        raise _rejected(exc) from None


def build_schema_registry(kafka: KafkaSettings) -> SchemaRegistryClient | None:
    """A client for ``kafka.schema_registry_url`` (``mock://name`` gives an in-memory registry), or None."""
    if not kafka.schema_registry_url:
        return None
    url = kafka.schema_registry_url
    if not url.startswith(("http://", "https://", "mock://")):
        raise ConfigError("invalid Kafka settings", [Problem("kafka.schema_registry_url", "use http(s):// or mock://")])
    return SchemaRegistryClient.new_client({"url": url})


def _settings_problems(kafka: KafkaSettings) -> list[Problem]:
    problems = [
        Problem(f"kafka.extra.{name}", "graphdex sets this itself (offsets and idempotence keep at-least-once)")
        for name in sorted(RESERVED_SETTINGS & set(kafka.extra))
    ]
    sasl = kafka.security_protocol.startswith("SASL")
    if sasl and not kafka.sasl_mechanism:
        problems.append(Problem("kafka.sasl_mechanism", f"required with security_protocol {kafka.security_protocol}"))
    if sasl and kafka.sasl_mechanism in ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512") and not kafka.sasl_username:
        problems.append(Problem("kafka.sasl_username", f"required with sasl_mechanism {kafka.sasl_mechanism}"))
    if not sasl:
        for key in ("sasl_mechanism", "sasl_username", "sasl_password"):
            if getattr(kafka, key) is not None:
                problems.append(
                    Problem(f"kafka.{key}", f"set, but security_protocol {kafka.security_protocol} does not use SASL")
                )
    if kafka.ssl_ca_location and not kafka.security_protocol.endswith("SSL"):
        problems.append(
            Problem("kafka.ssl_ca_location", f"set, but security_protocol {kafka.security_protocol} does not use TLS")
        )
    return problems


def _rejected(exc: KafkaException) -> ConfigError:
    error = exc.args[0] if exc.args else exc
    message = error.str() if hasattr(error, "str") else str(error)
    return ConfigError("librdkafka rejected the Kafka settings", [Problem("kafka.extra", message)])
