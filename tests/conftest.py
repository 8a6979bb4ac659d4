"""Shared fixtures: users and API clients, and real database targets.

PostgreSQL/MariaDB tests skip when the service is down on a laptop; in CI
(`ETL_REQUIRE_SERVICES=1`, set by .ci/run) a missing service fails them instead.
"""

import contextlib
import os
import uuid

import psycopg
import pymysql
import pytest
import redis
from django.contrib.auth.models import Group, Permission, User
from django.core.cache import cache
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from contexts.models import Context, Credential
from etlsite.configuration import clear_cache as clear_configuration_cache
from monitoring import request_metrics
from monitoring.setup import ensure_roles
from tests.execution.qcluster import QCluster

PG_ADMIN_URL = os.environ.get("ETL_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
MYSQL_HOST = os.environ.get("ETL_TEST_MYSQL_HOST", "127.0.0.1")
MYSQL_PORT = int(os.environ.get("ETL_TEST_MYSQL_PORT", "3306"))
MYSQL_USER = os.environ.get("ETL_TEST_MYSQL_USER", "root")
MYSQL_PASSWORD = os.environ.get("ETL_TEST_MYSQL_PASSWORD", "")
REDIS_URL = os.environ.get("ETL_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def _service_missing(name: str, error: Exception):
    message = f"{name} is not reachable: {error}"
    if os.environ.get("ETL_REQUIRE_SERVICES") == "1":
        pytest.fail(message)
    pytest.skip(message)


# DEBUG is off under pytest, so contexts refuse to encrypt secrets without a
# configured key (contexts/crypto.py); every test gets this fixed one.
TEST_CREDENTIALS_KEY = "jG_IK6fTzGR-fW7TfJ8ijn41gO111y0EeAAnvqXVlso="


@pytest.fixture(autouse=True)
def credentials_key(settings):
    settings.ETL_CREDENTIALS_KEY = TEST_CREDENTIALS_KEY


@pytest.fixture
def pg_target():
    """A fresh PostgreSQL schema, dropped afterwards.

    Yields a dict: `url` (libpq URL), `schema`, `connection` (engine connection
    dict of kind postgres) and `conn` (an autocommit psycopg connection for
    assertions).
    """
    try:
        conn = psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as error:
        _service_missing("PostgreSQL", error)
    schema = f"t_{uuid.uuid4().hex[:12]}"
    conn.execute(f'CREATE SCHEMA "{schema}"')
    info = conn.info
    try:
        yield {
            "url": PG_ADMIN_URL,
            "schema": schema,
            "conn": conn,
            "connection": {
                "kind": "postgres",
                "host": info.host,
                "port": info.port,
                "database": info.dbname,
                "user": info.user,
                "password": info.password or "",
            },
        }
    finally:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        conn.close()


@pytest.fixture
def mysql_target():
    """A fresh MariaDB/MySQL database, dropped afterwards (same keys as pg_target,
    with `database` instead of `schema`)."""
    try:
        conn = pymysql.connect(
            host=MYSQL_HOST,
            port=MYSQL_PORT,
            user=MYSQL_USER,
            password=MYSQL_PASSWORD,
            autocommit=True,
            connect_timeout=3,
        )
    except pymysql.MySQLError as error:
        _service_missing("MariaDB", error)
    database = f"t_{uuid.uuid4().hex[:12]}"
    with conn.cursor() as cursor:
        cursor.execute(f"CREATE DATABASE `{database}` CHARACTER SET utf8mb4")
    conn.select_db(database)
    try:
        yield {
            "database": database,
            "conn": conn,
            "connection": {
                "kind": "mysql",
                "host": MYSQL_HOST,
                "port": MYSQL_PORT,
                "database": database,
                "user": MYSQL_USER,
                "password": MYSQL_PASSWORD,
            },
        }
    finally:
        with conn.cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS `{database}`")
        conn.close()


@pytest.fixture
def redis_cache(settings):
    """The default cache on the real Redis, under a key prefix of its own."""
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as error:
        _service_missing("Redis", error)
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": f"test-{uuid.uuid4().hex}",
        }
    }


@pytest.fixture
def data_root(tmp_path, settings):
    """A temporary folder configured as the only ETL data root."""
    root = tmp_path / "data"
    root.mkdir()
    settings.ETL_DATA_ROOTS = [str(root.resolve())]
    return root


def make_user(username: str, *perms: str, superuser: bool = False) -> User:
    """A user holding the given `app_label.codename` permissions."""
    user = User.objects.create_user(username, f"{username}@example.com", "pw-" + uuid.uuid4().hex)
    user.is_superuser = superuser
    user.is_staff = superuser
    user.save()
    for perm in perms:
        app_label, codename = perm.split(".")
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label=app_label, codename=codename)
        )
    return user


def client_for(user: User | None) -> APIClient:
    """An API client authenticated with the user's token (anonymous for None)."""
    client = APIClient()
    if user is not None:
        token, _ = Token.objects.get_or_create(user=user)
        client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


@pytest.fixture
def admin_user(db):
    return make_user("admin", superuser=True)


@pytest.fixture
def admin_client(admin_user):
    return client_for(admin_user)


@pytest.fixture
def reader_client(db):
    """Authenticated, no model permissions: may read, may not write."""
    return client_for(make_user("reader"))


def user_in_role(username: str, role: str | None) -> User:
    """A user in one of the roles `manage.py initialize` creates (design.md's security model)."""
    user = make_user(username)
    if role:
        ensure_roles()
        user.groups.add(Group.objects.get(name=role))
    return user


@pytest.fixture
def operator(db):
    """A member of the operator role: reads, and starts and controls runs."""
    return user_in_role("operator", "operator")


@pytest.fixture
def operator_client(operator):
    return client_for(operator)


@pytest.fixture
def anon_client():
    return client_for(None)


@pytest.fixture(autouse=True)
def fresh_rate_limits(request, django_db_blocker):
    """Rate-limit counts live in the cache, whose table no test transaction or
    flush empties: a login test would start with another test's failed tries."""
    if request.node.get_closest_marker("django_db") or {"db", "transactional_db"} & set(request.fixturenames):
        request.getfixturevalue("django_db_setup")
        with django_db_blocker.unblock():
            cache.clear()


@pytest.fixture(autouse=True)
def fresh_system_configuration():
    """Each process caches the system configuration for a few seconds; a value
    a test stored (and rolled back) must not leak into the next test."""
    clear_configuration_cache()
    yield
    clear_configuration_cache()


@pytest.fixture(autouse=True)
def own_request_metrics():
    """Each test's API requests are counted from zero (tests run in prometheus-client's
    single-process mode): nothing one test records shows up in another's figures."""
    request_metrics.requests_total.clear()
    request_metrics.request_seconds.clear()


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """Real hashing costs ~0.5 s per user on this machine; tests create many."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def qcluster(transactional_db, data_root, tmp_path):
    """A real `manage.py qcluster` worker process on the test database; its
    output is printed (shown when the test fails)."""
    cluster = QCluster(tmp_path / "qcluster.log", data_root)
    try:
        cluster.wait_ready()
        yield cluster
    finally:
        cluster.stop()
        print(cluster.output())


@pytest.fixture
def warehouse(pg_target, db):
    """`pg_target` plus a context `warehouse_ctx` holding a `warehouse` credential for it."""
    context = Context.objects.create(name="warehouse_ctx")
    connection = pg_target["connection"]
    credential = Credential(
        context=context,
        name="warehouse",
        kind=Credential.Kind.POSTGRES,
        config={key: connection[key] for key in ("host", "port", "database", "user")},
    )
    if connection["password"]:
        credential.update_secrets({"password": connection["password"]})
    credential.save()
    return pg_target | {"context": context}


@pytest.fixture
def shop(mysql_target, db):
    """`mysql_target` plus a context `shop_ctx` holding a `shop` credential for it."""
    context = Context.objects.create(name="shop_ctx")
    connection = mysql_target["connection"]
    credential = Credential(
        context=context,
        name="shop",
        kind=Credential.Kind.MYSQL,
        config={key: connection[key] for key in ("host", "port", "database", "user")},
    )
    if connection["password"]:
        credential.update_secrets({"password": connection["password"]})
    credential.save()
    return mysql_target | {"context": context}


@contextlib.contextmanager
def server_setting_lock(connection, timeout: int = 120):
    """Hold a MariaDB named lock while a test relies on (or changes) a global
    server variable such as local_infile: another test process doing the same
    waits instead of reading the other's temporary value as the one to restore."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT GET_LOCK('etlsite_tests_server_settings', %s)", (timeout,))
        if cursor.fetchone()[0] != 1:
            pytest.fail("Another test process held the server-settings lock for too long.")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT RELEASE_LOCK('etlsite_tests_server_settings')")
