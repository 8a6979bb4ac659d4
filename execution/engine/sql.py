"""SQL generation for database sources and sinks: table names, identifier
quoting and column types per dialect. Identifiers are always quoted; values are
always bound by the driver, never formatted into SQL."""

import re

import polars as pl

from execution.engine.errors import EngineError

IDENTIFIER = r"[A-Za-z_][A-Za-z0-9_]{0,62}"
TABLE_NAME_PATTERN = rf"^{IDENTIFIER}(\.{IDENTIFIER})?$"
_TABLE_NAME = re.compile(TABLE_NAME_PATTERN)


def table_parts(name: str, *, component: str, field: str = "config.table") -> tuple[str | None, str]:
    """`"public.flights"` -> `("public", "flights")`. Quotes, semicolons, spaces
    and the like are refused: a table name is letters, digits and _ only."""
    if not isinstance(name, str) or not _TABLE_NAME.match(name):
        raise EngineError(
            f"{name!r} is not a valid table name: use `table` or `schema.table`, "
            "each letters, digits or _ (no quotes, spaces or semicolons).",
            component=component,
            field=field,
        )
    schema, _, table = name.rpartition(".")
    return schema or None, table


class Dialect:
    name = ""
    quote_char = '"'
    placeholder = "%s"

    def quote(self, identifier: str) -> str:
        q = self.quote_char
        return q + identifier.replace(q, q + q) + q

    def table(self, schema: str | None, table: str) -> str:
        return f"{self.quote(schema)}.{self.quote(table)}" if schema else self.quote(table)

    def column_type(self, dtype: pl.DataType, *, is_key: bool, key_text_length: int | None) -> str:
        raise NotImplementedError

    def key_text_length(self, schema: pl.Schema, key: list[str]) -> int | None:
        """The characters a text key column of a created table holds (None: any number)."""
        return None

    def create_table(self, qualified: str, schema: pl.Schema, key: list[str], *, component: str) -> str:
        columns = []
        key_text_length = self.key_text_length(schema, key)
        for column, dtype in schema.items():
            try:
                sql_type = self.column_type(dtype, is_key=column in key, key_text_length=key_text_length)
            except KeyError:
                raise EngineError(
                    f"Column {column!r} has type {dtype}, which cannot be stored in {self.name}; "
                    "add a select with a cast before the sink.",
                    component=component,
                ) from None
            columns.append(f"{self.quote(column)} {sql_type}")
        if key:
            columns.append(f"PRIMARY KEY ({', '.join(self.quote(k) for k in key)})")
        return f"CREATE TABLE {qualified} ({', '.join(columns)})"


def _base_type(dtype: pl.DataType):
    return dtype.base_type() if hasattr(dtype, "base_type") else type(dtype)


def is_text(dtype: pl.DataType) -> bool:
    return _base_type(dtype) in (pl.String, pl.Categorical, pl.Enum)


class Postgres(Dialect):
    name = "PostgreSQL"
    _TYPES = {
        pl.Int8: "smallint",
        pl.Int16: "smallint",
        pl.Int32: "integer",
        pl.Int64: "bigint",
        pl.UInt8: "smallint",
        pl.UInt16: "integer",
        pl.UInt32: "bigint",
        pl.UInt64: "numeric(20,0)",
        pl.Float32: "real",
        pl.Float64: "double precision",
        pl.String: "text",
        pl.Categorical: "text",
        pl.Enum: "text",
        pl.Boolean: "boolean",
        pl.Date: "date",
        pl.Time: "time",
        pl.Duration: "interval",
        pl.Null: "text",
    }

    def column_type(self, dtype, *, is_key, key_text_length):
        if isinstance(dtype, pl.Decimal):
            return f"numeric({dtype.precision},{dtype.scale})" if dtype.precision else "numeric"
        if isinstance(dtype, pl.Datetime):
            return "timestamptz" if dtype.time_zone else "timestamp"
        return self._TYPES[_base_type(dtype)]


# InnoDB's longest index key with 16 KiB pages (the default), in bytes.
MYSQL_MAX_KEY_BYTES = 3072
_UTF8MB4_BYTES = 4
# Room kept in the key for each key column that is not text (DECIMAL(65,30) takes 30 bytes).
_MYSQL_OTHER_KEY_BYTES = 32
_COLLATION = re.compile(r"^utf8mb4_[a-z0-9_]+$")


class MySQL(Dialect):
    name = "MySQL/MariaDB"
    quote_char = "`"
    _TYPES = {
        pl.Int8: "TINYINT",
        pl.Int16: "SMALLINT",
        pl.Int32: "INT",
        pl.Int64: "BIGINT",
        pl.UInt8: "TINYINT UNSIGNED",
        pl.UInt16: "SMALLINT UNSIGNED",
        pl.UInt32: "INT UNSIGNED",
        pl.UInt64: "BIGINT UNSIGNED",
        pl.Float32: "FLOAT",
        pl.Float64: "DOUBLE",
        pl.Boolean: "BOOLEAN",
        pl.Date: "DATE",
        pl.Time: "TIME(6)",
        pl.Null: "TEXT",
    }

    def column_type(self, dtype, *, is_key, key_text_length):
        if isinstance(dtype, pl.Decimal):
            precision = min(dtype.precision or 38, 65)
            return f"DECIMAL({precision},{min(dtype.scale, 30)})"
        if isinstance(dtype, pl.Datetime):
            # MySQL has no zone-aware type: zoned values are stored in UTC.
            return "DATETIME(6)"
        if is_text(dtype):
            # An indexed (key) column needs a bounded length.
            return f"VARCHAR({key_text_length})" if is_key else "LONGTEXT"
        return self._TYPES[_base_type(dtype)]

    def key_text_length(self, schema, key):
        """InnoDB keys hold at most MYSQL_MAX_KEY_BYTES: shared by the text key
        columns at 4 bytes a character (utf8mb4), after room for the others."""
        text_keys = [column for column in key if column in schema and is_text(schema[column])]
        others = len(key) - len(text_keys)
        room = MYSQL_MAX_KEY_BYTES - others * _MYSQL_OTHER_KEY_BYTES
        return room // (_UTF8MB4_BYTES * max(len(text_keys), 1))

    def create_table(self, qualified, schema, key, *, component, collation="utf8mb4_bin"):
        if not _COLLATION.match(collation):
            raise ValueError(f"not a utf8mb4 collation: {collation!r}")
        return super().create_table(qualified, schema, key, component=component) + (
            f" ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE={collation}"
        )


class SQLite(Dialect):
    name = "SQLite"
    placeholder = "?"

    def column_type(self, dtype, *, is_key, key_text_length):
        base = _base_type(dtype)
        if dtype.is_integer() or base == pl.Boolean:
            return "INTEGER"
        if dtype.is_float():
            return "REAL"
        if isinstance(dtype, pl.Decimal):
            return "NUMERIC"
        if base in (pl.String, pl.Categorical, pl.Enum, pl.Date, pl.Datetime, pl.Time, pl.Null):
            return "TEXT"
        raise KeyError(base)


POSTGRES, MYSQL, SQLITE = Postgres(), MySQL(), SQLite()


def without_semicolon(statement: str) -> str:
    """A query as written may end in `;`, which cannot stand inside a subquery."""
    return statement.strip().rstrip(";").rstrip()
