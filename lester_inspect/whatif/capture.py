"""What a what-if analysis keeps of the plain run: the model's fit call and its score call.

The user's top-level ``fit`` (of a Pipeline, or a bare model) and ``score`` calls are kept
with their arguments: the fitted model, the frame it was fitted on and the frame it was
scored on, and where in the script each call is. Everything the script computed before
those calls (reading, joining, filtering, splitting) is the prefix all variants share.
"""
from __future__ import annotations

import ast
import dataclasses
from typing import Any, List, Optional

from lester_inspect.instrumentation.dag import CodeLocation, DagNode, OperatorType
from lester_inspect.whatif.patches import WhatIfError


@dataclasses.dataclass
class ModelCall:
    """One top-level call of the model: ``estimator.<method>(X, y)`` at ``location``."""

    estimator: Any
    method: str
    X: Any
    y: Any
    location: Optional[CodeLocation]


class ModelCapture:
    """An observer keeping the model's top-level fit and score calls of one run."""

    def __init__(self, run):
        self._run = run
        self.fits: List[ModelCall] = []
        self.scores: List[ModelCall] = []

    def _root_call(self):
        """The user's call a Pipeline expands into the step being recorded (None for a bare model)."""
        from lester_inspect.backends.sklearn_backend import SklearnBackend

        for backend in self._run.backends:
            if isinstance(backend, SklearnBackend) and backend.stack:
                return backend.stack[0]
        return None

    def __call__(self, node: DagNode, inputs, output) -> None:
        if node.operator_type not in (OperatorType.ESTIMATOR, OperatorType.SCORE):
            return
        root = self._root_call()
        calls = self.fits if node.operator_type is OperatorType.ESTIMATOR else self.scores
        if root is not None:
            if any(call.estimator is root.estimator and call.X is root.X for call in calls):
                return  # a search refitting inside the same user call
            calls.append(ModelCall(root.estimator, root.method, root.X, root.y, root.location))
        elif node.operator_type is OperatorType.ESTIMATOR:
            calls.append(ModelCall(output, "fit", inputs[0].data, inputs[1].data if len(inputs) > 1 else None,
                                   node.code_location))
        else:
            by_role = list(inputs)
            calls.append(ModelCall(by_role[-1].data, "score", by_role[0].data, by_role[1].data, node.code_location))

    @property
    def pipeline_path(self) -> Optional[str]:
        return self._run.source.path

    def model_calls(self):
        """The one fit and the one score the analyses vary; a clear error for any other shape."""
        if len(self.fits) != 1 or len(self.scores) != 1:
            where = ", ".join(f"{call.method} at {call.location}" for call in self.fits + self.scores) or "none"
            raise WhatIfError(
                "what-if analyses need a pipeline that fits one model once and scores it once with "
                f"model.score(X_test, y_test); this run has {len(self.fits)} fit(s) and {len(self.scores)} "
                f"score(s) ({where})")
        fit, score = self.fits[0], self.scores[0]
        if score.estimator is not fit.estimator:
            raise WhatIfError(f"the model scored at {score.location} is not the one fitted at {fit.location}")
        for call in (fit, score):
            if call.location is not None and call.location.file is None:
                _check_arguments(call_at(self._run.source.tree, call.location), call)
        return fit, score


def call_at(tree: ast.AST, location: CodeLocation) -> ast.Call:
    """The call expression spanning exactly ``location`` in ``tree``."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and (node.lineno, node.col_offset, node.end_lineno, node.end_col_offset) == (
                location.lineno, location.col_offset, location.end_lineno, location.end_col_offset):
            return node
    raise WhatIfError(f"no call at line {location.lineno}:{location.col_offset} of the pipeline's source")


def _check_arguments(call: ast.Call, model_call: ModelCall) -> None:
    """Variants call ``fit(X, y)`` / ``score(X, y)``: other arguments (sample weights) would be dropped."""
    extra = [ast.unparse(arg) for arg in call.args[2:]] + [
        f"{keyword.arg}=..." if keyword.arg else "**..." for keyword in call.keywords if keyword.arg not in ("X", "y")]
    if extra or any(isinstance(arg, ast.Starred) for arg in call.args):
        raise WhatIfError(f"the model's {model_call.method} at {model_call.location} passes arguments besides X "
                          f"and y ({', '.join(extra) or '*args'}); what-if variants support only "
                          f"{model_call.method}(X, y)")
