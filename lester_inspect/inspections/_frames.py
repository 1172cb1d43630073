"""What inspections read of an operator's rows (frame, Series, array, sparse matrix, Spark DataFrame).

This is the seam between inspections and engines: data an engine keeps (a Spark
DataFrame) is answered by that engine's module, by a query that returns only the
small result, so that inspections never branch on the engine.
"""
from __future__ import annotations

from typing import Any, Dict, Optional, Sequence

import numpy as np
import pandas as pd
import pyarrow as pa


def _engine(data: Any):
    """The module answering for data an engine keeps, or None for in-memory data."""
    if type(data).__module__.startswith("pyspark.sql") and hasattr(data, "_jdf"):
        from lester_inspect.spark import frames

        return frames
    return None


def kept_by_engine(data: Any) -> bool:
    """Whether ``data``'s rows stay in an engine (never scanned row by row in Python)."""
    return _engine(data) is not None


# pandas objects first: these run several times per operator, and ``DataFrame.shape`` costs a few us.
_PANDAS = (pd.DataFrame, pd.Series)


def has_rows(data: Any) -> bool:
    if isinstance(data, _PANDAS):
        return True
    return _engine(data) is not None or (hasattr(data, "shape") and len(getattr(data, "shape", ())) >= 1)


def first_rows(data: Any, count: Optional[int], columns: Sequence[str]) -> pd.DataFrame:
    """The first ``count`` rows (all for None) as a DataFrame with a 0..n-1 index."""
    if isinstance(data, HeadCopy):
        return data.frame()
    engine = _engine(data)
    if engine is not None:
        return engine.first_rows(data, count)
    rows = slice(None) if count is None else slice(0, count)
    if isinstance(data, pd.DataFrame):
        return data.iloc[rows].reset_index(drop=True)
    if isinstance(data, pd.Series):
        return data.iloc[rows].to_frame().reset_index(drop=True)
    if hasattr(data, "tocsr"):
        data = data.tocsr()[rows].toarray()
    else:
        data = np.asarray(data)[rows]
    if data.ndim == 1:
        data = data.reshape(-1, 1)
    names = list(columns) if len(columns) == data.shape[1] else [f"x{i}" for i in range(data.shape[1])]
    return pd.DataFrame(data, columns=names)


def head_snapshot(data: Any, count: int) -> Any:
    """The first ``count`` rows as they are now: a copy, unaffected by later in-place changes
    of ``data`` and keeping none of its arrays alive (a view would keep the whole frame).
    """
    if isinstance(data, (pd.DataFrame, pd.Series)):
        return HeadCopy(data, count)
    if hasattr(data, "tocsr"):
        return data.tocsr()[:count].copy()
    return np.array(data[:count])


class HeadCopy:
    """Copies of the first rows of a frame's (or Series') columns, made into a DataFrame when read.

    Taken for every operator in a loop of small pandas calls, where ``iloc[:n].copy()``
    costs ~60 us; copying the first rows of each of the frame's blocks costs ~10. An
    Arrow-backed column's copy would share the whole column's buffers, so its rows are
    rewritten into buffers of their own.
    """

    __slots__ = ("columns", "arrays", "length")

    def __init__(self, data: Any, count: int):
        self.length = min(count, len(data))
        if isinstance(data, pd.Series):
            self.columns = None if data.name is None else pd.Index([data.name])
            self.arrays = [_head(data.array, count)]
            return
        self.columns = columns = data.columns
        blocks = getattr(getattr(data, "_mgr", None), "blocks", None)
        if blocks is None:  # not pandas' block manager: the public (slower) way
            self.arrays = [_head(data.iloc[:count, i].array, count) for i in range(len(columns))]
            return
        arrays: list = [None] * len(columns)
        for block in blocks:
            values = block.values
            if values.ndim == 1:
                arrays[block.mgr_locs.as_array[0]] = _head(values, count)
            else:  # one row of ``values`` per column of the block
                head = values[:, :count].copy()
                for row, column in enumerate(block.mgr_locs.as_array):
                    arrays[column] = head[row]
        self.arrays = arrays

    def frame(self) -> pd.DataFrame:
        columns = [pd.array(a[1], dtype=a[0]) if isinstance(a, tuple) else a for a in self.arrays]
        frame = pd.DataFrame(dict(enumerate(columns)), index=pd.RangeIndex(self.length))
        if self.columns is not None:
            frame.columns = self.columns
        return frame


_TEXT = frozenset({pa.string().id, pa.large_string().id})


def _head(values: Any, count: int) -> Any:
    """The first ``count`` values of a one-dimensional array, owning their memory.

    Arrow-backed values come back as ``(dtype, values)`` for ``pd.array``: text as Python
    strings (five of them cost less than new Arrow buffers), other types as a compacted array.
    """
    if isinstance(values, pd.arrays.ArrowExtensionArray):
        chunks = values.__arrow_array__()
        head = chunks.chunk(0).slice(0, count) if chunks.num_chunks == 1 else chunks.slice(0, count)
        if head.type.id in _TEXT:
            return values.dtype, head.to_pylist()
        return values.dtype, head.combine_chunks() if chunks.num_chunks != 1 else pa.concat_arrays([head])
    return values[:count].copy()


def row_count(data: Any) -> int:
    if isinstance(data, _PANDAS):
        return len(data)
    engine = _engine(data)
    if engine is not None:
        return engine.row_count(data)
    shape = getattr(data, "shape", None)
    return int(shape[0]) if shape else len(data)


def _present(data: Any, columns) -> Dict[str, pd.Series]:
    if isinstance(data, pd.DataFrame):
        return {c: data[c] for c in columns if c in data.columns}
    if isinstance(data, pd.Series) and data.name in columns:
        return {data.name: data}
    return {}


def non_missing_shares(data: Any, columns) -> Dict[str, float]:
    """{column: share of non-missing values} for the ``columns`` the data has (1.0 without rows)."""
    engine = _engine(data)
    if engine is not None:
        return engine.non_missing_shares(data, columns)
    return {c: float(s.notna().mean()) if len(s) else 1.0 for c, s in _present(data, columns).items()}


def distinct_counts(data: Any, columns) -> Dict[str, int]:
    """{column: number of distinct non-missing values} for the ``columns`` the data has."""
    engine = _engine(data)
    if engine is not None:
        return engine.distinct_counts(data, columns)
    return {c: int(s.nunique()) for c, s in _present(data, columns).items()}
