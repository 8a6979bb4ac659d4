"""/api/v1/notifications/channels: CRUD with the shared base, the write-only
secret, the URL policy's 400s, who may change channels, and the test-send route."""

import json

import pytest
from django.contrib.auth.models import Group
from django.core import mail

from accounts.models import AuditEvent
from contexts import crypto
from monitoring.models import NotificationChannel, NotificationDelivery
from tests.api_base import APICRUDTests, assert_error_body
from tests.conftest import client_for, make_user, user_in_role
from tests.monitoring.listeners import HttpListener
from tests.monitoring.notification_factories import SECRET, email_channel, rule, webhook_channel

ENDPOINT = "/api/v1/notifications/channels/"


class TestChannelsAPI(APICRUDTests):
    endpoint = ENDPOINT
    model = NotificationChannel
    update_payload = {"name": "renamed"}
    bad_payload = (
        {"name": "ftp", "kind": "webhook", "config": {"url": "ftp://files.example.com/x"}, "secret": SECRET},
        "url",
    )

    def make_object(self, index):
        return webhook_channel(name=f"hook{index}")

    def create_payload(self, index):
        return {
            "name": f"new{index}",
            "kind": "webhook",
            "config": {"url": "https://hooks.example.com/a"},
            "secret": SECRET,
        }


@pytest.fixture
def writer(db):
    return client_for(
        make_user(
            "writer",
            "monitoring.add_notificationchannel",
            "monitoring.change_notificationchannel",
            "monitoring.delete_notificationchannel",
        )
    )


def test_the_secret_is_never_returned_and_is_stored_encrypted(writer):
    payload = {
        "name": "ops",
        "kind": "webhook",
        "config": {"url": "https://hooks.example.com/a"},
        "secret": SECRET,
    }
    created = writer.post(ENDPOINT, payload, format="json")
    assert created.status_code == 201, created.content
    listed = writer.get(ENDPOINT).content.decode()
    shown = writer.get(f"{ENDPOINT}{created.json()['id']}/").json()
    for text in (created.content.decode(), listed, json.dumps(shown)):
        assert SECRET not in text
        assert 'secret"' not in text.replace("secret_set", "")
    assert shown["secret_set"] is True
    channel = NotificationChannel.objects.get(name="ops")
    assert SECRET not in channel.encrypted_secret
    assert crypto.decrypt(channel.encrypted_secret) == SECRET
    event = AuditEvent.objects.get(action="create", object_type="monitoring.notificationchannel")
    assert SECRET not in json.dumps(event.after) and channel.encrypted_secret not in json.dumps(event.after)


def test_an_update_without_a_secret_keeps_it_and_a_new_one_replaces_it(writer):
    channel = webhook_channel()
    assert writer.patch(f"{ENDPOINT}{channel.pk}/", {"name": "renamed"}, format="json").status_code == 200
    channel.refresh_from_db()
    assert crypto.decrypt(channel.encrypted_secret) == SECRET
    new = "another-secret-of-enough-length"
    assert writer.patch(f"{ENDPOINT}{channel.pk}/", {"secret": new}, format="json").status_code == 200
    channel.refresh_from_db()
    assert crypto.decrypt(channel.encrypted_secret) == new


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"name": "a", "kind": "webhook", "config": {"url": "https://h.example.com/"}}, "secret"),
        (
            {"name": "a", "kind": "webhook", "config": {"url": "https://h.example.com/"}, "secret": "short"},
            "secret",
        ),
        ({"name": "a", "kind": "webhook", "config": {"url": "not a url"}, "secret": SECRET}, "url"),
        ({"name": "a", "kind": "webhook", "config": {}, "secret": SECRET}, "url"),
        (
            {
                "name": "a",
                "kind": "webhook",
                "config": {"url": "https://h.example.com/", "x": 1},
                "secret": SECRET,
            },
            "x",
        ),
        ({"name": "a", "kind": "pager", "config": {}}, "kind"),
        ({"name": "a", "kind": "email", "config": {"to": ["not-an-address"]}}, "to"),
        ({"name": "a", "kind": "email", "config": {"to": []}}, "to"),
        ({"name": "a", "kind": "email", "config": {"to": ["a@example.com"]}, "secret": SECRET}, "secret"),
        ({"name": "a", "kind": "email", "config": "a@example.com"}, "config"),
        ({"name": "a", "kind": "email", "config": {"to": ["a@example.com"]}, "colour": "red"}, "colour"),
    ],
)
def test_bad_input_is_a_400_naming_the_field_and_saves_nothing(writer, payload, field):
    assert_error_body(writer.post(ENDPOINT, payload, format="json"), 400, field)
    assert not NotificationChannel.objects.exists()


def test_an_email_channel_takes_a_list_of_addresses(writer):
    payload = {"name": "ops-mail", "kind": "email", "config": {"to": ["ops@example.com", "dba@example.com"]}}
    response = writer.post(ENDPOINT, payload, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["config"] == {"to": ["ops@example.com", "dba@example.com"]}
    assert response.json()["secret_set"] is False


def test_readers_see_only_the_host_of_a_webhook_url(reader_client):
    channel = webhook_channel(url="https://hooks.example.com/services/T000/B000/XXXXSECRETPATH")
    shown = reader_client.get(f"{ENDPOINT}{channel.pk}/").json()
    assert shown["config"]["url"] == "https://hooks.example.com/***"


def test_editors_may_not_change_channels_but_admins_may(db):
    editor = client_for(user_in_role("editor", "editor"))
    payload = {"name": "ops", "kind": "email", "config": {"to": ["ops@example.com"]}}
    assert_error_body(editor.post(ENDPOINT, payload, format="json"), 403)
    admin_role = make_user("role-admin")
    admin_role.groups.add(Group.objects.get(name="admin"))
    assert client_for(admin_role).post(ENDPOINT, payload, format="json").status_code == 201


def test_a_channel_used_by_rules_cannot_be_deleted(writer):
    channel = webhook_channel()
    rule(channel, name="on-failure")
    response = writer.delete(f"{ENDPOINT}{channel.pk}/")
    assert_error_body(response, 409)
    assert "on-failure" in response.json()["error"]["message"]
    assert NotificationChannel.objects.filter(pk=channel.pk).exists()


def test_the_test_route_sends_a_signed_test_webhook_and_logs_it(writer):
    with HttpListener(status=204) as listener:
        channel = webhook_channel(url=listener.url)
        response = writer.post(f"{ENDPOINT}{channel.pk}/test", format="json")
        assert response.status_code == 200, response.content
    body = response.json()
    assert body["ok"] is True and body["response_code"] == 204 and body["error"] == ""
    [received] = listener.received
    assert received.signature_valid(SECRET)
    sent = json.loads(received.body)
    assert sent["event"] == "test" and sent["channel"] == {"id": channel.pk, "name": channel.name}
    assert sent["sent_at"]
    delivery = NotificationDelivery.objects.get(pk=body["delivery"])
    assert (delivery.event, delivery.status, delivery.attempts) == ("test", "delivered", 1)
    assert AuditEvent.objects.filter(action="test", object_id=str(channel.pk)).exists()


def test_the_test_route_reports_what_a_failing_endpoint_answered(writer):
    with HttpListener(status=500) as listener:
        channel = webhook_channel(url=listener.url)
        body = writer.post(f"{ENDPOINT}{channel.pk}/test").json()
    assert body["ok"] is False and body["response_code"] == 500 and "HTTP 500" in body["error"]
    assert len(listener.received) == 1  # a test send is never retried


def test_the_test_route_sends_an_email_through_the_email_backend(writer):
    channel = email_channel(to=["ops@example.com"])
    assert writer.post(f"{ENDPOINT}{channel.pk}/test").json()["ok"] is True
    [message] = mail.outbox
    assert message.to == ["ops@example.com"] and "Test notification" in message.subject


def test_the_test_route_needs_the_change_permission(reader_client):
    channel = webhook_channel()
    assert_error_body(reader_client.post(f"{ENDPOINT}{channel.pk}/test"), 403)
    assert not NotificationDelivery.objects.exists()


def test_an_unknown_channel_is_a_404(writer):
    assert_error_body(writer.post(f"{ENDPOINT}999999/test"), 404)


def test_without_a_credentials_key_a_secret_cannot_be_stored_and_nothing_is_saved(writer, settings):
    settings.ETL_CREDENTIALS_KEY = ""
    settings.DEBUG = False
    payload = {
        "name": "ops",
        "kind": "webhook",
        "config": {"url": "https://hooks.example.com/a"},
        "secret": SECRET,
    }
    response = writer.post(ENDPOINT, payload, format="json")
    assert_error_body(response, 503)
    assert "ETL_CREDENTIALS_KEY" in response.json()["error"]["message"]
    assert not NotificationChannel.objects.exists()
