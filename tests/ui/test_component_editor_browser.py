"""The admin's component editor in a real browser (Debian's chromium driven by
Playwright, against the live test server): an admin builds a job of three
components without typing JSON, previews one, sees a validation error next to
its field, and the page stays within 1,280 px, under the Content-Security-Policy,
requesting nothing from any other host. Also the job page's Preview buttons and
its history (compare, restore). Screenshots go to the test's temporary
folder (docs/screenshots/ is written by `make screenshots`, not by tests)."""

from urllib.parse import urlsplit

import pytest

from jobs.models import Job, JobVersion
from jobs.versions import record_version
from monitoring import setup
from tests.security.test_csp_offline import LISTEN_FOR_VIOLATIONS
from tests.ui.test_browser import (
    PASSWORD,
    WAIT_MS,
    chromium,  # noqa: F401 - the browser fixture
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def editor_page(chromium, live_server, data_root, django_user_model):  # noqa: F811 - the imported fixture
    setup.ensure_default_context()
    setup.copy_sample_data()
    django_user_model.objects.create_superuser("root", "root@example.com", PASSWORD)
    context = chromium.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(WAIT_MS)
    context.add_init_script(LISTEN_FOR_VIOLATIONS)
    page = context.new_page()
    page.seen_hosts = set()
    page.console_violations = []
    page.on("request", lambda request: page.seen_hosts.add(urlsplit(request.url).netloc))
    page.on(
        "console",
        lambda message: (
            page.console_violations.append(message.text)
            if "Content Security Policy" in message.text
            else None
        ),
    )
    page.goto("/admin/login/")
    page.get_by_label("Username").fill("root")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/admin/")
    page.server = urlsplit(live_server.url).netloc
    yield page
    context.close()


def add_component(page, name: str, type_name: str, inputs: list[str] = ()):
    """Add a card, name it, choose its type (its config form loads) and its inputs."""
    cards = page.locator("#components-group .inline-related:not(.empty-form)")
    index = cards.count()
    page.get_by_role("button", name="Add another Component").click()
    card = cards.nth(index)
    card.locator("input[name$='-name']").fill(name)
    card.locator("select[name$='-type']").select_option(type_name)
    card.locator(f"[data-config-form][data-type='{type_name}']").wait_for()
    if inputs:
        card.locator("select[name$='-inputs']").select_option(list(inputs))
    return card


def setting(card, key: str):
    return card.locator(f"[data-config-field='{key}'] [data-config-key='{key}']")


def assert_clean(page):
    violations = page.evaluate("window.__cspViolations") + page.console_violations
    assert not violations, violations
    assert page.seen_hosts <= {page.server}, page.seen_hosts
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 1280, f"the page is {width}px wide: it scrolls sideways at 1,280 px"


def test_an_admin_builds_a_three_component_job_without_json_and_previews_it(editor_page, tmp_path):
    from playwright.sync_api import expect

    page = editor_page
    page.goto("/admin/jobs/job/add/")
    page.locator("#id_name").fill("late_flights")

    flights = add_component(page, "flights", "csv_source")
    setting(flights, "path").fill("demo/flights.csv")
    expect(flights.locator(".type-summary")).to_contain_text("CSV")
    late = add_component(page, "late", "filter", ["flights"])
    setting(late, "where").fill("arr_delay > 15")
    out = add_component(page, "out", "csv_sink", ["late"])
    setting(out, "path").fill("demo/output/late_flights.csv")
    setting(out, "mode").select_option("replace")

    # The graph follows: three boxes, two arrows.
    expect(page.locator("#component-graph g.node")).to_have_count(3)
    expect(page.locator("#component-graph path.edge")).to_have_count(2)
    # The inputs offered to a card are the other components.
    expect(out.locator("select[name$='-inputs'] option")).to_have_text(["flights", "late"])

    late.get_by_role("button", name="Preview").click()
    table = late.locator("[data-preview-output] table")
    expect(table).to_be_visible()
    expect(table.locator("th .column-name")).to_contain_text(["flight_date", "carrier", "flight"])
    expect(late.locator(".preview-caption")).to_contain_text("late:")
    expect(late.locator(".preview-caption")).to_contain_text("nothing was written")
    expect(out.locator("[data-preview-output]")).to_be_empty()
    page.screenshot(path=tmp_path / "component-editor.png", full_page=True)
    assert_clean(page)

    page.get_by_role("button", name="Save", exact=True).click()
    page.wait_for_url("**/admin/jobs/job/")
    job = Job.objects.get(name="late_flights")
    assert job.component_dicts() == [
        {"name": "flights", "type": "csv_source", "inputs": [], "config": {"path": "demo/flights.csv"}},
        {"name": "late", "type": "filter", "inputs": ["flights"], "config": {"where": "arr_delay > 15"}},
        {
            "name": "out",
            "type": "csv_sink",
            "inputs": ["late"],
            "config": {"path": "demo/output/late_flights.csv", "mode": "replace"},
        },
    ]
    assert job.versions.get().via == "admin"

    # Opened again, the cards show the saved settings in their forms.
    page.goto(f"/admin/jobs/job/{job.pk}/change/")
    expect(setting(page.locator("#components-group .inline-related").nth(1), "where")).to_have_value(
        "arr_delay > 15"
    )
    expect(page.locator("#component-graph g.node")).to_have_count(3)
    assert_clean(page)


def test_a_validation_error_is_shown_next_to_its_component_and_field(editor_page, tmp_path):
    from playwright.sync_api import expect

    page = editor_page
    page.goto("/admin/jobs/job/add/")
    page.locator("#id_name").fill("broken")
    rows = add_component(page, "rows", "csv_source")
    setting(rows, "path").fill("demo/flights.csv")
    bad = add_component(page, "bad", "filter", ["rows"])
    setting(bad, "where").fill("read_csv('/etc/passwd')")

    # A preview names the field at once...
    bad.get_by_role("button", name="Preview").click()
    expect(bad.locator("[data-config-field='where'] .errorlist")).to_contain_text("read_csv")

    # ...and saving is refused with the error next to it.
    page.get_by_role("button", name="Save", exact=True).click()
    page.wait_for_load_state()
    expect(page.locator(".errornote")).to_be_visible()
    # The graph is drawn from the refused form's components.
    expect(page.locator("#component-graph g.node")).to_have_count(2)
    card = page.locator("#components-group .inline-related").nth(1)
    expect(card.locator("input[name$='-name']")).to_have_value("bad")
    expect(card.locator("[data-config-field='where'] .errorlist")).to_contain_text("read_csv")
    expect(card.locator(".errorlist.nonfield")).to_contain_text("config.where")
    page.screenshot(path=tmp_path / "component-editor-error.png", full_page=True)
    assert not Job.objects.filter(name="broken").exists()
    assert_clean(page)


def test_the_raw_json_toggle_edits_the_config_as_text(editor_page):
    from playwright.sync_api import expect

    page = editor_page
    page.goto("/admin/jobs/job/add/")
    page.locator("#id_name").fill("raw")
    card = add_component(page, "rows", "inline_source")
    card.get_by_text("Raw JSON").click()
    raw = card.locator("[data-raw-json] textarea")
    raw.fill('{"rows": [{"a": 1}, {"a": 2}]}')
    card.get_by_text("Raw JSON").click()
    expect(setting(card, "rows")).to_have_value('[\n  {\n    "a": 1\n  },\n  {\n    "a": 2\n  }\n]')
    page.get_by_role("button", name="Save", exact=True).click()
    page.wait_for_url("**/admin/jobs/job/")
    assert Job.objects.get(name="raw").component_dicts()[0]["config"] == {"rows": [{"a": 1}, {"a": 2}]}
    assert_clean(page)


def test_the_job_page_previews_a_component_and_its_history_compares_and_restores(editor_page):
    from playwright.sync_api import expect

    page = editor_page
    setup.ensure_demo_job()
    job = Job.objects.get(name=setup.DEMO_JOB_NAME)
    components = job.component_dicts()
    components[1]["config"]["where"] = "arr_delay > 0"
    job.replace_components(components)
    record_version(job, via=JobVersion.Via.API)

    page.goto(f"/jobs/{job.pk}/")
    page.get_by_role("button", name="Preview by_carrier").click()
    table = page.locator("[data-preview-output] table")
    expect(table.locator("th .column-name")).to_have_text(["carrier", "flights", "avg_arr_delay"])
    assert_clean(page)

    page.get_by_role("button", name="Compare side by side").click()
    page.wait_for_url(f"**/jobs/{job.pk}/versions/2/?against=1")
    expect(page.locator("table.diff tr.replace td.new")).to_contain_text("where: arr_delay > 0")
    assert_clean(page)
    page.goto(f"/jobs/{job.pk}/versions/1/")
    page.get_by_role("button", name="Restore version 1").click()
    page.wait_for_url(f"**/jobs/{job.pk}/#history")
    expect(page.get_by_text("Restored version 1 as version 3.")).to_be_visible()
    assert Job.objects.get(pk=job.pk).component_dicts()[1]["config"]["where"] == "dep_time IS NOT NULL"
    assert_clean(page)


def test_the_demo_job_is_built_from_scratch_without_typing_json(editor_page):
    page = editor_page
    page.goto("/admin/jobs/job/add/")
    page.locator("#id_name").fill("my_demo")
    flights = add_component(page, "flights", "csv_source")
    setting(flights, "path").fill("demo/flights.csv")
    departed = add_component(page, "departed", "filter", ["flights"])
    setting(departed, "where").fill("dep_time IS NOT NULL")
    by_carrier = add_component(page, "by_carrier", "aggregate", ["departed"])
    setting(by_carrier, "group_by").fill("carrier")
    aggregates = by_carrier.locator("[data-config-key='aggregates']")
    for name, expression in (("flights", "count(*)"), ("avg_arr_delay", "avg(arr_delay)")):
        row = aggregates.locator(".map-row").last
        row.locator("[data-map-part='key']").fill(name)
        row.locator("[data-map-part='value']").fill(expression)
        aggregates.get_by_role("button", name="Add a row").click()
    report = add_component(page, "report", "csv_sink", ["by_carrier"])
    setting(report, "path").fill("demo/output/flights_by_carrier.csv")
    setting(report, "mode").select_option("replace")
    page.get_by_role("button", name="Save", exact=True).click()
    page.wait_for_url("**/admin/jobs/job/")
    assert Job.objects.get(name="my_demo").component_dicts() == setup.demo_components()
    assert_clean(page)
