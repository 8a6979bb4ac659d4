"""Scheduled runs stand for their cron slot (`${interval_start}`..`${interval_end}`);
after the workers were down for several slots, a job with `config.catchup`
runs each missed slot once, never twice; without it, only the latest."""

from datetime import timedelta

import pytest
from django.utils import timezone

from execution.models import Backfill, Execution
from execution.tasks import run_scheduled
from tests.execution.conftest import run_queued

pytestmark = pytest.mark.django_db


def hourly(job, **config):
    job.config = {"schedule": "0 * * * *", "timezone": "UTC", "max_concurrent": 1, **config}
    job.save()


def this_hour():
    return timezone.now().replace(minute=0, second=0, microsecond=0)


def run_all_queued():
    while queued := Execution.objects.filter(state="queued").order_by("id").first():
        run_queued(queued.pk)


def test_a_scheduled_run_gets_its_cron_slot_as_its_interval(copy_job):
    hourly(copy_job)
    slot = this_hour()
    execution = Execution.objects.get(pk=run_scheduled(copy_job.pk, scheduled_for=slot.isoformat()))
    assert execution.parameters["interval_start"] == slot.isoformat()
    assert execution.parameters["interval_end"] == (slot + timedelta(hours=1)).isoformat()


def test_without_catchup_a_late_tick_runs_only_the_latest_slot(copy_job):
    hourly(copy_job)
    missed_since = this_hour() - timedelta(hours=3)
    run_scheduled(copy_job.pk, scheduled_for=missed_since.isoformat())
    run_all_queued()
    assert list(Execution.objects.values_list("scheduled_for", flat=True)) == [this_hour()]


def test_with_catchup_every_missed_slot_runs_once_oldest_first(copy_job):
    hourly(copy_job, catchup=True)
    missed_since = this_hour() - timedelta(hours=3)
    assert run_scheduled(copy_job.pk, scheduled_for=missed_since.isoformat()) is None
    # max_concurrent is 1: one at a time, each end starts the next.
    assert Execution.objects.count() == 1
    run_all_queued()
    # The same late tick delivered again adds nothing.
    run_scheduled(copy_job.pk, scheduled_for=missed_since.isoformat())
    run_all_queued()
    slots = [missed_since + timedelta(hours=n) for n in range(4)]
    runs = Execution.objects.order_by("id")
    assert [e.scheduled_for for e in runs] == slots
    assert all(e.state == "succeeded" and e.trigger == "schedule" for e in runs)
    assert [e.parameters["interval_start"] for e in runs] == [s.isoformat() for s in slots]
    assert Backfill.objects.filter(interval="schedule").first().state == "succeeded"
