"""Turning an operator's rows (frame, Series, array, sparse matrix) into a small DataFrame."""
from __future__ import annotations

from typing import Any, Optional, Sequence

import numpy as np
import pandas as pd


def first_rows(data: Any, count: Optional[int], columns: Sequence[str]) -> pd.DataFrame:
    """The first ``count`` rows (all for None) as a DataFrame with a 0..n-1 index."""
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
    shape = getattr(data, "shape", None)
    return int(shape[0]) if shape else len(data)
