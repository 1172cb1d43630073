"""Data quality measures computed on the operators' actual rows."""
from __future__ import annotations

from typing import Any, Dict, Iterable, Optional

import numpy as np
import pandas as pd

from lester_inspect.inspections._frames import distinct_counts, non_missing_shares
from lester_inspect.inspections.base import OperatorData, VectorizedInspection
from lester_inspect.instrumentation.dag import OperatorType


class CompletenessOfColumns(VectorizedInspection):
    """``{column: share of non-missing values}`` wherever the column is in an operator's output."""

    def __init__(self, columns: Iterable[str]):
        self.columns = tuple(columns)

    def inspect(self, operator: OperatorData) -> Optional[Dict[str, float]]:
        return non_missing_shares(operator.data, self.columns) or None


class CountDistinctOfColumns(VectorizedInspection):
    """``{column: number of distinct non-missing values}`` wherever the column is in an output."""

    def __init__(self, columns: Iterable[str]):
        self.columns = tuple(columns)

    def inspect(self, operator: OperatorData) -> Optional[Dict[str, int]]:
        return distinct_counts(operator.data, self.columns) or None


class DuplicateRowCount(VectorizedInspection):
    """Number of rows that repeat an earlier row, for the tabular data of the given operators."""

    def __init__(self, operator_types: Iterable[OperatorType] = (OperatorType.DATA_SOURCE, OperatorType.TRAIN_DATA)):
        self.operator_types = frozenset(operator_types)

    def inspect(self, operator: OperatorData) -> Optional[int]:
        if operator.node.operator_type not in self.operator_types or not isinstance(operator.data, pd.DataFrame):
            return None
        return int(operator.data.duplicated().sum())


class LabelCounts(VectorizedInspection):
    """``{label: count}`` of the training and test labels."""

    def __init__(self):
        pass

    def inspect(self, operator: OperatorData) -> Optional[Dict[Any, int]]:
        if operator.node.operator_type not in (OperatorType.TRAIN_LABELS, OperatorType.TEST_LABELS):
            return None
        values = np.asarray(operator.data)
        values = values.reshape(len(values), -1)
        labels = values[:, 0] if values.shape[1] == 1 else values.argmax(axis=1)
        return {k: int(v) for k, v in pd.Series(labels).value_counts(dropna=False).sort_index().items()}


class AllZeroRowShare(VectorizedInspection):
    """Share of all-zero rows in every transformer's output: a missing embedding or encoding."""

    def __init__(self):
        pass

    def inspect(self, operator: OperatorData) -> Optional[float]:
        data = operator.data
        if operator.node.operator_type is not OperatorType.TRANSFORMER or data is None:
            return None
        if hasattr(data, "getnnz"):
            nonzero = np.asarray(data.getnnz(axis=1))
        else:
            matrix = np.asarray(data)
            if matrix.ndim != 2 or not np.issubdtype(matrix.dtype, np.number) or not len(matrix):
                return None
            nonzero = np.count_nonzero(matrix, axis=1)
        return float(np.mean(nonzero == 0)) if len(nonzero) else None
