"""Row provenance: which source rows each row was made from."""
from __future__ import annotations

from typing import Any, Dict, Iterable, Optional, Union

import numpy as np

from lester_inspect.inspections._frames import HeadCopy, first_rows, head_snapshot, row_count
from lester_inspect.inspections.annotations import LINEAGE, Lineage, UnknownProvenance
from lester_inspect.inspections.base import Deferred, OperatorData, VectorizedInspection
from lester_inspect.instrumentation.dag import OperatorType
from lester_inspect.instrumentation.rows import Identity, Positions

# Operators whose rows keep their values: where the first rows are the input's first rows, so is the result.
_PICKING = (OperatorType.SELECTION, OperatorType.SORT)


class RowLineage(VectorizedInspection):
    """The how-provenance polynomial of the first ``num_rows`` rows of every operator.

    A source row is a variable (``patients[3]``); a join multiplies variables
    (``patients[3] * histories[3]``); an aggregation or a duplicate elimination
    adds the rows it folded (``(histories[0] + histories[4])``). The result is the
    operator's first rows with a ``lineage`` column of ``Polynomial`` objects
    (``str()`` renders them), or of ``UnknownProvenance`` (naming the cuts) below a
    provenance cut. ``RowLineage.ALL_ROWS`` materialises every row.

    Examples
    --------
    >>> from lester_inspect import PipelineInspector
    >>> from lester_inspect.inspections import RowLineage
    >>> result = (PipelineInspector.on_pipeline_from_string(
    ...     "import pandas as pd\\n"
    ...     "a = pd.DataFrame({'k': [1, 2], 'x': [5, 6]})\\n"
    ...     "b = pd.DataFrame({'k': [2, 1], 'y': [7, 8]})\\n"
    ...     "joined = a.merge(b, on='k')\\n")
    ...     .add_inspection(RowLineage(2)).execute())
    >>> join = result.nodes[-1]
    >>> [str(p) for p in result.dag_node_to_inspection_results[join][RowLineage(2)]["lineage"]]
    ['source0[0] * source1[1]', 'source0[1] * source1[0]']
    """

    ALL_ROWS = -1

    def __init__(self, num_rows: int, operator_type_filter: Optional[Iterable[OperatorType]] = None):
        self.num_rows = num_rows
        self.operator_type_filter = None if operator_type_filter is None else frozenset(operator_type_filter)

    @property
    def annotation_keys(self):
        return (LINEAGE,)

    def inspect(self, operator: OperatorData) -> Any:
        if self.operator_type_filter is not None and operator.node.operator_type not in self.operator_type_filter:
            return None
        if operator.data is None:
            return None
        lineage = (operator.annotations or {}).get(LINEAGE)
        if hasattr(lineage, "first_rows"):
            # Lineage an engine keeps (Spark): one query now, while the pipeline's session is alive.
            frame, polynomials = lineage.first_rows(None if self.num_rows == self.ALL_ROWS else self.num_rows,
                                                    operator.source_names)
            frame["lineage"] = polynomials
            return frame
        count = None if self.num_rows == self.ALL_ROWS else min(self.num_rows, row_count(operator.data))
        if count is not None and operator.node.operator_type in _PICKING:
            earlier = self._input_result_with_same_rows(operator, count)
            if earlier is not None:
                return earlier
        # Fixed now (a copy of the first rows; annotations are never changed in place), built when read.
        rows = operator.data if count is None else head_snapshot(operator.data, count)
        lineage, names, columns = (operator.annotations or {}).get(LINEAGE), operator.source_names, operator.node.columns
        if isinstance(lineage, Lineage) and count is not None:  # keep only these rows' annotations alive
            lineage = lineage.head(count)

        return Deferred(_lineage_frame, rows, lineage, names, columns)

    def _input_result_with_same_rows(self, operator: OperatorData, count: int) -> Optional[Deferred]:
        """The input's unbuilt result, if this operator's first ``count`` rows are the input's first rows
        (a ``dropna`` that dropped nothing, ``head`` of a sorted frame): the same snapshot and lineage.

        Taking a snapshot per operator is a third of RowLineage's cost in a loop of small pandas calls.
        """
        row_inputs = [item for item in operator.inputs if item.carries_rows]
        if len(row_inputs) != 1:
            return None
        item = row_inputs[0]
        earlier = dict.get(operator.results.get(item.node) or {}, self)
        if not (isinstance(earlier, Deferred) and isinstance(earlier.args[0], HeadCopy)
                and earlier.args[0].length == count and earlier.args[3] == operator.node.columns):
            return None
        mapping = item.rows()
        # a few Python ints compare faster than numpy does on arrays this small
        if isinstance(mapping, Identity) or isinstance(mapping, Positions) and (
                mapping.positions[:count].tolist() == list(range(count))):
            return earlier
        return None


def _lineage_frame(rows: Any, lineage: Any, names: Dict[int, str], columns) -> Any:
    frame = first_rows(rows, None, columns)
    if isinstance(lineage, UnknownProvenance):
        frame["lineage"] = [lineage] * len(frame)
    else:
        frame["lineage"] = [lineage.polynomial(row, names) if lineage is not None else None
                            for row in range(len(frame))]
    return frame


class SourceRowUsage(VectorizedInspection):
    """Which rows of each data source an operator's rows were made from, as boolean arrays.

    By default for the training data: ``{source name: bool array over the source's rows}``.
    Rows that only entered an aggregate the data uses (a group mean) count with
    ``through_aggregates=True``. Below a provenance cut the result is an
    ``UnknownProvenance`` naming the cuts.
    """

    def __init__(self, operator_types: Iterable[OperatorType] = (OperatorType.TRAIN_DATA,),
                 through_aggregates: bool = False):
        self.operator_types = frozenset(operator_types)
        self.through_aggregates = through_aggregates

    @property
    def annotation_keys(self):
        return (LINEAGE,)

    def inspect(self, operator: OperatorData) -> Union[Dict[str, np.ndarray], UnknownProvenance, None]:
        if operator.node.operator_type not in self.operator_types:
            return None
        lineage = (operator.annotations or {}).get(LINEAGE)
        if lineage is None or isinstance(lineage, UnknownProvenance):
            return lineage
        usage = {}
        for source, rows in lineage.source_rows(self.through_aggregates).items():
            used = np.zeros(operator.source_sizes[source], dtype=bool)
            used[rows] = True
            usage[operator.source_names[source]] = used
        return usage
