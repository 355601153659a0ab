"""Filter -> Elasticsearch query: the body for every operator and type, nested grouping, and every
validation error with its position in the filter string."""

from __future__ import annotations

import pytest

from indexer.search import Any, Catalogue, F, Not, parse_filter
from indexer.search.filter_compiler import FilterCompiler
from indexer.search.limits import SearchLimits
from schema_gen.errors import FilterSyntaxError, SearchError


def compile_filter(catalogue: Catalogue, source: str, limits: SearchLimits | None = None) -> dict:
    return FilterCompiler(catalogue, limits or SearchLimits()).compile(parse_filter(source), source)


def nested(path: str, query: dict) -> dict:
    return {"nested": {"path": path, "query": query}}


def must_not(query: dict) -> dict:
    return {"bool": {"must_not": [query]}}


MISSING_YEAR = must_not({"exists": {"field": "releaseYear"}})


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        # text: case- and accent-insensitive on the lowercase sub-field
        ('title == "Amélie"', {"term": {"title.lowercase": "amélie"}}),
        ('title != "Up"', must_not({"term": {"title.lowercase": "up"}})),
        ('title in ["Up", "Heat"]', {"terms": {"title.lowercase": ["up", "heat"]}}),
        ('title not in ["Up"]', must_not({"term": {"title.lowercase": "up"}})),
        ('title startswith "Dead"', {"prefix": {"title.lowercase": {"value": "dead", "case_insensitive": True}}}),
        (
            'title contains "p*o?l"',
            {"wildcard": {"title.lowercase": {"value": "*p\\*o\\?l*", "case_insensitive": True}}},
        ),
        ("title exists", {"exists": {"field": "title"}}),
        # keyword (ID): exact, integers accepted for IDs
        ('movieId == "m-1"', {"term": {"movieId": "m-1"}}),
        ("movieId == 42", {"term": {"movieId": "42"}}),
        ('movieId startswith "m-"', {"prefix": {"movieId": {"value": "m-", "case_insensitive": True}}}),
        # keyword string list without a lowercase sub-field: exact
        ('production.locations.country in ["FR", "DE"]', {"terms": {"production.locations.country": ["FR", "DE"]}}),
        # enum
        ('genres == "DRAMA"', {"term": {"genres": "DRAMA"}}),
        ('genres in ["DRAMA", "COMEDY", "DRAMA"]', {"terms": {"genres": ["DRAMA", "COMEDY"]}}),
        ('genres not in ["DRAMA"]', must_not({"term": {"genres": "DRAMA"}})),
        ('production.status != "RELEASED"', must_not({"term": {"production.status": "RELEASED"}})),
        # numbers
        ("releaseYear == 2015", {"term": {"releaseYear": 2015}}),
        ("releaseYear >= 2015", {"range": {"releaseYear": {"gte": 2015}}}),
        ("releaseYear > 2015", {"range": {"releaseYear": {"gt": 2015}}}),
        ("releaseYear <= 2015", {"range": {"releaseYear": {"lte": 2015}}}),
        ("releaseYear < 2015", {"range": {"releaseYear": {"lt": 2015}}}),
        ("releaseYear in [1999, 2005]", {"terms": {"releaseYear": [1999, 2005]}}),
        ("rating > 7.5", {"range": {"rating": {"gt": 7.5}}}),
        ("rating == 7", {"term": {"rating": 7}}),
        # booleans
        ("inTheaters == true", {"term": {"inTheaters": True}}),
        ("inTheaters != false", must_not({"term": {"inTheaters": False}})),
        # dates: a date alone is the whole day, datetimes are instants (naive = UTC)
        ("releaseDate == 2020-01-31", {"range": {"releaseDate": {"gte": "2020-01-31", "lt": "2020-02-01"}}}),
        ("releaseDate < 2020-01-31", {"range": {"releaseDate": {"lt": "2020-01-31"}}}),
        ("releaseDate <= 2020-01-31", {"range": {"releaseDate": {"lt": "2020-02-01"}}}),
        ("releaseDate > 2020-01-31", {"range": {"releaseDate": {"gte": "2020-02-01"}}}),
        ("releaseDate >= 2020-01-31", {"range": {"releaseDate": {"gte": "2020-01-31"}}}),
        ('releaseDate >= "2020-01-31T10:00:00Z"', {"range": {"releaseDate": {"gte": "2020-01-31T10:00:00+00:00"}}}),
        ("releaseDate < 2020-01-31T10:00:00", {"range": {"releaseDate": {"lt": "2020-01-31T10:00:00+00:00"}}}),
        (
            'releaseDate == "2020-01-31T10:00:00+02:00"',
            {"range": {"releaseDate": {"gte": "2020-01-31T10:00:00+02:00", "lte": "2020-01-31T10:00:00+02:00"}}},
        ),
        (
            "releaseDate in [2020-01-31, 2021-05-01]",
            {
                "bool": {
                    "should": [
                        {"range": {"releaseDate": {"gte": "2020-01-31", "lt": "2020-02-01"}}},
                        {"range": {"releaseDate": {"gte": "2021-05-01", "lt": "2021-05-02"}}},
                    ],
                    "minimum_should_match": 1,
                }
            },
        ),
        # null
        ("releaseYear == null", MISSING_YEAR),
        ("releaseYear != null", {"exists": {"field": "releaseYear"}}),
        (
            "releaseYear in [2015, null]",
            {"bool": {"should": [{"term": {"releaseYear": 2015}}, MISSING_YEAR], "minimum_should_match": 1}},
        ),
        ("releaseYear in []", {"match_none": {}}),
        ("releaseYear not in []", must_not({"match_none": {}})),
        # objects and nested lists
        ("exists(production)", {"exists": {"field": "production"}}),
        ("credits exists", nested("credits", {"match_all": {}})),
        ('credits.role == "ACTOR"', nested("credits", {"term": {"credits.role": "ACTOR"}})),
        ("credits.character exists", nested("credits", {"exists": {"field": "credits.character"}})),
        (
            'credits.talent.name == "Ryan Reynolds"',
            nested("credits", {"term": {"credits.talent.name.lowercase": "ryan reynolds"}}),
        ),
    ],
)
def test_operator_bodies(catalogue, source, expected):
    """Each operator on each type compiles to the query that means it."""
    assert compile_filter(catalogue, source) == expected


def test_any_puts_all_conditions_in_one_nested_query(catalogue):
    """Conditions inside any() must hold for the same element: one nested query around all of them."""
    query = compile_filter(catalogue, 'credits.any(talent.name == "Ryan Reynolds" and role == "ACTOR")')
    assert query == nested(
        "credits",
        {
            "bool": {
                "filter": [
                    {"term": {"credits.talent.name.lowercase": "ryan reynolds"}},
                    {"term": {"credits.role": "ACTOR"}},
                ]
            }
        },
    )


def test_top_level_conditions_on_a_nested_list_are_separate_nested_queries(catalogue):
    """Two top-level conditions on credits may be met by different credits: one nested query each."""
    query = compile_filter(catalogue, 'credits.talent.name == "Ryan Reynolds" and credits.role == "ACTOR"')
    assert query == {
        "bool": {
            "filter": [
                nested("credits", {"term": {"credits.talent.name.lowercase": "ryan reynolds"}}),
                nested("credits", {"term": {"credits.role": "ACTOR"}}),
            ]
        }
    }


def test_not_wraps_the_whole_nested_condition(catalogue):
    """``not credits.role == X`` means no credit is X: must_not around the nested query."""
    assert compile_filter(catalogue, 'not credits.role == "ACTOR"') == must_not(
        nested("credits", {"term": {"credits.role": "ACTOR"}})
    )


def test_or_and_not_compose(catalogue):
    """``or`` is a should with minimum one, ``and`` a filter list, ``not`` a must_not."""
    query = compile_filter(catalogue, "releaseYear == 1 or not (rating > 2 and inTheaters == true)")
    assert query == {
        "bool": {
            "should": [
                {"term": {"releaseYear": 1}},
                must_not({"bool": {"filter": [{"range": {"rating": {"gt": 2}}}, {"term": {"inTheaters": True}}]}}),
            ],
            "minimum_should_match": 1,
        }
    }


def test_structured_api_compiles_to_the_same_query(catalogue):
    """F/Any/Not build the tree the string builds, so the bodies are equal."""
    source = 'production.status == "PHOTOGRAPHY" and credits.any(role == "ACTOR") and not releaseYear < 2015'
    status, actor = F("production.status") == "PHOTOGRAPHY", Any("credits", F("role") == "ACTOR")
    built = status & actor & Not(F("releaseYear") < 2015)
    compiler = FilterCompiler(catalogue, SearchLimits())
    assert compiler.compile(built) == compile_filter(catalogue, source)


@pytest.mark.parametrize(
    ("source", "where", "message"),
    [
        ('titel == "x"', "filter:1:1", "unknown field titel (did you mean title?)"),
        ('credits.any(rol == "ACTOR")', "filter:1:13", "unknown field rol (did you mean role?)"),
        (
            'credits.any(credits.role == "ACTOR")',
            "filter:1:13",
            "paths inside credits.any(...) are relative to credits: write role",
        ),
        ("nothing == 1", "filter:1:1", "unknown field nothing"),
        ("inTheaters < true", "filter:1:12", "operator < is not valid for inTheaters (boolean)"),
        ('genres contains "DR"', "filter:1:8", "operator contains is not valid for genres (enum)"),
        ('title > "a"', "filter:1:7", "operator > is not valid for title (text)"),
        ('releaseYear startswith "19"', "filter:1:13", "operator startswith is not valid for releaseYear (integer)"),
        ('releaseYear == "2015"', "filter:1:16", 'releaseYear is a number field (integer); "2015" is not a number'),
        ("releaseYear == 2015.5", "filter:1:16", "holds whole numbers (integer); 2015.5 is not one"),
        ("releaseYear == 99999999999", "filter:1:16", "out of range for releaseYear"),
        ("rating > true", "filter:1:10", "true is not a number"),
        (
            'production.status == "FILMING"',
            "filter:1:22",
            '"FILMING" is not a value of ProductionStatus production.status; valid values: DEVELOPMENT, '
            "PREPRODUCTION, PHOTOGRAPHY, POSTPRODUCTION, RELEASED",
        ),
        ('genres in ["DRAMA", "ACTON"]', "filter:1:21", "(did you mean ACTION?)"),
        ('inTheaters == "yes"', "filter:1:15", "inTheaters is a boolean field; compare it with true or false"),
        ('releaseDate == "last week"', "filter:1:16", "releaseDate is a date field"),
        ("title == 5", "filter:1:10", 'title is a string field (String!); quote the value: "5"'),
        ("title == 2020-01-31", "filter:1:10", 'quote the value: "2020-01-31"'),
        ("title startswith 5", "filter:1:18", "startswith needs a string, not 5"),
        ('title contains ""', "filter:1:16", "contains needs a non-empty string"),
        ("releaseYear < null", "filter:1:15", "< needs a value, not null"),
        ("budget == 1", "filter:1:1", "budget is not filterable"),
        ('production == "x"', "filter:1:12", "production is an object: filter on its fields or use exists"),
        ('credits == "x"', "filter:1:9", "credits is a nested list: filter on its fields; use credits.any(...)"),
        (
            'production.any(status == "RELEASED")',
            "filter:1:1",
            "production.any(...) needs a nested list, and production is an object",
        ),
        ("graphdex.fetched_at exists", "filter:1:1", "graphdex.fetched_at is private to graphdex"),
        ("_secret == 1", "filter:1:1", "_secret is private to graphdex"),
    ],
)
def test_validation_errors_point_into_the_filter(catalogue, source, where, message):
    """Each kind of mistake is reported at its position, with a caret line under it."""
    with pytest.raises(SearchError) as caught:
        compile_filter(catalogue, source)
    assert not isinstance(caught.value, FilterSyntaxError)
    (problem,) = caught.value.problems
    assert problem.where == where
    assert message in problem.message
    column = int(where.split(":")[2])
    assert problem.message.splitlines()[-1].index("^") == 4 + column - 1


def test_excluded_fields_say_so(catalogue):
    """A path the definition excludes is named as excluded, not merely unknown."""
    compiler = FilterCompiler(catalogue.with_excluded(["secretNotes"]), SearchLimits())
    with pytest.raises(SearchError, match=r"secretNotes is excluded from the index by its definition"):
        compiler.compile(parse_filter('secretNotes == "x"'), 'secretNotes == "x"')


def test_every_problem_is_reported_at_once(catalogue):
    """Three mistakes give one error listing three numbered problems, each with its caret."""
    source = 'titel == "x" and\n  genres == "ACTON" and releaseYear < "2015"'
    with pytest.raises(SearchError) as caught:
        compile_filter(catalogue, source)
    assert [problem.where for problem in caught.value.problems] == ["filter:1:1", "filter:2:13", "filter:2:39"]
    text = str(caught.value)
    assert text.startswith("invalid filter (3 problems):")
    assert "  3. filter:2:39:" in text


def test_structured_api_errors_name_the_filter_without_position(catalogue):
    """Expressions built in Python have no source text: problems say ``filter`` and name the path."""
    with pytest.raises(SearchError) as caught:
        FilterCompiler(catalogue, SearchLimits()).compile(F("titel") == "x")
    (problem,) = caught.value.problems
    assert problem.where == "filter"
    assert "unknown field titel" in problem.message


@pytest.mark.parametrize(
    ("source", "limits", "message"),
    [
        (" or ".join(["releaseYear == 1"] * 5), SearchLimits(max_conditions=4), "5 conditions is more than"),
        ("releaseYear in [1, 2, 3]", SearchLimits(max_in_values=2), "3 values is more than the limit of 2"),
        ("not not not releaseYear == 1", SearchLimits(max_filter_depth=3), "4 levels of nesting is more than"),
        ("releaseYear == 1", SearchLimits(max_filter_length=10), "16 characters is more than the limit of 10"),
    ],
)
def test_limits(catalogue, source, limits, message):
    """Filters larger than the limits are refused before compiling."""
    with pytest.raises(SearchError, match=message):
        compile_filter(catalogue, source, limits)


def test_deep_filters_are_refused_not_crashed(catalogue):
    """A filter nested thousands deep is a SearchError, never a RecursionError."""
    source = "not " * 3000 + "releaseYear == 1"
    with pytest.raises(SearchError, match="levels of nesting"):
        compile_filter(catalogue, source, SearchLimits(max_filter_length=100_000))
