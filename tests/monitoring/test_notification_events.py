"""Which events are announced: a run's end (only its last attempt), slow runs
(once), missed scheduled slots (once per slot), and the owner's grants."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone

from execution.lifecycle import run_finished
from execution.models import Execution, ExecutionEvent, State
from jobs.models import Job
from monitoring.models import NotificationDelivery
from monitoring.notifications.events import check_missed_slots, check_running_runs, periodic_check
from tests.conftest import make_user
from tests.jobs.factories import make_job
from tests.monitoring.factories import finished_run
from tests.monitoring.notification_factories import rule, webhook_channel

pytestmark = pytest.mark.django_db

ALL_RUN_EVENTS = ("failed", "succeeded", "stopped", "slow")


@pytest.fixture
def channel(db):
    return webhook_channel()


def events_sent():
    return sorted(NotificationDelivery.objects.values_list("event", flat=True))


@pytest.mark.parametrize("state", [State.FAILED, State.SUCCEEDED, State.STOPPED])
def test_the_end_of_a_run_is_announced_by_its_state(channel, state):
    rule(channel, events=ALL_RUN_EVENTS)
    run = finished_run(make_job("nightly"), state)
    run_finished(run)
    [delivery] = NotificationDelivery.objects.all()
    assert (delivery.event, delivery.execution_id, delivery.job_id) == (state, run.pk, run.job_id)
    assert delivery.payload["execution"]["state"] == state


def test_a_rule_hears_only_its_events(channel):
    rule(channel, events=["failed"])
    run_finished(finished_run(make_job("nightly"), State.SUCCEEDED))
    assert events_sent() == []


def test_a_failed_run_that_will_be_retried_is_announced_only_at_its_last_attempt(channel):
    rule(channel, events=["failed"])
    job = make_job("flaky", config={"max_retries": 1, "retry_delay_seconds": 0})
    first = finished_run(job, State.FAILED)
    run_finished(first)
    assert events_sent() == []
    retry = Execution.objects.get(parent=first)
    Execution.objects.filter(pk=retry.pk).update(
        state=State.FAILED, started_at=timezone.now() - timedelta(seconds=5), finished_at=timezone.now()
    )
    run_finished(Execution.objects.get(pk=retry.pk))
    [delivery] = NotificationDelivery.objects.all()
    assert delivery.execution_id == retry.pk and delivery.payload["execution"]["attempt"] == 2


def test_a_run_for_a_job_named_by_another_rule_only_is_not_announced(channel):
    rule(channel, events=["failed"], jobs=[make_job("other")])
    run_finished(finished_run(make_job("nightly"), State.FAILED))
    assert events_sent() == []


def test_a_global_rule_fires_only_for_jobs_its_owner_may_see(channel):
    finance = Group.objects.create(name="finance")
    payroll = make_job("payroll")
    payroll.allowed_groups.add(finance)
    outsider = make_user("outsider")
    rule(channel, events=["failed"], owner=outsider)
    run_finished(finished_run(payroll, State.FAILED))
    assert events_sent() == []
    run_finished(finished_run(make_job("open"), State.FAILED))
    assert events_sent() == ["failed"]


def test_a_rule_stops_firing_for_a_job_once_its_owner_loses_the_grant(channel):
    finance = Group.objects.create(name="finance")
    payroll = make_job("payroll")
    payroll.allowed_groups.add(finance)
    accountant = make_user("accountant")
    accountant.groups.add(finance)
    rule(channel, events=["failed"], jobs=[payroll], owner=accountant)
    run_finished(finished_run(payroll, State.FAILED))
    assert events_sent() == ["failed"]
    accountant.groups.remove(finance)
    run_finished(finished_run(payroll, State.FAILED))
    assert events_sent() == ["failed"]


def test_a_rule_without_an_owner_fires_only_for_open_jobs(channel):
    payroll = make_job("payroll")
    payroll.allowed_groups.add(Group.objects.create(name="finance"))
    rule(channel, events=["failed"], owner=None)
    run_finished(finished_run(payroll, State.FAILED))
    assert events_sent() == []


def test_an_error_in_notifications_never_reaches_the_run(channel, monkeypatch):
    rule(channel, events=["failed"])

    def broken(*args, **kwargs):
        raise RuntimeError("notification bug")

    monkeypatch.setattr("monitoring.notifications.events.notify", broken)
    run = finished_run(make_job("nightly"), State.FAILED)
    run_finished(run)  # does not raise
    assert Execution.objects.get(pk=run.pk).state == State.FAILED


# --- slow ----------------------------------------------------------------------


def running_for(job, seconds, state=State.RUNNING):
    now = timezone.now()
    return Execution.objects.create(
        job=job,
        state=state,
        queued_at=now - timedelta(seconds=seconds + 1),
        started_at=now - timedelta(seconds=seconds),
    )


def test_a_finished_run_longer_than_expected_seconds_is_slow(channel):
    rule(channel, events=["slow"])
    job = make_job("nightly", config={"expected_seconds": 10})
    run = finished_run(job, State.SUCCEEDED)  # 20 s long
    run_finished(run)
    [delivery] = NotificationDelivery.objects.all()
    assert delivery.event == "slow"
    assert delivery.payload["slow"]["threshold_seconds"] == 10.0
    assert "expected_seconds" in delivery.payload["slow"]["reason"]


def test_a_run_still_going_is_announced_slow_once(channel):
    rule(channel, events=["slow"])
    job = make_job("nightly", config={"expected_seconds": 60})
    running_for(job, 30)
    assert check_running_runs() == 0
    running = running_for(job, 90)
    assert check_running_runs() == 1
    assert check_running_runs() == 0
    Execution.objects.filter(pk=running.pk).update(state=State.SUCCEEDED, finished_at=timezone.now())
    run_finished(Execution.objects.get(pk=running.pk))
    assert NotificationDelivery.objects.filter(event="slow", execution=running).count() == 1


def test_without_expected_seconds_slow_means_three_times_the_recent_median(channel):
    rule(channel, events=["slow"])
    job = make_job("nightly")
    for _ in range(3):
        finished_run(job, State.SUCCEEDED)  # 20 s each
    running_for(job, 50)
    assert check_running_runs() == 0
    running_for(job, 61)
    assert check_running_runs() == 1
    [delivery] = NotificationDelivery.objects.all()
    assert delivery.payload["slow"]["threshold_seconds"] == 60.0
    assert "median of the last 3 successful runs" in delivery.payload["slow"]["reason"]


def test_a_job_with_too_few_runs_is_never_slow(channel):
    rule(channel, events=["slow"])
    job = make_job("nightly")
    finished_run(job, State.SUCCEEDED)
    running_for(job, 10_000)
    assert check_running_runs() == 0


# --- missed --------------------------------------------------------------------


def scheduled_job(name="hourly"):
    job = make_job(name, config={"schedule": "0 * * * *"})
    Job.objects.filter(pk=job.pk).update(created_at=timezone.now() - timedelta(days=1))
    return Job.objects.get(pk=job.pk)


def test_a_scheduled_slot_that_did_not_start_is_announced_once(channel):
    rule(channel, events=["missed"])
    job = scheduled_job()
    now = timezone.now().replace(minute=30)
    assert check_missed_slots(now) == 1
    assert check_missed_slots(now + timedelta(minutes=1)) == 0
    [delivery] = NotificationDelivery.objects.all()
    expected = now.replace(minute=0, second=0, microsecond=0)
    assert (delivery.event, delivery.job_id, delivery.slot) == ("missed", job.pk, expected)
    assert delivery.payload["execution"] is None
    assert delivery.payload["missed"]["expected_at"] == expected.isoformat().replace("+00:00", "Z")
    # The next slot missed too is announced again.
    assert check_missed_slots(now + timedelta(hours=1)) == 1


def test_a_slot_that_started_is_not_missed(channel):
    rule(channel, events=["missed"])
    job = scheduled_job()
    now = timezone.now().replace(minute=30)
    Execution.objects.create(job=job, state=State.SUCCEEDED, queued_at=now.replace(minute=0, second=1))
    assert check_missed_slots(now) == 0


def test_the_periodic_check_does_nothing_without_rules_for_it(channel):
    scheduled_job()
    rule(channel, events=["failed"])
    assert periodic_check() == {"slow": 0, "missed": 0, "resumed": 0}


def test_paused_time_does_not_make_a_run_slow(channel):
    rule(channel, events=["slow"])
    job = make_job("nightly", config={"expected_seconds": 60})
    run = running_for(job, 90, state=State.PAUSED)
    paused_at = run.started_at + timedelta(seconds=10)
    ExecutionEvent.objects.create(
        execution=run, created_at=paused_at, from_state="pausing", to_state="paused"
    )
    assert check_running_runs() == 0  # ran 10 s, paused 80 s
    ExecutionEvent.objects.create(
        execution=run, created_at=paused_at + timedelta(seconds=20), from_state="paused", to_state="running"
    )
    Execution.objects.filter(pk=run.pk).update(state=State.RUNNING)
    assert check_running_runs() == 1  # ran 10 s + the last 60 s
