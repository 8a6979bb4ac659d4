"""The run pages' defects, fixed, in a real browser (Debian's chromium through
Playwright, the live test server, a real django-q2 worker): "Started" fills
in, the "…is queued." banner goes once the run starts, elapsed time and the
time left stand still while paused, a stopped run says "rolled back", and the
charts draw without one Content-Security-Policy violation."""

import re

import pytest

from execution.models import Execution, State, Trigger
from tests.execution.conftest import csv_rows, make_job
from tests.execution.qcluster import wait_for
from tests.ui.test_browser import browser_page, chromium, demo, log_in  # noqa: F401 - fixtures

pytestmark = [pytest.mark.browser, pytest.mark.qcluster, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def watched_page(browser_page):  # noqa: F811 - the imported fixture
    """The page, with every CSP violation and console error it reports kept."""
    page = browser_page
    page.problems = []
    page.on(
        "console",
        lambda message: (
            page.problems.append(message.text)
            if message.type == "error" or "Content Security Policy" in message.text
            else None
        ),
    )
    page.on("pageerror", lambda error: page.problems.append(str(error)))
    page.add_init_script(
        "document.addEventListener('securitypolicyviolation', function (e) {"
        " (window.cspViolations = window.cspViolations || []).push(e.violatedDirective + ' ' + e.blockedURI); });"
    )
    yield page
    assert page.problems == []


def csp_violations(page) -> list:
    return page.evaluate("window.cspViolations || []")


def test_a_live_run_fills_in_started_drops_the_queued_banner_and_stands_still_while_paused(
    watched_page, qcluster, data_root
):
    from playwright.sync_api import expect

    page = watched_page
    (data_root / "big.csv").write_text(csv_rows(1_000_000))
    job = make_job(
        "slow_copy",
        [
            {"name": "rows", "type": "csv_source", "config": {"path": "big.csv"}},
            {"name": "out", "type": "csv_sink", "inputs": ["rows"], "config": {"path": "out.csv"}},
        ],
        batch_size=50,
    )
    log_in(page, "operator")
    page.goto(f"/jobs/{job.pk}/")
    page.get_by_role("button", name="Start", exact=True).click()
    page.wait_for_url("**/executions/*/")
    execution = Execution.objects.filter(job=job, trigger=Trigger.UI).get()
    state = page.locator("[data-live-execution] [data-field=state]")
    banner = page.locator(".messages .run-queued")

    expect(state).to_have_text("running")
    expect(banner).to_have_count(0)
    expect(page.locator("[data-field=started_at]")).to_have_text(
        re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$")
    )
    # The throughput chart comes in while the run goes on, with a real y axis.
    chart = page.locator("svg[data-field=throughput-chart]")
    expect(chart).to_be_visible()
    assert chart.locator("text.y-tick").count() >= 3
    expect(page.locator("[data-field=rows_read]")).to_have_text(re.compile(r"^\d{1,3}(,\d{3})+$"))
    # live.js writes the counters as the server does: separators, durations, a rate or "—".
    source = page.locator("[data-field=counters] tr").first.locator("td")
    expect(source.nth(2)).to_have_text(re.compile(r"^\d{1,3}(,\d{3})+$"))
    expect(source.nth(5)).to_have_text(re.compile(r"^(< 0\.1 s|\d+\.\d s|\d+ s)$"))
    expect(source.nth(6)).to_have_text(re.compile(r"^(—|\d{1,3}(,\d{3})*)$"))

    page.get_by_role("button", name="Pause").click()
    expect(state).to_have_text("paused")
    expect(page.locator("[data-field=paused_note]")).to_be_visible()
    elapsed, left = page.locator("[data-field=elapsed_seconds]"), page.locator("[data-field=eta_seconds]")
    page.wait_for_timeout(1500)  # one poll after the pause took hold
    before = (elapsed.text_content(), left.text_content())
    page.wait_for_timeout(3000)
    assert (elapsed.text_content(), left.text_content()) == before

    # Stopped while paused: the sinks roll back what they staged.
    page.get_by_role("button", name="Stop").click()
    expect(state).to_have_text("stopped")
    stopped = wait_for(execution.pk, lambda e: e.state == State.STOPPED, what="stopped")
    assert stopped.rows_written > 0  # counted, then rolled back
    expect(page.locator("[data-field=rows_written]")).to_have_text("rolled back")
    expect(page.locator("svg[data-field=component-timeline]")).to_be_visible()
    page.goto("/executions/")
    row = page.locator("tr", has=page.locator(f'a[href="/executions/{execution.pk}/"]'))
    written = row.locator("td").nth(8)  # #, job, state, trigger, context, queued, duration, read, written
    expect(written).to_have_text("rolled back")
    expect(written.locator(".rolled-back")).to_have_attribute(
        "title", f"{stopped.rows_written:,} rows were staged, none committed"
    )
    assert csp_violations(page) == []


def test_a_finished_run_and_its_job_draw_their_charts_without_csp_violations(watched_page, qcluster, demo):  # noqa: F811
    from playwright.sync_api import expect

    page = watched_page
    log_in(page, "operator")
    for _ in range(2):
        page.goto(f"/jobs/{demo.pk}/")
        page.get_by_role("button", name="Start", exact=True).click()
        page.wait_for_url("**/executions/*/")
        expect(page.locator("[data-live-execution] [data-field=state]")).to_have_text("succeeded")
    timeline = page.locator("svg[data-field=component-timeline]")
    expect(timeline).to_be_visible()
    assert timeline.locator("rect.bar-busy").count() == 4
    page.get_by_text("Component timeline as a table").click()
    expect(page.locator("table").filter(has_text="Until")).to_be_visible()
    assert csp_violations(page) == []

    page.goto(f"/jobs/{demo.pk}/")
    trend = page.locator("svg[data-field=duration-trend]")
    expect(trend).to_be_visible()
    assert trend.locator("rect").count() == 2 and trend.locator("text.y-tick").count() >= 3
    expect(page.locator("svg[data-field=rows-trend]")).to_be_visible()
    page.goto("/")
    expect(page.locator("svg.chart").first).to_be_visible()
    assert page.locator("svg.chart").first.locator("text.y-tick").count() >= 3
    assert csp_violations(page) == []
