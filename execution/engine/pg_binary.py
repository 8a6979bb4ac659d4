"""PostgreSQL's binary COPY format, encoded column by column, no Python per row.

Binary COPY spares the server from parsing text: numbers, dates and
timestamps arrive in its own representation. In the load benchmark the server
ingests it in about three quarters of the time it needs for the same rows as
CSV, and encoding it costs the client less than formatting CSV.

A row is its field count, then each field: a 4-byte length and the value, or
length -1 for NULL. Most of a row has the same width in every row of a frame:
the field count, fields of fixed-width values (integers, floats, booleans,
dates, timestamps, numeric with the frame's digit count) in a column without
NULLs, and the length prefix of a text value. Runs of those are laid out as
one block of `width` bytes per row: a row template holding the constants
(field count, length prefixes of fixed-width fields), repeated, with each
value column's big-endian bytes copied in by strided slice assignment (C
loops over the frame, one per byte position). What varies per row — text
values, and fixed-width fields of a column with NULLs — are segments between
the blocks. Rows are then the blocks and segments taken in row order (one
Arrow `take` over all of them), whose data buffer is the COPY data. On the
benchmark's 10 columns (5 text) that is 10 parts per row where joining each
field's pieces with `binary_join_element_wise`, as this module did before,
took 27; encoding takes ~40% less CPU time than it did (docs/performance.md,
"Database connectors"), with the same bytes.

Only pairs of a data type and a target column type listed in `_field_encoder`
are encoded; for any other pair `encoder_for` returns None and the sink sends
CSV, which the server converts as usual.
"""

import array
import functools
import sys
from collections.abc import Callable
from dataclasses import dataclass, field

import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

SIGNATURE = b"PGCOPY\n\xff\r\n\x00" + bytes(8)  # then flags and header extension length: both 0
TRAILER = b"\xff\xff"
# Days and microseconds from 1970-01-01 (Polars) to 2000-01-01 (PostgreSQL).
POSTGRES_EPOCH_DAYS = 10_957
POSTGRES_EPOCH_MICROS = POSTGRES_EPOCH_DAYS * 86_400_000_000
NUMERIC_NEGATIVE = 0x4000
NULL_FIELD = b"\xff\xff\xff\xff"
_ARRAY_CODES = {1: "B", 2: "h", 4: "i", 8: "q"}
_INTEGERS = {"smallint": pl.Int16, "integer": pl.Int32, "bigint": pl.Int64}
_FLOATS = {"real": pl.Float32, "double precision": pl.Float64}


def _int16(value: int) -> bytes:
    return value.to_bytes(2, "big", signed=True)


def _int32(value: int) -> bytes:
    return value.to_bytes(4, "big", signed=True)


@dataclass
class _Rows:
    """The rows of one frame being laid out: finished segments (Arrow
    large_binary arrays, one element per row) and the block being built."""

    height: int
    segments: list[pa.Array] = field(default_factory=list)
    # The current block: its row template and (offset, width, big-endian bytes) to copy in.
    template: bytearray = field(default_factory=bytearray)
    values: list[tuple[int, int, bytes | memoryview]] = field(default_factory=list)

    def constant(self, data: bytes) -> None:
        self.template += data

    def value(self, width: int, data: bytes | memoryview) -> None:
        """`width` bytes per row, most significant first, `height` rows end to end."""
        self.values.append((len(self.template), width, data))
        self.template += bytes(width)

    def segment(self, array: pa.Array) -> None:
        """A part of each row whose width varies (large_binary, no NULL element)."""
        self.end_block()
        self.segments.append(array)

    def end_block(self) -> None:
        if not self.template:
            return
        width = len(self.template)
        block = self.template * self.height
        if self.height:
            for offset, value_width, data in self.values:
                # Slicing bytes is ~8x faster than slicing a memoryview with a step.
                source = bytes(data)
                for byte in range(value_width):
                    block[offset + byte :: width] = source[byte::value_width]
        fixed = pa.FixedSizeBinaryArray.from_buffers(
            pa.binary(width), self.height, [None, pa.py_buffer(block)]
        )
        self.segments.append(fixed.cast(pa.large_binary()))
        self.template = bytearray()
        self.values = []

    def data(self) -> memoryview:
        """The rows end to end."""
        self.end_block()
        if len(self.segments) == 1:
            return _values_bytes(self.segments[0])
        rows = pa.concat_arrays(self.segments).take(_row_order(self.height, len(self.segments)))
        return _values_bytes(rows)


@functools.lru_cache(maxsize=4)
def _row_order(height: int, count: int) -> pa.Array:
    """Indices taking `count` segments of `height` elements each (segment after
    segment) row by row: row 0's parts, then row 1's..."""
    position = pl.int_range(0, height * count, dtype=pl.Int64, eager=True)
    return ((position % count) * height + position // count).to_arrow()


FieldEncoder = Callable[[pl.Series, _Rows], None]


class BinaryCopyEncoder:
    """Encodes frames with fixed columns into binary COPY rows (without the
    SIGNATURE and TRAILER, which the caller sends once around them)."""

    def __init__(self, encoders: list[FieldEncoder]):
        self.encoders = encoders
        self.field_count = _int16(len(encoders))

    def encode(self, frame: pl.DataFrame) -> memoryview:
        if not frame.height:
            return memoryview(b"")
        rows = _Rows(frame.height)
        rows.constant(self.field_count)
        for series, encode in zip(frame.iter_columns(), self.encoders, strict=True):
            encode(series, rows)
        return rows.data()


def encoder_for(schema: pl.Schema, column_types: dict[str, str]) -> BinaryCopyEncoder | None:
    """An encoder when every column's data type has a binary form for its
    target column type (`column_types`: name -> `regtype` text), else None."""
    encoders = []
    for name, dtype in schema.items():
        encoder = _field_encoder(dtype, column_types.get(name))
        if encoder is None:
            return None
        encoders.append(encoder)
    return BinaryCopyEncoder(encoders) if encoders else None


def _field_encoder(dtype: pl.DataType, pg_type: str | None) -> FieldEncoder | None:
    if pg_type in _INTEGERS and dtype.is_integer():
        return _fixed_width(lambda s, to=_INTEGERS[pg_type]: s.cast(to))
    if pg_type in _FLOATS and (dtype.is_float() or dtype.is_integer()):
        return _fixed_width(lambda s, to=_FLOATS[pg_type]: s.cast(to))
    if pg_type == "boolean" and dtype == pl.Boolean:
        return _fixed_width(lambda s: s.cast(pl.UInt8))
    if pg_type == "date" and dtype == pl.Date:
        return _fixed_width(lambda s: (s.cast(pl.Int32) - POSTGRES_EPOCH_DAYS).cast(pl.Int32))
    if isinstance(dtype, pl.Datetime) and pg_type == (
        "timestamp with time zone" if dtype.time_zone else "timestamp without time zone"
    ):
        # The physical value of a zoned Polars datetime is UTC, as timestamptz wants.
        return _fixed_width(lambda s: s.dt.cast_time_unit("us").cast(pl.Int64) - POSTGRES_EPOCH_MICROS)
    if pg_type in ("text", "character varying") and dtype == pl.String:
        return _text
    if pg_type == "numeric" and isinstance(dtype, pl.Decimal):
        return _numeric
    return None


Part = bytes | tuple[int, bytes | memoryview]


def _fixed_width(physical: Callable[[pl.Series], pl.Series]) -> FieldEncoder:
    def encode(series: pl.Series, rows: _Rows) -> None:
        values = _arrow(physical(series))
        width = values.type.byte_width
        _field(series, rows, [_int32(width), (width, _big_endian(values))])

    return encode


def _field(series: pl.Series, rows: _Rows, parts: list[Part]) -> None:
    """A field of the same width in every row where it is not NULL: its
    `parts` (constant bytes, or `(width, bytes)` of a value per row) go into
    the row's block; in a column with NULLs the whole field becomes a segment
    of its own, with the NULL marker where the value is NULL."""
    target = rows if not series.null_count() else _Rows(series.len())
    for part in parts:
        if isinstance(part, bytes):
            target.constant(part)
        else:
            target.value(*part)
    if target is not rows:
        target.end_block()
        (whole,) = target.segments
        null = pa.scalar(NULL_FIELD, pa.large_binary())
        rows.segment(pc.if_else(series.is_null().to_arrow(), null, whole))


def _numeric(series: pl.Series, rows: _Rows) -> None:
    """PostgreSQL's numeric: digit count, weight (of the first base-10000
    digit), sign, display scale, then the base-10000 digits. The integer part
    gets as many digits as the frame's largest value needs; the server drops
    leading and trailing zero digits."""
    scale = series.dtype.scale
    # 64-bit arithmetic is much faster than 128-bit, and enough up to 18 digits.
    integers = pl.Int64 if series.dtype.precision <= 18 else pl.Int128
    unscaled = pl.col("u")
    magnitude = unscaled.abs()
    ten_to_scale = pl.lit(10**scale, integers)
    integer_part = magnitude // ten_to_scale
    frac_digits = -(-scale // 4)
    # The fraction, left-aligned on base-10000 digits.
    fraction = (magnitude % ten_to_scale) * pl.lit(10 ** (4 * frac_digits - scale), integers)
    frame = pl.DataFrame({"u": series.to_physical().cast(integers)})
    largest = frame.select(integer_part.max()).item() or 0
    int_digits = 0
    while largest:
        largest //= 10_000
        int_digits += 1

    def digits(value: pl.Expr, count: int) -> list[pl.Expr]:
        return [
            (value // pl.lit(10_000 ** (count - 1 - k), integers) % pl.lit(10_000, integers)).cast(pl.Int16)
            for k in range(count)
        ]

    columns = frame.select(
        pl.when(unscaled < 0).then(NUMERIC_NEGATIVE).otherwise(0).cast(pl.Int16).alias("sign"),
        *(d.alias(f"i{k}") for k, d in enumerate(digits(integer_part, int_digits))),
        *(d.alias(f"f{k}") for k, d in enumerate(digits(fraction, frac_digits))),
    )
    count = int_digits + frac_digits
    parts: list[Part] = [_int32(8 + 2 * count), _int16(count), _int16(int_digits - 1)]
    parts.append((2, _big_endian(_arrow(columns["sign"]))))
    parts.append(_int16(scale))
    parts.extend((2, _big_endian(_arrow(columns[name]))) for name in columns.columns[1:])
    _field(series, rows, parts)


def _text(series: pl.Series, rows: _Rows) -> None:
    values = _arrow(series).cast(pa.large_binary())
    lengths = pc.binary_length(values).cast(pa.int32())
    if values.null_count:
        lengths = pc.fill_null(lengths, -1)
        values = pc.fill_null(values, b"")
    rows.value(4, _big_endian(lengths))
    rows.segment(values)


def _arrow(series: pl.Series) -> pa.Array:
    return series.rechunk().to_arrow()


def _big_endian(values: pa.Array) -> memoryview:
    """Each fixed-width value's bytes, most significant first, end to end
    (NULL slots hold arbitrary bytes)."""
    width = values.type.byte_width
    start = values.offset * width
    raw = memoryview(values.buffers()[1])[start : start + len(values) * width]
    if width == 1 or sys.byteorder == "big":
        return raw
    swapped = array.array(_ARRAY_CODES[width])
    swapped.frombytes(raw)
    swapped.byteswap()
    return memoryview(swapped).cast("B")


def _values_bytes(rows: pa.Array) -> memoryview:
    """The concatenated values of a large_binary array, without copying."""
    offsets = memoryview(rows.buffers()[1]).cast("q")
    first, last = offsets[rows.offset], offsets[rows.offset + len(rows)]
    return memoryview(rows.buffers()[2])[first:last]
