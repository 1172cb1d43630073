"""Search every byte of an artifact store for values that must not be in it.

The store writes text as UTF-8 (text columns, JSON, pickled strings) and NumPy text arrays
as UTF-32; other tools may write UTF-16. So each value is searched, as given, in lower and
in upper case, in UTF-8, UTF-16 LE/BE and UTF-32 LE/BE, in every file (pickles, ``.npy``,
the DuckDB catalog and anything else, byte-wise); a whole number of nine or more digits
(a card number without spaces, say) also as a little-endian int64 and float64.
Compressed content is not decompressed: the store writes none, and ``audit`` says how many
files it searched.
"""
from __future__ import annotations

import dataclasses
import os
import re
from typing import Dict, Iterable, List, Optional, Tuple

import numpy as np

ENCODINGS = ("utf-8", "utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be")
_BLOCK = 1 << 26


@dataclasses.dataclass(frozen=True)
class Finding:
    path: str       # relative to the store
    artifact: str   # what the file is, in words
    value: str
    encoding: str


def encodings_of(value: str) -> Dict[bytes, str]:
    """The byte strings that spell ``value`` in the store, each with the name of its encoding."""
    spelled: Dict[bytes, str] = {}
    for variant in dict.fromkeys((value, value.lower(), value.upper())):
        for encoding in ENCODINGS:
            spelled.setdefault(variant.encode(encoding), encoding)
    digits = value.strip()
    if re.fullmatch(r"-?\d{9,18}", digits):
        spelled.setdefault(np.int64(int(digits)).tobytes(), "int64")
        spelled.setdefault(np.float64(int(digits)).tobytes(), "float64")
    return spelled


def find_values(store: str, values: Iterable[str]) -> Tuple[List[Finding], int]:
    """Every (file, value, encoding) where a value occurs in the store, and the number of files searched."""
    needles: Dict[bytes, Tuple[str, str]] = {}
    for value in values:
        if value:
            for spelled, encoding in encodings_of(value).items():
                needles.setdefault(spelled, (value, encoding))
    if not needles:
        return [], 0
    search = _Search(needles)
    findings, searched = set(), 0
    for folder, _, files in os.walk(store):
        for name in sorted(files):
            path = os.path.join(folder, name)
            searched += 1
            relative = os.path.relpath(path, store)
            for spelled in search.matches(path):
                value, encoding = needles[spelled]
                findings.add(Finding(relative, describe(store, relative), value, encoding))
    return sorted(findings, key=lambda f: (f.path, f.value, f.encoding)), searched


class _Search:
    """The needles of a file, found by their cores without leading and trailing NUL bytes.

    A UTF-16/32 big-endian spelling begins with NUL, of which binary arrays are full: a regular
    expression of the whole needles tries every needle at every NUL (1.7 s for a 2.7 MB store and
    30 values, 2 ms by the cores). Each core found is checked with the NULs around it, and with the
    needles whose cores it begins with, at every position (overlapping).
    """

    def __init__(self, needles):
        self.by_core: Dict[bytes, List[Tuple[bytes, int]]] = {}
        for needle in needles:
            core = needle.strip(b"\0") or needle
            self.by_core.setdefault(core, []).append((needle, len(needle) - len(needle.lstrip(b"\0"))))
        cores = sorted(self.by_core, key=len, reverse=True)
        self.within = {core: [c for c in cores if core.startswith(c)] for core in cores}
        self.pattern = re.compile(b"(?=(" + b"|".join(re.escape(c) for c in cores) + b"))")
        self.overlap = max(map(len, needles)) - 1

    def matches(self, path: str):
        found = set()
        with open(path, "rb") as handle:
            tail = b""
            while True:
                block = handle.read(_BLOCK)
                if not block:
                    return found
                chunk = tail + block
                for match in self.pattern.finditer(chunk):
                    start = match.start()
                    for core in self.within[match.group(1)]:
                        for needle, lead in self.by_core[core]:
                            if start >= lead and chunk.startswith(needle, start - lead):
                                found.add(needle)
                tail = chunk[-self.overlap:] if self.overlap else b""


def describe(store: str, relative: str) -> str:
    """What a file of the store is: ``run R train data, column mail_subject``, ``key index``, ..."""
    parts = relative.split(os.sep)
    if parts[0] == "runs" and len(parts) >= 3:
        run, rest = parts[1], parts[2:]
        if rest == ["model.pkl"]:
            return f"run {run} model"
        if len(rest) >= 3 and rest[1] == "data":
            column = _column_of(os.path.join(store, *parts[:-1]), rest[-1])
            return f"run {run} {rest[0]} data" + (f", column {column}" if column else "")
        if len(rest) >= 2:
            what = {"X": "feature matrix", "lineage": "row provenance", "y.npy": "labels",
                    "predictions.npy": "predictions"}.get(rest[1], rest[-1])
            return f"run {run} {rest[0]} {what}"
        return f"run {run} {rest[-1]}"
    return {"keys": "key index", "changes.jsonl": "change log", "catalog.duckdb": "catalog",
            "lookup.json": "lookup index"}.get(parts[0], parts[0])


def _column_of(folder: str, file_name: str) -> Optional[str]:
    import json

    try:
        with open(os.path.join(folder, "layout.json"), encoding="utf-8") as handle:
            layout = json.load(handle)
    except (OSError, ValueError):
        return None
    return next((c["name"] for c in layout.get("columns", []) if file_name.startswith(f"{c.get('file')}.")), None)
