"""Every route of the original description (seed-api-routers.md) exists under /api/v1."""

from pathlib import Path

import pytest

SEED_ROUTES = [
    line.split(" ", 1)
    for line in (Path(__file__).parent / "seed_routes.txt").read_text().splitlines()
    if line and not line.startswith("#")
]


def test_the_seed_list_is_complete():
    assert len(SEED_ROUTES) == 81


@pytest.mark.django_db
@pytest.mark.parametrize("method, route", SEED_ROUTES, ids=[f"{m} {r}" for m, r in SEED_ROUTES])
def test_the_seed_route_exists(admin_client, method, route):
    # Ids that match nothing: a route that exists answers about the object
    # (404 "No Job matches..."), 400 or success; a missing one says "No route".
    path = "/api/v1" + route.replace("{id}", "999999").replace("{cred_id}", "999999").replace(
        "{exec_id}", "999999"
    )
    response = getattr(admin_client, method.lower())(path, {}, format="json")
    assert response.status_code != 405, f"{method} {path}: method not allowed"
    if response.status_code == 404:
        assert "No route" not in response.json()["error"]["message"], f"{method} {path} does not exist"
