"""A job's history on the pages: the list on the job page, a version's page with a
side-by-side diff, Restore, Preview buttons for editors, and the version an
execution ran."""

import pytest
from django.contrib.auth.models import Group

from accounts.models import AuditEvent
from execution.control import start_execution
from jobs.models import JobVersion
from jobs.versions import record_version
from tests.conftest import user_in_role
from tests.contexts.factories import make_context
from tests.jobs.factories import make_job, pipeline
from tests.ui.conftest import signed_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def editor_session(db):
    return signed_in(user_in_role("editor", "editor"))


@pytest.fixture
def history(data_root):
    """A job saved three times: created, a changed filter, a new description."""
    job = make_job("nightly")
    record_version(job, via=JobVersion.Via.API)
    job.replace_components(pipeline("a > 5"))
    record_version(job, via=JobVersion.Via.API)
    job.description = "every night"
    job.save()
    record_version(job, via=JobVersion.Via.ADMIN)
    return job


def test_the_job_page_lists_the_versions_newest_first_with_a_compare_form(viewer_session, history):
    page = viewer_session.get(f"/jobs/{history.pk}/").content.decode()
    assert page.index(">v3</a>") < page.index(">v2</a>") < page.index(">v1</a>")
    assert "components: changed positive (config)" in page
    assert f'action="/jobs/{history.pk}/versions/"' in page


def test_a_version_page_shows_a_side_by_side_diff_with_the_one_before(viewer_session, history):
    response = viewer_session.get(f"/jobs/{history.pk}/versions/2/")
    assert response.status_code == 200
    rows = response.context["diff"]
    changed = [row for row in rows if row["change"] == "replace"]
    assert [(row["left"][1].strip(), row["right"][1].strip()) for row in changed] == [
        ("where: a > 0", "where: a > 5")
    ]
    page = response.content.decode()
    assert "Version 1 → version 2" in page
    assert "<title>Job nightly · version 2 · etlsite</title>" in page


def test_any_two_versions_can_be_compared(viewer_session, history):
    response = viewer_session.get(f"/jobs/{history.pk}/versions/", {"version": 3, "against": 1})
    assert response.status_code == 302
    assert response["Location"] == f"/jobs/{history.pk}/versions/3/?against=1"
    diff = viewer_session.get(response["Location"]).context["diff"]
    assert {row["change"] for row in diff} >= {"replace"}
    assert viewer_session.get(f"/jobs/{history.pk}/versions/", {"version": 9}).status_code == 404


def test_an_editor_restores_a_version_from_its_page(editor_session, history):
    page = editor_session.get(f"/jobs/{history.pk}/versions/1/").content.decode()
    assert "Restore version 1" in page
    response = editor_session.post(f"/jobs/{history.pk}/versions/1/restore/")
    assert response.status_code == 302 and response["Location"].endswith("#history")
    history.refresh_from_db()
    assert history.description == "" and history.component_dicts()[1]["config"]["where"] == "a > 0"
    latest = history.versions.order_by("-number").first()
    assert (latest.number, latest.via, latest.created_by_name) == (4, "restore", "editor")
    assert AuditEvent.objects.filter(action="restore", username="editor").exists()


def test_a_version_that_no_longer_saves_is_explained_and_changes_nothing(editor_session, data_root):
    dev = make_context("dev")
    job = make_job("nightly", default_context=dev)
    record_version(job, via=JobVersion.Via.API)
    job.default_context = None
    job.save()
    record_version(job, via=JobVersion.Via.API)
    dev.delete()
    response = editor_session.post(f"/jobs/{job.pk}/versions/1/restore/", follow=True)
    assert "Version 1 cannot be restored: default_context: No context named &#x27;dev&#x27;." in (
        response.content.decode()
    )
    assert job.versions.count() == 2


def test_viewers_may_read_history_but_not_restore_or_preview(viewer_session, history):
    assert "Restore version" not in viewer_session.get(f"/jobs/{history.pk}/versions/1/").content.decode()
    assert viewer_session.post(f"/jobs/{history.pk}/versions/1/restore/").status_code == 403
    assert history.versions.count() == 3
    assert "data-preview-component" not in viewer_session.get(f"/jobs/{history.pk}/").content.decode()


def test_editors_get_a_preview_button_per_component(editor_session, history):
    page = editor_session.get(f"/jobs/{history.pk}/").content.decode()
    assert page.count("data-preview-component=") == 3
    assert 'data-preview-component="positive"' in page and "etlsite/preview.js" in page


def test_history_pages_need_a_signed_in_user_and_hide_restricted_jobs(client, viewer_session, history):
    assert client.get(f"/jobs/{history.pk}/versions/1/").status_code == 302
    history.allowed_groups.add(Group.objects.create(name="finance"))
    assert viewer_session.get(f"/jobs/{history.pk}/versions/1/").status_code == 404
    assert viewer_session.post(f"/jobs/{history.pk}/versions/1/restore/").status_code == 404


def test_an_execution_page_links_to_the_version_it_ran(viewer_session, history):
    execution, _ = start_execution(history)
    page = viewer_session.get(f"/executions/{execution.pk}/").content.decode()
    assert f'<a href="/jobs/{history.pk}/versions/3/">v3</a>' in page
