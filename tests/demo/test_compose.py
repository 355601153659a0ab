"""docker-compose.yml cannot run here: validate it against the Compose Specification and check that it is
consistent with itself, its Dockerfiles, demo/services.py and the local stack's environment."""

from __future__ import annotations

import glob
import json
import re
import shlex
from typing import Any
from urllib.parse import urlsplit

import jsonschema
import pytest
import yaml

from demo.services import GATEWAY_DEFAULT_PORT, KAFKA_DEFAULT_PORT, SEARCH_DEFAULT_PORT, SUBGRAPHS
from demo.stack_services import Endpoints
from tests.conftest import REPO, SHARED

COMPOSE_FILE = REPO / "docker-compose.yml"
_DEFAULTED = re.compile(r"\$\{[A-Za-z_][A-Za-z0-9_]*:-([^}]*)\}")


def _interpolated(value: str) -> str:
    """A Compose string with every ``${VAR:-default}`` replaced by its default."""
    return _DEFAULTED.sub(lambda match: match.group(1), value)


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    """docker-compose.yml, parsed (anchors and merge keys resolved)."""
    return yaml.safe_load(COMPOSE_FILE.read_text())


@pytest.fixture(scope="module")
def services(compose) -> dict[str, dict[str, Any]]:
    """The services of docker-compose.yml by name."""
    return compose["services"]


def _published(service: dict[str, Any]) -> list[tuple[int, int]]:
    """(host port, container port) of every published port, with variable defaults applied."""
    pairs = []
    for entry in service.get("ports", []):
        host, container = _interpolated(str(entry)).rsplit(":", 1)
        pairs.append((int(host.rsplit(":", 1)[-1]), int(container.split("/")[0])))
    return pairs


def _listening(service: dict[str, Any]) -> set[int]:
    """Container ports other containers can reach: published container ports plus ``expose``."""
    return {container for _, container in _published(service)} | {int(p) for p in service.get("expose", [])}


def _command(service: dict[str, Any]) -> list[str]:
    command = service["command"]
    words = shlex.split(command) if isinstance(command, str) else command
    return [_interpolated(str(word)) for word in words]


def _option(command: list[str], name: str) -> str:
    return command[command.index(name) + 1]


def test_validates_against_the_compose_specification(compose):
    """The file is valid according to the Compose Specification's JSON schema."""
    schema = json.loads((SHARED / "specs" / "compose-spec.json").read_text())
    jsonschema.Draft7Validator(schema).validate(compose)


ONE_SHOT = {"provision"}
"""Jobs that run to completion (no health check); services depending on them wait for their success."""


def test_has_every_service_of_the_deployment(services):
    """Kafka, the schema registry, Elasticsearch, the subgraphs, the gateway, provisioning and graphdex are there."""
    expected = {"kafka", "schema-registry", "elasticsearch", "gateway", "graphdex", *(sub.name for sub in SUBGRAPHS)}
    assert set(services) == expected | ONE_SHOT


def test_images_are_the_documented_ones(services):
    """Kafka is apache/kafka, the registry Confluent's, the search server Elasticsearch 8."""
    assert services["kafka"]["image"].startswith("apache/kafka:")
    assert services["schema-registry"]["image"].startswith("confluentinc/cp-schema-registry:")
    assert services["elasticsearch"]["image"].startswith("docker.elastic.co/elasticsearch/elasticsearch:8.")


def test_every_service_has_a_healthcheck(services):
    """Every long-running service declares a health check command; one-shot jobs are never restarted."""
    missing = [
        name
        for name, service in services.items()
        if name not in ONE_SHOT and not service.get("healthcheck", {}).get("test")
    ]
    assert missing == []
    assert all(services[name]["restart"] == "no" for name in ONE_SHOT)


def test_depends_on_targets_exist_and_wait_for_health(services):
    """Each dependency is a service with a health check, waited for with condition service_healthy, or a
    one-shot job, waited for until it completed successfully."""
    for name, service in services.items():
        for target, rule in service.get("depends_on", {}).items():
            assert target in services, f"{name} depends on unknown service {target}"
            if target in ONE_SHOT:
                assert rule == {"condition": "service_completed_successfully"}, f"{name} -> {target}"
                continue
            assert services[target].get("healthcheck"), f"{name} depends on {target}, which has no healthcheck"
            assert rule == {"condition": "service_healthy"}, f"{name} -> {target}"


def test_build_contexts_have_their_dockerfiles(services):
    """Every build context exists and contains the Dockerfile it names."""
    builds = {name: service["build"] for name, service in services.items() if "build" in service}
    assert set(builds) == {"gateway", "graphdex", "provision", *(sub.name for sub in SUBGRAPHS)}
    for name, build in builds.items():
        context = REPO / build["context"]
        assert context.is_dir(), name
        assert (context / build.get("dockerfile", "Dockerfile")).is_file(), name


def test_dockerfiles_copy_only_files_that_exist(services):
    """Every COPY source of every Dockerfile matches something in its build context."""
    for service in services.values():
        if "build" not in service:
            continue
        context = REPO / service["build"]["context"]
        dockerfile = context / service["build"].get("dockerfile", "Dockerfile")
        for line in dockerfile.read_text().splitlines():
            words = line.split()
            if not words or words[0] != "COPY" or any(word.startswith("--from") for word in words):
                continue
            for source in [word for word in words[1:-1] if not word.startswith("--")]:
                assert glob.glob(str(context / source)), f"{dockerfile.name}: COPY {source} matches nothing"


def test_published_host_ports_are_unique(services):
    """No two services publish the same host port."""
    hosts = [host for service in services.values() for host, _ in _published(service)]
    assert len(hosts) == len(set(hosts))


def test_published_ports_follow_demo_services(services):
    """Gateway, Kafka and Elasticsearch publish the ports of demo/services.py on both sides."""
    assert (GATEWAY_DEFAULT_PORT, GATEWAY_DEFAULT_PORT) in _published(services["gateway"])
    assert (KAFKA_DEFAULT_PORT, KAFKA_DEFAULT_PORT) in _published(services["kafka"])
    assert (SEARCH_DEFAULT_PORT, SEARCH_DEFAULT_PORT) in _published(services["elasticsearch"])


@pytest.mark.parametrize("subgraph", SUBGRAPHS, ids=lambda sub: sub.name)
def test_subgraph_service_matches_demo_services(services, subgraph):
    """A subgraph runs its module on its documented port, reaches Kafka inside the network, has its health URL."""
    service = services[subgraph.name]
    command = _command(service)
    assert command[:3] == ["python", "-m", subgraph.module]
    assert int(_option(command, "--port")) == subgraph.default_port
    assert _option(command, "--host") == "0.0.0.0"
    assert _option(command, "--db").startswith("/data/")
    kafka_host, kafka_port = _option(command, "--kafka").rsplit(":", 1)
    assert kafka_host == "kafka"
    assert int(kafka_port) in _listening(services["kafka"])
    assert (subgraph.default_port, subgraph.default_port) in _published(service)
    assert f"127.0.0.1:{subgraph.default_port}/health" in " ".join(service["healthcheck"]["test"])
    assert service["depends_on"] == {"kafka": {"condition": "service_healthy"}}


def test_gateway_composes_every_subgraph(services):
    """The gateway's SUBGRAPHS list names each subgraph service on the port it listens on."""
    gateway = services["gateway"]
    listed = json.loads(gateway["environment"]["SUBGRAPHS"])
    assert [entry["name"] for entry in listed] == [sub.name for sub in SUBGRAPHS]
    for entry in listed:
        url = urlsplit(entry["url"])
        assert url.hostname == entry["name"]
        assert url.port in _listening(services[entry["name"]])
    assert int(gateway["environment"]["GATEWAY_PORT"]) == GATEWAY_DEFAULT_PORT
    assert set(gateway["depends_on"]) == {sub.name for sub in SUBGRAPHS}


def test_graphdex_runs_the_movies_index(services):
    """graphdex runs the fixed command against configs/movies.yaml."""
    assert _command(services["graphdex"]) == ["graphdex", "run", "configs/movies.yaml"]


def test_the_index_is_provisioned_before_graphdex_runs(services):
    """``graphdex apply`` of the same definition, in the same image and environment, completes first:
    ``graphdex run`` refuses an index that is not provisioned."""
    provision, graphdex = services["provision"], services["graphdex"]
    assert _command(provision)[:3] == ["graphdex", "apply", "configs/movies.yaml"]
    assert provision["image"] == graphdex["image"]
    assert provision["environment"] == graphdex["environment"]
    assert graphdex["depends_on"]["provision"] == {"condition": "service_completed_successfully"}
    assert set(provision["depends_on"]) == set(graphdex["depends_on"]) - {"provision"}


def test_graphdex_environment_points_at_existing_services(services):
    """Every address in graphdex's environment is a service of this file on a port it listens on."""
    environment = services["graphdex"]["environment"]
    addresses = {key: value for key, value in environment.items() if key.endswith(("_URL", "_BOOTSTRAP"))}
    assert addresses
    for key, value in addresses.items():
        url = urlsplit(value if "://" in value else f"kafka://{value}")
        assert url.hostname in services, f"{key}: {url.hostname} is not a service"
        assert url.port in _listening(services[url.hostname]), f"{key}: {url.hostname} does not listen on {url.port}"
        assert url.hostname in services["graphdex"]["depends_on"], f"{key}: graphdex does not wait for {url.hostname}"


def test_graphdex_sets_the_variables_the_local_stack_exports(services):
    """graphdex in Compose gets the same variables ``graphdex dev up`` exports."""
    environment = services["graphdex"]["environment"]
    local = Endpoints.for_ports({"kafka": 1, "search": 2, "gateway": 3, **{sub.name: 4 for sub in SUBGRAPHS}})
    assert set(local.environment()) <= set(environment)
    assert urlsplit(environment["GRAPHDEX_GATEWAY_URL"]).path == urlsplit(local.gateway_url).path


def test_elasticsearch_is_single_node_without_security_and_memory_bounded(services):
    """The demo Elasticsearch is one node, security off, with a heap size and a memory limit."""
    elasticsearch = services["elasticsearch"]
    environment = elasticsearch["environment"]
    assert environment["discovery.type"] == "single-node"
    assert environment["xpack.security.enabled"] == "false"
    assert "-Xmx" in environment["ES_JAVA_OPTS"]
    assert elasticsearch["deploy"]["resources"]["limits"]["memory"]


def test_kafka_is_a_kraft_node_with_a_listener_for_containers(services):
    """Kafka runs KRaft (broker and controller) and advertises kafka:<port> to other containers."""
    environment = services["kafka"]["environment"]
    assert environment["KAFKA_PROCESS_ROLES"] == "broker,controller"
    advertised = dict(item.split("://") for item in environment["KAFKA_ADVERTISED_LISTENERS"].split(","))
    host, port = advertised[environment["KAFKA_INTER_BROKER_LISTENER_NAME"]].split(":")
    assert (host, int(port)) in {("kafka", listening) for listening in _listening(services["kafka"])}


def test_movies_config_variables_are_set_for_the_containers(services):
    """Every variable of configs/movies.yaml is set for graphdex, with the default's path and port on a service."""
    config = (REPO / "configs" / "movies.yaml").read_text()
    environment = services["graphdex"]["environment"]
    references = re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}", config)
    assert references
    for name, default in references:
        assert name in environment, f"configs/movies.yaml uses {name}, which graphdex's environment does not set"
        value = str(environment[name])
        if "://" in default:
            container, local = urlsplit(value), urlsplit(default)
            assert (container.scheme, container.port, container.path) == (local.scheme, local.port, local.path)
            assert container.hostname in services
