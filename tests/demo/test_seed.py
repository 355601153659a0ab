"""The seeded demo data set: a pure function of (seed, size), with the fixtures tests rely on."""

from __future__ import annotations

from collections import Counter
from datetime import datetime

import pytest

from demo.data import fixtures
from demo.data.records import DemoData, ProductionStatus, Role
from demo.seed import MIN_SIZE, POPULAR_TALENT, format_instant, generate


@pytest.fixture(scope="module")
def data() -> DemoData:
    return generate(7, 400)


def test_same_arguments_give_an_equal_data_set(data: DemoData):
    """Generating twice with the same seed and size gives equal records."""
    assert generate(7, 400) == data


def test_another_seed_gives_other_records(data: DemoData):
    """A different seed changes the generated (non-fixture) records."""
    other = generate(8, 400)
    assert other.movies[:MIN_SIZE] == data.movies[:MIN_SIZE]
    assert other.movies[MIN_SIZE:] != data.movies[MIN_SIZE:]


def test_size_is_the_number_of_movies():
    """``size`` movies are generated, with unique ids."""
    data = generate(1, 123)
    assert len(data.movies) == 123
    assert len({movie.movie_id for movie in data.movies}) == 123


def test_size_below_the_fixtures_is_refused():
    """A size smaller than the fixture movies is a clear error."""
    with pytest.raises(ValueError, match=f"at least {MIN_SIZE}"):
        generate(1, MIN_SIZE - 1)


def test_references_resolve_within_the_data_set(data: DemoData):
    """Every credit names an existing movie and person; every movie's production exists."""
    assert {credit.movie_id for credit in data.credits} <= set(data.movies_by_id)
    assert {credit.talent_id for credit in data.credits} <= set(data.talent_by_id)
    assert {movie.ptp_id for movie in data.movies if movie.ptp_id} <= set(data.productions_by_id)


def test_ids_and_credit_keys_are_unique(data: DemoData):
    """Ids are unique per kind and no (movie, talent, role) is credited twice."""
    assert len(data.productions_by_id) == len(data.productions)
    assert len(data.talent_by_id) == len(data.talent)
    assert len({credit.key for credit in data.credits}) == len(data.credits)


def test_ryan_reynolds_acts_in_several_movies_and_directs_another(data: DemoData):
    """Ryan Reynolds is an actor in several movies and the director, not an actor, of another."""
    ryan = data.talent_named("Ryan Reynolds")
    assert ryan.talent_id == fixtures.RYAN_REYNOLDS
    acted = data.movie_ids_with(ryan.talent_id, Role.ACTOR)
    directed = data.movie_ids_with(ryan.talent_id, Role.DIRECTOR)
    assert len(acted) >= 3
    assert fixtures.QUIET_HARBOR in directed - acted


def test_a_production_in_photography_has_ryan_reynolds_as_actor(data: DemoData):
    """The Maximum Effort production is in PHOTOGRAPHY and its movie credits Ryan Reynolds as actor."""
    production = data.productions_by_id[fixtures.MAXIMUM_EFFORT_PRODUCTION]
    movie = data.movie_of_production(production.ptp_id)
    assert production.status is ProductionStatus.PHOTOGRAPHY
    assert movie is not None
    assert fixtures.RYAN_REYNOLDS in {c.talent_id for c in data.credits_of(movie.movie_id) if c.role is Role.ACTOR}


def test_names_and_places_use_accents_and_other_scripts(data: DemoData):
    """Accented and non-Latin names, titles and cities are present, with Latin alternate names."""
    names = {person.name for person in data.talent}
    assert {"黒澤 明", "Владимир Высоцкий", "巩俐"} <= names
    assert "Akira Kurosawa" in data.talent_by_id[fixtures.AKIRA_KUROSAWA].alternate_names
    assert data.movies_by_id[fixtures.AMELIE].title == "Amélie"
    assert data.movies_by_id[fixtures.LEON].original_title == "Léon"
    cities = {location.city for production in data.productions for location in production.shooting_locations}
    assert "São Paulo" in cities
    assert any(not name.isascii() for name in names - {"黒澤 明", "Владимир Высоцкий", "巩俐"})


def test_some_movies_have_no_production_and_some_titles_are_long(data: DemoData):
    """Movies without a production and titles over 100 characters both occur."""
    assert fixtures.SEVEN_SAMURAI in {movie.movie_id for movie in data.movies if movie.ptp_id is None}
    assert sum(movie.ptp_id is None for movie in data.movies[MIN_SIZE:]) > 0
    assert max(len(movie.title) for movie in data.movies) > 100


def test_credits_are_many_to_many(data: DemoData):
    """Movies have several credits and most people are credited on several movies."""
    per_movie = Counter(credit.movie_id for credit in data.credits)
    per_person = Counter(credit.talent_id for credit in data.credits)
    assert min(per_movie.values()) >= 1
    assert sum(per_movie.values()) / len(per_movie) > 4
    assert sum(count > 1 for count in per_person.values()) > len(per_person) / 2


def test_popular_talent_is_credited_in_thousands_of_movies_at_large_sizes():
    """At 30,000 movies, each popular actor is credited in over a thousand of them."""
    data = generate(3, 30_000)
    counts = Counter(credit.talent_id for credit in data.credits)
    assert all(counts[person] > 1000 for person in POPULAR_TALENT)
    assert all(data.talent_by_id[person].roles[0] is Role.ACTOR for person in POPULAR_TALENT)


def test_timestamps_are_utc_iso_with_milliseconds(data: DemoData):
    """Every timestamp is ``YYYY-MM-DDTHH:MM:SS.mmmZ``."""
    stamps = [movie.updated_at for movie in data.movies] + [p.start_date for p in data.productions if p.start_date]
    assert all(len(stamp) == 24 and stamp.endswith("Z") and stamp[10] == "T" for stamp in stamps)


def test_format_instant_converts_to_utc():
    """An instant with an offset is written in UTC."""
    assert format_instant(datetime.fromisoformat("2024-05-01T14:00:00.5+02:00")) == "2024-05-01T12:00:00.500Z"
