"""/api/v1/notifications/rules: CRUD with the shared base, `jobs` as ids or
null, events checked, and grants: a rule names only jobs its owner may see."""

import pytest
from django.contrib.auth.models import Group

from monitoring.models import NotificationRule
from tests.api_base import APICRUDTests, assert_error_body
from tests.conftest import client_for, make_user, user_in_role
from tests.jobs.factories import make_job
from tests.monitoring.notification_factories import rule, webhook_channel

ENDPOINT = "/api/v1/notifications/rules/"


class TestRulesAPI(APICRUDTests):
    endpoint = ENDPOINT
    model = NotificationRule
    update_payload = {"events": ["failed", "missed"]}

    @pytest.fixture(autouse=True)
    def channel_and_job(self, db):
        self.channel = webhook_channel()
        self.job = make_job("nightly")

    @property
    def bad_payload(self):
        return ({"name": "r", "channel": self.channel.pk, "events": ["exploded"], "jobs": None}, "events")

    def make_object(self, index):
        return rule(self.channel, name=f"rule{index}", jobs=[self.job])

    def create_payload(self, index):
        return {
            "name": f"new{index}",
            "channel": self.channel.pk,
            "events": ["failed", "slow"],
            "jobs": [self.job.pk],
        }


@pytest.fixture
def channel(db):
    return webhook_channel()


@pytest.fixture
def writer(db):
    return client_for(
        make_user(
            "writer",
            "monitoring.add_notificationrule",
            "monitoring.change_notificationrule",
            "monitoring.delete_notificationrule",
        )
    )


def test_jobs_null_makes_a_rule_for_every_job_owned_by_its_creator(writer, channel):
    payload = {"name": "all-failures", "channel": channel.pk, "events": ["failed"], "jobs": None}
    response = writer.post(ENDPOINT, payload, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["jobs"] is None and body["owner"] == "writer" and body["enabled"] is True
    saved = NotificationRule.objects.get(name="all-failures")
    assert saved.all_jobs and saved.owner.username == "writer"


def test_a_rule_lists_its_job_ids(writer, channel):
    first, second = make_job("a"), make_job("b")
    payload = {"name": "two", "channel": channel.pk, "events": ["succeeded"], "jobs": [second.pk, first.pk]}
    assert writer.post(ENDPOINT, payload, format="json").json()["jobs"] == sorted([first.pk, second.pk])


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"events": ["failed", "exploded"]}, "events", "Unknown event"),
        ({"events": []}, "events", ""),
        ({"jobs": []}, "jobs", "null for every job"),
        ({"jobs": [999999]}, "jobs", "No job with id 999999"),
        ({"jobs": ["nightly"]}, "jobs", ""),
        ({"channel": 999999}, "channel", "No channel with id 999999"),
        ({"channel": None}, "channel", ""),
        ({"enabled": "maybe"}, "enabled", ""),
        ({"jobs": None, "colour": "red"}, "colour", "Unknown field"),
    ],
)
def test_bad_input_is_a_400_naming_the_field_and_saves_nothing(writer, channel, change, field, words):
    payload = {"name": "r", "channel": channel.pk, "events": ["failed"], "jobs": None, **change}
    response = writer.post(ENDPOINT, payload, format="json")
    assert_error_body(response, 400, field)
    assert words in str(response.json()["error"])
    assert not NotificationRule.objects.exists()


def test_a_rule_for_a_job_its_creator_may_not_see_is_the_same_400_as_a_missing_one(channel):
    secret_job = make_job("payroll")
    secret_job.allowed_groups.add(Group.objects.create(name="finance"))
    editor = client_for(user_in_role("editor", "editor"))
    payload = {"name": "spy", "channel": channel.pk, "events": ["failed"], "jobs": [secret_job.pk]}
    response = editor.post(ENDPOINT, payload, format="json")
    assert_error_body(response, 400, "jobs")
    assert response.json()["error"]["details"]["jobs"] == [f"No job with id {secret_job.pk}."]
    assert not NotificationRule.objects.exists()


def test_members_of_the_jobs_group_may_name_it(channel):
    secret_job = make_job("payroll")
    finance = Group.objects.create(name="finance")
    secret_job.allowed_groups.add(finance)
    user = user_in_role("accountant", "editor")
    user.groups.add(finance)
    payload = {
        "name": "payroll-failures",
        "channel": channel.pk,
        "events": ["failed"],
        "jobs": [secret_job.pk],
    }
    assert client_for(user).post(ENDPOINT, payload, format="json").status_code == 201


def test_rules_naming_a_hidden_job_are_hidden_from_the_list(reader_client, channel):
    secret_job = make_job("payroll")
    secret_job.allowed_groups.add(Group.objects.create(name="finance"))
    rule(channel, name="payroll-failures", jobs=[secret_job])
    rule(channel, name="everything")
    names = [row["name"] for row in reader_client.get(ENDPOINT).json()["results"]]
    assert names == ["everything"]


def test_editors_may_write_rules_and_viewers_may_not(channel):
    payload = {"name": "r", "channel": channel.pk, "events": ["failed"], "jobs": None}
    viewer = client_for(user_in_role("viewer", "viewer"))
    assert_error_body(viewer.post(ENDPOINT, payload, format="json"), 403)
    editor = client_for(user_in_role("editor", "editor"))
    assert editor.post(ENDPOINT, payload, format="json").status_code == 201


def test_changing_jobs_to_null_makes_the_rule_global(writer, channel):
    made = rule(channel, name="one", jobs=[make_job("a")])
    response = writer.patch(f"{ENDPOINT}{made.pk}/", {"jobs": None}, format="json")
    assert response.status_code == 200 and response.json()["jobs"] is None
    made.refresh_from_db()
    assert made.all_jobs and not made.jobs.exists()


def test_an_api_key_limited_to_some_jobs_may_name_only_those(channel):
    allowed, other = make_job("allowed"), make_job("other")
    owner = client_for(user_in_role("keyholder", "editor"))
    body = {"name": "ci", "scopes": ["read", "write"], "jobs": ["allowed"]}
    key = owner.post("/api/v1/auth/api-keys/", body, format="json").json()["key"]
    client = client_for(None)
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    payload = {"name": "r", "channel": channel.pk, "events": ["failed"], "jobs": [other.pk]}
    assert_error_body(client.post(ENDPOINT, payload, format="json"), 400, "jobs")
    payload["jobs"] = [allowed.pk]
    assert client.post(ENDPOINT, payload, format="json").status_code == 201
