"""The expression compiler: what each part of the grammar means, and how
refusals are worded. Literal tables in, values out."""

import datetime as dt

import polars as pl
import pytest

from execution.engine.expressions import AGGREGATE, CONDITION, SCALAR, Expression, ExpressionError

FRAME = pl.DataFrame(
    {
        "a": [5, 2, None],
        "b": [2, 0, 1],
        "s": ["Abc", "x%y", None],
        "f": [1.5, 2.5, None],
        "d": [dt.date(2021, 1, 1), dt.date(2020, 1, 1), None],
        "t": [dt.datetime(2021, 1, 1, 12, 30), dt.datetime(2020, 6, 1), None],
        "ok": [True, False, None],
    }
)


def values(text: str, kind: str = SCALAR, frame: pl.DataFrame = FRAME, **parameters) -> list:
    expression = Expression(text, kind, values=parameters or None, schema=frame.schema)
    built = expression.polars(frame.schema).alias("out")
    result = frame.select(built) if kind == AGGREGATE else frame.with_columns(built)
    return result["out"].to_list()


def refusal(text: str, kind: str = SCALAR, schema=FRAME.schema, **parameters) -> str:
    with pytest.raises(ExpressionError) as refused:
        Expression(text, kind, values=parameters or None, schema=schema)
    return str(refused.value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a + b", [7, 2, None]),
        ("a - b * 2", [1, 2, None]),
        ("a / b", [2.5, float("inf"), None]),  # `/` divides exactly; by zero gives inf, as Polars does
        ("a % b", [1, None, None]),
        ("-a", [-5, -2, None]),
        ("2 ^ 3", [8.0, 8.0, 8.0]),
        ("s || 'z'", ["Abcz", "x%yz", None]),  # NULL || text is NULL
        ("concat(s, a)", ["Abc5", "x%y2", ""]),  # concat skips NULLs
        ("lower(s)", ["abc", "x%y", None]),
        ("upper(s)", ["ABC", "X%Y", None]),
        ("length(s)", [3, 3, None]),
        ("char_length(s)", [3, 3, None]),
        ("trim('  x ')", ["x", "x", "x"]),
        ("ltrim('xxy', 'x')", ["y", "y", "y"]),
        ("rtrim('yxx', 'x')", ["y", "y", "y"]),
        ("substr(s, 2)", ["bc", "%y", None]),
        ("substring(s, 2, 1)", ["b", "%", None]),
        ("replace(s, '%', '-')", ["Abc", "x-y", None]),
        ("left(s, 2)", ["Ab", "x%", None]),
        ("right(s, 2)", ["bc", "%y", None]),
        ("strpos(s, 'y')", [0, 3, None]),
        ("position('b' IN s)", [2, 0, None]),
        ("reverse(s)", ["cbA", "y%x", None]),
        ("coalesce(a, b)", [5, 2, 1]),
        ("nullif(a, 5)", [None, 2, None]),
        ("greatest(a, b)", [5, 2, 1]),
        ("least(a, b)", [2, 0, 1]),
        ("abs(b - 3)", [1, 3, 2]),
        ("round(f)", [2.0, 2.0, None]),
        ("round(f / 3, 2)", [0.5, 0.83, None]),
        ("floor(f)", [1.0, 2.0, None]),
        ("ceil(f)", [2.0, 3.0, None]),
        ("sqrt(b)", [pytest.approx(1.41421356), 0.0, 1.0]),
        ("log(100)", [2.0, 2.0, 2.0]),
        ("log(2, 8)", [3.0, 3.0, 3.0]),
        ("ln(1)", [0.0, 0.0, 0.0]),
        ("exp(0)", [1.0, 1.0, 1.0]),
        ("power(b, 2)", [4.0, 0.0, 1.0]),
        ("sign(b - 1)", [1, -1, 0]),
        ("year(d)", [2021, 2020, None]),
        ("month(t)", [1, 6, None]),
        ("day(d)", [1, 1, None]),
        ("hour(t)", [12, 0, None]),
        ("minute(t)", [30, 0, None]),
        ("extract(quarter FROM t)", [1, 2, None]),
        ("extract(dow FROM d)", [5, 3, None]),  # 0 = Sunday, as in PostgreSQL
        ("date_part('doy', d)", [1, 1, None]),
        ("date_trunc('month', t)", [dt.datetime(2021, 1, 1), dt.datetime(2020, 6, 1), None]),
        ("date(t)", [dt.date(2021, 1, 1), dt.date(2020, 6, 1), None]),
        ("CAST(a AS text)", ["5", "2", None]),
        ("CAST('2021-02-03' AS date)", [dt.date(2021, 2, 3)] * 3),
        ("CAST('yes' AS boolean)", [True] * 3),
        (
            "CAST(f AS decimal(5,1))",
            [pl.Series([1.5]).cast(pl.Decimal(5, 1))[0], pl.Series([2.5]).cast(pl.Decimal(5, 1))[0], None],
        ),
        ("TRY_CAST(s AS int)", [None, None, None]),
        ("a::bigint", [5, 2, None]),
        ("CASE WHEN a > 3 THEN 'big' WHEN a > 1 THEN 'small' END", ["big", "small", None]),
        ("CASE b WHEN 0 THEN 'zero' ELSE 'other' END", ["other", "zero", "other"]),
        ("IF(ok, 1, 0)", [1, 0, 0]),
    ],
)
def test_scalar_expressions_mean_what_sql_says(text, expected):
    assert values(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a > 1 AND b > 0", [True, False, None]),
        ("a > 1 OR b > 0", [True, True, True]),
        ("NOT ok", [False, True, None]),
        ("a IS NULL", [False, False, True]),
        ("a IS NOT NULL", [True, True, False]),
        ("ok IS TRUE", [True, False, False]),
        ("ok IS NOT FALSE", [True, False, True]),
        ("a IN (5, 7)", [True, False, None]),
        ("a NOT IN (5, 7)", [False, True, None]),
        ("a BETWEEN 2 AND 4", [False, True, None]),
        ("a NOT BETWEEN 2 AND 4", [True, False, None]),
        ("s LIKE 'A%'", [True, False, None]),
        ("s LIKE '_bc'", [True, False, None]),
        ("s NOT LIKE 'A%'", [False, True, None]),
        ("s ILIKE 'a%'", [True, False, None]),
        ("s LIKE 'x!%y' ESCAPE '!'", [False, True, None]),
        ("s LIKE 'a.c'", [False, False, None]),  # LIKE has no regex: '.' is a dot
        ("regexp_like(s, '^[A-Z]')", [True, False, None]),
        ("starts_with(s, 'x')", [False, True, None]),
        ("ends_with(s, 'c')", [True, False, None]),
        ("a IS DISTINCT FROM 5", [False, True, True]),
        ("a = b OR a <> b", [True, True, None]),
        ("d >= '2021-01-01'", [True, False, None]),  # text compared with a date is read as one
        ("t < '2021-01-01 00:00:00'", [False, True, None]),
        ("d BETWEEN '2020-01-01' AND '2020-12-31'", [False, True, None]),
        ("d IN ('2020-01-01')", [False, True, None]),
    ],
)
def test_conditions_follow_sql_three_valued_logic(text, expected):
    assert values(text, CONDITION) == expected


def test_a_zoned_timestamp_compares_with_text_read_as_utc_unless_it_names_a_zone():
    frame = pl.DataFrame({"at": [dt.datetime(2021, 1, 1, 12)]}).with_columns(
        pl.col("at").dt.replace_time_zone("Europe/Paris")
    )
    assert values("at = '2021-01-01 11:00:00'", CONDITION, frame) == [True]
    assert values("at = '2021-01-01T12:00:00+01:00'", CONDITION, frame) == [True]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("count(*)", [3]),
        ("count(a)", [2]),
        ("count(DISTINCT b)", [3]),
        ("sum(a)", [7]),
        ("sum(a) / count(*)", [pytest.approx(7 / 3)]),
        ("avg(f)", [2.0]),
        ("min(s)", ["Abc"]),
        ("max(d)", [dt.date(2021, 1, 1)]),
        ("median(b)", [1.0]),
        ("stddev(f)", [pytest.approx(0.70710678)]),
        ("var_pop(f)", [0.25]),
        ("max(a * 2) - min(a)", [8]),
    ],
)
def test_aggregates_follow_sql(text, expected):
    assert values(text, AGGREGATE) == expected


def test_the_sum_of_no_values_is_null_as_in_sql():
    empty = FRAME.filter(pl.lit(False))
    assert values("sum(a)", AGGREGATE, empty) == [None]
    assert values("count(*)", AGGREGATE, empty) == [0]
    assert values("sum(a)", AGGREGATE, FRAME.filter(pl.col("a").is_null())) == [None]


@pytest.mark.parametrize(
    ("parameter", "expected"),
    [(4, [True, False, None]), (4.5, [True, False, None]), (True, None)],
)
def test_a_placeholder_becomes_a_literal_of_its_type(parameter, expected):
    if expected is None:
        assert "cannot be compared" in refusal("a > ${p}", CONDITION, p=parameter)
    else:
        assert values("a > ${p}", CONDITION, p=parameter) == expected


def test_a_text_placeholder_is_one_value_whatever_it_contains():
    hostile = "x' OR '1'='1"
    assert values("s = ${p}", CONDITION, p=hostile) == [False, False, None]
    assert values("s = ${p}", CONDITION, p="Abc") == [True, False, None]
    assert values("s = '${p}'", CONDITION, p="Abc") == [True, False, None]  # inside quotes: the same
    assert values("'<${p}>'", p=hostile) == [f"<{hostile}>"] * 3


def test_a_date_parameter_compares_with_a_date_column():
    assert values("d >= ${since}", CONDITION, since="2021-01-01") == [True, False, None]


def test_environment_values_are_placeholders_too():
    assert values("s = ${env.CODE}", CONDITION, **{"env.CODE": "x%y"}) == [False, True, None]


def test_at_save_time_placeholders_only_need_the_structure_to_be_right():
    assert Expression("a > ${min}", CONDITION).columns == {"a"}
    assert Expression("${flag}", CONDITION).columns == frozenset()
    with pytest.raises(ExpressionError):
        Expression("a > ${min} AND", CONDITION)


@pytest.mark.parametrize(
    ("text", "kind", "wording"),
    [
        ("nope > 1", CONDITION, "Unknown column 'nope'. The input has: a, b, s, f, d, t, ok."),
        ("sx = 'a'", CONDITION, "Did you mean 's'?"),
        ("foo(a)", SCALAR, "Unknown function foo(). Did you mean floor()?"),
        ("mean(a)", AGGREGATE, "Did you mean avg()?"),
        ("uper(s)", SCALAR, "Did you mean upper()?"),
        ("a + 1", CONDITION, "This must be a condition (true or false), but it gives a whole number."),
        ("s > 3", CONDITION, "column 's' (text) and a whole number cannot be compared (>)."),
        ("d >= '2021-13-01'", CONDITION, "'2021-13-01' is not a date (YYYY-MM-DD)."),
        ("s + 1", SCALAR, "+ needs a whole number or a number, not column 's' (text)."),
        ("sum(a)", SCALAR, "sum() is an aggregate function: use it in an aggregate or metric component."),
        ("sum(count(*))", AGGREGATE, "count() cannot be used inside another aggregate function."),
        ("a + sum(b)", AGGREGATE, "Every column must be inside an aggregate function"),
        ("1", AGGREGATE, "Use an aggregate function"),
        ("a IN (b, 1)", CONDITION, "IN takes a list of values"),
        ("CAST(a AS json)", SCALAR, "Cannot CAST to JSON"),
        ("CAST(a AS decimal)", SCALAR, "needs a precision and scale"),
        ("sum(a) OVER ()", AGGREGATE, "Window functions (OVER ...) are not allowed."),
        ("a AS b", SCALAR, "Aliases (AS) are not allowed"),
        ("t.a > 1", CONDITION, "qualified names are not allowed"),
        ("a >> 2", SCALAR, "`a >> 2` is not allowed in an expression"),
        ("a > ?", CONDITION, "Write parameters as ${name}."),
        (
            "a >",
            CONDITION,
            "Not a valid SQL expression: the GT operator is missing an operand (at character 3)",
        ),
        ("a > 1; a < 2", CONDITION, "Write one expression (no `;`)."),
        ("", CONDITION, "The expression is empty."),
        ("__etl_param_0__ > 1", CONDITION, "reserved"),
        ("col_${x} > 1", CONDITION, "cannot be (part of) a column name"),
        ('"${x}" > 1', CONDITION, "cannot be (part of) a column name"),
        ("date_trunc('fortnight', t)", SCALAR, "date_trunc needs one of"),
        ("extract(century FROM t)", SCALAR, "Unknown date part 'century'"),
    ],
)
def test_refusals_say_what_is_wrong_and_what_to_do(text, kind, wording):
    assert wording in refusal(text, kind)


def test_without_a_schema_columns_and_types_wait_for_the_data():
    expression = Expression("nope > 'x'", CONDITION)
    assert expression.columns == {"nope"}
    with pytest.raises(ExpressionError, match="Unknown column 'nope'"):
        expression.polars(FRAME.schema)


def test_a_built_expression_is_reused_for_the_same_schema():
    expression = Expression("a > 1", CONDITION)
    assert expression.polars(FRAME.schema) is expression.polars(FRAME.schema)
