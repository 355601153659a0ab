"""The daemon end to end on the local stack: changes made through the gateway reach the index."""

from __future__ import annotations

import json

import pytest
from confluent_kafka import Producer

from demo.data.fixtures import LEON, RYAN_REYNOLDS, movie_id, talent_id
from demo.seed import generate
from demo.services import DEFAULT_SEED, DEFAULT_SIZE
from indexer.messages import document_headers
from tests.indexer.daemon.conftest import RunningIndex, eventually

pytestmark = pytest.mark.e2e
SEED = generate(DEFAULT_SEED, DEFAULT_SIZE)


def titles_matching(index: RunningIndex, text: str) -> set[str]:
    hits = index.store.search(index.name, {"query": {"match": {"title": text}}, "size": 50})["hits"]["hits"]
    return {hit["_id"] for hit in hits}


def test_updated_title_is_searchable_within_seconds(running_index: RunningIndex) -> None:
    """Updating a movie's title through the gateway makes it searchable by the new title within 5 s."""
    running_index.graphql(
        'mutation($id: ID!) { updateMovie(movieId: $id, input: {title: "Léon: Zebrafish Protocol"}) { movieId } }',
        id=LEON,
    )
    assert eventually(lambda: titles_matching(running_index, "zebrafish"), timeout=5) == {LEON}


def test_production_status_change_updates_its_movies(running_index: RunningIndex) -> None:
    """Changing a production's status re-fetches every movie of that production (a reverse lookup)."""
    production = sorted(SEED.productions_by_id)[3]
    movies = {m.movie_id for m in SEED.movies if m.ptp_id == production}
    running_index.graphql(
        "mutation($id: ID!) { updateProduction(ptpId: $id, input: {status: POST}) { ptpId } }", id=production
    )

    def all_updated() -> bool:
        return all((running_index.document(m) or {}).get("production", {}).get("status") == "POST" for m in movies)

    assert movies
    eventually(all_updated, timeout=10)


def test_renamed_talent_updates_every_movie_crediting_them(running_index: RunningIndex) -> None:
    """Renaming a talent reaches every movie that credits them, through the nested credits path."""
    person = talent_id(4)
    movies = SEED.movie_ids_with(person)
    running_index.graphql(
        'mutation($id: ID!) { updateTalent(talentId: $id, input: {name: "Quetzalcoatl Marmalade"}) { talentId } }',
        id=person,
    )

    def renamed() -> bool:
        for movie in movies:
            credits = (running_index.document(movie) or {}).get("credits") or []
            names = {
                (c.get("talent") or {}).get("name")
                for c in credits
                if (c.get("talent") or {}).get("talentId") == person
            }
            if names != {"Quetzalcoatl Marmalade"}:
                return False
        return True

    assert movies
    eventually(renamed, timeout=15)


def test_deleted_movie_is_removed(running_index: RunningIndex) -> None:
    """Deleting a movie removes its document (a tombstone through the pipeline)."""
    doomed = movie_id(12)
    assert running_index.document(doomed) is not None
    running_index.graphql("mutation($id: ID!) { deleteMovie(movieId: $id) }", id=doomed)
    eventually(lambda: running_index.document(doomed) is None, timeout=10)


def test_deleted_talent_refetches_their_movies(running_index: RunningIndex) -> None:
    """Deleting a talent re-fetches the movies that embedded them, which no longer show the person."""
    person = talent_id(6)
    movies = SEED.movie_ids_with(person) - {movie_id(12)}
    running_index.graphql("mutation($id: ID!) { deleteTalent(talentId: $id) }", id=person)

    def gone() -> bool:
        for movie in movies:
            credits = (running_index.document(movie) or {}).get("credits") or []
            if any((c.get("talent") or {}).get("talentId") == person for c in credits):
                return False
        return True

    assert movies
    eventually(gone, timeout=15)


def test_older_document_is_rejected_by_versioning(running_index: RunningIndex) -> None:
    """A document with an older version than the indexed one is a noop; the newer one stays."""
    current = running_index.store.mget(running_index.name, [movie_id(15)])[movie_id(15)]
    assert current.version is not None
    codec = running_index.daemon_codec()
    stale = dict(current.source, title="Stale Title From The Past")
    producer = Producer({"bootstrap.servers": running_index.definition.config.kafka.bootstrap_servers})
    producer.produce(
        running_index.topics.documents,
        key=movie_id(15).encode(),
        value=codec.encode(stale),
        headers=list(document_headers(current.version - 1, None)),
    )
    producer.flush(10)
    eventually(
        lambda: (
            running_index.metrics.value("graphdex_documents_total", {"index": running_index.name, "outcome": "noop"})
            >= 1
        )
    )
    assert running_index.document(movie_id(15))["title"] == current.source["title"]


def test_poison_event_is_dead_lettered_and_the_rest_keep_flowing(running_index: RunningIndex) -> None:
    """A malformed event goes to the dead-letter topic with its bytes; the next event is still indexed."""
    topic = f"{running_index.name}.events"
    producer = Producer({"bootstrap.servers": running_index.definition.config.kafka.bootstrap_servers})
    producer.produce(topic, key=b"poison", value=b"{this is not json")
    producer.produce(topic, key=b"ok", value=json.dumps({"movieId": movie_id(20)}).encode())
    producer.flush(10)
    letters = eventually(lambda: running_index.dead_letters(), timeout=10)
    poison = [letter for letter in letters if letter.original_value() == b"{this is not json"]
    assert [(letter.stage, letter.reason) for letter in poison] == [("route", "bad_json")]
    eventually(
        lambda: (
            running_index.metrics.value("graphdex_events_consumed_total", {"index": running_index.name, "topic": topic})
            >= 2
        )
    )


def test_ryan_reynolds_fixture_is_indexed(running_index: RunningIndex) -> None:
    """The seeded fixtures are in the index: Ryan Reynolds is credited on his movies."""
    some = sorted(SEED.movie_ids_with(RYAN_REYNOLDS))[0]
    credits = running_index.document(some)["credits"]
    assert RYAN_REYNOLDS in {(c.get("talent") or {}).get("talentId") for c in credits}
