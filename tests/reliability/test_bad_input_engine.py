"""Bad data through a real run (started through the API, run by the worker
code in this process): each ends in a failed execution whose message names
the component and what is wrong, leaves every target as it was, and the next
job runs as if nothing happened."""

import csv
import sqlite3

import pytest

from execution.models import Execution
from tests.execution.conftest import csv_rows, make_job, run_queued

pytestmark = pytest.mark.django_db

OLD_OUTPUT = "id\nold\n"

# name: (file bytes, words the error message must contain)
BAD_CSV = {
    "ragged_line_too_many_fields": (b"id,name\n1,a\n2,b,extra\n3,c\n", ["line 3", "columns"]),
    "ragged_line_too_few_fields": (b"id,name,amount\n1,a,2\n2\n3,c,4\n", ["line 3", "columns"]),
    "latin1_bytes_in_utf8": ("id,name\n1,caf\xe9\n".encode("latin-1"), ["UTF-8", "encoding"]),
    "invalid_utf8_sequence": (b"id,name\n1,\xff\xfe\xfa\n", ["UTF-8"]),
    "binary_garbage": (bytes(range(256)) * 40, ["UTF-8", "byte 128"]),
    "record_over_the_block_size": (b"id,name\n1," + b"x" * 3_000_000 + b"\n", ["longer than 1 MiB"]),
    "wrong_type_for_declared_column": (b"id,name\n1,a\nnot-a-number,b\n", ["id"]),
}


def copy_components(source: str, target: str, columns=None) -> list[dict]:
    config = {"path": source} | ({"columns": columns} if columns else {})
    return [
        {"name": "rows", "type": "csv_source", "config": config},
        {"name": "out", "type": "csv_sink", "inputs": ["rows"], "config": {"path": target}},
    ]


def start_and_run(client, job) -> Execution:
    response = client.post(f"/api/v1/jobs/{job.pk}/start", {}, format="json")
    assert response.status_code == 202, response.content
    return run_queued(response.json()["id"])


def assert_failed_clearly(execution, component, words):
    assert execution.state == "failed", execution.error
    assert execution.error["component"] == component, execution.error
    text = f"{execution.error['message']} ({execution.error['location']})"
    for word in words:
        assert word.lower() in text.lower(), text
    assert "Traceback" not in text


def assert_other_jobs_unaffected(client, data_root):
    (data_root / "good.csv").write_text(csv_rows(3))
    good = make_job("good_job", copy_components("good.csv", "good_out.csv"))
    execution = start_and_run(client, good)
    assert execution.state == "succeeded", execution.error
    assert (data_root / "good_out.csv").read_text().count("\n") == 4


@pytest.mark.parametrize("case", sorted(BAD_CSV))
def test_a_bad_csv_fails_the_run_clearly_and_leaves_the_target(admin_client, data_root, case):
    content, words = BAD_CSV[case]
    (data_root / "bad.csv").write_bytes(content)
    (data_root / "out.csv").write_text(OLD_OUTPUT)
    columns = {"id": "int", "name": "string"} if case == "wrong_type_for_declared_column" else None
    job = make_job("bad_csv", copy_components("bad.csv", "out.csv", columns), batch_size=2)

    execution = start_and_run(admin_client, job)

    assert_failed_clearly(execution, "rows", words)
    assert (data_root / "out.csv").read_text() == OLD_OUTPUT
    assert sorted(p.name for p in data_root.iterdir()) == ["bad.csv", "out.csv"], "a temp file was left"
    assert_other_jobs_unaffected(admin_client, data_root)


def test_a_large_field_and_unicode_edge_cases_load_unchanged(admin_client, data_root):
    values = [
        "x" * 500_000,
        "مرحبا \u202eRTL",
        "🚀👩\u200d👩\u200d👧",
        "e\u0301",
        "tab\there",
        '"quoted, comma"',
    ]
    lines = ["id,text"] + [f'{i},"{value.replace(chr(34), chr(34) * 2)}"' for i, value in enumerate(values)]
    (data_root / "edge.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    job = make_job(
        "edge", copy_components("edge.csv", "edge_out.csv", {"id": "int", "text": "string"}), batch_size=2
    )
    execution = start_and_run(admin_client, job)
    assert execution.state == "succeeded", execution.error
    csv.field_size_limit(1_000_000)
    with (data_root / "edge_out.csv").open(encoding="utf-8", newline="") as written:
        assert [row[1] for row in csv.reader(written)][1:] == values


def test_an_unknown_column_in_an_expression_fails_naming_it(admin_client, data_root):
    (data_root / "in.csv").write_text(csv_rows(5))
    (data_root / "out.csv").write_text(OLD_OUTPUT)
    components = copy_components("in.csv", "out.csv")
    components.insert(
        1, {"name": "late", "type": "filter", "inputs": ["rows"], "config": {"where": "dep_delay > 0"}}
    )
    components[-1]["inputs"] = ["late"]
    execution = start_and_run(admin_client, make_job("unknown_column", components))
    assert_failed_clearly(
        execution, "late", ["Unknown column 'dep_delay'", "The input has: id, name, amount"]
    )
    assert (data_root / "out.csv").read_text() == OLD_OUTPUT
    assert_other_jobs_unaffected(admin_client, data_root)


@pytest.mark.parametrize(
    "content",
    [b'[{"id": 1}, {"id": ', b'{"id": 1}\n{"id": \n', b"\x00\x01not json"],
    ids=["truncated_array", "truncated_ndjson", "binary"],
)
def test_bad_json_fails_the_run_clearly_and_leaves_the_target(admin_client, data_root, content):
    (data_root / "bad.json").write_bytes(content)
    (data_root / "out.csv").write_text(OLD_OUTPUT)
    components = [
        {"name": "records", "type": "json_source", "config": {"path": "bad.json"}},
        {"name": "out", "type": "csv_sink", "inputs": ["records"], "config": {"path": "out.csv"}},
    ]
    execution = start_and_run(admin_client, make_job("bad_json", components))
    assert_failed_clearly(execution, "records", ["bad.json"])
    assert (data_root / "out.csv").read_text() == OLD_OUTPUT
    assert_other_jobs_unaffected(admin_client, data_root)


INJECTED_HEADER = 'id,"name""); DROP TABLE victims; --"\n1,a\n2,b\n'


def test_sql_in_a_csv_header_is_only_a_column_name_in_sqlite(admin_client, data_root):
    (data_root / "in.csv").write_text(INJECTED_HEADER)
    with sqlite3.connect(data_root / "target.db") as db:
        db.execute("CREATE TABLE victims (id INTEGER)")
        db.execute("INSERT INTO victims VALUES (7)")
    components = [
        {"name": "rows", "type": "csv_source", "config": {"path": "in.csv"}},
        {
            "name": "out",
            "type": "sqlite_sink",
            "inputs": ["rows"],
            "config": {"path": "target.db", "table": "loaded"},
        },
    ]
    execution = start_and_run(admin_client, make_job("header_injection", components))
    assert execution.state == "succeeded", execution.error
    with sqlite3.connect(data_root / "target.db") as db:
        assert db.execute("SELECT * FROM victims").fetchall() == [(7,)]
        columns = [row[1] for row in db.execute("PRAGMA table_info(loaded)")]
    assert columns == ["id", 'name"); DROP TABLE victims; --']


@pytest.mark.postgres
def test_sql_in_a_csv_header_is_only_a_column_name_in_postgres(admin_client, data_root, warehouse):
    (data_root / "in.csv").write_text(INJECTED_HEADER)
    schema = warehouse["schema"]
    warehouse["conn"].execute(
        f'CREATE TABLE "{schema}".victims (id int); INSERT INTO "{schema}".victims VALUES (7)'
    )
    components = [
        {"name": "rows", "type": "csv_source", "config": {"path": "in.csv"}},
        {
            "name": "out",
            "type": "postgres_sink",
            "inputs": ["rows"],
            "config": {"connection": "warehouse", "table": f"{schema}.loaded"},
        },
    ]
    job = make_job("pg_header_injection", components)
    job.default_context = warehouse["context"]
    job.save()
    execution = start_and_run(admin_client, job)
    assert execution.state == "succeeded", execution.error
    conn = warehouse["conn"]
    assert conn.execute(f'SELECT id FROM "{schema}".victims').fetchall() == [(7,)]
    assert conn.execute(f'SELECT count(*) FROM "{schema}".loaded').fetchone()[0] == 2


@pytest.mark.postgres
@pytest.mark.parametrize(
    "bad_line, component, words",
    [
        ("oops,this,line,is,ragged\n", "rows", ["in.csv, line 52", "columns"]),
        ("77,nul\x00byte,1.5\n", "out", []),
    ],
    ids=["ragged_line", "embedded_nul"],
)
def test_bad_data_into_postgres_leaves_the_table_as_it_was(
    admin_client, data_root, warehouse, bad_line, component, words
):
    schema = warehouse["schema"]
    conn = warehouse["conn"]
    conn.execute(f'CREATE TABLE "{schema}".loaded (id bigint, name text, amount float8)')
    conn.execute(f"INSERT INTO \"{schema}\".loaded VALUES (1, 'kept', 0)")
    (data_root / "in.csv").write_text(csv_rows(50) + bad_line)
    components = [
        {"name": "rows", "type": "csv_source", "config": {"path": "in.csv"}},
        {
            "name": "out",
            "type": "postgres_sink",
            "inputs": ["rows"],
            "config": {"connection": "warehouse", "table": f"{schema}.loaded", "mode": "replace"},
        },
    ]
    job = make_job("pg_bad", components, batch_size=10)
    job.default_context = warehouse["context"]
    job.save()
    execution = start_and_run(admin_client, job)
    assert_failed_clearly(execution, component, words)
    assert conn.execute(f'SELECT id, name FROM "{schema}".loaded').fetchall() == [(1, "kept")]
    assert_other_jobs_unaffected(admin_client, data_root)
