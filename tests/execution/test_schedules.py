"""Cron schedules: the job config's schedule/timezone/enabled kept as a django-q2 Schedule."""

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from django_q.models import Schedule

from execution.control import start_execution
from execution.models import Execution
from execution.scheduling import schedule_name
from execution.tasks import run_scheduled

pytestmark = pytest.mark.django_db


def schedule_of(job):
    return Schedule.objects.filter(name=schedule_name(job.pk)).first()


def schedule(job, cron="0 2 * * *", tz="UTC", enabled=True):
    job.config = {"schedule": cron, "timezone": tz, "enabled": enabled}
    job.save()


def test_a_job_without_a_schedule_has_none(copy_job):
    assert schedule_of(copy_job) is None


def test_a_cron_schedule_runs_at_the_next_time_in_the_jobs_time_zone(copy_job):
    schedule(copy_job, tz="America/New_York")
    armed = schedule_of(copy_job)
    local = armed.next_run.astimezone(ZoneInfo("America/New_York"))
    assert (local.hour, local.minute) == (2, 0)
    assert timezone.now() < armed.next_run <= timezone.now() + timedelta(days=1)
    assert armed.func == "execution.tasks.run_scheduled" and armed.repeats == 1


def test_the_api_keeps_the_schedule_in_sync(admin_client, copy_job):
    url = f"/api/v1/jobs/{copy_job.pk}/config"
    assert admin_client.put(url, {"schedule": "*/5 * * * *"}, format="json").status_code == 200
    assert schedule_of(copy_job).cron == "*/5 * * * *"
    assert (
        admin_client.put(url, {"schedule": "*/5 * * * *", "enabled": False}, format="json").status_code == 200
    )
    assert schedule_of(copy_job) is None


def test_deleting_the_job_removes_its_schedule(copy_job):
    schedule(copy_job)
    name = schedule_name(copy_job.pk)
    copy_job.delete()
    assert not Schedule.objects.filter(name=name).exists()


def test_a_tick_starts_one_run_and_rearms_the_schedule(copy_job):
    schedule(copy_job, cron="*/5 * * * *")
    now = timezone.now()
    # The latest slot: a tick for an older one runs the latest (see test_catch_up.py).
    intended = now.replace(minute=now.minute - now.minute % 5, second=0, microsecond=0)
    Schedule.objects.filter(name=schedule_name(copy_job.pk)).update(repeats=0)  # as django-q2 leaves it
    execution_id = run_scheduled(copy_job.pk, scheduled_for=intended.isoformat())
    execution = Execution.objects.get(pk=execution_id)
    assert execution.trigger == "schedule" and execution.scheduled_for == intended
    armed = schedule_of(copy_job)
    assert armed.repeats == 1 and armed.next_run > timezone.now()


def test_the_same_scheduled_time_never_gives_two_runs(copy_job):
    schedule(copy_job)
    copy_job.config = {**copy_job.config, "max_concurrent": 5}
    copy_job.save()
    intended = timezone.now().replace(microsecond=0).isoformat()
    first = run_scheduled(copy_job.pk, scheduled_for=intended)
    again = run_scheduled(copy_job.pk, scheduled_for=intended)
    assert first == again
    assert Execution.objects.count() == 1


def test_a_tick_while_the_previous_run_is_active_is_skipped(copy_job):
    schedule(copy_job)
    start_execution(copy_job)
    assert run_scheduled(copy_job.pk, scheduled_for=timezone.now().isoformat()) is None
    assert Execution.objects.count() == 1


def test_a_tick_of_a_disabled_job_starts_nothing(copy_job):
    schedule(copy_job, enabled=False)
    assert run_scheduled(copy_job.pk, scheduled_for=timezone.now().isoformat()) is None
    assert not Execution.objects.exists()
