import pytest
from django.conf import settings
from django.core.cache import cache

from etlsite import __version__
from tests.api_base import assert_error_body

pytestmark = pytest.mark.django_db

INFO_ROUTES = ["/api/v1/info", "/api/v1/info/version", "/api/v1/info/features", "/api/v1/info/capabilities"]


def test_info_names_the_version_environment_database_and_broker(viewer_client):
    body = viewer_client.get("/api/v1/info").json()
    assert body["name"] == "etlsite"
    assert body["version"] == __version__
    assert body["environment"] in ("development", "production")
    assert body["database"]["vendor"] in ("sqlite", "postgresql")
    assert body["broker"]["kind"] == "django-q2"


def test_version_is_the_one_the_openapi_schema_shows(viewer_client):
    version = viewer_client.get("/api/v1/info/version").json()["version"]
    assert version == __version__ == settings.SPECTACULAR_SETTINGS["VERSION"]


def test_features_follow_the_settings(viewer_client, settings):
    features = viewer_client.get("/api/v1/info/features").json()
    assert features["request_metrics"]["enabled"] is True
    assert features["token_auth"]["enabled"] is True
    assert features["credential_encryption"]["enabled"] is bool(settings.ETL_CREDENTIALS_KEY)


def test_maintenance_mode_shows_in_features_once_configured(viewer_client, admin_client):
    assert viewer_client.get("/api/v1/info/features").json()["maintenance_mode"]["enabled"] is False
    admin_client.put("/api/v1/setup/configuration", {"maintenance_mode": True}, format="json")
    cache.clear()  # /info/features is cached for a few seconds
    assert viewer_client.get("/api/v1/info/features").json()["maintenance_mode"]["enabled"] is True


def test_capabilities_list_the_engine_catalogue_and_limits(viewer_client):
    body = viewer_client.get("/api/v1/info/capabilities").json()
    types = {item["type"] for item in body["component_types"]}
    assert {"csv_source", "filter", "aggregate", "csv_sink", "metric"} <= types
    assert "postgres_source" in body["source_kinds"]
    assert "postgres_sink" in body["sink_kinds"]
    assert "token" in body["auth_methods"]
    assert body["limits"]["max_page_size"] == settings.API_PAGE_SIZE_MAX


def test_info_answers_with_an_etag_and_304_when_unchanged(viewer_client):
    first = viewer_client.get("/api/v1/info/version")
    assert first["ETag"]
    again = viewer_client.get("/api/v1/info/version", HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 304


@pytest.mark.parametrize("route", INFO_ROUTES)
def test_info_routes_need_authentication(anon_client, route):
    assert_error_body(anon_client.get(route), 401)


@pytest.mark.parametrize("route", INFO_ROUTES)
def test_info_routes_refuse_writes(viewer_client, route):
    assert_error_body(viewer_client.post(route, {}, format="json"), 405)
