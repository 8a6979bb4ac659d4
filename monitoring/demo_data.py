"""The long-running demo: `demo_payments_long` reads a generated file of
two million payments in small batches, so a run lasts long enough (45 s on
the 2-core machine it was written on) to pause, resume and stop it from the pages, the API or the README.

The file is not in git: `manage.py demo_data` (run by `make setup`) writes it
into the first data root once, and again only when it is missing.
initialize creates the job, which is cheap, so tests that initialize do not
pay for the file.
"""

import os
from pathlib import Path

import polars as pl
from django.conf import settings

from contexts.models import Context
from execution.engine.graph import validate_components
from jobs.models import Job, JobVersion
from jobs.versions import record_version

LONG_DEMO_JOB_NAME = "demo_payments_long"
PAYMENTS_ROWS = 2_000_000
PAYMENTS_PATH = "demo/payments_2m.csv"
# Small batches: the per-batch work makes the run last (45 s on 2 shared cores).
LONG_DEMO_BATCH_SIZE = 20


def payments_file() -> Path:
    return Path(settings.ETL_DATA_ROOTS[0]) / PAYMENTS_PATH


def ensure_payments_file(rows: int = PAYMENTS_ROWS) -> dict:
    """Write the generated payments CSV (same rows every time) unless it is there."""
    target = payments_file()
    if target.exists():
        return {"path": str(target), "outcome": "found"}
    target.parent.mkdir(parents=True, exist_ok=True)
    ids = pl.int_range(1, rows + 1, eager=True).alias("id")
    frame = pl.DataFrame(ids).with_columns(
        customer=pl.col("id") * 7919 % 5000 + 1,
        # Between -50 and 950: about one in twenty is negative.
        amount=((pl.col("id") * 104729 % 100000) / 100 - 50).round(2),
        currency=pl.when(pl.col("id") % 10 == 0).then(pl.lit("USD")).otherwise(pl.lit("EUR")),
    )
    partial = target.with_suffix(".partial")
    frame.write_csv(partial)
    os.replace(partial, target)  # never a half-written file under the real name
    return {"path": str(target), "outcome": f"created ({rows:,} rows)"}


def long_demo_components() -> list[dict]:
    return [
        {"name": "payments", "type": "csv_source", "inputs": [], "config": {"path": PAYMENTS_PATH}},
        {"name": "positive", "type": "filter", "inputs": ["payments"], "config": {"where": "amount > 0"}},
        {
            "name": "out",
            "type": "csv_sink",
            "inputs": ["positive"],
            "config": {"path": "demo/output/positive_payments.csv", "mode": "replace"},
        },
    ]


def ensure_long_demo_job() -> str:
    if Job.objects.filter(name=LONG_DEMO_JOB_NAME).exists():
        return "found"
    components = long_demo_components()
    problems = validate_components(components)
    if problems:
        return "skipped: " + "; ".join(f"{p.component}: {p.message}" for p in problems)
    job = Job.objects.create(
        name=LONG_DEMO_JOB_NAME,
        description=(
            f"Demo: {PAYMENTS_ROWS:,} generated payments in batches of {LONG_DEMO_BATCH_SIZE}, "
            "long enough to try pause, resume and stop (`manage.py demo_data` writes the file)."
        ),
        config={"batch_size": LONG_DEMO_BATCH_SIZE},
        default_context=Context.objects.filter(is_default=True).first(),
    )
    job.replace_components(components)
    record_version(job, via=JobVersion.Via.SETUP)
    return "created"
