"""Value distributions of (sensitive) columns at every operator, also after the column was dropped."""
from __future__ import annotations

from typing import Any, Dict, Iterable, Optional, Tuple, Union

import numpy as np

from lester_inspect.inspections.annotations import UnknownProvenance, unknown_of, value_key
from lester_inspect.inspections.base import OperatorData, VectorizedInspection


class HistogramForColumns(VectorizedInspection):
    """``{column: {value: row count}}`` for every operator whose rows carry the column.

    The values travel with the rows as annotations, so the histogram is known after
    the column was projected away, through joins and filters, and for the rows of
    feature matrices. Missing values are counted under ``None``. Below a provenance
    cut, a column no longer in the data is ``{column: UnknownProvenance}``.
    """

    def __init__(self, columns: Iterable[str]):
        self.columns = tuple(columns)
        self._keys = tuple(value_key(c) for c in self.columns)  # asked for every operator

    @property
    def annotation_keys(self):
        return self._keys

    def inspect(self, operator: OperatorData) -> Optional[Dict[str, Dict[Any, int]]]:
        annotations = operator.annotations or {}
        histograms = {}
        for column, key in zip(self.columns, self._keys):
            values = annotations.get(key)
            if values is not None:
                histograms[column] = values if isinstance(values, UnknownProvenance) else values.counts()
        return histograms or None


class IntersectionalHistogramForColumns(VectorizedInspection):
    """``{(value of column 1, value of column 2, ...): row count}`` for every operator.

    ``UnknownProvenance`` where one of the columns is unknown below a provenance cut.
    """

    def __init__(self, columns: Iterable[str]):
        self.columns = tuple(columns)

    @property
    def annotation_keys(self):
        return tuple(value_key(c) for c in self.columns)

    def inspect(self, operator: OperatorData) -> Union[Dict[Tuple, int], UnknownProvenance, None]:
        annotations = operator.annotations or {}
        parts = [annotations.get(value_key(c)) for c in self.columns]
        if any(p is None for p in parts):
            return None
        if unknown_of(parts) is not None:
            return unknown_of(parts)
        combined = np.zeros(len(parts[0]), dtype=np.int64)
        for part in parts:  # mixed radix over (code + 1), 0 standing for missing
            combined = combined * (len(part.categories) + 1) + (part.codes + 1)
        codes, counts = np.unique(combined, return_counts=True)
        histogram = {}
        for code, count in zip(codes, counts):
            values = []
            for part in reversed(parts):
                code, digit = divmod(int(code), len(part.categories) + 1)
                values.append(part.categories[digit - 1] if digit else None)
            histogram[tuple(reversed(values))] = int(count)
        return histogram
