"""Secret parameters go only into fields a component declares secret.

Once a `secret` parameter substituted into inline rows, derive literals,
file paths and metric labels; the label was then shown to viewers and
stored in clear. Each of those is now a 400 at start (and at save when the
job's default context holds the secret), naming the field and never the value.
"""

import pytest
from django.contrib.auth.models import Group

from contexts.models import Context, Parameter
from execution.models import Execution
from jobs.models import Job
from monitoring import setup
from monitoring.models import CustomMetric
from tests.api_base import assert_error_body
from tests.conftest import client_for, make_user
from tests.execution.conftest import run_queued

pytestmark = pytest.mark.django_db

SECRET = "sp-4f9d2c7b1e8a"


@pytest.fixture
def dev():
    context = Context.objects.create(name="dev")
    secret = Parameter(context=context, name="sp", type="secret")
    secret.set_value(SECRET)
    secret.save()
    Parameter.objects.create(context=context, name="region", type="string", value="eu")
    return context


def client_in_role(role: str):
    setup.ensure_roles()
    user = make_user(role)
    user.groups.add(Group.objects.get(name=role))
    return client_for(user)


ROWS = {"name": "rows", "type": "inline_source", "config": {"rows": [{"x": 1}]}}
SINK = {"name": "out", "type": "csv_sink", "inputs": ["rows"], "config": {"path": "out.csv"}}

PLACES = {
    "inline rows": (
        [{**ROWS, "config": {"rows": [{"x": "${sp}"}]}}, SINK],
        "components.rows.config.rows.0.x",
    ),
    "a derive literal": (
        [
            ROWS,
            {"name": "t", "type": "derive", "inputs": ["rows"], "config": {"columns": {"b": "'${sp}'"}}},
            {**SINK, "inputs": ["t"]},
        ],
        "components.t.config.columns.b",
    ),
    "a file path": ([ROWS, {**SINK, "config": {"path": "${sp}.csv"}}], "components.out.config.path"),
    "a metric label": (
        [
            ROWS,
            {
                "name": "m",
                "type": "metric",
                "inputs": ["rows"],
                "config": {"name": "rows", "value": "count(*)", "labels": {"token": "x-${sp}"}},
            },
        ],
        "components.m.config.labels.token",
    ),
}


@pytest.mark.parametrize("place", list(PLACES))
def test_starting_with_a_secret_outside_a_secret_field_is_a_400_naming_it(dev, data_root, place):
    components, field = PLACES[place]
    job = Job.objects.create(name="leaky")
    job.replace_components(components)
    response = client_in_role("operator").post(
        f"/api/v1/jobs/{job.pk}/start", {"context": "dev"}, format="json"
    )
    assert_error_body(response, 400, field)
    assert "is a secret" in response.json()["error"]["message"]
    assert SECRET not in response.content.decode()
    assert not Execution.objects.exists()
    assert not (data_root / "out.csv").exists()


@pytest.mark.parametrize("place", list(PLACES))
def test_saving_a_job_whose_default_context_holds_the_secret_is_a_400(dev, place):
    components, field = PLACES[place]
    response = client_in_role("editor").post(
        "/api/v1/jobs", {"name": "leaky", "default_context": "dev", "components": components}, format="json"
    )
    assert_error_body(response, 400, field.split(".", 2)[2])
    assert SECRET not in response.content.decode()
    assert not Job.objects.exists()


def test_plain_parameters_still_go_anywhere(dev, data_root):
    components = [
        ROWS,
        {
            "name": "m",
            "type": "metric",
            "inputs": ["rows"],
            "config": {"name": "rows", "value": "count(*)", "labels": {"region": "${region}"}},
        },
    ]
    job = Job.objects.create(name="fine", default_context=dev)
    job.replace_components(components)
    response = client_in_role("operator").post(f"/api/v1/jobs/{job.pk}/start", {}, format="json")
    assert response.status_code == 202, response.content
    assert run_queued(response.json()["id"]).state == "succeeded"
    assert CustomMetric.objects.get().labels["region"] == "eu"
