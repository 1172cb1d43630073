"""The catalog of captured runs: an embedded DuckDB database beside the artifacts.

It holds what is needed to find runs — run ids, pipelines, times, and each source's
path, content fingerprint, row count and the columns the run used — and a log of
changes made by ``forget`` (counts, never values). Callers hold the store lock.
"""
from __future__ import annotations

import hashlib
import json
import os
from typing import Dict, List, Optional

_SCHEMA = [
    """CREATE TABLE IF NOT EXISTS runs (run_id VARCHAR PRIMARY KEY, name VARCHAR, pipeline VARCHAR,
           created TIMESTAMP, model VARCHAR, train_rows BIGINT, test_rows BIGINT)""",
    """CREATE TABLE IF NOT EXISTS sources (run_id VARCHAR, source VARCHAR, path VARCHAR, fingerprint VARCHAR,
           row_count BIGINT, columns_used VARCHAR)""",
    """CREATE TABLE IF NOT EXISTS changes (run_id VARCHAR, request VARCHAR, changed_at TIMESTAMP, kind VARCHAR,
           rows_changed BIGINT, cells_changed BIGINT, model_updated BOOLEAN)""",
    """CREATE TABLE IF NOT EXISTS fingerprints (path VARCHAR, size BIGINT, mtime_ns BIGINT, fingerprint VARCHAR)""",
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


def runs_reading(connection, fingerprint: str, column: Optional[str] = None) -> List[str]:
    """Runs that read a source with this content (and used ``column`` of it, if given)."""
    rows = connection.execute("SELECT DISTINCT run_id, columns_used FROM sources WHERE fingerprint = ?",
                              [fingerprint]).fetchall()
    return sorted(run for run, used in rows if column is None or column in json.loads(used))


def fingerprint(connection, path: str) -> str:
    """sha256 of the file's content, cached by (path, size, modification time)."""
    real = os.path.realpath(path)
    status = os.stat(real)
    cached = connection.execute("SELECT fingerprint FROM fingerprints WHERE path = ? AND size = ? AND mtime_ns = ?",
                                [real, status.st_size, status.st_mtime_ns]).fetchone()
    if cached:
        return cached[0]
    digest = file_sha256(real)
    connection.execute("DELETE FROM fingerprints WHERE path = ?", [real])
    connection.execute("INSERT INTO fingerprints VALUES (?, ?, ?, ?)", [real, status.st_size, status.st_mtime_ns, digest])
    return digest


def file_sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
