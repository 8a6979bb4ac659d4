"""The per-process cache of rendered reads (etlsite/read_cache.py): answers are
reused while the database's read version stands still, and never once any
table they read has changed, whoever changed it."""

import json
import re
import threading
import time
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.db import connection, connections, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import ApiKey
from contexts.models import Context
from etlsite import read_cache
from execution.models import Execution, State
from jobs.models import Component, Job, JobDependency
from tests.conftest import client_for, make_user
from tests.jobs.factories import make_job

# Tables a request reads around the cached part: who is asking, the rate limit
# (count and configured rate), the version.
PER_REQUEST_TABLES = {
    "authtoken_token",
    "accounts_ratelimitcounter",
    "monitoring_systemsetting",
    read_cache.VERSION_TABLE,
    read_cache.CHANGE_LOG_TABLE,
}


@pytest.fixture(autouse=True)
def empty_cache():
    read_cache.answers.clear()
    read_cache.answers.hits = 0
    yield
    read_cache.answers.clear()


@pytest.fixture
def world(db):
    """One of everything the cached answers show or depend on."""
    context = Context.objects.create(name="prod")
    job = make_job("orders", default_context=context)
    other = make_job("customers")
    JobDependency.objects.create(upstream=other, downstream=job)
    Execution.objects.bulk_create(
        [Execution(job=job, state=State.SUCCEEDED, rows_read=n, rows_written=n) for n in range(3)]
    )
    return job


def urls(job):
    return ["/api/v1/jobs/", f"/api/v1/jobs/{job.pk}", f"/api/v1/jobs/{job.pk}/executions"]


def answer_kind(url):
    return "job_executions" if url.endswith("/executions") else "jobs"


def hits():
    return read_cache.answers.hits


def test_the_triggers_are_installed_by_migrate(db):
    assert read_cache.is_installed()
    assert read_cache.expected_triggers(connection.vendor) <= read_cache.installed_triggers()


@pytest.mark.parametrize("which", [0, 1, 2])
def test_a_repeated_read_is_answered_from_the_cache_with_the_same_bytes_and_headers(
    world, admin_client, which
):
    url = urls(world)[which]
    first = admin_client.get(url)
    before = hits()
    second = admin_client.get(url)
    assert first.status_code == second.status_code == 200
    assert hits() == before + 1
    assert second.content == first.content
    for header in ("Content-Type", "Allow", "Vary"):
        assert second.headers.get(header) == first.headers.get(header), header
    assert second["X-Request-ID"] != first["X-Request-ID"]


def referenced_tables(sql: str) -> set[str]:
    return {name for name in re.findall(r'(?:FROM|JOIN)\s+[`"]?(\w+)[`"]?', sql, flags=re.IGNORECASE)}


@pytest.mark.parametrize("query", ["", "?ordering=-name&page=1", "?search=ord"])
def test_every_table_a_cached_answer_reads_is_watched(world, query):
    """If a view starts reading a new table, this fails until the table is watched."""
    group = Group.objects.create(name="ops")
    world.allowed_groups.add(group)
    member = make_user("member")
    member.groups.add(group)
    api_key, key = ApiKey.objects.create_key(name="k", owner=member, scopes=["read"])
    api_key.jobs.add(world)
    clients = [client_for(member), client_for(make_user("root", superuser=True))]
    key_client = client_for(None)
    key_client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    read = {"jobs": set(), "job_executions": set()}
    for client in clients:
        for url in urls(world):
            read_cache.answers.clear()
            with CaptureQueriesContext(connection) as queries:
                assert client.get(url + query).status_code == 200
            read[answer_kind(url)] |= set().union(
                *(referenced_tables(q["sql"]) for q in queries.captured_queries)
            )
    assert {"jobs_job", "jobs_component"} <= read["jobs"]
    assert {"jobs_job", "execution_execution"} <= read["job_executions"]
    for kind, tables in read.items():
        # The API key's own row is read by authentication, every request, not cached.
        unwatched = tables - set(read_cache.answer_tables(kind)) - PER_REQUEST_TABLES - {"accounts_apikey"}
        assert not unwatched, kind


def rename_with_raw_sql(job, name):
    table = connection.ops.quote_name(Job._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET name = %s WHERE id = %s", [name, job.pk])  # noqa: S608


@pytest.mark.parametrize(
    "write",
    [
        pytest.param(lambda job: Job.objects.filter(pk=job.pk).update(name="renamed"), id="queryset-update"),
        pytest.param(lambda job: rename_with_raw_sql(job, "renamed"), id="raw-sql"),
        pytest.param(
            lambda job: Job.objects.filter(pk=job.pk).update(description="renamed"), id="another-column"
        ),
        pytest.param(
            lambda job: Component.objects.filter(job=job, name="out").update(type="renamed"), id="component"
        ),
        pytest.param(lambda job: Context.objects.filter(name="prod").update(name="renamed"), id="context"),
        pytest.param(lambda job: job.upstream_links.all().delete(), id="dependency-deleted"),
        pytest.param(
            lambda job: Execution.objects.filter(job=job).update(rows_read=424242), id="execution-update"
        ),
        pytest.param(
            lambda job: Execution.objects.create(job=job, state=State.QUEUED), id="execution-insert"
        ),
    ],
)
def test_any_write_to_what_an_answer_shows_is_seen_by_the_next_read(world, admin_client, write):
    before = [admin_client.get(url).content for url in urls(world)]
    write(world)
    after = [admin_client.get(url).content for url in urls(world)]
    assert any(a != b for a, b in zip(before, after, strict=True))
    read_cache.answers.clear()
    assert after == [admin_client.get(url).content for url in urls(world)], "must equal a fresh render"


def test_each_watched_table_moves_the_version_on_insert_update_and_delete(world):
    """Raw SQL on each watched table, as another program would write it."""
    group = Group.objects.create(name="ops")
    world.allowed_groups.add(group)
    Context.objects.get(name="prod").allowed_groups.add(group)
    user = make_user("member")
    user.groups.add(group)
    ApiKey.objects.create_key(name="k", owner=user, scopes=["read"])[0].jobs.add(world)
    quote = connection.ops.quote_name
    for table in read_cache.watched_tables():
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT * FROM {quote(table)}")  # noqa: S608 - model table
            columns = [c[0] for c in cursor.description]
            row = cursor.fetchone()
        assert row is not None, f"the fixture left {table} empty"
        values = [json.dumps(v) if isinstance(v, dict | list) else v for v in row]
        placeholders = ", ".join(["%s"] * len(columns))
        column_list = ", ".join(quote(c) for c in columns)
        id_column = columns[0]
        statements = [
            (f"UPDATE {quote(table)} SET {quote(id_column)} = {quote(id_column)}", []),  # noqa: S608
            (f"DELETE FROM {quote(table)} WHERE {quote(id_column)} = %s", [row[0]]),  # noqa: S608
            (f"INSERT INTO {quote(table)} ({column_list}) VALUES ({placeholders})", values),  # noqa: S608
        ]
        # One transaction: the row comes back before foreign keys are checked.
        with transaction.atomic(), connection.cursor() as cursor:
            for sql, params in statements:
                before = read_cache.current_version((table,))
                cursor.execute(sql, params)
                assert read_cache.current_version((table,)) != before, f"{sql.split()[0]} on {table}"


def test_an_execution_write_leaves_job_answers_cached_and_refreshes_the_history(world, admin_client):
    job_url, history_url = f"/api/v1/jobs/{world.pk}", f"/api/v1/jobs/{world.pk}/executions"
    admin_client.get(job_url)
    history = admin_client.get(history_url).json()
    Execution.objects.filter(job=world).update(rows_read=7)  # a worker's progress update
    before = hits()
    admin_client.get(job_url)
    assert hits() == before + 1
    assert admin_client.get(history_url).json() != history
    assert hits() == before + 1


def test_a_running_execution_is_never_served_from_the_cache(world, admin_client):
    Execution.objects.create(
        job=world, state=State.RUNNING, started_at=timezone.now() - timedelta(seconds=5), worker_id="w"
    )
    url = f"/api/v1/jobs/{world.pk}/executions"
    first = admin_client.get(url).json()["results"][0]["duration_seconds"]
    time.sleep(0.01)
    before = hits()
    second = admin_client.get(url).json()["results"][0]["duration_seconds"]
    assert hits() == before
    assert second > first


def test_answers_are_kept_per_caller(world):
    group = Group.objects.create(name="finance")
    secret = make_job("payroll")
    secret.allowed_groups.add(group)
    admin = client_for(make_user("root", superuser=True))
    outsider = client_for(make_user("outsider"))
    assert "payroll" in {j["name"] for j in admin.get("/api/v1/jobs/").json()["results"]}
    assert "payroll" not in {j["name"] for j in outsider.get("/api/v1/jobs/").json()["results"]}
    assert outsider.get(f"/api/v1/jobs/{secret.pk}").status_code == 404
    assert admin.get(f"/api/v1/jobs/{secret.pk}").status_code == 200
    assert outsider.get(f"/api/v1/jobs/{secret.pk}").status_code == 404


def test_joining_a_group_shows_its_jobs_at_once(world):
    group = Group.objects.create(name="finance")
    secret = make_job("payroll")
    secret.allowed_groups.add(group)
    member = make_user("member")
    client = client_for(member)
    assert "payroll" not in {j["name"] for j in client.get("/api/v1/jobs/").json()["results"]}
    member.groups.add(group)
    assert "payroll" in {j["name"] for j in client.get("/api/v1/jobs/").json()["results"]}


def test_an_api_key_limited_to_some_jobs_gets_its_own_answer(world, admin_user):
    api_key, key = ApiKey.objects.create_key(name="k", owner=admin_user, scopes=["read"])
    api_key.jobs.add(world)
    narrow = client_for(None)
    narrow.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    full = client_for(admin_user)
    assert full.get("/api/v1/jobs/").json()["count"] == 2
    assert narrow.get("/api/v1/jobs/").json()["count"] == 1
    assert full.get("/api/v1/jobs/").json()["count"] == 2


def test_a_rolled_back_write_cannot_revive_an_answer(world, admin_client):
    """The version names a state: after a rollback, a different write with the
    same shape must not meet the answer cached inside the rolled-back one."""
    with transaction.atomic():
        Job.objects.filter(pk=world.pk).update(name="inside")
        names = {j["name"] for j in admin_client.get("/api/v1/jobs/").json()["results"]}
        assert names == {"customers", "inside"}
        transaction.set_rollback(True)
    Job.objects.filter(pk=world.pk).update(name="outside")
    assert {j["name"] for j in admin_client.get("/api/v1/jobs/").json()["results"]} == {
        "customers",
        "outside",
    }


def test_a_write_from_another_connection_is_seen(transactional_db, admin_client):
    """Another process (a worker, psql) writes on its own connection."""
    job = make_job("orders")
    assert admin_client.get(f"/api/v1/jobs/{job.pk}").json()["name"] == "orders"

    def rename_elsewhere():
        rename_with_raw_sql(job, "renamed-elsewhere")
        connections.close_all()  # this thread's own connection

    thread = threading.Thread(target=rename_elsewhere)
    thread.start()
    thread.join()
    assert admin_client.get(f"/api/v1/jobs/{job.pk}").json()["name"] == "renamed-elsewhere"


def test_only_json_reads_are_cached(world, admin_client):
    admin_client.get("/api/v1/jobs/?format=api")
    admin_client.get("/api/v1/jobs/?format=api")
    assert hits() == 0
    assert len(read_cache.answers) == 0


def test_errors_are_not_cached(world, admin_client):
    admin_client.get("/api/v1/jobs/999999")
    admin_client.get("/api/v1/jobs/?ordering=nonsense&page=99")
    assert len(read_cache.answers) == 0


def test_a_missing_trigger_turns_caching_off_and_migrate_puts_it_back(world, admin_client):
    trigger = sorted(read_cache.expected_triggers(connection.vendor))[0]
    table = next(t for t in read_cache.watched_tables() if trigger.startswith(read_cache._trigger_name(t)))
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(f"DROP TRIGGER {trigger}")
        else:
            cursor.execute(f"DROP TRIGGER {trigger} ON {connection.ops.quote_name(table)}")
    read_cache._installed.clear()
    assert read_cache.current_version(read_cache.answer_tables("jobs")) is None
    admin_client.get("/api/v1/jobs/")
    admin_client.get("/api/v1/jobs/")
    assert hits() == 0
    assert read_cache.install()  # what post_migrate runs
    assert read_cache.is_installed()
    admin_client.get("/api/v1/jobs/")
    admin_client.get("/api/v1/jobs/")
    assert hits() == 1


def test_changing_a_setting_empties_the_cache(world, admin_client, settings):
    admin_client.get("/api/v1/jobs/")
    assert len(read_cache.answers) == 1
    settings.TIME_ZONE = "Europe/Paris"
    assert len(read_cache.answers) == 0


def test_turned_off_with_zero_entries(world, admin_client, settings):
    settings.API_READ_CACHE_ENTRIES = 0
    admin_client.get("/api/v1/jobs/")
    admin_client.get("/api/v1/jobs/")
    assert hits() == 0


def test_the_store_is_bounded_by_entries_and_bytes(settings):
    settings.API_READ_CACHE_ENTRIES = 3
    settings.API_READ_CACHE_BYTES = 4000
    store = read_cache.AnswerStore()
    for n in range(5):
        store.put(("k", n), read_cache.CachedAnswer(200, "application/json", b"x" * 100))
    assert len(store) == 3
    assert store.get(("k", 0)) is None and store.get(("k", 4)) is not None
    store.put(("big",), read_cache.CachedAnswer(200, "application/json", b"x" * 2000))  # over a quarter
    assert store.get(("big",)) is None
    for n in range(3):
        store.put(("m", n), read_cache.CachedAnswer(200, "application/json", b"x" * 900))
    assert sum(len(store.get(("m", n)).content) for n in range(3) if store.get(("m", n))) <= 4000


@pytest.mark.skipif("connection.vendor != 'postgresql'")
def test_postgresql_compaction_is_scheduled_by_migrate(db):
    from django_q.models import Schedule

    schedule = Schedule.objects.get(name=read_cache.COMPACTION_SCHEDULE)
    assert (schedule.func, schedule.minutes) == ("etlsite.read_cache.compact", 1)


@pytest.mark.skipif("connection.vendor != 'postgresql'")
def test_postgresql_compaction_folds_the_log_into_a_new_state(world, admin_client):
    admin_client.get("/api/v1/jobs/")
    tables = read_cache.answer_tables("jobs")
    before = read_cache.current_version(tables)
    assert read_cache.compact() >= 1
    after = read_cache.current_version(tables)
    assert after != before and after[0] == len(tables)  # one fresh row per table
    admin_client.get("/api/v1/jobs/")
    assert hits() == 0  # a new state name: answered afresh, then cached
    admin_client.get("/api/v1/jobs/")
    assert hits() == 1
