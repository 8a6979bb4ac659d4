"""A run's deadline bounds every statement and lock wait on its database connections."""

import time

import pytest

from execution.engine.connections import open_connection


@pytest.mark.postgres
def test_postgres_statements_and_lock_waits_end_at_the_deadline(pg_target):
    connection = open_connection(pg_target["connection"], autocommit=True, deadline=time.time() + 30)
    try:
        statement = connection.execute("SHOW statement_timeout").fetchone()[0]
        lock = connection.execute("SHOW lock_timeout").fetchone()[0]
    finally:
        connection.close()
    assert statement == lock
    assert 25_000 <= milliseconds(statement) <= 30_000


def milliseconds(shown: str) -> int:
    """PostgreSQL shows `29990ms` or `30s`."""
    return int(shown[:-2]) if shown.endswith("ms") else int(shown[:-1]) * 1000


@pytest.mark.postgres
def test_without_a_deadline_postgres_keeps_its_defaults(pg_target):
    connection = open_connection(pg_target["connection"], autocommit=True)
    try:
        assert connection.execute("SHOW statement_timeout").fetchone()[0] == "0"
    finally:
        connection.close()


@pytest.mark.mysql
def test_mysql_lock_waits_end_at_the_deadline(mysql_target):
    connection = open_connection(mysql_target["connection"], autocommit=True, deadline=time.time() + 7.2)
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT @@SESSION.innodb_lock_wait_timeout, @@SESSION.lock_wait_timeout")
            assert cursor.fetchone() == (8, 8)
    finally:
        connection.close()
