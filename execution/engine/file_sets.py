"""File sets: a file source whose `path` is a glob (`incoming/*.csv`,
`daily/**/*.parquet`) reads every matching file inside the data roots, one
after another, in name order.

With `"incremental": {"mode": "new_files"}` it reads only files not loaded
before. A file's identity is its real path, size and modification time
(`mtime`, seconds): a file rewritten in place (another size or time) counts
as new and is read again. The set of loaded files is the source's state
(`{"files": [{"path", "size", "mtime"}]}`), saved with the same exactly-once
rule as a watermark (docs/execution.md).

Every match must resolve inside a data root (symlinks followed); a pattern
that could leave them (`..`, an absolute path elsewhere) is refused.
"""

from __future__ import annotations

import glob
import os
from pathlib import Path

import polars as pl

from execution.engine.components.base import Source
from execution.engine.components.file_sources import FileSource
from execution.engine.errors import EngineError
from execution.engine.incremental import NEW_FILES
from execution.engine.paths import resolve_path
from execution.engine.registry import SOURCE

_GLOB_CHARACTERS = set("*?[")


def is_glob(path: str) -> bool:
    return bool(_GLOB_CHARACTERS & set(path))


def is_file_set(spec, config: dict) -> bool:
    return (
        spec.kind == SOURCE
        and issubclass(spec.implementation, FileSource)
        and (is_glob(str(config.get("path", ""))) or "incremental" in config)
    )


def build(spec, name: str, config: dict, ctx):
    """The component a run uses: a FileSet for a glob or an incremental file source."""
    if is_file_set(spec, config):
        return FileSet(spec, name, config, ctx)
    return spec.implementation(name, config, ctx)


def expand(pattern: str, data_roots: list[str], *, component: str) -> list[Path]:
    """Every file matching `pattern` (relative to a data root, or absolute
    inside one), each checked to resolve inside the roots, sorted."""
    if ".." in Path(pattern).parts:
        raise EngineError(
            f"The path {pattern!r} contains '..'; give a pattern inside a data root.",
            component=component,
            field="config.path",
        )
    bases = [pattern] if os.path.isabs(pattern) else [os.path.join(root, pattern) for root in data_roots]
    matches = sorted({match for base in bases for match in glob.glob(base, recursive=True)})
    files = []
    for match in matches:
        path = resolve_path(match, data_roots, component=component, must_exist=True)
        if path.is_file():
            files.append(path)
    return files


def identity(path: Path) -> dict:
    stat = path.stat()
    return {"path": str(path), "size": stat.st_size, "mtime": stat.st_mtime}


class FileSet(Source):
    """Reads each file of the set with the source type's own reader."""

    def __init__(self, spec, name, config, ctx):
        super().__init__(name, config, ctx)
        self.spec = spec
        self.incremental = (config.get("incremental") or {}).get("mode") == NEW_FILES
        self.file_config = {key: value for key, value in config.items() if key != "incremental"}
        saved = ctx.incremental_state.get(name, {}).get("files") or []
        self.saved = [entry for entry in saved if isinstance(entry, dict)]
        self.files_read: list[dict] = []
        self.finished_bytes = 0

    def _files(self) -> list[dict]:
        pattern = self.config["path"]
        paths = expand(pattern, self.ctx.data_roots, component=self.name) if is_glob(pattern) else None
        if paths is None:
            paths = [resolve_path(pattern, self.ctx.data_roots, component=self.name, must_exist=True)]
        if not paths and not self.incremental:
            raise EngineError(
                f"No file matches {pattern!r} under the data roots.", component=self.name, field="config.path"
            )
        found = [identity(path) for path in paths]
        if not self.incremental:
            return found
        loaded = {(e["path"], e["size"], e["mtime"]) for e in self.saved}
        return [f for f in found if (f["path"], f["size"], f["mtime"]) not in loaded]

    def batches(self):
        files = self._files()
        self.progress_total = sum(f["size"] for f in files) or None
        self.log(
            "info", f"{len(files)} file(s) to read" + (" (not loaded before)." if self.incremental else ".")
        )
        emitted = False
        for entry in files:
            self.log("info", f"Reading file {entry['path']} ({entry['size']} bytes).")
            reader = self.spec.implementation(
                self.name, {**self.file_config, "path": entry["path"]}, self.ctx
            )
            try:
                for batch in reader.batches():
                    self.bytes_read = self.finished_bytes + reader.bytes_read
                    self.progress_done = self.finished_bytes + reader.progress_done
                    emitted = True
                    yield batch
            finally:
                reader.close()
            self.finished_bytes += entry["size"]
            self.bytes_read = self.progress_done = self.finished_bytes
            self.files_read.append(entry)
        if not emitted:
            yield pl.DataFrame()

    def new_state(self):
        if not self.incremental:
            return None
        read = {entry["path"] for entry in self.files_read}
        kept = [entry for entry in self.saved if entry["path"] not in read]
        return {"files": kept + self.files_read}
