"""The filter language: what parses to which tree, and where syntax errors point."""

from __future__ import annotations

import datetime as dt

import pytest

from indexer.search import And, Any, F, Not, Or, parse_filter, render
from indexer.search.expressions import Condition, Op
from schema_gen.errors import FilterSyntaxError, SearchError

ISSUE_FILTER = (
    'production.status == "PHOTOGRAPHY" and credits.any(talent.name == "Ryan Reynolds" and role == "ACTOR")'
    " and releaseYear >= 2015"
)


def test_issue_example_parses_to_the_structured_api_tree():
    """The filter of issue 6 parses to the tree the Python API builds for it."""
    expected = And(
        F("production.status") == "PHOTOGRAPHY",
        Any("credits", F("talent.name") == "Ryan Reynolds", F("role") == "ACTOR"),
        F("releaseYear") >= 2015,
    )
    assert parse_filter(ISSUE_FILTER) == expected


def test_or_binds_looser_than_and_and_not_tighter():
    """``a or b and not c`` is ``a or (b and (not c))``."""
    tree = parse_filter("a == 1 or b == 2 and not c == 3")
    assert tree == Or(F("a") == 1, And(F("b") == 2, Not(F("c") == 3)))


def test_parentheses_group():
    """Parentheses override precedence."""
    assert parse_filter("(a == 1 or b == 2) and c == 3") == And(Or(F("a") == 1, F("b") == 2), F("c") == 3)


def test_chains_of_and_are_flat():
    """``a and b and c`` is one And with three operands, as ``And(a, b, c)`` is."""
    tree = parse_filter("a == 1 and b == 2 and c == 3")
    assert isinstance(tree, And)
    assert len(tree.operands) == 3


@pytest.mark.parametrize(
    ("source", "value"),
    [
        ('"text"', "text"),
        ("'single'", "single"),
        (r"'it\'s'", "it's"),
        (r'"say \"hi\""', 'say "hi"'),
        (r'"caf\u00e9"', "café"),
        ('"Amélie"', "Amélie"),
        ("42", 42),
        ("-7", -7),
        ("2.5", 2.5),
        ("1e3", 1000.0),
        ("true", True),
        ("FALSE", False),
        ("null", None),
        ("2020-01-31", dt.date(2020, 1, 31)),
        ("2020-01-31T10:00:00Z", dt.datetime(2020, 1, 31, 10, tzinfo=dt.UTC)),
        ("2020-01-31T10:00", dt.datetime(2020, 1, 31, 10)),
        ("2020-01-31T10:00:00+02:00", dt.datetime(2020, 1, 31, 10, tzinfo=dt.timezone(dt.timedelta(hours=2)))),
    ],
)
def test_literals(source, value):
    """Each literal form parses to its Python value."""
    condition = parse_filter(f"x == {source}")
    assert isinstance(condition, Condition)
    assert condition.value == value
    assert type(condition.value) is type(value)


def test_lists_allow_mixed_values_and_a_trailing_comma():
    """``in`` lists hold any literals and may end with a comma; ``not in`` negates."""
    assert parse_filter('g in ["A", 1, null,]') == F("g").is_in(["A", 1, None])
    assert parse_filter("g not in []") == F("g").not_in([])


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("title exists", F("title").exists()),
        ("exists(production.ptpId)", F("production.ptpId").exists()),
        ('title startswith "Dead"', F("title").startswith("Dead")),
        ('title contains "pool"', F("title").contains("pool")),
        ("a != 1", F("a") != 1),
        ("a < 1", F("a") < 1),
        ("a <= 1", F("a") <= 1),
        ("a > 1", F("a") > 1),
    ],
)
def test_condition_forms(source, expected):
    """Every operator form parses to the same condition as its Python builder."""
    assert parse_filter(source) == expected


def test_keywords_are_case_insensitive_and_do_not_swallow_field_names():
    """``AND``/``Not`` are keywords; ``notes``, ``index`` and ``order`` are field names."""
    tree = parse_filter("NOT notes == 1 AND index == 2 Or order EXISTS")
    assert tree == Or(And(Not(F("notes") == 1), F("index") == 2), F("order").exists())


def test_any_nests():
    """``any`` inside ``any`` takes paths relative to the inner list."""
    tree = parse_filter('credits.any(awards.any(name == "Oscar") and role == "ACTOR")')
    assert tree == Any("credits", Any("awards", F("name") == "Oscar"), F("role") == "ACTOR")


def test_python_operators_build_the_same_tree():
    """``&``, ``|`` and ``~`` on conditions build And, Or and Not."""
    built = (F("a") == 1) & ~((F("b") == 2) | F("c").exists())
    assert built == parse_filter("a == 1 and not (b == 2 or c exists)")


@pytest.mark.parametrize(
    "source",
    [
        ISSUE_FILTER,
        'not (a == 1 or b != 2) and c in [1, 2.5, "x", null, true, 2020-01-31]',
        'd >= 2020-01-31T10:00:00+00:00 and t startswith "it\'s" and t contains "é"',
        'credits.any(talent.any(name == "x") and role not in ["A"])',
    ],
)
def test_render_round_trips(source):
    """``render`` writes a filter that parses back to an equal tree."""
    tree = parse_filter(source)
    assert parse_filter(render(tree)) == tree


def test_conditions_carry_spans_for_error_messages():
    """Path, operator and value spans point at their text."""
    condition = parse_filter('a == 1 and\n  title == "x"').operands[1]  # type: ignore[union-attr]
    assert (condition.path_span.line, condition.path_span.column) == (2, 3)
    assert (condition.op_span.line, condition.op_span.column) == (2, 9)
    assert (condition.value_spans[0].line, condition.value_spans[0].column) == (2, 12)
    assert condition.op is Op.EQ


@pytest.mark.parametrize(
    ("source", "where", "message"),
    [
        ("a = 1", "filter:1:3", "use == to compare"),
        ("a == ", "filter:1:6", "the filter ends too early"),
        ('a == "open', "filter:1:6", "this string is not closed"),
        ("(a == 1", "filter:1:8", "expected ')'"),
        ("a == 1 b == 2", "filter:1:8", "unexpected 'b'; expected one of: and, or"),
        ("and a == 1", "filter:1:1", "unexpected 'and'"),
        ("a == 1 and\n  and", "filter:2:3", "unexpected 'and'"),
        ("foo(a == 1)", "filter:1:1", "foo(...) is not a function"),
        ("a == 2020-13-45", "filter:1:6", "2020-13-45 is not a valid date"),
        (r'a == "\q"', "filter:1:6", "invalid escape"),
        ("a == 12abc", "filter:1:6", "cannot read '12abc'"),
        ("a == 1e999", "filter:1:6", "not a finite number"),
        ("a in [1 2]", "filter:1:9", "expected one of: ',', ']'"),
        ("credits.any()", "filter:1:13", "unexpected ')'"),
        ("a == 1 %", "filter:1:8", "unexpected character '%'"),
    ],
)
def test_syntax_errors_point_at_the_mistake(source, where, message):
    """A syntax error names line and column, says what is wrong and draws a caret under it."""
    with pytest.raises(FilterSyntaxError) as caught:
        parse_filter(source)
    (problem,) = caught.value.problems
    assert problem.where == where
    assert message in problem.message
    line, column = (int(part) for part in where.split(":")[1:])
    excerpt_line, caret_line = problem.message.splitlines()[-2:]
    assert excerpt_line == "    " + source.splitlines()[line - 1]
    assert caret_line.index("^") == 4 + column - 1


def test_empty_filter_is_an_error():
    """A blank filter string is refused with a clear message."""
    with pytest.raises(FilterSyntaxError, match="the filter is empty"):
        parse_filter("   ")


def test_syntax_errors_are_search_errors_with_exit_code_2():
    """Syntax errors belong to the SearchError family that the CLI shows with exit code 2."""
    with pytest.raises(SearchError) as caught:
        parse_filter("(")
    assert caught.value.exit_code == 2


def test_very_deep_nesting_parses_without_recursion():
    """Thousands of parentheses or ``not``s parse without exhausting the stack."""
    deep = "(" * 3000 + "a == 1" + ")" * 3000
    assert parse_filter(deep) == (F("a") == 1)
    nots = parse_filter("not " * 3000 + "a == 1")
    assert isinstance(nots, Not)
