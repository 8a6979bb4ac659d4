"""Open database connections from plain dicts.

A connection dict is either
`{"kind": "postgres"|"mysql"|"sqlite", "host", "port", "database", "user", "password", "options": {}}`
or `{"kind": ..., "url": "postgresql://..."}`. For sqlite, `database` (or the
URL's path) is the database file.

Error messages never contain the password: drivers sometimes echo the
connection string, so it is scrubbed from every message raised here.
"""

import math
import sqlite3
import time
from urllib.parse import parse_qsl, quote, unquote, urlparse

import psycopg
import pymysql
from psycopg.conninfo import make_conninfo

from execution.engine.errors import EngineError
from execution.engine.mysql_local_infile import GuardedConnection

KINDS = ("postgres", "mysql", "sqlite")
CONNECT_TIMEOUT_SECONDS = 10
# How long a SQLite statement waits for another writer's lock (sqlite3's default).
SQLITE_BUSY_SECONDS = 5.0
_URL_SCHEMES = {
    "postgres": "postgres",
    "postgresql": "postgres",
    "mysql": "mysql",
    "mariadb": "mysql",
    "sqlite": "sqlite",
}


class ConnectionFailed(EngineError):
    pass


def from_url(url: str) -> dict:
    """`postgresql://u:p@h:5432/db` -> a connection dict (the URL is kept for postgres)."""
    parsed = urlparse(url)
    kind = _URL_SCHEMES.get(parsed.scheme.split("+")[0])
    if kind is None:
        raise ConnectionFailed(
            f"Unknown URL scheme {parsed.scheme!r}; use postgresql://, mysql:// or sqlite:///path."
        )
    if kind == "sqlite":
        # sqlite:///abs/path and sqlite:////abs/path both name /abs/path.
        path = unquote(parsed.path)
        return {"kind": "sqlite", "database": "/" + path.lstrip("/") if path.startswith("/") else path}
    return {
        "kind": kind,
        "host": parsed.hostname or "127.0.0.1",
        "port": parsed.port,
        "database": unquote(parsed.path.lstrip("/")),
        "user": unquote(parsed.username or ""),
        "password": unquote(parsed.password or ""),
        "options": dict(parse_qsl(parsed.query)),
    }


def _normalized(conn: dict) -> dict:
    if conn.get("url"):
        return {**from_url(conn["url"]), **{k: v for k, v in conn.items() if k not in ("url", "kind")}}
    if conn.get("kind") not in KINDS:
        raise ConnectionFailed(
            f"Connection kind must be one of {', '.join(KINDS)}, not {conn.get('kind')!r}."
        )
    return conn


def _scrub(message: str, conn: dict) -> str:
    for secret in {conn.get("password"), unquote(urlparse(conn.get("url") or "").password or "")}:
        if secret:
            message = message.replace(secret, "***")
    return message


def open_connection(conn: dict, *, autocommit: bool = False, deadline: float | None = None):
    """A DB-API connection (psycopg, PyMySQL or sqlite3); raises ConnectionFailed.

    With a `deadline` (a time.time() value: when the run must be over), no
    statement and no lock wait on this connection may last past it, so a load
    blocked on a locked table ends with the job's timeout instead of hanging.
    """
    wait = None if deadline is None else max(0.001, deadline - time.time())
    try:
        settings = _normalized(conn)
        kind = settings["kind"]
        if kind == "postgres":
            return _open_postgres(settings, autocommit, wait)
        if kind == "mysql":
            return _open_mysql(settings, autocommit, wait)
        return _open_sqlite(settings, autocommit, wait)
    except ConnectionFailed as error:
        raise ConnectionFailed(_scrub(error.message, conn)) from None
    except (psycopg.Error, pymysql.MySQLError, sqlite3.Error, OSError, ValueError, TypeError) as error:
        kind = conn.get("kind") or "database"
        raise ConnectionFailed(
            _scrub(f"Cannot connect to the {kind} database: {error}", conn).strip()
        ) from None


def check_connection(conn: dict) -> None:
    """Connect and run a trivial query; raises ConnectionFailed with a password-free message."""
    connection = open_connection(conn, autocommit=True)
    try:
        cursor = connection.cursor()
        cursor.execute("SELECT 1")
        cursor.fetchall()
    except (psycopg.Error, pymysql.MySQLError, sqlite3.Error) as error:
        raise ConnectionFailed(_scrub(f"The database answered with an error: {error}", conn)) from None
    finally:
        connection.close()


def postgres_conninfo(conn: dict, *, deadline: float | None = None) -> str:
    """The libpq connection string of a postgres connection dict, with the same
    timeouts as `open_connection` (for drivers other than psycopg, e.g. ADBC)."""
    wait = None if deadline is None else max(0.001, deadline - time.time())
    try:
        return make_conninfo(**_postgres_parameters(_normalized(conn), wait))
    except ConnectionFailed as error:
        raise ConnectionFailed(_scrub(error.message, conn)) from None
    except (psycopg.Error, ValueError, TypeError) as error:
        raise ConnectionFailed(_scrub(f"Cannot connect to the postgres database: {error}", conn)) from None


def scrub(message: str, conn: dict) -> str:
    """`message` without the connection's password."""
    return _scrub(message, conn)


def _postgres_parameters(settings, wait) -> dict:
    options = dict(settings.get("options") or {})
    options.setdefault("connect_timeout", CONNECT_TIMEOUT_SECONDS)
    options.setdefault("application_name", "etlsite")
    if wait is not None:
        milliseconds = max(1, int(wait * 1000))
        limits = f"-c statement_timeout={milliseconds} -c lock_timeout={milliseconds}"
        options["options"] = f"{options.get('options', '')} {limits}".strip()
    parameters = {
        "host": settings.get("host") or "127.0.0.1",
        "port": settings.get("port") or 5432,
        "dbname": settings.get("database") or None,
        "user": settings.get("user") or None,
        "password": settings.get("password") or None,
        **options,
    }
    return {key: value for key, value in parameters.items() if value is not None}


def _open_postgres(settings, autocommit, wait):
    return psycopg.connect(autocommit=autocommit, **_postgres_parameters(settings, wait))


def _open_mysql(settings, autocommit, wait):
    options = dict(settings.get("options") or {})
    options.setdefault("connect_timeout", CONNECT_TIMEOUT_SECONDS)
    if wait is not None:
        # Row locks (InnoDB) and table/metadata locks; whole seconds, at least 1.
        seconds = max(1, math.ceil(wait))
        options.setdefault(
            "init_command",
            f"SET SESSION innodb_lock_wait_timeout={seconds}, SESSION lock_wait_timeout={seconds}",
        )
    if "local_infile" in options:
        options["local_infile"] = truthy(options["local_infile"])
    # Guarded: a server may ask for a local file only when a load offered it.
    return GuardedConnection(
        host=settings.get("host") or "127.0.0.1",
        port=int(settings.get("port") or 3306),
        user=settings.get("user") or None,
        password=settings.get("password") or "",
        database=settings.get("database") or None,
        charset="utf8mb4",
        autocommit=autocommit,
        **options,
    )


def truthy(value) -> bool:
    """An option's value as a boolean: URL query values are text (`?local_infile=0`)."""
    if isinstance(value, str):
        return value.strip().lower() not in ("", "0", "false", "no", "off")
    return bool(value)


def _open_sqlite(settings, autocommit, wait):
    """Opens an existing file only (a typo must not create an empty database).
    Transactions are always explicit (BEGIN/COMMIT), hence isolation_level=None."""
    path = settings.get("database")
    if not path:
        raise ConnectionFailed("A sqlite connection needs `database`: the database file.")
    busy_wait = SQLITE_BUSY_SECONDS if wait is None else min(SQLITE_BUSY_SECONDS, wait)
    return sqlite3.connect(
        f"file:{quote(str(path))}?mode=rw", uri=True, isolation_level=None, timeout=busy_wait
    )
