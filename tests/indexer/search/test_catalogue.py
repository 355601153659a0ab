"""Reading the field catalogue: the hand-written fixture, the generated one, and invalid files."""

from __future__ import annotations

import json

import pytest

from indexer.search import load_catalogue, parse_catalogue
from indexer.search.client import definition_catalogue
from schema_gen.errors import ArtifactError
from tests.indexer.search.movie_index import CATALOGUE


def test_fields_nested_chains_and_text_fields(catalogue):
    """Entries are found by path, nested chains include the list itself, full-text fields are listed."""
    assert catalogue.field("credits.talent.name").nested_path == "credits"
    assert catalogue.field("nope") is None
    assert catalogue.nested_chain("credits.talent.name") == ["credits"]
    assert catalogue.nested_chain("credits") == ["credits"]
    assert catalogue.nested_chain("production.status") == []
    assert [entry.path for entry in catalogue.autocomplete_fields()] == ["title", "credits.talent.name"]
    assert "credits.character" in [entry.path for entry in catalogue.fulltext_fields()]


def test_query_paths_of_text_and_keyword_fields(catalogue):
    """Text fields match exact values on their keyword sub-field and fold case on the lowercase one."""
    title = catalogue.field("title")
    assert (title.term_path, title.folded_path) == ("title.keyword", "title.lowercase")
    movie_id = catalogue.field("movieId")
    assert (movie_id.term_path, movie_id.folded_path) == ("movieId", "movieId")


def test_private_and_excluded_paths(catalogue):
    """graphdex's metadata and underscore names are private; excluded paths are remembered."""
    assert catalogue.is_private("graphdex.fetched_at")
    assert catalogue.is_private("credits._hidden")
    assert not catalogue.is_private("__typename")
    excluded = catalogue.with_excluded(["secret"])
    assert excluded.is_excluded("secret.inner")
    assert not excluded.is_excluded("secretive")


def test_unknown_keys_are_ignored():
    """The generator may add keys; readers ignore them."""
    data = {**CATALOGUE, "new_key": 1, "fields": [{**CATALOGUE["fields"][0], "future": True}]}
    assert parse_catalogue(data, "x").fields[0].path == "movieId"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"format": 2}, "catalogue format 2 is not supported"),
        ({"fields": [{"path": "x", "index_type": "vector"}]}, "x.fields.json: fields[0].index_type"),
        ({"id_field": None}, "x.fields.json: id_field"),
        ({"fields": [{"path": "x", "index_type": "keyword", "nested_path": "nope"}]}, "is not one of nested_paths"),
    ],
)
def test_invalid_catalogues_name_the_file_and_key(change, message):
    """A catalogue that does not fit format 1 is an ArtifactError naming the file and the key."""
    with pytest.raises(ArtifactError, match=message.replace("[", r"\[").replace("]", r"\]")):
        parse_catalogue({**CATALOGUE, **change}, "x.fields.json")


def test_catalogue_is_an_object():
    """A JSON array is not a catalogue."""
    with pytest.raises(ArtifactError, match="a field catalogue is a JSON object"):
        parse_catalogue([], "x.fields.json")


def test_load_catalogue_from_file(tmp_path):
    """A catalogue file loads; a missing or malformed one names the file (and line and column)."""
    good = tmp_path / "movies.fields.json"
    good.write_text(json.dumps(CATALOGUE), encoding="utf-8")
    assert load_catalogue(good).index == "movies"
    with pytest.raises(ArtifactError, match="cannot read field catalogue"):
        load_catalogue(tmp_path / "missing.fields.json")
    bad = tmp_path / "bad.fields.json"
    bad.write_text('{"index": "movies",\n  oops}', encoding="utf-8")
    with pytest.raises(ArtifactError, match=r"bad.fields.json:2:3: not valid JSON"):
        load_catalogue(bad)


def test_generated_catalogue_is_read(movie_definition):
    """The generator's catalogue of the test definition reads with the same paths the fixture uses."""
    generated = definition_catalogue(movie_definition)
    assert generated.nested_paths == ("credits",)
    assert generated.is_excluded("budget")
    hand_written = parse_catalogue(CATALOGUE, "fixture")
    assert set(generated.paths()) == set(hand_written.paths()) - {"budget"}
    for path in generated.paths():
        mine, theirs = hand_written.field(path), generated.field(path)
        assert (mine.nested_path, mine.fulltext, mine.autocomplete_path) == (
            theirs.nested_path,
            theirs.fulltext and path != "production.locations.country",
            theirs.autocomplete_path,
        ), path
