from django.contrib.auth.models import Group

from execution.models import Execution, State
from tests.jobs.factories import make_job


def test_it_needs_a_signed_in_user(client, db):
    response = client.get("/jobs/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_it_lists_jobs_with_schedule_next_run_and_last_run(viewer_session, db):
    nightly = make_job("nightly", config={"schedule": "0 2 * * *", "timezone": "Europe/Paris"})
    make_job("adhoc", description="run by hand")
    run = Execution.objects.create(job=nightly, state=State.SUCCEEDED)
    response = viewer_session.get("/jobs/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "<title>Jobs · etlsite</title>" in page
    assert "<code>0 2 * * *</code> Europe/Paris" in page
    rows = {row["job"].name: row for row in response.context["rows"]}
    assert rows["nightly"]["schedule"]["next_run"].hour == 2
    assert rows["adhoc"]["schedule"]["next_run"] is None
    assert f'href="/executions/{run.pk}/"' in page
    assert "manual" in page and "never" in page


def test_it_searches_names_and_descriptions(viewer_session, db):
    make_job("nightly")
    make_job("adhoc", description="run by hand")
    names = lambda query: [r["job"].name for r in viewer_session.get(f"/jobs/?q={query}").context["rows"]]  # noqa: E731
    assert names("night") == ["nightly"]
    assert names("hand") == ["adhoc"]
    assert "No job matches" in viewer_session.get("/jobs/?q=zzz").content.decode()


def test_restricted_jobs_are_hidden_from_outsiders(viewer_session, viewer, db):
    finance = Group.objects.create(name="finance")
    make_job("payroll").allowed_groups.add(finance)
    make_job("public")
    assert [r["job"].name for r in viewer_session.get("/jobs/").context["rows"]] == ["public"]
    viewer.groups.add(finance)
    assert [r["job"].name for r in viewer_session.get("/jobs/").context["rows"]] == ["payroll", "public"]
