import pytest

from accounts.models import AuditEvent
from etlsite.configuration import get_setting
from etlsite.models import SystemSetting
from monitoring.models import SystemState
from tests.api_base import assert_error_body

pytestmark = pytest.mark.django_db
URL = "/api/v1/setup/configuration"
CONFIGURE = "/api/v1/setup/configure"


def _settings(body):
    return {item["name"]: item for item in body["settings"]}


def test_every_setting_has_a_type_default_and_description(admin_client):
    settings = _settings(admin_client.get(URL).json())
    assert {
        "default_batch_size",
        "log_retention_days",
        "execution_retention_days",
        "throttle_rate_user",
        "throttle_rate_anon",
    } <= set(settings)
    for item in settings.values():
        assert item["type"] in ("integer", "boolean", "rate")
        assert item["description"]
        assert item["value"] == item["default"]
        assert item["is_default"] is True


def test_a_change_applies_at_once_and_is_audited(admin_client):
    response = admin_client.put(
        URL, {"log_retention_days": 14, "throttle_rate_user": "300/minute"}, format="json"
    )
    assert response.status_code == 200, response.content
    assert response.json()["changed"]["log_retention_days"] == {"old": 30, "new": 14}
    assert get_setting("log_retention_days") == 14
    assert get_setting("throttle_rate_user") == "300/minute"
    item = _settings(admin_client.get(URL).json())["log_retention_days"]
    assert (item["value"], item["is_default"], item["updated_by"]) == (14, False, "admin")
    event = AuditEvent.objects.get(object_type="etlsite.systemsetting")
    assert event.before == {"log_retention_days": 30, "throttle_rate_user": "1200/minute"}
    assert event.after == {"log_retention_days": 14, "throttle_rate_user": "300/minute"}


def test_null_resets_a_setting_to_its_default(admin_client):
    admin_client.put(URL, {"log_retention_days": 14}, format="json")
    admin_client.put(URL, {"log_retention_days": None}, format="json")
    assert get_setting("log_retention_days") == 30
    assert not SystemSetting.objects.exists()


def test_the_get_body_can_be_edited_and_put_back(admin_client):
    body = admin_client.get(URL).json()
    for item in body["settings"]:
        if item["name"] == "default_batch_size":
            item["value"] = 7
    assert admin_client.put(URL, body, format="json").status_code == 200
    assert get_setting("default_batch_size") == 7


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"log_retention_days": 0}, "log_retention_days"),
        ({"log_retention_days": "14"}, "log_retention_days"),
        ({"default_batch_size": True}, "default_batch_size"),
        ({"throttle_rate_user": "fast"}, "throttle_rate_user"),
        ({"maintenance_mode": "yes"}, "maintenance_mode"),
        ({"no_such_setting": 1}, "no_such_setting"),
        ({}, "settings"),
    ],
)
def test_bad_values_are_refused_naming_the_setting_and_nothing_changes(admin_client, payload, field):
    response = admin_client.put(
        URL, {"log_retention_days": 10, **payload} if payload else payload, format="json"
    )
    assert_error_body(response, 400, field)
    assert not SystemSetting.objects.exists()
    assert get_setting("log_retention_days") == 30


def test_configure_applies_settings_and_marks_the_system_configured(admin_client):
    response = admin_client.post(CONFIGURE, {"settings": {"execution_retention_days": 10}}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["configured"] is True
    assert get_setting("execution_retention_days") == 10
    assert SystemState.current().configured_at is not None


def test_configure_with_a_bad_setting_names_it_and_marks_nothing(admin_client):
    response = admin_client.post(CONFIGURE, {"settings": {"execution_retention_days": -1}}, format="json")
    assert_error_body(response, 400, "execution_retention_days")
    assert SystemState.current().configured_at is None
    assert_error_body(admin_client.post(CONFIGURE, {"setting": {}}, format="json"), 400, "setting")


def test_configuration_is_for_admins_only(viewer_client, anon_client):
    assert_error_body(viewer_client.get(URL), 403)
    assert_error_body(viewer_client.put(URL, {"log_retention_days": 1}, format="json"), 403)
    assert_error_body(
        viewer_client.post(CONFIGURE, {"settings": {"log_retention_days": 1}}, format="json"), 403
    )
    assert_error_body(anon_client.get(URL), 401)
    assert not SystemSetting.objects.exists()
