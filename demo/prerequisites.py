"""What the local stack needs before it can start, installed where possible, otherwise reported with the
exact command to run."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
from pathlib import Path

from schema_gen.errors import Problem, StackError

GATEWAY_DIR = Path(__file__).resolve().parent / "gateway"
GATEWAY_SCRIPT = GATEWAY_DIR / "server.mjs"
NODE_INSTALL_HINT = "install Node.js 20 or later (e.g. `apt-get install nodejs npm`)"


def node_binary() -> str:
    """``node`` on PATH."""
    node = shutil.which("node")
    if node is None:
        raise StackError(f"gateway: `node` is not on PATH; {NODE_INSTALL_HINT}")
    return node


def missing_subgraph_modules(modules: list[str]) -> list[Problem]:
    """A problem for each subgraph module that cannot be imported."""
    return [
        Problem(module, "module not found (is the demo graph checked out and graphdex installed with [demo]?)")
        for module in modules
        if importlib.util.find_spec(module) is None
    ]


def ensure_gateway_packages(log_path: Path, gateway_dir: Path = GATEWAY_DIR) -> None:
    """Run ``npm ci`` in demo/gateway if its node_modules are missing or older than package-lock.json."""
    script = gateway_dir / GATEWAY_SCRIPT.name
    if not script.is_file():
        raise StackError(f"gateway: {script} does not exist (the demo gateway is not checked out)")
    lock = gateway_dir / "package-lock.json"
    modules = gateway_dir / "node_modules"
    if modules.is_dir() and (not lock.is_file() or modules.stat().st_mtime >= lock.stat().st_mtime):
        return
    npm = shutil.which("npm")
    command = f"cd {gateway_dir} && npm ci"
    if npm is None:
        raise StackError(
            f"gateway: npm is not on PATH to install the gateway's packages; {NODE_INSTALL_HINT}, then run `{command}`"
        )
    argv = [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"] if lock.is_file() else [npm, "install"]
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        result = subprocess.run(argv, cwd=gateway_dir, stdout=log, stderr=subprocess.STDOUT, check=False)
    if result.returncode != 0:
        raise StackError(
            f"gateway: `npm ci` failed in {gateway_dir} (output in {log_path}); run `{command}` to see why"
        )
    modules.touch()
