"""statsmodels: ``OLS``/``Logit``/``GLM`` (and the formula API) fit and predict, ``add_constant``.

Nothing of statsmodels is imported or patched: the AST rewrite routes user calls of
``fit``, ``predict`` and ``add_constant`` through the call hook (see numpy_backend),
and this backend records them when the receiver is a statsmodels object. A model
keeps the user's data (``model.data.orig_exog``/``orig_endog``, or the formula's
frame and the labels of the rows it used), so a fit becomes TRAIN_DATA and
TRAIN_LABELS nodes of those rows and an ESTIMATOR whose output is the results object.
"""
from __future__ import annotations

from typing import Any, Dict

import numpy as np

from lester_inspect.instrumentation.dag import FunctionInfo, OperatorType
from lester_inspect.instrumentation.rows import IDENTITY, Input, Positions, Unknown
from lester_inspect.instrumentation.run import InstrumentedRun, OperatorCall, columns_of

T = OperatorType


def _is_statsmodels(obj: Any) -> bool:
    return type(obj).__module__.startswith("statsmodels.") or getattr(obj, "__name__", "").startswith("statsmodels")


class StatsmodelsBackend:
    def __init__(self, run: InstrumentedRun):
        self.run = run

    def install(self, patches) -> None:
        """Nothing to patch: statsmodels calls are seen through the call hook."""

    def hooked_calls(self) -> Dict[str, Any]:
        return {"fit": self._fit, "predict": self._predict, "add_constant": self._add_constant}

    def _fit(self, receiver, name: str, args: tuple, kwargs: dict):
        if not (_is_statsmodels(receiver) and hasattr(receiver, "data") and hasattr(receiver, "endog")):
            return None
        return FunctionInfo(type(receiver).__module__, f"{type(receiver).__name__}.fit"), fit

    def _predict(self, receiver, name: str, args: tuple, kwargs: dict):
        if not (_is_statsmodels(receiver) and hasattr(receiver, "model")):
            return None
        return FunctionInfo(type(receiver.model).__module__, f"{type(receiver.model).__name__}.predict"), predict

    def _add_constant(self, receiver, name: str, args: tuple, kwargs: dict):
        if not _is_statsmodels(receiver):
            return None
        return FunctionInfo("statsmodels.tools.tools", "add_constant"), add_constant


def _model_rows(model) -> Any:
    """How the model's rows relate to the frame a formula was given (NA rows are dropped)."""
    frame, labels = model.data.frame, getattr(model.data, "row_labels", None)
    if labels is None:
        return Unknown("statsmodels did not say which rows of the formula's data it used")
    if not frame.index.is_unique:
        return Unknown("the formula's data has duplicate row labels")
    return Positions(frame.index.get_indexer(labels))


def fit(call: OperatorCall, results) -> None:
    run, model = call.run, call.args[0]
    name = type(model).__name__
    frame = getattr(model.data, "frame", None)
    if frame is not None and getattr(model, "formula", None) is not None:
        rows = _model_rows(model)
        data = run.add_node(T.TRAIN_DATA, call.function, call.location, "Train data", model.exog_names,
                            [run.input(frame, call.location, rows)], model.exog)
        labels = run.add_node(T.TRAIN_LABELS, call.function, call.location, "Train labels", [model.endog_names],
                              [run.input(frame, call.location, rows)], model.endog)
        inputs = [Input(data, model.exog), Input(labels, model.endog)]
    else:
        exog, endog = model.data.orig_exog, model.data.orig_endog
        data = run.add_node(T.TRAIN_DATA, call.function, call.location, "Train data", _names(run, exog, call),
                            [_input(run, exog, model.exog, call)])
        labels = run.add_node(T.TRAIN_LABELS, call.function, call.location, "Train labels",
                              _names(run, endog, call), [_input(run, endog, model.endog, call)])
        inputs = [Input(data, exog), Input(labels, endog)]
    run.add_node(T.ESTIMATOR, call.function, call.location, f"{name}: fit", [], inputs, results)


def _input(run: InstrumentedRun, given, used, call: OperatorCall) -> Input:
    rows = IDENTITY if len(given) == len(used) else Unknown(
        f"{call.function}: the model dropped rows of the data it was given (missing='drop')")
    return run.input(given, call.location, rows)


def _names(run: InstrumentedRun, obj, call: OperatorCall) -> list:
    node = run.input_node(obj, call.location)
    names = columns_of(obj)
    if node is not None and not hasattr(obj, "columns") and len(node.columns) == len(names):
        return list(node.columns)
    return names


def predict(call: OperatorCall, result) -> None:
    run, results = call.run, call.args[0]
    exog = call.arg(1, "exog")
    fitted = run.tracked(results)
    model_input = Input(fitted.node if fitted is not None else None, results, rows=None)
    name = type(results.model).__name__
    if exog is None:
        # Predictions for the training rows: the fit's own data.
        parents = list(run.dag.predecessors(fitted.node)) if fitted is not None else []
        data = next((p for p in parents if p.operator_type is T.TRAIN_DATA), None)
        inputs = [Input(data, results.model.exog)]
    else:
        rows = IDENTITY if len(exog) == len(result) else Unknown(f"{call.function}: rows were dropped")
        source = run.input(exog, call.location, rows)
        test = run.add_node(T.TEST_DATA, call.function, call.location, "Test data", _names(run, exog, call),
                            [source])
        inputs = [Input(test, exog, rows)]
    run.add_node(T.PREDICT, call.function, call.location, f"{name}: predict", ["predict"],
                 [*inputs, model_input], result)


def add_constant(call: OperatorCall, result) -> None:
    run, data = call.run, call.arg(1, "data")
    node = run.input_node(data, call.location, untracked_as_source=False)
    if node is None:
        return
    columns = columns_of(result)
    if not hasattr(result, "columns") and len(columns) == len(node.columns) + 1:
        prepend = call.arg(2, "prepend", True)
        columns = ["const", *node.columns] if prepend else [*node.columns, "const"]
    elif not hasattr(result, "columns") and len(columns) == len(node.columns):
        columns = list(node.columns)
    added = "Add constant column" if _width(result) > _width(data) else "Add constant column (already present)"
    run.add_node(T.PROJECTION_MODIFY, call.function, call.location, added, columns,
                 [Input(node, data, IDENTITY)], result)


def _width(obj) -> int:
    shape = np.shape(obj)
    return shape[1] if len(shape) == 2 else 1
