from datetime import timedelta

from django.contrib.auth.models import Group
from django.utils import timezone

from execution.models import Execution, State, Trigger
from tests.jobs.factories import make_job


def ids(response) -> list[int]:
    return [execution.pk for execution in response.context["page"].object_list]


def test_it_needs_a_signed_in_user(client, db):
    response = client.get("/executions/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_it_lists_runs_newest_first_with_duration_and_rows(viewer_session, db):
    job = make_job("nightly")
    started = timezone.now() - timedelta(minutes=3)
    older = Execution.objects.create(job=job, state=State.FAILED)
    newer = Execution.objects.create(
        job=job,
        state=State.SUCCEEDED,
        started_at=started,
        finished_at=started + timedelta(seconds=42.5),
        rows_read=1000,
        rows_written=990,
        rows_rejected=10,
    )
    response = viewer_session.get("/executions/")
    assert response.status_code == 200
    assert ids(response) == [newer.pk, older.pk]
    page = response.content.decode()
    assert "<title>Executions · etlsite</title>" in page
    assert ">42 s<" in page and ">990<" in page and ">10<" in page


def test_it_filters_by_job_state_trigger_and_date(viewer_session, db):
    nightly, adhoc = make_job("nightly"), make_job("adhoc")
    old = timezone.now() - timedelta(days=10)
    match = Execution.objects.create(job=nightly, state=State.FAILED, trigger=Trigger.SCHEDULE)
    Execution.objects.create(job=adhoc, state=State.FAILED, trigger=Trigger.SCHEDULE)
    Execution.objects.create(job=nightly, state=State.SUCCEEDED, trigger=Trigger.SCHEDULE)
    Execution.objects.create(job=nightly, state=State.FAILED, trigger=Trigger.API)
    Execution.objects.create(job=nightly, state=State.FAILED, trigger=Trigger.SCHEDULE, queued_at=old)
    since = (timezone.localdate() - timedelta(days=1)).isoformat()
    response = viewer_session.get(
        f"/executions/?job={nightly.pk}&state=failed&trigger=schedule&since={since}&until={timezone.localdate()}"
    )
    assert ids(response) == [match.pk]
    assert "Matching the filters: 1 execution." in response.content.decode()


def test_it_pages_25_at_a_time_keeping_the_filters(viewer_session, db):
    job = make_job("nightly")
    Execution.objects.bulk_create(Execution(job=job, state=State.SUCCEEDED) for _ in range(30))
    first = viewer_session.get("/executions/?state=succeeded")
    assert len(ids(first)) == 25
    assert 'href="?state=succeeded&amp;page=2"' in first.content.decode()
    second = viewer_session.get("/executions/?state=succeeded&page=2")
    assert len(ids(second)) == 5 and "Page 2 of 2" in second.content.decode()


def test_bad_filters_are_named_and_list_nothing(viewer_session, db):
    Execution.objects.create(job=make_job("nightly"), state=State.FAILED)
    response = viewer_session.get("/executions/?state=exploded&since=2026-05-02&until=2026-05-01")
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert "state" in errors and "Pick a day on or after" in errors["until"][0]
    assert ids(response) == []


def test_runs_of_restricted_jobs_are_hidden_from_outsiders(viewer_session, db):
    payroll = make_job("payroll")
    payroll.allowed_groups.add(Group.objects.create(name="finance"))
    Execution.objects.create(job=payroll)
    public = Execution.objects.create(job=make_job("public"))
    response = viewer_session.get("/executions/")
    assert ids(response) == [public.pk]
    assert "payroll" not in response.content.decode()
