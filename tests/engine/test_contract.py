"""The contract every registered component type must meet: its config schema
is a valid JSON Schema that its example satisfies; the example runs on a small
flights table and on an empty one; the counters add up along every edge; a
sink's target holds exactly the rows it counted.

A type only supplies data here (HARNESS); the checks are shared.
"""

import json
import sqlite3

import polars as pl
import pytest
from jsonschema import Draft202012Validator

from execution.engine.graph import split_input
from execution.engine.registry import all_specs
from execution.engine.runner import run_job
from tests.engine.helpers import context

FLIGHTS = pl.DataFrame(
    {
        "flight_id": [1, 2, 2, 3],
        "carrier": ["AA", "DL", "DL", "UA"],
        "dep_time": ["08:00", "09:30", "09:30", None],
        "dep_delay": [5, -3, -3, 40],
        "arr_delay": [7, None, None, 35],
    }
)
CARRIERS = [{"code": "AA", "name": "American"}, {"code": "DL", "name": "Delta"}]
FLIGHTS_SCHEMA = {
    "fields": [
        {"name": "flight_id", "type": "integer", "required": True, "nullable": False},
        {"name": "arr_delay", "type": "integer", "required": True, "nullable": False},
    ]
}


def flights_source(name: str, table: pl.DataFrame) -> dict:
    columns = {
        "flight_id": "int",
        "carrier": "string",
        "dep_time": "string",
        "dep_delay": "int",
        "arr_delay": "int",
    }
    return {"name": name, "type": "inline_source", "config": {"rows": table.to_dicts(), "columns": columns}}


class Harness:
    """Builds what one example needs around it: files, tables, upstreams."""

    def __init__(self, spec, request, data_root):
        self.spec = spec
        self.request = request
        self.data_root = data_root
        self.connections = {}
        self.config = json.loads(json.dumps(spec.example))

    def components(self, table: pl.DataFrame) -> list[dict]:
        kind = self.spec.kind
        if kind == "source":
            self.prepare_source(table)
            under_test = {"name": "under_test", "type": self.spec.type, "config": self.config}
            return [under_test, capture("under_test")]
        under_test = {"name": "under_test", "type": self.spec.type, "config": self.config}
        upstreams = [flights_source("flights", table)]
        under_test["inputs"] = ["flights"]
        if self.spec.type == "join":
            upstreams.append({"name": "carriers", "type": "inline_source", "config": {"rows": CARRIERS}})
            under_test["inputs"] = ["flights", "carriers"]
        elif self.spec.type == "union":
            upstreams.append(flights_source("more_flights", table))
            under_test["inputs"] = ["flights", "more_flights"]
        if kind == "sink":
            self.prepare_sink()
            return upstreams + [under_test]
        if kind == "metric":
            return upstreams + [under_test]
        downstream = [capture("under_test")]
        if "rejects" in self.spec.outputs:
            downstream.append(capture("under_test.rejects", name="captured_rejects"))
        return upstreams + [under_test] + downstream

    # -- sources: write the flights table where the example reads it ------------------
    def prepare_source(self, table):
        typ = self.spec.type
        if typ == "csv_source":
            table.write_csv(self.data_root / self.config["path"])
        elif typ == "json_source":
            table.write_ndjson(self.data_root / self.config["path"])
        elif typ == "parquet_source":
            table.write_parquet(self.data_root / self.config["path"])
        elif typ == "inline_source":
            self.config = flights_source("under_test", table)["config"]
        elif typ == "sqlite_source":
            self.seed("sqlite_sink", {"path": self.config["path"], "table": "flights"}, table)
        elif typ == "postgres_source":
            target = self.request.getfixturevalue("pg_target")
            self.connections[self.config["connection"]] = target["connection"]
            self.config["table"] = f"{target['schema']}.flights"
            self.seed(
                "postgres_sink",
                {"connection": self.config["connection"], "table": self.config["table"]},
                table,
            )
        elif typ == "mysql_source":
            target = self.request.getfixturevalue("mysql_target")
            self.connections[self.config["connection"]] = target["connection"]
            self.seed(
                "mysql_sink", {"connection": self.config["connection"], "table": self.config["table"]}, table
            )
        else:
            pytest.fail(f"The contract test has no data for source type {typ}; add it to Harness.")

    def seed(self, sink_type, config, table):
        components = [
            flights_source("seed", table),
            {"name": "s", "type": sink_type, "inputs": ["seed"], "config": config},
        ]
        run_job(components, self.context())

    # -- sinks: point the example at a fresh target; read back what it holds -----------
    def prepare_sink(self):
        (self.data_root / "out").mkdir(exist_ok=True)
        if self.spec.type == "postgres_sink":
            target = self.request.getfixturevalue("pg_target")
            self.connections[self.config["connection"]] = target["connection"]
            self.config["table"] = f"{target['schema']}.{self.config['table'].split('.')[-1]}"
            self.read_back = lambda: (
                target["conn"].execute(f"SELECT count(*) FROM {self.config['table']}").fetchone()[0]
            )
        elif self.spec.type == "mysql_sink":
            target = self.request.getfixturevalue("mysql_target")
            self.connections[self.config["connection"]] = target["connection"]

            def count():
                with target["conn"].cursor() as cursor:
                    cursor.execute(f"SELECT count(*) FROM `{self.config['table']}`")
                    return cursor.fetchone()[0]

            self.read_back = count
        elif self.spec.type == "sqlite_sink":
            path = self.data_root / self.config["path"]
            self.read_back = lambda: (
                sqlite3.connect(path).execute(f"SELECT count(*) FROM {self.config['table']}").fetchone()[0]
            )
        else:
            path = self.data_root / self.config["path"]
            readers = {"csv_sink": pl.read_csv, "json_sink": pl.read_ndjson, "parquet_sink": pl.read_parquet}
            if self.spec.type not in readers:
                pytest.fail(
                    f"The contract test cannot read back sink type {self.spec.type}; add it to Harness."
                )
            self.read_back = lambda: readers[self.spec.type](path).height if path.stat().st_size else 0

    def context(self):
        return context(
            self.data_root, connections=self.connections, schemas={"flights": FLIGHTS_SCHEMA}, batch_size=2
        )


def capture(reference: str, name: str = "captured") -> dict:
    return {
        "name": name,
        "type": "parquet_sink",
        "inputs": [reference],
        "config": {"path": f"{name}.parquet"},
    }


def needs_service(spec):
    marks = []
    if spec.type.startswith("postgres"):
        marks.append(pytest.mark.postgres)
    if spec.type.startswith("mysql"):
        marks.append(pytest.mark.mysql)
    return pytest.param(spec, id=spec.type, marks=marks)


SPECS = [needs_service(spec) for spec in all_specs()]


@pytest.mark.parametrize("spec", SPECS)
def test_the_config_schema_is_valid_and_the_example_satisfies_it(spec):
    Draft202012Validator.check_schema(spec.config_schema)
    assert spec.config_schema["additionalProperties"] is False
    assert list(Draft202012Validator(spec.config_schema).iter_errors(spec.example)) == []
    assert spec.summary and spec.description
    for name, field in spec.config_schema["properties"].items():
        assert field.get("description"), f"{spec.type}.{name} has no description"


@pytest.mark.parametrize("table", [FLIGHTS, FLIGHTS.clear()], ids=["rows", "empty"])
@pytest.mark.parametrize("spec", SPECS)
def test_the_example_runs_and_the_counters_add_up(spec, table, request, data_root):
    harness = Harness(spec, request, data_root)
    components = harness.components(table)
    result = run_job(components, harness.context())
    counters = result.components

    for component in components:
        name = component["name"]
        inputs = component.get("inputs") or []
        delivered = 0
        for reference in inputs:
            upstream, port = split_input(reference)
            delivered += counters[upstream]["rows_rejected" if port == "rejects" else "rows_out"]
        if inputs:
            assert counters[name]["rows_in"] == delivered, name
        assert counters[name]["batches"] >= 1, name
        assert counters[name]["type"] == component["type"], name
    if spec.kind == "source":
        assert counters["under_test"]["rows_out"] == table.height
        captured = pl.read_parquet(data_root / "captured.parquet")
        assert captured.height == table.height
        # An empty NDJSON file has no columns to tell; every other source keeps them.
        if table.height or spec.type != "json_source":
            assert set(FLIGHTS.columns) <= set(captured.columns)
    if spec.kind == "sink":
        assert counters["under_test"]["rows_out"] == counters["under_test"]["rows_in"]
        config = harness.config
        upserted = config.get("mode") == "upsert"
        stored = table.unique(config["key"]).height if upserted else counters["under_test"]["rows_in"]
        assert harness.read_back() == stored
    if spec.kind == "metric":
        assert result.metrics[0]["name"] == spec.example["name"]
    if spec.kind == "transform" and table.height:
        assert counters["under_test"]["rows_out"] + counters["under_test"]["rows_rejected"] > 0
