"""The demo, end to end: ``bash demo/run.sh`` (or ``python -m demo.showcase``).

1. starts the local stack afresh (Apache Kafka, an OpenSearch node, three subgraphs, the Apollo gateway);
2. ``graphdex apply configs/movies.yaml``: topics, index template, ``movies-1`` behind its aliases,
   and a backfill of every movie through the gateway;
3. starts ``graphdex run configs/movies.yaml`` (the daemon) with metrics on ``/metrics``;
4. answers searches with ``graphdex search``: full text, the Ryan Reynolds question, facets;
5. renames a movie through the gateway and times how long until the index finds the new title;
6. stops everything (``--keep-running`` leaves the stack and the daemon up until Ctrl-C).

Every step runs the real command a user would type, with the stack's endpoints in the environment.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from demo.data.fixtures import AMELIE
from demo.ports import free_ports
from demo.stack import LocalStack, StackOptions
from indexer.search import SearchClient

REPO = Path(__file__).resolve().parent.parent
CONFIG = REPO / "configs" / "movies.yaml"

SEARCHES: list[tuple[str, list[str]]] = [
    ("Full text, accents folded: 'amelie'", ["amelie", "--first", "3"]),
    (
        "Movies in photography with Ryan Reynolds as an actor",
        [
            "--filter",
            'production.status == "PHOTOGRAPHY" and credits.any(talent.name == "Ryan Reynolds" and role == "ACTOR")',
        ],
    ),
    (
        "Movies crediting Ryan Reynolds in any role, newest first, with facets",
        [
            "--filter",
            'credits.any(talent.name == "Ryan Reynolds")',
            "--facet",
            "credits.role",
            "--facet",
            "production.status",
            "--sort",
            "-releaseYear",
            "--first",
            "5",
        ],
    ),
]


def _step(title: str) -> None:
    print(f"\n\033[1m== {title}\033[0m", flush=True)


def _graphdex(args: list[str], env: dict[str, str]) -> None:
    command = [sys.executable, "-m", "cli", *args]
    print("$ graphdex " + " ".join(_quote(a) for a in args), flush=True)
    subprocess.run(command, env=env, check=True, cwd=REPO)


def _quote(arg: str) -> str:
    return arg if arg.replace("-", "").replace(".", "").replace("/", "").isalnum() else repr(arg)


def _rename_and_time(env: dict[str, str], gateway_url: str) -> float:
    """Rename a movie through the gateway; seconds until a search finds it by its new title."""
    title = f"Amélie, Redux {int(time.time()) % 10000}"
    mutation = "mutation($id: ID!, $t: String!) { updateMovie(movieId: $id, input: {title: $t}) { movieId title } }"
    started = time.monotonic()
    reply = httpx.post(gateway_url, json={"query": mutation, "variables": {"id": AMELIE, "t": title}}, timeout=30)
    reply.raise_for_status()
    client = SearchClient.from_definition(CONFIG, env=env)
    while time.monotonic() - started < 30:
        found = client.search(f'"{title}"', first=1)
        if found.hits and found.hits[0].id == AMELIE:
            print(f"renamed {AMELIE} to {title!r}: searchable after {time.monotonic() - started:.2f} s")
            return time.monotonic() - started
        time.sleep(0.1)
    raise SystemExit("the renamed movie was not searchable within 30 s (see the daemon log)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="demo/run.sh", description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=200, help="movies in the demo data (default 200)")
    parser.add_argument("--keep-running", action="store_true", help="leave the stack and daemon up until Ctrl-C")
    parser.add_argument("--state-dir", type=Path, default=REPO / ".graphdex" / "demo")
    options = parser.parse_args(argv)

    _step(f"Starting the local stack ({options.size} movies)")
    stack = LocalStack(StackOptions(state_dir=options.state_dir, ports=free_ports(), size=options.size, fresh=True))
    daemon: subprocess.Popen[bytes] | None = None
    try:
        stack.start()
        env = os.environ | stack.endpoints.environment()
        for name, value in stack.endpoints.environment().items():
            print(f"export {name}={value}")
        print(f"stack ready in {stack.total_startup_seconds:.1f} s; logs under {options.state_dir}")

        _step("Provisioning the index (topics, template, movies-1, backfill through the gateway)")
        _graphdex(["apply", str(CONFIG), "--no-progress"], env)

        _step("Starting the daemon")
        metrics_port = free_ports(["metrics"])["metrics"]
        daemon = subprocess.Popen(
            [sys.executable, "-m", "cli", "run", str(CONFIG), "--metrics-port", str(metrics_port)],
            env=env,
            cwd=REPO,
            stderr=open(options.state_dir / "daemon.log", "wb"),  # noqa: SIM115 - lives as long as the daemon
        )
        ready_url = f"http://127.0.0.1:{metrics_port}/readyz"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(ready_url, timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if daemon.poll() is not None:
                raise SystemExit(f"the daemon exited; see {options.state_dir / 'daemon.log'}")
            time.sleep(0.2)
        print(f"daemon ready: metrics on http://127.0.0.1:{metrics_port}/metrics")

        for title, args in SEARCHES:
            _step(title)
            _graphdex(["search", str(CONFIG), *args], env)

        _step("A live change: rename a movie through the gateway")
        _rename_and_time(env, stack.endpoints.gateway_url)

        if options.keep_running:
            _step("Running: try `graphdex search configs/movies.yaml ...` with the exports above; Ctrl-C stops")
            signal.signal(signal.SIGTERM, signal.default_int_handler)
            try:
                while daemon.poll() is None:
                    time.sleep(1)
            except KeyboardInterrupt:
                print("stopping")
        return 0
    finally:
        if daemon is not None and daemon.poll() is None:
            daemon.send_signal(signal.SIGTERM)
            daemon.wait(15)
        stack.stop()


if __name__ == "__main__":
    sys.exit(main())
