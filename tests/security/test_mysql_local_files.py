"""A MySQL server may ask the client for any local file at any statement
(LOAD DATA LOCAL). The engine's connections send only the file the running
load offered: a request for anything else is refused without reading it."""

import pytest

from execution.engine.connections import open_connection
from tests.conftest import server_setting_lock

pytestmark = pytest.mark.mysql


@pytest.fixture
def loading_connection(mysql_target):
    # These loads need the server's local_infile on: not while another test process turned it off.
    with server_setting_lock(mysql_target["conn"]):
        connection = open_connection({**mysql_target["connection"], "options": {"local_infile": True}})
        with connection.cursor() as cursor:
            cursor.execute("CREATE TABLE grab (line longtext) ENGINE=InnoDB")
        yield connection
        connection.close()


def grabbed(mysql_target):
    with mysql_target["conn"].cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM grab")
        return cursor.fetchone()[0]


def test_a_file_no_load_offered_is_not_sent(mysql_target, loading_connection, tmp_path):
    secret = tmp_path / "secret.env"
    secret.write_text("SECRET_KEY=do-not-send\n")
    with loading_connection.cursor() as cursor, pytest.raises(Exception, match="did not offer; refused"):
        cursor.execute(f"LOAD DATA LOCAL INFILE '{secret}' INTO TABLE grab")
    loading_connection.commit()
    assert grabbed(mysql_target) == 0
    # The connection stays usable.
    with loading_connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        assert cursor.fetchone() == (1,)


def test_only_the_offered_file_is_sent(mysql_target, loading_connection, tmp_path):
    offered, other = tmp_path / "offered.csv", tmp_path / "other.csv"
    offered.write_text("fine\n")
    other.write_text("SECRET\n")
    loading_connection.offered_file = str(offered).encode()
    with loading_connection.cursor() as cursor:
        with pytest.raises(Exception, match="did not offer; refused"):
            cursor.execute(f"LOAD DATA LOCAL INFILE '{other}' INTO TABLE grab")
        cursor.execute(f"LOAD DATA LOCAL INFILE '{offered}' INTO TABLE grab")
    loading_connection.commit()
    with mysql_target["conn"].cursor() as cursor:
        cursor.execute("SELECT line FROM grab")
        assert cursor.fetchall() == (("fine",),)


def test_a_source_connection_never_sends_files(mysql_target, tmp_path):
    secret = tmp_path / "secret.env"
    secret.write_text("x\n")
    connection = open_connection(mysql_target["connection"])
    try:
        with connection.cursor() as cursor:
            cursor.execute("CREATE TABLE grab (line longtext) ENGINE=InnoDB")
            with pytest.raises(Exception, match="(?i)not allowed|disabled|local_infile|refused"):
                cursor.execute(f"LOAD DATA LOCAL INFILE '{secret}' INTO TABLE grab")
    finally:
        connection.close()
    assert grabbed(mysql_target) == 0
