"""Webhook URLs (SSRF): only http and https, no credentials in the URL, only
the hosts in ETL_WEBHOOK_ALLOWED_HOSTS when it is set (checked at save and
again before every attempt), and redirects never followed."""

import pytest

from execution.models import State
from monitoring.models import NotificationChannel
from monitoring.notifications.delivery import deliver, notify
from monitoring.notifications.payloads import run_payload
from tests.api_base import assert_error_body
from tests.jobs.factories import make_job
from tests.monitoring.factories import finished_run
from tests.monitoring.listeners import HttpListener
from tests.monitoring.notification_factories import SECRET, rule, webhook_channel

pytestmark = pytest.mark.django_db

ENDPOINT = "/api/v1/notifications/channels/"


def create(client, url):
    payload = {"name": "hook", "kind": "webhook", "config": {"url": url}, "secret": SECRET}
    return client.post(ENDPOINT, payload, format="json")


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "gopher://127.0.0.1:6379/_FLUSHALL",
        "ftp://files.example.com/x",
        "dict://127.0.0.1:11211/",
        "javascript:alert(1)",
        "data:text/plain,hello",
        "//hooks.example.com/no-scheme",
        "http:///no-host",
        "https://user:password@hooks.example.com/x",
        "http://hooks.example.com:99999/bad-port",
    ],
)
def test_urls_that_are_not_plain_http_or_https_are_refused(admin_client, url):
    assert_error_body(create(admin_client, url), 400, "url")
    assert not NotificationChannel.objects.exists()


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("https://hooks.example.com/etl", True),
        ("https://HOOKS.example.com/etl", True),
        ("https://ci.corp.example/etl", True),
        ("https://corp.example/etl", False),
        ("https://evilcorp.example/etl", False),
        ("https://hooks.example.com.evil.net/etl", False),
        ("http://127.0.0.1:6379/", False),
        ("http://169.254.169.254/latest/meta-data/", False),
        ("http://localhost/admin", False),
    ],
)
def test_only_allowed_hosts_are_accepted_when_the_setting_is_given(admin_client, settings, url, allowed):
    settings.ETL_WEBHOOK_ALLOWED_HOSTS = ["hooks.example.com", ".corp.example"]
    response = create(admin_client, url)
    if allowed:
        assert response.status_code == 201, response.content
    else:
        assert_error_body(response, 400, "url")
        assert "ETL_WEBHOOK_ALLOWED_HOSTS" in str(response.json()["error"])


def test_a_channel_saved_before_the_setting_narrowed_is_refused_at_send_time(settings):
    run = finished_run(make_job("nightly"), State.FAILED)
    with HttpListener() as listener:
        rule(webhook_channel(url=listener.url), events=["failed"])
        [delivery] = notify("failed", run.job, run_payload("failed", run), execution=run)
        settings.ETL_WEBHOOK_ALLOWED_HOSTS = ["hooks.example.com"]
        assert deliver(delivery.pk) == "failed"
    assert listener.received == []
    delivery.refresh_from_db()
    assert "not in ETL_WEBHOOK_ALLOWED_HOSTS" in delivery.error


def test_an_allowed_host_cannot_redirect_the_request_to_an_internal_one():
    run = finished_run(make_job("nightly"), State.FAILED)
    with HttpListener() as internal, HttpListener(status=307) as allowed:
        allowed.extra_headers["Location"] = internal.url
        rule(webhook_channel(url=allowed.url), events=["failed"])
        [delivery] = notify("failed", run.job, run_payload("failed", run), execution=run)
        assert deliver(delivery.pk) == "failed"
    assert internal.received == [] and len(allowed.received) == 1


def test_the_channel_secret_is_in_no_answer_of_the_notification_routes(admin_client):
    run = finished_run(make_job("nightly"), State.FAILED)
    with HttpListener() as listener:
        channel = webhook_channel(url=listener.url)
        rule(channel, events=["failed"])
        [delivery] = notify("failed", run.job, run_payload("failed", run), execution=run)
        deliver(delivery.pk)
        admin_client.post(f"{ENDPOINT}{channel.pk}/test")
    for path in (ENDPOINT, f"{ENDPOINT}{channel.pk}/", "/api/v1/notifications/deliveries/", "/api/v1/audit"):
        response = admin_client.get(path)
        assert response.status_code == 200, (path, response.content)
        assert SECRET not in response.content.decode()
        assert channel.encrypted_secret not in response.content.decode()
    for received in listener.received:
        assert SECRET.encode() not in received.body
