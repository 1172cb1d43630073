"""The catalog of captured runs, and the lookup that ``affected`` and ``forget`` use.

* ``catalog.duckdb`` (embedded DuckDB) is the record for people and SQL: runs, pipelines,
  times, and each source's path, content fingerprint, row count and the columns the run
  used.
* ``lookup.json`` answers the questions on ``forget``'s hot path: what is this file's
  fingerprint (cached by path, size and modification time), which runs read that
  fingerprint, with which columns, and how many rows they read at most. Opening a DuckDB
  database costs 10–20 ms, about half of a whole ``forget`` at 1M rows; reading this small
  file costs well under a millisecond. Its run index is derived from the runs' manifests,
  which capture writes first, and is rebuilt from them when the file is missing or unreadable.
* ``changes.jsonl`` logs every ``forget`` (run, request hash, kind, counts; never values),
  one appended line each.

Callers hold the store lock.
"""
from __future__ import annotations

import datetime
import glob
import hashlib
import json
import os
import warnings
from typing import Dict, List, Optional

from lester_inspect.ivm.files import read_json, write_json

LOOKUP = "lookup.json"
CHANGES = "changes.jsonl"
# A change log line: when, then what forget passes to log_change.
CHANGE_FIELDS = ("changed_at", "run_id", "request", "kind", "rows_changed", "cells_changed", "model_updated")

_SCHEMA = [
    """CREATE TABLE IF NOT EXISTS runs (run_id VARCHAR PRIMARY KEY, name VARCHAR, pipeline VARCHAR,
           created TIMESTAMP, model VARCHAR, train_rows BIGINT, test_rows BIGINT)""",
    """CREATE TABLE IF NOT EXISTS sources (run_id VARCHAR, source VARCHAR, path VARCHAR, fingerprint VARCHAR,
           row_count BIGINT, columns_used VARCHAR)""",
]


def connect(store: str, read_only: bool = False):
    import duckdb

    path = os.path.join(store, "catalog.duckdb")
    exists = os.path.exists(path)
    connection = duckdb.connect(path, read_only=read_only and exists)
    if not exists:
        for statement in _SCHEMA:
            connection.execute(statement)
    return connection


def add_run(connection, run: Dict, sources: List[Dict]) -> None:
    connection.execute("BEGIN TRANSACTION")
    connection.execute("DELETE FROM runs WHERE run_id = ?", [run["run_id"]])
    connection.execute("DELETE FROM sources WHERE run_id = ?", [run["run_id"]])
    connection.execute("INSERT INTO runs VALUES (?, ?, ?, now(), ?, ?, ?)",
                       [run["run_id"], run["name"], run["pipeline"], run["model"], run["train_rows"],
                        run["test_rows"]])
    for source in sources:
        connection.execute("INSERT INTO sources VALUES (?, ?, ?, ?, ?, ?)",
                           [run["run_id"], source["name"], source["path"], source["fingerprint"], source["rows"],
                            json.dumps(source["columns_used"])])
    connection.execute("COMMIT")


class Lookup:
    """``lookup.json`` of a store, read once per operation; ``save`` writes it back if it changed."""

    def __init__(self, store: str):
        self.path = os.path.join(store, LOOKUP)
        try:
            content = read_json(self.path)
            self.fingerprints, self.readers, self.sizes = content["fingerprints"], content["readers"], content["sizes"]
            self.changed = False
            return
        except FileNotFoundError:
            pass
        except (ValueError, KeyError, TypeError) as error:
            warnings.warn(f"{self.path} is unreadable ({error!r}); rebuilding it from the runs' manifests")
        self.fingerprints, self.readers, self.sizes = {}, {}, {}
        for manifest in sorted(glob.glob(os.path.join(store, "runs", "*", "manifest.json"))):
            self.add_run(read_json(manifest))
        self.changed = True

    def fingerprint(self, path: str) -> str:
        """sha256 of the file's content, cached by (path, size, modification time)."""
        real = os.path.realpath(path)
        status = os.stat(real)
        cached = self.fingerprints.get(real)
        if cached and cached[:2] == [status.st_size, status.st_mtime_ns]:
            return cached[2]
        digest = file_sha256(real)
        self.fingerprints[real] = [status.st_size, status.st_mtime_ns, digest]
        self.changed = True
        return digest

    def add_run(self, manifest: Dict) -> None:
        """Index the sources a run's manifest names (fingerprint -> run -> columns used, and rows read)."""
        for source in manifest.get("sources", {}).values():
            runs = self.readers.setdefault(source["fingerprint"], {})
            runs[manifest["run_id"]] = sorted(set(runs.get(manifest["run_id"], [])) | set(source["columns_used"]))
            self.sizes[source["fingerprint"]] = max(self.sizes.get(source["fingerprint"], 0), source["rows"])
        self.changed = True

    def runs_reading(self, fingerprint: str, column: Optional[str] = None) -> List[str]:
        """Runs that read a source with this content (and used ``column`` of it, if given)."""
        return sorted(run for run, used in self.readers.get(fingerprint, {}).items() if column is None or column in used)

    def save(self) -> None:
        if self.changed:
            write_json(self.path, {"fingerprints": self.fingerprints, "readers": self.readers, "sizes": self.sizes})
            self.changed = False


def log_change(store: str, change: Dict) -> None:
    """Append one line to the change log and sync it (a line cut short by a crash is skipped on reading)."""
    line = json.dumps({"changed_at": datetime.datetime.now().isoformat(timespec="seconds"), **change})
    with open(os.path.join(store, CHANGES), "a+b") as handle:
        if handle.tell() and os.pread(handle.fileno(), 1, handle.tell() - 1) != b"\n":
            handle.write(b"\n")  # end a line a crash cut short, so that it spoils only itself
        handle.write(line.encode("utf-8") + b"\n")
        handle.flush()
        os.fsync(handle.fileno())


def read_changes(store: str) -> List[Dict]:
    path = os.path.join(store, CHANGES)
    if not os.path.exists(path):
        return []
    changes = []
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            try:
                changes.append(json.loads(line))
            except json.JSONDecodeError:
                continue
    return changes


def file_sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
