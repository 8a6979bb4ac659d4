"""How long schema validation takes on 1,000,000 rows x 10 fields.

    .venv/bin/python bench/schema_validation.py [rows]

Prints the best of three runs of `CompiledSchema.split` (the engine's validate
component) and `CompiledSchema.report` (the API's counts + capped errors), for
typed columns (Parquet / database sources) and for text columns (CSV, every
value parsed). About 1% of the rows break a constraint. Not a test: timings
depend on the machine.
"""

import sys
import time
from pathlib import Path

import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from execution.engine.validation import compile_schema  # noqa: E402

AIRPORTS = ["ATL", "BOS", "DEN", "DFW", "EWR", "JFK", "LAS", "LAX", "MIA", "ORD", "SEA", "SFO"]

SCHEMA = {
    "name": "flights",
    "fields": [
        {
            "name": "id",
            "type": "integer",
            "required": True,
            "nullable": False,
            "constraints": {"unique": True},
        },
        {"name": "carrier", "type": "string", "required": True, "constraints": {"pattern": "^[A-Z0-9]{2}$"}},
        {"name": "flight", "type": "integer", "constraints": {"minimum": 1, "maximum": 9999}},
        {"name": "origin", "type": "string", "constraints": {"enum": AIRPORTS}},
        {
            "name": "dest",
            "type": "string",
            "constraints": {"enum": AIRPORTS, "min_length": 3, "max_length": 3},
        },
        {"name": "dep_time", "type": "integer", "constraints": {"minimum": 0, "maximum": 2400}},
        {"name": "arr_time", "type": "integer", "constraints": {"minimum": 0, "maximum": 2400}},
        {"name": "distance", "type": "number", "constraints": {"minimum": 0}},
        {"name": "contact", "type": "string", "constraints": {"format": "email"}},
        {"name": "day", "type": "date", "constraints": {"minimum": "2020-01-01"}},
    ],
    "rules": [
        {
            "name": "times",
            "expression": "arr_time IS NULL OR dep_time IS NOT NULL",
            "message": "arrival without departure",
            "severity": "error",
        }
    ],
}


def typed_frame(rows: int) -> pl.DataFrame:
    index = pl.int_range(0, rows, eager=True)
    broken = index % 100 == 0  # 1% of rows break one constraint
    return pl.DataFrame(
        {
            "id": index,
            "carrier": pl.Series(["AA", "DL", "UA", "B6"] * (rows // 4 + 1))[:rows],
            "flight": (index % 9000 + 1),
            "origin": pl.Series(AIRPORTS * (rows // len(AIRPORTS) + 1))[:rows],
            "dest": pl.Series(AIRPORTS[::-1] * (rows // len(AIRPORTS) + 1))[:rows],
            "dep_time": pl.select(pl.when(broken).then(9999).otherwise(index % 2400)).to_series(),
            "arr_time": (index + 100) % 2400,
            "distance": index.cast(pl.Float64) / 7,
            "contact": pl.Series(["ops@example.com", "crew@example.org"] * (rows // 2 + 1))[:rows],
            "day": pl.date_range(pl.date(2021, 1, 1), pl.date(2021, 12, 31), eager=True)
            .sample(rows, with_replacement=True, seed=1)
            .alias("day"),
        }
    )


def best_of_three(function) -> float:
    timings = []
    for _ in range(3):
        started = time.perf_counter()
        function()
        timings.append(time.perf_counter() - started)
    return min(timings)


def main() -> None:
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    compiled = compile_schema(SCHEMA)
    typed = typed_frame(rows)
    text = typed.select(pl.all().cast(pl.String))
    valid, rejected = compiled.split(typed)
    print(f"{rows:,} rows x {len(SCHEMA['fields'])} fields + 1 rule; {rejected.height:,} rejected")
    for label, frame in (("typed columns", typed), ("text columns (CSV)", text)):
        split = best_of_three(lambda frame=frame: compiled.split(frame))
        report = best_of_three(lambda frame=frame: compiled.report(frame, limit=1000))
        print(f"  {label:20s} split {split:.2f} s   report {report:.2f} s")


if __name__ == "__main__":
    main()
