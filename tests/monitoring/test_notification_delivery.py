"""Deliveries: one attempt per worker task against real loopback endpoints,
signed bodies, retries with backoff on failures that may pass, giving up after
the last attempt, and never sending twice."""

import json
import time
from datetime import timedelta

import pytest
from django.utils import timezone
from django_q.models import OrmQ, Schedule

from execution.models import State
from monitoring.models import NotificationDelivery
from monitoring.notifications.delivery import DELIVER_TASK, deliver, notify, resume_stalled
from monitoring.notifications.payloads import run_payload
from monitoring.retention import apply_retention
from monitoring.tasks import deliver_notification
from tests.jobs.factories import make_job
from tests.monitoring.factories import finished_run
from tests.monitoring.listeners import HttpListener, SilentListener
from tests.monitoring.notification_factories import SECRET, email_channel, rule, webhook_channel

pytestmark = pytest.mark.django_db


@pytest.fixture
def failed_run(db):
    return finished_run(make_job("nightly"), State.FAILED)


def pending_delivery(channel, execution, event="failed"):
    rule(channel, events=[event])
    [delivery] = notify(event, execution.job, run_payload(event, execution), execution=execution)
    return delivery


def test_a_webhook_is_posted_signed_with_the_channel_secret(failed_run):
    with HttpListener(status=200) as listener:
        delivery = pending_delivery(webhook_channel(url=listener.url), failed_run)
        assert deliver_notification(delivery.pk) == "delivered"
    [received] = listener.received
    assert received.signature_valid(SECRET)
    assert not received.signature_valid("another secret")
    assert received.headers["Content-Type"] == "application/json"
    assert received.headers["X-Etlsite-Event"] == "failed"
    body = json.loads(received.body)
    assert set(body) == {"event", "job", "execution", "sent_at"}
    assert body["event"] == "failed"
    assert body["job"] == {"id": failed_run.job.pk, "name": "nightly"}
    assert body["execution"]["id"] == failed_run.pk and body["execution"]["state"] == "failed"
    assert body["execution"]["error"] == {"component": "positive", "message": "boom"}
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.response_code) == ("delivered", 1, 200)
    assert delivery.delivered_at and delivery.next_attempt_at is None


def test_recording_a_delivery_enqueues_its_task_once_committed(
    failed_run, django_capture_on_commit_callbacks
):
    rule(webhook_channel(), events=["failed"])
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        notify("failed", failed_run.job, run_payload("failed", failed_run), execution=failed_run)
        assert OrmQ.objects.count() == 0  # nothing a worker could pick up before the row is committed
    for callback in callbacks:
        callback()
    assert OrmQ.objects.count() == 1


def test_a_500_is_retried_with_growing_delays_until_the_last_attempt(failed_run, settings):
    settings.ETL_NOTIFY_MAX_ATTEMPTS = 3
    settings.ETL_NOTIFY_RETRY_SECONDS = 30
    with HttpListener(status=500) as listener:
        delivery = pending_delivery(webhook_channel(url=listener.url), failed_run)
        before = timezone.now()
        assert deliver(delivery.pk) == "pending"
        delivery.refresh_from_db()
        assert delivery.response_code == 500 and "HTTP 500" in delivery.error
        first_wait = delivery.next_attempt_at - before
        assert timedelta(seconds=29) < first_wait < timedelta(seconds=32)
        schedule = Schedule.objects.get(name=f"etlsite.notification.{delivery.pk}")
        assert schedule.func == DELIVER_TASK and schedule.schedule_type == Schedule.ONCE
        assert schedule.next_run == delivery.next_attempt_at and schedule.args == repr((delivery.pk,))

        assert deliver(delivery.pk) == "pending"
        delivery.refresh_from_db()
        second_wait = delivery.next_attempt_at - delivery.last_attempt_at
        assert second_wait == timedelta(seconds=120)  # 4x the first

        assert deliver(delivery.pk) == "failed"
        assert deliver(delivery.pk) == "nothing to send"
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.next_attempt_at) == ("failed", 3, None)
    assert len(listener.received) == 3


def test_a_retry_that_succeeds_is_delivered(failed_run):
    with HttpListener(statuses=[503, 200]) as listener:
        delivery = pending_delivery(webhook_channel(url=listener.url), failed_run)
        deliver(delivery.pk)
        deliver(delivery.pk)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.response_code, delivery.error) == (
        "delivered",
        2,
        200,
        "",
    )
    # Each attempt is signed anew (its sent_at differs).
    assert all(received.signature_valid(SECRET) for received in listener.received)


def test_a_4xx_answer_is_not_retried(failed_run):
    with HttpListener(status=404) as listener:
        delivery = pending_delivery(webhook_channel(url=listener.url), failed_run)
        assert deliver(delivery.pk) == "failed"
    delivery.refresh_from_db()
    assert delivery.response_code == 404 and delivery.attempts == 1
    assert not Schedule.objects.filter(name__startswith="etlsite.notification.").exists()


def test_a_redirect_is_not_followed(failed_run):
    with HttpListener(status=200) as target, HttpListener(status=302, headers={"Location": "/x"}) as bouncer:
        bouncer.extra_headers["Location"] = target.url
        delivery = pending_delivery(webhook_channel(url=bouncer.url), failed_run)
        assert deliver(delivery.pk) == "failed"
    assert target.received == []
    delivery.refresh_from_db()
    assert delivery.response_code == 302


def test_an_endpoint_that_never_answers_costs_one_short_timeout_and_is_retried(failed_run, settings):
    settings.ETL_NOTIFY_TIMEOUT_SECONDS = 0.5
    with SilentListener() as silent:
        delivery = pending_delivery(webhook_channel(url=silent.url), failed_run)
        started = time.monotonic()
        assert deliver(delivery.pk) == "pending"
        took = time.monotonic() - started
    assert took < 3, took
    delivery.refresh_from_db()
    assert "timed out" in delivery.error and delivery.next_attempt_at


def test_a_closed_port_is_a_connection_error_that_is_retried(failed_run):
    with HttpListener() as listener:
        url = listener.url
    delivery = pending_delivery(webhook_channel(url=url), failed_run)
    assert deliver(delivery.pk) == "pending"
    delivery.refresh_from_db()
    assert "refused" in delivery.error.lower()


def test_a_duplicate_task_for_a_delivered_notification_sends_nothing(failed_run):
    with HttpListener() as listener:
        delivery = pending_delivery(webhook_channel(url=listener.url), failed_run)
        deliver(delivery.pk)
        assert deliver(delivery.pk) == "nothing to send"
    assert len(listener.received) == 1


def test_one_channel_is_told_once_however_many_rules_match(failed_run):
    channel = webhook_channel()
    rule(channel, events=["failed"])
    rule(channel, events=["failed", "succeeded"], jobs=[failed_run.job])
    payload = run_payload("failed", failed_run)
    assert len(notify("failed", failed_run.job, payload, execution=failed_run)) == 1
    assert notify("failed", failed_run.job, payload, execution=failed_run) == []
    assert NotificationDelivery.objects.count() == 1


def test_an_email_goes_through_the_email_backend(failed_run, mailoutbox):
    delivery = pending_delivery(email_channel(to=["ops@example.com", "dba@example.com"]), failed_run)
    assert deliver(delivery.pk) == "delivered"
    [message] = mailoutbox
    assert message.to == ["ops@example.com", "dba@example.com"]
    assert message.subject == "[etlsite] Job nightly failed"
    assert "Error: boom" in message.body and f'"id": {failed_run.pk}' in message.body


def test_a_disabled_rule_sends_nothing(failed_run):
    rule(webhook_channel(), events=["failed"], enabled=False)
    assert notify("failed", failed_run.job, run_payload("failed", failed_run), execution=failed_run) == []


def test_an_attempt_lost_with_its_worker_is_enqueued_again(failed_run, django_capture_on_commit_callbacks):
    delivery = pending_delivery(webhook_channel(), failed_run)
    long_ago = timezone.now() - timedelta(hours=1)
    NotificationDelivery.objects.filter(pk=delivery.pk).update(attempts=1, last_attempt_at=long_ago)
    OrmQ.objects.all().delete()
    with django_capture_on_commit_callbacks(execute=True):
        assert resume_stalled(timezone.now()) == 1
    assert OrmQ.objects.count() == 1
    # An attempt still within its task's time is left alone.
    NotificationDelivery.objects.filter(pk=delivery.pk).update(last_attempt_at=timezone.now())
    assert resume_stalled(timezone.now()) == 0


def test_a_last_attempt_lost_with_its_worker_fails_the_delivery(failed_run, settings):
    settings.ETL_NOTIFY_MAX_ATTEMPTS = 2
    delivery = pending_delivery(webhook_channel(), failed_run)
    long_ago = timezone.now() - timedelta(hours=1)
    NotificationDelivery.objects.filter(pk=delivery.pk).update(attempts=2, last_attempt_at=long_ago)
    assert resume_stalled(timezone.now()) == 1
    delivery.refresh_from_db()
    assert delivery.status == "failed" and "worker stopped" in delivery.error


def test_retention_deletes_old_finished_deliveries_and_keeps_pending_ones(failed_run):
    old_done = pending_delivery(webhook_channel(name="a"), failed_run)
    old_pending = pending_delivery(webhook_channel(name="b"), failed_run)
    NotificationDelivery.objects.filter(pk=old_done.pk).update(status="delivered")
    NotificationDelivery.objects.update(created_at=timezone.now() - timedelta(days=400))
    assert apply_retention()["notification_deliveries_deleted"] == 1
    assert list(NotificationDelivery.objects.values_list("pk", flat=True)) == [old_pending.pk]
