"""Email notifications over real SMTP, to a local debugging server (aiosmtpd):
the EMAIL_* settings are what the worker uses; a server that is down is an
error that is retried."""

import email
import json

import pytest

from execution.models import State
from monitoring.notifications.delivery import deliver, notify
from monitoring.notifications.payloads import run_payload
from tests.jobs.factories import make_job
from tests.monitoring.factories import finished_run
from tests.monitoring.listeners import SmtpServer
from tests.monitoring.notification_factories import email_channel, rule
from tests.security.servers import free_port

pytestmark = pytest.mark.django_db


@pytest.fixture
def smtp_settings(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_TIMEOUT = 5
    settings.DEFAULT_FROM_EMAIL = "etl@example.com"
    return settings


def failed_delivery():
    run = finished_run(make_job("nightly"), State.FAILED)
    rule(email_channel(to=["ops@example.com", "dba@example.com"]), events=["failed"])
    [delivery] = notify("failed", run.job, run_payload("failed", run), execution=run)
    return run, delivery


def test_a_failure_is_mailed_over_smtp(smtp_settings):
    with SmtpServer() as server:
        smtp_settings.EMAIL_PORT = server.port
        run, delivery = failed_delivery()
        assert deliver(delivery.pk) == "delivered"
    [envelope] = server.messages
    assert envelope.mail_from == "etl@example.com"
    assert envelope.rcpt_tos == ["ops@example.com", "dba@example.com"]
    message = email.message_from_bytes(envelope.content)
    assert message["Subject"] == "[etlsite] Job nightly failed"
    text = message.get_payload(decode=True).decode().replace("\r\n", "\n")
    assert "Error: boom" in text
    sent = json.loads(text.split("The notification as JSON:\n", 1)[1])
    assert sent["execution"]["id"] == run.pk and sent["event"] == "failed"


def test_the_test_route_mails_over_smtp(smtp_settings, admin_client):
    with SmtpServer() as server:
        smtp_settings.EMAIL_PORT = server.port
        channel = email_channel(to=["ops@example.com"])
        body = admin_client.post(f"/api/v1/notifications/channels/{channel.pk}/test").json()
    assert body["ok"] is True, body
    [envelope] = server.messages
    assert "Subject: [etlsite] Test notification from etlsite" in envelope.content.decode()


def test_an_smtp_server_that_is_down_is_retried(smtp_settings):
    smtp_settings.EMAIL_PORT = free_port()
    _, delivery = failed_delivery()
    assert deliver(delivery.pk) == "pending"
    delivery.refresh_from_db()
    assert "refused" in delivery.error.lower() and delivery.next_attempt_at
