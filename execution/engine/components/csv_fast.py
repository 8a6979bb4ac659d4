"""The fast path of `csv_source`: Polars' multi-threaded CSV reader, used
only where it reads exactly what Arrow's reader would.

Arrow stays the reference: it infers the types from the first block, and it
reads the whole file whenever Polars may differ. Polars and Arrow agree on a
file without quote characters and without carriage returns (so records are
lines, and "quoted NA is text" cannot arise), whose columns are 64-bit
integers, floats or text, with the empty field among `null_values`. Where they
would still differ Polars either fails or leaves a NULL in the last column
(a short record, a blank line), and the source then goes on with Arrow from
the first row not yet emitted, so Arrow's error (file, line, column) is the
one the user sees.
"""

import mmap
from pathlib import Path

import polars as pl

# Types both readers parse the same way from unquoted text. Not here: bool
# (Polars takes "tRuE"), decimals (Polars rounds extra digits where Arrow
# refuses them), dates and timestamps (different accepted formats).
_SAME_PARSE = (pl.Int64, pl.Float64, pl.String)


def usable(config: dict, schema: pl.Schema, path: Path) -> bool:
    """Whether Polars reads this file as Arrow does, given Arrow's inferred schema."""
    if config.get("encoding") == "latin-1":
        return False
    if "" not in config.get("null_values", [""]):
        # Polars reads an empty number as NULL whatever the markers; Arrow refuses it.
        return False
    if not schema or any(dtype not in _SAME_PARSE for dtype in schema.values()):
        return False
    forbidden = [config.get("quote", '"').encode(), b"\r"]
    if pl.Int64 in schema.values():
        # Polars reads "+5" as an integer, Arrow does not.
        forbidden.append(b"+")
    return not _contains_any(path, forbidden)


def scan(config: dict, path: Path, schema: pl.Schema) -> tuple[pl.LazyFrame, str] | None:
    """A plan reading `schema`'s columns and the file's last column (its
    NULLs tell short records and blank lines), and that column's name; None
    when Polars sees other column names than Arrow."""
    header = config.get("header", True)
    null_values = [value for value in config.get("null_values", [""]) if value]
    frame = pl.scan_csv(
        path,
        has_header=header,
        separator=config.get("delimiter", ","),
        quote_char=config.get("quote", '"'),
        infer_schema=False,
        schema_overrides=dict(schema),
        null_values=null_values or None,
        empty_string_is_null=True,
        encoding="utf8",
        raise_if_empty=False,
        with_column_names=None if header else (lambda names: [f"f{i}" for i in range(len(names))]),
    )
    names = frame.collect_schema().names()
    if not names or not set(schema) <= set(names):
        return None
    last = names[-1]
    return frame.select(list(dict.fromkeys([*schema, last]))), last


def _contains_any(path: Path, needles: list[bytes]) -> bool:
    if path.stat().st_size == 0:
        return False
    with open(path, "rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
        return any(data.find(needle) >= 0 for needle in needles)
