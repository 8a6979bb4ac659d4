"""Rate limits count in the shared cache: the database table by default, or Redis."""

import uuid

import pytest
from rest_framework.test import APIClient

from tests.api_base import assert_error_body


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
