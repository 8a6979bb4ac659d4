import socket

import pytest

from contexts.models import Context, Credential
from tests.api_base import assert_error_body

pytestmark = pytest.mark.django_db
URL = "/api/v1/health/external"


@pytest.fixture
def listening_port():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    yield server.getsockname()[1]
    server.close()


def _closed_port():
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    return port


def _credential(name, kind="postgres", **config):
    context, _ = Context.objects.get_or_create(name="prod")
    credential = Credential(context=context, name=name, kind=kind, config=config)
    credential.update_secrets({"password": "hunter2-secret"})
    credential.save()
    return credential


def test_a_listening_host_is_reachable_and_a_closed_one_is_not(viewer_client, listening_port):
    _credential("warehouse", host="127.0.0.1", port=listening_port)
    _credential("gone", host="127.0.0.1", port=_closed_port())
    response = viewer_client.get(URL)
    assert response.status_code == 200, response.content
    body = response.json()
    services = {service["credential"]: service for service in body["services"]}
    assert services["warehouse"]["reachable"] is True
    assert services["gone"]["reachable"] is False
    assert body["status"] == "degraded"
    assert "prod.gone" in body["message"]
    assert "hunter2-secret" not in response.content.decode()


def test_results_are_cached_briefly(viewer_client, listening_port):
    _credential("warehouse", host="127.0.0.1", port=listening_port)
    assert viewer_client.get(URL).json()["services"][0]["cached"] is False
    assert viewer_client.get(URL).json()["services"][0]["cached"] is True


def test_an_http_credential_is_checked_by_its_url(viewer_client, listening_port):
    _credential("api", kind="http", url=f"http://127.0.0.1:{listening_port}/v1")
    (service,) = viewer_client.get(URL).json()["services"]
    assert (service["host"], service["port"], service["reachable"]) == ("127.0.0.1", listening_port, True)


def test_a_credential_without_a_host_is_skipped(viewer_client):
    _credential("local", kind="sqlite", path="data.db")
    (service,) = viewer_client.get(URL).json()["services"]
    assert service["status"] == "skipped"


def test_external_health_needs_authentication(anon_client):
    assert_error_body(anon_client.get(URL), 401)
