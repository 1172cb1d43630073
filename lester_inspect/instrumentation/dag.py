"""The dataflow DAG: operator types, code locations and immutable nodes."""
from __future__ import annotations

import dataclasses
import enum
from typing import NamedTuple, Optional, Tuple


class OperatorType(enum.Enum):
    """What an operator does to the rows and columns flowing through it.

    Follows Table 1 of the mlinspect paper, plus SORT and RESHAPE for pandas
    operations that reorder or duplicate rows without selecting them.
    """

    DATA_SOURCE = "Data Source"
    PROJECTION = "Projection"
    PROJECTION_MODIFY = "Projection (Modify)"
    SELECTION = "Selection"
    SORT = "Sort"
    RESHAPE = "Reshape"
    JOIN = "Join"
    GROUP_BY_AGG = "Group By/Aggregate"
    CONCATENATION = "Concatenation"
    TRAIN_TEST_SPLIT = "Train/Test Split"
    TRANSFORMER = "Transformer"
    ESTIMATOR = "Estimator"
    TRAIN_DATA = "Train Data"
    TRAIN_LABELS = "Train Labels"
    TEST_DATA = "Test Data"
    TEST_LABELS = "Test Labels"
    PREDICT = "Predict"
    SCORE = "Score"


class CodeLocation(NamedTuple):
    """Where in the user's source an operator was called (1-based lines, 0-based byte columns).

    ``file`` is None for the pipeline file itself and the path of another user
    module (a helper imported from the pipeline's folder) otherwise. In a notebook,
    ``lineno`` counts lines of the cells' concatenated code and ``cell`` /
    ``cell_lineno`` say where that is for the user: the cell's number among all the
    notebook's cells (1-based, markdown included) and the line within it.
    """

    lineno: int
    col_offset: int
    end_lineno: int
    end_col_offset: int
    file: Optional[str] = None
    cell: Optional[int] = None
    cell_lineno: Optional[int] = None

    def __str__(self) -> str:
        if self.cell is not None:
            return f"cell {self.cell}, line {self.cell_lineno}:{self.col_offset}"
        where = f"{self.file}:" if self.file else "line "
        return f"{where}{self.lineno}:{self.col_offset}"


class FunctionInfo(NamedTuple):
    """The patched API behind an operator, e.g. ``('pandas.core.frame', 'DataFrame.merge')``."""

    module: str
    name: str

    def __str__(self) -> str:
        return f"{self.module}.{self.name}"


@dataclasses.dataclass(frozen=True, slots=True)
class DagNode:
    """One operator of the extracted pipeline, in execution order (``node_id``)."""

    node_id: int
    operator_type: OperatorType
    function: FunctionInfo
    code_location: Optional[CodeLocation]
    source_code: str
    description: str
    columns: Tuple[str, ...]

    def __hash__(self) -> int:
        # The id alone: nodes are hashed several times per operator, and ids are unique within a run.
        return self.node_id

    def __str__(self) -> str:
        where = f" ({self.code_location})" if self.code_location else ""
        return f"{self.node_id}: {self.operator_type.value}: {self.description}{where}"
