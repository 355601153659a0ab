"""Local stacks for tests: the session's shared one, and private ones for test modules that change the
seeded data, freeze processes or inject faults (the shared stack must stay as seeded)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from demo.ports import SERVICE_NAMES, free_ports
from demo.services import DEFAULT_SEED, DEFAULT_SIZE
from demo.stack import LocalStack, StackOptions
from demo.subgraphs.faults import ENVIRONMENT_VARIABLE


def new_stack(state_dir: Path) -> LocalStack:
    """A stack (not started) on free ports with the default demo data, given time to start on a busy machine."""
    options = StackOptions(
        state_dir=state_dir, ports=free_ports(), size=DEFAULT_SIZE, seed=DEFAULT_SEED, startup_timeout=90.0
    )
    return LocalStack(options)


@contextmanager
def started_stack(
    state_dir: Path, services: Iterable[str] = SERVICE_NAMES, *, fault_injection: bool = False
) -> Iterator[LocalStack]:
    """A started stack of ``services`` (and what they need), stopped afterwards; ``fault_injection`` turns
    on the movies subgraph's ``/faults``."""
    stack = new_stack(state_dir)
    try:
        with pytest.MonkeyPatch.context() as patch:  # the subgraphs inherit the environment at launch
            if fault_injection:
                patch.setenv(ENVIRONMENT_VARIABLE, "1")
            stack.start(services)
        yield stack
    finally:
        stack.stop()
