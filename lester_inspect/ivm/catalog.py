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
* ``changes.jsonl`` logs what every execution of a ``forget`` did in each run (request hash,
  kind, status, counts; never values), one appended line each, hash-chained.

Callers hold the store lock.
"""
from __future__ import annotations

import datetime
import hashlib
import json
import os
import warnings
from typing import Dict, List, Optional

from lester_inspect.ivm.files import read_json, write_json

LOOKUP = "lookup.json"
CHANGES = "changes.jsonl"
# A change log line: when, then what forget passes to log_change.
CHANGE_FIELDS = ("changed_at", "run_id", "request", "kind", "status", "rows_changed", "cells_changed",
                 "model_updated")

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
    """``lookup.json`` of a store, read once per operation; ``save`` writes it back if it changed.

    It is an index, not the record: it carries the run ids and the newest modification time of
    the run manifests it was built from, and a digest of its own content. When the manifests
    on disk disagree (a capture it missed, a run removed) or the content was edited by hand,
    it is rebuilt from the manifests: one directory listing and one ``stat`` per run.
    """

    def __init__(self, store: str):
        self.path = os.path.join(store, LOOKUP)
        self.store = store
        self.runs_folder = os.path.join(store, "runs")
        self.changed = False
        try:
            content = read_json(self.path)
            self._take(content)
            problem = self._disagreement(content)
            if problem is None:
                return
            warnings.warn(f"{self.path} {problem}; rebuilding it from the runs' manifests")
        except FileNotFoundError:
            pass
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            warnings.warn(f"{self.path} is unreadable ({error!r}); rebuilding it from the runs' manifests")
        self._take({})
        for manifest in self._manifests():
            self.add_run(read_json(manifest))
        self.changed = True

    def _take(self, content: Dict) -> None:
        self.fingerprints = content.get("fingerprints", {})
        self.readers = content.get("readers", {})
        self.sizes = content.get("sizes", {})
        self.paths = content.get("paths", {})      # a source's path from the store -> fingerprints captured from it
        self.columns = content.get("columns", {})  # fingerprint -> the source's columns
        for name in ("fingerprints", "readers", "sizes", "paths", "columns"):
            if not isinstance(getattr(self, name), dict):
                raise TypeError(f"{name} is not a mapping")

    def _manifests(self) -> List[str]:
        if not os.path.isdir(self.runs_folder):
            return []
        return sorted(os.path.join(entry.path, "manifest.json") for entry in os.scandir(self.runs_folder)
                      if os.path.exists(os.path.join(entry.path, "manifest.json")))

    def _summary(self) -> Dict:
        """The run ids and newest modification time of the manifests on disk."""
        manifests = self._manifests()
        newest = max((os.stat(m).st_mtime_ns for m in manifests), default=0)
        return {"runs": [os.path.basename(os.path.dirname(m)) for m in manifests], "newest": newest}

    def _disagreement(self, content: Dict) -> Optional[str]:
        if content.get("digest") != _digest(content):
            return "was changed by something other than this store (its digest does not match)"
        on_disk, indexed = self._summary(), content.get("manifests")
        if indexed != on_disk:
            missing = sorted(set(on_disk["runs"]) - set((indexed or {}).get("runs", [])))
            return ("is stale: " + (f"it misses run(s) {', '.join(missing)}" if missing else
                                    "the run manifests changed since it was written"))
        return None

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
            fingerprint = source["fingerprint"]
            runs = self.readers.setdefault(fingerprint, {})
            # "*": provenance is cut below this source, so any of its columns may have reached the artifacts.
            used = set(source["columns_used"]) | ({"*"} if source.get("provenance_cut") else set())
            runs[manifest["run_id"]] = sorted(set(runs.get(manifest["run_id"], [])) | used)
            self.sizes[fingerprint] = max(self.sizes.get(fingerprint, 0), source["rows"])
            if source.get("from_store"):
                known = self.paths.setdefault(source["from_store"], [])
                if fingerprint not in known:
                    known.append(fingerprint)
            if source.get("columns") is not None:
                self.columns[fingerprint] = source["columns"]
        self.changed = True

    def runs_reading(self, fingerprint: str, column: Optional[str] = None) -> List[str]:
        """Runs that read a source with this content (and used ``column`` of it, if given)."""
        return sorted(run for run, used in self.readers.get(fingerprint, {}).items()
                      if column is None or column in used or "*" in used)

    def from_store(self, path: str) -> str:
        """A file's path relative to the store, so that a project folder moved with its store still matches."""
        return os.path.relpath(os.path.realpath(path), os.path.realpath(self.store))

    def captured_from(self, path: str) -> List[str]:
        """The fingerprints of the contents runs captured from this path (whatever it holds now)."""
        return list(self.paths.get(self.from_store(path), []))

    def save(self) -> None:
        if self.changed:
            content = {"fingerprints": self.fingerprints, "readers": self.readers, "sizes": self.sizes,
                       "paths": self.paths, "columns": self.columns, "manifests": self._summary()}
            write_json(self.path, {**content, "digest": _digest(content)})
            self.changed = False


def _digest(content: Dict) -> str:
    body = {key: value for key, value in content.items() if key != "digest"}
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode("utf-8")).hexdigest()


def log_change(store: str, change: Dict) -> str:
    """Append one entry to the change log and sync it; returns the entry's hash.

    The log is a hash chain: every entry carries the hash of its own content and that of the
    entry before it, so that ``check_changes`` finds an edited, removed or inserted line.
    A line cut short by a crash is skipped on reading, and the chain continues from the last
    whole entry.
    """
    path = os.path.join(store, CHANGES)
    with open(path, "a+b") as handle:
        size = handle.tell()
        previous = _last_entry(path, size)
        entry = {"changed_at": datetime.datetime.now().isoformat(timespec="seconds"), **change,
                 "previous": previous["hash"] if previous else GENESIS}
        entry["hash"] = _entry_hash(entry)
        if size and os.pread(handle.fileno(), 1, size - 1) != b"\n":
            handle.write(b"\n")  # end a line a crash cut short, so that it spoils only itself
        handle.write(json.dumps(entry).encode("utf-8") + b"\n")
        handle.flush()
        os.fsync(handle.fileno())
    return entry["hash"]


GENESIS = "0" * 64  # the "previous" of the first entry


def _entry_hash(entry: Dict) -> str:
    body = {key: value for key, value in entry.items() if key != "hash"}
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode("utf-8")).hexdigest()


def _last_entry(path: str, size: int) -> Optional[Dict]:
    """The last whole entry of the log (reading only its tail, unless the tail holds none)."""
    for tail in (1 << 16, size):
        with open(path, "rb") as handle:
            handle.seek(max(0, size - tail))
            lines = handle.read().split(b"\n")
        for line in reversed(lines[1:] if size > tail else lines):
            entry = _parse(line)
            if entry is not None:
                return entry
        if size <= tail:
            return None
    return None


def _parse(line: bytes) -> Optional[Dict]:
    try:
        entry = json.loads(line)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None
    return entry if isinstance(entry, dict) else None


def read_changes(store: str) -> List[Dict]:
    path = os.path.join(store, CHANGES)
    if not os.path.exists(path):
        return []
    with open(path, "rb") as handle:
        return [entry for entry in map(_parse, handle) if entry is not None]


def check_changes(store: str):
    """``(problems, notes)``: every break of the change log's hash chain, naming its line (empty when the
    chain is whole), and the lines skipped as cut short by a crash (the chain runs on past them; a
    whole entry turned into garbage breaks the chain at the next entry)."""
    path = os.path.join(store, CHANGES)
    if not os.path.exists(path):
        return [], []
    problems, notes, previous = [], [], GENESIS
    with open(path, "rb") as handle:
        lines = handle.read().split(b"\n")
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        entry = _parse(line)
        if entry is None:
            notes.append(f"line {number}: not a log entry (cut short by a crash); skipped")
            continue
        if "hash" not in entry or "previous" not in entry:
            problems.append(f"line {number}: has no hash chain fields (edited, or written by an older version)")
        elif entry["hash"] != _entry_hash(entry):
            problems.append(f"line {number}: its content was changed after it was written (hash mismatch)")
        elif entry["previous"] != previous:
            problems.append(f"line {number}: does not follow the entry before it (an entry before it was "
                            "removed, inserted or rewritten)")
        previous = entry.get("hash", previous)
    return problems, notes


def file_sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
