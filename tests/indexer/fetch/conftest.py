"""Fixtures for the fetch tests: the fake gateway and clock, metrics, and a fetcher factory."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from prometheus_client import CollectorRegistry

from indexer.fetch import DocumentFetcher, FetchMetrics, VersionClock
from indexer.fetch.isolation import IsolationMemory

from .fakes import ALIAS_QUERY, INT_QUERY, LIST_QUERY, FakeClock, FakeGateway, make_config, make_model


@pytest.fixture
def gateway() -> FakeGateway:
    """A fake gateway with three movies."""
    fake = FakeGateway()
    for movie_id, title in (("m1", "Amélie"), ("m2", "Léon"), ("m3", "黒澤 明の夢")):
        fake.add(movie_id, title)
    return fake


@pytest.fixture
def clock() -> FakeClock:
    """A fake monotonic clock whose sleeps return at once."""
    return FakeClock()


@pytest.fixture
def registry() -> CollectorRegistry:
    """A fresh metrics registry."""
    return CollectorRegistry()


@pytest.fixture
def metrics(registry: CollectorRegistry) -> FetchMetrics:
    """Fetch metrics registered in ``registry``."""
    return FetchMetrics(registry)


@pytest.fixture
def memory() -> IsolationMemory:
    """What the test's fetchers learn while isolating poison ids (not the process-wide memory)."""
    return IsolationMemory()


@pytest.fixture
def build_fetcher(gateway: FakeGateway, clock: FakeClock, metrics: FetchMetrics, memory: IsolationMemory):
    """Builds DocumentFetchers on the fake gateway and clock, sharing ``memory``; closes them after the test."""
    made: list[DocumentFetcher] = []

    def build(
        mode: str = "list", *, title_nullable: bool = True, versions: VersionClock | None = None, **fetch: Any
    ) -> DocumentFetcher:
        query, variable = {"list": (LIST_QUERY, "ids"), "alias": (ALIAS_QUERY, "id"), "int": (INT_QUERY, "number")}[
            mode
        ]
        config = make_config(query, variable, **fetch)
        fetcher = DocumentFetcher.for_index(
            make_model(config, title_nullable=title_nullable),
            config,
            metrics=metrics,
            transport=httpx.MockTransport(gateway),
            sleep=clock.sleep,
            clock=clock,
            versions=versions,
            memory=memory,
        )
        made.append(fetcher)
        return fetcher

    yield build
    for fetcher in made:
        fetcher.close()
