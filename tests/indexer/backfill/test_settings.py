"""The ``backfill`` section of an index definition: defaults, units, and every problem named by key."""

from __future__ import annotations

import pytest

from schema_gen.config import parse_config, parse_rate, parse_time_window
from schema_gen.errors import ConfigError

MINIMAL = {"index": "movies", "graph": {"url": "http://gateway/"}, "query": "q", "root": {"type": "Movie"}}


def test_defaults_are_conservative():
    """Without a backfill section: 20 requests/s, two in flight, fixed rate, no windows, no enumeration."""
    backfill = parse_config(MINIMAL, "movies.yaml", {}).backfill
    assert (backfill.rate, backfill.concurrency, backfill.target_latency) == (20.0, 2, None)
    assert backfill.windows == ()
    assert backfill.enumeration is None


def test_units_are_parsed():
    """Rates per second, minute or hour; durations in ms; the enumeration's defaults."""
    data = {
        **MINIMAL,
        "backfill": {
            "rate": "600/m",
            "min_rate": "3600/h",
            "max_rate": 80,
            "target_latency": "250ms",
            "windows": ["22:00-06:00"],
            "enumeration": {"query": "q", "ids_path": "a.ids", "cursor_path": "a.end"},
        },
    }
    backfill = parse_config(data, "movies.yaml", {}).backfill
    assert (backfill.rate, backfill.min_rate, backfill.max_rate, backfill.target_latency) == (10.0, 1.0, 80.0, 0.25)
    assert backfill.enumeration is not None
    assert (backfill.enumeration.cursor_variable, backfill.enumeration.page_size_variable) == ("after", "first")
    assert backfill.enumeration.page_size == 1000


def test_every_problem_names_its_key():
    """Bad rate, concurrency, window, unknown and missing enumeration keys, all at once."""
    data = {
        **MINIMAL,
        "backfill": {
            "rate": "fast",
            "concurrency": 0,
            "windows": ["22:00-06:00", "7-9"],
            "enumeration": {"query": "q", "ids": "a.ids"},
        },
    }
    with pytest.raises(ConfigError) as caught:
        parse_config(data, "movies.yaml", {})
    assert [problem.where for problem in caught.value.problems] == [
        "movies.yaml: backfill.enumeration.ids_path",
        "movies.yaml: backfill.enumeration.cursor_path",
        "movies.yaml: backfill.enumeration.ids",
        "movies.yaml: backfill.rate",
        "movies.yaml: backfill.concurrency",
        "movies.yaml: backfill.windows[1]",
    ]


def test_floor_above_ceiling_is_refused():
    """min_rate may not exceed max_rate."""
    data = {**MINIMAL, "backfill": {"min_rate": 50, "max_rate": "10/s"}}
    with pytest.raises(ConfigError, match="min_rate must not exceed max_rate"):
        parse_config(data, "movies.yaml", {})


@pytest.mark.parametrize(("text", "rate"), [("50/s", 50.0), ("50", 50.0), (" 3 / m ", 0.05), (2.5, 2.5)])
def test_parse_rate(text, rate):
    """Rates with or without a unit."""
    assert parse_rate(text) == pytest.approx(rate)


@pytest.mark.parametrize("text", ["0/s", "-1", "fast", "5/d", True])
def test_parse_rate_refuses(text):
    """Zero, negative, unit-less words and unknown units are errors."""
    with pytest.raises(ValueError, match="rate"):
        parse_rate(text)


def test_parse_time_window():
    """Minutes after midnight; a window may end at 24:00 or cross midnight."""
    assert parse_time_window("22:00-06:00") == (1320, 360)
    assert parse_time_window("9:30 - 24:00") == (570, 1440)
