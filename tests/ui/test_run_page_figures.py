"""The run pages' figures: thousands separators, human durations, no rate for
a component too brief to measure, "rolled back" instead of rows written for
stopped or failed runs, and charts with real y axes and a table view."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from execution.charts import duration_ticks, human_duration, nice_ticks
from execution.models import Execution, State
from tests.ui.conftest import running_execution


def y_tick_labels(page: str, chart_field: str) -> list[str]:
    svg = re.search(rf'<svg class="chart"[^>]*data-field="{chart_field}".*?</svg>', page, re.S)
    assert svg, f"no chart {chart_field}"
    return re.findall(r'<text class="y-tick"[^>]*>([^<]*)</text>', svg.group(0))


def finished(job, state=State.SUCCEEDED, seconds=75.0, **fields) -> Execution:
    started = timezone.now() - timedelta(seconds=seconds + 5)
    return Execution.objects.create(
        job=job, state=state, started_at=started, finished_at=started + timedelta(seconds=seconds), **fields
    )


@pytest.mark.parametrize(
    ("highest", "ticks"),
    [
        (937, [0, 250, 500, 750, 1000]),
        (4, [0, 1, 2, 3, 4]),
        (0, [0, 0.25, 0.5, 0.75, 1]),
        (79, [0, 20, 40, 60, 80]),
    ],
)
def test_axis_ticks_are_round_numbers_up_to_the_maximum(highest, ticks):
    assert nice_ticks(highest) == ticks


def test_duration_ticks_fall_on_round_minutes():
    assert duration_ticks(290) == [0, 60, 120, 180, 240, 300]


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (None, "—"),
        (0, "0 s"),
        (0.04, "< 0.1 s"),
        (4.25, "4.2 s"),
        (42.4, "42 s"),
        (185, "3 min 05 s"),
        (7380, "2 h 03 min"),
    ],
)
def test_durations_read_as_people_say_them(seconds, text):
    assert human_duration(seconds) == text


def test_the_execution_page_writes_big_numbers_with_separators_and_human_durations(viewer_session, demo_job):
    execution = finished(
        demo_job,
        seconds=185,
        rows_read=1234567,
        rows_written=1234000,
        counters={
            "flights": {
                "rows_in": 0,
                "rows_out": 1234567,
                "rows_rejected": 0,
                "batches": 1235,
                "seconds": 2.5,
            },
            "departed": {
                "rows_in": 1234567,
                "rows_out": 1234000,
                "rows_rejected": 0,
                "batches": 1235,
                "seconds": 0.0001,
            },
        },
    )
    page = viewer_session.get(f"/executions/{execution.pk}/").content.decode()
    assert 'data-field="rows_read">1,234,567<' in page and 'data-field="rows_written">1,234,000<' in page
    assert "3 min 05 s" in page
    # 1,234,567 rows in 2.5 s is a rate; in 0.0001 s it is noise.
    assert '<td class="num">493,827</td>' in page
    departed = re.search(r"<td>departed</td>(.*?)</tr>", page, re.S).group(1)
    assert departed.strip().endswith('<td class="num">—</td>') and "12345670000" not in departed


@pytest.mark.parametrize("state", [State.STOPPED, State.FAILED])
def test_a_stopped_or_failed_run_says_rolled_back_not_rows_written(viewer_session, demo_job, state):
    execution = finished(demo_job, state=state, rows_read=700000, rows_written=688953)
    history = viewer_session.get("/executions/").content.decode()
    row = re.search(rf'href="/executions/{execution.pk}/".*?</tr>', history, re.S).group(0)
    assert "rolled back" in row and "688953" not in row and ">688,953<" not in row
    assert "688,953 rows were staged, none committed" in row
    page = viewer_session.get(f"/executions/{execution.pk}/").content.decode()
    assert re.search(r'data-field="rows_written"><span class="rolled-back"[^>]*>rolled back<', page)
    job_page = viewer_session.get(f"/jobs/{demo_job.pk}/").content.decode()
    assert "rolled back" in job_page


def test_a_succeeded_run_still_shows_its_rows_written(viewer_session, demo_job):
    execution = finished(demo_job, rows_read=10, rows_written=8)
    row = re.search(
        rf'href="/executions/{execution.pk}/".*?</tr>',
        viewer_session.get("/executions/").content.decode(),
        re.S,
    ).group(0)
    assert '<td class="num">8</td>' in row and "rolled back" not in row


def test_a_finished_run_shows_its_throughput_and_component_timeline_with_tables(viewer_session, demo_job):
    execution = finished(
        demo_job,
        seconds=10,
        rows_read=9000,
        progress={"percent": 100.0, "rows_read": 9000, "samples": [[0, 0], [2, 1000], [4, 3000], [10, 9000]]},
        counters={
            "flights": {"rows_in": 0, "rows_out": 9000, "seconds": 6.0, "busy_from": 0.1, "busy_until": 9.0},
            "out": {"rows_in": 9000, "rows_out": 9000, "seconds": 2.0, "busy_from": 0.5, "busy_until": 9.9},
        },
    )
    page = viewer_session.get(f"/executions/{execution.pk}/").content.decode()
    # Rates 500, 1000, 1000 rows/s: a y axis 0, 250, ... 1000, not only 0 and the maximum.
    assert y_tick_labels(page, "throughput-chart") == ["0", "250", "500", "750", "1k"]
    assert '<polyline class="line"' in page and "Throughput as a table" in page
    assert '<td class="num">4.0 s</td><td class="num">3,000</td><td class="num">1,000</td>' in page
    assert 'data-field="component-timeline"' in page
    assert re.findall(r'<text class="row-label"[^>]*>([^<]*)</text>', page) == ["flights", "out"]
    assert "flights: from 0.1 s to 9.0 s, busy 6.0 s" in page
    assert "Component timeline as a table" in page


def test_a_running_run_has_a_live_throughput_fragment_and_no_timeline_yet(viewer_session, demo_job):
    execution = running_execution(demo_job, started_at=timezone.now() - timedelta(seconds=3))
    execution.progress["samples"] = [[0, 0], [1, 40]]
    execution.save(update_fields=["progress"])
    page = viewer_session.get(f"/executions/{execution.pk}/").content.decode()
    assert f'data-src="/executions/{execution.pk}/throughput/"' in page
    assert "Shown once the run has finished." in page
    fragment = viewer_session.get(f"/executions/{execution.pk}/throughput/")
    assert fragment.status_code == 200 and 'data-field="throughput-chart"' in fragment.content.decode()
    assert "<html" not in fragment.content.decode()


def test_the_throughput_fragment_needs_a_user_who_may_see_the_run(client, demo_job):
    execution = running_execution(demo_job)
    response = client.get(f"/executions/{execution.pk}/throughput/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_the_job_page_shows_duration_and_rows_trends_of_the_last_50_runs(viewer_session, demo_job):
    for number in range(55):
        finished(
            demo_job,
            state=State.FAILED if number % 7 == 0 else State.SUCCEEDED,
            seconds=30 + number,
            rows_read=1000 * number,
        )
    page = viewer_session.get(f"/jobs/{demo_job.pk}/").content.decode()
    assert y_tick_labels(page, "duration-trend") == ["0", "20 s", "40 s", "1 min", "1:20", "1:40"]
    assert y_tick_labels(page, "rows-trend") == ["0", "20k", "40k", "60k"]
    duration = re.search(r'data-field="duration-trend".*?</svg>', page, re.S).group(0)
    assert duration.count("<rect ") == 50 and 'class="bar-failed"' in duration
    table = re.search(r'data-field="trend-table">(.*?)</tbody>', page, re.S).group(1)
    assert table.count("<tr>") == 50 and "54,000" in table and "1 min 24 s" in table


def test_the_dashboard_charts_have_round_y_ticks(viewer_session, demo_job):
    for _ in range(3):
        finished(demo_job, rows_read=10, rows_written=937)
    page = viewer_session.get("/").content.decode()
    rows = re.search(r'aria-labelledby="rows-chart-title".*?</svg>', page, re.S).group(0)
    labels = re.findall(r'<text class="y-tick"[^>]*>([^<]*)</text>', rows)
    assert labels == ["0", "1k", "2k", "3k"]
