"""The generated index template on a real search server (OpenSearch): accepted, strict, searchable."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from indexer.definition import load_definition
from indexer.search_store import BulkAction, SearchStore
from schema_gen.config import IndexConfig
from schema_gen.index_template import index_template
from schema_gen.model import DocumentModel
from schema_gen.render import DocumentRenderer, RenderedDocument
from tests.schema_gen.generator_models import make_config, movie_entity, movie_model
from tests.schema_gen.real_definitions import GITHUB_RESPONSE, SWAPI_RESPONSE, github_definition, swapi_definition

pytestmark = pytest.mark.integration


class TemplateIndex:
    """An index created from a generated template, removed (with its template) afterwards."""

    def __init__(self, store: SearchStore, name: str, model: DocumentModel, config: IndexConfig) -> None:
        self.store = store
        self.name = name
        self.index = f"{name}-1"
        store.put_index_template(name, index_template(model, config))
        store.create_index(self.index)

    def load(self, documents: list[RenderedDocument]) -> None:
        actions = [BulkAction("index", self.index, document.id, document.source) for document in documents]
        results = self.store.bulk(actions, refresh=True)
        assert [result for result in results if not result.succeeded] == []

    def ids(self, query: dict[str, Any]) -> list[str]:
        hits = self.store.search(self.index, {"query": query, "sort": ["_doc"]})["hits"]["hits"]
        return sorted(hit["_id"] for hit in hits)

    def mappings(self) -> dict[str, Any]:
        return self.store.get_indices(self.index)[self.index].mappings

    def remove(self) -> None:
        self.store.delete_index(self.index)
        self.store.delete_index_template(self.name)


def _movie_config(name: str) -> IndexConfig:
    return make_config(index=name, fields={"title": {"search": ["fulltext", "autocomplete"]}})


@pytest.fixture
def movies(search_store: SearchStore, unique_name: str) -> Iterator[TemplateIndex]:
    model, config = movie_model(_movie_config(unique_name))
    index = TemplateIndex(search_store, unique_name, model, config)
    renderer = DocumentRenderer(model, config)
    second = movie_entity(
        movieId="m2",
        title="Delicatessen",
        status="ANNOUNCED",
        releasedAt="1991-04-17T00:00:00Z",
        talent=[
            {"talentId": "t3", "name": "Audrey Tautou", "role": "DIRECTOR", "person": None},
            {"talentId": "t4", "name": "Dominique Pinon", "role": "ACTOR", "person": None},
        ],
    )
    index.load(renderer.render_response({"data": {"movies": [movie_entity(), second]}}))
    yield index
    index.remove()


def test_template_creates_an_index_with_its_settings(movies):
    """The index created from the template carries the strict mapping and the shipped analysis."""
    settings = movies.store.get_indices(movies.index)[movies.index].settings
    analyzers = {key.split(".")[3] for key in settings if key.startswith("index.analysis.analyzer.")}
    assert analyzers >= {"folding", "autocomplete", "autocomplete_search"}
    mapping = movies.mappings()
    assert mapping["dynamic"] == "strict"
    assert mapping["properties"]["talent"]["type"] == "nested"


def test_full_text_is_accent_and_case_folded(movies):
    """``amelie`` finds ``Amélie``; exact matches go through the keyword and lowercase sub-fields."""
    assert movies.ids({"match": {"title": "amelie"}}) == ["m1"]
    assert movies.ids({"term": {"title.keyword": "Amélie"}}) == ["m1"]
    assert movies.ids({"term": {"title.keyword": "amélie"}}) == []
    assert movies.ids({"term": {"title.lowercase": "AMELIE"}}) == ["m1"]


def test_keyword_and_autocomplete_queries(movies):
    """Enums are terms (including values unknown at generation time) and titles autocomplete."""
    assert movies.ids({"term": {"status": "ANNOUNCED"}}) == ["m2"]
    assert movies.ids({"terms": {"status": ["RELEASED", "ANNOUNCED"]}}) == ["m1", "m2"]
    assert movies.ids({"match": {"title.autocomplete": "deli"}}) == ["m2"]


def test_nested_queries_match_within_one_element(movies):
    """A nested query matches name and role on the same talent element only."""

    def talent(name: str, role: str) -> dict[str, Any]:
        must = [{"match": {"talent.name": name}}, {"term": {"talent.role": role}}]
        return {"nested": {"path": "talent", "query": {"bool": {"must": must}}}}

    assert movies.ids(talent("audrey", "ACTOR")) == ["m1"]
    assert movies.ids(talent("audrey", "DIRECTOR")) == ["m2"]
    assert movies.ids(talent("pinon", "DIRECTOR")) == []


def test_rendered_dates_are_dates(movies):
    """Epoch milliseconds from DateTime and ISO Date strings index into the template's date fields."""
    assert movies.ids({"range": {"releasedAt": {"gte": "2000-01-01"}}}) == ["m1"]
    assert movies.ids({"range": {"releaseDate": {"lt": "2002-01-01"}}}) == ["m1", "m2"]
    assert movies.ids({"range": {"graphdex.fetched_at": {"gte": "now-1d"}}}) == ["m1", "m2"]


def test_strict_mapping_rejects_unknown_fields(movies):
    """A field the template does not know is refused, not silently mapped."""
    (refused,) = movies.store.bulk([BulkAction("index", movies.index, "x", {"movieId": "x", "notInTheModel": 1})])
    assert (refused.status, refused.error_type) == (400, "strict_dynamic_mapping_exception")


@pytest.mark.parametrize(
    ("write_definition", "response", "query", "expected"),
    [
        (swapi_definition, SWAPI_RESPONSE, {"match": {"title": "hope"}}, ["ZmlsbXM6MQ=="]),
        (github_definition, GITHUB_RESPONSE, {"match": {"nameWithOwner": "cafe"}}, ["R_kgDOA"]),
    ],
    ids=["swapi", "github"],
)
def test_real_schema_templates_index_their_documents(
    search_store, unique_name, tmp_path: Path, write_definition, response, query, expected
):
    """Definitions over the SWAPI and GitHub schemas generate a template that indexes rendered responses."""
    definition = load_definition(write_definition(tmp_path))
    config = definition.config.model_copy(update={"index": unique_name})
    model = replace(definition.model, index=unique_name)
    index = TemplateIndex(search_store, unique_name, model, config)
    try:
        mapping = index.mappings()
        assert mapping["dynamic"] == "strict"
        index.load(DocumentRenderer(model, config).render_response(response))
        assert index.ids(query) == expected
    finally:
        index.remove()
