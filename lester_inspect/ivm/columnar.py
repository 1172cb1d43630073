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
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

import numpy as np
import pandas as pd
import scipy.sparse as sp

from lester_inspect.ivm import featuriser
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


def update_frame(folder: str, frame: pd.DataFrame) -> None:
    """Store ``frame`` over the one in ``folder`` (same columns): number columns of an unchanged dtype get
    only their changed entries written in place; anything else rewrites the frame.

    Idempotent, not atomic: callers recompute the same frame on a rerun and complete the write.
    """
    from lester_inspect.ivm.derivation import changed_positions
    from lester_inspect.ivm.files import write_array_entries

    layout = read_json(os.path.join(folder, "layout.json"))
    stored = {c["name"]: c for c in layout["columns"]}
    writes = []
    for position, name in enumerate(frame.columns):
        series, column = frame.iloc[:, position], stored.get(str(name))
        path = os.path.join(folder, column["file"] + ".npy") if column else None
        if column is None or layout["rows"] != len(frame) or str(series.dtype) != column["dtype"]:
            write_frame(folder, frame)
            return
        if column["kind"] == "text":
            if len(changed_positions(read_column(folder, column["name"]).to_numpy(), series.to_numpy())):
                write_frame(folder, frame)
                return
            continue
        old, new = np.load(path, mmap_mode="r"), series.to_numpy()
        rows = changed_positions(np.asarray(old), new)
        if len(rows):
            writes.append((path, rows, new[rows]))
    for path, rows, values in writes:
        write_array_entries(path, rows, values)


def read_frame(folder: str) -> pd.DataFrame:
    layout, state = read_json(os.path.join(folder, "layout.json")), read_state(folder)
    replaced = read_replacements(folder)["values"]
    frame = pd.DataFrame({column["name"]: _read_column(folder, layout, column, state, replaced.get(column["name"]))
                          for column in layout["columns"]})
    if state["deleted_rows"]:
        frame = frame.drop(index=state["deleted_rows"]).reset_index(drop=True)
    return frame


def read_column(folder: str, name: str, deleted_as_null: bool = True) -> pd.Series:
    """One column with removed cells and deleted rows null (rows kept, so that they match the stored lineage).

    ``deleted_as_null`` False: deleted rows keep their scrubbed bytes (0), for callers that skip them.
    """
    layout, state = read_json(os.path.join(folder, "layout.json")), read_state(folder)
    [column] = [c for c in layout["columns"] if c["name"] == name]
    series = _read_column(folder, layout, column, state, read_replacements(folder)["values"].get(name))
    if state["deleted_rows"] and deleted_as_null:
        series = series.astype("float64") if series.dtype.kind in "iub" else series
        series.iloc[state["deleted_rows"]] = None
    return series


def _read_column(folder: str, layout: Dict, column: Dict, state: Dict, replaced: Optional[Dict]) -> pd.Series:
    """A column's stored values with its nulled cells missing and its rectified cells' new values."""
    base = os.path.join(folder, column["file"])
    nulled = np.asarray(state["nulled"].get(column["name"], []), dtype=np.int64)
    if column["kind"] == "number":
        series = pd.Series(np.load(base + ".npy"), copy=False)  # freshly read: no second copy
        if len(nulled):
            series = series.astype("float64") if series.dtype.kind in "iub" else series
            series.iloc[nulled] = np.nan
        return _with_replacements(series, replaced, nulled)
    offsets = np.load(base + ".offsets.npy")
    missing = np.load(base + ".missing.npy").copy()
    missing[nulled] = True
    with open(base + ".bytes", "rb") as handle:
        blob = handle.read()
    return _with_replacements(pd.Series([None if missing[i] else blob[offsets[i]:offsets[i + 1]].decode("utf-8")
                                         for i in range(layout["rows"])], dtype="str"), replaced, nulled)


def scrub_cells(folder: str, column_names: Iterable[str], rows: Sequence[int]) -> int:
    """Overwrite the given cells where they lie (text bytes with zeros, numbers with 0), rectified values too."""
    column_names = list(column_names)
    replaced = read_replacements(folder)
    dropped = False
    for column in column_names:
        cells = replaced["values"].get(column, {})
        for row in rows:
            dropped |= cells.pop(str(int(row)), None) is not None
    if dropped:
        write_json(os.path.join(folder, REPLACED), replaced)
    return _scrub_base(folder, column_names, rows)


def _scrub_base(folder: str, column_names: Iterable[str], rows: Sequence[int]) -> int:
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


def read_matrix(folder: str, drop_deleted: bool = True, narrow: bool = True):
    """The matrix as it is now; ``narrow`` False keeps the columns of removed categories and vocabulary entries
    (zero), so that column ranges recorded at capture still apply."""
    layout, state = read_json(os.path.join(folder, "layout.json")), read_state(folder)
    if layout["format"] == "csr":
        parts = [np.load(os.path.join(folder, f"{p}.npy")) for p in ("data", "indices", "indptr")]
        matrix = sp.csr_matrix(tuple(parts), shape=tuple(layout["shape"]))
    else:
        matrix = np.load(os.path.join(folder, "dense.npy"))
    matrix = _apply_row_replacements(folder, matrix)
    matrix = featuriser.fill(folder, matrix)
    for rows, ranges in state["zeroed"]:
        zero_entries(matrix, np.asarray(rows), ranges)
    if drop_deleted and state["deleted_rows"]:
        keep = np.setdiff1d(np.arange(matrix.shape[0]), state["deleted_rows"])
        matrix = matrix[keep]
    return narrowed(matrix, state["dropped_columns"]) if narrow else matrix


def narrowed(matrix, dropped: Sequence[int]):
    """``matrix`` (rows of the captured width) without the ``dropped`` columns."""
    if not len(dropped):
        return matrix
    return matrix[:, np.setdiff1d(np.arange(matrix.shape[1]), np.asarray(dropped, dtype=np.int64))]


def narrowed_provenance(provenance: Dict[str, List], dropped: Sequence[int]) -> Dict[str, List]:
    """Column ranges recorded at capture (``{column: [[low, high], ...]}``) in the matrix without ``dropped``."""
    dropped = np.asarray(sorted(dropped), dtype=np.int64)
    moved = {column: [[low - int(np.searchsorted(dropped, low)), high - int(np.searchsorted(dropped, high))]
                      for low, high in ranges] for column, ranges in provenance.items()}
    return {column: [r for r in ranges if r[1] > r[0]] for column, ranges in moved.items()}


def widened(matrix: np.ndarray, dropped: Sequence[int], width: int) -> np.ndarray:
    """Dense rows without the ``dropped`` columns back at the captured ``width``, zero there."""
    if not len(dropped):
        return matrix
    wide = np.zeros((matrix.shape[0], width), dtype=np.float64)
    wide[:, np.setdiff1d(np.arange(width), np.asarray(dropped, dtype=np.int64))] = matrix
    return wide


def scrub_columns(folder: str, columns: Sequence[int]) -> int:
    """Zero every stored entry of the given columns in place (idempotent); the count of entries zeroed."""
    layout = read_json(os.path.join(folder, "layout.json"))
    columns = np.asarray(sorted(set(int(c) for c in columns)), dtype=np.int64)
    if not len(columns):
        return 0
    featuriser.scrub_block_columns(folder, columns)
    replaced = read_row_replacements(folder)
    if replaced is not None:
        values = sp.csr_matrix(replaced["values"])
        hit = np.isin(values.indices, columns) & (values.data != 0)
        if hit.any():
            values.data[hit] = 0
            values.eliminate_zeros()
            _write_row_replacements(folder, replaced | {"values": values})
    if layout["format"] == "csr":
        indices = np.load(os.path.join(folder, "indices.npy"), mmap_mode="r")
        data = np.load(os.path.join(folder, "data.npy"), mmap_mode="r")
        positions = np.flatnonzero(np.isin(indices, columns) & (data != 0))
        zero_array_entries(os.path.join(folder, "data.npy"), positions)
        return len(positions)
    dense = np.load(os.path.join(folder, "dense.npy"), mmap_mode="r")
    rows, hit = np.nonzero(dense[:, columns])
    zero_array_entries(os.path.join(folder, "dense.npy"), rows * layout["shape"][1] + columns[hit])
    return len(rows)


def matrix_rows(folder: str, rows: Sequence[int]) -> np.ndarray:
    """The given rows as stored (without this change applied), dense: for the model update."""
    layout = read_json(os.path.join(folder, "layout.json"))
    rows = np.asarray(rows, dtype=np.int64)
    if layout["format"] == "csr":
        indptr = np.load(os.path.join(folder, "indptr.npy"), mmap_mode="r")
        starts = np.asarray(indptr[rows], dtype=np.int64)
        counts = np.asarray(indptr[rows + 1], dtype=np.int64) - starts
        # The stored positions of the rows' entries, row after row, without a Python loop over rows.
        positions = np.repeat(starts - (np.cumsum(counts) - counts), counts) + np.arange(int(counts.sum()))
        dense = np.zeros((len(rows), layout["shape"][1]))
        dense[np.repeat(np.arange(len(rows)), counts),
              np.load(os.path.join(folder, "indices.npy"), mmap_mode="r")[positions]] = \
            np.load(os.path.join(folder, "data.npy"), mmap_mode="r")[positions]
    else:
        dense = np.array(np.load(os.path.join(folder, "dense.npy"), mmap_mode="r")[rows], dtype=np.float64)
    replaced = read_row_replacements(folder)
    if replaced is not None:
        hit = np.flatnonzero(np.isin(rows, replaced["rows"]))
        if len(hit):
            dense[hit] = replaced["values"][np.searchsorted(replaced["rows"], rows[hit])].toarray()
    dense = featuriser.fill(folder, dense, rows)
    state = read_state(folder)
    for zeroed_rows, ranges in state["zeroed"]:
        hit = np.isin(rows, zeroed_rows)
        for start, stop in ranges:
            dense[np.ix_(hit, np.arange(start, stop))] = 0
    return dense


def scrub_matrix(folder: str, rows: Sequence[int], ranges: Sequence[Tuple[int, int]]) -> int:
    """Zero the entries of ``rows`` in the column ``ranges`` in place (rectified rows too); the count zeroed."""
    replaced = read_row_replacements(folder)
    if replaced is not None and np.isin(replaced["rows"], rows).any():
        values = replaced["values"].tolil()
        for position in np.flatnonzero(np.isin(replaced["rows"], rows)):
            for low, high in ranges:
                values[position, low:high] = 0
        replaced["values"] = sp.csr_matrix(values)
        replaced["values"].eliminate_zeros()
        _write_row_replacements(folder, replaced)
    return _scrub_matrix_base(folder, rows, ranges)


def _scrub_matrix_base(folder: str, rows: Sequence[int], ranges: Sequence[Tuple[int, int]]) -> int:
    featuriser.scrub_blocks(folder, rows, ranges)
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


ROWS_REPLACED = "replaced.npz"


def read_row_replacements(folder: str) -> Optional[Dict]:
    """Rectified rows of a feature matrix: ``{"rows", "values" (CSR, one row each), "requests"}``."""
    path = os.path.join(folder, ROWS_REPLACED)
    if not os.path.exists(path):
        return None
    with np.load(path, allow_pickle=False) as stored:
        values = sp.csr_matrix((stored["data"], stored["indices"], stored["indptr"]), shape=tuple(stored["shape"]))
        return {"rows": stored["rows"], "values": values, "requests": stored["requests"].tolist()}


def _write_row_replacements(folder: str, replaced: Dict) -> None:
    import io

    values = sp.csr_matrix(replaced["values"])
    buffer = io.BytesIO()
    np.savez(buffer, rows=np.asarray(replaced["rows"], dtype=np.int64), data=values.data, indices=values.indices,
             indptr=values.indptr, shape=np.asarray(values.shape), requests=np.asarray(replaced["requests"], dtype=str))
    write_atomically(os.path.join(folder, ROWS_REPLACED), buffer.getvalue())


def replace_matrix_rows(folder: str, request: str, rows: Sequence[int], values, ranges=None) -> int:
    """Give matrix rows new values: recorded atomically with the request, then the old rows zeroed in place
    (only in the column ``ranges`` that change, if given).

    Returns the rows changed; 0 when ``request`` was applied already.
    """
    layout = read_json(os.path.join(folder, "layout.json"))
    replaced = read_row_replacements(folder) or {"rows": np.zeros(0, np.int64),
                                                  "values": sp.csr_matrix((0, layout["shape"][1])), "requests": []}
    if request in replaced["requests"]:
        return 0
    rows = np.asarray(rows, dtype=np.int64)
    keep = ~np.isin(replaced["rows"], rows)
    merged_rows = np.concatenate([replaced["rows"][keep], rows])
    merged = sp.vstack([replaced["values"][np.flatnonzero(keep)], sp.csr_matrix(values)]).tocsr()
    order = np.argsort(merged_rows, kind="stable")
    _write_row_replacements(folder, {"rows": merged_rows[order], "values": merged[order],
                                     "requests": replaced["requests"] + [request]})
    _scrub_matrix_base(folder, rows, ranges or [(0, layout["shape"][1])])
    return len(rows)


def _apply_row_replacements(folder: str, matrix):
    replaced = read_row_replacements(folder)
    if replaced is None or not len(replaced["rows"]):
        return matrix
    return with_rows(matrix, replaced["rows"], replaced["values"])


def with_rows(matrix, rows: np.ndarray, values):
    """``matrix`` with ``rows`` replaced by ``values`` (dense in place; CSR as a new matrix)."""
    if sp.issparse(matrix):
        n = matrix.shape[0]
        pick = np.arange(n)
        pick[np.asarray(rows, dtype=np.int64)] = n + np.arange(len(rows))
        return sp.vstack([matrix, sp.csr_matrix(values)]).tocsr()[pick]
    matrix[np.asarray(rows, dtype=np.int64)] = values.toarray() if sp.issparse(values) else values
    return matrix


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
            "zeroed": state.get("zeroed", []), "requests": state.get("requests", []),
            "statistics": state.get("statistics", {}), "dropped_columns": state.get("dropped_columns", [])}


def record_change(folder: str, request: str, deleted_rows=(), nulled: Dict[str, Sequence[int]] = None,
                  zeroed: Tuple[Sequence[int], Sequence[Tuple[int, int]]] = None, statistics: Dict = None,
                  dropped_columns: Sequence[int] = ()) -> bool:
    """Add a change to the artifact's state atomically; False when ``request`` was recorded already.

    ``statistics``: new statistics of a feature matrix's scalers and imputers (featuriser.py), replacing the
    old; ``dropped_columns``: columns of a feature matrix whose category or vocabulary entry was removed.
    """
    state = read_state(folder)
    if request in state["requests"]:
        return False
    state["requests"].append(request)
    state["statistics"].update(statistics or {})
    state["deleted_rows"] = sorted(set(state["deleted_rows"]) | {int(r) for r in deleted_rows})
    if len(dropped_columns):
        state["dropped_columns"] = sorted(set(state["dropped_columns"]) | {int(c) for c in dropped_columns})
    for column, rows in (nulled or {}).items():
        state["nulled"][column] = sorted(set(state["nulled"].get(column, [])) | {int(r) for r in rows})
    if zeroed is not None and len(zeroed[0]):
        state["zeroed"].append([[int(r) for r in zeroed[0]], [[int(a), int(b)] for a, b in zeroed[1]]])
    write_json(os.path.join(folder, STATE), state)
    return True


# -- cells of maintained and rectified columns ------------------------------------------------------

def read_cells(folder: str, names: Sequence[str], rows: Sequence[int]) -> Dict[str, pd.Series]:
    """The current values of some columns at ``rows`` (reading only those cells)."""
    layout, state = read_json(os.path.join(folder, "layout.json")), read_state(folder)
    replacements = read_replacements(folder)["values"]
    columns = {c["name"]: c for c in layout["columns"]}
    missing = [n for n in names if n not in columns]
    if missing:
        raise KeyError(f"{folder}: no column {', '.join(map(repr, missing))}")
    rows = np.asarray(rows, dtype=np.int64)
    return {name: _cells(folder, columns[name], rows, state, replacements.get(name) or {}) for name in names}


def _cells(folder: str, column: Dict, rows: np.ndarray, state: Dict, replaced: Dict) -> pd.Series:
    base = os.path.join(folder, column["file"])
    nulled = np.isin(rows, state["nulled"].get(column["name"], []))
    if column["kind"] == "number":
        values = pd.Series(np.array(np.load(base + ".npy", mmap_mode="r")[rows]))
        if nulled.any():
            values = values.astype("float64") if values.dtype.kind in "iub" else values
            values[nulled] = np.nan
    else:
        offsets = np.load(base + ".offsets.npy", mmap_mode="r")
        # The rows' byte ranges gathered at once: indexing a memory map row by row cost more than the reads.
        starts, stops = offsets[rows].tolist(), offsets[rows + 1].tolist()
        missing = (np.load(base + ".missing.npy", mmap_mode="r")[rows] | nulled).tolist()
        with open(base + ".bytes", "rb") as handle:
            descriptor = handle.fileno()
            texts = [None if gone else os.pread(descriptor, stop - start, start).decode("utf-8")
                     for start, stop, gone in zip(starts, stops, missing)]
        values = pd.Series(texts, dtype="str")
    for position, row in enumerate(rows.tolist()):
        if str(row) in replaced and not nulled[position]:
            values.iloc[position] = replaced[str(row)]
    return values


def column_dtypes(folder: str) -> Dict[str, str]:
    return {c["name"]: c["dtype"] for c in read_json(os.path.join(folder, "layout.json"))["columns"]}


# -- rectified cells: new values kept beside the scrubbed old ones --------------------------------------

REPLACED = "replaced.json"


def read_replacements(folder: str) -> Dict:
    """``{"requests": [...], "values": {column: {row: new value}}}`` of the folder's rectified cells."""
    path = os.path.join(folder, REPLACED)
    return read_json(path) if os.path.exists(path) else {"requests": [], "values": {}}


def replace_cells(folder: str, request: str, values: Dict[str, Dict[int, object]]) -> int:
    """Give cells new values: recorded atomically with the request first, then the old bytes scrubbed.

    Returns the cells changed; 0 when ``request`` was applied already.
    """
    replaced = read_replacements(folder)
    if request in replaced["requests"]:
        return 0
    replaced["requests"].append(request)
    for column, cells in values.items():
        replaced["values"].setdefault(column, {}).update({str(int(r)): _plain(v) for r, v in cells.items()})
    write_json(os.path.join(folder, REPLACED), replaced)
    for column, cells in values.items():
        _scrub_base(folder, [column], sorted(int(r) for r in cells))
    return sum(len(cells) for cells in values.values())


def _plain(value):
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    return value.item() if isinstance(value, np.generic) else value


def _with_replacements(series: pd.Series, replaced: Optional[Dict], nulled) -> pd.Series:
    if not replaced:
        return series
    rows = np.asarray([int(r) for r in replaced], dtype=np.int64)
    keep = ~np.isin(rows, nulled)
    values = [v for v, k in zip(replaced.values(), keep) if k]
    if series.dtype.kind in "iub" and any(v is None for v in values):
        series = series.astype("float64")
    series = series.copy()
    series.iloc[rows[keep]] = values
    return series

