"""``graphdex run`` as a subprocess (the installed command), with its metrics port, JSON logs and signals."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from demo.ports import free_ports
from demo.stack import LocalStack

GRAPHDEX = str(Path(sys.executable).with_name("graphdex"))


@dataclass
class DaemonProcess:
    """One ``graphdex run CONFIG --json-logs --metrics-port N`` process; its stderr goes to ``log``."""

    process: subprocess.Popen[bytes]
    log: Path
    metrics_port: int

    @classmethod
    def start(cls, config: Path, stack: LocalStack, log: Path, *options: str) -> DaemonProcess:
        port = free_ports(["metrics"])["metrics"]
        argv = [GRAPHDEX, "run", str(config), "--json-logs", "--metrics-port", str(port), *options]
        env = {**os.environ, **stack.endpoints.environment()}
        with log.open("ab") as output:
            process = subprocess.Popen(argv, stdout=output, stderr=subprocess.STDOUT, env=env)
        return cls(process, log, port)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.metrics_port}"

    def get(self, path: str) -> httpx.Response:
        return httpx.get(f"{self.base_url}{path}", timeout=5)

    def wait_until_ready(self, timeout: float = 30.0) -> None:
        """Until ``/readyz`` answers 200; fails with the log if the process exits or never gets ready."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"graphdex run exited with {self.process.returncode}:\n{self.output()}")
            try:
                if self.get("/readyz").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"graphdex run not ready within {timeout}s:\n{self.output()}")

    def samples(self) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
        """Every sample of ``/metrics`` by (name, sorted labels)."""
        text = self.get("/metrics").text
        return {
            (sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(text)
            for sample in family.samples
        }

    def value(self, name: str, **labels: str) -> float:
        """One sample of ``/metrics`` (0 when absent)."""
        return self.samples().get((name, tuple(sorted(labels.items()))), 0.0)

    def send(self, number: signal.Signals) -> None:
        self.process.send_signal(number)

    def wait(self, timeout: float) -> int:
        return self.process.wait(timeout)

    def stop(self) -> None:
        """SIGKILL if still running (test clean-up)."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def log_events(self) -> list[dict[str, Any]]:
        """The JSON log lines (other output, such as the start-up banner, is skipped)."""
        events = []
        for line in self.output().splitlines():
            if line.startswith("{"):
                try:
                    events.append(json.loads(line))
                except json.JSONDecodeError:
                    continue
        return events
