"""A real worker SIGKILLed while a sort holds its input spilled to disk: the
reaper removes the spill folder like a sink's temporary file, and a run that
ends normally leaves none either."""

import os
import signal

import pytest
from django.conf import settings

from tests.execution.conftest import csv_rows, make_job
from tests.execution.qcluster import wait_for

pytestmark = [pytest.mark.qcluster, pytest.mark.django_db(transaction=True)]

ROWS = 200_000


@pytest.fixture
def spill_dir(tmp_path, monkeypatch):
    """A spill folder of the test's own, and a 64 KiB budget, so a sort spills after a few batches."""
    folder = tmp_path / "spill"
    monkeypatch.setenv("ETL_SPILL_DIR", str(folder))
    monkeypatch.setenv("ETL_SPILL_BYTES", str(64 << 10))
    monkeypatch.setattr(settings, "ETL_SPILL_DIR", str(folder))
    return folder


@pytest.fixture
def spilling_qcluster(spill_dir, qcluster):
    """The usual worker, started after `spill_dir` set its environment."""
    return qcluster


def sorting_job(data_root, batch_size):
    (data_root / "big.csv").write_text(csv_rows(ROWS))
    return make_job(
        "sort_big",
        [
            {"name": "rows", "type": "csv_source", "config": {"path": "big.csv"}},
            {
                "name": "ordered",
                "type": "sort",
                "inputs": ["rows"],
                "config": {"by": ["id"], "descending": True},
            },
            {"name": "out", "type": "csv_sink", "inputs": ["ordered"], "config": {"path": "sorted.csv"}},
        ],
        batch_size=batch_size,
    )


def spill_folders(spill_dir) -> list[str]:
    return sorted(p.name for p in spill_dir.iterdir()) if spill_dir.exists() else []


def test_a_killed_run_leaves_no_spill_folder(spilling_qcluster, admin_client, data_root, spill_dir):
    job = sorting_job(data_root, batch_size=100)
    before = sorted(p.name for p in data_root.iterdir())
    response = admin_client.post(f"/api/v1/jobs/{job.pk}/start", {}, format="json")
    assert response.status_code == 202, response.content
    execution_id = response.json()["id"]

    spilling = wait_for(
        execution_id,
        lambda e: e.state == "running" and e.leftovers.filter(kind="spill_directory").exists(),
        what="the sort to spill",
    )
    folder = spilling.leftovers.get(kind="spill_directory").name
    wait_for(execution_id, lambda e: any(os.scandir(folder)), what="a spilled file")
    assert spill_folders(spill_dir) == [os.path.basename(folder)]
    os.kill(int(spilling.worker_id.split(":")[1]), signal.SIGKILL)

    reaped = wait_for(
        execution_id,
        lambda e: e.state == "failed" and not e.leftovers.exists(),
        timeout=90,
        what="the reaper to fail the run and remove its spill folder",
    )
    assert spill_folders(spill_dir) == []
    assert sorted(p.name for p in data_root.iterdir()) == before  # no sorted.csv, no temp file
    assert reaped.logs.filter(message__contains=f"spill folder {folder}").exists()


def test_a_run_that_spilled_removes_its_folder_when_it_ends(
    spilling_qcluster, admin_client, data_root, spill_dir
):
    job = sorting_job(data_root, batch_size=20_000)
    response = admin_client.post(f"/api/v1/jobs/{job.pk}/start", {}, format="json")
    execution_id = response.json()["id"]
    done = wait_for(execution_id, lambda e: e.state in ("succeeded", "failed"), timeout=60, what="the end")

    assert done.state == "succeeded", done.error
    assert spill_dir.exists(), "the sort did not spill: the test would prove nothing"
    assert spill_folders(spill_dir) == [] and not done.leftovers.exists()
    ids = [int(line.split(",")[0]) for line in (data_root / "sorted.csv").read_text().splitlines()[1:]]
    assert ids == sorted(ids, reverse=True) and len(ids) == ROWS
