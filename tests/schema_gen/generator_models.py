"""Hand-built document models for the generator tests (no schema, no walker)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from schema_gen.config import IndexConfig, parse_config
from schema_gen.model import DocumentModel, FieldKind, FieldNode, ScalarKind

_BUILTIN_SCALARS = {kind.value for kind in ScalarKind} - {ScalarKind.CUSTOM.value}
MOVIE_QUERY = "query MovieDocuments($ids: [ID!]!) { movies(ids: $ids) { movieId title } }"


def scalar(key: str, type_name: str = "String", *, nullable: bool = True, lists: tuple[bool, ...] = (), **extra: Any):
    """A scalar field; the built-in scalar kind follows from ``type_name``."""
    kind = ScalarKind(type_name) if type_name in _BUILTIN_SCALARS else ScalarKind.CUSTOM
    return FieldNode(
        key=key,
        name=key,
        path=key,
        type_name=type_name,
        kind=FieldKind.SCALAR,
        nullable=nullable,
        list_items_nullable=lists,
        scalar=kind,
        **extra,
    )


def enum(key: str, type_name: str, values: tuple[str, ...], *, nullable: bool = True, **extra: Any) -> FieldNode:
    """An enum field."""
    return FieldNode(
        key=key,
        name=key,
        path=key,
        type_name=type_name,
        kind=FieldKind.ENUM,
        nullable=nullable,
        enum_values=values,
        **extra,
    )


def obj(
    key: str,
    type_name: str,
    children: list[FieldNode],
    *,
    nullable: bool = True,
    lists: tuple[bool, ...] = (),
    **extra: Any,
) -> FieldNode:
    """An object field with its selection."""
    return FieldNode(
        key=key,
        name=key,
        path=key,
        type_name=type_name,
        kind=FieldKind.OBJECT,
        nullable=nullable,
        list_items_nullable=lists,
        children=tuple(children),
        possible_types=extra.pop("possible_types", (type_name,)),
        **extra,
    )


def typename() -> FieldNode:
    """The ``__typename`` meta field."""
    return FieldNode(
        key="__typename",
        name="__typename",
        path="__typename",
        type_name="String",
        kind=FieldKind.TYPENAME,
        nullable=False,
    )


def with_paths(node: FieldNode, config: IndexConfig, prefix: str = "") -> FieldNode:
    """``node`` with every path set from the response keys and options taken from ``config``."""
    path = f"{prefix}.{node.key}" if prefix else node.key
    path = "" if node.path == "" and not prefix else path
    children = tuple(with_paths(child, config, path) for child in node.children)
    return replace(node, path=path, children=children, options=config.options_for(path))


def make_config(**overrides: Any) -> IndexConfig:
    """An index definition for ``movies`` with keys overridden (``fields``, ``scalars``, ...)."""
    data: dict[str, Any] = {
        "index": "movies",
        "graph": {"schema_file": "movies.graphql"},
        "query": MOVIE_QUERY,
        "root": {"type": "Movie", "id_field": "movieId", "id_variable": "ids"},
    }
    data.update(overrides)
    return parse_config(data, "movies.yaml", {})


def make_model(children: list[FieldNode], config: IndexConfig, *, key_fields: tuple[str, ...] = ("movieId",)):
    """A ``movies`` document model whose root ``Movie`` has ``children``."""
    root = FieldNode(
        key="movies",
        name="movies",
        path="",
        type_name="Movie",
        kind=FieldKind.OBJECT,
        nullable=False,
        children=tuple(children),
        possible_types=("Movie",),
        key_fields=key_fields,
    )
    return DocumentModel(
        index=config.index,
        root=with_paths(root, config),
        root_field="movies",
        root_response_key="movies",
        root_returns_list=True,
        id_field="movieId",
        id_variable="ids",
        id_variable_is_list=True,
        operation_name="MovieDocuments",
        query=MOVIE_QUERY,
    )


def movie_fields() -> list[FieldNode]:
    """A document touching every kind of field the generators handle."""
    person_name = scalar("name", "String", nullable=False)
    return [
        scalar("movieId", "ID", nullable=False),
        scalar("title", "String", nullable=False, description="The title as released."),
        scalar("originalTitle"),
        enum("status", "Status", ("RELEASED", "IN_PRODUCTION"), nullable=False),
        scalar("releasedAt", "DateTime"),
        scalar("releaseDate", "Date"),
        scalar("runtime", "Int"),
        scalar("rating", "Float"),
        scalar("isAdult", "Boolean", nullable=False),
        scalar("extra", "JSON"),
        scalar("tags", "String", nullable=False, lists=(False,)),
        scalar("scores", "Int", lists=(True, False)),
        obj("production", "Production", [scalar("ptpId", "ID", nullable=False), scalar("name")], key_fields=("ptpId",)),
        obj(
            "talent",
            "Talent",
            [
                scalar("talentId", "ID", nullable=False),
                scalar("name", nullable=False),
                enum("role", "Role", ("ACTOR", "DIRECTOR")),
                obj("person", "Person", [person_name, scalar("birthName")]),
            ],
            nullable=False,
            lists=(False,),
            key_fields=("talentId",),
        ),
        obj("director", "Person", [person_name]),
        obj("rights", "Rights", [scalar("territory", nullable=False)], conditional=True),
        obj(
            "featured",
            "Media",
            [
                typename(),
                scalar("headline", nullable=False),
                scalar("episodes", "Int", nullable=False, only_on=("Series",)),
            ],
            abstract=True,
            possible_types=("Film", "Series"),
        ),
    ]


def movie_model(config: IndexConfig | None = None) -> tuple[DocumentModel, IndexConfig]:
    """The full movie model with ``config`` (default: ``make_config()``)."""
    config = config or make_config()
    return make_model(movie_fields(), config), config


def movie_entity(**overrides: Any) -> dict[str, Any]:
    """A response entity that conforms to ``movie_model``."""
    entity: dict[str, Any] = {
        "movieId": "m1",
        "title": "Amélie",
        "originalTitle": "Le Fabuleux Destin d'Amélie Poulain",
        "status": "RELEASED",
        "releasedAt": "2001-04-25T00:00:00Z",
        "releaseDate": "2001-04-25",
        "runtime": 122,
        "rating": 8.3,
        "isAdult": False,
        "extra": {"awards": 4},
        "tags": ["romance", "comedy"],
        "scores": [[1, 2], None, []],
        "production": {"ptpId": "p1", "name": "Claudie Ossard"},
        "talent": [
            {
                "talentId": "t1",
                "name": "Audrey Tautou",
                "role": "ACTOR",
                "person": {"name": "Audrey", "birthName": None},
            },
            {"talentId": "t2", "name": "Jean-Pierre Jeunet", "role": "DIRECTOR", "person": None},
        ],
        "director": {"name": "Jean-Pierre Jeunet"},
        "featured": {"__typename": "Film", "headline": "A whimsical tale"},
        "ignoredExtraKey": 1,
    }
    entity.update(overrides)
    return entity
