import pytest
from django.contrib.auth.models import Group

from tests.api_base import assert_error_body
from tests.conftest import client_for, make_user
from tests.jobs.factories import make_job


@pytest.fixture
def finance_job(db):
    job = make_job("payroll")
    job.allowed_groups.add(Group.objects.create(name="finance"))
    make_job("public")
    return job


def test_outsiders_neither_see_nor_reach_a_restricted_job(finance_job):
    client = client_for(make_user("outsider"))
    assert [j["name"] for j in client.get("/api/v1/jobs/").json()["results"]] == ["public"]
    assert_error_body(client.get(f"/api/v1/jobs/{finance_job.pk}/"), 404)


def test_group_members_see_the_restricted_job(finance_job):
    member = make_user("member")
    member.groups.add(Group.objects.get(name="finance"))
    client = client_for(member)
    assert {j["name"] for j in client.get("/api/v1/jobs/").json()["results"]} == {"payroll", "public"}
    assert client.get(f"/api/v1/jobs/{finance_job.pk}/").status_code == 200


def test_admins_see_every_job(finance_job, admin_client):
    assert admin_client.get("/api/v1/jobs/").json()["count"] == 2
