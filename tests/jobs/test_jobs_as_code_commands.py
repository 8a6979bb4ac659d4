"""`manage.py export_jobs --dir D [--job NAME]` and `manage.py apply_jobs D [--dry-run]`."""

import io
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from accounts.models import AuditEvent
from contexts.models import Context
from jobs.models import Job, JobDependency, JobVersion
from jobs.versions import record_version
from schemas.models import Schema
from tests.contexts.factories import PASSWORD, add_credential, add_parameter, make_context
from tests.jobs.factories import make_job
from tests.schemas.factories import make_schema

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(data_root):
    """Two contexts (parameters of each type, a secret, environment, a credential with a
    password), a schema, and three jobs: one validating, one depending on another."""
    dev = make_context(
        "dev", description="development", is_default=True, environment={"OUT": "out", "A": "1"}
    )
    add_parameter(dev, "min_delay", "integer", 60, "minutes late")
    add_parameter(dev, "label", "string", "nightly")
    add_parameter(dev, "token", "secret", PASSWORD)
    add_credential(dev, "warehouse")
    make_context("prod")
    make_schema("flights")
    extract = make_job("extract", description="first", default_context=dev, config={"batch_size": 500})
    checked = make_job(
        "checked",
        components=[
            {"name": "rows", "type": "inline_source", "config": {"rows": [{"carrier": "AA"}]}},
            {"name": "valid", "type": "validate", "inputs": ["rows"], "config": {"schema": "flights"}},
            {
                "name": "bad",
                "type": "csv_sink",
                "inputs": ["valid.rejects"],
                "config": {"path": "${env.OUT}/bad.csv"},
            },
        ],
        config={"schedule": "0 2 * * *", "timezone": "Europe/Paris"},
    )
    JobDependency.objects.create(upstream=extract, downstream=checked, condition="always")
    make_job("loose")
    for job in Job.objects.all():
        record_version(job, via=JobVersion.Via.API)
    return dev


def export(folder: Path, *jobs: str) -> dict[str, bytes]:
    call_command(
        "export_jobs",
        "--dir",
        str(folder),
        *[arg for job in jobs for arg in ("--job", job)],
        stdout=io.StringIO(),
    )
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*.yaml"))}


def apply(folder: Path, *options: str) -> str:
    out = io.StringIO()
    call_command("apply_jobs", str(folder), *options, stdout=out)
    return out.getvalue()


def empty_the_database():
    JobDependency.objects.all().delete()
    Job.objects.all().delete()
    Context.objects.all().delete()
    Schema.objects.all().delete()


def test_export_then_apply_on_an_empty_database_then_export_gives_the_same_bytes(world, tmp_path):
    first = export(tmp_path / "first")
    assert sorted(first) == [
        "contexts/dev.yaml",
        "contexts/prod.yaml",
        "jobs/checked.yaml",
        "jobs/extract.yaml",
        "jobs/loose.yaml",
        "schemas/flights.yaml",
    ]
    empty_the_database()
    printed = apply(tmp_path / "first")
    assert "create    job     checked  (jobs/checked.yaml)" in printed
    assert "Applied: 6 create, 0 update, 0 unchanged." in printed
    assert export(tmp_path / "second") == first


def test_files_are_readable_yaml_in_a_stable_key_order_without_secret_values(world, tmp_path):
    files = export(tmp_path)
    job = files["jobs/checked.yaml"].decode()
    assert job.startswith("kind: job\nname: checked\ndescription: ''\ndefault_context: null\nconfig:\n")
    assert "depends_on:\n- job: extract\n  condition: always\n" in job
    assert "- valid.rejects\n" in job
    context = files["contexts/dev.yaml"].decode()
    assert "- name: token\n  type: secret\n  description: ''\n" in context
    assert "- name: warehouse\n  kind: postgres\n" in context
    assert not any(PASSWORD.encode() in content for content in files.values())


def test_one_job_is_exported_with_the_context_and_schemas_it_uses(world, tmp_path):
    assert sorted(export(tmp_path, "extract")) == ["contexts/dev.yaml", "jobs/extract.yaml"]
    assert sorted(export(tmp_path / "b", "checked")) == ["jobs/checked.yaml", "schemas/flights.yaml"]
    with pytest.raises(CommandError, match="No job named 'nowhere'"):
        export(tmp_path / "c", "nowhere")


def test_applying_again_changes_nothing_and_an_edited_file_is_an_update(world, tmp_path):
    export(tmp_path)
    versions = JobVersion.objects.count()
    assert "Applied: 0 create, 0 update, 6 unchanged." in apply(tmp_path)
    assert JobVersion.objects.count() == versions
    path = tmp_path / "jobs" / "loose.yaml"
    path.write_text(path.read_text().replace("a > 0", "a > 100"))
    printed = apply(tmp_path)
    assert "update    job     loose  (jobs/loose.yaml)" in printed
    assert Job.objects.get(name="loose").component_dicts()[1]["config"]["where"] == "a > 100"
    version = JobVersion.objects.filter(job__name="loose").order_by("-number").first()
    assert (version.via, version.summary) == ("apply", "components: changed positive (config)")
    assert AuditEvent.objects.get(action="update", object_repr="loose").username == "manage.py apply_jobs"


def test_a_dry_run_prints_the_plan_and_changes_nothing(world, tmp_path):
    export(tmp_path)
    empty_the_database()
    printed = apply(tmp_path, "--dry-run")
    assert "create    context dev  (contexts/dev.yaml)" in printed
    assert "Dry run, nothing changed: 6 create, 0 update, 0 unchanged." in printed
    assert not Job.objects.exists() and not Context.objects.exists() and not Schema.objects.exists()
    assert not AuditEvent.objects.exists()


def test_a_file_with_a_yaml_syntax_error_changes_nothing_and_is_named_with_its_line(world, tmp_path):
    export(tmp_path)
    (tmp_path / "jobs" / "loose.yaml").write_text("kind: job\nname: loose\ncomponents: [\n  - name: x\n")
    (tmp_path / "jobs" / "new.yaml").write_text("kind: job\nname: new_job\ncomponents: []\n")
    with pytest.raises(CommandError) as error:
        apply(tmp_path)
    assert "jobs/loose.yaml: yaml: line 4" in str(error.value)
    assert not Job.objects.filter(name="new_job").exists()


def test_an_unknown_component_type_is_named_with_the_file_and_component(world, tmp_path):
    (tmp_path / "new.yaml").write_text(
        "kind: job\nname: new_job\ncomponents:\n- name: rows\n  type: inline_sauce\n  config: {rows: []}\n"
    )
    (tmp_path / "other.yaml").write_text("kind: context\nname: staging\n")
    with pytest.raises(CommandError) as error:
        apply(tmp_path)
    assert (
        "new.yaml: components.rows.type: Unknown component type 'inline_sauce'. Did you mean 'inline_source'?"
        in str(error.value)
    )
    assert not Job.objects.filter(name="new_job").exists()
    assert not Context.objects.filter(name="staging").exists()


def test_a_reference_to_a_context_that_does_not_exist_is_named(world, tmp_path):
    (tmp_path / "new.yaml").write_text(
        "kind: job\nname: new_job\ndefault_context: nowhere\ncomponents:\n"
        "- name: rows\n  type: inline_source\n  config: {rows: [{a: 1}]}\n"
    )
    with pytest.raises(CommandError) as error:
        apply(tmp_path)
    assert "new.yaml: default_context: No context named 'nowhere'." in str(error.value)
    assert not Job.objects.filter(name="new_job").exists()


def test_jobs_in_the_same_files_may_depend_on_each_other(db, data_root, tmp_path):
    steps = "\n".join(
        f"  {line}" for line in ["- name: rows", "  type: inline_source", "  config: {rows: [{a: 1}]}"]
    )
    (tmp_path / "a.yaml").write_text(f"kind: job\nname: a\ndepends_on: [{{job: b}}]\ncomponents:\n{steps}\n")
    (tmp_path / "b.yaml").write_text(f"kind: job\nname: b\ncomponents:\n{steps}\n")
    apply(tmp_path)
    assert JobDependency.objects.get().upstream.name == "b"


def test_a_secret_value_in_a_file_is_refused(db, tmp_path):
    (tmp_path / "c.yaml").write_text(
        "kind: context\nname: dev\nparameters:\n- {name: token, type: secret, value: hunter2}\n"
    )
    with pytest.raises(
        CommandError, match="c.yaml: parameters.token.value: A secret's value does not belong"
    ):
        apply(tmp_path)
    assert not Context.objects.exists()


def test_unknown_kinds_and_fields_are_named(db, tmp_path):
    (tmp_path / "x.yaml").write_text("kind: pipeline\nname: x\n---\nkind: job\nname: y\nschedule: daily\n")
    with pytest.raises(CommandError) as error:
        apply(tmp_path)
    assert "x.yaml (document 1): kind: Give one of: context, schema, job" in str(error.value)
    assert "x.yaml (document 2): schedule: Unknown field for a job" in str(error.value)
