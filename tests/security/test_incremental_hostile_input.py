"""Hostile input to incremental loads: a watermark is always a bound value
(never SQL text), and a file set never reads outside the data roots, however
its files are linked."""

import pytest

from execution.engine.runner import RunContext, run_job
from execution.models import IncrementalState
from tests.execution.conftest import csv_rows, make_job, run_queued

pytestmark = pytest.mark.django_db


@pytest.mark.postgres
def test_a_watermark_put_through_the_api_is_bound_not_spliced_into_sql(admin_client, warehouse):
    schema, conn = warehouse["schema"], warehouse["conn"]
    conn.execute(f'CREATE TABLE "{schema}".src (id int, label text)')
    conn.execute(f"INSERT INTO \"{schema}\".src VALUES (1, 'a'), (2, 'b')")
    job = make_job(
        "hostile_watermark",
        [
            {
                "name": "src",
                "type": "postgres_source",
                "config": {
                    "connection": "warehouse",
                    "table": f"{schema}.src",
                    "incremental": {"column": "label"},
                },
            },
            {"name": "out", "type": "csv_sink", "inputs": ["src"], "config": {"path": "o.csv"}},
        ],
    )
    job.default_context = warehouse["context"]
    job.save()
    hostile = f'a\' OR 1=1; DROP TABLE "{schema}".src; --'
    url = f"/api/v1/jobs/{job.pk}/state?context=warehouse_ctx"
    response = admin_client.put(url, {"components": {"src": {"watermark": hostile}}}, format="json")
    assert response.status_code == 200, response.content
    started = admin_client.post(f"/api/v1/jobs/{job.pk}/start", {}, format="json")
    execution = run_queued(started.json()["id"])
    assert execution.state == "succeeded", execution.error
    # Compared as text: only 'b' sorts after the hostile value.
    assert execution.rows_read == 1
    assert conn.execute(f'SELECT count(*) FROM "{schema}".src').fetchone()[0] == 2
    assert IncrementalState.objects.get().watermark == "b"


def test_a_file_set_does_not_follow_a_linked_folder_out_of_the_data_roots(admin_client, data_root, tmp_path):
    secret = tmp_path / "elsewhere"
    secret.mkdir()
    (secret / "secret.csv").write_text(csv_rows(3))
    (data_root / "incoming").mkdir()
    (data_root / "incoming" / "linked").symlink_to(secret, target_is_directory=True)
    job = make_job(
        "linked_folder",
        [
            {"name": "files", "type": "csv_source", "config": {"path": "incoming/**/*.csv"}},
            {"name": "out", "type": "csv_sink", "inputs": ["files"], "config": {"path": "o.csv"}},
        ],
    )
    started = admin_client.post(f"/api/v1/jobs/{job.pk}/start", {}, format="json")
    execution = run_queued(started.json()["id"])
    assert execution.state == "failed"
    assert execution.error["field"] == "config.path"
    assert "outside the data roots" in execution.error["message"]
    assert not (data_root / "o.csv").exists()


@pytest.mark.mysql
def test_a_hostile_mysql_watermark_is_escaped_by_the_driver(data_root, mysql_target):
    with mysql_target["conn"].cursor() as cursor:
        cursor.execute("CREATE TABLE src (id INT, label VARCHAR(80)) ENGINE=InnoDB")
        cursor.execute("INSERT INTO src VALUES (1, 'a'), (2, 'b')")
    components = [
        {
            "name": "src",
            "type": "mysql_source",
            "config": {"connection": "my", "table": "src", "incremental": {"column": "label"}},
        },
        {"name": "out", "type": "csv_sink", "inputs": ["src"], "config": {"path": "o.csv"}},
    ]
    hostile = "a\\' OR 1=1; DROP TABLE src; -- '"
    ctx = RunContext(
        data_roots=[str(data_root)],
        connections={"my": mysql_target["connection"]},
        batch_size=10,
        incremental_state={"src": {"watermark": hostile}},
    )
    result = run_job(components, ctx)
    assert result.components["src"]["rows_out"] == 1  # only 'b' sorts after the hostile text
    with mysql_target["conn"].cursor() as cursor:
        cursor.execute("SELECT count(*) FROM src")
        assert cursor.fetchone()[0] == 2
