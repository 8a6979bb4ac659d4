"""GET /api/v1/notifications/deliveries: the log, filtered, read-only, and
limited to deliveries about jobs the caller may see."""

import pytest
from django.contrib.auth.models import Group

from execution.models import State
from monitoring.models import NotificationDelivery
from monitoring.notifications.delivery import notify
from monitoring.notifications.payloads import run_payload
from tests.api_base import ListTests, RetrieveTests, assert_error_body
from tests.conftest import make_user
from tests.jobs.factories import make_job
from tests.monitoring.factories import finished_run
from tests.monitoring.notification_factories import rule, webhook_channel

ENDPOINT = "/api/v1/notifications/deliveries/"


def delivery_for(job, event="failed", owner=None):
    run = finished_run(job, State.FAILED if event == "failed" else State.SUCCEEDED)
    rule(webhook_channel(name=f"hook-{run.pk}"), events=[event], jobs=[job], owner=owner)
    [delivery] = notify(event, job, run_payload(event, run), execution=run)
    return delivery


class TestDeliveriesAPI(ListTests, RetrieveTests):
    endpoint = ENDPOINT
    model = NotificationDelivery

    def make_object(self, index):
        return delivery_for(make_job(f"job{index}"))


pytestmark = pytest.mark.django_db


def test_a_delivery_shows_its_channel_rule_event_execution_and_attempts(reader_client):
    delivery = delivery_for(make_job("nightly"))
    row = reader_client.get(ENDPOINT).json()["results"][0]
    assert row["id"] == delivery.pk and row["channel"] == delivery.channel_id
    assert row["channel_name"] == delivery.channel.name and row["rule"] == delivery.rule_id
    assert (row["event"], row["execution"], row["job"]) == ("failed", delivery.execution_id, delivery.job_id)
    assert (row["status"], row["attempts"], row["response_code"], row["error"]) == ("pending", 0, None, "")
    assert {"created_at", "last_attempt_at", "next_attempt_at", "delivered_at", "payload"} <= set(row)


def test_deliveries_filter_by_event_status_and_channel(reader_client):
    failed = delivery_for(make_job("a"), "failed")
    delivery_for(make_job("b"), "succeeded")
    assert [r["id"] for r in reader_client.get(ENDPOINT, {"event": "failed"}).json()["results"]] == [
        failed.pk
    ]
    assert reader_client.get(ENDPOINT, {"status": "delivered"}).json()["count"] == 0
    assert reader_client.get(ENDPOINT, {"channel": failed.channel_id}).json()["count"] == 1


def test_a_bad_filter_is_a_400_naming_it(reader_client):
    assert_error_body(reader_client.get(ENDPOINT, {"event": "exploded"}), 400, "event")


def test_deliveries_about_hidden_jobs_are_not_listed(reader_client):
    payroll = make_job("payroll")
    payroll.allowed_groups.add(Group.objects.create(name="finance"))
    hidden = delivery_for(payroll, owner=make_user("boss", superuser=True))
    shown = delivery_for(make_job("open"))
    assert [r["id"] for r in reader_client.get(ENDPOINT).json()["results"]] == [shown.pk]
    assert_error_body(reader_client.get(f"{ENDPOINT}{hidden.pk}/"), 404)


def test_the_log_is_read_only(admin_client):
    delivery = delivery_for(make_job("nightly"))
    assert_error_body(admin_client.post(ENDPOINT, {}, format="json"), 405)
    assert_error_body(admin_client.delete(f"{ENDPOINT}{delivery.pk}/"), 405)


def test_anonymous_requests_get_401(anon_client):
    assert_error_body(anon_client.get(ENDPOINT), 401)
