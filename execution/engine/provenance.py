"""Why a column is text.

A CSV column whose values are numbers becomes text when one of them is not
(`NA`, `n/a`, `-`): type inference has to keep every value. The CSV source
notes the first such value of each column (`RunContext.text_fallbacks`,
column name -> TextFallback) and logs a warning; a type error further down
on that column (`avg()` of it, a cast, a comparison with a number) then
quotes the value, the file and the line, and says what to set.
"""

from collections.abc import Iterable
from dataclasses import dataclass

import polars as pl

from execution.engine.errors import EngineError


@dataclass(frozen=True)
class TextFallback:
    column: str
    value: str
    component: str
    file: str
    # None when the line cannot be told (a record the line scanner could not read).
    line: int | None

    def describe(self) -> str:
        where = f"file {self.file}" + (f", line {self.line}" if self.line else "")
        return (
            f"Column {self.column!r} was read as text because of the value {self.value!r} "
            f"({where}; component {self.component!r}), though its other values are numbers. "
            f"If {self.value!r} marks a missing value, add it to `null_values`; otherwise set the "
            "column's type in `columns`."
        )


def text_numbers(frame: pl.DataFrame, skip: Iterable[str] = ()) -> dict[str, int]:
    """Text columns whose values are mostly numbers -> the row of the first value
    that is not one (only text columns with at least one such value)."""
    skipped = set(skip)
    candidates = [c for c, t in frame.schema.items() if t == pl.String and c not in skipped]
    if not candidates or frame.height == 0:
        return {}
    counts = frame.select(
        *(pl.col(c).is_not_null().sum().alias(f"values_{i}") for i, c in enumerate(candidates)),
        *(_is_number(c).sum().alias(f"numbers_{i}") for i, c in enumerate(candidates)),
    ).row(0, named=True)
    mostly_numbers = [
        c
        for i, c in enumerate(candidates)
        if counts[f"values_{i}"] > counts[f"numbers_{i}"]
        and 2 * counts[f"numbers_{i}"] > counts[f"values_{i}"]
    ]
    if not mostly_numbers:
        return {}
    firsts = frame.select(
        (pl.col(c).is_not_null() & ~_is_number(c)).arg_true().first().alias(c) for c in mostly_numbers
    ).row(0, named=True)
    return dict(firsts)


def _is_number(column: str) -> pl.Expr:
    return pl.col(column).str.strip_chars().cast(pl.Float64, strict=False).is_not_null()


def with_text_reasons(error: EngineError, columns: Iterable[str], schema, fallbacks: dict) -> EngineError:
    """`error`, its message followed by why each of `columns` that is text is
    text, when a source noted it."""
    notes = [
        fallbacks[column].describe()
        for column in sorted(set(columns))
        if column in fallbacks and schema.get(column) == pl.String
    ]
    if notes:
        error.message = " ".join([error.message, *notes])
        error.args = (error.describe(),)
    return error
