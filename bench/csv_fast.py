"""Benchmark: csv_source's Polars fast path against its Arrow reader, engine only.

    .venv/bin/python bench/csv_fast.py [--rows 5000000] [--rounds 3]

The transform job of compare.py (csv_source -> filter -> derive -> aggregate
-> parquet_sink, on the fixed-seed 10-column CSV of engine_load.py) run by
`run_job` in a fresh process per run, once as shipped (the fast path reads
the file: Arrow infers amount/category/city as float/text) and once with
the fast path turned off (Arrow reads the file, as before it existed),
interleaved, --rounds times; prints the median seconds and peak RSS of each
and the ratio Arrow ÷ fast (above 1: the fast path is quicker). No Django
startup: compare.py measures whole `runjob` processes.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from engine_load import generate_csv

ROOT = Path(__file__).resolve().parent.parent

CHILD = """
import json, resource, sys, time
from pathlib import Path
from execution.engine.components import csv_fast
from execution.engine.runner import RunContext, run_job
csv, out, mode = sys.argv[1:]
if mode == "arrow":
    csv_fast.forbidden_bytes = lambda *args: None
components = [
    {"name": "src", "type": "csv_source", "config": {"path": csv}},
    {"name": "keep", "type": "filter", "inputs": ["src"], "config": {"where": "amount >= 100"}},
    {"name": "more", "type": "derive", "inputs": ["keep"],
     "config": {"columns": {"amount_cents": "amount * 100", "high": "amount > 50000"}}},
    {"name": "by_city", "type": "aggregate", "inputs": ["more"],
     "config": {"group_by": ["city", "category"], "aggregates": {
         "n": "count(*)", "total": "sum(amount_cents)", "avg_amount": "avg(amount)",
         "highs": "sum(CASE WHEN high THEN 1 ELSE 0 END)"}}},
    {"name": "out", "type": "parquet_sink", "inputs": ["by_city"], "config": {"path": out}},
]
roots = [str(Path(csv).parent), str(Path(out).parent)]
started = time.perf_counter()
result = run_job(components, RunContext(data_roots=roots, connections={}, schemas={}, batch_size=50_000))
seconds = time.perf_counter() - started
print(json.dumps({"seconds": seconds, "rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "rows": result.components["src"]["rows_out"]}))
"""


def run(csv: Path, out: Path, mode: str) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(csv), str(out), mode],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    csv = generate_csv(args.rows)
    results = {"fast": [], "arrow": []}
    with tempfile.TemporaryDirectory(prefix="etl-csvfast-") as home:
        for round_number in range(args.rounds):
            for mode in results:
                result = run(csv, Path(home) / f"{mode}.parquet", mode)
                assert result["rows"] == args.rows, result
                results[mode].append(result)
            load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
            print(f"round {round_number + 1} done; load average {load}")
    medians = {
        mode: (statistics.median(r["seconds"] for r in runs), max(r["rss_mib"] for r in runs))
        for mode, runs in results.items()
    }
    print(f"\n{args.rows:,} rows, median of {args.rounds}, run_job in one process (no Django)")
    print("| reader | seconds | rows/s | peak RSS |\n|---|---:|---:|---:|")
    for mode, (seconds, rss) in medians.items():
        label = "Polars fast path" if mode == "fast" else "Arrow only"
        print(f"| {label} | {seconds:.2f} | {args.rows / seconds:,.0f} | {rss:.0f} MiB |")
    print(f"ratio Arrow ÷ fast: {medians['arrow'][0] / medians['fast'][0]:.2f}")


if __name__ == "__main__":
    main()
