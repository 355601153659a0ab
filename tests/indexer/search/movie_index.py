"""A hand-written Movie field catalogue for unit tests, and the Movie documents of the integration tests.

The catalogue is written in the generator's format 1 (``schema_gen.catalogue``) so that unit tests do
not depend on the generator; it has cases the test definition does not (a keyword string list, a
field that is not filterable). Integration tests use the real generated catalogue and index template
of ``data/movies.yaml``, which fits the same documents.
"""

from __future__ import annotations

import random
from typing import Any

GENRES = ["ACTION", "COMEDY", "DRAMA", "ROMANCE", "SCIFI", "DOCUMENTARY"]
STATUSES = ["DEVELOPMENT", "PREPRODUCTION", "PHOTOGRAPHY", "POSTPRODUCTION", "RELEASED"]
ROLES = ["ACTOR", "DIRECTOR", "WRITER", "PRODUCER"]


def _field(path: str, index_type: str, **options: Any) -> dict[str, Any]:
    text = index_type == "text"
    entry: dict[str, Any] = {
        "path": path,
        "graphql_type": options.pop("graphql_type", "String"),
        "type_name": options.pop("type_name", "String"),
        "kind": options.pop("kind", "scalar"),
        "index_type": index_type,
        "nested_path": options.pop("nested_path", None),
        "list": options.pop("list", False),
        "nullable": options.pop("nullable", True),
        "enum_values": options.pop("enum_values", []),
        "fulltext": options.pop("fulltext", text),
        "boost": options.pop("boost", 1.0),
        "autocomplete": options.pop("autocomplete", False),
        "filterable": options.pop("filterable", index_type not in ("object", "nested")),
        "sortable": options.pop("sortable", index_type not in ("object", "nested")),
        "facetable": options.pop("facetable", index_type not in ("object", "nested", "text")),
        "exact_path": f"{path}.keyword" if text else None,
        "lowercase_path": f"{path}.lowercase" if text else None,
        "autocomplete_path": None,
        "description": options.pop("description", None),
    }
    if entry["autocomplete"]:
        entry["autocomplete_path"] = f"{path}.autocomplete"
    assert not options, options
    return entry


def _enum(path: str, type_name: str, values: list[str], **options: Any) -> dict[str, Any]:
    options.setdefault("graphql_type", type_name)
    return _field(path, "keyword", kind="enum", type_name=type_name, enum_values=values, **options)


def _object(path: str, type_name: str, nested: bool = False, **options: Any) -> dict[str, Any]:
    options.setdefault("graphql_type", f"[{type_name}!]!" if options.get("list") else type_name)
    return _field(path, "nested" if nested else "object", kind="object", type_name=type_name, **options)


FIELDS = [
    _field("movieId", "keyword", type_name="ID", graphql_type="ID!", nullable=False),
    _field("title", "text", graphql_type="String!", nullable=False, boost=3.0, autocomplete=True, facetable=True),
    _field("description", "text", sortable=False),
    _field("releaseYear", "integer", type_name="Int", graphql_type="Int"),
    _field("rating", "double", type_name="Float", graphql_type="Float"),
    _field("inTheaters", "boolean", type_name="Boolean", graphql_type="Boolean"),
    _field("releaseDate", "date", type_name="Date", graphql_type="Date"),
    _enum("genres", "Genre", GENRES, list=True, graphql_type="[Genre!]!", sortable=False),
    _field("budget", "long", type_name="Long", graphql_type="Long", filterable=False, sortable=False),
    _object("production", "Production"),
    _field("production.ptpId", "keyword", type_name="ID", graphql_type="ID!"),
    _enum("production.status", "ProductionStatus", STATUSES),
    _object("production.locations", "Location", list=True),
    _field("production.locations.city", "text", list=True),
    _field("production.locations.country", "keyword", list=True, sortable=False),
    _object("credits", "Credit", nested=True, list=True),
    _enum("credits.role", "CreditRole", ROLES, nested_path="credits"),
    _field("credits.character", "text", nested_path="credits", sortable=False),
    _object("credits.talent", "Talent", nested_path="credits"),
    _field("credits.talent.talentId", "keyword", type_name="ID", graphql_type="ID!", nested_path="credits"),
    _field("credits.talent.name", "text", nested_path="credits", boost=2.0, autocomplete=True, facetable=True),
]

CATALOGUE: dict[str, Any] = {
    "format": 1,
    "index": "movies",
    "root_type": "Movie",
    "id_field": "movieId",
    "query": "query Movies($ids: [ID!]!) { movies(ids: $ids) { movieId title } }",
    "root_field": "movies",
    "metadata_field": "graphdex",
    "fields": FIELDS,
    "nested_paths": ["credits"],
    "entities": [
        {"path": "production", "type": "Production", "key_fields": ["ptpId"], "key_paths": ["production.ptpId"]},
        {
            "path": "credits.talent",
            "type": "Talent",
            "key_fields": ["talentId"],
            "key_paths": ["credits.talent.talentId"],
            "nested_path": "credits",
        },
    ],
}


def _credit(role: str, name: str, talent_id: str, character: str | None = None) -> dict[str, Any]:
    return {"role": role, "character": character, "talent": {"talentId": talent_id, "name": name}}


# The question of issue 6: Ryan Reynolds as ACTOR in a production in PHOTOGRAPHY.
STORY_MOVIES: list[dict[str, Any]] = [
    {
        "movieId": "m-deadpool",
        "title": "Deadpool & Wolverine",
        "description": "A foul-mouthed mercenary joins forces with a reluctant hero.",
        "releaseYear": 2024,
        "rating": 7.8,
        "inTheaters": True,
        "releaseDate": "2024-07-26",
        "genres": ["ACTION", "COMEDY"],
        "production": {
            "ptpId": "p-1",
            "status": "PHOTOGRAPHY",
            "locations": [{"city": "London", "country": "GB"}, {"city": "Vancouver", "country": "CA"}],
        },
        "credits": [
            _credit("ACTOR", "Ryan Reynolds", "t-ryan", "Wade Wilson"),
            _credit("ACTOR", "Hugh Jackman", "t-hugh", "Logan"),
            _credit("DIRECTOR", "Shawn Levy", "t-shawn"),
        ],
    },
    {
        "movieId": "m-directed",
        "title": "The Directed One",
        "description": "Ryan Reynolds steps behind the camera.",
        "releaseYear": 2025,
        "rating": 6.1,
        "inTheaters": False,
        "releaseDate": "2025-03-14",
        "genres": ["DRAMA"],
        "production": {"ptpId": "p-2", "status": "PHOTOGRAPHY", "locations": [{"city": "Toronto", "country": "CA"}]},
        "credits": [
            _credit("DIRECTOR", "Ryan Reynolds", "t-ryan"),
            _credit("ACTOR", "Blake Lively", "t-blake", "Serena"),
        ],
    },
    {
        "movieId": "m-released",
        "title": "Free Guy",
        "description": "A bank teller discovers he is a background player in a video game.",
        "releaseYear": 2021,
        "rating": 7.1,
        "inTheaters": False,
        "releaseDate": "2021-08-13",
        "genres": ["ACTION", "COMEDY", "SCIFI"],
        "production": {"ptpId": "p-3", "status": "RELEASED", "locations": [{"city": "Boston", "country": "US"}]},
        "credits": [_credit("ACTOR", "Ryan Reynolds", "t-ryan", "Guy"), _credit("DIRECTOR", "Shawn Levy", "t-shawn")],
    },
    {
        "movieId": "m-amelie",
        "title": "Le Fabuleux Destin d'Amélie Poulain",
        "description": "Une jeune serveuse parisienne décide de changer la vie des autres.",
        "releaseYear": 2001,
        "rating": 8.3,
        "inTheaters": False,
        "releaseDate": "2001-04-25",
        "genres": ["COMEDY", "ROMANCE"],
        "production": {"ptpId": "p-4", "status": "RELEASED", "locations": [{"city": "Paris", "country": "FR"}]},
        "credits": [
            _credit("ACTOR", "Audrey Tautou", "t-audrey", "Amélie Poulain"),
            _credit("DIRECTOR", "Jean-Pierre Jeunet", "t-jpj"),
        ],
    },
    {
        "movieId": "m-undated",
        "title": "Untitled Project",
        "releaseYear": None,
        "genres": [],
        "production": {"ptpId": "p-5", "status": "DEVELOPMENT", "locations": []},
        "credits": [],
    },
]

_WORDS = ["night", "river", "storm", "garden", "empire", "echo", "silent", "golden", "last", "winter", "city", "dream"]
_NAMES = ["Ana Silva", "Bo Chen", "Carla Núñez", "Dev Patel", "Émile Roy", "Farah Khan", "Gus Berg", "Hana Mori"]


def generated_movies(count: int, seed: int = 7) -> list[dict[str, Any]]:
    """``count`` varied movies (many equal years and ratings, so sort ties happen), reproducible by seed."""
    rng = random.Random(seed)
    movies = []
    for number in range(count):
        year = rng.choice([1999, 2005, 2010, 2015, 2020, None])
        credits = []
        for _ in range(rng.randint(0, 4)):
            name = rng.choice(_NAMES)
            credits.append(_credit(rng.choice(ROLES), name, "t-" + name.split()[0].lower(), rng.choice([None, "Hero"])))
        movies.append(
            {
                "movieId": f"g-{number:05d}",
                "title": " ".join(rng.sample(_WORDS, rng.randint(1, 3))).title(),
                "releaseYear": year,
                "rating": rng.choice([5.0, 6.5, 7.0, 8.5, None]),
                "inTheaters": rng.choice([True, False, None]),
                "releaseDate": f"{year}-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}" if year else None,
                "genres": rng.sample(GENRES, rng.randint(0, 3)),
                "production": {
                    "ptpId": f"p-g{number}",
                    "status": rng.choice(STATUSES),
                    "locations": [{"city": "Lyon", "country": rng.choice(["FR", "DE"])}] * rng.randint(0, 2),
                },
                "credits": credits,
            }
        )
    return movies


ALL_MOVIES = STORY_MOVIES + generated_movies(80)
