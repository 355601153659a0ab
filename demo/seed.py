"""The demo data set: ``generate(seed, size)`` is a pure function of its arguments.

``size`` is the number of movies (at least ``MIN_SIZE``). Every data set starts with the records of
``demo.data.fixtures``; the rest is drawn from ``random.Random(seed)``: titles and names in many
languages and scripts, one production per movie for most movies (``ptp-N`` makes ``movie-N``) plus
productions still in development, about ``size / 2`` people, and a few very popular actors credited
in about 4% of all movies each (thousands at 100,000 movies), so that reverse lookups fan out.
"""

from __future__ import annotations

import gc
import random
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import TypeVar

from demo.data import fixtures
from demo.data.fixtures import (
    FIXTURE_CREDITS,
    FIXTURE_MOVIES,
    FIXTURE_PRODUCTIONS,
    FIXTURE_TALENT,
    movie_id,
    ptp_id,
    talent_id,
)
from demo.data.records import (
    Credit,
    DemoData,
    Genre,
    Location,
    Movie,
    Production,
    ProductionStatus,
    Role,
    Talent,
    Vendor,
)
from demo.data.vocabulary import (
    AGENCIES,
    CHARACTER_NAMES,
    CULTURES,
    FOREIGN_TITLES,
    LOCATIONS,
    SYNOPSIS_ENDINGS,
    SYNOPSIS_OPENINGS,
    SYNOPSIS_ROLES,
    TITLE_ADJECTIVES,
    TITLE_NOUNS,
    TITLE_PLACES,
    VENDOR_NAMES,
    VENDOR_SERVICES,
)

__all__ = ["MIN_SIZE", "POPULAR_TALENT", "DemoData", "fixtures", "generate"]

MIN_SIZE = len(FIXTURE_MOVIES)
POPULAR_COUNT = 6
POPULAR_SHARE = 0.04
"""Each popular actor is credited in about this share of the generated movies."""
POPULAR_TALENT = tuple(talent_id(len(FIXTURE_TALENT) + n) for n in range(1, POPULAR_COUNT + 1))
REFERENCE_TIME = datetime(2025, 6, 1, tzinfo=UTC)
"""Timestamps are drawn relative to this instant, never to the clock, so data sets are reproducible."""

T = TypeVar("T")
_GENRES = tuple(Genre)
_UNRELEASED = (ProductionStatus.PRE_PRODUCTION, ProductionStatus.PHOTOGRAPHY, ProductionStatus.POST)
_ROLES_BY_WEIGHT = (Role.ACTOR,) * 6 + (Role.DIRECTOR, Role.WRITER, Role.WRITER, Role.PRODUCER, Role.COMPOSER)


def format_instant(instant: datetime) -> str:
    """``2024-05-01T12:00:00.000Z``: the one timestamp format of the demo graph."""
    return instant.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class _Draws:
    """Random draws from one seeded ``random.Random``, through ``random()`` only: ``choice``,
    ``randint`` and ``sample`` are several times slower, which matters at a million credits."""

    def __init__(self, seed: int) -> None:
        self._random = random.Random(seed).random

    def chance(self, probability: float) -> bool:
        return self._random() < probability

    def pick(self, items: Sequence[T]) -> T:
        return items[int(self._random() * len(items))]

    def between(self, low: int, high: int) -> int:
        """An integer from ``low`` to ``high``, both included."""
        return low + int(self._random() * (high - low + 1))

    def some(self, items: Sequence[T], low: int, high: int) -> tuple[T, ...]:
        """Between ``low`` and ``high`` distinct items (fewer when the same item is drawn twice)."""
        return tuple(dict.fromkeys(self.pick(items) for _ in range(self.between(low, high))))

    def instant(self, earliest: datetime, latest: datetime) -> str:
        span_ms = int((latest - earliest).total_seconds() * 1000)
        return format_instant(earliest + timedelta(milliseconds=int(self._random() * span_ms)))

    def day(self, year: int) -> date:
        return date(year, 1, 1) + timedelta(days=int(self._random() * 365))


def generate(seed: int, size: int) -> DemoData:
    """The data set for ``(seed, size)``: the same arguments always give an equal data set."""
    if size < MIN_SIZE:
        raise ValueError(f"size must be at least {MIN_SIZE} (the fixture movies), got {size}")
    collecting = gc.isenabled()
    gc.disable()  # a million records and no cycles among them: collections would only cost time
    try:
        return _generate(seed, size)
    finally:
        if collecting:
            gc.enable()


def _generate(seed: int, size: int) -> DemoData:
    draws = _Draws(seed)
    talent = list(FIXTURE_TALENT)
    talent += [_person(draws, person_id, (Role.ACTOR, Role.PRODUCER)) for person_id in POPULAR_TALENT]
    by_role: dict[Role, list[str]] = {role: [] for role in Role}
    for offset in range(max(60, size // 2)):
        # The first few people cover every role, so that no role's pool is ever empty.
        person = _person(draws, talent_id(len(talent) + 1), (list(Role)[offset],) if offset < len(Role) else ())
        talent.append(person)
        for role in person.roles:
            by_role[role].append(person.talent_id)
    movies, productions, credits = list(FIXTURE_MOVIES), list(FIXTURE_PRODUCTIONS), list(FIXTURE_CREDITS)
    for number in range(MIN_SIZE + 1, size + 1):
        movie, production = _movie(draws, number)
        movies.append(movie)
        if production is not None:
            productions.append(production)
        credits += _credits(draws, movie.movie_id, by_role)
    productions += [_production_in_development(draws, ptp_id(size + n)) for n in range(1, size // 25 + 1)]
    return DemoData(seed, size, tuple(movies), tuple(credits), tuple(productions), tuple(talent))


def _updated_at(draws: _Draws) -> str:
    return draws.instant(datetime(2020, 1, 1, tzinfo=UTC), REFERENCE_TIME)


def _midnight(day: date) -> str:
    return f"{day.isoformat()}T00:00:00.000Z"


def _person(draws: _Draws, person_id: str, roles: tuple[Role, ...]) -> Talent:
    """A generated person with at least ``roles``; one to three random ones if none are given."""
    culture = draws.pick(CULTURES)
    given, given_latin = draws.pick(culture.given)
    family, family_latin = draws.pick(culture.family)
    name = culture.separator.join((family, given) if culture.family_first else (given, family))
    alternates: list[str] = []
    if given_latin or family_latin:
        latin = (family_latin or family, given_latin or given)
        alternates.append(" ".join(latin if culture.latin_family_first else latin[::-1]))
    if draws.chance(0.1):
        alternates.append(f"{given_latin or given} {draws.pick(TITLE_NOUNS)}")
    if not roles:
        drawn = draws.some(_ROLES_BY_WEIGHT, 1, 3)
        roles = tuple(role for role in Role if role in drawn)
    agency = draws.pick(AGENCIES) if draws.chance(0.6) else None
    return Talent(person_id, name, tuple(alternates), roles, agency, culture.country, _updated_at(draws))


def _title(draws: _Draws) -> str:
    pattern = draws.between(1, 100)
    adjective, noun, place = draws.pick(TITLE_ADJECTIVES), draws.pick(TITLE_NOUNS), draws.pick(TITLE_PLACES)
    if pattern <= 5:
        return (
            f"The {adjective} and Altogether {draws.pick(TITLE_ADJECTIVES)} Chronicle of the {noun} "
            f"Who Walked from {place} to {draws.pick(TITLE_PLACES)} and Never Looked Back"
        )
    if pattern <= 35:
        return f"The {adjective} {noun}"
    if pattern <= 60:
        return f"{noun} of {place}"
    if pattern <= 80:
        return f"{adjective} {noun}s"
    return f"A {noun} in {place}"


def _movie(draws: _Draws, number: int) -> tuple[Movie, Production | None]:
    title = _title(draws)
    original_title = draws.pick(FOREIGN_TITLES) if draws.chance(0.2) else title
    year = draws.between(1950, 2027)
    upcoming = year >= REFERENCE_TIME.year
    release = draws.day(year)
    synopsis = " ".join(
        (
            draws.pick(SYNOPSIS_OPENINGS).format(role=draws.pick(SYNOPSIS_ROLES), place=draws.pick(TITLE_PLACES)),
            draws.pick(SYNOPSIS_ENDINGS),
        )
    )
    movie = Movie(
        movie_id=movie_id(number),
        title=title,
        original_title=None if draws.chance(0.05) else original_title,
        release_year=year,
        genres=draws.some(_GENRES, 1, 3),
        synopsis=None if draws.chance(0.03) else synopsis,
        runtime=None if upcoming and draws.chance(0.5) else draws.between(75, 190),
        rating=None if upcoming else draws.between(10, 99) / 10,
        release_date=None if upcoming and draws.chance(0.5) else _midnight(release),
        updated_at=_updated_at(draws),
        ptp_id=None if draws.chance(0.1) else ptp_id(number),
    )
    if movie.ptp_id is None:
        return movie, None
    status = draws.pick(_UNRELEASED) if upcoming else ProductionStatus.RELEASED
    start = _midnight(release - timedelta(days=draws.between(200, 900)))
    return movie, _production(draws, movie.ptp_id, title, status, start)


def _production(
    draws: _Draws, production_id: str, name: str, status: ProductionStatus, start: str | None
) -> Production:
    locations = tuple(Location(city, country) for city, country in draws.some(LOCATIONS, 1, 3))
    vendors = tuple(Vendor(vendor, draws.pick(VENDOR_SERVICES)) for vendor in draws.some(VENDOR_NAMES, 1, 4))
    budget = None if draws.chance(0.1) else draws.between(500, 300_000) * 1000.0
    return Production(production_id, name, status, locations, vendors, budget, start, _updated_at(draws))


def _production_in_development(draws: _Draws, production_id: str) -> Production:
    status = draws.pick((ProductionStatus.DEVELOPMENT, ProductionStatus.PRE_PRODUCTION))
    name = f"Project {draws.pick(TITLE_ADJECTIVES)} {draws.pick(TITLE_NOUNS)}"
    return _production(draws, production_id, name, status, None)


def _credits(draws: _Draws, movie: str, by_role: dict[Role, list[str]]) -> list[Credit]:
    wanted: list[tuple[Role, str]] = []
    for role, low, high in ((Role.DIRECTOR, 1, 2), (Role.WRITER, 1, 2), (Role.PRODUCER, 0, 2), (Role.COMPOSER, 0, 1)):
        wanted += [(role, draws.pick(by_role[role])) for _ in range(draws.between(low, high))]
    wanted += [(Role.ACTOR, person) for person in POPULAR_TALENT if draws.chance(POPULAR_SHARE)]
    wanted += [(Role.ACTOR, draws.pick(by_role[Role.ACTOR])) for _ in range(draws.between(2, 8))]
    credits: list[Credit] = []
    for role, person in dict.fromkeys(wanted):
        character = draws.pick(CHARACTER_NAMES) if role is Role.ACTOR else None
        credits.append(Credit(movie, person, role, character, len(credits) + 1))
    return credits
