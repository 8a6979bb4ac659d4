"""Keys that differ only in case, accents or a trailing space stay distinct
rows in every database sink; long keys load or fail naming the column."""

import sqlite3

import pytest

from execution.engine.errors import EngineError
from execution.engine.runner import run_job
from tests.engine.helpers import context, inline

KEYS = ["Afterlife", "AfterLife", "Gégé", "Gege", "x", "x "]


def upsert(sink_type, config, data_root, keys=KEYS, connections=None):
    rows = [{"k": key, "n": i} for i, key in enumerate(keys)]
    components = [
        inline("src", rows, {"k": "string", "n": "int"}),
        {
            "name": "out",
            "type": sink_type,
            "inputs": ["src"],
            "config": {**config, "mode": "upsert", "key": ["k"]},
        },
    ]
    return run_job(components, context(data_root, connections=connections, batch_size=2))


def mysql_rows(mysql_target, table="t"):
    with mysql_target["conn"].cursor() as cursor:
        cursor.execute(f"SELECT k, n FROM `{table}` ORDER BY n")
        return [tuple(row) for row in cursor.fetchall()]


def mysql_tables(mysql_target):
    with mysql_target["conn"].cursor() as cursor:
        cursor.execute("SHOW TABLES")
        return sorted(row[0] for row in cursor.fetchall())


def mysql_upsert(mysql_target, data_root, keys=KEYS):
    return upsert(
        "mysql_sink",
        {"connection": "my", "table": "t"},
        data_root,
        keys,
        connections={"my": mysql_target["connection"]},
    )


@pytest.mark.mysql
def test_mariadb_keeps_six_keys_that_differ_only_in_case_accents_or_a_trailing_space(mysql_target, data_root):
    result = mysql_upsert(mysql_target, data_root)
    assert result.components["out"]["rows_out"] == 6
    assert mysql_rows(mysql_target) == [(key, i) for i, key in enumerate(KEYS)]
    with mysql_target["conn"].cursor() as cursor:
        cursor.execute(
            "SELECT COLLATION_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() "
            "AND TABLE_NAME = 't' AND COLUMN_NAME = 'k'"
        )
        assert cursor.fetchone() == ("utf8mb4_nopad_bin",)

    # The created key is a real key: upserting again updates the same six rows.
    mysql_upsert(mysql_target, data_root)
    assert len(mysql_rows(mysql_target)) == 6


@pytest.mark.postgres
def test_postgres_keeps_the_six_keys(pg_target, data_root):
    table = f"{pg_target['schema']}.t"
    result = upsert(
        "postgres_sink",
        {"connection": "pg", "table": table},
        data_root,
        connections={"pg": pg_target["connection"]},
    )
    assert result.components["out"]["rows_out"] == 6
    rows = pg_target["conn"].execute(f"SELECT k, n FROM {table} ORDER BY n").fetchall()
    assert rows == [(key, i) for i, key in enumerate(KEYS)]


def test_sqlite_keeps_the_six_keys(data_root):
    result = upsert("sqlite_sink", {"path": "keys.sqlite3", "table": "t"}, data_root)
    assert result.components["out"]["rows_out"] == 6
    with sqlite3.connect(data_root / "keys.sqlite3") as connection:
        rows = connection.execute("SELECT k, n FROM t ORDER BY n").fetchall()
    assert rows == [(key, i) for i, key in enumerate(KEYS)]


@pytest.mark.mysql
def test_a_300_character_key_loads_into_a_created_mariadb_table(mysql_target, data_root):
    keys = ["k" * 300, "k" * 299 + "K"]
    mysql_upsert(mysql_target, data_root, keys)
    assert mysql_rows(mysql_target) == [(keys[0], 0), (keys[1], 1)]


@pytest.mark.mysql
def test_a_key_longer_than_a_created_table_holds_fails_naming_the_column(mysql_target, data_root):
    with pytest.raises(EngineError) as raised:
        mysql_upsert(mysql_target, data_root, ["short", "k" * 1000])
    error = raised.value
    assert (error.component, error.field) == ("out", "config.key")
    assert "Key column 'k' holds a value of 1000 characters" in error.message
    assert "at most 768" in error.message
    assert mysql_tables(mysql_target) == [], "the staging table was left"


@pytest.mark.mysql
def test_a_value_longer_than_an_existing_varchar_fails_naming_the_column(mysql_target, data_root):
    with mysql_target["conn"].cursor() as cursor:
        cursor.execute("CREATE TABLE t (k VARCHAR(20) COLLATE utf8mb4_nopad_bin PRIMARY KEY, n BIGINT)")
        cursor.execute("INSERT INTO t VALUES ('old', -1)")
    with pytest.raises(EngineError) as raised:
        mysql_upsert(mysql_target, data_root, ["fits", "k" * 21])
    assert raised.value.field == "config.key"
    assert "Column 'k' holds a value of 21 characters, but t.k holds at most 20" in raised.value.message
    assert mysql_rows(mysql_target) == [("old", -1)]


@pytest.mark.mysql
@pytest.mark.parametrize("collation", ["utf8mb4_general_ci", "utf8mb4_unicode_ci"])
def test_an_upsert_into_a_case_insensitive_key_is_refused_before_writing(mysql_target, data_root, collation):
    with mysql_target["conn"].cursor() as cursor:
        cursor.execute(
            f"CREATE TABLE t (k VARCHAR(50) COLLATE {collation} PRIMARY KEY, n BIGINT) ENGINE=InnoDB"
        )
        cursor.execute("INSERT INTO t VALUES ('old', -1)")
    with pytest.raises(EngineError) as raised:
        mysql_upsert(mysql_target, data_root)
    error = raised.value
    assert (error.component, error.field) == ("out", "config.key")
    assert f"Key column 'k' of table t uses the collation {collation}" in error.message
    assert "utf8mb4_nopad_bin" in error.message
    assert mysql_rows(mysql_target) == [("old", -1)]


@pytest.mark.mysql
def test_an_upsert_of_a_key_ending_in_a_space_into_a_pad_space_key_is_refused(mysql_target, data_root):
    with mysql_target["conn"].cursor() as cursor:
        cursor.execute(
            "CREATE TABLE t (k VARCHAR(50) COLLATE utf8mb4_bin PRIMARY KEY, n BIGINT) ENGINE=InnoDB"
        )
        cursor.execute("INSERT INTO t VALUES ('old', -1)")
    with pytest.raises(EngineError) as raised:
        mysql_upsert(mysql_target, data_root)
    assert raised.value.field == "config.key"
    assert "'x ', which ends in a space" in raised.value.message
    assert "utf8mb4_bin ignores trailing spaces" in raised.value.message
    assert mysql_rows(mysql_target) == [("old", -1)]
