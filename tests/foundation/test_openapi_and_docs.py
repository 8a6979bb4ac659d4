import re
import subprocess
import sys

import pytest
from django.conf import settings


def test_the_openapi_schema_validates_without_warnings():
    result = subprocess.run(
        [sys.executable, "manage.py", "spectacular", "--validate", "--fail-on-warn", "--file", "/dev/null"],
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]


@pytest.mark.django_db
def test_the_schema_is_served_and_lists_seed_routes(admin_client):
    response = admin_client.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    assert "/api/v1/jobs/{id}/config" in paths or "/api/v1/jobs/{id}/config/" in paths


@pytest.mark.django_db
@pytest.mark.parametrize("page", ["/api/docs/", "/api/redoc/"])
def test_api_docs_pages_load_their_assets_locally(admin_client, page):
    html = admin_client.get(page).content.decode()
    assets = re.findall(r'(?:src|href)="([^"]+\.(?:js|css))"', html)
    assert assets, html[:500]
    for asset in assets:
        assert asset.startswith("/static/"), f"{asset} is not served by this site"
        assert admin_client.get(asset).status_code == 200
