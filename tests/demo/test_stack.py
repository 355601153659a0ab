"""The local stack supervisor: dependency order, state file, process handling, readiness and clean stops."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import httpx
import pytest
from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient

from demo.child_process import ChildProcess, LaunchSpec, process_running, process_start_ticks
from demo.health_probes import HttpProbe, KafkaProbe
from demo.java_servers import new_cluster_id
from demo.ports import (
    ALL_SERVICE_NAMES,
    KAFKA,
    OPTIONAL_SERVICES,
    REGISTRY,
    SEARCH,
    SERVICE_NAMES,
    SUBGRAPH_NAMES,
    default_ports,
    free_ports,
    with_overrides,
)
from demo.prerequisites import ensure_gateway_packages
from demo.services import (
    GATEWAY_DEFAULT_PORT,
    KAFKA_DEFAULT_PORT,
    REGISTRY_DEFAULT_PORT,
    SEARCH_DEFAULT_PORT,
    SUBGRAPHS,
)
from demo.stack import LocalStack, StackOptions, required_services, start_waves, wait_until_ready
from demo.stack_services import Endpoints
from demo.stack_state import STATE_FILE, ServiceRecord, StackState, recorded_status, stop_recorded_stack
from schema_gen.errors import StackError
from tests.conftest import REPO

PYTHON = sys.executable


def _wait_gone(pid: int, start_ticks: int | None, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while process_running(pid, start_ticks) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not process_running(pid, start_ticks)


def _python_child(tmp_path: Path, name: str, code: str) -> ChildProcess:
    spec = LaunchSpec(name, [PYTHON, "-c", textwrap.dedent(code)], tmp_path / f"{name}.log")
    return ChildProcess.launch(spec, bound_to_parent=True)


def _small_stack(tmp_path: Path) -> LocalStack:
    return LocalStack(StackOptions(state_dir=tmp_path / "stack", ports=free_ports(), stop_grace=2.0))


# --- which services, in which order ---------------------------------------------------------------


def test_gateway_needs_every_other_service_but_search():
    """Starting the gateway starts Kafka and the three subgraphs first; search is independent."""
    assert required_services(["gateway"]) == ["kafka", *SUBGRAPH_NAMES, "gateway"]


def test_a_subgraph_needs_only_kafka():
    """A subgraph writes CDC events, so Kafka comes with it, nothing else."""
    assert required_services(["talent"]) == ["kafka", "talent"]


def test_unknown_service_is_a_stack_error_listing_the_services():
    """An unknown service name is refused with the list of valid names."""
    with pytest.raises(StackError, match=r"unknown service\(s\) kafak; the services are kafka, search, registry"):
        required_services(["kafak"])


def test_services_start_in_three_waves():
    """Kafka and search start together, then the subgraphs together, then the gateway."""
    assert start_waves(list(SERVICE_NAMES)) == [["kafka", "search"], list(SUBGRAPH_NAMES), ["gateway"]]


def test_the_registry_is_optional_needs_nothing_and_starts_in_the_first_wave():
    """The schema registry is not part of the default stack; asked for, it needs no other service (its
    database is its own) and starts with Kafka and search."""
    assert REGISTRY not in SERVICE_NAMES
    assert required_services([REGISTRY]) == [REGISTRY]
    assert required_services(["gateway", REGISTRY]) == ["kafka", REGISTRY, *SUBGRAPH_NAMES, "gateway"]
    waves = start_waves(list(ALL_SERVICE_NAMES))
    assert waves == [["kafka", "search", REGISTRY], list(SUBGRAPH_NAMES), ["gateway"]]


# --- ports and endpoints ------------------------------------------------------------------------


def test_default_ports_come_from_demo_services():
    """The documented ports of demo/services.py are the defaults."""
    ports = default_ports()
    expected = {sub.name: sub.default_port for sub in SUBGRAPHS}
    expected |= {"kafka": KAFKA_DEFAULT_PORT, "search": SEARCH_DEFAULT_PORT, "gateway": GATEWAY_DEFAULT_PORT}
    expected |= {"registry": REGISTRY_DEFAULT_PORT}
    assert ports == expected
    assert ports["registry"] == 8081  # Confluent Schema Registry's port, as in docker-compose.yml


def test_free_ports_are_all_different():
    """Free ports handed out together never collide (the optional registry has one too)."""
    ports = free_ports()
    assert sorted(ports) == sorted(ALL_SERVICE_NAMES)
    assert len(set(ports.values())) == len(ALL_SERVICE_NAMES)


def test_port_overrides_reject_unknown_services():
    """Overriding the port of a service that does not exist is an error naming it."""
    assert with_overrides({"kafka": 1}, {"kafka": 2, "search": None}) == {"kafka": 2}
    with pytest.raises(ValueError, match="unknown service"):
        with_overrides(default_ports(), {"elastic": 9200})


def test_endpoints_and_exported_environment():
    """The endpoints and the GRAPHDEX_* variables follow the ports, all on 127.0.0.1."""
    endpoints = Endpoints.for_ports(default_ports())
    assert endpoints.subgraph_urls["movies"] == "http://127.0.0.1:4001/graphql"
    assert endpoints.environment() == {
        "GRAPHDEX_GATEWAY_URL": "http://127.0.0.1:4000/",
        "GRAPHDEX_ES_URL": "http://127.0.0.1:9200",
        "GRAPHDEX_KAFKA_BOOTSTRAP": "127.0.0.1:9092",
    }


def test_the_registry_url_is_exported_only_when_asked_for():
    """``GRAPHDEX_SCHEMA_REGISTRY_URL`` (Apicurio's Confluent-compatible API) switches graphdex to
    Confluent wire format, so it is exported only for a stack that runs the registry; a state recorded
    before the registry existed has no registry port and says to start again."""
    endpoints = Endpoints.for_ports(default_ports())
    assert endpoints.schema_registry_url == "http://127.0.0.1:8081/apis/ccompat/v7"
    assert endpoints.environment(schema_registry=True) == {
        **endpoints.environment(),
        "GRAPHDEX_SCHEMA_REGISTRY_URL": "http://127.0.0.1:8081/apis/ccompat/v7",
    }
    older = Endpoints.for_ports({name: port for name, port in default_ports().items() if name != REGISTRY})
    assert older.schema_registry_url is None
    with pytest.raises(StackError, match="without a schema registry port; start it again"):
        older.environment(schema_registry=True)


def test_exported_environment_matches_the_movies_config_defaults():
    """On the default ports, ``graphdex dev up`` exports exactly the defaults of configs/movies.yaml."""
    config = (REPO / "configs" / "movies.yaml").read_text()
    defaults = dict(re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*):-([^}]*)\}", config))
    exported = Endpoints.for_ports(default_ports()).environment()
    assert {name: defaults.get(name) for name in exported} == exported


# --- the state file -----------------------------------------------------------------------------


def test_state_file_round_trips(tmp_path):
    """What is written to state.json reads back identically."""
    state = StackState(1, 2, default_ports(), (ServiceRecord("kafka", 10, 20, 9092, "/x/kafka.log"),))
    state.write(tmp_path)
    assert StackState.read(tmp_path) == state


def test_unreadable_state_file_names_the_file(tmp_path):
    """A corrupt state file is a StackError naming the file and what to do."""
    (tmp_path / STATE_FILE).write_text("{not json")
    with pytest.raises(StackError, match=r"state\.json: not a readable stack state file .* delete it"):
        StackState.read(tmp_path)


def test_state_file_with_unexpected_content_names_the_file(tmp_path):
    """A state file of another format is a StackError naming the file."""
    (tmp_path / STATE_FILE).write_text(json.dumps({"version": 1, "services": []}))
    with pytest.raises(StackError, match=r"state\.json: unexpected content"):
        StackState.read(tmp_path)


def test_status_without_a_stack_says_how_to_start_one(tmp_path):
    """Asking for the status of a folder with no stack points at `graphdex dev up`."""
    with pytest.raises(StackError, match=r"no local stack is recorded in .*`graphdex dev up`"):
        recorded_status(tmp_path)


def test_down_without_a_stack_stops_nothing(tmp_path):
    """Stopping a folder with no state file is a no-op."""
    assert stop_recorded_stack(tmp_path, grace=1.0) == []


def test_refuses_to_start_over_a_running_stack(tmp_path):
    """A state folder whose recorded processes still run cannot be reused."""
    state_dir = tmp_path / "stack"
    me = ServiceRecord("kafka", os.getpid(), process_start_ticks(os.getpid()), 1, "kafka.log")
    StackState(None, None, default_ports(), (me,)).write(state_dir)
    stack = LocalStack(StackOptions(state_dir=state_dir, ports=free_ports()))
    with pytest.raises(StackError, match=r"already running from .* \(kafka\); stop it with `graphdex dev down"):
        stack.start([KAFKA])
    assert stack.running == ()


def test_port_in_use_is_reported_before_anything_starts(tmp_path):
    """A busy port is a StackError naming the service and port, and nothing is launched."""
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        stack = LocalStack(StackOptions(state_dir=tmp_path, ports={**free_ports(), "kafka": port}))
        with pytest.raises(StackError, match=rf"already in use on 127\.0\.0\.1: kafka port {port}"):
            stack.start([KAFKA])
    assert stack.running == ()


# --- child processes ----------------------------------------------------------------------------


def test_stop_escalates_to_sigkill(tmp_path):
    """A child that ignores SIGTERM is killed once the grace period is over."""
    child = _python_child(
        tmp_path,
        "stubborn",
        """
        import signal, time
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        print("ready", flush=True)
        time.sleep(60)
        """,
    )
    while "ready" not in child.log_tail():
        time.sleep(0.02)
    child.stop(grace=0.3)
    assert child.exit_code() == -signal.SIGKILL


def test_stop_takes_the_whole_process_group(tmp_path):
    """Processes a child started in its group are stopped with it."""
    child = _python_child(
        tmp_path,
        "parent",
        """
        import subprocess, sys, time
        helper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
        print(helper.pid, flush=True)
        time.sleep(60)
        """,
    )
    while not child.log_tail().strip().isdigit():
        time.sleep(0.02)
    helper = int(child.log_tail())
    child.stop(grace=2.0)
    assert _wait_gone(helper, None)


def test_children_die_with_a_killed_supervisor(tmp_path):
    """SIGKILL of the supervisor takes its children down too (PR_SET_PDEATHSIG), no orphans."""
    script = f"""
        import sys, time
        from pathlib import Path
        from demo.child_process import ChildProcess, LaunchSpec
        argv = [sys.executable, "-c", "import time; time.sleep(60)"]
        spec = LaunchSpec("sleeper", argv, Path({str(tmp_path)!r}) / "s.log")
        child = ChildProcess.launch(spec, bound_to_parent=True)
        print(child.pid, flush=True)
        time.sleep(60)
    """
    with subprocess.Popen([PYTHON, "-c", textwrap.dedent(script)], stdout=subprocess.PIPE, text=True) as supervisor:
        assert supervisor.stdout is not None
        child_pid = int(supervisor.stdout.readline())
        ticks = process_start_ticks(child_pid)
        supervisor.kill()
    assert _wait_gone(child_pid, ticks)


def test_child_exiting_during_start_names_service_log_and_last_lines(tmp_path):
    """A service that exits while starting is reported with its status, log file and output."""
    child = _python_child(tmp_path, "movies", "import sys; print('cannot open database'); sys.exit(3)")
    probe = HttpProbe("GET", f"http://127.0.0.1:{free_ports(['x'])['x']}/health")
    with pytest.raises(StackError) as caught:
        wait_until_ready([(child, probe)], timeout=30)
    message = str(caught.value)
    assert "movies exited with status 3 while starting" in message
    assert str(tmp_path / "movies.log") in message
    assert "cannot open database" in message


def test_child_never_ready_is_reported_after_the_timeout(tmp_path):
    """A service that runs but never answers is reported with the failed check."""
    child = _python_child(tmp_path, "talent", "import time; print('still loading', flush=True); time.sleep(60)")
    port = free_ports(["x"])["x"]
    try:
        with pytest.raises(
            StackError, match=rf"(?s)talent was not ready after 0\.3 s \(127\.0\.0\.1:{port}: .*still loading"
        ):
            wait_until_ready([(child, KafkaProbe("127.0.0.1", port, timeout=0.1))], timeout=0.3)
    finally:
        child.stop(grace=1.0)


def test_missing_npm_is_reported_with_the_command_to_run(tmp_path, monkeypatch):
    """Without npm the gateway's packages cannot be installed; the error says what to run."""
    (tmp_path / "server.mjs").write_text("")
    (tmp_path / "package-lock.json").write_text("{}")
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(StackError, match=rf"npm is not on PATH .* then run `cd {tmp_path} && npm ci`"):
        ensure_gateway_packages(tmp_path / "npm.log", gateway_dir=tmp_path)


def test_missing_gateway_script_is_reported(tmp_path):
    """A gateway folder without server.mjs is reported by path."""
    with pytest.raises(StackError, match=r"server\.mjs does not exist"):
        ensure_gateway_packages(tmp_path / "npm.log", gateway_dir=tmp_path)


# --- real servers -------------------------------------------------------------------------------


@pytest.mark.integration
def test_kafka_fixture_broker_round_trips_a_message(kafka_bootstrap, unique_name):
    """The session broker accepts a message on a fresh topic and hands it to a consumer."""
    producer = Producer({"bootstrap.servers": kafka_bootstrap})
    producer.produce(unique_name, key=b"1", value=b"hello")
    assert producer.flush(10) == 0
    consumer = Consumer(
        {
            "bootstrap.servers": kafka_bootstrap,
            "group.id": unique_name,
            "auto.offset.reset": "earliest",
            "session.timeout.ms": 6000,
            "max.poll.interval.ms": 6000,
        }
    )
    consumer.subscribe([unique_name])
    try:
        message = None
        for _ in range(60):
            message = consumer.poll(0.5)
            if message is not None and message.error() is None:
                break
        assert message is not None
        assert (message.key(), message.value()) == (b"1", b"hello")
    finally:
        consumer.close()


@pytest.mark.integration
def test_whole_stack_is_healthy_and_every_endpoint_answers(local_stack):
    """Every service of the session stack is healthy and answers on its endpoint."""
    conditions = {status.name: status.condition for status in local_stack.status()}
    assert set(conditions) - set(OPTIONAL_SERVICES) == set(SERVICE_NAMES)  # the registry if its fixture ran
    assert set(conditions.values()) == {"healthy"}
    endpoints = local_stack.endpoints
    metadata = AdminClient({"bootstrap.servers": endpoints.kafka_bootstrap}).list_topics(timeout=5)
    assert metadata.brokers
    assert httpx.get(endpoints.search_url).status_code == 200
    for url in endpoints.subgraph_urls.values():
        assert httpx.get(url.removesuffix("/graphql") + "/health").status_code == 200
    answer = httpx.post(endpoints.gateway_url, json={"query": "{ __typename }"})
    assert answer.json() == {"data": {"__typename": "Query"}}


@pytest.mark.integration
def test_context_exit_leaves_no_process(tmp_path):
    """Leaving the context stops every server: their pids are gone and the state file removed."""
    with _small_stack(tmp_path).start([KAFKA, SEARCH]) as stack:
        processes = {pid: process_start_ticks(pid) for pid in stack.pids().values()}
        assert (stack.options.state_dir / STATE_FILE).is_file()
    assert all(not process_running(pid, ticks) for pid, ticks in processes.items())
    assert not (stack.options.state_dir / STATE_FILE).exists()


@pytest.mark.integration
def test_crashed_child_is_reported_by_status(tmp_path):
    """A killed server shows as exited, with its log, in-process and from the state file."""
    with _small_stack(tmp_path).start([KAFKA, SEARCH]) as stack:
        os.kill(stack.pids()[KAFKA], signal.SIGKILL)
        assert _wait_gone(stack.pids()[KAFKA], None)
        from_state = {status.name: status for status in recorded_status(stack.options.state_dir)}
        in_process = {status.name: status for status in stack.status()}
        for statuses in (from_state, in_process):
            assert (statuses[KAFKA].condition, statuses[SEARCH].condition) == ("exited", "healthy")
            assert "Kafka Server started" in statuses[KAFKA].detail
        with pytest.raises(StackError, match=r"kafka was killed by signal 9 unexpectedly; log .*kafka\.log"):
            stack.supervise(poll_interval=0.05)


@pytest.mark.integration
def test_servers_die_with_a_killed_supervisor(tmp_path):
    """SIGKILL of a process running a LocalStack leaves no server behind."""
    script = f"""
        import json, time
        from pathlib import Path
        from demo.ports import free_ports
        from demo.stack import LocalStack, StackOptions
        stack = LocalStack(StackOptions(state_dir=Path({str(tmp_path)!r}), ports=free_ports()))
        stack.start(["kafka", "search"])
        print(json.dumps(stack.pids()), flush=True)
        time.sleep(120)
    """
    with subprocess.Popen([PYTHON, "-c", textwrap.dedent(script)], stdout=subprocess.PIPE, text=True) as supervisor:
        assert supervisor.stdout is not None
        pids = json.loads(supervisor.stdout.readline())
        ticks = {pid: process_start_ticks(pid) for pid in pids.values()}
        supervisor.kill()
    assert all(_wait_gone(pid, start) for pid, start in ticks.items())


@pytest.mark.integration
def test_start_adds_services_to_a_running_stack(tmp_path):
    """A second start reuses running services and only launches the missing ones."""
    with _small_stack(tmp_path).start([KAFKA]) as stack:
        kafka_pid = stack.pids()[KAFKA]
        stack.start([KAFKA, SEARCH])
        assert stack.running == (KAFKA, SEARCH)
        assert stack.pids()[KAFKA] == kafka_pid
        recorded = StackState.read(stack.options.state_dir)
        assert recorded is not None
        assert [record.name for record in recorded.services] == [KAFKA, SEARCH]


def test_kafka_cluster_ids_never_look_like_options():
    """A KRaft cluster id is base64url, which may start with '-': those are never chosen."""
    ids = {new_cluster_id() for _ in range(2000)}
    assert len(ids) == 2000
    assert not any(cluster_id.startswith("-") for cluster_id in ids)
    assert all(len(cluster_id) == 22 for cluster_id in ids)


# --- real servers: what answers, and what survives a crash --------------------------------------


@pytest.mark.integration
def test_the_search_service_is_a_real_opensearch_node(search_server):
    """``GET /`` on the stack's search service answers as OpenSearch 2.19, with its cluster health green or
    yellow (one node)."""
    info = httpx.get(search_server, timeout=10).json()
    assert info["version"]["distribution"] == "opensearch"
    assert info["version"]["number"].startswith("2.19.")
    assert info["cluster_name"] == "graphdex-local"
    health = httpx.get(f"{search_server}/_cluster/health", timeout=10).json()
    assert health["number_of_nodes"] == 1
    assert health["status"] in ("green", "yellow")


@pytest.mark.integration
def test_the_kafka_service_is_a_real_kafka_broker_in_kraft_mode(kafka_bootstrap):
    """The broker answers metadata requests as one Apache Kafka node that is also the KRaft controller."""
    metadata = AdminClient({"bootstrap.servers": kafka_bootstrap}).list_topics(timeout=10)
    assert [broker.id for broker in metadata.brokers.values()] == [1]
    assert metadata.cluster_id
    assert len(metadata.cluster_id) == 22


@pytest.mark.integration
def test_killed_broker_and_search_node_restart_with_their_data(tmp_path):
    """SIGKILL the broker and the search node, start them again: the topic's messages, the group's
    committed offset and the indexed document are all still there."""
    stack = _small_stack(tmp_path).start([KAFKA, SEARCH])
    try:
        bootstrap, search = stack.endpoints.kafka_bootstrap, stack.endpoints.search_url
        producer = Producer({"bootstrap.servers": bootstrap, "acks": "all"})
        for number in range(5):
            producer.produce("survivors", key=str(number).encode(), value=f"message {number}".encode())
        assert producer.flush(30) == 0
        consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "g", "auto.offset.reset": "earliest"})
        consumer.subscribe(["survivors"])
        first = _poll_until(consumer, 2)
        consumer.commit(first[-1], asynchronous=False)
        consumer.close()
        created = httpx.put(f"{search}/kept/_doc/1?refresh=true", json={"title": "still here"}, timeout=30)
        assert created.status_code == 201, created.text

        for service in (KAFKA, SEARCH):
            stack.stop_service(service, kill=True)
        stack.start([KAFKA, SEARCH])

        assert httpx.get(f"{search}/kept/_doc/1", timeout=30).json()["_source"] == {"title": "still here"}
        consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "g", "auto.offset.reset": "earliest"})
        consumer.subscribe(["survivors"])
        rest = _poll_until(consumer, 3)
        consumer.close()
        assert [message.value() for message in rest] == [b"message 2", b"message 3", b"message 4"]
    finally:
        stack.stop()


def test_a_fresh_stack_starts_without_the_data_of_earlier_runs(tmp_path):
    """``StackOptions(fresh=True)`` removes the data folder before starting; otherwise it is kept."""
    data = tmp_path / "stack" / "data"
    (data / "kafka").mkdir(parents=True)
    kept = LocalStack(StackOptions(state_dir=tmp_path / "stack", ports=free_ports()))
    kept._claim_state_dir()
    assert (data / "kafka").is_dir()
    fresh = LocalStack(StackOptions(state_dir=tmp_path / "stack", ports=free_ports(), fresh=True))
    fresh._claim_state_dir()
    assert not data.exists()


def _poll_until(consumer: Consumer, count: int, timeout: float = 60.0) -> list:
    messages = []
    deadline = time.monotonic() + timeout
    while len(messages) < count and time.monotonic() < deadline:
        message = consumer.poll(0.5)
        if message is not None and message.error() is None:
            messages.append(message)
    assert len(messages) == count, f"{len(messages)} of {count} messages within {timeout}s"
    return messages
