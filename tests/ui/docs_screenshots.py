"""The screenshots docs/ui.md shows for authoring: `make screenshots` runs this
file (its name keeps it out of the test run, which writes only to temporary
folders). Debian's chromium, the live test server, the bundled demo data."""

from pathlib import Path

import pytest
from django.conf import settings

from jobs.models import Job, JobVersion
from jobs.versions import record_version
from monitoring import setup
from tests.ui.test_browser import chromium  # noqa: F401 - the browser fixture
from tests.ui.test_component_editor_browser import (
    add_component,
    editor_page,  # noqa: F401 - the signed-in admin's page fixture
    setting,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = Path(settings.BASE_DIR) / "docs" / "screenshots"


def test_the_component_editor(editor_page):  # noqa: F811 - the imported fixture
    page = editor_page
    page.goto("/admin/jobs/job/add/")
    page.locator("#id_name").fill("late_flights")
    flights = add_component(page, "flights", "csv_source")
    setting(flights, "path").fill("demo/flights.csv")
    late = add_component(page, "late", "filter", ["flights"])
    setting(late, "where").fill("arr_delay > 15")
    by_carrier = add_component(page, "by_carrier", "aggregate", ["late"])
    setting(by_carrier, "group_by").fill("carrier")
    rows = by_carrier.locator("[data-config-key='aggregates'] .map-row").last
    rows.locator("[data-map-part='key']").fill("flights")
    rows.locator("[data-map-part='value']").fill("count(*)")
    out = add_component(page, "out", "csv_sink", ["by_carrier"])
    setting(out, "path").fill("demo/output/late_by_carrier.csv")
    setting(out, "mode").select_option("replace")
    by_carrier.get_by_role("button", name="Preview").click()
    by_carrier.locator("[data-preview-output] table").wait_for()
    page.locator(".component-graph").scroll_into_view_if_needed()
    page.screenshot(path=SCREENSHOTS / "component-editor.png", full_page=True)


def test_a_preview_on_the_job_page_and_a_versions_diff(editor_page):  # noqa: F811 - the imported fixture
    page = editor_page
    setup.ensure_demo_job()
    job = Job.objects.get(name=setup.DEMO_JOB_NAME)
    components = job.component_dicts()
    components[1]["config"]["where"] = "dep_time IS NOT NULL AND arr_delay > 0"
    job.replace_components(components)
    job.description = "Late departed flights per carrier."
    job.save()
    record_version(job, via=JobVersion.Via.API)

    page.goto(f"/jobs/{job.pk}/")
    page.get_by_role("button", name="Preview by_carrier").click()
    page.locator("[data-preview-output] table").wait_for()
    page.screenshot(path=SCREENSHOTS / "job-preview.png", full_page=True)

    page.goto(f"/jobs/{job.pk}/versions/2/")
    page.screenshot(path=SCREENSHOTS / "job-version-diff.png", full_page=True)
