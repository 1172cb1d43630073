"""ArtifactCapture: write a run's artifacts and their provenance to an artifact store while it runs."""
from __future__ import annotations

import os
import weakref
from typing import Any, Dict, List, Optional

import numpy as np
import pandas as pd

from lester_inspect.inspections._frames import kept_by_engine
from lester_inspect.inspections.annotations import LINEAGE, Factor, UnknownProvenance
from lester_inspect.inspections.base import OperatorData, VectorizedInspection
from lester_inspect.inspections.provenance import ColumnProvenance, MatrixColumnProvenance
from lester_inspect.instrumentation.dag import DagNode, OperatorType, ancestors
from lester_inspect.instrumentation.provenance_cuts import cuts_upstream

T = OperatorType


class ArtifactCapture(VectorizedInspection):
    """Capture the training and test artifacts of a run into ``store``.

    The training data is what reached the final estimator's ``fit`` (the feature
    matrix X and the labels y), the relational data what entered the featuriser
    (the frame a ColumnTransformer selected its columns from; the training frame
    itself for a model fitted on a frame). For each it stores the row provenance
    (the source row of every row, per source), the column provenance of the
    relational columns, the matrix column provenance of the featuriser, the model,
    and on the test side X, y and the predictions. The catalog records every source's
    path, sha256 fingerprint, row count and the columns the run used.

    The result at the estimator's node is the run id (also ``ArtifactCapture.run_id_of(result)``).
    Token vocabularies and feature names are not stored: they may contain the data.

    With ``mlflow=True``, the check results, HTML report and DAG are also logged to MLflow after the run
    (into the active MLflow run, else a new one; ``lester_inspect.export.mlflow``), tagged with the run id.
    """

    def __init__(self, store: str = ".lester", name: Optional[str] = None, mlflow: bool = False):
        self.store = store
        self.name = name
        self.mlflow = bool(mlflow)
        if self.mlflow:
            from lester_inspect.export.mlflow import require_mlflow

            require_mlflow()  # a missing package is an error now, not after the pipeline ran
        self._runs: Dict[int, dict] = {}

    def after_checks(self, result) -> None:
        """Log the finished run to MLflow (with ``mlflow=True``); a failure there is an internal error, not the run's."""
        if not self.mlflow:
            return
        from lester_inspect.export.mlflow import log_to_mlflow

        log_to_mlflow(result, self.name, {"lester_inspect.capture_run_id": self.run_id_of(result) or "none"})

    @property
    def annotation_keys(self):
        return (LINEAGE,)

    @property
    def required_inspections(self):
        return (ColumnProvenance(), MatrixColumnProvenance())

    @staticmethod
    def run_id_of(result) -> Optional[str]:
        """The run id a capture wrote for an ``InspectorResult`` (the last one, if several)."""
        ids = [r for node in result.nodes for i, r in result.dag_node_to_inspection_results[node].items()
               if isinstance(i, ArtifactCapture) and isinstance(r, str)]
        return ids[-1] if ids else None

    def inspect(self, operator: OperatorData) -> Any:
        state = self._state(operator)
        if kept_by_engine(operator.data):  # a Spark run: Spark writes its artifacts (ivm/spark_store.py)
            from lester_inspect.ivm import spark_store

            return spark_store.inspect(self, operator, state)
        node = operator.node
        state["views"].observe(operator)  # group-by aggregates to maintain (ivm/maintenance.py)
        if isinstance(operator.data, pd.DataFrame):
            state["frames"][node] = weakref.ref(operator.data)
        if _selects_featuriser_columns(node):
            # Its input frame is saved as the relational data of the fit or predict that follows; a
            # temporary (``model.predict(ct.transform(df.head(50)))``) would be gone by then.
            parent = _featuriser_input(operator.dag, node)
            ref = state["frames"].get(parent)
            if ref is not None and ref() is not None:
                state["frames"][parent] = _Held(ref())
        if node.operator_type is T.DATA_SOURCE:
            state["sources"][node.node_id] = operator.dag.nodes[node].get("source_path")
            if isinstance(operator.data, pd.DataFrame):
                state["source_columns"][node.node_id] = [str(c) for c in operator.data.columns]
        elif node.operator_type is T.ESTIMATOR:
            return self._capture_training(operator, state)
        elif node.operator_type in (T.PREDICT, T.SCORE) and _model_node(operator) is state.get("model_node"):
            self._capture_test(operator, state)
        return None

    def _state(self, operator: OperatorData) -> dict:
        key = id(operator.dag)
        if key not in self._runs:
            from lester_inspect.ivm.store import new_run_id

            # Only the latest run is kept; frames are held weakly so that capture keeps nothing alive.
            from lester_inspect.ivm.maintenance import ViewRecorder

            self._runs = {key: {"run_id": new_run_id(), "frames": {}, "sources": {}, "source_columns": {},
                                "views": ViewRecorder()}}
        return self._runs[key]

    def _capture_training(self, operator: OperatorData, state: dict) -> str:
        X, y = operator.inputs[0].data, operator.inputs[1].data if len(operator.inputs) > 1 else None
        relational_node, relational = _relational(operator, operator.inputs[0].node, state)
        state["model_node"] = operator.node
        artifacts = {"X": X, "y": _labels(y), "model": operator.output, "data": relational,
                     "lineage": _lineage(operator.annotations_of(relational if relational is not None else X),
                                         operator.source_names)}
        self._save(operator, state, "train", artifacts, relational_node, operator.inputs[0].node,
                   {"model_class": type(operator.output).__name__,
                    "unmaintained_transformers": _outside_featuriser(operator.dag, operator.inputs[0].node)},
                   _labels_column(operator))
        return state["run_id"]

    def _capture_test(self, operator: OperatorData, state: dict) -> None:
        X = operator.inputs[0].data
        model = next((i.data for i in operator.inputs if i.node is state["model_node"]), None)
        y = operator.inputs[1].data if operator.node.operator_type is T.SCORE else None
        predictions = operator.output if operator.node.operator_type is T.PREDICT else model.predict(X)
        relational_node, relational = _relational(operator, operator.inputs[0].node, state)
        artifacts = {"X": X, "y": _labels(y), "predictions": _labels(predictions), "data": relational,
                     "lineage": _lineage(operator.annotations_of(relational if relational is not None else X),
                                         operator.source_names)}
        self._save(operator, state, "test", artifacts, relational_node, operator.inputs[0].node, {},
                   _labels_column(operator) if y is not None else None)

    def _save(self, operator: OperatorData, state: dict, group: str, artifacts: dict,
              relational_node: Optional[DagNode], matrix_node: DagNode, extra: dict,
              labels_column: Optional[str] = None) -> None:
        from lester_inspect.ivm.store import ArtifactStore

        results = operator.results
        column_provenance = (results.get(relational_node, {}).get(ColumnProvenance()) or {}) if relational_node else {}
        # Columns of unknown provenance are left out, as before issue 10; recording them is forget-safety's.
        column_provenance = {c: p for c, p in column_provenance.items() if not isinstance(p, UnknownProvenance)}
        if artifacts["data"] is not None:
            column_provenance = {c: sorted(column_provenance.get(c, ())) for c in artifacts["data"].columns}
        matrix_provenance = results.get(_featuriser(operator.dag, matrix_node), {}).get(MatrixColumnProvenance()) or {}
        used: Dict[str, set] = {}
        for provenance in column_provenance.values():
            for source, column in provenance:
                used.setdefault(source, set()).add(column)
        cuts = _artifact_cuts(operator, {"data": relational_node if artifacts["data"] is not None else None,
                                         "X": matrix_node})
        sources = []
        for node_id, path in state["sources"].items():
            name = operator.source_names[node_id]
            if path is None or not os.path.isfile(path):
                continue
            sources.append({"name": name, "path": path, "rows": operator.source_sizes[node_id],
                            "columns_used": sorted(used.get(name, ())),
                            "columns": state["source_columns"].get(node_id),
                            # Which of its columns reached the artifacts is not known past a cut.
                            "provenance_cut": any(c["sources"] is None or name in c["sources"] for c in cuts)})
        lineage = artifacts.pop("lineage")
        aggregated = sorted(lineage.pop(None, ()))
        artifacts["lineage"] = lineage
        pipeline = operator.dag.graph.get("pipeline", "")
        featuriser = operator.dag.nodes[_featuriser(operator.dag, matrix_node)].get("featuriser")
        featuriser = featuriser() if featuriser is not None else None
        original_X, virtual_notes = artifacts.get("X"), []
        try:  # scaler blocks stored unscaled, so that their statistics can be maintained (ivm/featuriser.py)
            from lester_inspect.ivm.featuriser import virtual_blocks

            artifacts["X"], artifacts["virtual"], virtual_notes = virtual_blocks(
                featuriser, artifacts["data"], original_X, group == "train")
        except Exception as error:
            artifacts["X"], artifacts["virtual"] = original_X, []
            virtual_notes = [f"scaler statistics are not maintained ({error!r})"]
        extra = {**extra, "featuriser_notes": virtual_notes}
        ArtifactStore(self.store).save(
            state["run_id"], self.name or os.path.splitext(os.path.basename(pipeline))[0] or "pipeline", pipeline,
            group, artifacts, sources,
            {"column_provenance": column_provenance, "matrix_provenance": matrix_provenance,
             "aggregated_sources": aggregated, "provenance_cuts": cuts, **extra})
        # What rectify and aggregate maintenance need is extra: a failure there must not fail the capture
        # (rectify then nulls instead of re-deriving, forget notes the aggregates as not maintained).
        from lester_inspect.ivm.rectify import save_for_rectify

        try:
            save_for_rectify(self.store, state["run_id"], group, artifacts["data"], state["views"].derivations,
                             featuriser, original_X, artifacts["virtual"])
        except Exception:
            pass
        if state["views"].aggregates or state["views"].problems:
            try:
                state["views"].save(self.store, state["run_id"], group, lineage, artifacts["data"],
                                    artifacts.get("y"), labels_column)
            except Exception:
                import shutil

                shutil.rmtree(os.path.join(self.store, "runs", state["run_id"], "views"), ignore_errors=True)


def _labels_column(operator: OperatorData) -> Optional[str]:
    """The column name of the labels passed to fit/score (``train_data['label']``), if one."""
    if len(operator.inputs) < 2 or operator.inputs[1].node is None:
        return None
    columns = operator.inputs[1].node.columns
    return columns[0] if len(columns) == 1 else None


def _artifact_cuts(operator: OperatorData, artifacts: Dict[str, Optional[DagNode]]) -> List[Dict]:
    """Per artifact, every place where row provenance is cut upstream of it, and the sources above the cut.

    ``sources`` None: the cut is an untracked data source, which may hold data of any source.
    An empty list means the artifact's row provenance is complete.
    """
    dag = operator.dag
    by_id = {node.node_id: node for node in dag.nodes}
    pipeline = os.path.basename(dag.graph.get("pipeline", "") or "") or "the pipeline"
    cuts = []
    for artifact, node in artifacts.items():
        if node is None:
            continue
        for cut in cuts_upstream(dag, node):
            cut_node = by_id.get(cut.node_id)
            above = [n for n in ancestors(dag, cut_node) if n.operator_type is T.DATA_SOURCE] if cut_node else []
            location = cut.location
            where = ("location unknown" if location is None else
                     f"{location.file}, line {location.lineno}" if location.file else
                     f"{pipeline}, line {location.lineno}")
            call = f"{cut.function.module}.{cut.function.name}" if cut.function.module else cut.function.name
            cuts.append({"artifact": artifact, "reason": cut.reason, "call": call, "location": where,
                         "node_id": cut.node_id,
                         "sources": sorted(operator.source_names[n.node_id] for n in above
                                           if n.node_id in operator.source_names) if above else None})
    return cuts


# Transformers that learn nothing from the rows they are fitted on.
_STATELESS = {"FunctionTransformer", "HashingVectorizer", "Normalizer", "Binarizer", "PolynomialFeatures"}


def _outside_featuriser(dag, matrix_node: DagNode) -> List[str]:
    """Fitted transformers between the data and the model that are not in the stored featuriser (a
    ColumnTransformer): what they learned from the training rows is not maintained, and forget says so."""
    featuriser = _featuriser(dag, matrix_node)
    inside = ({featuriser, *ancestors(dag, featuriser)} if dag.nodes[featuriser].get("featuriser") is not None
              else set())
    found = []
    for node in sorted({matrix_node, *ancestors(dag, matrix_node)} - inside, key=lambda n: n.node_id):
        name = node.description.split(":", 1)[0]
        if node.operator_type is T.TRANSFORMER and name not in _STATELESS:
            line = node.code_location.lineno if node.code_location else "?"
            found.append(f"{name} (line {line}), fitted outside a ColumnTransformer")
    return sorted(set(found))


def _featuriser(dag, node: DagNode) -> DagNode:
    """The operator that made a model's input matrix: behind the train/test data markers."""
    while node.operator_type in (T.TRAIN_DATA, T.TEST_DATA):
        parents = list(dag.predecessors(node))
        if not parents:
            break
        node = parents[0]
    return node


def _model_node(operator: OperatorData) -> Optional[DagNode]:
    for item in operator.inputs:
        if item.node is not None and item.node.operator_type is T.ESTIMATOR:
            return item.node
    return None


def _selects_featuriser_columns(node: DagNode) -> bool:
    return node.operator_type is T.PROJECTION and node.function.name.startswith(("ColumnTransformer", "FeatureUnion"))


def _featuriser_input(dag, node: DagNode) -> DagNode:
    return min(dag.predecessors(node), key=lambda n: n.node_id)


class _Held:
    """A strong reference that answers like ``weakref.ref``."""

    def __init__(self, frame):
        self._frame = frame

    def __call__(self):
        return self._frame


def _relational(operator: OperatorData, matrix_node: DagNode, state: dict):
    """The frame the featuriser selected columns from, or the matrix node's own frame."""
    dag = operator.dag
    candidates = [matrix_node, *sorted(ancestors(dag, matrix_node), key=lambda n: -n.node_id)]
    for node in candidates:
        if _selects_featuriser_columns(node):
            parent = _featuriser_input(dag, node)
            frame = state["frames"].get(parent)
            if frame is not None and frame() is not None:
                return parent, frame()
    data = operator.inputs[0].data
    return (matrix_node, data) if isinstance(data, pd.DataFrame) else (None, None)


def _labels(values) -> Optional[np.ndarray]:
    if values is None:
        return None
    array = np.asarray(values)
    return array.astype(str) if array.dtype == object else array


def _lineage(annotations: Optional[Dict], names: Dict[int, str]) -> Dict:
    """Per source name, the source row of each row; sources reached only through aggregates under None."""
    lineage = (annotations or {}).get(LINEAGE)
    found: Dict = {}
    if lineage is None or isinstance(lineage, UnknownProvenance):
        return found
    for factor in lineage.factors:
        if isinstance(factor, Factor):
            found.setdefault(names[factor.source], factor.ids)
        else:
            found.setdefault(None, set()).update(names[f.source] for f in factor.members.factors
                                                 if isinstance(f, Factor))
    return found
