"""The demo domain as plain Python: what each subgraph stores and what the seeded data set holds.

These records are the source of truth tests compute expected answers from; the subgraphs store them
(one row per record, list fields as JSON) and serve them through GraphQL.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from enum import StrEnum
from functools import cached_property


class Genre(StrEnum):
    """A movie's genre."""

    ACTION = "ACTION"
    ADVENTURE = "ADVENTURE"
    ANIMATION = "ANIMATION"
    COMEDY = "COMEDY"
    CRIME = "CRIME"
    DOCUMENTARY = "DOCUMENTARY"
    DRAMA = "DRAMA"
    FAMILY = "FAMILY"
    FANTASY = "FANTASY"
    HISTORY = "HISTORY"
    HORROR = "HORROR"
    MUSIC = "MUSIC"
    MYSTERY = "MYSTERY"
    ROMANCE = "ROMANCE"
    SCIENCE_FICTION = "SCIENCE_FICTION"
    THRILLER = "THRILLER"
    WAR = "WAR"
    WESTERN = "WESTERN"


class Role(StrEnum):
    """What a person did on a movie."""

    ACTOR = "ACTOR"
    DIRECTOR = "DIRECTOR"
    WRITER = "WRITER"
    PRODUCER = "PRODUCER"
    COMPOSER = "COMPOSER"


class ProductionStatus(StrEnum):
    """Where a production is in its life cycle."""

    DEVELOPMENT = "DEVELOPMENT"
    PRE_PRODUCTION = "PRE_PRODUCTION"
    PHOTOGRAPHY = "PHOTOGRAPHY"
    POST = "POST"
    RELEASED = "RELEASED"


@dataclass(frozen=True)
class Location:
    """A place a production shoots."""

    city: str
    country: str


@dataclass(frozen=True)
class Vendor:
    """A company working on a production."""

    name: str
    service: str


@dataclass(frozen=True)
class Talent:
    """A person who works on movies (talent service)."""

    talent_id: str
    name: str
    alternate_names: tuple[str, ...]
    roles: tuple[Role, ...]
    agency: str | None
    country: str | None
    updated_at: str
    """ISO 8601 instant in UTC (``2024-05-01T12:00:00.000Z``), like every timestamp here."""


@dataclass(frozen=True)
class Production:
    """The making of a movie (productions service); ``ptp_id`` is its production tracking id."""

    ptp_id: str
    name: str
    status: ProductionStatus
    shooting_locations: tuple[Location, ...]
    vendors: tuple[Vendor, ...]
    budget: float | None
    """In US dollars."""
    start_date: str | None
    updated_at: str


@dataclass(frozen=True)
class Credit:
    """One person's role on one movie (movies service); unique per (movie, talent, role)."""

    movie_id: str
    talent_id: str
    role: Role
    character: str | None
    billing: int
    """Position in the movie's credits, from 1."""

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.movie_id, self.talent_id, self.role.value)


@dataclass(frozen=True)
class Movie:
    """A movie (movies service); ``ptp_id`` references its production, if it has one."""

    movie_id: str
    title: str
    original_title: str | None
    release_year: int | None
    genres: tuple[Genre, ...]
    synopsis: str | None
    runtime: int | None
    """Minutes."""
    rating: float | None
    release_date: str | None
    updated_at: str
    ptp_id: str | None


@dataclass(frozen=True)
class DemoData:
    """One generated data set: every record of the three services, with lookups for tests."""

    seed: int
    size: int
    movies: tuple[Movie, ...]
    credits: tuple[Credit, ...]
    productions: tuple[Production, ...]
    talent: tuple[Talent, ...]

    @cached_property
    def movies_by_id(self) -> dict[str, Movie]:
        return {movie.movie_id: movie for movie in self.movies}

    @cached_property
    def productions_by_id(self) -> dict[str, Production]:
        return {production.ptp_id: production for production in self.productions}

    @cached_property
    def talent_by_id(self) -> dict[str, Talent]:
        return {person.talent_id: person for person in self.talent}

    @cached_property
    def credits_by_movie(self) -> dict[str, tuple[Credit, ...]]:
        grouped: dict[str, list[Credit]] = defaultdict(list)
        for credit in self.credits:
            grouped[credit.movie_id].append(credit)
        return {movie_id: tuple(sorted(items, key=lambda c: c.billing)) for movie_id, items in grouped.items()}

    def credits_of(self, movie_id: str) -> tuple[Credit, ...]:
        """The movie's credits in billing order."""
        return self.credits_by_movie.get(movie_id, ())

    def talent_named(self, name: str) -> Talent:
        """The one person with this exact name; ``KeyError`` if none."""
        for person in self.talent:
            if person.name == name:
                return person
        raise KeyError(name)

    def movie_ids_with(self, talent_id: str, role: Role | None = None) -> set[str]:
        """Ids of the movies crediting this person (in this role, if given)."""
        return {
            credit.movie_id
            for credit in self.credits
            if credit.talent_id == talent_id and (role is None or credit.role is role)
        }

    def movie_of_production(self, ptp_id: str) -> Movie | None:
        """The movie made by this production, if any."""
        return next((movie for movie in self.movies if movie.ptp_id == ptp_id), None)
