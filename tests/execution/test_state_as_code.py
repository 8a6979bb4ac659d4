"""A job's incremental state in jobs as code: `export_jobs --with-state`
writes state/<job>.yaml, `apply_jobs` sets it (with the state API's checks and
audit), and export -> apply on an empty database -> export gives the same bytes."""

import io
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from accounts.models import AuditEvent
from execution.models import Execution, IncrementalState
from tests.execution.conftest import make_job

pytestmark = pytest.mark.django_db


@pytest.fixture
def incremental_job(data_root):
    job = make_job(
        "orders",
        [
            {
                "name": "rows",
                "type": "sqlite_source",
                "config": {"path": "in.db", "table": "t", "incremental": {"column": "id", "initial": 0}},
            },
            {"name": "out", "type": "csv_sink", "inputs": ["rows"], "config": {"path": "out.csv"}},
        ],
    )
    IncrementalState.objects.create(job=job, context_name="", component="rows", watermark=41)
    return job


def export(folder: Path, *options: str) -> dict[str, bytes]:
    call_command("export_jobs", "--dir", str(folder), *options, stdout=io.StringIO())
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*.yaml"))}


def apply(folder: Path, *options: str) -> str:
    out = io.StringIO()
    call_command("apply_jobs", str(folder), *options, stdout=out)
    return out.getvalue()


def test_state_is_exported_only_when_asked(incremental_job, tmp_path):
    assert "state/orders.yaml" not in export(tmp_path / "plain")
    files = export(tmp_path / "with", "--with-state")
    assert files["state/orders.yaml"].decode() == (
        "kind: state\nname: orders\ncontexts:\n- context: null\n  components:\n"
        "    rows:\n      watermark: 41\n      files: []\n"
    )


def test_export_apply_on_an_empty_database_export_gives_the_same_bytes(incremental_job, tmp_path):
    first = export(tmp_path / "first", "--with-state")
    incremental_job.delete()
    printed = apply(tmp_path / "first")
    assert "create    state" in printed
    assert IncrementalState.objects.get(component="rows").watermark == 41
    assert export(tmp_path / "second", "--with-state") == first
    assert "unchanged state" in apply(tmp_path / "first")


def test_an_edited_watermark_is_an_update_and_audited(incremental_job, tmp_path):
    export(tmp_path, "--with-state")
    path = tmp_path / "state/orders.yaml"
    path.write_text(path.read_text().replace("watermark: 41", "watermark: 99"))
    assert "update    state" in apply(tmp_path)
    assert IncrementalState.objects.get(job=incremental_job).watermark == 99
    event = AuditEvent.objects.filter(action="set_state").latest("id")
    assert event.username == "manage.py apply_jobs"


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (("watermark: 41", "watermark: [1]"), "contexts[0].components.rows.watermark"),
        (("rows:", "nope:"), "no incremental component 'nope'"),
        (("name: orders", "name: missing"), "No job named 'missing'"),
    ],
)
def test_a_bad_state_file_names_the_file_and_field_and_changes_nothing(
    incremental_job, tmp_path, change, words
):
    export(tmp_path, "--with-state")
    path = tmp_path / "state/orders.yaml"
    path.write_text(path.read_text().replace(*change))
    with pytest.raises(CommandError) as error:
        apply(tmp_path)
    assert "state/orders.yaml" in str(error.value)
    assert words in str(error.value)
    assert IncrementalState.objects.get(job=incremental_job).watermark == 41


def test_state_is_not_changed_under_an_active_run(incremental_job, tmp_path):
    export(tmp_path, "--with-state")
    Execution.objects.create(job=incremental_job, state="running")
    path = tmp_path / "state/orders.yaml"
    path.write_text(path.read_text().replace("watermark: 41", "watermark: 99"))
    with pytest.raises(CommandError, match="active run"):
        apply(tmp_path)
    assert IncrementalState.objects.get(job=incremental_job).watermark == 41
