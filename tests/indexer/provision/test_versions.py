"""Version names and the provisioning state stored in ``_meta.graphdex``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from indexer.provision.versions import IndexNames, VersionMeta, VersionState, artifacts_hash

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


def test_names_of_aliases_and_versions():
    """The search alias is the index name, the write alias ends in -write, versions in -<n>."""
    names = IndexNames("movies")
    assert (names.search_alias, names.write_alias, names.version(3)) == ("movies", "movies-write", "movies-3")


@pytest.mark.parametrize(
    ("name", "number"),
    [("movies-1", 1), ("movies-12", 12), ("movies-write", None), ("movies-0", None), ("movies-2-old", None)],
)
def test_only_positive_numbered_names_are_versions(name, number):
    """``<index>-<n>`` with a positive n is a version; other names sharing the prefix are not."""
    assert IndexNames("movies").version_number(name) == number


def test_meta_round_trips():
    """What ``to_meta`` writes, ``from_meta`` reads back."""
    meta = VersionMeta(2, "a" * 64, "b" * 64, "2025-06-01T12:00:00Z", VersionState.RETIRED, "2025-06-01T13:00:00Z")
    assert VersionMeta.from_meta(meta.to_meta()) == meta


@pytest.mark.parametrize(
    ("stored", "message"),
    [
        ("x", "not an object"),
        ({"version": 1, "state": "live", "created_at": "t"}, "has no artifacts_hash"),
        ({"version": 0, "state": "live", "artifacts_hash": "h", "created_at": "t"}, "not a positive integer"),
        ({"version": 1, "state": "gone", "artifacts_hash": "h", "created_at": "t"}, "not pending, live or retired"),
        (
            {"version": 1, "state": "retired", "artifacts_hash": "h", "created_at": "t", "retire_after": "soon"},
            "not an ISO-8601 time",
        ),
    ],
)
def test_bad_meta_says_what_is_wrong(stored, message):
    """Every kind of malformed state is refused with the key at fault."""
    with pytest.raises(ValueError, match=message):
        VersionMeta.from_meta(stored)


def test_retired_versions_are_deletable_after_their_grace():
    """A version retired with a one-hour grace is deletable an hour later, not before."""
    retired = VersionMeta(1, "h", "a", "2025-06-01T00:00:00Z", VersionState.LIVE).retired(NOW, timedelta(hours=1))
    assert retired.retire_after == "2025-06-01T13:00:00Z"
    assert not retired.deletable(NOW + timedelta(minutes=59))
    assert retired.deletable(NOW + timedelta(hours=1))
    assert not retired.live().deletable(NOW + timedelta(days=1))


def test_artifacts_hash_ignores_key_order():
    """The hash is taken over canonical JSON: key order does not matter, content does."""
    assert artifacts_hash({"a": 1, "b": 2}, {"x": 1}) == artifacts_hash({"b": 2, "a": 1}, {"x": 1})
    assert artifacts_hash({"a": 1}, {"x": 1}) != artifacts_hash({"a": 1}, {"x": 2})
