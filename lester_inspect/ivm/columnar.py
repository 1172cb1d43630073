"""Artifact files whose cells can be scrubbed in place: work proportional to the cells changed.

A relational artifact is a folder with one set of files per column: numbers as a
``.npy`` array; text as UTF-8 bytes (``.bytes``) with row offsets (``.offsets.npy``)
and a missing-value mask. A feature matrix is a dense ``.npy`` or the three arrays of
a CSR matrix. Removing a value overwrites its bytes with zeros where they lie (positioned
writes at the cell's offset), without rewriting the file.

What was removed is recorded in the folder's ``state.json`` — row positions and
column names only, never values — written atomically *before* the bytes are
overwritten, and applied whenever the artifact is read. So an artifact is always in
its old or its new state, even if the scrubbing is interrupted, and finishing the
scrub again is idempotent.
"""
from __future__ import annotations

import os
from typing import Dict, Iterable, List, Sequence, Tuple

import numpy as np
import pandas as pd
import scipy.sparse as sp

from lester_inspect.ivm.files import (read_json, write_array, write_atomically, write_json, zero_array_entries,
                                      zero_spans)

STATE = "state.json"


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else f"%{ord(c):02x}" for c in str(name))


# -- relational artifacts ---------------------------------------------------------------------------

def write_frame(folder: str, frame: pd.DataFrame) -> Dict:
    os.makedirs(folder, exist_ok=True)
    columns = []
    for position, name in enumerate(frame.columns):
        series = frame.iloc[:, position]
        stem = f"{position}_{_safe(name)}"
        base = os.path.join(folder, stem)
        if pd.api.types.is_bool_dtype(series) or pd.api.types.is_numeric_dtype(series):
            values = series.to_numpy(dtype=np.float64 if series.hasnans else None)
            write_array(base + ".npy", values)
            columns.append({"name": str(name), "kind": "number", "dtype": str(series.dtype), "file": stem})
        else:
            missing = series.isna().to_numpy()
            encoded = [b"" if m else str(v).encode("utf-8") for v, m in zip(series.to_numpy(dtype=object), missing)]
            offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
            np.cumsum([len(e) for e in encoded], out=offsets[1:])
            write_atomically(base + ".bytes", b"".join(encoded))
            write_array(base + ".offsets.npy", offsets)
            write_array(base + ".missing.npy", missing)
            columns.append({"name": str(name), "kind": "text", "dtype": str(series.dtype), "file": stem})
    layout = {"rows": len(frame), "columns": columns}
    write_json(os.path.join(folder, "layout.json"), layout)
    return layout


def read_frame(folder: str) -> pd.DataFrame:
    layout, state = read_json(os.path.join(folder, "layout.json")), read_state(folder)
    data = {}
    for column in layout["columns"]:
        base = os.path.join(folder, column["file"])
        nulled = np.asarray(state["nulled"].get(column["name"], []), dtype=np.int64)
        if column["kind"] == "number":
            values = np.load(base + ".npy")
            series = pd.Series(values)
            if len(nulled):
                series = series.astype("float64") if series.dtype.kind in "iub" else series
                series.iloc[nulled] = np.nan
        else:
            offsets = np.load(base + ".offsets.npy")
            missing = np.load(base + ".missing.npy").copy()
            missing[nulled] = True
            with open(base + ".bytes", "rb") as handle:
                blob = handle.read()
            series = pd.Series([None if missing[i] else blob[offsets[i]:offsets[i + 1]].decode("utf-8")
                                for i in range(layout["rows"])], dtype="str")
        data[column["name"]] = series
    frame = pd.DataFrame(data)
    if state["deleted_rows"]:
        frame = frame.drop(index=state["deleted_rows"]).reset_index(drop=True)
    return frame


def scrub_cells(folder: str, column_names: Iterable[str], rows: Sequence[int]) -> int:
    """Overwrite the given cells where they lie: text bytes with zeros, numbers with 0."""
    layout = read_json(os.path.join(folder, "layout.json"))
    rows = np.asarray(sorted(set(int(r) for r in rows)), dtype=np.int64)
    wanted, scrubbed = set(column_names), 0
    for column in layout["columns"]:
        if column["name"] not in wanted or not len(rows):
            continue
        base = os.path.join(folder, column["file"])
        if column["kind"] == "number":
            zero_array_entries(base + ".npy", rows)
        else:
            offsets = np.load(base + ".offsets.npy", mmap_mode="r")
            zero_spans(base + ".bytes", offsets[rows], offsets[rows + 1] - offsets[rows])
        scrubbed += len(rows)
    return scrubbed


def frame_columns(folder: str) -> List[str]:
    return [c["name"] for c in read_json(os.path.join(folder, "layout.json"))["columns"]]


# -- feature matrices ----------------------------------------------------------------------------------

def write_matrix(folder: str, matrix) -> Dict:
    os.makedirs(folder, exist_ok=True)
    if sp.issparse(matrix):
        csr = sp.csr_matrix(matrix)
        csr.sort_indices()
        for part in ("data", "indices", "indptr"):
            write_array(os.path.join(folder, f"{part}.npy"), getattr(csr, part))
        layout = {"format": "csr", "shape": list(csr.shape)}
    else:
        dense = np.asarray(matrix.to_numpy() if hasattr(matrix, "to_numpy") else matrix)
        dense = dense.reshape(len(dense), -1) if dense.ndim == 1 else dense
        write_array(os.path.join(folder, "dense.npy"), dense)
        layout = {"format": "dense", "shape": list(dense.shape)}
    write_json(os.path.join(folder, "layout.json"), layout)
    return layout


def read_matrix(folder: str, drop_deleted: bool = True):
    layout, state = read_json(os.path.join(folder, "layout.json")), read_state(folder)
    if layout["format"] == "csr":
        parts = [np.load(os.path.join(folder, f"{p}.npy")) for p in ("data", "indices", "indptr")]
        matrix = sp.csr_matrix(tuple(parts), shape=tuple(layout["shape"]))
    else:
        matrix = np.load(os.path.join(folder, "dense.npy"))
    for rows, ranges in state["zeroed"]:
        zero_entries(matrix, np.asarray(rows), ranges)
    if drop_deleted and state["deleted_rows"]:
        keep = np.setdiff1d(np.arange(matrix.shape[0]), state["deleted_rows"])
        matrix = matrix[keep]
    return matrix


def matrix_rows(folder: str, rows: Sequence[int]) -> np.ndarray:
    """The given rows as stored (without this change applied), dense: for the model update."""
    layout = read_json(os.path.join(folder, "layout.json"))
    rows = np.asarray(rows, dtype=np.int64)
    if layout["format"] == "csr":
        indptr = np.load(os.path.join(folder, "indptr.npy"), mmap_mode="r")
        data = np.load(os.path.join(folder, "data.npy"), mmap_mode="r")
        indices = np.load(os.path.join(folder, "indices.npy"), mmap_mode="r")
        dense = np.zeros((len(rows), layout["shape"][1]))
        for out, row in enumerate(rows):
            start, stop = indptr[row], indptr[row + 1]
            dense[out, indices[start:stop]] = data[start:stop]
    else:
        dense = np.array(np.load(os.path.join(folder, "dense.npy"), mmap_mode="r")[rows], dtype=np.float64)
    state = read_state(folder)
    for zeroed_rows, ranges in state["zeroed"]:
        hit = np.isin(rows, zeroed_rows)
        for start, stop in ranges:
            dense[np.ix_(hit, np.arange(start, stop))] = 0
    return dense


def scrub_matrix(folder: str, rows: Sequence[int], ranges: Sequence[Tuple[int, int]]) -> int:
    """Zero the entries of ``rows`` in the column ``ranges`` in place; the count of entries zeroed."""
    layout = read_json(os.path.join(folder, "layout.json"))
    rows = np.asarray(sorted(set(int(r) for r in rows)), dtype=np.int64)
    if layout["format"] == "csr":
        indptr = np.load(os.path.join(folder, "indptr.npy"), mmap_mode="r")
        indices = np.load(os.path.join(folder, "indices.npy"), mmap_mode="r")
        positions = []
        for row in rows:
            start, stop = indptr[row], indptr[row + 1]
            columns = indices[start:stop]
            hit = np.zeros(len(columns), dtype=bool)
            for low, high in ranges:
                hit |= (columns >= low) & (columns < high)
            positions.append(start + np.flatnonzero(hit))
        positions = np.concatenate(positions) if positions else np.zeros(0, dtype=np.int64)
        zero_array_entries(os.path.join(folder, "data.npy"), positions)
        return len(positions)
    width = layout["shape"][1]
    starts = np.asarray([row * width + low for row in rows for low, _ in ranges], dtype=np.int64)
    lengths = np.asarray([high - low for _ in rows for low, high in ranges], dtype=np.int64)
    zero_array_entries(os.path.join(folder, "dense.npy"), starts, lengths)
    return len(rows) * sum(high - low for low, high in ranges)


def zero_entries(matrix, rows: np.ndarray, ranges) -> None:
    """Zero ``matrix[rows, range]`` for each column range, dense or CSR, in memory."""
    if sp.issparse(matrix):
        for row in rows:
            start, stop = matrix.indptr[row], matrix.indptr[row + 1]
            columns = matrix.indices[start:stop]
            for low, high in ranges:
                matrix.data[start:stop][(columns >= low) & (columns < high)] = 0
    else:
        for low, high in ranges:
            matrix[np.ix_(rows, np.arange(low, high))] = 0


# -- the state of an artifact (what was removed; never values) ---------------------------------------

def read_state(folder: str) -> Dict:
    path = os.path.join(folder, STATE)
    state = read_json(path) if os.path.exists(path) else {}
    return {"deleted_rows": state.get("deleted_rows", []), "nulled": state.get("nulled", {}),
            "zeroed": state.get("zeroed", []), "requests": state.get("requests", [])}


def record_change(folder: str, request: str, deleted_rows=(), nulled: Dict[str, Sequence[int]] = None,
                  zeroed: Tuple[Sequence[int], Sequence[Tuple[int, int]]] = None) -> bool:
    """Add a change to the artifact's state atomically; False when ``request`` was recorded already."""
    state = read_state(folder)
    if request in state["requests"]:
        return False
    state["requests"].append(request)
    state["deleted_rows"] = sorted(set(state["deleted_rows"]) | {int(r) for r in deleted_rows})
    for column, rows in (nulled or {}).items():
        state["nulled"][column] = sorted(set(state["nulled"].get(column, [])) | {int(r) for r in rows})
    if zeroed is not None and len(zeroed[0]):
        state["zeroed"].append([[int(r) for r in zeroed[0]], [[int(a), int(b)] for a, b in zeroed[1]]])
    write_json(os.path.join(folder, STATE), state)
    return True


# -- maintained columns (aggregates, re-derived columns) ----------------------------------------------

def read_column(folder: str, name: str) -> pd.Series:
    """One column with every stored row (deleted rows kept in place, nulled cells missing)."""
    layout, state = read_json(os.path.join(folder, "layout.json")), read_state(folder)
    column = next((c for c in layout["columns"] if c["name"] == name), None)
    if column is None:
        raise KeyError(f"{folder}: no column {name!r}")
    base = os.path.join(folder, column["file"])
    nulled = np.asarray(state["nulled"].get(name, []), dtype=np.int64)
    if column["kind"] == "number":
        series = pd.Series(np.load(base + ".npy"))
        if len(nulled):
            series = series.astype("float64") if series.dtype.kind in "iub" else series
            series.iloc[nulled] = np.nan
        return series
    offsets, missing = np.load(base + ".offsets.npy"), np.load(base + ".missing.npy").copy()
    missing[nulled] = True
    with open(base + ".bytes", "rb") as handle:
        blob = handle.read()
    return pd.Series([None if missing[i] else blob[offsets[i]:offsets[i + 1]].decode("utf-8")
                      for i in range(layout["rows"])], dtype="str")


def rewrite_column(folder: str, name: str, values) -> None:
    """Replace a number column's stored values (every row) by ``values``, atomically."""
    layout = read_json(os.path.join(folder, "layout.json"))
    column = next((c for c in layout["columns"] if c["name"] == name), None)
    if column is None or column["kind"] != "number":
        raise KeyError(f"{folder}: no number column {name!r}")
    path = os.path.join(folder, column["file"] + ".npy")
    stored = np.load(path, mmap_mode="r")
    values = np.asarray(values)
    if values.shape != stored.shape:
        raise ValueError(f"{path}: {values.shape} values for a column of shape {stored.shape}")
    write_array(path, values.astype(stored.dtype))
