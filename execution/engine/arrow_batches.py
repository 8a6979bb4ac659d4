"""Arrow record batches of any size as Polars frames of exactly `batch_size` rows."""

import polars as pl
import pyarrow as pa


def frames(batches, schema: pa.Schema, batch_size: int):
    """Polars frames of exactly `batch_size` rows (the last one shorter, and
    one empty frame for an empty result) from Arrow batches of any size."""
    pending: list[pa.RecordBatch] = []
    rows = 0
    emitted = False
    for batch in batches:
        if not batch.num_rows:
            continue
        pending.append(batch)
        rows += batch.num_rows
        if rows < batch_size:
            continue
        table = pa.Table.from_batches(pending, schema=schema)
        whole = (rows // batch_size) * batch_size
        for offset in range(0, whole, batch_size):
            yield pl.from_arrow(table.slice(offset, batch_size))
            emitted = True
        pending = [b for b in table.slice(whole).to_batches() if b.num_rows]
        rows -= whole
    if rows or not emitted:
        yield pl.from_arrow(pa.Table.from_batches(pending, schema=schema))
