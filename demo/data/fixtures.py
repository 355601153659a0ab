"""Records every seeded data set starts with, whatever the seed and size: the tests and the demo rely
on them (Ryan Reynolds as actor and as director, accented and non-Latin titles and names, a movie in
photography, movies without a production, a very long title)."""

from __future__ import annotations

from demo.data.records import Credit, Genre, Location, Movie, Production, ProductionStatus, Role, Talent, Vendor


def movie_id(number: int) -> str:
    """The id of the movie numbered ``number`` (from 1)."""
    return f"movie-{number:06d}"


def ptp_id(number: int) -> str:
    """The production tracking id numbered ``number`` (from 1)."""
    return f"ptp-{number:06d}"


def talent_id(number: int) -> str:
    """The id of the person numbered ``number`` (from 1)."""
    return f"talent-{number:06d}"


UPDATED = "2025-05-01T09:30:00.000Z"

RYAN_REYNOLDS = talent_id(1)
AKIRA_KUROSAWA = talent_id(2)
VLADIMIR_VYSOTSKY = talent_id(3)
AUDREY_TAUTOU = talent_id(4)
JEAN_RENO = talent_id(5)
LUC_BESSON = talent_id(6)
JEAN_PIERRE_JEUNET = talent_id(7)
GONG_LI = talent_id(8)

AMELIE = movie_id(1)
LEON = movie_id(2)
SEVEN_SAMURAI = movie_id(3)
DEADPOOL = movie_id(4)
FREE_GUY = movie_id(5)
THE_PROPOSAL = movie_id(6)
MAXIMUM_EFFORT = movie_id(7)
"""Ryan Reynolds acts in it; its production is in PHOTOGRAPHY."""
QUIET_HARBOR = movie_id(8)
"""Directed by Ryan Reynolds, who does not act in it."""
THE_VERTICAL = movie_id(9)
LONG_TITLE = movie_id(10)

MAXIMUM_EFFORT_PRODUCTION = ptp_id(7)

FIXTURE_TALENT: tuple[Talent, ...] = (
    Talent(
        RYAN_REYNOLDS,
        "Ryan Reynolds",
        ("Ryan Rodney Reynolds",),
        (Role.ACTOR, Role.DIRECTOR, Role.PRODUCER),
        "Creative Artists Agency",
        "Canada",
        UPDATED,
    ),
    Talent(
        AKIRA_KUROSAWA,
        "黒澤 明",
        ("Akira Kurosawa", "Kurosawa Akira"),
        (Role.DIRECTOR, Role.WRITER),
        None,
        "Japan",
        UPDATED,
    ),
    Talent(
        VLADIMIR_VYSOTSKY,
        "Владимир Высоцкий",
        ("Vladimir Vysotsky", "Vladimir Wyssozki"),
        (Role.ACTOR, Role.COMPOSER),
        None,
        "Russia",
        UPDATED,
    ),
    Talent(AUDREY_TAUTOU, "Audrey Tautou", (), (Role.ACTOR,), "Agence Artmédia", "France", UPDATED),
    Talent(
        JEAN_RENO, "Jean Reno", ("Juan Moreno y Herrera-Jiménez",), (Role.ACTOR,), "Agence Artmédia", "France", UPDATED
    ),
    Talent(LUC_BESSON, "Luc Besson", (), (Role.DIRECTOR, Role.WRITER, Role.PRODUCER), None, "France", UPDATED),
    Talent(JEAN_PIERRE_JEUNET, "Jean-Pierre Jeunet", (), (Role.DIRECTOR, Role.WRITER), None, "France", UPDATED),
    Talent(GONG_LI, "巩俐", ("Gong Li",), (Role.ACTOR,), None, "China", UPDATED),
)

FIXTURE_PRODUCTIONS: tuple[Production, ...] = (
    Production(
        ptp_id(1),
        "Amélie",
        ProductionStatus.RELEASED,
        (Location("Paris", "France"),),
        (Vendor("Lumière Post", "Color grading"),),
        10_000_000.0,
        "2000-03-06T00:00:00.000Z",
        UPDATED,
    ),
    Production(
        ptp_id(2),
        "Léon",
        ProductionStatus.RELEASED,
        (Location("Paris", "France"), Location("New York", "United States")),
        (Vendor("Brückner Kameraverleih", "Camera rental"),),
        16_000_000.0,
        "1993-09-01T00:00:00.000Z",
        UPDATED,
    ),
    Production(
        ptp_id(4),
        "Deadpool",
        ProductionStatus.RELEASED,
        (Location("Vancouver", "Canada"),),
        (Vendor("Northlight VFX", "Visual effects"), Vendor("Saltwater Sound", "Sound mixing")),
        58_000_000.0,
        "2015-03-23T00:00:00.000Z",
        UPDATED,
    ),
    Production(
        ptp_id(5),
        "Free Guy",
        ProductionStatus.RELEASED,
        (Location("Atlanta", "United States"),),
        (Vendor("Pixel Forge", "Visual effects"),),
        125_000_000.0,
        "2019-05-13T00:00:00.000Z",
        UPDATED,
    ),
    Production(
        MAXIMUM_EFFORT_PRODUCTION,
        "Project Maximum Effort",
        ProductionStatus.PHOTOGRAPHY,
        (Location("São Paulo", "Brazil"), Location("Kraków", "Poland")),
        (Vendor("Estúdios Vera Cruz", "Grip and electric"), Vendor("Catering Ñam Ñam", "Catering")),
        90_000_000.0,
        "2025-04-14T00:00:00.000Z",
        UPDATED,
    ),
    Production(
        ptp_id(8),
        "Quiet Harbor",
        ProductionStatus.POST,
        (Location("Reykjavík", "Iceland"),),
        (Vendor("Fjörður Grip & Electric", "Grip and electric"),),
        None,
        "2024-09-02T00:00:00.000Z",
        UPDATED,
    ),
    Production(
        ptp_id(10),
        "The Cartographer of Dreams",
        ProductionStatus.RELEASED,
        (Location("Zürich", "Switzerland"), Location("Kyōto", "Japan"), Location("東京", "Japan")),
        (Vendor("Atelier Costumes Bérénice", "Costumes"),),
        4_500_000.0,
        "2011-02-01T00:00:00.000Z",
        UPDATED,
    ),
)

FIXTURE_MOVIES: tuple[Movie, ...] = (
    Movie(
        AMELIE,
        "Amélie",
        "Le Fabuleux Destin d'Amélie Poulain",
        2001,
        (Genre.COMEDY, Genre.ROMANCE),
        "Amélie, a shy waitress in Montmartre, decides to change the lives of those around her.",
        122,
        8.3,
        "2001-04-25T00:00:00.000Z",
        UPDATED,
        ptp_id(1),
    ),
    Movie(
        LEON,
        "Léon: The Professional",
        "Léon",
        1994,
        (Genre.ACTION, Genre.CRIME, Genre.DRAMA),
        "Mathilda, twelve, is taken in by Léon, a professional hitman, after her family is murdered.",
        110,
        8.5,
        "1994-09-14T00:00:00.000Z",
        UPDATED,
        ptp_id(2),
    ),
    Movie(
        SEVEN_SAMURAI,
        "Seven Samurai",
        "七人の侍",
        1954,
        (Genre.ACTION, Genre.DRAMA),
        "A village of farmers hires seven rōnin to defend their harvest against bandits.",
        207,
        8.6,
        "1954-04-26T00:00:00.000Z",
        UPDATED,
        None,
    ),
    Movie(
        DEADPOOL,
        "Deadpool",
        "Deadpool",
        2016,
        (Genre.ACTION, Genre.COMEDY),
        "A wisecracking mercenary gets experimental treatment and hunts the man who ruined his face.",
        108,
        8.0,
        "2016-02-12T00:00:00.000Z",
        UPDATED,
        ptp_id(4),
    ),
    Movie(
        FREE_GUY,
        "Free Guy",
        "Free Guy",
        2021,
        (Genre.ACTION, Genre.COMEDY, Genre.SCIENCE_FICTION),
        "A bank teller discovers he is a background character in an open-world video game.",
        115,
        7.1,
        "2021-08-13T00:00:00.000Z",
        UPDATED,
        ptp_id(5),
    ),
    Movie(
        THE_PROPOSAL,
        "The Proposal",
        "The Proposal",
        2009,
        (Genre.COMEDY, Genre.ROMANCE),
        "A pushy editor forces her assistant into a fake engagement to avoid deportation.",
        108,
        6.7,
        "2009-06-19T00:00:00.000Z",
        UPDATED,
        None,
    ),
    Movie(
        MAXIMUM_EFFORT,
        "Maximum Effort",
        "Maximum Effort",
        2026,
        (Genre.ACTION, Genre.ADVENTURE),
        "A stunt double is mistaken for the star he replaces and chased from São Paulo to Kraków.",
        None,
        None,
        None,
        UPDATED,
        MAXIMUM_EFFORT_PRODUCTION,
    ),
    Movie(
        QUIET_HARBOR,
        "Quiet Harbor",
        "Quiet Harbor",
        2026,
        (Genre.DRAMA,),
        "A lighthouse keeper in Reykjavík waits for a ship that left forty years ago.",
        98,
        None,
        "2026-03-20T00:00:00.000Z",
        UPDATED,
        ptp_id(8),
    ),
    Movie(
        THE_VERTICAL,
        "The Vertical",
        "Вертикаль",
        1967,
        (Genre.ADVENTURE, Genre.DRAMA),
        "Mountaineers in the Caucasus are caught by an avalanche.",
        78,
        6.9,
        "1967-05-01T00:00:00.000Z",
        UPDATED,
        None,
    ),
    Movie(
        LONG_TITLE,
        "The Extraordinary and Altogether Unlikely Adventures of a Cartographer Who Mapped the Edges of Dreams "
        "Across Seven Winters in Zürich, Kyōto and 東京",
        None,
        2012,
        (Genre.FANTASY, Genre.ADVENTURE),
        "A mapmaker charts places that exist only while people sleep.",
        164,
        7.4,
        "2012-11-02T00:00:00.000Z",
        UPDATED,
        ptp_id(10),
    ),
)

FIXTURE_CREDITS: tuple[Credit, ...] = (
    Credit(AMELIE, JEAN_PIERRE_JEUNET, Role.DIRECTOR, None, 1),
    Credit(AMELIE, JEAN_PIERRE_JEUNET, Role.WRITER, None, 2),
    Credit(AMELIE, AUDREY_TAUTOU, Role.ACTOR, "Amélie Poulain", 3),
    Credit(LEON, LUC_BESSON, Role.DIRECTOR, None, 1),
    Credit(LEON, LUC_BESSON, Role.WRITER, None, 2),
    Credit(LEON, JEAN_RENO, Role.ACTOR, "Léon", 3),
    Credit(SEVEN_SAMURAI, AKIRA_KUROSAWA, Role.DIRECTOR, None, 1),
    Credit(SEVEN_SAMURAI, AKIRA_KUROSAWA, Role.WRITER, None, 2),
    Credit(DEADPOOL, RYAN_REYNOLDS, Role.ACTOR, "Wade Wilson / Deadpool", 1),
    Credit(DEADPOOL, RYAN_REYNOLDS, Role.PRODUCER, None, 2),
    Credit(FREE_GUY, RYAN_REYNOLDS, Role.ACTOR, "Guy", 1),
    Credit(THE_PROPOSAL, RYAN_REYNOLDS, Role.ACTOR, "Andrew Paxton", 1),
    Credit(MAXIMUM_EFFORT, RYAN_REYNOLDS, Role.ACTOR, "Nick Vance", 1),
    Credit(MAXIMUM_EFFORT, GONG_LI, Role.ACTOR, "Mei Lin", 2),
    Credit(QUIET_HARBOR, RYAN_REYNOLDS, Role.DIRECTOR, None, 1),
    Credit(QUIET_HARBOR, GONG_LI, Role.ACTOR, "Sigrún", 2),
    Credit(THE_VERTICAL, VLADIMIR_VYSOTSKY, Role.ACTOR, "Volodya", 1),
    Credit(THE_VERTICAL, VLADIMIR_VYSOTSKY, Role.COMPOSER, None, 2),
    Credit(LONG_TITLE, AKIRA_KUROSAWA, Role.WRITER, None, 1),
    Credit(LONG_TITLE, AUDREY_TAUTOU, Role.ACTOR, "The Cartographer", 2),
)
