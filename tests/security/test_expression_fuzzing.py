"""Random expressions from a grammar that mixes allowed and forbidden
constructs: each is refused, or builds and evaluates safely; none opens a
file or makes a connection (the canaries watch), and the compiler never
fails with anything but its own clear refusal."""

import contextlib
import datetime as dt

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from execution.engine import expressions
from tests.security.canaries import FifoCanary, ListenerCanary

FRAME = pl.DataFrame(
    {
        "a": [1, -2, None, 40],
        "b": [0.5, None, 3.0, -1.25],
        "s": ["x", "it's", None, "%_"],
        "d": [dt.date(2021, 1, 1), None, dt.date(1999, 12, 31), dt.date(2024, 2, 29)],
        "ok": [True, False, None, True],
    }
)
TARGETS = {}  # filled by the fixture: where the canaries are


def forbidden_atoms() -> st.SearchStrategy[str]:
    return st.sampled_from(
        [
            "(SELECT x FROM read_csv('{fifo}'))",
            "(SELECT count(*) FROM read_parquet('{url}'))",
            "read_csv('{fifo}')",
            "scan_ndjson('{url}')",
            "(SELECT 1)",
            "(SELECT a FROM data)",
            "foo(a)",
            "sum(a) OVER ()",
            "a >> 1",
            "$1",
        ]
    )


def allowed_atoms() -> st.SearchStrategy[str]:
    numbers = st.integers(-(10**6), 10**6).map(str) | st.floats(-1e6, 1e6, allow_nan=False).map(repr)
    texts = st.text(st.sampled_from("ab'%_ x"), max_size=5).map(lambda t: "'" + t.replace("'", "''") + "'")
    return (
        st.sampled_from(["a", "b", "s", "d", "ok", "NULL", "TRUE", "${p}", "'2021-01-01'"]) | numbers | texts
    )


def combine(children: st.SearchStrategy[tuple[str, bool]]) -> st.SearchStrategy[tuple[str, bool]]:
    """(text, contains a forbidden construct) built from smaller ones."""
    binary = st.sampled_from(["+", "-", "*", "/", "%", "||", "=", "<>", "<", ">=", "AND", "OR", "LIKE"])
    unary = st.sampled_from(["NOT ({})", "-({})", "lower({})", "abs({})", "length({})", "({}) IS NULL"])
    unary |= st.sampled_from(["CAST({} AS int)", "coalesce({}, 0)", "({}) IN (1, 'x', NULL)", "count({})"])
    return st.one_of(
        st.tuples(children, binary, children).map(
            lambda t: (f"({t[0][0]}) {t[1]} ({t[2][0]})", t[0][1] or t[2][1])
        ),
        st.tuples(unary, children).map(lambda t: (t[0].format(t[1][0]), t[1][1])),
        st.tuples(children, children, children).map(
            lambda t: (
                f"CASE WHEN {t[0][0]} THEN {t[1][0]} ELSE {t[2][0]} END",
                t[0][1] or t[1][1] or t[2][1],
            )
        ),
        st.tuples(children, children, children).map(
            lambda t: (f"({t[0][0]}) BETWEEN ({t[1][0]}) AND ({t[2][0]})", t[0][1] or t[1][1] or t[2][1])
        ),
    )


EXPRESSIONS = st.recursive(
    allowed_atoms().map(lambda text: (text, False)) | forbidden_atoms().map(lambda text: (text, True)),
    combine,
    max_leaves=12,
)
PARAMETER_VALUES = st.one_of(st.none(), st.integers(-5, 5), st.booleans(), st.text(max_size=8))


@pytest.fixture(scope="module")
def canaries(tmp_path_factory):
    folder = tmp_path_factory.mktemp("canaries")
    fifo, listener = FifoCanary(folder), ListenerCanary(folder)
    TARGETS.update(fifo=str(fifo.path), url=listener.url)
    yield
    read, connections = fifo.someone_read(), listener.connections()
    listener.close()
    assert not read, "a generated expression opened the canary file"
    assert connections == 0, "a generated expression connected to the canary listener"


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    generated=EXPRESSIONS,
    kind=st.sampled_from([expressions.CONDITION, expressions.SCALAR, expressions.AGGREGATE]),
    parameter=PARAMETER_VALUES,
)
def test_every_generated_expression_is_refused_or_runs_safely(canaries, generated, kind, parameter):
    template, forbidden = generated
    text = template.replace("{fifo}", TARGETS["fifo"]).replace("{url}", TARGETS["url"])
    try:
        expression = expressions.Expression(text, kind, values={"p": parameter}, schema=FRAME.schema)
    except expressions.ExpressionError as refused:
        assert str(refused)
        return
    assert not forbidden, f"accepted a forbidden construct: {text}"
    built = expression.polars(FRAME.schema).alias("out")
    # A value problem on this data (e.g. an overflow) fails the run, naming the field.
    with contextlib.suppress(pl.exceptions.PolarsError):
        FRAME.select(built) if kind == expressions.AGGREGATE else FRAME.with_columns(built)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(generated=EXPRESSIONS)
def test_at_save_time_a_forbidden_construct_is_always_refused(canaries, generated):
    template, forbidden = generated
    text = template.replace("{fifo}", TARGETS["fifo"]).replace("{url}", TARGETS["url"])
    for kind in (expressions.CONDITION, expressions.SCALAR, expressions.AGGREGATE):
        try:
            expressions.Expression(text, kind)
        except expressions.ExpressionError:
            continue
        assert not forbidden, f"accepted a forbidden construct: {text}"
