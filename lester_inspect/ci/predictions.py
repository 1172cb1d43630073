"""The model's predictions on the test examples, observed while the pipeline runs.

Model conditions need, for the pipeline's last evaluation on test data, the test labels
and the model's predictions. A ``score(X_test, y_test)`` call gives both: its operator's
inputs are the features the model saw, the labels and the fitted model. The observer
keeps them and calls the model's ``predict`` once, after the run: only the last
evaluation counts, and the user's run stays exactly as it would be without us (no extra
work, no state a prediction might touch). A model refitted after its last ``score`` call
would be predicted in its refitted state. A ``predict(X_test)`` call gives the
predictions only (enough for ``d``).
"""
from __future__ import annotations

import functools
import hashlib
from typing import Any, Callable, List, Optional

import numpy as np

from lester_inspect.ci.history import CapturedRun
from lester_inspect.instrumentation.dag import DagNode, OperatorType
from lester_inspect.instrumentation.rows import Input


class PredictionError(RuntimeError):
    """The run gave no usable test predictions; the message says what is missing."""


def canonical(values: Any, what: str) -> np.ndarray:
    """One string per example, so that captured and new labels and predictions compare equal.

    Booleans and whole-number floats become integers first (``True``, ``1`` and ``1.0``
    are all ``'1'``): a model may predict another dtype than its labels have.
    """
    array = np.asarray(values)
    if array.ndim == 2 and array.shape[1] == 1:
        array = array[:, 0]
    if array.ndim != 1:
        raise PredictionError(f"model conditions need one {what} per test example, got an array of shape "
                              f"{array.shape}")
    if array.dtype.kind == "b":
        array = array.astype(np.int64)
    elif array.dtype.kind == "f" and np.all(np.isfinite(array)) and np.all(array == np.round(array)):
        array = array.astype(np.int64)
    return array.astype(str)


def fingerprint(test_data: Any, labels: Optional[np.ndarray], count: int) -> str:
    """Identifies the test examples: their number, their index (for pandas data) and labels."""
    digest = hashlib.sha256(str(count).encode())
    index = getattr(test_data, "index", None)
    if index is not None and len(index) == count:
        digest.update("\x1f".join(map(str, index)).encode("utf-8"))
    if labels is not None:
        digest.update(b"\x1e" + "\x1f".join(labels).encode("utf-8"))
    return digest.hexdigest()


class TestPredictionObserver:
    """Run observer keeping the last score/predict operator on test data."""

    def __init__(self):
        self._test_data = None
        self._last: Optional[Callable[[], CapturedRun]] = None
        self._node: Optional[DagNode] = None

    def __call__(self, node: DagNode, inputs: List[Input], output: Any) -> None:
        kind = node.operator_type
        if kind is OperatorType.TEST_DATA and inputs:
            self._test_data = inputs[0].data
        elif kind is OperatorType.PREDICT:
            self._node, self._last = node, functools.partial(self._from_predict, node, output, self._test_data)
        elif kind is OperatorType.SCORE:
            self._node, self._last = node, functools.partial(self._from_score, inputs, self._test_data)

    @staticmethod
    def _from_predict(node: DagNode, output: Any, test_data: Any) -> CapturedRun:
        if node.function.name.rsplit(".", 1)[-1] != "predict":
            raise PredictionError(f"{node.function.name} gives no class predictions")
        predictions = canonical(output, "prediction")
        return CapturedRun(None, predictions, fingerprint(test_data, None, len(predictions)))

    @staticmethod
    def _from_score(inputs: List[Input], test_data: Any) -> CapturedRun:
        model = next((i.data for i in inputs if hasattr(i.data, "predict")), None)
        data = [i.data for i in inputs if not hasattr(i.data, "predict")]
        if model is None or len(data) < 2:
            raise PredictionError("the scored model or its test labels are not known")
        predictions, labels = canonical(model.predict(data[0]), "prediction"), canonical(data[1], "label")
        if labels.shape != predictions.shape:
            raise PredictionError(f"{len(labels)} test labels but {len(predictions)} predictions")
        return CapturedRun(labels, predictions, fingerprint(test_data, labels, len(predictions)))

    def captured(self) -> CapturedRun:
        """After the run: the test labels and predictions, or an error saying why there are none."""
        if self._last is None:
            raise PredictionError(
                "the pipeline never evaluates a model on test data; model conditions need a "
                "model.score(X_test, y_test) call (or model.predict(X_test) for conditions on d only)")
        try:
            return self._last()
        except PredictionError as error:
            raise PredictionError(f"cannot get the model's test predictions at {self._node}: {error}") from error
        except Exception as error:
            raise PredictionError(f"cannot get the model's test predictions at {self._node}: "
                                  f"{type(error).__name__}: {error}") from error
