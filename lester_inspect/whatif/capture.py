"""What a what-if analysis keeps of the plain run: the model's fit call and how the script measures it.

The user's top-level ``fit`` (of a Pipeline, or a bare model) is kept with its arguments,
and so is the measurement of the fitted model: either its ``score(X, y)`` call, or a
``sklearn.metrics`` function of ``(y_true, predictions)`` whose predictions are the
output of one ``predict`` / ``predict_proba`` / ``decision_function`` call of the model
(or one column of it, ``model.predict_proba(X)[:, 1]``). Everything the script computed
before those calls (reading, joining, filtering, splitting) is the prefix all variants share.
"""
from __future__ import annotations

import ast
import contextlib
import dataclasses
import functools
import inspect
import numbers
from typing import Any, Callable, List, Optional

import numpy as np

from lester_inspect.instrumentation.dag import CodeLocation, DagNode, OperatorType
from lester_inspect.instrumentation.patching import PatchSet
from lester_inspect.whatif.patches import WhatIfError
from lester_inspect.whatif.recompute import CallTrace

#: The names ``sklearn.metrics`` functions give their second parameter, the model's output.
PREDICTION_PARAMETERS = ("y_pred", "y_score", "y_proba", "pred_decision")


@dataclasses.dataclass
class Metric:
    """A ``sklearn.metrics`` call of the script: ``function(y_true, predictions, ...)`` at ``location``.

    ``arguments`` are the call's bound arguments (the other ones, ``average="macro"``, are
    passed again as they were); ``column`` is the column of the model's output the call
    was given (``predict_proba(X)[:, 1]``), None for the whole output.
    """

    function: Callable
    arguments: inspect.BoundArguments
    prediction_parameter: str
    column: Optional[int]
    location: CodeLocation

    def of(self, y_true, outputs) -> float:
        """The metric of ``outputs`` (what the model's method returned), as the script computes it."""
        arguments = self.arguments.arguments.copy()
        arguments["y_true"] = y_true
        arguments[self.prediction_parameter] = outputs if self.column is None else outputs[:, self.column]
        bound = inspect.BoundArguments(self.arguments.signature, arguments)
        return float(self.function(*bound.args, **bound.kwargs))

    @property
    def name(self) -> str:
        return self.function.__name__

    @property
    def greater_is_better(self) -> bool:
        # scikit-learn's naming: its scorers negate exactly the metrics named *_error and *_loss.
        return not self.name.endswith(("_error", "_loss"))


@dataclasses.dataclass
class ModelCall:
    """One top-level call of the model: ``estimator.<method>(X, y)`` at ``location``.

    A ``predict`` (or ``predict_proba``, ``decision_function``) call measured by a metric
    has that ``metric``, and ``y`` is the metric's ``y_true``; ``output`` is what it returned.
    """

    estimator: Any
    method: str
    X: Any
    y: Any
    location: Optional[CodeLocation]
    output: Any = None
    metric: Optional[Metric] = None
    #: The run's trace keys of ``X`` and ``y`` as the call got them (``recompute.CallTrace``; None: not recorded).
    keys: tuple = (None, None)

    def measure(self, final_estimator, features, y=None) -> float:
        """What the script's measurement returns when ``final_estimator`` gets ``features`` (and labels ``y``,
        if not the run's)."""
        y = self.y if y is None else y
        if self.metric is None:
            return float(final_estimator.score(features, y))
        return self.metric.of(y, getattr(final_estimator, self.method)(features))

    @property
    def greater_is_better(self) -> bool:
        """Whether a higher measurement is a better model (``score`` is accuracy or R²)."""
        return self.metric is None or self.metric.greater_is_better

    @property
    def measured_at(self) -> Optional[CodeLocation]:
        """The call whose value is the variant's result: the metric's, or the score call itself."""
        return self.metric.location if self.metric is not None else self.location

    def describe(self) -> str:
        if self.metric is None:
            return f"{self.method} at {self.location}"
        return f"{self.metric.name} at {self.metric.location} of {self.method} at {self.location}"


class ModelCapture:
    """An observer keeping the model's top-level fit, score and predict calls of one run, and its metric calls.

    The metric calls are seen through ``sklearn.metrics``' functions wrapped for the run
    (``patched_metrics``): a call from the user's code is recorded with its arguments and
    result, and otherwise runs exactly as it would.
    """

    def __init__(self, run):
        self._run = run
        self.fits: List[ModelCall] = []
        self.scores: List[ModelCall] = []
        self.predicts: List[ModelCall] = []
        self.metrics: List[tuple] = []  # (function, OperatorCall, result)
        # Every recorded call as a recipe (rule 8 re-executes those a dropped filter reaches).
        self.trace = CallTrace()
        run.tracer = self.trace

    @contextlib.contextmanager
    def patched_metrics(self):
        """``sklearn.metrics``' functions of (y_true, predictions) record their calls from the user's code."""
        import sklearn.metrics

        patches = PatchSet()
        try:
            for name in sklearn.metrics.__all__:
                function = getattr(sklearn.metrics, name)
                if _measures_predictions(function):
                    patches.apply(sklearn.metrics, name, self._run.wrap(function, functools.partial(
                        self._metric_called, function)))
            yield
        finally:
            patches.revert()

    def _metric_called(self, function, call, result) -> None:
        # The trace keys of the arguments now: a later in-place change must not count as what it got.
        keys = {id(value): self.trace.key_of(value) for value in (*call.args, *call.kwargs.values())}
        self.metrics.append((function, call, result, keys))

    def _root_call(self):
        """The user's call a Pipeline expands into the step being recorded (None for a bare model)."""
        from lester_inspect.backends.sklearn_backend import SklearnBackend

        for backend in self._run.backends:
            if isinstance(backend, SklearnBackend) and backend.stack:
                return backend.stack[0]
        return None

    def __call__(self, node: DagNode, inputs, output) -> None:
        self.trace.observe(node, inputs, output)
        kinds = {OperatorType.ESTIMATOR: self.fits, OperatorType.SCORE: self.scores,
                 OperatorType.PREDICT: self.predicts}
        calls = kinds.get(node.operator_type)
        if calls is None:
            return
        root = self._root_call()
        if root is not None:
            kept = output if calls is self.predicts else None
            if any(call.estimator is root.estimator and call.X is root.X and call.output is kept for call in calls):
                return  # a search refitting inside the same user call
            calls.append(ModelCall(root.estimator, root.method, root.X, root.y, root.location, kept))
        elif node.operator_type is OperatorType.ESTIMATOR:
            calls.append(ModelCall(output, "fit", inputs[0].data, inputs[1].data if len(inputs) > 1 else None,
                                   node.code_location))
        elif node.operator_type is OperatorType.SCORE:
            by_role = list(inputs)
            calls.append(ModelCall(by_role[-1].data, "score", by_role[0].data, by_role[1].data, node.code_location))
        else:
            method = node.description.rsplit(": ", 1)[-1]
            calls.append(ModelCall(inputs[-1].data, method, inputs[0].data, None, node.code_location, output))
        calls[-1].keys = (self.trace.key_of(calls[-1].X), self.trace.key_of(calls[-1].y))

    @property
    def pipeline_path(self) -> Optional[str]:
        return self._run.source.path

    @property
    def source_tree(self) -> ast.Module:
        return self._run.source.tree

    def _measured_predictions(self) -> List[ModelCall]:
        """Each metric call of a predict call's output (or one column of it) as that predict call, measured."""
        measured = []
        for function, call, result, keys in self.metrics:
            if not isinstance(result, numbers.Real) and not (getattr(result, "shape", None) == ()
                                                             and getattr(result, "dtype", None) is not None
                                                             and result.dtype.kind in "fiub"):
                continue  # a curve, a report, a confusion matrix: not a number a variant could be compared by
            bound = inspect.signature(function).bind(*call.args, **call.kwargs)
            parameter = list(bound.signature.parameters)[1]
            predictions = bound.arguments.get(parameter)
            for predict in self.predicts:
                column = _column_of(predict.output, predictions)
                if column is not False:
                    metric = Metric(function, bound, parameter, column, call.location)
                    y_true = bound.arguments.get("y_true")
                    measured.append(dataclasses.replace(predict, y=y_true, metric=metric,
                                                        keys=(predict.keys[0], keys.get(id(y_true)))))
        return measured

    def model_calls(self):
        """The one fit and the one measurement the analyses vary; a clear error for any other shape."""
        measurements = self.scores + self._measured_predictions()
        if len(self.fits) != 1 or len(measurements) != 1:
            where = ", ".join([f"fit at {call.location}" for call in self.fits]
                              + [call.describe() for call in measurements]) or "none"
            raise WhatIfError(
                "what-if analyses need a pipeline that fits one model once and measures it once, with "
                "model.score(X_test, y_test) or a sklearn.metrics function of the model's predictions, e.g. "
                f"accuracy_score(y_test, model.predict(X_test)); this run has {len(self.fits)} fit(s) and "
                f"{len(measurements)} measurement(s) ({where})")
        fit, score = self.fits[0], measurements[0]
        if score.estimator is not fit.estimator:
            raise WhatIfError(f"the model measured at {score.location} is not the one fitted at {fit.location}")
        for call in (fit, score):
            if call.location is not None and call.location.file is None:
                _check_arguments(call_at(self._run.source.tree, call.location), call)
        if score.metric is not None and score.metric.location.file is not None:
            raise WhatIfError(f"the metric at {score.metric.location} is in a helper module; only the pipeline "
                              "file itself can be modified")
        return fit, score


def _measures_predictions(function) -> bool:
    """Whether ``function`` is a metric of ``(y_true, <the model's output>)``."""
    if not inspect.isfunction(function):
        return False
    try:
        parameters = list(inspect.signature(function).parameters)
    except (TypeError, ValueError):
        return False
    return len(parameters) >= 2 and parameters[0] == "y_true" and parameters[1] in PREDICTION_PARAMETERS


def _column_of(output, predictions):
    """None if ``predictions`` is ``output``, ``k`` if it is ``output[:, k]`` (a view), else False."""
    if predictions is output:
        return None
    if not (isinstance(output, np.ndarray) and isinstance(predictions, np.ndarray) and output.ndim == 2
            and predictions.ndim == 1 and predictions.base is (output.base if output.base is not None else output)
            and len(predictions) == len(output)):
        return False
    for column in range(output.shape[1]):
        view = output[:, column]
        if (view.__array_interface__["data"][0] == predictions.__array_interface__["data"][0]
                and view.strides == predictions.strides):
            return column
    return False


def call_at(tree: ast.AST, location: CodeLocation) -> ast.Call:
    """The call expression spanning exactly ``location`` in ``tree``."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and (node.lineno, node.col_offset, node.end_lineno, node.end_col_offset) == (
                location.lineno, location.col_offset, location.end_lineno, location.end_col_offset):
            return node
    raise WhatIfError(f"no call at line {location.lineno}:{location.col_offset} of the pipeline's source")


def _check_arguments(call: ast.Call, model_call: ModelCall) -> None:
    """Variants call ``fit(X, y)`` / ``score(X, y)`` / ``predict(X)``: other arguments (sample weights) would
    be dropped."""
    named = ("X", "y") if model_call.method in ("fit", "score") else ("X",)
    extra = [ast.unparse(arg) for arg in call.args[len(named):]] + [
        f"{keyword.arg}=..." if keyword.arg else "**..." for keyword in call.keywords if keyword.arg not in named]
    if extra or any(isinstance(arg, ast.Starred) for arg in call.args):
        raise WhatIfError(f"the model's {model_call.method} at {model_call.location} passes arguments besides X "
                          f"and y ({', '.join(extra) or '*args'}); what-if variants support only "
                          f"{model_call.method}(X, y)")
