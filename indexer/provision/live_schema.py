"""Does the query still fit the gateway's live schema, and does it still generate the same artifacts?

The definition may be built from a schema snapshot (``graph.schema_file``); the gateway behind
``graph.url`` moves on. Introspecting it and walking the query again tells, before the pipeline
breaks, about a field removed upstream (the query no longer validates) or retyped (the query still
validates but the mapping or the Avro schema would change).
"""

from __future__ import annotations

from dataclasses import dataclass

from indexer.definition import IndexDefinition, introspect
from indexer.provision.diff import mapping_differences
from indexer.provision.versions import sha256_of
from schema_gen.artifacts import generate_artifacts
from schema_gen.errors import DefinitionError, Problem
from schema_gen.walker import build_model, parse_template


@dataclass(frozen=True)
class LiveSchemaCheck:
    """The verdict on the query against the gateway's schema."""

    url: str | None
    checked: bool
    """The gateway was introspected (False: no ``graph.url``, or it could not be reached)."""
    valid: bool
    """The query validates and generates the same artifacts as the definition does now."""
    problems: tuple[str, ...] = ()
    """Why the query no longer validates, or why the check could not be made."""
    changes: tuple[str, ...] = ()
    """Artifact differences the live schema would cause (mapping paths, the Avro schema)."""


def check_live_schema(definition: IndexDefinition) -> LiveSchemaCheck:
    """Introspect ``graph.url`` and walk the query against it again."""
    config = definition.config
    url = config.graph.url
    if not url:
        return LiveSchemaCheck(None, checked=False, valid=False, problems=("no graph.url to introspect",))
    try:
        loaded = introspect(config.graph)
    except DefinitionError as error:
        return LiveSchemaCheck(url, checked=False, valid=False, problems=(str(error),))
    source = str(definition.path)
    try:
        document = parse_template(definition.query_text, definition.query_source)
        model = build_model(loaded, document, config, definition.query_source, config_source=source)
        live = generate_artifacts(model, config, source=source)
    except DefinitionError as error:
        problems = tuple(str(problem) for problem in error.problems) or (error.summary,)
        return LiveSchemaCheck(url, checked=True, valid=False, problems=problems)
    current = generate_artifacts(definition.model, config, source=source)
    changes = [
        str(difference)
        for difference in mapping_differences(
            current.template["template"]["mappings"], live.template["template"]["mappings"]
        )
    ]
    if sha256_of(current.avro) != sha256_of(live.avro):
        changes.append("avro: the document schema would change")
    return LiveSchemaCheck(url, checked=True, valid=not changes, changes=tuple(changes))


def backfill_blockers(check: LiveSchemaCheck, source: str) -> list[Problem]:
    """Why a backfill cannot work against the gateway: it cannot be introspected, or the query no longer
    validates there. (Artifact changes alone do not block it; ``status`` reports them.)"""
    if check.url is None or (check.checked and not check.problems):
        return []
    where = f"{source}: graph.url"
    if not check.checked:
        return [
            Problem(where, f"the gateway cannot be checked before the backfill: {reason}") for reason in check.problems
        ]
    return [Problem(where, f"the query does not fit the gateway's live schema: {reason}") for reason in check.problems]
