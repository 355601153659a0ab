"""Classify the difference between the live version and what the definition generates now.

Mappings are compared structurally, field by field (``properties`` and multi-field ``fields``
recursively, with an object's implicit ``type: object`` made explicit, since servers leave it out):

- a field (or sub-field) only the definition has is **added**: the live version takes it in place
  (``put_mapping``), and every document is re-fetched to fill it;
- a field only the live version has is **removed**, and a field whose parameters differ (type,
  analyzer, ``index``, ...) is **changed**: neither can be done to an existing index, so they need a
  new version, a backfill and an alias swap.

Settings are compared on the keys the definition sets (``analysis`` as a whole): the dynamic ones
(``number_of_replicas``, ``refresh_interval``, ``gc_deletes``) are changed in place; anything else (shards, an
analyzer, a filter, a normalizer) needs a new version.

When the structure agrees but the stored ``artifacts_hash`` does not, the Avro schema or the
template's metadata changed: recorded in place, re-fetching every document when the Avro schema
(the shape of the documents) changed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Literal

from indexer.provision.versions import canonical_json
from indexer.search_store.model import flatten_settings

DYNAMIC_SETTINGS = frozenset({"number_of_replicas", "refresh_interval", "gc_deletes"})
"""Settings an open index accepts through ``put_settings``."""
_STRUCTURAL = ("properties", "fields")
_IGNORED_ROOT = frozenset({"properties", "_meta"})


class ChangeKind(StrEnum):
    """What an apply must do to the index versions."""

    NONE = "none"
    CREATE = "create"
    """No live version yet: create the first one."""
    IN_PLACE = "in_place"
    """The live version takes the change (new fields, dynamic settings, metadata)."""
    NEW_VERSION = "new_version"
    """A new version is built, backfilled and swapped in."""


Change = Literal["added", "removed", "changed"]


@dataclass(frozen=True)
class Difference:
    """One mapping path or setting that differs between the live version and the definition."""

    path: str
    """``title``, ``credits.talent.name.autocomplete``, ``settings.analysis.analyzer.folding``."""
    change: Change
    detail: str
    in_place: bool
    """The live version can take this change."""
    refetch: bool = False
    """Taking it in place needs every document fetched again."""

    def __str__(self) -> str:
        return f"{self.path}: {self.change}{f' ({self.detail})' if self.detail else ''}"


@dataclass(frozen=True)
class IndexChange:
    """The kind of change and the differences that make it so."""

    kind: ChangeKind
    differences: tuple[Difference, ...] = ()

    @property
    def refetch(self) -> bool:
        """Documents must all be fetched again (always for a new or first version)."""
        if self.kind in (ChangeKind.CREATE, ChangeKind.NEW_VERSION):
            return True
        return any(difference.refetch for difference in self.differences)

    @property
    def reasons(self) -> tuple[Difference, ...]:
        """The differences that decide the kind: those that force a new version, if any."""
        forcing = tuple(difference for difference in self.differences if not difference.in_place)
        return forcing or self.differences


def _show(value: Any) -> str:
    if value is None:
        return "none"
    return value if isinstance(value, str) else canonical_json(value)


def normalized_field(mapping: Mapping[str, Any]) -> dict[str, Any]:
    """A field mapping with the implicit ``type: object`` of an object made explicit."""
    field = dict(mapping)
    if "properties" in field and "type" not in field:
        field["type"] = "object"
    return field


def _compare_properties(
    live: Mapping[str, Any], desired: Mapping[str, Any], prefix: str, found: list[Difference]
) -> None:
    for name, wanted in desired.items():
        path = f"{prefix}{name}"
        if name not in live:
            kind = normalized_field(wanted).get("type", "object")
            found.append(Difference(path, "added", f"new {kind} field", in_place=True, refetch=True))
        else:
            _compare_field(live[name], wanted, path, found)
    for name, current in live.items():
        if name not in desired:
            kind = normalized_field(current).get("type", "object")
            found.append(Difference(f"{prefix}{name}", "removed", f"{kind} field", in_place=False))


def _compare_field(live: Mapping[str, Any], desired: Mapping[str, Any], path: str, found: list[Difference]) -> None:
    have, want = normalized_field(live), normalized_field(desired)
    changed = [
        f"{key}: {_show(have.get(key))} -> {_show(want.get(key))}"
        for key in sorted((set(have) | set(want)) - set(_STRUCTURAL))
        if have.get(key) != want.get(key)
    ]
    if changed:
        found.append(Difference(path, "changed", "; ".join(changed), in_place=False))
        return  # the children of a retyped field are rebuilt with it
    for structural in _STRUCTURAL:
        _compare_properties(have.get(structural, {}), want.get(structural, {}), f"{path}.", found)


def mapping_differences(live: Mapping[str, Any], desired: Mapping[str, Any]) -> list[Difference]:
    """Every path where the live mappings and the desired ones differ, in the desired field order."""
    found: list[Difference] = []
    for key in sorted((set(live) | set(desired)) - _IGNORED_ROOT):
        if live.get(key) != desired.get(key):
            detail = f"{_show(live.get(key))} -> {_show(desired.get(key))}"
            found.append(Difference(f"mappings.{key}", "changed", detail, in_place=False))
    _compare_properties(live.get("properties", {}), desired.get("properties", {}), "", found)
    return found


def _analysis_component(key: str) -> str:
    """``analysis.analyzer.folding`` for ``analysis.analyzer.folding.filter``."""
    return ".".join(key.split(".")[:3])


def settings_differences(live: Mapping[str, Any], desired: Mapping[str, Any]) -> list[Difference]:
    """Differences in the settings the definition sets; ``live`` may be nested or flat."""
    have, want = flatten_settings(live), flatten_settings(desired)
    found: list[Difference] = []
    for key in sorted(key for key in want if not key.startswith("analysis.")):
        if have.get(key) != want[key]:
            dynamic = key in DYNAMIC_SETTINGS
            detail = f"{_show(have.get(key))} -> {_show(want[key])}"
            found.append(Difference(f"settings.{key}", "changed", detail, in_place=dynamic))
    components = sorted({_analysis_component(key) for key in [*have, *want] if key.startswith("analysis.")})
    for component in components:
        old = {key: value for key, value in have.items() if _analysis_component(key) == component}
        new = {key: value for key, value in want.items() if _analysis_component(key) == component}
        if old == new:
            continue
        change: Change = "added" if not old else "removed" if not new else "changed"
        keys = sorted(key.removeprefix(f"{component}.") for key in set(old) | set(new) if old.get(key) != new.get(key))
        found.append(Difference(f"settings.{component}", change, ", ".join(keys), in_place=False))
    return found


@dataclass(frozen=True)
class VersionShape:
    """What classification needs from one version: mappings, settings and stored hashes."""

    mappings: Mapping[str, Any]
    settings: Mapping[str, Any]
    artifacts_hash: str
    avro_hash: str


def classify(live: VersionShape | None, desired: VersionShape) -> IndexChange:
    """What taking ``desired`` means for the live version (None: there is none yet)."""
    if live is None:
        return IndexChange(ChangeKind.CREATE)
    differences = mapping_differences(live.mappings, desired.mappings)
    differences += settings_differences(live.settings, desired.settings)
    if any(not difference.in_place for difference in differences):
        return IndexChange(ChangeKind.NEW_VERSION, tuple(differences))
    if live.avro_hash != desired.avro_hash:
        detail = "the document schema changed; every document is fetched again"
        differences.append(Difference("avro", "changed", detail, in_place=True, refetch=True))
    elif live.artifacts_hash != desired.artifacts_hash and not differences:
        differences.append(Difference("template", "changed", "template metadata", in_place=True))
    if differences:
        return IndexChange(ChangeKind.IN_PLACE, tuple(differences))
    return IndexChange(ChangeKind.NONE)
