"""``graphdex search``: errors pointing into the filter (exit 2, no traceback), tables, JSON and cursors."""

from __future__ import annotations

import json

import pytest

from cli.app import main
from schema_gen.catalogue import field_catalogue
from tests.indexer.search.conftest import DEFINITION, movie_definition, movie_index

__all__ = ["movie_definition", "movie_index"]  # fixtures shared with the search library tests
from tests.indexer.search.movie_index import CATALOGUE


@pytest.fixture
def catalogue_file(tmp_path):
    """The hand-written Movie catalogue as a .fields.json file."""
    path = tmp_path / "movies.fields.json"
    path.write_text(json.dumps(CATALOGUE), encoding="utf-8")
    return path


def run(capsys, *args: str) -> tuple[int, str, str]:
    """Run ``graphdex search ...``; the exit code, stdout and stderr."""
    try:
        main(["search", *args])
        code = 0
    except SystemExit as exit_:
        code = int(exit_.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def test_syntax_error_points_into_the_filter(capsys, catalogue_file):
    """A filter that does not parse exits 2 with the line, column and a caret, without a traceback."""
    code, _, err = run(capsys, str(DEFINITION), "--catalogue", str(catalogue_file), "--filter", "releaseYear >= ")
    assert code == 2
    assert "error: invalid filter: filter:1:16: the filter ends too early" in err
    assert "    releaseYear >= \n                   ^" in err
    assert "Traceback" not in err


def test_validation_errors_are_listed_with_carets(capsys, catalogue_file):
    """Unknown fields and bad literals are all listed, numbered, each under its caret, exit 2."""
    filter_text = 'titel == "x" and genres == "ACTON"'
    code, _, err = run(capsys, str(DEFINITION), "--catalogue", str(catalogue_file), "-f", filter_text)
    assert code == 2
    assert "invalid search request (2 problems):" in err
    assert "1. filter:1:1: unknown field titel (did you mean title?)" in err
    assert "2. filter:1:28:" in err
    assert "valid values: ACTION, COMEDY" in err


def test_bad_sort_and_page_size(capsys, catalogue_file):
    """Sort and page-size problems are reported before any server is contacted."""
    code, _, err = run(
        capsys, str(DEFINITION), "--catalogue", str(catalogue_file), "--sort", "-ratng", "--first", "1000"
    )
    assert code == 2
    assert "first: 1000 is above the page size limit of 100" in err
    assert "sort: -ratng: unknown field ratng (did you mean rating?)" in err


def test_missing_catalogue_file(capsys, tmp_path):
    """A catalogue file that does not exist is named in the error."""
    code, _, err = run(capsys, str(DEFINITION), "--catalogue", str(tmp_path / "none.fields.json"))
    assert code == 1
    assert "cannot read field catalogue" in err


def test_missing_definition(capsys, tmp_path):
    """A definition that does not exist is named in the error, exit 2."""
    code, _, err = run(capsys, str(tmp_path / "nope.yaml"), "text")
    assert code == 2
    assert "nope.yaml" in err


def test_unreachable_server(capsys, catalogue_file):
    """A search server that refuses connections is reported in one line, exit 1."""
    code, _, err = run(
        capsys, str(DEFINITION), "--catalogue", str(catalogue_file), "--es-url", "http://127.0.0.1:9", "x"
    )
    assert code == 1
    assert "error: cannot reach the search server" in err
    assert "Traceback" not in err


@pytest.mark.integration
def test_table_with_facets_and_next_page(capsys, search_server, movie_index):
    """The default output is a table of hits, one table per facet, and the next page's cursor."""
    code, out, err = run(
        capsys,
        str(DEFINITION),
        "--es-url",
        search_server,
        "--index",
        movie_index,
        "ryan",
        "--facet",
        "credits.role",
        "--sort",
        "-releaseYear",
        "--first",
        "2",
    )
    assert (code, err) == (0, "")
    assert "3 documents (exact)" in out
    assert out.index("m-directed") < out.index("m-deadpool")
    assert "m-released" not in out
    assert "facet credits.role" in out
    assert "next page: --after " in out


@pytest.mark.integration
def test_json_and_cursor_pages(capsys, monkeypatch, tmp_path, search_server, movie_index, movie_definition):
    """``--json`` prints the result; ``--after`` with its cursor gives the following page."""
    catalogue_path = tmp_path / "movies.fields.json"
    generated = field_catalogue(movie_definition.model, movie_definition.config)
    catalogue_path.write_text(json.dumps(generated), encoding="utf-8")
    monkeypatch.setenv("SEARCH_URL", search_server)
    common = [str(DEFINITION), "--catalogue", str(catalogue_path), "--index", movie_index, "--json"]
    common += ["--filter", 'credits.any(talent.name == "Ryan Reynolds")', "--sort", "title", "--first", "2"]
    code, out, _ = run(capsys, *common, "--field", "title")
    assert code == 0
    first = json.loads(out)
    assert first["total"] == {"value": 3, "exact": True}
    assert [hit["document"]["title"] for hit in first["hits"]] == ["Deadpool & Wolverine", "Free Guy"]
    code, out, _ = run(capsys, *common, "--field", "title", "--after", first["next_cursor"])
    second = json.loads(out)
    assert [hit["id"] for hit in second["hits"]] == ["m-directed"]
    assert second["next_cursor"] is None


@pytest.mark.integration
def test_highlights_in_the_table(capsys, monkeypatch, search_server, movie_index):
    """``--highlight`` adds a column with the matching fragments."""
    monkeypatch.setenv("COLUMNS", "200")
    code, out, _ = run(
        capsys, str(DEFINITION), "--es-url", search_server, "--index", movie_index, "wolverine", "--highlight"
    )
    assert code == 0
    assert "matches" in out
    assert "title: Deadpool & Wolverine" in out
