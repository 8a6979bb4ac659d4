"""Fixtures for the page tests: users in the real roles, a browser-like client
per user, and the demo job as `make run` creates it."""

import pytest
from django.test import Client

from execution.models import Execution, State
from monitoring import setup
from tests.conftest import user_in_role


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def viewer(db):
    return user_in_role("viewer", "viewer")


@pytest.fixture
def viewer_session(viewer):
    return signed_in(viewer)


@pytest.fixture
def operator_session(operator):
    """The operator (tests/conftest.py) signed in to the pages."""
    return signed_in(operator)


@pytest.fixture
def demo_job(db, data_root):
    """The demo job on the bundled flights sample, in the default context."""
    setup.ensure_default_context()
    setup.copy_sample_data()
    assert setup.ensure_demo_job() == "created"
    from jobs.models import Job

    return Job.objects.get(name=setup.DEMO_JOB_NAME)


def running_execution(job, **fields) -> Execution:
    """A run a worker holds (no worker needed: the page only writes requests)."""
    fields = {"state": State.RUNNING, "worker_id": "test-host:1:1", "rows_read": 40, **fields}
    return Execution.objects.create(job=job, progress={"percent": 40.0, "rows_read": 40}, **fields)
