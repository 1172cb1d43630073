"""Showing operators' rows: their first outputs, and annotation values beside them."""
from __future__ import annotations

from typing import Iterable, Optional

import pandas as pd

from lester_inspect.inspections._frames import first_rows, row_count
from lester_inspect.inspections.annotations import UnknownProvenance, value_key
from lester_inspect.inspections.base import OperatorData, VectorizedInspection


class MaterializeFirstOutputRows(VectorizedInspection):
    """The first ``num_rows`` rows of every operator's output, as a DataFrame."""

    def __init__(self, num_rows: int):
        self.num_rows = num_rows

    def inspect(self, operator: OperatorData) -> Optional[pd.DataFrame]:
        if operator.data is None:
            return None
        return first_rows(operator.data, self.num_rows, operator.node.columns)


class ColumnPropagation(VectorizedInspection):
    """The first ``num_rows`` rows of every operator with the propagated values of ``columns``.

    Each column appears as ``annotation_<column>``, also where the data no longer has it.
    """

    def __init__(self, columns: Iterable[str], num_rows: int):
        self.columns = tuple(columns)
        self.num_rows = num_rows

    @property
    def annotation_keys(self):
        return tuple(value_key(c) for c in self.columns)

    def inspect(self, operator: OperatorData) -> Optional[pd.DataFrame]:
        if operator.data is None:
            return None
        count = min(self.num_rows, row_count(operator.data))
        frame = first_rows(operator.data, count, operator.node.columns)
        annotations = operator.annotations or {}
        for column in self.columns:
            values = annotations.get(value_key(column))
            if isinstance(values, UnknownProvenance):
                frame[f"annotation_{column}"] = [values] * len(frame)
            else:
                frame[f"annotation_{column}"] = values.values()[:count] if values is not None else None
        return frame
