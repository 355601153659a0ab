"""The productions subgraph: ``Production @key(fields: "ptpId")``, the making of a movie (status,
shooting locations, vendors, budget). Captured on ``demo.productions.productions``.

Run: ``python -m demo.subgraphs.productions --host H --port P --db PATH --kafka BOOTSTRAP``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import strawberry
from strawberry.dataloader import DataLoader

from demo.data.records import DemoData, ProductionStatus
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

PRODUCTIONS = Table(
    "productions",
    ("ptpId",),
    ("ptpId", "name", "status", "shootingLocations", "vendors", "budget", "startDate", "updatedAt"),
)

DDL = """
CREATE TABLE IF NOT EXISTS productions (
    ptpId TEXT PRIMARY KEY, name TEXT NOT NULL, status TEXT NOT NULL, shootingLocations TEXT NOT NULL,
    vendors TEXT NOT NULL, budget REAL, startDate TEXT, updatedAt TEXT NOT NULL
);
"""


def seed_rows(data: DemoData) -> dict[Table, Iterable[Mapping[str, Any]]]:
    """The productions service's slice of the demo data set, as table rows."""
    rows = (
        {
            "ptpId": p.ptp_id,
            "name": p.name,
            "status": p.status.value,
            "shootingLocations": to_json({"city": loc.city, "country": loc.country} for loc in p.shooting_locations),
            "vendors": to_json({"name": vendor.name, "service": vendor.service} for vendor in p.vendors),
            "budget": p.budget,
            "startDate": p.start_date,
            "updatedAt": p.updated_at,
        }
        for p in data.productions
    )
    return {PRODUCTIONS: rows}


@strawberry.type(description="A place a production shoots.")
class Location:
    city: str
    country: str


@strawberry.type(description="A company working on a production.")
class Vendor:
    name: str
    service: str


@dataclass
class ProductionsContext:
    """Per-request state: the store and the loader that batches entity lookups."""

    store: CapturedStore
    productions: DataLoader[str, Production | None]


def productions_context(store: CapturedStore) -> ProductionsContext:
    async def load(ids: list[str]) -> list[Production | None]:
        found = rows_by_key(store, PRODUCTIONS.name, "ptpId", ids)
        return [Production.from_row(row) if row else None for row in in_request_order(found, ids)]

    return ProductionsContext(store, DataLoader(load))


Info = strawberry.Info[ProductionsContext, None]


@strawberry.federation.type(keys=["ptpId"], description="The making of a movie; ptpId is its tracking id.")
class Production:
    ptp_id: strawberry.ID
    name: str = strawberry.field(description="Working title.")
    status: ProductionStatus
    shooting_locations: list[Location]
    vendors: list[Vendor]
    budget: float | None = strawberry.field(description="US dollars.")
    start_date: DateTime | None
    updated_at: DateTime

    @classmethod
    async def resolve_reference(cls, info: Info, ptpId: strawberry.ID) -> Production | None:
        return await info.context.productions.load(ptpId)

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Production:
        return cls(
            ptp_id=row["ptpId"],
            name=row["name"],
            status=ProductionStatus(row["status"]),
            shooting_locations=[Location(**item) for item in from_json(row["shootingLocations"])],
            vendors=[Vendor(**item) for item in from_json(row["vendors"])],
            budget=row["budget"],
            start_date=row["startDate"],
            updated_at=row["updatedAt"],
        )


@strawberry.input
class LocationInput:
    city: str
    country: str


@strawberry.input
class VendorInput:
    name: str
    service: str


@strawberry.input(description="A new production; ptpId is generated when not given.")
class ProductionInput:
    ptp_id: strawberry.ID | None = None
    name: str
    status: ProductionStatus = ProductionStatus.DEVELOPMENT
    shooting_locations: list[LocationInput] = strawberry.field(default_factory=list)
    vendors: list[VendorInput] = strawberry.field(default_factory=list)
    budget: float | None = None
    start_date: DateTime | None = None


@strawberry.input(description="Fields to change; fields left out keep their value, null clears one.")
class ProductionUpdate:
    name: str | None = strawberry.UNSET
    status: ProductionStatus | None = strawberry.UNSET
    shooting_locations: list[LocationInput] | None = strawberry.UNSET
    vendors: list[VendorInput] | None = strawberry.UNSET
    budget: float | None = strawberry.UNSET
    start_date: DateTime | None = strawberry.UNSET


_COLUMNS = {"ptp_id": "ptpId", "shooting_locations": "shootingLocations", "start_date": "startDate"}


def _columns(values: Mapping[str, Any]) -> dict[str, Any]:
    """Input fields as column values: camelCase names, lists as JSON, enums as their names."""
    columns = {_COLUMNS.get(name, name): value for name, value in values.items() if value is not strawberry.UNSET}
    for required in ("name", "status", "shootingLocations", "vendors"):
        if required in columns and columns[required] is None:
            raise client_error(f"{required} cannot be null")
    if "status" in columns:
        columns["status"] = ProductionStatus(columns["status"]).value
    if "shootingLocations" in columns:
        columns["shootingLocations"] = to_json(vars(item) for item in columns["shootingLocations"])
    if "vendors" in columns:
        columns["vendors"] = to_json(vars(item) for item in columns["vendors"])
    return columns


@strawberry.type
class Query:
    @strawberry.field(description="Productions by ptpId, in request order; null for unknown ids.")
    def productions(self, info: Info, ids: list[strawberry.ID]) -> list[Production | None]:
        check_ids(ids)
        found = rows_by_key(info.context.store, PRODUCTIONS.name, "ptpId", ids)
        return [Production.from_row(row) if row else None for row in in_request_order(found, ids)]

    @strawberry.field(description="One production by ptpId; null if unknown.")
    def production(self, info: Info, id: strawberry.ID) -> Production | None:
        row = rows_by_key(info.context.store, PRODUCTIONS.name, "ptpId", [id]).get(id)
        return Production.from_row(row) if row else None

    @strawberry.field(description="Every production id, in pages (for backfills).")
    def production_ids(self, info: Info, first: int | None = 1000, after: str | None = None) -> IdPage:
        return id_page(info.context.store, PRODUCTIONS.name, "ptpId", first, after)


@strawberry.type
class Mutation:
    @strawberry.mutation(description="Create a production (captured as op c).")
    async def create_production(self, info: Info, input: ProductionInput) -> Production:
        columns = _columns(vars(input))
        return Production.from_row(
            await create_row(info.context.store, PRODUCTIONS, "ptpId", "production", "ptp", columns)
        )

    @strawberry.mutation(description="Change some fields of a production (captured as op u).")
    async def update_production(self, info: Info, ptp_id: strawberry.ID, input: ProductionUpdate) -> Production:
        changes = _columns(vars(input))
        return Production.from_row(
            await update_row(info.context.store, PRODUCTIONS, "ptpId", "production", ptp_id, changes)
        )

    @strawberry.mutation(description="Delete a production (captured as op d plus a tombstone).")
    async def delete_production(self, info: Info, ptp_id: strawberry.ID) -> strawberry.ID:
        await delete_row(info.context.store, PRODUCTIONS, "ptpId", "production", ptp_id)
        return ptp_id


PRODUCTIONS_SUBGRAPH = SubgraphDefinition(
    name="productions",
    tables=(PRODUCTIONS,),
    ddl=DDL,
    seed_rows=seed_rows,
    schema=SubgraphSchema(query=Query, mutation=Mutation, types=[Production], config=schema_config()),
    context=productions_context,
)

if __name__ == "__main__":
    command_line(PRODUCTIONS_SUBGRAPH)()
