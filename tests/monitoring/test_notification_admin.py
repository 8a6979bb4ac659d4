"""Admin pages for channels, rules and deliveries: the secret is write-only,
and the forms refuse what the API refuses."""

import pytest

from accounts.models import AuditEvent
from contexts import crypto
from monitoring.models import NotificationChannel, NotificationRule
from tests.jobs.factories import make_job
from tests.monitoring.notification_factories import SECRET, webhook_channel

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_browser(client, admin_user):
    client.force_login(admin_user)
    return client


def test_a_webhook_channel_is_added_with_its_secret_which_the_page_never_shows(admin_browser):
    response = admin_browser.post(
        "/admin/monitoring/notificationchannel/add/",
        {
            "name": "ops",
            "kind": "webhook",
            "config": '{"url": "https://hooks.example.com/a"}',
            "new_secret": SECRET,
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    channel = NotificationChannel.objects.get(name="ops")
    assert crypto.decrypt(channel.encrypted_secret) == SECRET
    page = admin_browser.get(f"/admin/monitoring/notificationchannel/{channel.pk}/change/").content.decode()
    assert SECRET not in page and channel.encrypted_secret not in page
    assert AuditEvent.objects.filter(object_type="monitoring.notificationchannel", action="create").exists()


def test_saving_without_a_new_secret_keeps_the_stored_one(admin_browser):
    channel = webhook_channel()
    response = admin_browser.post(
        f"/admin/monitoring/notificationchannel/{channel.pk}/change/",
        {
            "name": "renamed",
            "kind": "webhook",
            "config": '{"url": "https://hooks.example.com/b"}',
            "new_secret": "",
        },
    )
    assert response.status_code == 302
    channel.refresh_from_db()
    assert channel.name == "renamed" and crypto.decrypt(channel.encrypted_secret) == SECRET


def test_a_bad_url_is_refused_next_to_the_field(admin_browser):
    response = admin_browser.post(
        "/admin/monitoring/notificationchannel/add/",
        {"name": "ops", "kind": "webhook", "config": '{"url": "file:///etc/passwd"}', "new_secret": SECRET},
    )
    assert response.status_code == 200
    assert "Only http:// and https:// URLs are allowed" in response.content.decode()
    assert not NotificationChannel.objects.exists()


def test_a_rule_is_added_with_its_owner(admin_browser, admin_user):
    channel = webhook_channel()
    job = make_job("nightly")
    response = admin_browser.post(
        "/admin/monitoring/notificationrule/add/",
        {"name": "r", "channel": channel.pk, "events": ["failed", "slow"], "jobs": [job.pk], "enabled": "on"},
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    saved = NotificationRule.objects.get(name="r")
    assert (
        saved.events == ["failed", "slow"] and saved.owner == admin_user and list(saved.jobs.all()) == [job]
    )


def test_a_rule_without_jobs_must_say_all_jobs(admin_browser):
    channel = webhook_channel()
    response = admin_browser.post(
        "/admin/monitoring/notificationrule/add/", {"name": "r", "channel": channel.pk, "events": ["failed"]}
    )
    assert response.status_code == 200 and "Choose jobs" in response.content.decode()


def test_the_delivery_log_lists(admin_browser):
    assert admin_browser.get("/admin/monitoring/notificationdelivery/").status_code == 200
