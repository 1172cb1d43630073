"""What inspections read of a Spark DataFrame, each a query whose small result reaches the driver."""
from __future__ import annotations

from typing import Dict, Optional

import pandas as pd

from lester_inspect.spark.shadow import F, ref


def first_rows(frame, count: Optional[int]) -> pd.DataFrame:
    return (frame.limit(count) if count is not None else frame).toPandas()


def row_count(frame) -> int:
    return int(frame.count())


def _present(frame, columns):
    names = list(frame.columns)
    return [c for c in columns if names.count(c) == 1]


def non_missing_shares(frame, columns) -> Dict[str, float]:
    present = _present(frame, columns)
    if not present:
        return {}
    f = F()
    row = frame.agg(f.count(f.lit(1)).alias("rows"), *[f.count(ref(c)).alias(f"c{i}")
                                                       for i, c in enumerate(present)]).collect()[0]
    return {c: float(row[f"c{i}"] / row["rows"]) if row["rows"] else 1.0 for i, c in enumerate(present)}


def distinct_counts(frame, columns) -> Dict[str, int]:
    present = _present(frame, columns)
    if not present:
        return {}
    f = F()
    row = frame.agg(*[f.count_distinct(ref(c)).alias(f"c{i}") for i, c in enumerate(present)]).collect()[0]
    return {c: int(row[f"c{i}"]) for i, c in enumerate(present)}
