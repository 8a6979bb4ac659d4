"""The pages in a real browser: Debian's chromium driven by Playwright, against
the live test server and a real django-q2 worker (no mocks).

Screenshots of the dashboard and an execution page go to a temporary folder;
`make screenshots` sets ETL_SCREENSHOTS_DIR=docs/screenshots to update the
committed ones docs/ui.md shows (a test run leaves `git status` clean).
"""

import os
import shutil
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from execution.models import Execution, State, Trigger
from monitoring import setup
from tests.conftest import user_in_role
from tests.execution.conftest import csv_rows, make_job
from tests.execution.qcluster import wait_for

pytestmark = [pytest.mark.browser, pytest.mark.qcluster, pytest.mark.django_db(transaction=True)]

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PASSWORD = "a-long-test-password"
# Long enough for the UI to pause, resume and stop it mid-run (batches of 50 rows).
SLOW_ROWS = 4_000_000
WAIT_MS = 30_000


@pytest.fixture(scope="module")
def chromium():
    if not shutil.which(CHROMIUM):
        message = f"{CHROMIUM} is not installed (apt-get install chromium)."
        if os.environ.get("ETL_REQUIRE_SERVICES") == "1":
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop running in this thread for the
    # whole module; the tests' ORM calls (and the database flush after each
    # test) are still plain synchronous code.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            yield browser
            browser.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE")
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture(scope="session")
def screenshots(tmp_path_factory) -> Path:
    """Where screenshots go: docs/screenshots only when `make screenshots` asks."""
    folder = os.environ.get("ETL_SCREENSHOTS_DIR")
    return Path(folder) if folder else tmp_path_factory.mktemp("screenshots")


@pytest.fixture
def browser_page(chromium, live_server):
    context = chromium.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(WAIT_MS)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def demo(data_root, transactional_db):
    setup.ensure_default_context()
    setup.copy_sample_data()
    setup.ensure_demo_job()
    from jobs.models import Job

    return Job.objects.get(name=setup.DEMO_JOB_NAME)


def log_in(page, role: str):
    user = user_in_role(role, role)
    user.set_password(PASSWORD)
    user.save()
    page.goto("/login/")
    page.get_by_label("Username").fill(role)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/")
    return user


def test_an_operator_starts_the_demo_job_and_watches_it_succeed(browser_page, qcluster, demo, screenshots):
    from playwright.sync_api import expect

    page = browser_page
    log_in(page, "operator")
    expect(page).to_have_title("Dashboard · etlsite")
    page.get_by_role("link", name="Jobs", exact=True).click()
    page.get_by_role("link", name=demo.name).click()
    expect(page).to_have_title(f"Job {demo.name} · etlsite")
    expect(page.locator("svg.graph g.node")).to_have_count(4)
    page.screenshot(path=screenshots / "job.png", full_page=True)

    page.get_by_role("button", name="Start", exact=True).click()
    page.wait_for_url("**/executions/*/")
    execution = Execution.objects.get(job=demo)
    expect(page).to_have_title(f"Execution #{execution.pk} of {demo.name} · etlsite")
    expect(page.locator("[data-live-execution] [data-field=state]")).to_have_text("succeeded")
    expect(page.locator("[data-field=percent]")).to_have_text("100%")
    expect(page.locator("[data-field=logs]")).to_contain_text("flights")
    rows_written = Execution.objects.get(pk=execution.pk).rows_written
    assert rows_written > 0
    expect(page.locator("[data-field=rows_written]")).to_have_text(str(rows_written))
    expect(page.locator("ol.timeline")).to_contain_text("running → succeeded")
    page.screenshot(path=screenshots / "execution.png", full_page=True)

    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=screenshots / "execution-phone.png", full_page=True)


def test_a_viewer_sees_runs_but_no_control_buttons(browser_page, demo):
    from playwright.sync_api import expect

    page = browser_page
    execution = Execution.objects.create(job=demo, state=State.SUCCEEDED, rows_written=12)
    log_in(page, "viewer")
    page.goto(f"/jobs/{demo.pk}/")
    expect(page.get_by_role("heading", name=f"Job {demo.name}")).to_be_visible()
    expect(page.get_by_role("button", name="Start", exact=True)).to_have_count(0)
    page.goto(f"/executions/{execution.pk}/")
    expect(page.locator("[data-field=state]")).to_have_text("succeeded")
    for name in ("Pause", "Resume", "Stop", "Restart"):
        expect(page.get_by_role("button", name=name)).to_have_count(0)


def test_the_dashboard_lists_a_run_started_after_it_loaded(browser_page, demo):
    from playwright.sync_api import expect

    page = browser_page
    log_in(page, "viewer")
    expect(page.get_by_text("Nothing is running.")).to_be_visible()
    started = Execution.objects.create(job=demo, state=State.QUEUED)
    expect(page.get_by_role("link", name=f"{demo.name} #{started.pk}")).to_be_visible(timeout=WAIT_MS)


def test_an_operator_pauses_and_resumes_a_run_from_the_ui(browser_page, qcluster, data_root, screenshots):
    from playwright.sync_api import expect

    page = browser_page
    (data_root / "big.csv").write_text(csv_rows(SLOW_ROWS))
    job = make_job(
        "slow_copy",
        [
            {"name": "rows", "type": "csv_source", "config": {"path": "big.csv"}},
            {"name": "out", "type": "csv_sink", "inputs": ["rows"], "config": {"path": "out.csv"}},
        ],
        batch_size=50,
    )
    seed_history(job)
    log_in(page, "operator")
    page.goto(f"/jobs/{job.pk}/")
    page.get_by_role("button", name="Start", exact=True).click()
    page.wait_for_url("**/executions/*/")
    execution = Execution.objects.filter(job=job, trigger=Trigger.UI).get()
    state = page.locator("[data-live-execution] [data-field=state]")
    expect(state).to_have_text("running")
    wait_for(execution.pk, lambda e: e.rows_read > 0, what="rows read")

    # Keyboard only: focus the button and press Enter.
    page.get_by_role("button", name="Pause").focus()
    page.keyboard.press("Enter")
    expect(state).to_have_text("paused")
    paused_at = Execution.objects.get(pk=execution.pk).rows_read
    expect(page.get_by_role("button", name="Pause")).to_be_hidden()
    expect(page.locator("ol.timeline")).to_contain_text("pausing → paused")

    # The dashboard lists the paused run with its progress bar, beside the seeded history.
    page.goto("/")
    expect(page.locator(f'[data-execution="{execution.pk}"] [data-field=state]')).to_have_text("paused")
    page.screenshot(path=screenshots / "dashboard.png", full_page=True)

    page.goto(f"/executions/{execution.pk}/")
    page.get_by_role("button", name="Resume").click()
    expect(state).to_have_text("running")
    wait_for(execution.pk, lambda e: e.rows_read > paused_at, what="progress after resume")
    page.get_by_role("button", name="Stop").click()
    expect(state).to_have_text("stopped")
    assert not (data_root / "out.csv").exists(), "a stopped run left its output behind"


def seed_history(job):
    """A fortnight of finished runs, so the dashboard charts have something to show."""
    now = timezone.now()
    for days_ago in range(13, 0, -1):
        for number in range(1 + days_ago % 3):
            failed = (days_ago + number) % 5 == 0
            queued = now - timedelta(days=days_ago, hours=number)
            Execution.objects.create(
                job=job,
                state=State.FAILED if failed else State.SUCCEEDED,
                trigger=Trigger.SCHEDULE,
                queued_at=queued,
                started_at=queued,
                finished_at=queued + timedelta(seconds=30 + 7 * number),
                rows_read=0 if failed else 20_000 * (1 + number),
                rows_written=0 if failed else 20_000 * (1 + number),
                error={"component": "rows", "message": "big.csv: record 1812: expected 3 fields, saw 4"}
                if failed
                else {},
            )
