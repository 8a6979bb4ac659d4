"""Incremental loads, file sets, intervals and backfills (docs/execution.md)."""
