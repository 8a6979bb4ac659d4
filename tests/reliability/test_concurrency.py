"""Many runs at once on two worker "machines": two `manage.py qcluster`
processes sharing one database (the ORM broker), as two machines would.

Twenty different jobs are started at the same moment from twenty API clients.
Each job appends its own rows to its own file, so a run that happened twice
would show up as doubled rows, and a lost one as a missing file.
"""

from concurrent.futures import ThreadPoolExecutor

import psutil
import pytest
from django.db import connection

from execution.models import Execution, ExecutionEvent
from tests.conftest import client_for
from tests.execution.conftest import csv_rows, make_job
from tests.execution.qcluster import QCluster, wait_for_state

pytestmark = [pytest.mark.qcluster, pytest.mark.django_db(transaction=True)]

JOBS = 20


@pytest.fixture
def two_machines(transactional_db, data_root, tmp_path):
    """Two clusters of two workers each, started like two machines would be:
    same database, SECRET_KEY and Q_CLUSTER_NAME, their own processes."""
    clusters = [QCluster(tmp_path / f"machine{n}.log", data_root, workers=2) for n in (1, 2)]
    try:
        for cluster in clusters:
            cluster.wait_ready(workers=2)
        yield clusters
    finally:
        for cluster in clusters:
            cluster.stop()
            print(cluster.output())  # shown when the test fails


def worker_pids(cluster: QCluster) -> set[int]:
    return {child.pid for child in psutil.Process(cluster.process.pid).children(recursive=True)}


def start_at_once(admin_user, jobs) -> list[int]:
    def start(job):
        try:
            response = client_for(admin_user).post(f"/api/v1/jobs/{job.pk}/start", {}, format="json")
            assert response.status_code == 202, response.content
            return response.json()["id"]
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        return list(pool.map(start, jobs))


def test_twenty_runs_started_at_once_on_two_machines_each_run_exactly_once(
    two_machines, admin_user, data_root
):
    jobs = []
    for n in range(JOBS):
        (data_root / f"in{n}.csv").write_text(csv_rows(500 + n, start=n * 10_000))
        components = [
            {"name": "rows", "type": "csv_source", "config": {"path": f"in{n}.csv"}},
            {
                "name": "out",
                "type": "csv_sink",
                "inputs": ["rows"],
                "config": {"path": f"out{n}.csv", "mode": "append"},
            },
        ]
        jobs.append(make_job(f"job{n}", components, batch_size=50))
    machine_pids = [worker_pids(cluster) for cluster in two_machines]

    execution_ids = start_at_once(admin_user, jobs)

    finished = [wait_for_state(pk, "succeeded", "failed", timeout=120) for pk in execution_ids]
    assert [e.state for e in finished] == ["succeeded"] * JOBS, [e.error for e in finished if e.error]
    for n, execution in enumerate(finished):
        # Nothing lost, nothing twice: each target holds its job's rows once.
        assert (data_root / f"out{n}.csv").read_text() == (data_root / f"in{n}.csv").read_text()
        assert execution.job_id == jobs[n].pk
    claims = ExecutionEvent.objects.filter(
        execution_id__in=execution_ids, from_state="queued", to_state="running"
    )
    assert sorted(claims.values_list("execution_id", flat=True)) == sorted(execution_ids), (
        "a run was claimed twice"
    )
    starts = [e.logs.filter(message__startswith="Started on").count() for e in finished]
    assert starts == [1] * JOBS

    # Spread over both machines, every run on a worker of one of them.
    pids = {int(e.worker_id.split(":")[1]) for e in Execution.objects.filter(pk__in=execution_ids)}
    assert pids <= machine_pids[0] | machine_pids[1], "a run was done by an unknown process"
    assert pids & machine_pids[0] and pids & machine_pids[1], f"all runs on one machine: {pids}"
