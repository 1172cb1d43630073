"""Inspections: analyses computed for every operator while the pipeline runs."""
from lester_inspect.inspections.annotations import Polynomial
from lester_inspect.inspections.arguments import ArgumentCapturing
from lester_inspect.inspections.capture import ArtifactCapture
from lester_inspect.inspections.base import (Inspection, InspectionInput, InspectionRow, OperatorData,
                                             VectorizedInspection)
from lester_inspect.inspections.data_quality import (AllZeroRowShare, CompletenessOfColumns, CountDistinctOfColumns,
                                                     DuplicateRowCount, LabelCounts)
from lester_inspect.inspections.histograms import HistogramForColumns, IntersectionalHistogramForColumns
from lester_inspect.inspections.lineage import RowLineage, SourceRowUsage
from lester_inspect.inspections.materialization import ColumnPropagation, MaterializeFirstOutputRows
from lester_inspect.inspections.provenance import ColumnProvenance, MatrixColumnProvenance
from lester_inspect.inspections.screening import DataValue, FittedRows, ModelInputs, PersonalDataColumns, TestGroups

__all__ = [
    "AllZeroRowShare", "ArgumentCapturing", "ArtifactCapture", "ColumnPropagation", "ColumnProvenance", "MatrixColumnProvenance", "CompletenessOfColumns", "CountDistinctOfColumns",
    "DuplicateRowCount", "HistogramForColumns", "Inspection", "InspectionInput", "InspectionRow",
    "IntersectionalHistogramForColumns", "LabelCounts", "MaterializeFirstOutputRows", "OperatorData", "Polynomial",
    "RowLineage", "SourceRowUsage", "VectorizedInspection",
]
__all__ += ["DataValue", "FittedRows", "ModelInputs", "PersonalDataColumns", "TestGroups"]
