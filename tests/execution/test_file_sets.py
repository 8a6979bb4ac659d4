"""File sets: a glob in a file source's `path` (inside the data roots), and
`"incremental": {"mode": "new_files"}` loading only files not loaded before.
Runs are done here, in this process, as a worker would."""

import os
import sqlite3

import pytest

from execution.models import Execution
from jobs.models import Job
from tests.api_base import assert_error_body
from tests.execution.conftest import csv_rows, make_job, run_queued

pytestmark = pytest.mark.django_db


def incoming_job(incremental=True, path="incoming/*.csv"):
    config = {"path": path}
    if incremental:
        config["incremental"] = {"mode": "new_files"}
    return make_job(
        "incoming",
        [
            {"name": "files", "type": "csv_source", "config": config},
            {
                "name": "load",
                "type": "sqlite_sink",
                "inputs": ["files"],
                "config": {"path": "copy.db", "table": "t"},
            },
        ],
    )


@pytest.fixture
def incoming(data_root):
    folder = data_root / "incoming"
    folder.mkdir()
    (folder / "a.csv").write_text(csv_rows(3, start=0))
    (folder / "b.csv").write_text(csv_rows(4, start=100))
    (folder / "notes.txt").write_text("not matched")
    return folder


def run(client, job) -> Execution:
    response = client.post(f"/api/v1/jobs/{job.pk}/start", {}, format="json")
    assert response.status_code == 202, response.content
    execution = run_queued(response.json()["id"])
    assert execution.state == "succeeded", execution.error
    return execution


def loaded_ids(data_root) -> list[int]:
    with sqlite3.connect(data_root / "copy.db") as db:
        return sorted(row[0] for row in db.execute("SELECT id FROM t"))


def test_a_glob_reads_every_matching_file_and_the_run_shows_which(admin_client, incoming, data_root):
    job = incoming_job(incremental=False)
    execution = run(admin_client, job)
    assert execution.rows_read == 7
    detail = admin_client.get(f"/api/v1/jobs/{job.pk}/executions/{execution.pk}").json()
    assert [os.path.basename(f["path"]) for f in detail["files"]["files"]] == ["a.csv", "b.csv"]
    logged = list(
        execution.logs.filter(message__startswith="Reading file ").values_list("message", flat=True)
    )
    assert [m.split("/")[-1].split(" ")[0] for m in logged] == ["a.csv", "b.csv"]


def test_new_files_loads_each_file_once(admin_client, incoming, data_root):
    job = incoming_job()
    first = run(admin_client, job)
    assert first.rows_read == 7
    (incoming / "c.csv").write_text(csv_rows(2, start=200))
    second = run(admin_client, job)
    assert second.rows_read == 2
    assert [os.path.basename(f["path"]) for f in second.files["files"]] == ["c.csv"]
    third = run(admin_client, job)
    assert third.rows_read == 0
    assert loaded_ids(data_root) == [0, 1, 2, 100, 101, 102, 103, 200, 201]
    state = admin_client.get(f"/api/v1/jobs/{job.pk}/state").json()["components"]["files"]
    assert sorted(os.path.basename(f["path"]) for f in state["files"]) == ["a.csv", "b.csv", "c.csv"]


def test_a_file_rewritten_in_place_counts_as_new(admin_client, incoming, data_root):
    job = incoming_job()
    run(admin_client, job)
    (incoming / "a.csv").write_text(csv_rows(5, start=300))
    again = run(admin_client, job)
    assert again.rows_read == 5
    state = admin_client.get(f"/api/v1/jobs/{job.pk}/state").json()["components"]["files"]["files"]
    assert len(state) == 2


def test_resetting_the_state_loads_every_file_again(admin_client, incoming, data_root):
    job = incoming_job()
    run(admin_client, job)
    assert admin_client.delete(f"/api/v1/jobs/{job.pk}/state").status_code == 204
    assert run(admin_client, job).rows_read == 7


@pytest.mark.parametrize("path", ["/etc/*.conf", "../*.csv", "incoming/../../*"])
def test_a_glob_outside_the_data_roots_is_a_400_at_save(admin_client, data_root, path):
    response = admin_client.post(
        "/api/v1/jobs",
        {
            "name": "escape",
            "components": [
                {"name": "files", "type": "csv_source", "config": {"path": path}},
                {"name": "out", "type": "csv_sink", "inputs": ["files"], "config": {"path": "o.csv"}},
            ],
        },
        format="json",
    )
    assert_error_body(response, 400, "config.path")
    assert not Job.objects.exists()


def test_a_link_in_the_set_pointing_outside_the_roots_fails_the_run_naming_the_path(
    admin_client, incoming, data_root, tmp_path
):
    outside = tmp_path / "outside.csv"
    outside.write_text(csv_rows(1))
    (incoming / "z.csv").symlink_to(outside)
    job = incoming_job()
    response = admin_client.post(f"/api/v1/jobs/{job.pk}/start", {}, format="json")
    execution = run_queued(response.json()["id"])
    assert execution.state == "failed"
    assert execution.error["field"] == "config.path"
    assert "outside the data roots" in execution.error["message"]
    assert not (data_root / "copy.db").exists()


def test_an_unknown_incremental_mode_is_a_400_at_save(admin_client, data_root):
    response = admin_client.post(
        "/api/v1/jobs",
        {
            "name": "bad_mode",
            "components": [
                {
                    "name": "files",
                    "type": "csv_source",
                    "config": {"path": "*.csv", "incremental": {"mode": "all"}},
                },
                {"name": "out", "type": "csv_sink", "inputs": ["files"], "config": {"path": "o.csv"}},
            ],
        },
        format="json",
    )
    assert_error_body(response, 400, "config.incremental")
