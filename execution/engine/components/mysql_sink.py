"""`mysql_sink`: a MySQL/MariaDB table loaded inside one InnoDB transaction.

- LOAD DATA LOCAL INFILE of 20,000-row CSV slices from memory files, fed by
  a background thread (mysql_local_infile.py); multi-row INSERTs when the
  server or the connection refuses local infile (logged). InnoDB tables only:
  others cannot roll back. `replace` is DELETE (TRUNCATE would commit);
  `upsert` is INSERT ... ON DUPLICATE KEY UPDATE, from a temporary table in
  load order when loading with LOAD DATA.
- A missing table is made as a staging table (`_etl_<8 hex>_<table>`),
  loaded, and renamed to the target at commit. MySQL commits CREATE TABLE at
  once, so a table created in place would show, empty, during the load and
  stay behind a killed run.
- Text in a created table compares case-, accent- and trailing-space-
  sensitively, so keys that differ only there stay distinct rows.
- Key text columns of a created table are VARCHAR(n): InnoDB keys hold 3072
  bytes, at most 4 per character (768 characters for one text key column).
  A longer value, or one longer than an existing VARCHAR/CHAR column, fails
  naming the column before the server sees it.
- An upsert into an existing table whose key columns fold case or accents is
  refused before anything is written.
"""

import secrets

import polars as pl
import pymysql

from execution.engine import mysql_local_infile as local_infile
from execution.engine.components.db_sinks import InsertingSink, database_sink_schema
from execution.engine.components.db_sources import connection_settings
from execution.engine.connections import from_url, open_connection, truthy
from execution.engine.errors import EngineError
from execution.engine.registry import SINK, register
from execution.engine.sql import MYSQL, MYSQL_MAX_KEY_BYTES, is_text
from execution.engine.temporaries import MYSQL_TABLE, Temporary, staging_table

# Case-, accent- and trailing-space-sensitive collations, best first: MariaDB's
# NO PAD binary, MySQL 8's, then utf8mb4_bin, which ignores trailing spaces
# ('x' = 'x ') and so is only the last resort of an old server.
TEXT_COLLATIONS = ("utf8mb4_nopad_bin", "utf8mb4_0900_bin", "utf8mb4_bin")
_DATA_TOO_LONG = 1406


def folds_case_or_accents(collation: str) -> bool:
    """`utf8mb4_general_ci`, `utf8mb4_0900_ai_ci`, `latin1_swedish_ci`: 'a' = 'A' (or 'é' = 'e')."""
    return "_ci" in collation or "_ai" in collation


def ignores_trailing_spaces(collation: str) -> bool:
    """PAD SPACE collations compare 'x' and 'x ' as equal; NO PAD ones
    (MariaDB's `*_nopad_*`, MySQL 8's `*_0900_*`) and `binary` do not."""
    return not ("nopad" in collation or "_0900_" in collation or collation == "binary")


@register(
    "mysql_sink",
    kind=SINK,
    outputs=(),
    summary="Load a MySQL/MariaDB table inside one transaction (append, replace or upsert).",
    config_schema=database_sink_schema(connection_required=True),
    example={"connection": "shop", "table": "flights_copy", "mode": "upsert", "key": ["flight_id"]},
)
class MySQLSink(InsertingSink):
    """Zoned timestamps are stored in UTC (MySQL has no zoned type). Upsert
    needs a primary key or unique index on `key`, compared case- and
    accent-sensitively. A missing table is loaded as a staging table and
    renamed at commit; its text compares exactly (utf8mb4_nopad_bin on
    MariaDB, utf8mb4_0900_bin on MySQL 8) and a text key holds up to 768
    characters (fewer when the key has several columns)."""

    dialect = MYSQL
    driver_errors = (pymysql.MySQLError,)

    def __init__(self, name, config, ctx):
        super().__init__(name, config, ctx)
        self.staging: Temporary | None = None
        # Text column -> the most characters it holds (VARCHAR/CHAR).
        self.text_limits: dict[str, int] = {}
        # Column -> collation, for the existing table's text columns.
        self.collations: dict[str, str] = {}
        # Key columns whose collation ignores trailing spaces (upsert only).
        self.padded_keys: dict[str, str] = {}

    def existing_columns(self):
        with self.connection.cursor() as cursor:
            cursor.execute(
                "SELECT ENGINE FROM information_schema.TABLES WHERE TABLE_SCHEMA = COALESCE(%s, DATABASE()) "
                "AND TABLE_NAME = %s",
                (self.schema_name, self.table_name),
            )
            row = cursor.fetchone()
            if row is None:
                return None
            if (row[0] or "").lower() != "innodb":
                raise EngineError(
                    f"Table {self.config['table']} uses the {row[0]} engine, which cannot roll back a "
                    "failed load; convert it to InnoDB.",
                    component=self.name,
                    field="config.table",
                )
            cursor.execute(
                "SELECT COLUMN_NAME, DATA_TYPE, CHARACTER_MAXIMUM_LENGTH, COLLATION_NAME "
                "FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = COALESCE(%s, DATABASE()) "
                "AND TABLE_NAME = %s ORDER BY ORDINAL_POSITION",
                (self.schema_name, self.table_name),
            )
            rows = cursor.fetchall()
        self.text_limits = {
            name: int(length) for name, data_type, length, _ in rows if data_type in ("varchar", "char")
        }
        self.collations = {name: collation for name, _, _, collation in rows if collation}
        return [row[0] for row in rows]

    def check_existing(self):
        if self.mode != "upsert":
            return
        for column in self.key:
            collation = self.collations.get(column)
            if collation and folds_case_or_accents(collation):
                raise EngineError(
                    f"Key column {column!r} of table {self.config['table']} uses the collation "
                    f"{collation}, which compares keys that differ only in case or accents as equal "
                    "('Afterlife' = 'AfterLife'): an upsert would merge distinct keys into one row. Give "
                    f"the column a binary collation (ALTER TABLE ... MODIFY {column} ... COLLATE "
                    f"{TEXT_COLLATIONS[0]} on MariaDB, {TEXT_COLLATIONS[1]} on MySQL 8), or load a new table.",
                    component=self.name,
                    field="config.key",
                )
        self.padded_keys = {
            column: self.collations[column]
            for column in self.key
            if column in self.collations and ignores_trailing_spaces(self.collations[column])
        }

    def create(self, schema):
        collation = self._text_collation()
        name = staging_table(self.table_name)
        self.staging = Temporary(
            MYSQL_TABLE, f"{self.schema_name}.{name}" if self.schema_name else name, self.config["connection"]
        )
        self.load_target = self.dialect.table(self.schema_name, name)
        self.making(self.staging)
        with self.connection.cursor() as cursor:
            cursor.execute(
                self.dialect.create_table(
                    self.load_target, schema, self.key, component=self.name, collation=collation
                )
            )
        self.created_table = True
        text_keys = [column for column in self.key if column in schema and is_text(schema[column])]
        length = self.dialect.key_text_length(schema, self.key)
        self.text_limits = dict.fromkeys(text_keys, length)
        if self.mode == "upsert" and ignores_trailing_spaces(collation):
            self.padded_keys = dict.fromkeys(text_keys, collation)

    def _text_collation(self) -> str:
        with self.connection.cursor() as cursor:
            cursor.execute(
                "SELECT COLLATION_NAME FROM information_schema.COLLATIONS WHERE COLLATION_NAME IN (%s, %s, %s)",
                TEXT_COLLATIONS,
            )
            available = {row[0] for row in cursor.fetchall()}
        return next((c for c in TEXT_COLLATIONS if c in available), TEXT_COLLATIONS[-1])

    def check_batch(self, batch):
        limited = [c for c in self.text_limits if batch.schema.get(c) == pl.String]
        if limited:
            longest = batch.select(pl.col(limited).str.len_chars().max()).row(0)
            for column, length in zip(limited, longest, strict=True):
                if length is not None and length > self.text_limits[column]:
                    raise self._too_long(column, length)
        padded = [c for c in self.padded_keys if batch.schema.get(c) == pl.String]
        if padded:
            spaced = batch.select(pl.col(padded).str.ends_with(" ").any()).row(0)
            for column, found in zip(padded, spaced, strict=True):
                if found:
                    value = batch.filter(pl.col(column).str.ends_with(" "))[column][0]
                    raise EngineError(
                        f"Key column {column!r} has the value {value!r}, which ends in a space, but its "
                        f"collation {self.padded_keys[column]} ignores trailing spaces: the upsert would "
                        f"overwrite the row of {value.rstrip(' ')!r}. Give the column a NO PAD collation "
                        f"({TEXT_COLLATIONS[0]} on MariaDB, {TEXT_COLLATIONS[1]} on MySQL 8).",
                        component=self.name,
                        field="config.key",
                    )

    def _too_long(self, column: str, length: int) -> EngineError:
        limit = self.text_limits[column]
        if self.staging is not None:
            message = (
                f"Key column {column!r} holds a value of {length} characters; a text key of a table the "
                f"sink creates holds at most {limit} (InnoDB keys are {MYSQL_MAX_KEY_BYTES} bytes, up to 4 "
                "a character). Use a shorter key (e.g. derive a hash of it), or create the table yourself."
            )
        else:
            message = (
                f"Column {column!r} holds a value of {length} characters, but {self.config['table']}.{column} "
                f"holds at most {limit}; widen the column or shorten the values."
            )
        return EngineError(message, component=self.name, field="config.key" if column in self.key else None)

    def connect(self):
        settings = dict(connection_settings(self, self.config))
        if settings.get("url"):
            settings = {**from_url(settings["url"]), **{k: v for k, v in settings.items() if k != "url"}}
        # LOAD DATA LOCAL unless the connection's options say `local_infile: false`.
        settings["options"] = {"local_infile": True, **(settings.get("options") or {})}
        self.client_local_infile = truthy(settings["options"]["local_infile"])
        return open_connection(settings, deadline=self.ctx.deadline)

    def start_load(self):
        # autocommit is off: the session's implicit transaction already holds the
        # DELETE of `replace`; an explicit BEGIN here would commit it.
        self.loader = None
        self.stage = None
        if self._can_load_data():
            self._start_load_data()
            return
        self.statement = self.insert_statement()
        if self.mode == "upsert":
            self.statement += " ON DUPLICATE KEY UPDATE " + self._updates("VALUES({})")

    def _updates(self, source: str) -> str:
        quote = self.dialect.quote
        updates = [c for c in self.columns if c not in self.key] or self.key[:1]
        return ", ".join(f"{quote(c)} = {source.format(quote(c))}" for c in updates)

    def _can_load_data(self) -> bool:
        """LOAD DATA LOCAL INFILE when both ends allow it, else INSERTs (logged)."""
        unloadable = local_infile.loadable(self.schema)
        if unloadable:
            reason = f"column(s) {unloadable} have types LOAD DATA cannot carry"
        elif not self.client_local_infile:
            reason = "the connection's options set local_infile off"
        else:
            with self.connection.cursor() as cursor:
                cursor.execute("SELECT @@GLOBAL.local_infile")
                if truthy(cursor.fetchone()[0]):
                    return True
            reason = "the server refuses LOAD DATA LOCAL INFILE (its local_infile is OFF)"
        self.log("info", f"Loading with multi-row INSERTs, slower than LOAD DATA: {reason}.")
        return False

    def _start_load_data(self):
        target = self.load_target
        if self.mode == "upsert":
            # Loaded first into a temporary table numbering the rows, merged in
            # load order at the end: the last row of a key wins, as with INSERTs.
            # (CREATE TEMPORARY TABLE does not commit; the session drops it.)
            self.stage = self.dialect.quote(f"etl_stage_{secrets.token_hex(4)}")
            self.stage_order = self.dialect.quote(f"etl_load_order_{secrets.token_hex(4)}")
            order = f"{self.stage_order} BIGINT AUTO_INCREMENT PRIMARY KEY"
            columns = f"SELECT {self.quoted_columns()} FROM {self.load_target} LIMIT 0"  # noqa: S608
            with self.connection.cursor() as cursor:
                cursor.execute(f"CREATE TEMPORARY TABLE {self.stage} ({order}) ENGINE=InnoDB AS {columns}")
            target = self.stage
        statement = local_infile.load_statement(target, self.columns, self.schema, self.dialect.quote)
        self.loader = local_infile.Loader(self.connection, statement, self.name)

    def load(self, batch):
        if self.loader is None:
            super().load(batch)
            return
        self.loader.send(batch)

    def finish_load(self):
        loader = getattr(self, "loader", None)
        if loader is None:
            return
        self.loader = None
        loader.finish()
        if self.stage is None:
            return
        with self.connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {self.load_target} ({self.quoted_columns()}) "  # noqa: S608 - quoted identifiers
                f"SELECT {self.quoted_columns()} FROM {self.stage} ORDER BY {self.stage_order} "
                f"ON DUPLICATE KEY UPDATE {self._updates('VALUES({})')}"
            )
            cursor.execute(f"DROP TEMPORARY TABLE {self.stage}")

    def abort_load(self):
        loader = getattr(self, "loader", None)
        if loader is not None:
            self.loader = None
            loader.abort()

    def commit(self):
        super().commit()
        if self.staging is None:
            return
        try:
            with self.connection.cursor() as cursor:
                cursor.execute(f"RENAME TABLE {self.load_target} TO {self.qualified}")
        except pymysql.MySQLError as error:
            raise EngineError(
                f"The loaded rows could not be put in place as {self.config['table']}: {_message(error)} "
                "(was the table created by someone else meanwhile?)",
                component=self.name,
                field="config.table",
            ) from None
        self.gone(self.staging)

    def rollback(self):
        super().rollback()
        if self.staging is None:
            return
        try:
            with self.connection.cursor() as cursor:
                cursor.execute(f"DROP TABLE IF EXISTS {self.load_target}")
        except pymysql.MySQLError as error:
            self.log("warning", f"Could not drop {self.staging.describe()}: {_message(error)}")
            return
        self.gone(self.staging)

    def explain(self, error):
        if error.args and error.args[0] == _DATA_TOO_LONG:
            return EngineError(
                f"A value is too long for its column: {_message(error)}", component=self.name, field=None
            )
        return super().explain(error)

    def python_rows(self, batch):
        zoned = [c for c, t in batch.schema.items() if isinstance(t, pl.Datetime) and t.time_zone]
        if zoned:
            batch = batch.with_columns(pl.col(zoned).dt.convert_time_zone("UTC").dt.replace_time_zone(None))
        return batch.rows()


def _message(error) -> str:
    text = str(error.args[1]) if len(error.args) > 1 else str(error)
    # PyMySQL raises InterfaceError(0, '') on a connection the server closed.
    return text or "the connection to the server is gone"
