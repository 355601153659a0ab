"""librdkafka settings built from the kafka section (no broker needed)."""

from __future__ import annotations

import logging

import pytest
from confluent_kafka.schema_registry import SchemaRegistryClient

from indexer.kafka.clients import (
    LIBRDKAFKA_LOGGER,
    GroupTimings,
    admin_config,
    build_admin,
    build_consumer,
    build_schema_registry,
    common_config,
    consumer_config,
    producer_config,
)
from schema_gen.errors import ConfigError
from tests.indexer.kafka.definitions import index_config


def test_consumer_never_commits_or_stores_offsets_itself():
    """Consumers leave offsets to the runner and start new groups at the earliest offset."""
    config = consumer_config(index_config(bootstrap_servers="k1:9092,k2:9092").kafka, "g")
    assert config["bootstrap.servers"] == "k1:9092,k2:9092"
    assert config["group.id"] == "g"
    assert config["enable.auto.commit"] is False
    assert config["enable.auto.offset.store"] is False
    assert config["auto.offset.reset"] == "earliest"
    assert config["logger"] is LIBRDKAFKA_LOGGER


def test_consumer_timings_come_from_the_kafka_section():
    """kafka.session_timeout and kafka.max_poll_interval set the group timings, heartbeat a third of the session."""
    default = consumer_config(index_config().kafka, "g")
    assert (default["session.timeout.ms"], default["max.poll.interval.ms"]) == (45_000, 300_000)
    local = consumer_config(index_config(session_timeout="6s", max_poll_interval="20s").kafka, "g")
    assert (local["session.timeout.ms"], local["heartbeat.interval.ms"], local["max.poll.interval.ms"]) == (
        6000,
        2000,
        20_000,
    )


def test_local_stack_timings_are_a_few_seconds():
    """The local-stack timings, given explicitly, override the kafka section."""
    local = consumer_config(index_config().kafka, "g", GroupTimings.local_stack())
    assert local["session.timeout.ms"] <= 10_000
    assert local["max.poll.interval.ms"] >= local["session.timeout.ms"]


def test_consumer_timings_are_checked():
    """A heartbeat slower than the session or a poll interval shorter than it is refused."""
    with pytest.raises(ConfigError) as caught:
        consumer_config(index_config().kafka, "g", GroupTimings(6000, 7000, 1000))
    assert "heartbeat_interval_ms" in str(caught.value)
    assert "max_poll_interval_ms" in str(caught.value)


def test_consumer_prefetch_is_bounded_unless_extra_says_otherwise():
    """Consumers prefetch a few MB at most (a backlog of small events stays out of memory); kafka.extra wins."""
    config = consumer_config(index_config().kafka, "g")
    assert config["queued.max.messages.kbytes"] <= 16 * 1024
    assert config["fetch.max.bytes"] <= 4 * 1024 * 1024
    bigger = consumer_config(index_config(extra={"queued.max.messages.kbytes": 65536}).kafka, "g")
    assert bigger["queued.max.messages.kbytes"] == 65536
    build_consumer(index_config().kafka, "g").close()  # librdkafka accepts the settings


def test_broker_fetch_wait_comes_from_the_kafka_section():
    """kafka.fetch_wait_max bounds how long a fetch waits at the broker: Kafka's 500 ms unless configured."""
    assert consumer_config(index_config().kafka, "g")["fetch.wait.max.ms"] == 500
    assert consumer_config(index_config(fetch_wait_max="20ms").kafka, "g")["fetch.wait.max.ms"] == 20
    with pytest.raises(ConfigError) as caught:
        index_config(fetch_wait_max="0s")
    assert "kafka.fetch_wait_max" in str(caught.value)


def test_producer_is_idempotent():
    """Producers are idempotent with acks=all."""
    config = producer_config(index_config().kafka)
    assert config["enable.idempotence"] is True
    assert config["acks"] == "all"


def test_extra_settings_pass_through_and_win():
    """kafka.extra reaches every client and overrides graphdex's defaults."""
    kafka = index_config(extra={"linger.ms": 50, "session.timeout.ms": 7000, "client.id": "idx"}).kafka
    assert producer_config(kafka)["linger.ms"] == 50
    assert consumer_config(kafka, "g")["session.timeout.ms"] == 7000
    assert admin_config(kafka)["client.id"] == "idx"


def test_extra_may_not_touch_offsets_or_idempotence():
    """Settings at-least-once depends on are refused in kafka.extra, each named."""
    kafka = index_config(extra={"enable.auto.commit": True, "enable.idempotence": False}).kafka
    with pytest.raises(ConfigError) as caught:
        consumer_config(kafka, "g")
    assert "kafka.extra.enable.auto.commit" in str(caught.value)
    assert "kafka.extra.enable.idempotence" in str(caught.value)


def test_sasl_ssl_settings():
    """SASL and TLS settings map to librdkafka's names."""
    kafka = index_config(
        security_protocol="SASL_SSL",
        sasl_mechanism="SCRAM-SHA-512",
        sasl_username="indexer",
        sasl_password="secret",
        ssl_ca_location="/etc/ca.pem",
    ).kafka
    config = common_config(kafka)
    assert config["security.protocol"] == "SASL_SSL"
    assert config["sasl.mechanism"] == "SCRAM-SHA-512"
    assert (config["sasl.username"], config["sasl.password"]) == ("indexer", "secret")
    assert config["ssl.ca.location"] == "/etc/ca.pem"


@pytest.mark.parametrize(
    ("kafka", "expected"),
    [
        ({"security_protocol": "SASL_SSL"}, "kafka.sasl_mechanism: required with security_protocol SASL_SSL"),
        ({"security_protocol": "SASL_PLAINTEXT", "sasl_mechanism": "PLAIN"}, "kafka.sasl_username: required"),
        ({"sasl_username": "u"}, "kafka.sasl_username: set, but security_protocol PLAINTEXT does not use SASL"),
        ({"ssl_ca_location": "/ca.pem"}, "kafka.ssl_ca_location: set, but security_protocol PLAINTEXT"),
    ],
)
def test_inconsistent_security_settings_are_named(kafka, expected):
    """Security settings that contradict each other are a ConfigError naming the key."""
    with pytest.raises(ConfigError) as caught:
        common_config(index_config(**kafka).kafka)
    assert expected in str(caught.value)


def test_unknown_librdkafka_setting_is_a_config_error():
    """A setting librdkafka does not know is reported against kafka.extra, not as a traceback."""
    kafka = index_config(extra={"no.such.setting": 1}).kafka
    with pytest.raises(ConfigError, match=r"kafka\.extra: .*no\.such\.setting"):
        build_consumer(kafka, "g")
    with pytest.raises(ConfigError, match=r"kafka\.extra"):
        build_admin(kafka)


def test_librdkafka_logs_go_to_python_logging():
    """librdkafka's log lines use a standard logging logger, not stderr."""
    assert isinstance(LIBRDKAFKA_LOGGER, logging.Logger)
    assert LIBRDKAFKA_LOGGER.name == "graphdex.kafka.librdkafka"


def test_schema_registry_client_only_when_configured():
    """A registry client is built for a mock:// or http URL and not at all without one."""
    assert build_schema_registry(index_config().kafka) is None
    client = build_schema_registry(index_config(schema_registry_url="mock://clients-test").kafka)
    assert isinstance(client, SchemaRegistryClient)
    with pytest.raises(ConfigError, match=r"kafka\.schema_registry_url"):
        build_schema_registry(index_config(schema_registry_url="ftp://registry").kafka)
