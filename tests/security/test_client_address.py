"""Which address the login throttle counts and the audit records.

The attack: 25 wrong passwords, each with a new X-Forwarded-For, never got a
429, because DRF believes that header when it is not told how many proxies
there are. Now the header counts only with `ETL_TRUSTED_PROXIES` set.
"""

import itertools

import pytest
from django.test import Client

from accounts.models import AuditEvent

pytestmark = pytest.mark.django_db

PEER = "198.51.100.20"
LOGIN_ROUTES = ["/api/v1/auth/token", "/login/", "/admin/login/"]
# A day-long window: the ten tries cannot straddle a window boundary.
TEN_PER_DAY = "10/day"
forged = (f"10.0.{n // 250}.{n % 250 + 1}" for n in itertools.count())


@pytest.fixture
def alice(django_user_model):
    return django_user_model.objects.create_user("alice", password="correct horse battery")


@pytest.fixture
def login_rate(settings):
    settings.ETL_THROTTLE_RATES = {**settings.ETL_THROTTLE_RATES, "login": TEN_PER_DAY}


@pytest.fixture
def trusted_proxies(settings):
    def configure(hops: int):
        settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": hops}

    return configure


def wrong_password(path: str, forwarded_for: str | None = None, peer: str = PEER):
    headers = {"HTTP_X_FORWARDED_FOR": forwarded_for} if forwarded_for else {}
    client = Client(REMOTE_ADDR=peer)
    if path.startswith("/api/"):
        return client.post(
            path, {"username": "alice", "password": "guess"}, content_type="application/json", **headers
        )
    return client.post(path, {"username": "alice", "password": "guess"}, **headers)


def test_no_trusted_proxy_is_the_default(settings):
    assert settings.ETL_TRUSTED_PROXIES == 0
    assert settings.REST_FRAMEWORK["NUM_PROXIES"] == 0


@pytest.mark.parametrize("path", LOGIN_ROUTES)
def test_a_new_forwarded_address_on_each_try_still_gets_a_429_on_the_eleventh(alice, login_rate, path):
    statuses = [wrong_password(path, next(forged)).status_code for _ in range(11)]
    assert 429 not in statuses[:10], statuses
    assert statuses[10] == 429, statuses


def test_the_audit_records_the_peer_address_not_the_forwarded_one(alice):
    wrong_password("/api/v1/auth/token", "203.0.113.9")
    event = AuditEvent.objects.get(action="login_failed")
    assert event.ip == PEER


def test_behind_one_trusted_proxy_the_right_most_forwarded_address_is_the_client(
    alice, login_rate, trusted_proxies
):
    trusted_proxies(1)
    proxy = "192.0.2.1"
    # The client claims a new address each time; the proxy appends the real one.
    statuses = [
        wrong_password("/api/v1/auth/token", f"{next(forged)}, 203.0.113.9", peer=proxy).status_code
        for _ in range(11)
    ]
    assert statuses[10] == 429, statuses
    assert set(AuditEvent.objects.filter(action="login_failed").values_list("ip", flat=True)) == {
        "203.0.113.9"
    }
    # Another client behind the same proxy has a budget of its own.
    assert wrong_password("/api/v1/auth/token", "203.0.113.10", peer=proxy).status_code == 401


@pytest.mark.parametrize("path", ["/login/", "/admin/login/"])
def test_the_login_forms_count_the_same_address_behind_a_proxy(alice, login_rate, trusted_proxies, path):
    trusted_proxies(1)
    for _ in range(10):
        assert wrong_password(path, f"{next(forged)}, 203.0.113.9").status_code == 200
    assert wrong_password(path, "203.0.113.9").status_code == 429
    assert wrong_password(path, "203.0.113.10").status_code == 200


def test_a_forwarded_value_that_is_no_address_falls_back_to_the_peer(alice, trusted_proxies):
    trusted_proxies(1)
    wrong_password("/api/v1/auth/token", "<script>")
    assert AuditEvent.objects.get(action="login_failed").ip == PEER
