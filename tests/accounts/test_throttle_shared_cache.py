"""Rate limits count in the shared cache: the database table by default, or Redis."""

import os
import subprocess
import sys
import uuid

import pytest
import redis
from rest_framework.test import APIClient

from tests.api_base import assert_error_body
from tests.conftest import REDIS_URL, _service_missing
from tests.execution.qcluster import database_url


@pytest.mark.django_db
@pytest.mark.parametrize("cache", ["database", "redis"])
def test_the_anonymous_limit_is_counted_in_the_shared_cache(request, settings, cache):
    if cache == "redis":
        request.getfixturevalue("redis_cache")
    settings.ETL_THROTTLE_RATES = {**settings.ETL_THROTTLE_RATES, "anon": "3/minute"}
    client = APIClient(REMOTE_ADDR=f"10.9.{uuid.uuid4().int % 250}.1")
    # A route anonymous clients may call (protected ones answer 401 before any throttle).
    for _ in range(3):
        assert client.post("/api/v1/auth/jwt/verify/", {"token": "x"}, format="json").status_code == 401
    response = client.post("/api/v1/auth/jwt/verify/", {"token": "x"}, format="json")
    assert_error_body(response, 429)
    assert 0 < int(response["Retry-After"]) <= 61


ANSWER_TWO_REQUESTS = """
from django.test import Client
client = Client(REMOTE_ADDR="{address}")
for _ in range(2):
    assert client.post("/api/v1/auth/jwt/verify/", {{"token": "x"}}, content_type="application/json").status_code == 401
"""


@pytest.mark.django_db(transaction=True)  # the other process reads the cache table too
@pytest.mark.parametrize("cache", ["database", "redis"])
def test_requests_answered_by_another_process_count_towards_the_limit(settings, cache):
    """Several gunicorn workers share one limit: DRF's throttles keep it in the shared cache."""
    env = dict(
        os.environ, DATABASE_URL=database_url(), THROTTLE_ANON="3/minute", ETL_HOME=str(settings.ETL_HOME)
    )
    if cache == "redis":
        try:
            redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
        except redis.RedisError as error:
            _service_missing("Redis", error)
        settings.CACHES = {
            "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
        }
        env["CACHE_URL"] = REDIS_URL
    settings.ETL_THROTTLE_RATES = {**settings.ETL_THROTTLE_RATES, "anon": "3/minute"}
    address = f"10.8.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}"
    client = APIClient(REMOTE_ADDR=address)
    assert client.post("/api/v1/auth/jwt/verify/", {"token": "x"}, format="json").status_code == 401
    subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", ANSWER_TWO_REQUESTS.format(address=address)],
        cwd=settings.BASE_DIR,
        env=env,
        check=True,
        capture_output=True,
        timeout=120,
    )
    assert_error_body(client.post("/api/v1/auth/jwt/verify/", {"token": "x"}, format="json"), 429)
