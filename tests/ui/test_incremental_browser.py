"""The job page's incremental state and backfill form in a real browser
(Debian's chromium driven by Playwright) with a real django-q2 worker: an
editor watches a backfill of an incremental job run to the end, sees the
saved watermark, and resets it."""

import sqlite3

import pytest

from execution.models import Backfill, IncrementalState
from tests.execution.conftest import make_job
from tests.execution.qcluster import wait_for
from tests.ui.test_browser import browser_page, chromium, log_in  # noqa: F401 - fixtures

pytestmark = [pytest.mark.browser, pytest.mark.qcluster, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def orders_job(data_root, transactional_db):
    with sqlite3.connect(data_root / "shop.db") as db:
        db.execute("CREATE TABLE orders (id INTEGER)")
        db.executemany("INSERT INTO orders VALUES (?)", [(i,) for i in range(1, 6)])
    return make_job(
        "orders_browser",
        [
            {
                "name": "orders",
                "type": "sqlite_source",
                "config": {"path": "shop.db", "table": "orders", "incremental": {"column": "id"}},
            },
            {
                "name": "load",
                "type": "sqlite_sink",
                "inputs": ["orders"],
                "config": {"path": "copy.db", "table": "t"},
            },
        ],
    )


def test_an_editor_backfills_sees_the_watermark_and_resets_it(browser_page, qcluster, orders_job):  # noqa: F811
    from playwright.sync_api import expect

    page = browser_page
    log_in(page, "editor")
    page.goto(f"/jobs/{orders_job.pk}/")
    expect(page.get_by_role("heading", name="Incremental state")).to_be_visible()
    expect(page.get_by_text("No state yet")).to_be_visible()

    page.get_by_label("Start", exact=True).fill("2026-03-01")
    page.get_by_label("End", exact=True).fill("2026-03-03")
    page.get_by_label("Interval", exact=True).select_option("day")
    page.get_by_role("button", name="Start backfill").click()
    expect(page.get_by_text("of orders_browser started (2 intervals)")).to_be_visible()

    backfill = Backfill.objects.get()
    wait_for(
        backfill.intervals.first().execution_id,
        lambda e: Backfill.objects.get().state == "succeeded",
        timeout=60,
        what="the backfill to finish",
    )
    page.reload()
    state_table = page.locator("section", has=page.get_by_role("heading", name="Incremental state"))
    expect(state_table.get_by_role("cell", name="5", exact=True)).to_be_visible()
    expect(page.locator("section", has=page.get_by_role("heading", name="Backfills"))).to_contain_text(
        "2 succeeded"
    )

    page.get_by_role("button", name="Reset state").click()
    expect(page.get_by_text("State reset: the next run reads everything again.")).to_be_visible()
    assert not IncrementalState.objects.exists()
