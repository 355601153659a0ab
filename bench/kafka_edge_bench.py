"""Throughput of the daemon's Kafka edge: the document codec, and StageRunner on the local Kafka broker.

    python bench/kafka_edge_bench.py                      # 20,000 records, batches of 500
    python bench/kafka_edge_bench.py --records 50000 --batch 1000

Prints documents/s for Avro encoding and decoding (single-object and Confluent framing with a mock
registry), then records/s for StageRunner over a 6-partition topic: consume and commit only, and
consume, produce one record per input and wait for the acknowledgements before storing offsets.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from confluent_kafka.admin import NewTopic
from confluent_kafka.schema_registry import SchemaRegistryClient

from demo.ports import KAFKA, free_ports
from demo.services import DEFAULT_SEED
from demo.stack import LocalStack, StackOptions
from indexer.kafka.clients import GroupTimings, build_admin, build_consumer, producer_config
from indexer.kafka.consumer_loop import ProcessResult, RunnerSettings, StageRunner
from indexer.kafka.document_codec import DocumentCodec
from indexer.kafka.producer import TrackedProducer
from indexer.messages import OutgoingRecord, Record
from schema_gen.config import KafkaSettings

SCHEMA = {
    "type": "record",
    "name": "Movie",
    "namespace": "graphdex.bench",
    "fields": [
        {"name": "id", "type": "string"},
        {"name": "title", "type": ["null", "string"], "default": None},
        {"name": "year", "type": "int"},
        {"name": "genres", "type": {"type": "array", "items": "string"}},
        {
            "name": "credits",
            "type": {
                "type": "array",
                "items": {
                    "type": "record",
                    "name": "Credit",
                    "fields": [{"name": "role", "type": "string"}, {"name": "name", "type": "string"}],
                },
            },
        },
    ],
}
DOCUMENT = {
    "id": "m1",
    "title": "Le Fabuleux Destin d'Amélie Poulain",
    "year": 2001,
    "genres": ["comedy", "romance"],
    "credits": [{"role": "actor", "name": f"Person {number}"} for number in range(20)],
}


def rate(count: int, seconds: float) -> str:
    return f"{count / seconds:>10,.0f}/s"


def bench_codec(count: int) -> None:
    for label, registry in (
        ("single-object", None),
        ("registry", SchemaRegistryClient.new_client({"url": "mock://b"})),
    ):
        codec = DocumentCodec(SCHEMA, topic="bench.documents", registry=registry)
        started = time.perf_counter()
        encoded = [codec.encode(DOCUMENT) for _ in range(count)]
        encode_seconds = time.perf_counter() - started
        started = time.perf_counter()
        for data in encoded:
            codec.decode(data)
        decode_seconds = time.perf_counter() - started
        print(f"codec {label:<14} encode {rate(count, encode_seconds)}  decode {rate(count, decode_seconds)}")


def bench_runner(kafka: KafkaSettings, records: int, batch: int) -> None:
    admin = build_admin(kafka)
    topics = ["bench.in", "bench.out"]
    for future in admin.create_topics([NewTopic(name, 6, 1) for name in topics]).values():
        future.result()
    producer = TrackedProducer(producer_config(kafka))
    value = b"x" * 1000
    started = time.perf_counter()
    fill = producer.batch().produce_all(OutgoingRecord("bench.in", f"id{n}".encode(), value) for n in range(records))
    fill.wait(120)
    print(f"producer  fill {records} x 1 kB          {rate(records, time.perf_counter() - started)}")

    def forward(batch_records: Sequence[Record]) -> ProcessResult:
        return ProcessResult(outgoing=[OutgoingRecord("bench.out", r.key, r.value) for r in batch_records])

    settings = RunnerSettings(batch_size=batch, poll_timeout=0.2)
    for label, process, with_producer in (
        ("consume+commit", lambda batch_records: None, None),
        ("consume+produce+ack", forward, producer),
    ):
        consumer = build_consumer(kafka, f"bench.{label}", GroupTimings.local_stack())
        runner = StageRunner(process, consumer=consumer, topics=["bench.in"], producer=with_producer, settings=settings)
        runner.run(max_messages=1)  # join the group before the clock starts
        started = time.perf_counter()
        summary = runner.run(max_messages=records - 1, timeout=300)
        seconds = time.perf_counter() - started
        runner.close()
        print(f"runner {label:<22} {rate(summary.processed, seconds)}  ({summary.batches} batches, batch {batch})")
    producer.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=500)
    args = parser.parse_args()
    bench_codec(args.records)
    with tempfile.TemporaryDirectory() as folder:
        stack = LocalStack(StackOptions(state_dir=Path(folder) / "stack", ports=free_ports(), seed=DEFAULT_SEED))
        try:
            endpoints = stack.start([KAFKA]).endpoints
            bench_runner(KafkaSettings(bootstrap_servers=endpoints.kafka_bootstrap), args.records, args.batch)
        finally:
            stack.stop()


if __name__ == "__main__":
    main()
