"""What inspections read of an operator's rows (frame, Series, array, sparse matrix, Spark DataFrame).

This is the seam between inspections and engines: data an engine keeps (a Spark
DataFrame) is answered by that engine's module, by a query that returns only the
small result, so that inspections never branch on the engine.
"""
from __future__ import annotations

from typing import Any, Dict, Optional, Sequence

import numpy as np
import pandas as pd


def _engine(data: Any):
    """The module answering for data an engine keeps, or None for in-memory data."""
    if type(data).__module__.startswith("pyspark.sql") and hasattr(data, "_jdf"):
        from lester_inspect.spark import frames

        return frames
    return None


def kept_by_engine(data: Any) -> bool:
    """Whether ``data``'s rows stay in an engine (never scanned row by row in Python)."""
    return _engine(data) is not None


def has_rows(data: Any) -> bool:
    return _engine(data) is not None or (hasattr(data, "shape") and len(getattr(data, "shape", ())) >= 1)


def first_rows(data: Any, count: Optional[int], columns: Sequence[str]) -> pd.DataFrame:
    """The first ``count`` rows (all for None) as a DataFrame with a 0..n-1 index."""
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
    """The first ``count`` rows as they are now, unaffected by later in-place changes of ``data``.

    A pandas slice is enough (copy-on-write copies on a later write); numpy and sparse
    rows are copied, five rows cost nothing.
    """
    if isinstance(data, (pd.DataFrame, pd.Series)):
        return data.iloc[:count]
    if hasattr(data, "tocsr"):
        return data.tocsr()[:count].copy()
    return np.array(data[:count])


def row_count(data: Any) -> int:
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
