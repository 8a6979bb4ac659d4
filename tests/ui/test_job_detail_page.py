from django.contrib.auth.models import Group

from execution.models import Execution, State
from tests.jobs.factories import make_job
from tests.ui.conftest import running_execution, signed_in


def test_it_needs_a_signed_in_user(client, demo_job):
    response = client.get(f"/jobs/{demo_job.pk}/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_it_shows_the_definition_graph_schedule_and_recent_runs(viewer_session, demo_job):
    demo_job.config = {"schedule": "*/15 * * * *"}
    demo_job.save()
    run = Execution.objects.create(job=demo_job, state=State.SUCCEEDED, rows_read=20, rows_written=5)
    response = viewer_session.get(f"/jobs/{demo_job.pk}/")
    assert response.status_code == 200
    page = response.content.decode()
    assert f"<title>Job {demo_job.name} · etlsite</title>" in page
    # One box per component and one arrow per input, laid out left to right.
    graph = response.context["graph"]
    assert [node["name"] for node in graph["nodes"]] == ["flights", "departed", "by_carrier", "report"]
    assert [node["x"] for node in graph["nodes"]] == sorted({node["x"] for node in graph["nodes"]})
    assert page.count('<path class="edge"') == 3
    assert "demo/flights.csv" in page and "dep_time IS NOT NULL" in page
    assert "<code>group_by</code>: <code>[&quot;carrier&quot;]</code>" in page
    assert "<code>*/15 * * * *</code>" in page and response.context["schedule"]["next_run"] is not None
    assert f'href="/executions/{run.pk}/"' in page


def test_the_graph_puts_a_component_right_of_its_furthest_input_and_marks_rejects(viewer_session, db):
    job = make_job(
        "checked",
        components=[
            {"name": "rows", "type": "inline_source", "config": {"rows": [{"a": 1}]}},
            {"name": "kept", "type": "filter", "inputs": ["rows"], "config": {"where": "a > 0"}},
            {"name": "both", "type": "union", "inputs": ["rows", "kept"], "config": {}},
            {"name": "out", "type": "csv_sink", "inputs": ["both"], "config": {"path": "out.csv"}},
        ],
    )
    graph = viewer_session.get(f"/jobs/{job.pk}/").context["graph"]
    x = {node["name"]: node["x"] for node in graph["nodes"]}
    assert x["rows"] < x["kept"] < x["both"] < x["out"]
    assert len(graph["edges"]) == 4 and not any(edge["rejects"] for edge in graph["edges"])


def test_a_viewer_sees_no_start_form_and_no_control_buttons(viewer_session, demo_job):
    running_execution(demo_job)
    page = viewer_session.get(f"/jobs/{demo_job.pk}/").content.decode()
    assert "Start a run" not in page
    assert ">Pause</button>" not in page and ">Stop</button>" not in page


def test_an_operator_sees_the_start_form_and_the_buttons_for_the_current_state(operator_session, demo_job):
    execution = running_execution(demo_job)
    page = operator_session.get(f"/jobs/{demo_job.pk}/").content.decode()
    assert "Start a run" in page and 'name="csrfmiddlewaretoken"' in page
    assert f'action="/executions/{execution.pk}/pause/"' in page
    assert 'data-when="running">Pause</button>' in page
    assert 'data-when="pausing paused" hidden>Resume</button>' in page


def test_a_restricted_job_is_not_found_for_outsiders(viewer_session, viewer, demo_job):
    demo_job.allowed_groups.add(Group.objects.create(name="finance"))
    assert viewer_session.get(f"/jobs/{demo_job.pk}/").status_code == 404
    admin = signed_in(type(viewer).objects.create_superuser("root", "root@example.com", "pw"))
    assert admin.get(f"/jobs/{demo_job.pk}/").status_code == 200


def test_an_unknown_job_is_not_found(viewer_session, db):
    response = viewer_session.get("/jobs/999/")
    assert response.status_code == 404
    assert "<title>Not found · etlsite</title>" in response.content.decode()
