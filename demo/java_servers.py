"""The local stack's Java servers, Apache Kafka (KRaft), OpenSearch and Apicurio Registry, from Maven Central.

Their versions are pinned in ``demo/servers/<server>/pom.xml``. Maven resolves each pom's dependencies
into its own cache (``~/.m2``) and writes the classpath to graphdex's cache folder, keyed by the pom's
content; nothing downloaded enters the repository. The schema registry is not a ready-made server on
Maven Central: its pom builds one (a Quarkus runner jar) into the cache folder, keyed by the pom and
its sources. ``scripts/bootstrap.sh`` resolves and builds everything up front
(``python -m demo.java_servers``); the stack does it on first use otherwise.

    java -cp <kafka classpath> kafka.Kafka server.properties
    java -cp <opensearch classpath> demo/servers/opensearch/LocalSearchNode.java HOME CLUSTER setting=value...
    java -Dquarkus.http.port=PORT -Dquarkus.datasource.jdbc.url=jdbc:h2:file:... -jar apicurio-registry-runner.jar

All three keep their data under the stack's state folder, so a restart finds its topics, indexes and
registry subjects again.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

from schema_gen.errors import StackError

SERVERS_DIR = Path(__file__).resolve().parent / "servers"
KAFKA_POM = SERVERS_DIR / "kafka" / "pom.xml"
KAFKA_LOG_CONFIG = SERVERS_DIR / "kafka" / "log4j2.properties"
SEARCH_POM = SERVERS_DIR / "opensearch" / "pom.xml"
SEARCH_LAUNCHER = SERVERS_DIR / "opensearch" / "LocalSearchNode.java"
REGISTRY_DIR = SERVERS_DIR / "apicurio"
REGISTRY_POM = REGISTRY_DIR / "pom.xml"
REGISTRY_SOURCES = (
    REGISTRY_DIR / "src" / "main" / "java" / "dev" / "graphdex" / "stack" / "registry" / "ConfigIndexStandIn.java",
    REGISTRY_DIR / "src" / "main" / "resources" / "application.properties",
)
MINIMUM_JAVA = 17
JAVA_INSTALL_HINT = "install a JDK 17 or later (e.g. `apt-get install openjdk-17-jdk-headless`) or set JAVA_HOME"
MAVEN_INSTALL_HINT = "install Maven 3.8 or later (e.g. `apt-get install maven`)"


@dataclass(frozen=True)
class MavenProject:
    """One server's pinned dependency list."""

    name: str
    pom: Path
    sources: tuple[Path, ...] = ()
    """Files besides the pom that go into a build (none for a project only resolved)."""

    @property
    def fingerprint(self) -> str:
        """Changes whenever the pom or a source does, so an edited project is resolved or built again."""
        digest = hashlib.sha256(self.pom.read_bytes())
        for source in self.sources:
            digest.update(source.relative_to(self.pom.parent).as_posix().encode())
            digest.update(source.read_bytes())
        return digest.hexdigest()[:16]


KAFKA_PROJECT = MavenProject("kafka", KAFKA_POM)
SEARCH_PROJECT = MavenProject("opensearch", SEARCH_POM)
PROJECTS = (KAFKA_PROJECT, SEARCH_PROJECT)
"""The projects whose classpath is resolved (the registry's project is built instead)."""
REGISTRY_PROJECT = MavenProject("apicurio", REGISTRY_POM, REGISTRY_SOURCES)


def cache_dir() -> Path:
    """``$GRAPHDEX_CACHE_DIR``, else ``$XDG_CACHE_HOME/graphdex``, else ``~/.cache/graphdex``."""
    explicit = os.environ.get("GRAPHDEX_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "graphdex"


def classpath_file(project: MavenProject) -> Path:
    """Where the resolved classpath of ``project`` is kept."""
    return cache_dir() / "classpath" / f"{project.name}-{project.fingerprint}.txt"


def classpath(project: MavenProject, *, resolve: bool = True) -> str:
    """The server's classpath; resolved with Maven first if not cached (or if a cached jar went missing)."""
    cached = classpath_file(project)
    if cached.is_file():
        entries = cached.read_text(encoding="utf-8").strip()
        if entries and all(Path(entry).is_file() for entry in entries.split(os.pathsep)):
            return entries
    if not resolve:
        raise StackError(
            f"{project.name}: its Java dependencies are not resolved yet; run `bash scripts/bootstrap.sh` "
            f"(or `python -m demo.java_servers`)"
        )
    return resolve_classpath(project)


def resolve_classpath(project: MavenProject) -> str:
    """Ask Maven for the classpath of ``project`` (downloading into ``~/.m2`` what is missing)."""
    mvn = shutil.which("mvn")
    if mvn is None:
        raise StackError(f"{project.name}: `mvn` is not on PATH to resolve its Java dependencies; {MAVEN_INSTALL_HINT}")
    target = classpath_file(project)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".partial")
    command = [mvn, "-q", "-B", "-f", str(project.pom), "dependency:build-classpath", f"-Dmdep.outputFile={partial}"]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0 or not partial.is_file():
        output = "\n".join((result.stdout + result.stderr).strip().splitlines()[-15:])
        raise StackError(
            f"{project.name}: Maven could not resolve {project.pom} (exit {result.returncode}); "
            f"run `{' '.join(command[:-1])}` to see why; last lines:\n{output}"
        )
    partial.replace(target)
    return target.read_text(encoding="utf-8").strip()


def java_binary() -> str:
    """``$JAVA_HOME/bin/java`` or ``java`` on PATH, checked to be Java 17 or later."""
    home = os.environ.get("JAVA_HOME")
    java = str(Path(home) / "bin" / "java") if home else shutil.which("java")
    if java is None or not Path(java).is_file():
        where = f"JAVA_HOME={home} has no bin/java" if home else "`java` is not on PATH"
        raise StackError(f"Kafka, OpenSearch and the schema registry need Java: {where}; {JAVA_INSTALL_HINT}")
    return _checked_java(java)


@functools.cache
def _checked_java(java: str) -> str:
    """``java`` once its version is known to be new enough (asked once per binary and process: every
    server's command line needs it)."""
    version = java_major_version(java)
    if version < MINIMUM_JAVA:
        raise StackError(
            f"{java} is Java {version}; Kafka 4, OpenSearch 2.19 and Apicurio Registry 2.4 need {MINIMUM_JAVA}+; "
            f"{JAVA_INSTALL_HINT}"
        )
    return java


def java_major_version(java: str) -> int:
    """The feature version of a ``java`` binary (``17`` for 17.0.15, ``8`` for 1.8.0)."""
    result = subprocess.run([java, "-version"], capture_output=True, text=True, check=False)
    match = re.search(r'version "(\d+)(?:\.(\d+))?', result.stderr + result.stdout)
    if not match:
        raise StackError(f"cannot tell the version of {java}: {(result.stderr or result.stdout).strip()[:200]}")
    major = int(match.group(1))
    return int(match.group(2) or 0) if major == 1 else major


# --- Kafka -------------------------------------------------------------------------------------------

KAFKA_HEAP = ["-Xms256m", "-Xmx768m"]
KAFKA_JVM_OPTIONS = ["-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20", "-Djava.awt.headless=true"]
KAFKA_NODE_ID = 1


@dataclass(frozen=True)
class KafkaLayout:
    """One combined broker and controller under ``home``: its config, and its log dirs in ``home/data``."""

    home: Path

    @property
    def config(self) -> Path:
        """The server.properties written before every start."""
        return self.home / "server.properties"

    @property
    def data(self) -> Path:
        """The log dirs: topics, offsets and the metadata log. Kept between runs."""
        return self.home / "data"

    @property
    def formatted(self) -> bool:
        """Whether the storage was formatted (KRaft needs it once, before the first start)."""
        return (self.data / "meta.properties").is_file()


def kafka_properties(layout: KafkaLayout, host: str, port: int, controller_port: int) -> str:
    """The broker's configuration: one node, KRaft with a static quorum of itself, PLAINTEXT on ``host``.

    Internal topics have one replica (one broker); ``__consumer_offsets`` gets 4 partitions instead of 50,
    which a 2-core machine creates noticeably slower. Group timings stay at Kafka's defaults, except the
    initial rebalance delay (3 s in Kafka, meant for many members joining a new group at once).
    """
    settings = {
        "process.roles": "broker,controller",
        "node.id": str(KAFKA_NODE_ID),
        "controller.quorum.voters": f"{KAFKA_NODE_ID}@{host}:{controller_port}",
        "listeners": f"PLAINTEXT://{host}:{port},CONTROLLER://{host}:{controller_port}",
        "advertised.listeners": f"PLAINTEXT://{host}:{port}",
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        "log.dirs": str(layout.data),
        "num.partitions": "1",
        "offsets.topic.replication.factor": "1",
        "offsets.topic.num.partitions": "4",
        "transaction.state.log.replication.factor": "1",
        "transaction.state.log.min.isr": "1",
        "share.coordinator.state.topic.replication.factor": "1",
        "share.coordinator.state.topic.min.isr": "1",
        "group.initial.rebalance.delay.ms": "0",
    }
    return "".join(f"{key}={value}\n" for key, value in settings.items())


def new_cluster_id() -> str:
    """A random KRaft cluster id: a base64url UUID without padding that does not start with ``-`` (which
    command lines would read as an option), as ``kafka-storage random-uuid`` makes them."""
    while True:
        candidate = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode("ascii").rstrip("=")
        if not candidate.startswith("-"):
            return candidate


def kafka_java_command() -> list[str]:
    """``java`` with the broker's heap, GC, logging options and classpath; the main class follows."""
    options = [*KAFKA_HEAP, *KAFKA_JVM_OPTIONS, f"-Dlog4j2.configurationFile={KAFKA_LOG_CONFIG}"]
    return [java_binary(), *options, "-cp", classpath(KAFKA_PROJECT)]


def prepare_kafka(layout: KafkaLayout, host: str, port: int, controller_port: int, log: Path) -> None:
    """Write server.properties and, on the first start only, format the storage (output to ``log``)."""
    layout.home.mkdir(parents=True, exist_ok=True)
    layout.config.write_text(kafka_properties(layout, host, port, controller_port), encoding="utf-8")
    if layout.formatted:
        return
    command = [*kafka_java_command(), "kafka.tools.StorageTool", "format"]
    command += [f"--cluster-id={new_cluster_id()}", f"--config={layout.config}", "--ignore-formatted"]
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as output:
        result = subprocess.run(command, stdout=output, stderr=subprocess.STDOUT, check=False)
    if result.returncode != 0 or not layout.formatted:
        raise StackError(f"kafka: formatting the storage in {layout.data} failed (exit {result.returncode}); log {log}")


def kafka_argv(layout: KafkaLayout) -> list[str]:
    """The broker's command line."""
    return [*kafka_java_command(), "kafka.Kafka", str(layout.config)]


# --- OpenSearch --------------------------------------------------------------------------------------

SEARCH_HEAP = ["-Xms1g", "-Xmx1g"]
SEARCH_JVM_OPTIONS = [
    "-XX:+UseG1GC",
    "-Djava.awt.headless=true",
    "-Dfile.encoding=UTF-8",
    "-Djna.nosys=true",
    "-Dio.netty.noUnsafe=true",
    "-Dio.netty.noKeySetOptimization=true",
    "-Dlog4j.shutdownHookEnabled=false",
    "-Dlog4j2.disable.jmx=true",
]
SEARCH_CLUSTER_NAME = "graphdex-local"


def search_settings(host: str, http_port: int, transport_port: int) -> dict[str, str]:
    """A single-node cluster on ``host``; disk watermarks off (a shared dev disk may be nearly full)."""
    return {
        "network.host": host,
        "http.port": str(http_port),
        "transport.port": str(transport_port),
        "discovery.type": "single-node",
        "cluster.routing.allocation.disk.threshold_enabled": "false",
    }


def search_argv(home: Path, settings: dict[str, str]) -> list[str]:
    """The node's command line: the launcher in source-file mode, its home folder, then its settings."""
    argv = [java_binary(), *SEARCH_HEAP, *SEARCH_JVM_OPTIONS, "-cp", classpath(SEARCH_PROJECT), str(SEARCH_LAUNCHER)]
    return [*argv, str(home), SEARCH_CLUSTER_NAME, *(f"{key}={value}" for key, value in settings.items())]


# --- Schema registry ---------------------------------------------------------------------------------

REGISTRY_HEAP = ["-Xms64m", "-Xmx512m"]
REGISTRY_RUNNER = "apicurio-registry-runner.jar"
"""The pom's ``finalName`` plus Quarkus's ``-runner`` suffix; its ``lib/`` folder sits beside it."""
REGISTRY_API_PATH = "/apis/ccompat/v7"
"""Apicurio's Confluent-compatible API: what ``kafka.schema_registry_url`` points at."""


def registry_build_dir(project: MavenProject = REGISTRY_PROJECT) -> Path:
    """Where the registry's build output is kept, one folder per fingerprint of its project."""
    return cache_dir() / "build" / f"{project.name}-{project.fingerprint}"


def registry_runner(*, build: bool = True, project: MavenProject = REGISTRY_PROJECT) -> Path:
    """The registry's runner jar; built with Maven first if not cached (or if its ``lib/`` went missing)."""
    runner = registry_build_dir(project) / REGISTRY_RUNNER
    if runner.is_file() and (runner.parent / "lib").is_dir():
        return runner
    if not build:
        raise StackError(
            f"{project.name}: the schema registry is not built yet; run `bash scripts/bootstrap.sh` "
            f"(or `python -m demo.java_servers`)"
        )
    return build_registry(project)


def build_registry(project: MavenProject = REGISTRY_PROJECT) -> Path:
    """``mvn package`` the registry into a fresh folder beside its final one, then move it into place
    (so an interrupted build is never taken for a finished one); its runner jar. Maven's output goes to
    ``<build folder>.log``."""
    mvn = shutil.which("mvn")
    if mvn is None:
        raise StackError(f"{project.name}: `mvn` is not on PATH to build the schema registry; {MAVEN_INSTALL_HINT}")
    java_binary()  # Maven would fail less clearly without a JDK 17+
    final = registry_build_dir(project)
    final.parent.mkdir(parents=True, exist_ok=True)
    partial = Path(tempfile.mkdtemp(prefix=f"{final.name}.", suffix=".partial", dir=final.parent))
    log = final.with_suffix(".log")
    command = [mvn, "-B", "-f", str(project.pom), "package", f"-Dgraphdex.build.dir={partial}"]
    try:
        with log.open("wb") as output:
            result = subprocess.run(command, stdout=output, stderr=subprocess.STDOUT, check=False)
        if result.returncode != 0 or not (partial / REGISTRY_RUNNER).is_file():
            lines = log.read_text(encoding="utf-8", errors="replace").strip().splitlines()
            errors = [line for line in lines if line.startswith("[ERROR]")][:5] or lines[-15:]
            raise StackError(
                f"{project.name}: Maven could not build the schema registry from {project.pom} "
                f"(exit {result.returncode}); full output in {log}; run `{' '.join(command[:-1])}` to retry:\n"
                + "\n".join(errors)
            )
        if final.exists() and not ((final / REGISTRY_RUNNER).is_file() and (final / "lib").is_dir()):
            shutil.rmtree(final, ignore_errors=True)  # what is left of a build whose jars were removed
        try:
            partial.rename(final)
        except OSError:
            if not (final / REGISTRY_RUNNER).is_file():  # not a concurrent build that finished first
                raise
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    return final / REGISTRY_RUNNER


def registry_database_url(data: Path) -> str:
    """A file-backed H2 database under ``data``: subjects and schema ids outlive a restart. Every commit
    is written at once (``WRITE_DELAY=0``; H2 otherwise writes up to a second later, which a killed
    registry would lose although it had answered the registration)."""
    return f"jdbc:h2:file:{data.resolve() / 'registry'};WRITE_DELAY=0"


def registry_argv(data: Path, host: str, port: int) -> list[str]:
    """The registry's command line: HTTP on ``host:port``, its database in the folder ``data``."""
    data.mkdir(parents=True, exist_ok=True)
    options = [f"-Dquarkus.http.host={host}", f"-Dquarkus.http.port={port}"]
    options.append(f"-Dquarkus.datasource.jdbc.url={registry_database_url(data)}")
    return [java_binary(), *REGISTRY_HEAP, "-Djava.awt.headless=true", *options, "-jar", str(registry_runner())]


def main() -> int:
    """Resolve every server's classpath and build the schema registry (``python -m demo.java_servers``);
    used by scripts/bootstrap.sh."""
    try:
        java_binary()
        for project in PROJECTS:
            cached = classpath_file(project).is_file()
            if not cached:
                print(f"resolving {project.name} from Maven Central ({project.pom})", flush=True)
            entries = classpath(project).split(os.pathsep)
            if not cached:
                print(f"  {len(entries)} jars; classpath in {classpath_file(project)}")
        if not (registry_build_dir() / REGISTRY_RUNNER).is_file():
            print(f"building the schema registry from Maven Central ({REGISTRY_POM})", flush=True)
            print(f"  runner jar {registry_runner()}")
    except StackError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
