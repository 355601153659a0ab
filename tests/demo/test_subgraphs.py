"""The demo subgraphs: their schemas and resolvers in-process, then as processes behind the gateway, with
the CDC events their mutations produce."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from demo.data import fixtures
from demo.data.records import DemoData, Role
from demo.export_schema import check_snapshot
from demo.seed import generate
from demo.subgraphs.movies import MOVIES_SUBGRAPH
from demo.subgraphs.productions import PRODUCTIONS_SUBGRAPH
from demo.subgraphs.service import SubgraphDefinition, seed_if_empty
from demo.subgraphs.store import CapturedStore
from demo.subgraphs.talent import TALENT_SUBGRAPH
from schema_gen.config import SearchEngine, parse_config
from schema_gen.errors import ServiceError
from tests.conftest import REPO
from tests.demo.conftest import RecordingChangeLog, TopicReader, graphql, start_subgraph

SMALL_SIZE = 30
DEFINITIONS = {"movies": MOVIES_SUBGRAPH, "productions": PRODUCTIONS_SUBGRAPH, "talent": TALENT_SUBGRAPH}
ROOTS = {  # subgraph: (many-by-ids field, one-by-id field, ids page field, id field)
    "movies": ("movies", "movie", "movieIds", "movieId"),
    "productions": ("productions", "production", "productionIds", "ptpId"),
    "talent": ("talents", "talent", "talentIds", "talentId"),
}


class InProcessSubgraph:
    """One subgraph's schema over a seeded store in a temporary folder, executed without a server."""

    def __init__(self, definition: SubgraphDefinition, folder: Path) -> None:
        self.definition = definition
        self.change_log = RecordingChangeLog()
        self.store = CapturedStore(
            folder / f"{definition.name}.db",
            db=definition.name,
            tables=definition.tables,
            ddl=definition.ddl,
            change_log=self.change_log,
        )
        seed_if_empty(definition, self.store, seed=1, size=SMALL_SIZE)
        self.queries: list[str] = []
        query = self.store.query

        def counting_query(sql: str, parameters: Any = ()) -> list[dict[str, Any]]:
            self.queries.append(sql)
            return query(sql, parameters)

        self.store.query = counting_query  # type: ignore[method-assign]

    def execute(self, document: str, variables: dict[str, Any] | None = None) -> Any:
        context = self.definition.context(self.store)
        return asyncio.run(self.definition.schema.execute(document, variable_values=variables, context_value=context))

    def data(self, document: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        result = self.execute(document, variables)
        assert result.errors is None, result.errors
        data: dict[str, Any] = result.data
        return data


@pytest.fixture
def movies(tmp_path: Path) -> InProcessSubgraph:
    return InProcessSubgraph(MOVIES_SUBGRAPH, tmp_path)


@pytest.fixture
def small_data() -> DemoData:
    return generate(1, SMALL_SIZE)


# --- schemas ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(DEFINITIONS))
def test_each_schema_has_its_entity_key_and_root_fields(name: str):
    """Each subgraph declares its entity's @key and the many/one/ids-page root fields."""
    sdl = DEFINITIONS[name].schema.as_str()
    many, one, page, key = ROOTS[name]
    entity = {"movies": "Movie", "productions": "Production", "talent": "Talent"}[name]
    assert f'type {entity} @key(fields: "{key}")' in sdl
    assert f"{many}(ids: [ID!]!): [{entity}]!" in sdl
    assert f"{one}(id: ID!): {entity}" in sdl
    assert f"{page}(first: Int = 1000, after: String = null): IdPage!" in sdl
    assert "type IdPage @shareable" in sdl


def test_movies_reference_productions_and_talent_by_key():
    """Movie.production and Credit.talent are references the other subgraphs resolve."""
    sdl = MOVIES_SUBGRAPH.schema.as_str()
    assert 'type Production @key(fields: "ptpId", resolvable: false)' in sdl
    assert 'type Talent @key(fields: "talentId", resolvable: false)' in sdl
    assert "credits: [Credit!]!" in sdl


# --- resolvers, in-process ----------------------------------------------------------------------


def test_movies_by_ids_keep_request_order_with_nulls(movies: InProcessSubgraph):
    """``movies(ids:)`` answers in request order, null for unknown ids, repeated ids repeated."""
    ids = [fixtures.LEON, "movie-unknown", fixtures.AMELIE, fixtures.LEON]
    data = movies.data("query($ids: [ID!]!) { movies(ids: $ids) { movieId title } }", {"ids": ids})
    assert [movie and movie["movieId"] for movie in data["movies"]] == [
        fixtures.LEON,
        None,
        fixtures.AMELIE,
        fixtures.LEON,
    ]
    assert data["movies"][2]["title"] == "Amélie"


def test_entities_and_credits_are_loaded_in_one_query_each(movies: InProcessSubgraph, small_data: DemoData):
    """Resolving many Movie references with their credits takes one query for movies, one for credits."""
    ids = [movie.movie_id for movie in small_data.movies[:12]]
    representations = [{"__typename": "Movie", "movieId": movie_id} for movie_id in ids]
    data = movies.data(
        "query($r: [_Any!]!) { _entities(representations: $r) { ... on Movie { movieId credits { role } } } }",
        {"r": representations},
    )
    assert [entity["movieId"] for entity in data["_entities"]] == ids
    assert [len(entity["credits"]) for entity in data["_entities"]] == [len(small_data.credits_of(i)) for i in ids]
    assert len(movies.queries) == 2


def test_id_pages_enumerate_every_id_once(movies: InProcessSubgraph, small_data: DemoData):
    """Following ``endCursor`` pages through every movie id in order, ending with hasNextPage false."""
    seen: list[str] = []
    after = None
    while True:
        page = movies.data(
            "query($after: String) { movieIds(first: 7, after: $after) { ids endCursor hasNextPage } }",
            {"after": after},
        )["movieIds"]
        seen += page["ids"]
        after = page["endCursor"]
        if not page["hasNextPage"]:
            break
    assert seen == sorted(movie.movie_id for movie in small_data.movies)


@pytest.mark.parametrize(("arguments", "message"), [('after: "bogus"', "invalid cursor"), ("first: 0", "first must")])
def test_bad_page_arguments_are_client_errors(movies: InProcessSubgraph, arguments: str, message: str):
    """An invalid cursor or page size is an error with code BAD_USER_INPUT."""
    result = movies.execute(f"{{ movieIds({arguments}) {{ ids }} }}")
    assert result.errors is not None
    assert message in result.errors[0].message
    assert result.errors[0].extensions == {"code": "BAD_USER_INPUT"}


def test_create_movie_captures_one_create_event(movies: InProcessSubgraph):
    """createMovie commits one op c on demo.movies.movies, with the DateTime normalised to UTC."""
    data = movies.data(
        'mutation { createMovie(input: {movieId: "movie-new", title: "Nouvelle Vague", genres: [DRAMA],'
        ' releaseDate: "2024-05-01T14:00:00+02:00"}) { movieId releaseDate updatedAt credits { role } } }'
    )
    assert data["createMovie"]["releaseDate"] == "2024-05-01T12:00:00.000Z"
    assert data["createMovie"]["credits"] == []
    (event,) = movies.change_log.events
    assert (event.topic, event.key) == ("demo.movies.movies", {"movieId": "movie-new"})
    assert event.value is not None
    assert event.value["op"] == "c"
    assert event.value["before"] is None
    assert event.value["after"]["genres"] == '["DRAMA"]'
    assert event.value["after"]["updatedAt"] == data["createMovie"]["updatedAt"]


def test_update_movie_captures_before_and_after(movies: InProcessSubgraph):
    """updateMovie changes only the given fields and captures both row images."""
    movies.data(f'mutation {{ updateMovie(movieId: "{fixtures.AMELIE}", input: {{rating: 9.1}}) {{ rating }} }}')
    (event,) = movies.change_log.events
    assert event.value is not None
    assert (event.value["op"], event.value["before"]["rating"], event.value["after"]["rating"]) == ("u", 8.3, 9.1)
    assert event.value["after"]["title"] == "Amélie"


def test_credit_changes_are_captured_on_credits_and_on_the_movie(movies: InProcessSubgraph):
    """Adding then removing a credit gives credit c, movie u, then credit d, tombstone, movie u."""
    arguments = f'movieId: "{fixtures.LEON}", talentId: "{fixtures.GONG_LI}", role: ACTOR'
    data = movies.data(f'mutation {{ addCredit({arguments}, character: "Mei") {{ credits {{ role character }} }} }}')
    assert data["addCredit"]["credits"][-1] == {"role": "ACTOR", "character": "Mei"}
    movies.data(f"mutation {{ removeCredit({arguments}) {{ movieId }} }}")
    summary = [(e.topic.rsplit(".", 1)[1], e.value and e.value["op"]) for e in movies.change_log.events]
    assert summary == [("credits", "c"), ("movies", "u"), ("credits", "d"), ("credits", None), ("movies", "u")]
    credit_key = {"movieId": fixtures.LEON, "talentId": fixtures.GONG_LI, "role": "ACTOR"}
    assert movies.change_log.events[0].key == credit_key


def test_delete_movie_deletes_its_credits_with_tombstones(movies: InProcessSubgraph, small_data: DemoData):
    """deleteMovie captures a delete and a tombstone for each credit and for the movie."""
    count = len(small_data.credits_of(fixtures.AMELIE))
    movies.data(f'mutation {{ deleteMovie(movieId: "{fixtures.AMELIE}") }}')
    ops = [(e.topic, e.value and e.value["op"]) for e in movies.change_log.events]
    assert ops == [("demo.movies.credits", "d"), ("demo.movies.credits", None)] * count + [
        ("demo.movies.movies", "d"),
        ("demo.movies.movies", None),
    ]
    assert movies.data(f'{{ movie(id: "{fixtures.AMELIE}") {{ movieId }} }}') == {"movie": None}


def test_a_mutation_whose_event_is_not_delivered_fails_and_commits_nothing(movies: InProcessSubgraph):
    """When Kafka refuses the CDC event the mutation returns the error and the movie keeps its title."""
    movies.change_log.failure = ServiceError("CDC event demo.movies.movies was not delivered: broker down")
    result = movies.execute(
        f'mutation {{ updateMovie(movieId: "{fixtures.LEON}", input: {{title: "Mathilda"}}) {{ title }} }}'
    )
    assert result.errors is not None
    assert "not delivered" in result.errors[0].message
    assert movies.data(f'{{ movie(id: "{fixtures.LEON}") {{ title }} }}') == {
        "movie": {"title": "Léon: The Professional"}
    }


@pytest.mark.parametrize(
    ("mutation", "code"),
    [
        ('updateMovie(movieId: "movie-unknown", input: {title: "x"}) { movieId }', "NOT_FOUND"),
        (f'updateMovie(movieId: "{fixtures.AMELIE}", input: {{title: null}}) {{ movieId }}', "BAD_USER_INPUT"),
        (f'createMovie(input: {{movieId: "{fixtures.AMELIE}", title: "Twice"}}) {{ movieId }}', "CONFLICT"),
        (
            f'addCredit(movieId: "{fixtures.LEON}", talentId: "{fixtures.JEAN_RENO}", role: ACTOR) {{ movieId }}',
            "CONFLICT",
        ),
    ],
)
def test_refused_mutations_capture_nothing(movies: InProcessSubgraph, mutation: str, code: str):
    """A mutation refused for its input returns an error with a code and emits no event."""
    result = movies.execute(f"mutation {{ {mutation} }}")
    assert result.errors is not None
    assert result.errors[0].extensions == {"code": code}
    assert movies.change_log.events == []


def test_a_date_time_without_time_zone_is_refused(movies: InProcessSubgraph):
    """DateTime input must carry a time zone."""
    result = movies.execute(
        'mutation { createMovie(input: {title: "x", releaseDate: "2024-05-01T12:00:00"}) { movieId } }'
    )
    assert result.errors is not None
    assert "needs a time zone" in result.errors[0].message


def test_production_and_talent_mutations_are_captured(tmp_path: Path):
    """Productions and talent capture create, update and delete (with a tombstone) on their topics."""
    productions = InProcessSubgraph(PRODUCTIONS_SUBGRAPH, tmp_path)
    productions.data(
        'mutation { createProduction(input: {ptpId: "ptp-new", name: "Łódź Nights", status: PHOTOGRAPHY,'
        ' shootingLocations: [{city: "Łódź", country: "Poland"}]}) { ptpId } }'
    )
    data = productions.data(
        'mutation { updateProduction(ptpId: "ptp-new", input: {status: POST}) { status shootingLocations { city } } }'
    )
    assert data["updateProduction"] == {"status": "POST", "shootingLocations": [{"city": "Łódź"}]}
    productions.data('mutation { deleteProduction(ptpId: "ptp-new") }')
    talent = InProcessSubgraph(TALENT_SUBGRAPH, tmp_path)
    talent.data('mutation { createTalent(input: {talentId: "talent-new", name: "Björk", roles: [COMPOSER]}) { name } }')
    talent.data('mutation { updateTalent(talentId: "talent-new", input: {alternateNames: ["Bjork"]}) { name } }')
    talent.data('mutation { deleteTalent(talentId: "talent-new") }')
    for subgraph, topic in ((productions, "demo.productions.productions"), (talent, "demo.talent.talent")):
        assert [(e.topic, e.value and e.value["op"]) for e in subgraph.change_log.events] == [
            (topic, "c"), (topic, "u"), (topic, "d"), (topic, None)
        ]  # fmt: skip


# --- the index definition -----------------------------------------------------------------------


def test_movies_definition_validates_with_environment_defaults():
    """configs/movies.yaml validates with no variable set; the search engine is asked (auto)."""
    path = REPO / "configs" / "movies.yaml"
    config = parse_config(yaml.safe_load(path.read_text(encoding="utf-8")), str(path), {})
    assert config.elasticsearch.engine == SearchEngine.AUTO
    assert (config.root.type, config.root.id_field, config.root.id_variable) == ("Movie", "movieId", "ids")
    assert config.graph.url == "http://127.0.0.1:4000/"
    topics = {source.topic for source in config.events}
    assert topics == {"demo.movies.movies", "demo.movies.credits", "demo.productions.productions", "demo.talent.talent"}


# --- processes ----------------------------------------------------------------------------------


def test_a_database_in_a_missing_folder_stops_the_subgraph_with_a_message(tmp_path: Path):
    """A bad --db exits with status 1 and a one-line error naming the path, not a traceback."""
    command = [sys.executable, "-m", "demo.subgraphs.talent", "--db", str(tmp_path / "no" / "t.db"), "--kafka", "x:1"]
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 1
    assert f"error: talent subgraph: cannot create the talent database {tmp_path / 'no' / 't.db'}" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.integration
@pytest.mark.parametrize("name", list(DEFINITIONS))
def test_each_subgraph_serves_its_seeded_entities(demo_subgraph_urls: dict[str, str], demo_data: DemoData, name: str):
    """Each running subgraph answers health, many-by-ids, one-by-id and the first id page from the seed."""
    url = demo_subgraph_urls[name]
    many, one, page, key = ROOTS[name]
    expected_ids = sorted(
        {
            "movies": demo_data.movies_by_id,
            "productions": demo_data.productions_by_id,
            "talent": demo_data.talent_by_id,
        }[name]
    )
    assert httpx.get(f"{url}/health", timeout=5).json()["status"] == "ok"
    wanted = [expected_ids[3], "unknown", expected_ids[0]]
    body = graphql(f"{url}/graphql", f"query($ids: [ID!]!) {{ {many}(ids: $ids) {{ {key} }} }}", {"ids": wanted})
    assert [item and item[key] for item in body["data"][many]] == [expected_ids[3], None, expected_ids[0]]
    body = graphql(f"{url}/graphql", f'{{ {one}(id: "{expected_ids[1]}") {{ {key} }} {page}(first: 5) {{ ids }} }}')
    assert body["data"][one] == {key: expected_ids[1]}
    assert body["data"][page]["ids"] == expected_ids[:5]


@pytest.mark.integration
def test_a_gateway_query_gathers_data_from_all_three_subgraphs(demo_gateway_url: str, demo_data: DemoData):
    """A movie's production comes from productions and its talent names from talent, through the gateway."""
    query = """query($ids: [ID!]!) { movies(ids: $ids) { movieId title
        production { ptpId status shootingLocations { city } }
        credits { role character talent { talentId name alternateNames } } } }"""
    ids = [fixtures.MAXIMUM_EFFORT, fixtures.SEVEN_SAMURAI, "movie-unknown"]
    body = graphql(demo_gateway_url, query, {"ids": ids})
    assert "errors" not in body
    effort, samurai, unknown = body["data"]["movies"]
    assert unknown is None
    assert effort["production"]["status"] == "PHOTOGRAPHY"
    assert [loc["city"] for loc in effort["production"]["shootingLocations"]] == ["São Paulo", "Kraków"]
    names = {(c["role"], c["talent"]["name"]) for c in effort["credits"]}
    assert ("ACTOR", "Ryan Reynolds") in names
    assert samurai["production"] is None
    assert {c["talent"]["name"] for c in samurai["credits"]} == {"黒澤 明"}
    expected = {
        (c.role.value, demo_data.talent_by_id[c.talent_id].name) for c in demo_data.credits_of(fixtures.MAXIMUM_EFFORT)
    }
    assert names == expected


@pytest.mark.integration
def test_a_gateway_mutation_produces_exactly_one_cdc_event(demo_gateway_url: str, demo_topics: TopicReader):
    """Updating a talent through the gateway writes one Debezium update event keyed by talentId."""
    graphql(demo_gateway_url, 'mutation { createTalent(input: {talentId: "talent-cdc-1", name: "Zoë"}) { talentId } }')
    mark = demo_topics.mark("demo.talent.talent")
    body = graphql(
        demo_gateway_url,
        'mutation { updateTalent(talentId: "talent-cdc-1", input: {agency: "Curtis Brown"}) { agency } }',
    )
    assert body["data"]["updateTalent"] == {"agency": "Curtis Brown"}
    (event,) = demo_topics.since(mark)
    assert event.key == {"talentId": "talent-cdc-1"}
    assert event.value is not None
    assert event.value["op"] == "u"
    assert (event.value["before"]["agency"], event.value["after"]["agency"]) == (None, "Curtis Brown")
    assert event.value["after"]["name"] == "Zoë"
    assert {k: event.value["source"][k] for k in ("connector", "name", "db", "table")} == {
        "connector": "sqlite", "name": "demo", "db": "talent", "table": "talent"
    }  # fmt: skip
    assert event.value["ts_ms"] >= event.value["source"]["ts_ms"] > 0


@pytest.mark.integration
def test_a_gateway_delete_produces_a_delete_event_and_a_tombstone(demo_gateway_url: str, demo_topics: TopicReader):
    """Deleting a production writes its delete event, then a tombstone with the same key."""
    graphql(demo_gateway_url, 'mutation { createProduction(input: {ptpId: "ptp-cdc-1", name: "Gone"}) { ptpId } }')
    mark = demo_topics.mark("demo.productions.productions")
    assert graphql(demo_gateway_url, 'mutation { deleteProduction(ptpId: "ptp-cdc-1") }')["data"] == {
        "deleteProduction": "ptp-cdc-1"
    }
    delete, tombstone = demo_topics.since(mark, at_least=2)
    assert delete.key == tombstone.key == {"ptpId": "ptp-cdc-1"}
    assert delete.value is not None
    assert (delete.value["op"], delete.value["before"]["name"], delete.value["after"]) == ("d", "Gone", None)
    assert tombstone.value is None


@pytest.mark.integration
def test_a_gateway_credit_change_is_captured_on_credits_and_movies(demo_gateway_url: str, demo_topics: TopicReader):
    """Crediting a person emits a credit create and a movie update; the movie shows the credit."""
    graphql(
        demo_gateway_url,
        'mutation { createMovie(input: {movieId: "movie-cdc-1", title: "Kraków Express"}) { movieId } }',
    )
    mark = demo_topics.mark("demo.movies.movies", "demo.movies.credits")
    body = graphql(
        demo_gateway_url,
        f'mutation {{ addCredit(movieId: "movie-cdc-1", talentId: "{fixtures.RYAN_REYNOLDS}", role: DIRECTOR)'
        " { credits { role talent { name } } } }",
    )
    assert body["data"]["addCredit"]["credits"] == [{"role": "DIRECTOR", "talent": {"name": "Ryan Reynolds"}}]
    events = demo_topics.since(mark, at_least=2)
    assert sorted((e.topic, e.value and e.value["op"]) for e in events) == [
        ("demo.movies.credits", "c"),
        ("demo.movies.movies", "u"),
    ]


@pytest.mark.integration
def test_a_snapshot_emits_every_row_and_sigterm_exits_cleanly(
    demo_kafka: str, demo_topics: TopicReader, demo_log_dir: Path, tmp_path: Path
):
    """``--snapshot`` emits op r for every seeded talent, the last marked; SIGINT then exits with 0."""
    expected = generate(5, 10).talent
    mark = demo_topics.mark("demo.talent.talent")
    db = tmp_path / "talent.db"
    server, _url = start_subgraph(
        "talent", db=db, kafka=demo_kafka, demo_log_dir=demo_log_dir, size=10, seed=5, extra=["--snapshot"]
    )
    assert server.stop(signum=signal.SIGINT) == 0
    events = demo_topics.since(mark, at_least=len(expected))
    assert [e.key["talentId"] for e in events] == sorted(person.talent_id for person in expected)
    assert {e.value["op"] for e in events if e.value} == {"r"}
    assert events[-1].value is not None
    assert events[-1].value["source"]["snapshot"] == "last"


@pytest.mark.integration
def test_the_committed_schema_snapshot_matches_the_live_gateway(demo_gateway_url: str):
    """configs/movies.schema.graphql is what demo.export_schema exports from the running gateway."""
    check_snapshot(demo_gateway_url, REPO / "configs" / "movies.schema.graphql")


@pytest.mark.integration
def test_ryan_reynolds_directs_a_movie_he_does_not_act_in(demo_gateway_url: str, demo_data: DemoData):
    """Through the gateway, Quiet Harbor credits Ryan Reynolds as director and not as actor."""
    body = graphql(
        demo_gateway_url, f'{{ movie(id: "{fixtures.QUIET_HARBOR}") {{ credits {{ role talent {{ name }} }} }} }}'
    )
    roles = {c["role"] for c in body["data"]["movie"]["credits"] if c["talent"]["name"] == "Ryan Reynolds"}
    assert roles == {Role.DIRECTOR.value}
    assert fixtures.QUIET_HARBOR in demo_data.movie_ids_with(fixtures.RYAN_REYNOLDS, Role.DIRECTOR)
