"""A per-process cache of rendered API reads, checked against the database on every request.

The job list, a job and a job's execution history cost 4-14 ms of Python to
query and render, while the same request answered from memory costs what
authentication does. So each gunicorn process keeps the bytes of recent
answers, keyed by what they depend on (path and query, host, media type, the
caller's identity, time zone) and by the *read version* of the tables that
kind of answer reads (ANSWERS: the job list does not read executions, so a
running execution's heartbeat leaves it cached).

The read version is the point of the design: it changes in the same
transaction as any write to one of those tables, whoever writes it
(the API, the admin, a worker, a raw SQL statement), because database
triggers maintain it, and it names a database state rather than a moment:

- SQLite: a row per watched table whose `token` the table's triggers set to a
  fresh random value. SQLite has one writer at a time, so these rows add no
  contention.
- PostgreSQL: a row-level "last change" would be a lock every writing
  transaction takes and holds until commit, a deadlock waiting to happen
  with the workers' row locks. Instead every statement on a watched table
  inserts its table name and a random token into an append-only log (inserts
  never wait on each other) and the version is `count(*), sum(token)` of the
  log's rows for the tables an answer reads, which is transactional: a write
  becomes part of the version exactly when it commits. `compact()`, a minutely django-q2 schedule created by `migrate`,
  folds the log into one row per table.
- Other databases: no triggers, no caching.

A request reads the version first, then (on a miss) the data, so a cached
answer is never older than the version it is filed under. Random tokens make
a rolled-back write, or a restored backup, unable to revive an answer that
belonged to another state. Authentication and rate limiting still run on
every request; only the rendered answer is reused. Answers that depend on
the clock (a running execution's duration) are never stored.
"""

import functools
import secrets
import threading
from collections import OrderedDict
from dataclasses import dataclass

from django.conf import settings
from django.core.signals import setting_changed
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.utils import timezone
from rest_framework.response import Response

VERSION_TABLE = "etl_read_tokens"  # SQLite: one row per watched table
CHANGE_LOG_TABLE = "etl_read_change_log"  # PostgreSQL: append-only
TRIGGER_PREFIX = "etl_read_version_"
SUPPORTED_VENDORS = {"sqlite", "postgresql"}
# PostgreSQL: a random bigint per statement; the sum of the log names its state.
PG_LOG_FUNCTION = """
CREATE OR REPLACE FUNCTION etl_read_version_log() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO etl_read_change_log (table_name, token)
    VALUES (TG_TABLE_NAME, floor((random() - 0.5) * 9.2e18)::bigint);
    RETURN NULL;
END $$
"""


def _access_models() -> list:
    """What decides who sees which job: users, groups, API keys' job lists."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    from accounts.models import ApiKey

    user = get_user_model()
    return [user, user.groups.through, Group, ApiKey.jobs.through]


def _job_models() -> list:
    from contexts.models import Context
    from jobs.models import Component, Job, JobDependency

    return [Job, Job.allowed_groups.through, Component, JobDependency, Context, *_access_models()]


def _job_execution_models() -> list:
    from execution.models import Execution
    from jobs.models import Job

    return [Job, Job.allowed_groups.through, Execution, *_access_models()]


# The kinds of answers cached, and the models each one reads: a write to any
# other table leaves them valid (an execution's heartbeat does not touch the
# job list). tests/foundation/test_read_cache.py checks these against the SQL
# each view runs.
ANSWERS = {"jobs": _job_models, "job_executions": _job_execution_models}


@functools.cache  # asked on every cached read; models do not change after startup
def answer_tables(answer: str) -> tuple[str, ...]:
    return tuple(sorted({model._meta.db_table for model in ANSWERS[answer]()}))


def watched_tables() -> list[str]:
    return sorted({table for answer in ANSWERS for table in answer_tables(answer)})


def _trigger_name(table: str, event: str = "") -> str:
    return f"{TRIGGER_PREFIX}{table}{'_' + event if event else ''}"


# --- installing the triggers ----------------------------------------------------------------


def install(using: str = DEFAULT_DB_ALIAS) -> bool:
    """Create the version table and triggers (idempotent), and move every
    version on. Runs after every `migrate` and `flush`: on SQLite a
    migration that rebuilds a table drops its triggers."""
    connection = connections[using]
    if connection.vendor not in SUPPORTED_VENDORS:
        return False
    existing = set(connection.introspection.table_names())
    tables = [table for table in watched_tables() if table in existing]
    with transaction.atomic(using=using), connection.cursor() as cursor:
        for statement, params in _install_sql(connection, tables):
            cursor.execute(statement, params)
    _installed.pop(using, None)
    return len(tables) == len(watched_tables())


def _install_sql(connection, tables: list[str]) -> list[tuple[str, list]]:
    quote = connection.ops.quote_name
    if connection.vendor == "sqlite":
        statements = [
            (f"CREATE TABLE IF NOT EXISTS {VERSION_TABLE} (name TEXT PRIMARY KEY, token BLOB NOT NULL)", [])
        ]
        for table in tables:
            statements.append(
                (f"INSERT OR IGNORE INTO {VERSION_TABLE} (name, token) VALUES (%s, randomblob(16))", [table])  # noqa: S608 - our table
            )
            bump = f"UPDATE {VERSION_TABLE} SET token = randomblob(16) WHERE name = '{table}';"  # noqa: S608 - a model table
            for event in ("INSERT", "UPDATE", "DELETE"):
                name = _trigger_name(table, event.lower())
                statements.append((f"DROP TRIGGER IF EXISTS {name}", []))
                statements.append(
                    (
                        f"CREATE TRIGGER {name} AFTER {event} ON {quote(table)} FOR EACH ROW BEGIN {bump} END",
                        [],
                    )
                )
        statements.append((f"UPDATE {VERSION_TABLE} SET token = randomblob(16)", []))  # noqa: S608 - our table
        return statements
    statements = [
        (
            f"CREATE TABLE IF NOT EXISTS {CHANGE_LOG_TABLE} (table_name text NOT NULL, token bigint NOT NULL)",
            [],
        ),
        (PG_LOG_FUNCTION, []),
    ]
    for table in tables:
        name = _trigger_name(table)
        statements.append((f"DROP TRIGGER IF EXISTS {name} ON {quote(table)}", []))
        statements.append(
            (
                f"CREATE TRIGGER {name} AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {quote(table)} "
                "FOR EACH STATEMENT EXECUTE FUNCTION etl_read_version_log()",
                [],
            )
        )
    statements.append(_pg_new_tokens_sql(tables))
    return statements


def _pg_new_tokens_sql(tables) -> tuple[str, list]:
    """One fresh random token per table: every version moves on."""
    values = ", ".join(["(%s, %s)"] * len(tables))
    params = [item for table in tables for item in (table, secrets.randbits(62) - 2**61)]
    return f"INSERT INTO {CHANGE_LOG_TABLE} (table_name, token) VALUES {values}", params  # noqa: S608 - our table


def installed_triggers(using: str = DEFAULT_DB_ALIAS) -> set[str]:
    connection = connections[using]
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(
                "SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE %s",
                [TRIGGER_PREFIX + "%"],
            )
        else:
            cursor.execute(
                "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal AND tgname LIKE %s",
                [TRIGGER_PREFIX + "%"],
            )
        return {row[0] for row in cursor.fetchall()}


def expected_triggers(vendor: str) -> set[str]:
    if vendor == "sqlite":
        return {_trigger_name(t, e) for t in watched_tables() for e in ("insert", "update", "delete")}
    return {_trigger_name(t) for t in watched_tables()}


_installed: dict[str, bool] = {}


def is_installed(using: str = DEFAULT_DB_ALIAS) -> bool:
    """Whether every trigger is in place (checked once per process and database)."""
    if using not in _installed:
        connection = connections[using]
        _installed[using] = (
            connection.vendor in SUPPORTED_VENDORS
            and (VERSION_TABLE if connection.vendor == "sqlite" else CHANGE_LOG_TABLE)
            in connection.introspection.table_names()
            and expected_triggers(connection.vendor) <= installed_triggers(using)
        )
    return _installed[using]


def current_version(tables: tuple[str, ...], using: str = DEFAULT_DB_ALIAS):
    """The version of these tables' contents, or None when caching is off."""
    if not is_installed(using):
        return None
    connection = connections[using]
    placeholders = ", ".join(["%s"] * len(tables))
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(
                f"SELECT name, token FROM {VERSION_TABLE} WHERE name IN ({placeholders}) ORDER BY name",  # noqa: S608 - our table
                tables,
            )
            rows = tuple(cursor.fetchall())
            return rows if len(rows) == len(tables) else None
        cursor.execute(
            f"SELECT count(*), sum(token) FROM {CHANGE_LOG_TABLE} WHERE table_name IN ({placeholders})",  # noqa: S608 - our table
            tables,
        )
        return tuple(cursor.fetchone())


COMPACTION_SCHEDULE = "api: fold the read cache's change log"


def ensure_compaction_schedule(using: str = DEFAULT_DB_ALIAS) -> None:
    """PostgreSQL: a django-q2 schedule runs `compact` every minute, so the
    version query counts a few rows, not every write since the start."""
    if connections[using].vendor != "postgresql":
        return
    from django_q.models import Schedule

    Schedule.objects.using(using).get_or_create(
        name=COMPACTION_SCHEDULE,
        defaults={
            "func": "etlsite.read_cache.compact",
            "schedule_type": Schedule.MINUTES,
            "minutes": 1,
            "repeats": -1,
        },
    )


def compact(using: str = DEFAULT_DB_ALIAS) -> int:
    """PostgreSQL: fold the change log into one fresh token per table (new
    state names). Inserts racing with this commit later and simply stay.
    Returns the rows removed."""
    connection = connections[using]
    if connection.vendor != "postgresql" or not is_installed(using):
        return 0
    with transaction.atomic(using=using), connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {CHANGE_LOG_TABLE}")  # noqa: S608 - our table
        removed = cursor.rowcount
        cursor.execute(*_pg_new_tokens_sql(watched_tables()))
    return removed


# --- the per-process store of answers ---------------------------------------------------------


@dataclass(frozen=True)
class CachedAnswer:
    status: int
    content_type: str
    content: bytes


class AnswerStore:
    """A bounded LRU of rendered answers (entries and bytes), safe across threads."""

    def __init__(self):
        self._entries: OrderedDict[tuple, CachedAnswer] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.hits = 0

    @staticmethod
    def limits() -> tuple[int, int]:
        return settings.API_READ_CACHE_ENTRIES, settings.API_READ_CACHE_BYTES

    def get(self, key) -> CachedAnswer | None:
        with self._lock:
            answer = self._entries.get(key)
            if answer is None:
                return None
            self._entries.move_to_end(key)
            self.hits += 1
            return answer

    def put(self, key, answer: CachedAnswer) -> None:
        max_entries, max_bytes = self.limits()
        if len(answer.content) > max_bytes // 4:
            return
        with self._lock:
            previous = self._entries.pop(key, None)
            if previous is not None:
                self._bytes -= len(previous.content)
            self._entries[key] = answer
            self._bytes += len(answer.content)
            while self._entries and (len(self._entries) > max_entries or self._bytes > max_bytes):
                _, evicted = self._entries.popitem(last=False)
                self._bytes -= len(evicted.content)

    def clear(self, **_signal_arguments) -> None:
        with self._lock:
            self._entries.clear()
            self._bytes = 0

    def __len__(self) -> int:
        return len(self._entries)


answers = AnswerStore()
# Settings shape answers (default job config, time zone): a test that
# overrides one must not see answers rendered under the old value.
setting_changed.connect(answers.clear, dispatch_uid="etlsite.read_cache.clear")


class CachedResponse(Response):
    """A DRF Response whose body was rendered by an earlier request."""

    def __init__(self, answer: CachedAnswer):
        super().__init__(data=None, status=answer.status)
        self.answer = answer

    @property
    def rendered_content(self):
        self["Content-Type"] = self.answer.content_type
        return self.answer.content


def is_cacheable_request(request) -> bool:
    """JSON reads only (the browsable API renders per request)."""
    renderer = getattr(request, "accepted_renderer", None)
    return request.method in ("GET", "HEAD") and renderer is not None and renderer.format == "json"


def request_key(request, version) -> tuple:
    """What a cached answer depends on besides the database."""
    auth = request.auth
    return (
        version,
        request.get_full_path(),
        request.scheme,
        request.get_host(),
        request.accepted_media_type,
        request.user.pk,
        type(auth).__name__,
        getattr(auth, "pk", None),
        timezone.get_current_timezone_name(),
    )


class CachedReadMixin:
    """For API views whose GET answers depend only on the tables of one kind
    of answer in ANSWERS (`cached_answer`).

    Wrap the read: `return self.cached_read(request, lambda: super().list(...))`.
    Override `answer_is_cacheable(data)` to refuse answers that depend on the
    clock.
    """

    cached_answer: str

    def answer_is_cacheable(self, data) -> bool:
        return True

    def cached_read(self, request, render):
        if settings.API_READ_CACHE_ENTRIES <= 0 or not is_cacheable_request(request):
            return render()
        version = current_version(answer_tables(self.cached_answer))
        if version is None:
            return render()
        key = request_key(request, (self.cached_answer, version))
        answer = answers.get(key)
        if answer is not None:
            return CachedResponse(answer)
        response = render()
        if response.status_code == 200 and self.answer_is_cacheable(response.data):

            def store(rendered):
                answers.put(
                    key, CachedAnswer(rendered.status_code, rendered["Content-Type"], rendered.content)
                )

            response.add_post_render_callback(store)
        return response
