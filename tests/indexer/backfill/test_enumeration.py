"""Enumerations: the query's checks against the schema (errors naming the YAML keys), its cursor
pagination through the gateway client, ids files and in-memory lists."""

from __future__ import annotations

import json

import httpx
import pytest
from prometheus_client import CollectorRegistry

from indexer.backfill.enumeration import GatewayAccess, IdListEnumeration, IdsFileEnumeration, QueryEnumeration
from indexer.fetch import FetchMetrics, VersionClock
from indexer.fetch.gateway import GatewayClient
from schema_gen.errors import ConfigError, GatewayUnavailable, ServiceError

GATEWAY = "http://gateway.test/"


def client_for(handler) -> GatewayClient:
    """A gateway client answering through ``handler`` without retries or waits."""
    return GatewayClient(
        GATEWAY,
        index="movies",
        metrics=FetchMetrics(CollectorRegistry()),
        versions=VersionClock(),
        attempts=1,
        transport=httpx.MockTransport(handler),
        sleep=lambda _: None,
    )


def paged_gateway(ids: list[str], requests: list[dict]):
    """A fake ``movieIds(first:, after:)`` whose cursor is the last id of the page."""

    def handler(request: httpx.Request) -> httpx.Response:
        payload = json.loads(request.content)
        requests.append(payload)
        variables = payload["variables"]
        after, first = variables["after"], variables["first"]
        start = ids.index(after) + 1 if after else 0
        page = ids[start : start + first]
        data = {"ids": page, "endCursor": page[-1] if page else after, "hasNextPage": start + first < len(ids)}
        return httpx.Response(200, json={"data": {"movieIds": data}})

    return handler


def test_the_demo_enumeration_query_is_valid(definition_at):
    """configs/movies.yaml's enumeration checks out against the schema snapshot."""
    enumeration = QueryEnumeration.from_definition(definition_at())
    assert enumeration.source == "query movieIds"
    assert enumeration.total() is None


def test_pages_follow_the_cursor_until_there_is_no_next_page(definition_at):
    """Seven ids in pages of three: three requests, each passing the previous endCursor as $after."""
    ids = [f"movie-{n}" for n in range(7)]
    requests: list[dict] = []
    enumeration = QueryEnumeration.from_definition(definition_at({"backfill": {"enumeration": {"page_size": 3}}}))
    with client_for(paged_gateway(ids, requests)) as client:
        pages = list(enumeration.pages(None, GatewayAccess(client, lambda _: True)))
    assert [page.ids for page in pages] == [tuple(ids[0:3]), tuple(ids[3:6]), tuple(ids[6:])]
    assert [page.next_cursor for page in pages] == ["movie-2", "movie-5", None]
    assert [request["variables"] for request in requests] == [
        {"first": 3, "after": None},
        {"first": 3, "after": "movie-2"},
        {"first": 3, "after": "movie-5"},
    ]
    assert requests[0]["operationName"] == "MovieIds"


def test_resuming_starts_at_the_saved_cursor(definition_at):
    """``pages(after)`` asks for the page after that cursor first."""
    ids = [f"movie-{n}" for n in range(7)]
    requests: list[dict] = []
    enumeration = QueryEnumeration.from_definition(definition_at({"backfill": {"enumeration": {"page_size": 3}}}))
    with client_for(paged_gateway(ids, requests)) as client:
        pages = list(enumeration.pages("movie-5", GatewayAccess(client, lambda _: True)))
    assert [page.ids for page in pages] == [("movie-6",)]


def test_without_has_next_an_empty_page_ends(definition_at):
    """Without has_next_path the enumeration goes on until a page comes back empty."""
    ids = [f"movie-{n}" for n in range(4)]
    requests: list[dict] = []
    overrides = {"backfill": {"enumeration": {"page_size": 2, "has_next_path": None}}}
    enumeration = QueryEnumeration.from_definition(definition_at(overrides))
    with client_for(paged_gateway(ids, requests)) as client:
        pages = list(enumeration.pages(None, GatewayAccess(client, lambda _: True)))
    assert [page.ids for page in pages] == [("movie-0", "movie-1"), ("movie-2", "movie-3"), ()]


def test_an_outage_is_waited_out(definition_at):
    """A gateway that fails once as a whole is asked again after the wait; waits that give up re-raise."""
    ids = ["movie-1"]
    requests: list[dict] = []
    answers = paged_gateway(ids, requests)
    failures = [httpx.Response(503, text="busy")]

    def handler(request):
        return failures.pop() if failures else answers(request)

    waits: list[float] = []
    enumeration = QueryEnumeration.from_definition(definition_at())
    with client_for(handler) as client:
        pages = list(enumeration.pages(None, GatewayAccess(client, lambda s: waits.append(s) or True)))
    assert [page.ids for page in pages] == [("movie-1",)]
    assert len(waits) == 1
    with client_for(lambda _: httpx.Response(503)) as client, pytest.raises(GatewayUnavailable):
        list(enumeration.pages(None, GatewayAccess(client, lambda _: False)))


def test_graphql_errors_and_missing_paths_are_service_errors(definition_at):
    """An answer with errors, or without the configured paths, names the YAML key."""
    enumeration = QueryEnumeration.from_definition(definition_at())
    errors = {"errors": [{"message": "first must be between 1 and 10000"}], "data": None}
    with (
        client_for(lambda _: httpx.Response(200, json=errors)) as client,
        pytest.raises(ServiceError, match=r"backfill.enumeration.query: .*first must be between"),
    ):
        list(enumeration.pages(None, GatewayAccess(client, lambda _: True)))
    wrong = {"data": {"movieIds": {"endCursor": None, "hasNextPage": False}}}
    with (
        client_for(lambda _: httpx.Response(200, json=wrong)) as client,
        pytest.raises(ServiceError, match=r"backfill.enumeration.ids_path: the answer has no movieIds.ids"),
    ):
        list(enumeration.pages(None, GatewayAccess(client, lambda _: True)))


def test_no_gateway_no_pages(definition_at):
    """A query enumeration needs the backfill's gateway client."""
    with pytest.raises(ServiceError, match="no gateway client"):
        list(QueryEnumeration.from_definition(definition_at()).pages(None))


@pytest.mark.parametrize(
    ("enumeration", "expected"),
    [
        (
            {"query": "query { movieIds { ids endCursor hasNextPage "},
            ["backfill.enumeration.query:1:46: Syntax Error: Expected Name, found <EOF>."],
        ),
        (
            {"query": "query Ids($first: Int, $after: String) { movieIdz(first: $first, after: $after) { ids } }"},
            [
                "backfill.enumeration.query:1:42: Cannot query field 'movieIdz' on type 'Query'. "
                "Did you mean 'movieIds', 'movie', or 'movies'?"
            ],
        ),
        (
            {
                "query": "query Ids($n: Int) { movieIds(first: $n) { ids endCursor hasNextPage } }",
                "ids_path": "movieIds.id",
            },
            [
                "backfill.enumeration.cursor_variable: the query declares no variable $after (it declares $n)",
                "backfill.enumeration.page_size_variable: the query declares no variable $first (it declares $n)",
                "backfill.enumeration.ids_path: the query does not select movieIds.id",
            ],
        ),
        (
            {"query": 'mutation { deleteMovie(movieId: "m") }'},
            ["backfill.enumeration.query: give exactly one query operation"],
        ),
    ],
)
def test_query_problems_name_the_key_and_location(definition_at, enumeration, expected):
    """Syntax, schema, variable and path problems are ConfigErrors naming the file and the YAML key."""
    definition = definition_at({"backfill": {"enumeration": enumeration}})
    with pytest.raises(ConfigError) as caught:
        QueryEnumeration.from_definition(definition)
    assert [str(problem) for problem in caught.value.problems] == [f"{definition.path}: {text}" for text in expected]


def test_a_definition_without_enumeration_says_what_to_do(definition_at):
    """No backfill.enumeration: the error names the key and the alternatives."""
    definition = definition_at({"backfill": {"enumeration": None}})
    with pytest.raises(ConfigError, match=r"backfill.enumeration: is not set: .*--ids-file or --from-index"):
        QueryEnumeration.from_definition(definition)


def test_ids_file_pages_skip_blanks_and_comments_and_resume_by_line(tmp_path):
    """Blank and ``#`` lines are skipped; the cursor counts lines, so resuming skips whole lines."""
    path = tmp_path / "ids.txt"
    path.write_text("m1\n\n# a comment\n  m2  \nm3\nm4\nm5\n", encoding="utf-8")
    enumeration = IdsFileEnumeration(path, page_size=3)
    assert enumeration.total() == 5
    pages = list(enumeration.pages(None))
    assert [(page.ids, page.next_cursor) for page in pages] == [
        (("m1",), "3"),
        (("m2", "m3", "m4"), "6"),
        (("m5",), None),
    ]
    assert [page.ids for page in enumeration.pages("6")] == [("m5",)]
    assert enumeration.source == f"ids-file {path.resolve()}"


def test_unreadable_ids_file_names_the_option(tmp_path):
    """A missing ids file is a ConfigError naming --ids-file."""
    with pytest.raises(ConfigError, match=r"--ids-file: .*missing.txt: No such file or directory"):
        IdsFileEnumeration(tmp_path / "missing.txt")


def test_id_list_pages_and_cursor():
    """In-memory ids in pages; the cursor is the position of the next page."""
    enumeration = IdListEnumeration(["a", "b", "c", "d", "e"], page_size=2)
    assert [(page.ids, page.next_cursor) for page in enumeration.pages(None)] == [
        (("a", "b"), "2"),
        (("c", "d"), "4"),
        (("e",), None),
    ]
    assert [page.ids for page in enumeration.pages("4")] == [("e",)]
    assert enumeration.total() == 5
