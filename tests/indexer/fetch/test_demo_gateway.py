"""DocumentFetcher against the real demo graph (Apollo gateway over three subgraphs), checked against
the seeded data the subgraphs serve."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from demo.seed import generate
from demo.services import DEFAULT_SEED, DEFAULT_SIZE
from indexer.definition import load_definition
from indexer.fetch import Deleted, DocumentFetcher, Fetched, FetchMetrics

pytestmark = pytest.mark.integration

SELECTION = """{
    movieId title releaseYear genres rating
    production { ptpId status shootingLocations { city country } }
    credits { role character talent { talentId name } }
  }"""
QUERIES = {
    "list": ("ids", f"query MovieDocuments($ids: [ID!]!) {{\n  movies(ids: $ids) {SELECTION}\n}}\n"),
    "alias": ("id", f"query MovieDocuments($id: ID!) {{\n  movie(id: $id) {SELECTION}\n}}\n"),
}


def fetcher_for(
    mode: str,
    gateway_url: str,
    folder: Path,
    *,
    fetch: str = "{batch_size: 7, max_in_flight: 3, rate_limit: 500}",
    registry: CollectorRegistry | None = None,
    **fetcher_options: Any,
) -> DocumentFetcher:
    """A fetcher of the demo movies in ``mode`` (list or alias), with the ``fetch:`` section ``fetch``."""
    variable, query = QUERIES[mode]
    (folder / "movies.graphql").write_text(query, encoding="utf-8")
    (folder / "movies.yaml").write_text(
        f"index: movies\n"
        f"graph: {{url: '{gateway_url}'}}\n"
        f"query_file: movies.graphql\n"
        f"root: {{type: Movie, id_field: movieId, id_variable: {variable}}}\n"
        f"fields: {{credits: {{nested: true}}}}\n"
        f"fetch: {fetch}\n",
        encoding="utf-8",
    )
    definition = load_definition(folder / "movies.yaml", env={})
    metrics = FetchMetrics(registry or CollectorRegistry())
    return DocumentFetcher.for_index(definition.model, definition.config, metrics=metrics, **fetcher_options)


@pytest.fixture(scope="module")
def seeded():
    """The data set the local stack's subgraphs were seeded with."""
    return generate(DEFAULT_SEED, DEFAULT_SIZE)


@pytest.mark.parametrize("mode", ["list", "alias"])
def test_documents_from_the_demo_gateway_match_the_seeded_data(local_stack, seeded, tmp_path, mode):
    """Forty movies across all three subgraphs come back rendered, equal to the source data; unknown ids
    and hostile ids are deletions."""
    ids = [movie.movie_id for movie in seeded.movies[:40]]
    hostile = 'movie-000001") { __typename } #'
    with fetcher_for(mode, local_stack.endpoints.gateway_url, tmp_path) as fetcher:
        outcomes = fetcher.fetch([*ids, "movie-unknown", hostile])
    by_id = {outcome.id: outcome for outcome in outcomes}
    assert isinstance(by_id["movie-unknown"], Deleted)
    assert isinstance(by_id[hostile], Deleted)
    for movie_id in ids:
        outcome = by_id[movie_id]
        assert isinstance(outcome, Fetched), outcome
        movie, document = seeded.movies_by_id[movie_id], outcome.document
        assert (document["movieId"], document["title"], document["releaseYear"]) == (
            movie.movie_id,
            movie.title,
            movie.release_year,
        )
        assert document["genres"] == [genre.value for genre in movie.genres]
        production = seeded.productions_by_id.get(movie.ptp_id) if movie.ptp_id else None
        assert (document["production"] or {}).get("status") == (production.status.value if production else None)
        credits = seeded.credits_of(movie_id)
        assert sorted((c["role"], c["talent"]["name"]) for c in document["credits"]) == sorted(
            (credit.role.value, seeded.talent_by_id[credit.talent_id].name) for credit in credits
        )


def test_list_and_alias_modes_render_the_same_documents(local_stack, seeded, tmp_path):
    """Both batching modes fetch identical documents (apart from the fetch time)."""
    ids = [movie.movie_id for movie in seeded.movies[:15]]
    documents = {}
    for mode in ("list", "alias"):
        folder = tmp_path / mode
        folder.mkdir()
        with fetcher_for(mode, local_stack.endpoints.gateway_url, folder) as fetcher:
            documents[mode] = {
                o.id: {k: v for k, v in o.document.items() if k != "graphdex"} for o in fetcher.fetch(ids)
            }
    assert documents["list"] == documents["alias"]
    assert len(documents["list"]) == 15
