"""Notifications end to end on a real `manage.py qcluster`: a failing scheduled
run sends exactly one signed webhook to a loopback listener and one email
(Django's file backend, which the worker process writes and this test reads),
an endpoint that never answers costs the run nothing, and a 500 is retried
through the cluster's own scheduler."""

import json
import time

import pytest
from django.utils import timezone
from django_q.tasks import async_task

from execution.models import Execution
from monitoring.models import NotificationDelivery
from tests.conftest import TEST_CREDENTIALS_KEY
from tests.execution.conftest import csv_copy_components, csv_rows, make_job
from tests.execution.qcluster import wait_for_state
from tests.monitoring.listeners import HttpListener, SilentListener
from tests.monitoring.notification_factories import SECRET, email_channel, rule, webhook_channel

pytestmark = [pytest.mark.qcluster, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def mail_folder(tmp_path):
    folder = tmp_path / "mail"
    folder.mkdir()
    return folder


@pytest.fixture
def worker(monkeypatch, mail_folder, request):
    """The qcluster with the file email backend and this test run's credentials key."""
    monkeypatch.setenv("EMAIL_BACKEND", "django.core.mail.backends.filebased.EmailBackend")
    monkeypatch.setenv("EMAIL_FILE_PATH", str(mail_folder))
    monkeypatch.setenv("ETL_CREDENTIALS_KEY", TEST_CREDENTIALS_KEY)
    monkeypatch.setenv("ETL_NOTIFY_TIMEOUT_SECONDS", "1")
    monkeypatch.setenv("ETL_NOTIFY_RETRY_SECONDS", "1")
    return request.getfixturevalue("qcluster")


def attempted(delivery) -> bool:
    """Delivered, given up, or waiting for a retry: its first attempt is over."""
    return delivery.status != "pending" or delivery.next_attempt_at is not None


def wait_for_deliveries(count, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        deliveries = list(NotificationDelivery.objects.select_related("channel"))
        if len(deliveries) >= count and all(attempted(d) for d in deliveries):
            return deliveries
        time.sleep(0.1)
    raise AssertionError(
        f"deliveries: {list(NotificationDelivery.objects.values('event', 'status', 'attempts'))}"
    )


def wait_for_run(job, timeout=30) -> Execution:
    deadline = time.monotonic() + timeout
    while not job.executions.exists():
        assert time.monotonic() < deadline, "the scheduled task started no run"
        time.sleep(0.05)
    return job.executions.get()


def test_a_failing_scheduled_job_sends_one_signed_webhook_and_one_email(worker, data_root, mail_folder):
    job = make_job("nightly", csv_copy_components(source="missing.csv"), schedule="0 3 * * *")
    with HttpListener(status=200) as listener:
        rule(webhook_channel(url=listener.url), events=["failed", "succeeded"], jobs=[job])
        rule(email_channel(to=["ops@example.com"]), events=["failed"])
        # What the job's django-q2 Schedule fires at its time.
        async_task("execution.tasks.run_scheduled", job.pk, scheduled_for=timezone.now().isoformat())
        execution = wait_for_run(job)
        wait_for_state(execution.pk, "failed")
        deliveries = wait_for_deliveries(2)
        time.sleep(1)  # anything sent twice would have arrived by now
    assert sorted((d.channel.kind, d.event, d.status) for d in deliveries) == [
        ("email", "failed", "delivered"),
        ("webhook", "failed", "delivered"),
    ]
    [received] = listener.received
    assert received.signature_valid(SECRET)
    body = json.loads(received.body)
    assert body["event"] == "failed" and body["job"] == {"id": job.pk, "name": "nightly"}
    assert body["execution"]["id"] == execution.pk and body["execution"]["trigger"] == "schedule"
    assert "missing.csv" in json.dumps(body["execution"]["error"])
    [mail_file] = list(mail_folder.iterdir())
    text = mail_file.read_text()
    assert text.count("Subject: [etlsite] Job nightly failed") == 1
    assert "To: ops@example.com" in text


def test_an_endpoint_that_never_answers_costs_the_run_nothing(worker, data_root, admin_client):
    (data_root / "in.csv").write_text(csv_rows(10))
    job = make_job("copy", csv_copy_components())
    # The same run without notifications, on a twin job no rule names.
    twin = make_job("copy_twin", csv_copy_components())
    baseline = admin_client.post(f"/api/v1/jobs/{twin.pk}/start", format="json").json()["id"]
    started = time.monotonic()
    wait_for_state(baseline, "succeeded")
    without_notifications = time.monotonic() - started

    with SilentListener() as silent:
        rule(webhook_channel(url=silent.url), events=["succeeded"], jobs=[job])
        execution_id = admin_client.post(f"/api/v1/jobs/{job.pk}/start", format="json").json()["id"]
        started = time.monotonic()
        wait_for_state(execution_id, "succeeded")
        with_hanging_endpoint = time.monotonic() - started
        deliveries = wait_for_deliveries(1)
        assert len(deliveries) == 1, [(d.event, d.execution_id, d.status, d.error) for d in deliveries]
        [delivery] = deliveries
    # The run ended before the endpoint's timeout (1 s) could have passed, then the delivery timed out.
    assert with_hanging_endpoint < without_notifications + 1, (with_hanging_endpoint, without_notifications)
    run = Execution.objects.get(pk=execution_id)
    assert run.state == "succeeded" and delivery.execution_id == run.pk
    assert "timed out" in delivery.error and delivery.next_attempt_at is not None


def test_a_500_is_retried_by_the_clusters_scheduler_until_delivered(worker, data_root, admin_client):
    """The retry is a one-off django-q2 Schedule: the cluster fires it (its
    scheduler looks every 30 s), and the second attempt is delivered."""
    job = make_job("nightly", csv_copy_components(source="missing.csv"))
    with HttpListener(statuses=[500, 200]) as listener:
        rule(webhook_channel(url=listener.url), events=["failed"])
        execution_id = admin_client.post(f"/api/v1/jobs/{job.pk}/start", format="json").json()["id"]
        wait_for_state(execution_id, "failed")
        [first] = wait_for_deliveries(1)
        assert first.status == "pending" and first.response_code == 500
        received = listener.wait_for(2, timeout=75)
    delivery = NotificationDelivery.objects.get(pk=first.pk)
    assert len(received) == 2 and all(r.signature_valid(SECRET) for r in received)
    assert received[1].at - received[0].at >= 1  # not before its backoff
    deadline = time.monotonic() + 10
    while delivery.status == "pending" and time.monotonic() < deadline:
        time.sleep(0.1)
        delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.response_code) == ("delivered", 2, 200)
