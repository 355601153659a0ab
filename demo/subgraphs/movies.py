"""The movies subgraph: ``Movie @key(fields: "movieId")`` with its credits, referencing ``Production``
(productions subgraph) and ``Talent`` (talent subgraph). Credits live in the movies database; a credit
change is captured on ``demo.movies.credits`` and, since it bumps the movie's ``updatedAt``, on
``demo.movies.movies`` too.

Run: ``python -m demo.subgraphs.movies --host H --port P --db PATH --kafka BOOTSTRAP``. With
``--fault-injection``, ``POST /faults {"movieIds": [...]}`` makes those movies fail with a GraphQL error
wherever they are resolved (``movies``, ``movie``, entity references) until ``DELETE /faults``; with
``"mode": "request"`` every request asking for one of them is answered with HTTP 500 instead. See
``demo.subgraphs.faults``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.dataloader import DataLoader
from strawberry.federation.schema_directives import Key

from demo.data.records import DemoData, Genre, Role
from demo.subgraphs.common_schema import (
    DateTime,
    IdPage,
    check_ids,
    client_error,
    create_row,
    from_json,
    id_page,
    in_request_order,
    instant_of,
    not_found,
    rows_by_key,
    schema_config,
    to_json,
    update_row,
    write,
)
from demo.subgraphs.faults import EntityFaults, FaultInjectingSchema, FaultInjection
from demo.subgraphs.service import SubgraphDefinition, command_line
from demo.subgraphs.store import CapturedStore, Table, Transaction

MOVIES = Table(
    "movies",
    ("movieId",),
    ("movieId", "title", "originalTitle", "releaseYear", "genres", "synopsis", "runtime", "rating",
     "releaseDate", "updatedAt", "ptpId"),
)  # fmt: skip
CREDITS = Table("credits", ("movieId", "talentId", "role"), ("movieId", "talentId", "role", "character", "billing"))

DDL = """
CREATE TABLE IF NOT EXISTS movies (
    movieId TEXT PRIMARY KEY, title TEXT NOT NULL, originalTitle TEXT, releaseYear INTEGER,
    genres TEXT NOT NULL, synopsis TEXT, runtime INTEGER, rating REAL, releaseDate TEXT,
    updatedAt TEXT NOT NULL, ptpId TEXT
);
CREATE TABLE IF NOT EXISTS credits (
    movieId TEXT NOT NULL REFERENCES movies (movieId), talentId TEXT NOT NULL, role TEXT NOT NULL,
    character TEXT, billing INTEGER NOT NULL, PRIMARY KEY (movieId, talentId, role)
);
CREATE INDEX IF NOT EXISTS credits_by_talent ON credits (talentId);
"""


def seed_rows(data: DemoData) -> dict[Table, Iterable[Mapping[str, Any]]]:
    """The movies service's slice of the demo data set, as table rows."""
    movies = (
        {"movieId": m.movie_id, "title": m.title, "originalTitle": m.original_title, "releaseYear": m.release_year,
         "genres": to_json(m.genres), "synopsis": m.synopsis, "runtime": m.runtime, "rating": m.rating,
         "releaseDate": m.release_date, "updatedAt": m.updated_at, "ptpId": m.ptp_id}
        for m in data.movies
    )  # fmt: skip
    credits = (
        {"movieId": c.movie_id, "talentId": c.talent_id, "role": c.role.value, "character": c.character,
         "billing": c.billing}
        for c in data.credits
    )  # fmt: skip
    return {MOVIES: movies, CREDITS: credits}


@strawberry.federation.type(keys=[Key(fields="ptpId", resolvable=False)])
class Production:
    ptp_id: strawberry.ID


@strawberry.federation.type(keys=[Key(fields="talentId", resolvable=False)])
class Talent:
    talent_id: strawberry.ID


@strawberry.type(description="One person's role on a movie.")
class Credit:
    talent: Talent | None = strawberry.field(description="The person; null if the talent service no longer has them.")
    role: Role
    character: str | None = strawberry.field(description="The part played, for actors.")

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Credit:
        return cls(talent=Talent(talent_id=row["talentId"]), role=Role(row["role"]), character=row["character"])


@dataclass
class MoviesContext:
    """Per-request state: the store, the loaders that batch entity and credit lookups, and the injected
    faults (None unless the subgraph runs with ``--fault-injection``)."""

    store: CapturedStore
    movies: DataLoader[str, Movie | None]
    credits: DataLoader[str, list[Credit]]
    faults: EntityFaults | None = None

    def movies_by_id(self, ids: list[str]) -> list[Any]:
        """One ``Movie`` (or None when unknown) per id, in request order; an injected fault's error in
        place of a failing movie (graphql-core reports an error in a list as that item's error). A movie
        failing in request mode raises ``RequestFault`` instead: the whole response becomes HTTP 500."""
        if self.faults is not None:
            self.faults.check_request(ids)
        found = rows_by_key(self.store, MOVIES.name, "movieId", ids)
        movies = [Movie.from_row(row) if row else None for row in in_request_order(found, ids)]
        if self.faults is None:
            return movies
        return [self.faults.error_for(movie_id) or movie for movie_id, movie in zip(ids, movies, strict=True)]


def movies_context(store: CapturedStore, faults: EntityFaults | None = None) -> MoviesContext:
    context: MoviesContext

    async def load_movies(ids: list[str]) -> list[Any]:
        return context.movies_by_id(ids)

    async def load_credits(ids: list[str]) -> list[list[Credit]]:
        grouped: dict[str, list[Credit]] = defaultdict(list)
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ", ".join("?" for _ in chunk)
            sql = f"SELECT * FROM credits WHERE movieId IN ({marks}) ORDER BY movieId, billing"
            for row in store.query(sql, chunk):
                grouped[row["movieId"]].append(Credit.from_row(row))
        return [grouped.get(movie_id, []) for movie_id in ids]

    context = MoviesContext(store, DataLoader(load_movies), DataLoader(load_credits), faults)
    return context


Info = strawberry.Info[MoviesContext, None]


@strawberry.federation.type(keys=["movieId"], description="A movie.")
class Movie:
    movie_id: strawberry.ID
    title: str
    original_title: str | None
    release_year: int | None
    genres: list[Genre]
    synopsis: str | None
    runtime: int | None = strawberry.field(description="Minutes.")
    rating: float | None
    release_date: DateTime | None
    updated_at: DateTime
    ptp_id: strawberry.Private[str | None]

    @strawberry.field(description="The production that makes this movie, if there is one.")
    def production(self) -> Production | None:
        return Production(ptp_id=strawberry.ID(self.ptp_id)) if self.ptp_id else None

    @strawberry.field(description="Everyone credited, in billing order.")
    async def credits(self, info: Info) -> list[Credit]:
        return await info.context.credits.load(self.movie_id)

    @classmethod
    async def resolve_reference(cls, info: Info, movieId: strawberry.ID) -> Movie | None:
        return await info.context.movies.load(movieId)

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Movie:
        return cls(
            movie_id=row["movieId"], title=row["title"], original_title=row["originalTitle"],
            release_year=row["releaseYear"], genres=[Genre(g) for g in from_json(row["genres"])],
            synopsis=row["synopsis"], runtime=row["runtime"], rating=row["rating"],
            release_date=row["releaseDate"], updated_at=row["updatedAt"], ptp_id=row["ptpId"],
        )  # fmt: skip


@strawberry.input(description="A new movie; movieId is generated when not given.")
class MovieInput:
    movie_id: strawberry.ID | None = None
    title: str
    original_title: str | None = None
    release_year: int | None = None
    genres: list[Genre] = strawberry.field(default_factory=list)
    synopsis: str | None = None
    runtime: int | None = None
    rating: float | None = None
    release_date: DateTime | None = None
    ptp_id: strawberry.ID | None = None


@strawberry.input(description="Fields to change; fields left out keep their value, null clears one.")
class MovieUpdate:
    title: str | None = strawberry.UNSET
    original_title: str | None = strawberry.UNSET
    release_year: int | None = strawberry.UNSET
    genres: list[Genre] | None = strawberry.UNSET
    synopsis: str | None = strawberry.UNSET
    runtime: int | None = strawberry.UNSET
    rating: float | None = strawberry.UNSET
    release_date: DateTime | None = strawberry.UNSET
    ptp_id: strawberry.ID | None = strawberry.UNSET


_COLUMNS = {"movie_id": "movieId", "original_title": "originalTitle", "release_year": "releaseYear",
            "release_date": "releaseDate", "ptp_id": "ptpId"}  # fmt: skip


def _columns(values: Mapping[str, Any]) -> dict[str, Any]:
    """Input fields as column values: camelCase names, genres as JSON."""
    columns = {_COLUMNS.get(name, name): value for name, value in values.items() if value is not strawberry.UNSET}
    if "genres" in columns:
        columns["genres"] = to_json(Genre(g).value for g in columns["genres"] or [])
    if columns.get("title", "") is None:
        raise client_error("title cannot be null")
    return columns


def _movie_row(tx: Transaction, movie_id: str) -> dict[str, Any]:
    row = tx.get(MOVIES, {"movieId": movie_id})
    if row is None:
        raise not_found("movie", movie_id)
    return row


def _touch(tx: Transaction, movie_id: str) -> None:
    """Record a change of the movie itself (its credits changed): bump ``updatedAt``."""
    if tx.update(MOVIES, {"movieId": movie_id}, {"updatedAt": instant_of(tx.ts_ms)}) is None:
        raise not_found("movie", movie_id)


@strawberry.type
class Query:
    @strawberry.field(description="Movies by id, in request order; null for unknown ids.")
    def movies(self, info: Info, ids: list[strawberry.ID]) -> list[Movie | None]:
        check_ids(ids)
        return info.context.movies_by_id(ids)

    @strawberry.field(description="One movie by id; null if unknown.")
    def movie(self, info: Info, id: strawberry.ID) -> Movie | None:
        (movie,) = info.context.movies_by_id([id])
        if isinstance(movie, GraphQLError):
            raise movie
        return movie

    @strawberry.field(description="Every movie id, in pages (for backfills).")
    def movie_ids(self, info: Info, first: int | None = 1000, after: str | None = None) -> IdPage:
        return id_page(info.context.store, MOVIES.name, "movieId", first, after)


@strawberry.type
class Mutation:
    @strawberry.mutation(description="Create a movie (captured as op c on demo.movies.movies).")
    async def create_movie(self, info: Info, input: MovieInput) -> Movie:
        columns = _columns(vars(input))
        return Movie.from_row(await create_row(info.context.store, MOVIES, "movieId", "movie", "movie", columns))

    @strawberry.mutation(description="Change some fields of a movie.")
    async def update_movie(self, info: Info, movie_id: strawberry.ID, input: MovieUpdate) -> Movie:
        changes = _columns(vars(input))
        return Movie.from_row(await update_row(info.context.store, MOVIES, "movieId", "movie", movie_id, changes))

    @strawberry.mutation(description="Delete a movie and its credits (each captured as op d plus a tombstone).")
    async def delete_movie(self, info: Info, movie_id: strawberry.ID) -> strawberry.ID:
        def delete(tx: Transaction) -> None:
            for credit in tx.select(CREDITS, "movieId", movie_id):
                tx.delete(CREDITS, credit)
            if tx.delete(MOVIES, {"movieId": movie_id}) is None:
                raise not_found("movie", movie_id)

        await write(info.context.store, delete)
        return movie_id

    @strawberry.mutation(description="Credit a person on a movie (a change of the credit and of the movie).")
    async def add_credit(
        self,
        info: Info,
        movie_id: strawberry.ID,
        talent_id: strawberry.ID,
        role: Role,
        character: str | None = None,
    ) -> Movie:
        key = {"movieId": movie_id, "talentId": talent_id, "role": Role(role).value}

        def add(tx: Transaction) -> dict[str, Any]:
            if tx.get(CREDITS, key) is not None:
                raise client_error(f"{talent_id} is already credited as {key['role']} on {movie_id}", "CONFLICT")
            _movie_row(tx, movie_id)
            billing = 1 + max((credit["billing"] for credit in tx.select(CREDITS, "movieId", movie_id)), default=0)
            tx.insert(CREDITS, {**key, "character": character, "billing": billing})
            _touch(tx, movie_id)
            return _movie_row(tx, movie_id)

        return Movie.from_row(await write(info.context.store, add))

    @strawberry.mutation(description="Remove a credit from a movie (a change of the credit and of the movie).")
    async def remove_credit(
        self,
        info: Info,
        movie_id: strawberry.ID,
        talent_id: strawberry.ID,
        role: Role,
    ) -> Movie:
        key = {"movieId": movie_id, "talentId": talent_id, "role": Role(role).value}

        def remove(tx: Transaction) -> dict[str, Any]:
            if tx.delete(CREDITS, key) is None:
                raise not_found("credit", f"{movie_id}/{talent_id}/{key['role']}")
            _touch(tx, movie_id)
            return _movie_row(tx, movie_id)

        return Movie.from_row(await write(info.context.store, remove))


MOVIES_SUBGRAPH = SubgraphDefinition(
    name="movies",
    tables=(MOVIES, CREDITS),
    ddl=DDL,
    seed_rows=seed_rows,
    schema=FaultInjectingSchema(query=Query, mutation=Mutation, types=[Movie], config=schema_config()),
    context=movies_context,
    fault_injection=FaultInjection("movie", "movieIds", movies_context),
)

if __name__ == "__main__":
    command_line(MOVIES_SUBGRAPH)()
