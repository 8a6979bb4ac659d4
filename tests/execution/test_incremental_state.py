"""Incremental runs through the API and a worker (run here, in this process),
and the state API: GET/PUT/DELETE /api/v1/jobs/{id}/state?context=NAME."""

import sqlite3

import pytest

from accounts.models import AuditEvent
from execution.models import Execution, IncrementalState, PendingState
from tests.api_base import assert_error_body
from tests.conftest import client_for, make_user
from tests.execution.conftest import make_job, run_queued

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop_db(data_root):
    path = data_root / "shop.db"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE orders (id INTEGER, note TEXT)")
        connection.executemany("INSERT INTO orders VALUES (?, ?)", [(i, f"n{i}") for i in range(1, 4)])
    return path


@pytest.fixture
def job(shop_db):
    return make_job(
        "orders_incremental",
        [
            {
                "name": "orders",
                "type": "sqlite_source",
                "config": {"path": "shop.db", "table": "orders", "incremental": {"column": "id"}},
            },
            {
                "name": "load",
                "type": "sqlite_sink",
                "inputs": ["orders"],
                "config": {"path": "copy.db", "table": "orders"},
            },
        ],
    )


def add_orders(shop_db, *ids):
    with sqlite3.connect(shop_db) as connection:
        connection.executemany("INSERT INTO orders VALUES (?, ?)", [(i, f"n{i}") for i in ids])


def copied(data_root) -> list[int]:
    with sqlite3.connect(data_root / "copy.db") as connection:
        return [row[0] for row in connection.execute("SELECT id FROM orders ORDER BY id")]


def run(client, job):
    response = client.post(f"/api/v1/jobs/{job.pk}/start", {}, format="json")
    assert response.status_code == 202, response.content
    execution = run_queued(response.json()["id"])
    assert execution.state == "succeeded", execution.error
    return execution


def state_url(job):
    return f"/api/v1/jobs/{job.pk}/state"


def test_each_run_loads_only_the_new_rows_and_saves_the_watermark(admin_client, job, shop_db, data_root):
    first = run(admin_client, job)
    assert first.rows_read == 3
    add_orders(shop_db, 4, 5)
    second = run(admin_client, job)
    assert second.rows_read == 2
    assert copied(data_root) == [1, 2, 3, 4, 5]
    body = admin_client.get(state_url(job)).json()
    assert body["context"] is None
    assert body["components"]["orders"]["watermark"] == 5
    assert body["components"]["orders"]["files"] == []
    assert not PendingState.objects.exists()


def test_a_put_state_is_where_the_next_run_starts(admin_client, job, data_root):
    response = admin_client.put(state_url(job), {"components": {"orders": {"watermark": 2}}}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["components"]["orders"]["watermark"] == 2
    assert AuditEvent.objects.filter(action="set_state").exists()
    run(admin_client, job)
    assert copied(data_root) == [3]


def test_delete_resets_the_state_so_the_next_run_reloads_everything(admin_client, job, data_root):
    run(admin_client, job)
    assert admin_client.delete(state_url(job)).status_code == 204
    assert admin_client.get(state_url(job)).json()["components"] == {}
    run(admin_client, job)
    assert copied(data_root) == [1, 1, 2, 2, 3, 3]
    assert AuditEvent.objects.filter(action="reset_state").exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"components": {"nope": {"watermark": 1}}}, "components.nope"),
        ({"components": {"orders": {"watermark": "three"}}}, "components.orders.watermark"),
        ({"components": {"orders": {"watermark": [1]}}}, "components.orders.watermark"),
        ({"components": {"orders": {"files": [{"path": 1}]}}}, "components.orders.files"),
        ({"components": []}, "components"),
    ],
)
def test_a_wrong_state_is_a_400_naming_the_field_and_changes_nothing(admin_client, job, body, field):
    run(admin_client, job)
    response = admin_client.put(state_url(job), body, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()["error"]["details"]
    assert IncrementalState.objects.get().watermark == 3


def test_an_unknown_context_is_a_400(admin_client, job):
    response = admin_client.get(state_url(job), {"context": "nowhere"})
    assert response.status_code == 400
    assert "context" in response.json()["error"]["details"]


def test_reading_is_for_everyone_who_sees_the_job_but_changing_needs_job_edit_rights(job, reader_client):
    assert reader_client.get(state_url(job)).status_code == 200
    assert reader_client.put(state_url(job), {"components": {}}, format="json").status_code == 403
    assert reader_client.delete(state_url(job)).status_code == 403
    editor = client_for(make_user("editor", "jobs.change_job"))
    assert (
        editor.put(state_url(job), {"components": {"orders": {"watermark": 1}}}, format="json").status_code
        == 200
    )


def test_a_failed_run_keeps_the_state(admin_client, job, shop_db, data_root):
    run(admin_client, job)
    add_orders(shop_db, 4)
    # The copy's table is gone and a view of that name is in its way: the sink fails.
    with sqlite3.connect(data_root / "copy.db") as connection:
        connection.execute("DROP TABLE orders")
        connection.execute("CREATE VIEW orders AS SELECT 1 AS id")
    response = admin_client.post(f"/api/v1/jobs/{job.pk}/start", {}, format="json")
    failed = run_queued(response.json()["id"])
    assert failed.state == "failed"
    assert IncrementalState.objects.get().watermark == 3
    assert not PendingState.objects.exists()


def test_an_unknown_watermark_column_is_a_400_at_start_and_starts_nothing(admin_client, shop_db):
    job = make_job(
        "unknown_column",
        [
            {
                "name": "orders",
                "type": "sqlite_source",
                "config": {"path": "shop.db", "table": "orders", "incremental": {"column": "changed_at"}},
            },
            {"name": "load", "type": "csv_sink", "inputs": ["orders"], "config": {"path": "o.csv"}},
        ],
    )
    response = admin_client.post(f"/api/v1/jobs/{job.pk}/start", {}, format="json")
    assert_error_body(response, 400, "components.orders.config.incremental.column")
    assert "changed_at" in str(response.json()["error"]["details"])
    assert not Execution.objects.exists()


@pytest.mark.postgres
def test_a_watermark_column_postgres_cannot_order_is_a_400_at_start(admin_client, warehouse):
    schema = warehouse["schema"]
    warehouse["conn"].execute(f'CREATE TABLE "{schema}".docs (id int, body json)')
    job = make_job(
        "json_watermark",
        [
            {
                "name": "docs",
                "type": "postgres_source",
                "config": {
                    "connection": "warehouse",
                    "table": f"{schema}.docs",
                    "incremental": {"column": "body"},
                },
            },
            {"name": "load", "type": "csv_sink", "inputs": ["docs"], "config": {"path": "o.csv"}},
        ],
    )
    job.default_context = warehouse["context"]
    job.save()
    response = admin_client.post(f"/api/v1/jobs/{job.pk}/start", {}, format="json")
    assert_error_body(response, 400, "components.docs.config.incremental.column")
    assert "max(json)" in str(response.json()["error"]["details"])
    assert not Execution.objects.exists()


@pytest.mark.parametrize("column", ["id; DROP TABLE orders", 'id"', "1id"])
def test_a_watermark_column_that_is_not_a_plain_name_is_a_400_at_save(admin_client, data_root, column):
    response = admin_client.post(
        "/api/v1/jobs",
        {
            "name": "bad_column",
            "components": [
                {
                    "name": "orders",
                    "type": "sqlite_source",
                    "config": {"path": "shop.db", "table": "orders", "incremental": {"column": column}},
                },
                {"name": "load", "type": "csv_sink", "inputs": ["orders"], "config": {"path": "o.csv"}},
            ],
        },
        format="json",
    )
    assert_error_body(response, 400, "config.incremental")


def test_what_get_answers_can_be_put_back_as_it_is(admin_client, job):
    run(admin_client, job)
    body = admin_client.get(state_url(job)).json()
    response = admin_client.put(state_url(job), body, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["components"]["orders"]["watermark"] == body["components"]["orders"]["watermark"]
