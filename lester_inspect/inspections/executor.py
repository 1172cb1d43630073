"""Running inspections while the pipeline runs: an observer of every operator.

For each operator it moves the inputs' annotations to the output rows with the
operator's row mapping (only the annotation columns some inspection needs), keeps
them on the output object's entry in the run's side table (so they die with it),
and computes every inspection's result for the operator.
"""
from __future__ import annotations

import itertools
import os
from typing import Any, Dict, Iterator, List, Optional

import numpy as np
import pandas as pd

from lester_inspect.inspections._frames import has_rows, kept_by_engine, row_count
from lester_inspect.inspections.annotations import (LINEAGE, CarriedAnnotations, Lineage, UnknownProvenance,
                                                    ValueColumn, aligned, aligned_product, combine_values,
                                                    is_unknown, join_lineages, union_lineages, unknown_of)
from lester_inspect.inspections.base import (Inspection, InspectionInput, InspectionRow, OperatorData, Results,
                                             VectorizedInspection, data_columns)
from lester_inspect.instrumentation.dag import DagNode, OperatorType
from lester_inspect.instrumentation.rows import Groups, Identity, Input, Positions, Unknown

T = OperatorType
# Operators after which a sensitive column's values may differ from their source's.
_MODIFYING = (T.DATA_SOURCE, T.PROJECTION_MODIFY)


class InspectionExecutor:
    def __init__(self, run, inspections: List[Inspection]):
        self.run = run
        inspections = _with_requirements(inspections)
        self.vectorized = [i for i in inspections if isinstance(i, VectorizedInspection)]
        self.row_wise = [i for i in inspections if not isinstance(i, VectorizedInspection)]
        self.keys = {key for i in self.vectorized for key in i.annotation_keys}
        self.keys |= {("generic", i) for i in self.row_wise}
        self.value_columns = [key[1] for key in self.keys if key[0] == "value"]
        self.needs_arguments = any(type(i).__name__ == "ArgumentCapturing" for i in inspections)
        self.results: Dict[DagNode, Results] = {}
        #: For each operator, the input node whose rows its rows are (the fact side of a join).
        self.carriers: Dict[DagNode, DagNode] = {}
        self.source_names: Dict[int, str] = {}
        self.source_sizes: Dict[int, int] = {}
        run.tracks_rows = bool(self.keys)
        # Engines that carry annotations themselves (Spark) carry only these.
        run.annotation_keys = frozenset(self.keys)

    # -- the observer ------------------------------------------------------------------------------

    def __call__(self, node: DagNode, inputs: List[Input], output: Any) -> None:
        row_inputs = [item for item in inputs if item.carries_rows]
        data = output if output is not None and has_rows(output) else (row_inputs[0].data if row_inputs else None)
        if node.operator_type is T.DATA_SOURCE:
            self._register_source(node, data)
        tracked = self.run.tracked(output) if output is not None else None
        carried = self._carried(tracked, output, row_inputs) if self.keys else None
        if carried is not None:
            # In-memory data (pandas from toPandas) is annotated as usual from here on.
            annotations = carried if kept_by_engine(data) else dict(carried)
            self.carriers[node] = carried.carrier
        else:
            annotations = self._annotations(node, row_inputs, data) if self.keys and data is not None else None
        if annotations is not None and tracked is not None:
            tracked.annotations = annotations
        arguments = self.run.current_arguments() if self.needs_arguments and self.run.current_arguments else None
        view = OperatorData(node, data, annotations, arguments, self.source_names, self.source_sizes,
                            self.run.dag, self.results, tuple(inputs), output, self._annotations_of)
        results = self.results.setdefault(node, Results())
        for inspection in self.vectorized:
            results[inspection] = inspection.inspect(view)
        if self.row_wise:
            if kept_by_engine(data):
                # Scanning an engine's rows in Python would bring the whole dataset to the driver.
                self.run.report_internal_error(node.code_location, node.function, NotImplementedError(
                    "row-wise inspections are not run on Spark operators (only vectorised ones)"))
            else:
                self._scan(node, row_inputs, output, annotations, results)

    def _carried(self, tracked, output: Any, row_inputs: List[Input]) -> Optional[CarriedAnnotations]:
        """Annotations an engine computed for the output, or passed on from the only input (fit, markers)."""
        carried = tracked.annotations if tracked is not None else None
        if isinstance(carried, CarriedAnnotations):
            return carried
        if (row_inputs and (output is None or not has_rows(output))
                and all(item.data is row_inputs[0].data for item in row_inputs)):
            # A marker or a fit (features and labels are the same rows): the input's annotations are theirs.
            known = self._annotations_of(row_inputs[0].data)
            if isinstance(known, CarriedAnnotations):
                return CarriedAnnotations(known, carrier=row_inputs[0].node)
        return None

    def _annotations_of(self, obj: Any) -> Optional[Dict]:
        tracked = self.run.tracked(obj) if obj is not None else None
        return tracked.annotations if tracked is not None else None

    def _register_source(self, node: DagNode, data: Any) -> None:
        name = _source_name(node)
        if name in self.source_names.values():
            name = f"{name}{node.node_id}"
        self.source_names[node.node_id] = name
        self.source_sizes[node.node_id] = row_count(data) if data is not None else 0

    # -- propagation -------------------------------------------------------------------------------

    def _annotations(self, node: DagNode, row_inputs: List[Input], data: Any) -> Optional[Dict]:
        length = row_count(data)
        if not row_inputs:
            annotations = {}
            cut = self.run.dag.nodes[node].get("provenance_cut")
            if cut is not None:  # an untracked source: its rows come from somewhere we do not know
                annotations = {key: UnknownProvenance((cut,)) for key in self.keys}
            elif LINEAGE in self.keys:
                annotations[LINEAGE] = Lineage.of_source(node.node_id, length)
        else:
            parts = []
            for item in row_inputs:
                tracked = self.run.tracked(item.data) if item.data is not None else None
                known = tracked.annotations if tracked is not None else None
                mapping = item.rows()
                if isinstance(mapping, Unknown):  # the run recorded the cut on this node when it resolved
                    marker = UnknownProvenance((self.run.dag.nodes[node]["provenance_cut"],))
                    parts.append((item, mapping, {key: marker for key in self.keys}))
                else:
                    moved = aligned(known, mapping, length) if known is not None else None
                    if moved is not None and node.operator_type is T.SORT:
                        _keep_counts(known, moved, mapping)
                    parts.append((item, mapping, moved))
            annotations = self._combine(node, parts, length)
        self._values_from_data(annotations, data, refresh=node.operator_type in _MODIFYING)
        return annotations

    def _combine(self, node: DagNode, parts, length: int) -> Dict:
        known = [(item, mapping, a) for item, mapping, a in parts if a is not None]
        self.carriers[node] = _carrier(node, parts)
        if not known:
            # No input's annotations survived (an object we lost track of): say so, do not start afresh.
            cut = self.run.record_cut(node, f"{node.function.name}: lester-inspect lost the annotations of its "
                                      "input", node.function, node.code_location)
            return {key: UnknownProvenance((cut,)) for key in self.keys}
        if len(parts) == 1 or all(isinstance(m, Identity) for _, m, _ in parts):
            combined = dict(known[0][2])
            for _, _, more in known[1:]:
                for key, column in more.items():
                    combined.setdefault(key, column)
            lineages = [a[LINEAGE] for _, _, a in known if LINEAGE in a]
            if len(lineages) > 1:  # row i of an n-ary map is made of row i of every input; unknown if one is
                combined[LINEAGE] = unknown_of(lineages) or aligned_product(lineages, length)
            return combined
        if any(isinstance(m, Unknown) for _, m, _ in known):
            # Rows of several inputs, one not mapped: which output row is which is unknown.
            marker = unknown_of([column for _, _, a in known for column in a.values()])
            return {key: marker for key in self.keys}
        # Several inputs whose rows are rearranged: a join or a concatenation of rows.
        positions = [m.positions if isinstance(m, Positions) else np.full(length, -1) for _, m, _ in known]
        choose = np.full(length, -1, dtype=np.int64)
        for index in reversed(range(len(known))):  # the first input with a row wins (a join's left side)
            choose[positions[index] >= 0] = index
        combined = {}
        for key in self.keys:
            columns = [a.get(key) for _, _, a in known]
            marker = unknown_of(columns)
            if marker is not None:
                combined[key] = marker
            elif key == LINEAGE:
                lineages = [c if c is not None else Lineage((), length) for c in columns]
                combined[key] = (join_lineages(lineages, length) if node.operator_type is T.JOIN
                                 else union_lineages(lineages, length, choose))
            elif key[0] == "value" and any(c is not None for c in columns):
                values = [c if c is not None else ValueColumn.unknown(length) for c in columns]
                combined[key] = combine_values(values, length, choose)
            elif key[0] == "generic":
                column = np.full(length, None, dtype=object)
                for index, part in enumerate(columns):
                    if part is not None:
                        column[choose == index] = part[choose == index]
                combined[key] = column
        return combined

    def _values_from_data(self, annotations: Dict, data: Any, refresh: bool) -> None:
        # A column present in the data is a fact about these rows, also below a provenance cut.
        for column in self.value_columns:
            key = ("value", column)
            if key in annotations and not refresh and not is_unknown(annotations[key]):
                continue
            if isinstance(data, pd.DataFrame) and column in data.columns:
                annotations[key] = ValueColumn.from_values(data[column])
            elif isinstance(data, pd.Series) and data.name == column:
                annotations[key] = ValueColumn.from_values(data)

    # -- row-wise inspections ----------------------------------------------------------------------

    def _scan(self, node: DagNode, row_inputs: List[Input], output: Any, annotations, results) -> None:
        """One pass over the operator's rows, shared by all row-wise inspections (itertools.tee)."""
        has_output = output is not None and has_rows(output)
        length = row_count(output) if has_output else (row_count(row_inputs[0].data) if row_inputs else 0)
        columns = []
        for item in row_inputs:
            mapping = item.rows() if has_output else Identity()
            positions = _positions(mapping, length)
            tracked = self.run.tracked(item.data) if item.data is not None else None
            known = tracked.annotations if tracked is not None and tracked.annotations else {}
            columns.append((item, positions, known))
        rows = _rows(self, node, columns, output if has_output else None, length)
        copies = itertools.tee(rows, len(self.row_wise))
        input_columns = tuple(tuple(str(c) for c in data_columns(item.data)) for item, _, _ in columns)
        generators = [inspection.visit_operator(InspectionInput(node, input_columns, node.columns, copy))
                      for inspection, copy in zip(self.row_wise, copies)]
        produced = [list() for _ in self.row_wise]
        for annotations_of_row in zip(*generators):  # all inspections advance together: one scan
            for collected, annotation in zip(produced, annotations_of_row):
                collected.append(annotation)
        for inspection, collected in zip(self.row_wise, produced):
            if annotations is not None and has_output and len(collected) == length:
                annotations[("generic", inspection)] = np.array(collected + [None], dtype=object)[:-1]
            results[inspection] = inspection.get_operator_annotation_after_visit()

    def row_tuples(self, data: Any) -> Iterator[tuple]:
        """The rows of an operator's data as tuples; the one place where a scan reads data."""
        if isinstance(data, pd.DataFrame):
            return data.itertuples(index=False, name=None)
        if isinstance(data, pd.Series):
            return ((value,) for value in data)
        if hasattr(data, "tocsr"):
            matrix = data.tocsr()
            return (tuple(matrix[i].toarray().ravel()) for i in range(matrix.shape[0]))
        matrix = np.asarray(data)
        return (tuple(row) if matrix.ndim > 1 else (row,) for row in matrix)


def _with_requirements(inspections: List[Inspection]) -> List[Inspection]:
    """The inspections and, before each, those it requires; each once."""
    ordered: List[Inspection] = []

    def add(inspection: Inspection) -> None:
        for required in getattr(inspection, "required_inspections", ()):
            add(required)
        if inspection not in ordered:
            ordered.append(inspection)

    for inspection in inspections:
        add(inspection)
    return ordered


def _rows(executor: InspectionExecutor, node: DagNode, columns, output: Any, length: int) -> Iterator[InspectionRow]:
    inputs = []
    for item, positions, known in columns:
        materialized = list(executor.row_tuples(item.data)) if item.data is not None else []
        generic = {key[1]: value for key, value in known.items() if key[0] == "generic"}
        unknown = {inspection: value for inspection, value in generic.items() if is_unknown(value)}
        inputs.append((materialized, positions, generic, unknown))
    outputs = executor.row_tuples(output) if output is not None else itertools.repeat(None, length)
    for index, output_row in enumerate(outputs):
        rows, notes = [], []
        for materialized, positions, generic, unknown in inputs:
            position = positions[index] if positions is not None else -1
            rows.append(materialized[position] if position >= 0 else None)
            if position >= 0 and generic:
                notes.append({i: (a if i in unknown else a[position]) for i, a in generic.items()})
            else:
                notes.append(dict(unknown) or None)
        yield InspectionRow(tuple(rows), tuple(notes), output_row)


def _positions(mapping, length: int) -> Optional[np.ndarray]:
    if isinstance(mapping, Identity):
        return np.arange(length)
    if isinstance(mapping, Positions):
        return mapping.positions
    if isinstance(mapping, Groups):
        return mapping.representative_rows()
    return None


def _keep_counts(known: Dict, moved: Dict, mapping) -> None:
    """A sort only reorders rows: its value columns count what its input's did (no second bincount)."""
    if not isinstance(mapping, Positions) or mapping.has_missing:
        return
    for key, before in known.items():
        after = moved.get(key)
        if (isinstance(before, ValueColumn) and isinstance(after, ValueColumn) and before._counts is not None
                and after.categories is before.categories and len(after) == len(before)):
            after._counts = before._counts


def _carrier(node: DagNode, parts) -> Optional[DagNode]:
    """The input whose rows the output's rows are: the only one, or a join's fact side."""
    if len(parts) == 1:
        return parts[0][0].node
    if node.operator_type is not T.JOIN:
        return None
    best, best_share = None, -1.0
    for item, mapping, _ in parts:
        if isinstance(mapping, Positions):
            matched = mapping.positions[mapping.positions >= 0]
            share = np.count_nonzero(np.bincount(matched)) / max(len(mapping.positions), 1) if len(matched) else 0
            if share > best_share:
                best, best_share = item.node, share
    return best


def _source_name(node: DagNode) -> str:
    if node.description.startswith("Read "):
        return os.path.splitext(node.description[len("Read "):])[0]
    return f"source{node.node_id}"
