"""csv_source's Polars fast path (csv_fast.py) reads what Arrow's reader
reads: the same frames and types, and on a bad file the same error (file,
line, column). Each file is read twice, once with the fast path allowed and
once with Arrow alone, and the outcomes compared."""

import polars as pl
import pytest

from execution.engine.components import csv_fast
from execution.engine.errors import EngineError, StopRequested
from execution.engine.runner import run_job
from tests.engine.helpers import context

# Past Arrow's 1 MiB first block (where Arrow infers the types).
ROWS = 60_000


def body(rows=ROWS, bad_at=None, bad_line=None):
    lines = [f"{i},{i * 1.5},name {i % 97}" for i in range(rows)]
    if bad_at is not None:
        lines[bad_at] = bad_line
    return "id,amount,name\n" + "\n".join(lines) + "\n"


def outcome(data_root, config, batch_size):
    """Rows and types, counters and warnings of a run; or its error."""
    components = [
        {"name": "src", "type": "csv_source", "config": {"path": "in.csv", **config}},
        {"name": "out", "type": "parquet_sink", "inputs": ["src"], "config": {"path": "out.parquet"}},
    ]
    ctx = context(data_root, batch_size=batch_size)
    warnings = []
    ctx.log = lambda level, component, message: warnings.append((level, component, message))
    try:
        result = run_job(components, ctx)
    except EngineError as error:
        return ("error", error.message, error.location, error.field)
    frame = pl.read_parquet(data_root / "out.parquet")
    counters = result.components["src"]
    expected_batches = -(-frame.height // batch_size) or 1
    assert (counters["rows_out"], counters["batches"]) == (frame.height, expected_batches)
    return ("rows", dict(frame.schema), frame.rows(), [w for w in warnings if w[0] == "warning"])


@pytest.fixture
def both(data_root, monkeypatch):
    """(fast-path outcome, Arrow outcome, rows Polars read before Arrow took over, or in all)."""

    def compare(text, config=None, batch_size=7_000, encoding="utf-8"):
        (data_root / "in.csv").write_bytes(text.encode(encoding))
        scans = []
        real_frames = csv_fast.frames

        def counting_frames(*args):
            for piece in real_frames(*args):
                scans.append(piece[0].height)
                yield piece

        monkeypatch.setattr(csv_fast, "frames", counting_frames)
        # Slices smaller than the file, so Polars emits rows before a bad line.
        monkeypatch.setattr(csv_fast, "_CHUNK_BYTES", 64 * 1024)
        fast = outcome(data_root, config or {}, batch_size)
        monkeypatch.setattr(csv_fast, "forbidden_bytes", lambda *args: None)
        arrow = outcome(data_root, config or {}, batch_size)
        monkeypatch.undo()
        return fast, arrow, sum(scans)

    return compare


def test_a_clean_file_is_read_by_polars_with_arrows_rows_and_types(both):
    fast, arrow, used = both(body())
    assert used
    assert fast == arrow
    assert fast[0] == "rows" and len(fast[2]) == ROWS
    assert fast[1] == {"id": pl.Int64, "amount": pl.Float64, "name": pl.String}


def test_na_markers_late_in_a_number_column_are_null_both_ways(both):
    text = body(bad_at=50_000, bad_line="50000,NA,NA")
    fast, arrow, used = both(text, {"null_values": ["", "NA"]})
    assert used and fast == arrow
    assert fast[2][50_000] == (50_000, None, None)


def test_a_late_type_change_gives_arrows_error_with_its_line(both):
    fast, arrow, used = both(body(bad_at=50_000, bad_line="50000,lots,x"))
    assert 0 < used < 50_000
    assert fast == arrow
    assert fast[0] == "error" and "'lots' is not a number" in fast[1]
    assert fast[2] == "file in.csv, line 50002"


def test_a_plus_sign_in_an_integer_column_hands_over_to_arrow(both):
    fast, arrow, used = both(body(bad_at=50_000, bad_line="+5,1.0,x"))
    assert 0 < used < 50_000
    assert fast == arrow and fast[0] == "error" and fast[2] == "file in.csv, line 50002"


@pytest.mark.parametrize("line", ["50000,1.0", "50000,1.0,x,extra", ""])
def test_ragged_and_blank_lines_late_in_the_file_read_as_arrow_reads_them(both, line):
    fast, arrow, used = both(body(bad_at=50_000, bad_line=line))
    # Polars reads the slice with the short or blank line, and the source drops it.
    assert 0 < used < ROWS
    assert fast == arrow
    if line:
        assert fast[0] == "error" and fast[2] == "file in.csv, line 50002"
    else:
        assert fast[0] == "rows" and len(fast[2]) == ROWS - 1


def test_quoted_newlines_and_quoted_markers_are_read_by_arrow(both):
    text = body(bad_at=50_000, bad_line='50000,2.5,"two\nlines"') + '7,,"NA"\n'
    fast, arrow, used = both(text, {"null_values": ["", "NA"]})
    assert 0 < used < 50_000
    assert fast == arrow and fast[2][50_000][2] == "two\nlines" and fast[2][-1] == (7, None, "NA")


def test_a_byte_order_mark_and_a_headerless_file(both):
    fast, arrow, used = both("\ufeff" + body())
    assert used and fast == arrow and "id" in fast[1]
    headerless = body().split("\n", 1)[1]
    fast, arrow, used = both(headerless, {"header": False})
    assert used and fast == arrow and list(fast[1]) == ["f0", "f1", "f2"]


def test_crlf_latin1_bool_and_declared_decimal_files_keep_arrow(both):
    for text, config, encoding in [
        (body().replace("\n", "\r\n"), {}, "utf-8"),
        (body() + "1,2.0,caf\xe9\n", {"encoding": "latin-1"}, "latin-1"),
        ("a,b\n" + "true,1\n" * 10, {}, "utf-8"),
        (body(), {"columns": {"amount": "decimal(12,2)"}}, "utf-8"),
    ]:
        fast, arrow, used = both(text, config, encoding=encoding)
        assert not used, config
        assert fast == arrow


def test_a_text_fallback_in_the_first_block_warns_once(data_root, both):
    text = body(bad_at=10, bad_line="10,n/a,x")
    fast, arrow, used = both(text)
    assert used and fast == arrow
    assert fast[1]["amount"] == pl.String
    assert len(fast[3]) == 1 and "'n/a'" in fast[3][0][2] and "line 12" in fast[3][0][2]


def test_a_header_only_file_keeps_its_columns(both):
    fast, arrow, _ = both("id,amount,name\n")
    assert fast == arrow and fast[0] == "rows" and list(fast[1]) == ["id", "amount", "name"]


def test_values_after_many_clean_slices_come_through_unchanged(both):
    text = body(bad_at=59_999, bad_line="59999,-0.25,last")
    fast, arrow, used = both(text, batch_size=1_000)
    assert used == ROWS and fast == arrow and fast[2][-1] == (59_999, -0.25, "last")


def test_the_control_hook_sees_whole_batches_and_a_stop_ends_the_polars_read(data_root, monkeypatch):
    (data_root / "in.csv").write_text(body())
    monkeypatch.setattr(csv_fast, "_CHUNK_BYTES", 64 * 1024)
    seen = []

    def control(progress):
        seen.append((progress.rows_read, progress.components["src"]["batches"]))
        if progress.rows_read >= 21_000:
            raise StopRequested()

    components = [
        {"name": "src", "type": "csv_source", "config": {"path": "in.csv"}},
        {"name": "out", "type": "parquet_sink", "inputs": ["src"], "config": {"path": "out.parquet"}},
    ]
    with pytest.raises(StopRequested):
        run_job(components, context(data_root, batch_size=7_000, control=control))
    assert seen == [(0, 0), (7_000, 1), (14_000, 2), (21_000, 3)]
    assert not (data_root / "out.parquet").exists()


@pytest.mark.parametrize("line", ["50000, ,x", "50000,\t,x", "0x10,1.0,x"])
def test_a_blank_or_hex_number_late_in_the_file_gives_arrows_outcome(both, line):
    fast, arrow, used = both(body(bad_at=50_000, bad_line=line))
    assert 0 < used < ROWS
    assert fast == arrow
