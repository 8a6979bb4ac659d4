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

import codecs
from collections.abc import Iterator
from pathlib import Path

import polars as pl

# Types both readers parse the same way from unquoted text. Not here: bool
# (Polars takes "tRuE"), decimals (Polars rounds extra digits where Arrow
# refuses them), dates and timestamps (different accepted formats).
_SAME_PARSE = (pl.Int64, pl.Float64, pl.String)
# Each Polars read parses this much of the file (multi-threaded); the source's
# peak memory grows with it.
_CHUNK_BYTES = 8 << 20


class MayDiffer(Exception):
    """The rest of the file has a byte on which Polars may read otherwise than Arrow."""


def forbidden_bytes(config: dict, schema: pl.Schema) -> list[bytes] | None:
    """The bytes that make Polars' reading differ from Arrow's in a file of
    `schema` (Arrow's inferred types), or None when it may differ anyway."""
    if config.get("encoding") == "latin-1":
        return None
    if "" not in config.get("null_values", [""]):
        # Polars reads an empty number as NULL whatever the markers; Arrow refuses it.
        return None
    if not schema or any(dtype not in _SAME_PARSE for dtype in schema.values()):
        return None
    forbidden = [config.get("quote", '"').encode(), b"\r"]
    if pl.Int64 in schema.values():
        # Polars reads "+5" as an integer, Arrow does not.
        forbidden.append(b"+")
    return forbidden


def column_names(config: dict, path: Path) -> list[str]:
    """The file's column names as Polars reads the header (f0, f1, ... without one)."""
    names = (
        pl.scan_csv(
            path,
            has_header=config.get("header", True),
            separator=config.get("delimiter", ","),
            quote_char=config.get("quote", '"'),
            infer_schema=False,
            raise_if_empty=False,
        )
        .collect_schema()
        .names()
    )
    return names if config.get("header", True) else [f"f{i}" for i in range(len(names))]


def frames(
    config: dict, path: Path, schema: pl.Schema, names: list[str], forbidden: list[bytes]
) -> Iterator[tuple[pl.DataFrame, int]]:
    """(frame, bytes) pieces of the file: `schema`'s columns and the last
    column, read by Polars from `_CHUNK_BYTES` slices cut at line ends (records
    are lines in a file without quotes), so memory stays that of one slice.
    Raises Polars' errors, and MayDiffer before a slice holding a `forbidden`
    byte (the records before it are whole lines, read alike)."""
    file_schema = {name: schema.get(name, pl.String) for name in names}
    wanted = sorted({names.index(name) for name in [*schema, names[-1]]})
    null_values = [value for value in config.get("null_values", [""]) if value] or None
    with open(path, "rb") as handle:
        handle.seek(_data_start(handle, config.get("header", True)))
        while piece := handle.read(_CHUNK_BYTES):
            cut = piece.rfind(b"\n") + 1
            if 0 < cut < len(piece):
                # Whole lines only; the next read starts at the cut line (one copy, not two).
                handle.seek(cut - len(piece), 1)
                piece = piece[:cut]
            elif not cut and len(piece) == _CHUNK_BYTES:
                piece += handle.readline()
            if any(byte in piece for byte in forbidden):
                raise MayDiffer
            yield _read(piece, config, file_schema, wanted, null_values), len(piece)


def _read(piece: bytes, config: dict, schema: dict, columns: list[int], null_values) -> pl.DataFrame:
    return pl.read_csv(
        piece,
        has_header=False,
        separator=config.get("delimiter", ","),
        quote_char=config.get("quote", '"'),
        schema=schema,
        columns=columns,
        null_values=null_values,
        empty_string_is_null=True,
        encoding="utf8",
        raise_if_empty=False,
    )


def _data_start(handle, header: bool) -> int:
    """The offset after the header line, or after a headerless file's byte order mark."""
    if not header:
        return len(codecs.BOM_UTF8) if handle.read(len(codecs.BOM_UTF8)) == codecs.BOM_UTF8 else 0
    handle.readline()
    return handle.tell()
