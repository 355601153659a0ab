"""The talent subgraph: ``Talent @key(fields: "talentId")``, people who work on movies (names in any
script, alternate names, roles, agency). Captured on ``demo.talent.talent``.

Run: ``python -m demo.subgraphs.talent --host H --port P --db PATH --kafka BOOTSTRAP``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import strawberry
from strawberry.dataloader import DataLoader

from demo.data.records import DemoData, Role
from demo.subgraphs.common_schema import (
    DateTime,
    IdPage,
    SubgraphSchema,
    check_ids,
    client_error,
    create_row,
    delete_row,
    from_json,
    id_page,
    in_request_order,
    rows_by_key,
    schema_config,
    to_json,
    update_row,
)
from demo.subgraphs.service import SubgraphDefinition, command_line
from demo.subgraphs.store import CapturedStore, Table

TALENT = Table(
    "talent", ("talentId",), ("talentId", "name", "alternateNames", "roles", "agency", "country", "updatedAt")
)

DDL = """
CREATE TABLE IF NOT EXISTS talent (
    talentId TEXT PRIMARY KEY, name TEXT NOT NULL, alternateNames TEXT NOT NULL, roles TEXT NOT NULL,
    agency TEXT, country TEXT, updatedAt TEXT NOT NULL
);
"""


def seed_rows(data: DemoData) -> dict[Table, Iterable[Mapping[str, Any]]]:
    """The talent service's slice of the demo data set, as table rows."""
    rows = (
        {
            "talentId": t.talent_id,
            "name": t.name,
            "alternateNames": to_json(t.alternate_names),
            "roles": to_json(role.value for role in t.roles),
            "agency": t.agency,
            "country": t.country,
            "updatedAt": t.updated_at,
        }
        for t in data.talent
    )
    return {TALENT: rows}


@dataclass
class TalentContext:
    """Per-request state: the store and the loader that batches entity lookups."""

    store: CapturedStore
    talent: DataLoader[str, Talent | None]


def talent_context(store: CapturedStore) -> TalentContext:
    async def load(ids: list[str]) -> list[Talent | None]:
        found = rows_by_key(store, TALENT.name, "talentId", ids)
        return [Talent.from_row(row) if row else None for row in in_request_order(found, ids)]

    return TalentContext(store, DataLoader(load))


Info = strawberry.Info[TalentContext, None]


@strawberry.federation.type(keys=["talentId"], description="A person who works on movies.")
class Talent:
    talent_id: strawberry.ID
    name: str = strawberry.field(description="As credited, in the person's own script.")
    alternate_names: list[str] = strawberry.field(description="Transliterations, birth and stage names.")
    roles: list[Role] = strawberry.field(description="What the person usually does.")
    agency: str | None
    country: str | None
    updated_at: DateTime

    @classmethod
    async def resolve_reference(cls, info: Info, talentId: strawberry.ID) -> Talent | None:
        return await info.context.talent.load(talentId)

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Talent:
        return cls(
            talent_id=row["talentId"],
            name=row["name"],
            alternate_names=from_json(row["alternateNames"]),
            roles=[Role(role) for role in from_json(row["roles"])],
            agency=row["agency"],
            country=row["country"],
            updated_at=row["updatedAt"],
        )


@strawberry.input(description="A new person; talentId is generated when not given.")
class TalentInput:
    talent_id: strawberry.ID | None = None
    name: str
    alternate_names: list[str] = strawberry.field(default_factory=list)
    roles: list[Role] = strawberry.field(default_factory=list)
    agency: str | None = None
    country: str | None = None


@strawberry.input(description="Fields to change; fields left out keep their value, null clears one.")
class TalentUpdate:
    name: str | None = strawberry.UNSET
    alternate_names: list[str] | None = strawberry.UNSET
    roles: list[Role] | None = strawberry.UNSET
    agency: str | None = strawberry.UNSET
    country: str | None = strawberry.UNSET


_COLUMNS = {"talent_id": "talentId", "alternate_names": "alternateNames"}


def _columns(values: Mapping[str, Any]) -> dict[str, Any]:
    """Input fields as column values: camelCase names, lists as JSON."""
    columns = {_COLUMNS.get(name, name): value for name, value in values.items() if value is not strawberry.UNSET}
    for required in ("name", "alternateNames", "roles"):
        if required in columns and columns[required] is None:
            raise client_error(f"{required} cannot be null")
    if "alternateNames" in columns:
        columns["alternateNames"] = to_json(columns["alternateNames"])
    if "roles" in columns:
        columns["roles"] = to_json(Role(role).value for role in columns["roles"])
    return columns


@strawberry.type
class Query:
    @strawberry.field(description="People by talentId, in request order; null for unknown ids.")
    def talents(self, info: Info, ids: list[strawberry.ID]) -> list[Talent | None]:
        check_ids(ids)
        found = rows_by_key(info.context.store, TALENT.name, "talentId", ids)
        return [Talent.from_row(row) if row else None for row in in_request_order(found, ids)]

    @strawberry.field(description="One person by talentId; null if unknown.")
    def talent(self, info: Info, id: strawberry.ID) -> Talent | None:
        row = rows_by_key(info.context.store, TALENT.name, "talentId", [id]).get(id)
        return Talent.from_row(row) if row else None

    @strawberry.field(description="Every talent id, in pages (for backfills).")
    def talent_ids(self, info: Info, first: int | None = 1000, after: str | None = None) -> IdPage:
        return id_page(info.context.store, TALENT.name, "talentId", first, after)


@strawberry.type
class Mutation:
    @strawberry.mutation(description="Create a person (captured as op c).")
    async def create_talent(self, info: Info, input: TalentInput) -> Talent:
        columns = _columns(vars(input))
        return Talent.from_row(await create_row(info.context.store, TALENT, "talentId", "talent", "talent", columns))

    @strawberry.mutation(description="Change some fields of a person (captured as op u).")
    async def update_talent(self, info: Info, talent_id: strawberry.ID, input: TalentUpdate) -> Talent:
        changes = _columns(vars(input))
        return Talent.from_row(await update_row(info.context.store, TALENT, "talentId", "talent", talent_id, changes))

    @strawberry.mutation(description="Delete a person (captured as op d plus a tombstone).")
    async def delete_talent(self, info: Info, talent_id: strawberry.ID) -> strawberry.ID:
        await delete_row(info.context.store, TALENT, "talentId", "talent", talent_id)
        return talent_id


TALENT_SUBGRAPH = SubgraphDefinition(
    name="talent",
    tables=(TALENT,),
    ddl=DDL,
    seed_rows=seed_rows,
    schema=SubgraphSchema(query=Query, mutation=Mutation, types=[Talent], config=schema_config()),
    context=talent_context,
)

if __name__ == "__main__":
    command_line(TALENT_SUBGRAPH)()
