"""Running the engine from tests: literal tables in, frames out."""

import polars as pl

from execution.engine.runner import RunContext, run_job


def context(data_root, *, connections=None, schemas=None, batch_size=50_000, control=None) -> RunContext:
    return RunContext(
        data_roots=[str(data_root)],
        connections=connections or {},
        schemas=schemas or {},
        batch_size=batch_size,
        control=control,
    )


def inline(name: str, rows: list[dict], columns: dict | None = None) -> dict:
    config = {"rows": rows}
    if columns:
        config["columns"] = columns
    return {"name": name, "type": "inline_source", "config": config}


def run_to_frame(data_root, components: list[dict], **options) -> pl.DataFrame:
    """Run the components with a parquet sink after the last one and return what it wrote."""
    last = components[-1]["name"]
    sink = {
        "name": "captured",
        "type": "parquet_sink",
        "inputs": [last],
        "config": {"path": "captured.parquet"},
    }
    run_job(components + [sink], context(data_root, **options))
    return pl.read_parquet(data_root / "captured.parquet")
