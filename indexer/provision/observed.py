"""What the search cluster holds for one index: its template, its versions (with the provisioning
state in their ``_meta``) and its two aliases. Read-only.

Anything provisioning cannot safely work around is a ``Problem`` (an index occupying an alias name, a
``<index>-<n>`` index graphdex did not create, an alias pointing elsewhere), reported before any
change is made.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from indexer.provision.diff import VersionShape
from indexer.provision.search_cluster import SearchAdmin
from indexer.provision.versions import META_KEY, IndexNames, VersionMeta, VersionState
from schema_gen.errors import Problem


@dataclass(frozen=True)
class ObservedVersion:
    """One concrete version as the cluster has it."""

    name: str
    number: int
    meta: VersionMeta
    mappings: dict[str, Any]
    settings: dict[str, Any]
    aliases: frozenset[str]

    @property
    def state(self) -> VersionState:
        return self.meta.state

    def shape(self) -> VersionShape:
        return VersionShape(self.mappings, self.settings, self.meta.artifacts_hash, self.meta.avro_hash)

    def mapping_meta(self, meta: VersionMeta) -> dict[str, Any]:
        """This version's whole ``_meta`` with ``graphdex`` replaced (``put_mapping`` replaces ``_meta``)."""
        return dict(self.mappings.get("_meta") or {}) | {META_KEY: meta.to_meta()}


@dataclass(frozen=True)
class ObservedIndex:
    """The template, versions and aliases of one index."""

    names: IndexNames
    template: dict[str, Any] | None
    versions: tuple[ObservedVersion, ...] = ()
    search_targets: tuple[str, ...] = ()
    """What the search alias points at (one version when healthy)."""
    write_targets: tuple[str, ...] = ()
    problems: tuple[Problem, ...] = field(default=())

    @property
    def template_hash(self) -> str | None:
        """The artifacts hash the deployed template was generated with."""
        meta = (self.template or {}).get("_meta") or {}
        stored = (meta.get(META_KEY) or {}) if isinstance(meta, Mapping) else {}
        value = stored.get("artifacts_hash") if isinstance(stored, Mapping) else None
        return str(value) if value else None

    @property
    def live(self) -> ObservedVersion | None:
        """The version behind the search alias."""
        if len(self.search_targets) != 1:
            return None
        return self.version(self.search_targets[0])

    def version(self, name: str) -> ObservedVersion | None:
        return next((version for version in self.versions if version.name == name), None)

    @property
    def next_number(self) -> int:
        return max((version.number for version in self.versions), default=0) + 1

    @property
    def empty(self) -> bool:
        """Nothing of this index exists."""
        return self.template is None and not self.versions and not self.search_targets and not self.write_targets


def observe_index(cluster: SearchAdmin, names: IndexNames) -> ObservedIndex:
    """Read the template, versions and aliases of ``names.index``."""
    problems: list[Problem] = []
    versions: list[ObservedVersion] = []
    for name, info in sorted(cluster.get_indices(names.pattern).items()):
        number = names.version_number(name)
        if number is None:
            continue  # another index that happens to share the prefix
        mappings = dict(info.get("mappings") or {})
        stored = (mappings.get("_meta") or {}).get(META_KEY)
        try:
            meta = VersionMeta.from_meta(stored)
        except ValueError as error:
            reason = "it has no _meta.graphdex: graphdex did not create it" if stored is None else str(error)
            problems.append(Problem(name, f"{reason}; delete or rename it, or choose another index name"))
            continue
        if meta.version != number:
            problems.append(Problem(name, f"_meta.graphdex.version is {meta.version}, the name says {number}"))
            continue
        versions.append(
            ObservedVersion(
                name=name,
                number=number,
                meta=meta,
                mappings=mappings,
                settings=dict(info.get("settings") or {}),
                aliases=frozenset(info.get("aliases") or {}),
            )
        )
    known = {version.name for version in versions}
    targets: dict[str, tuple[str, ...]] = {}
    for alias in (names.search_alias, names.write_alias):
        if cluster.is_concrete_index(alias):
            problems.append(Problem(alias, "is an index, not an alias; graphdex needs the name for its alias"))
            targets[alias] = ()
            continue
        targets[alias] = tuple(cluster.alias_targets(alias))
        foreign = [target for target in targets[alias] if target not in known]
        if foreign:
            problems.append(Problem(alias, f"points at {', '.join(foreign)}, which graphdex did not create"))
    search_targets = targets[names.search_alias]
    if len(search_targets) > 1:
        problems.append(
            Problem(names.search_alias, f"points at {len(search_targets)} indexes ({', '.join(search_targets)})")
        )
    return ObservedIndex(
        names=names,
        template=cluster.get_template(names.index),
        versions=tuple(sorted(versions, key=lambda version: version.number)),
        search_targets=search_targets,
        write_targets=targets[names.write_alias],
        problems=tuple(problems),
    )
