"""A variant as the user would write it: the pipeline's source with the changes inserted, run from scratch.

The modified script differs from the original only in these places: the model's fit and
score (or predict) calls get their ``X`` (and the fit its ``y``) wrapped in a call applying
the variant's patches, the fit's receiver is wrapped when the variant sets model parameters,
the score call's value (or the metric call's, when a metric measures the predictions) is
recorded, and a dropped filter's expression is replaced by the frame it filters. The
wrappers are methods of one object the runner puts into the script's globals
(``__lester_whatif__``): the inserted text holds no string literal, so it is valid inside
any f-string. This is what naive re-execution of a variant means (the benchmark's
baseline), what the tests compare the shared execution against, and how a variant
changing the script before the model's fit runs where rule 8 does not apply (rule 7).
"""
from __future__ import annotations

import ast
import contextlib
import io
import os
import sys
from typing import List, Optional, Sequence, Tuple

import pandas as pd

from lester_inspect.instrumentation.dag import CodeLocation
from lester_inspect.instrumentation.source import PipelineSource
from lester_inspect.whatif.capture import call_at
from lester_inspect.whatif.execution import Variant, fresh_params
from lester_inspect.whatif.patches import WhatIfError, apply_patches_keeping, rows_kept

_INJECTED = "__lester_whatif__"


class _Injected:
    """What the modified script calls: patch a frame, set model parameters, record the score."""

    def __init__(self, variant: Variant):
        self.variant = variant
        self.recorded: dict = {}
        self._kept = None

    def train(self, frame):
        result, self._kept = apply_patches_keeping(self.variant.train, frame)
        self.recorded["train_data"] = _as_now(result)
        return result

    def train_labels(self, labels):
        return rows_kept(labels, self._kept)  # the fit's X is evaluated, and patched, before its y

    def test(self, frame):
        result = apply_patches_keeping(self.variant.test, frame)[0]
        self.recorded["test_data"] = _as_now(result)
        return result

    def model(self, estimator):
        return estimator.set_params(**fresh_params(self.variant.model_params))

    def score(self, value):
        self.recorded["score"] = value
        return value


def _as_now(frame):
    """``frame`` as the model call gets it: the script may change the same object in place afterwards."""
    return frame.copy(deep=False) if isinstance(frame, (pd.DataFrame, pd.Series)) else frame


def _argument(call: ast.Call, position: int, name: str, location: CodeLocation) -> ast.expr:
    if len(call.args) > position and not isinstance(call.args[position], ast.Starred):
        return call.args[position]
    for keyword in call.keywords:
        if keyword.arg == name:
            return keyword.value
    raise WhatIfError(f"the model call at line {location.lineno} passes no {name} argument to patch")


def _filtered_frame(tree: ast.AST, location: CodeLocation) -> Tuple[ast.AST, ast.expr]:
    """The filter expression at ``location`` (``df[mask]``, ``df.loc[mask]``, ``df.dropna()``) and the frame it
    filters."""
    span = (location.lineno, location.col_offset, location.end_lineno, location.end_col_offset)
    for node in ast.walk(tree):
        if getattr(node, "lineno", None) is None:
            continue
        if (node.lineno, node.col_offset, node.end_lineno, node.end_col_offset) != span:
            continue
        if isinstance(node, ast.Subscript):
            indexed = node.value  # df.loc[mask] filters df
            if isinstance(indexed, ast.Attribute) and indexed.attr in ("loc", "iloc"):
                return node, indexed.value
            return node, indexed
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            return node, node.func.value
    raise WhatIfError(f"the filter at line {location.lineno}:{location.col_offset} is neither df[...] nor "
                      "df.method(...)")


def modified_source(source: str, fit_location: Optional[CodeLocation], score_location: CodeLocation,
                    variant: Variant, metric_location: Optional[CodeLocation] = None) -> str:
    """``source`` changed for ``variant`` (see the module's docstring), recording the score and frames.

    ``score_location`` is the model's call on the test frame (``score`` or ``predict``); the value
    recorded is that call's, or the call's at ``metric_location`` if given.
    """
    for location in (fit_location, score_location, metric_location, *variant.removed_filters):
        if location is not None and location.file is not None:
            raise WhatIfError(f"the call at {location} is in a helper module; only the pipeline file itself "
                              "can be modified")
    tree = ast.parse(source)
    lines = source.encode("utf-8").splitlines(keepends=True)
    # (line, column, end line, end column, text) replacements in bytes, applied from the end.
    edits: List[Tuple[int, int, int, int, str]] = []

    def wrap(node: ast.AST, before: str, after: str) -> None:
        edits.append((node.lineno, node.col_offset, node.lineno, node.col_offset, before))
        edits.append((node.end_lineno, node.end_col_offset, node.end_lineno, node.end_col_offset, after))

    def text_of(node: ast.AST) -> str:
        if node.lineno == node.end_lineno:
            return lines[node.lineno - 1][node.col_offset:node.end_col_offset].decode("utf-8")
        return b"".join([lines[node.lineno - 1][node.col_offset:], *lines[node.lineno:node.end_lineno - 1],
                         lines[node.end_lineno - 1][:node.end_col_offset]]).decode("utf-8")

    if fit_location is not None:
        fit_call = call_at(tree, fit_location)
        wrap(_argument(fit_call, 0, "X", fit_location), f"{_INJECTED}.train(", ")")
        wrap(_argument(fit_call, 1, "y", fit_location), f"{_INJECTED}.train_labels(", ")")
        if variant.model_params:
            if not isinstance(fit_call.func, ast.Attribute):
                raise WhatIfError(f"the model's fit at line {fit_location.lineno} is not model.fit(...)")
            wrap(fit_call.func.value, f"{_INJECTED}.model(", ")")
    elif variant.train or variant.model_params:
        raise WhatIfError("a variant changing the training side needs the model's fit call in the pipeline file")
    score_call = call_at(tree, score_location)
    wrap(_argument(score_call, 0, "X", score_location), f"{_INJECTED}.test(", ")")
    wrap(score_call if metric_location is None else call_at(tree, metric_location), f"{_INJECTED}.score(", ")")
    for location in variant.removed_filters:
        expression, frame = _filtered_frame(tree, location)
        edits.append((expression.lineno, expression.col_offset, expression.end_lineno, expression.end_col_offset,
                      f"({text_of(frame)})"))
    for lineno, column, end_lineno, end_column, text in sorted(edits, key=lambda edit: edit[:2], reverse=True):
        before, after = lines[lineno - 1][:column], lines[end_lineno - 1][end_column:]
        lines[lineno - 1:end_lineno] = [before + text.encode("utf-8") + after]
    return b"".join(lines).decode("utf-8")


def run_from_scratch(path: str, fit_location: Optional[CodeLocation], score_location: CodeLocation,
                     variant: Variant, args: Sequence[str] = (), metric_location: Optional[CodeLocation] = None
                     ) -> dict:
    """Run ``path`` modified for ``variant``, plainly, in this process, as ``__main__``.

    Returns what the modified script recorded: ``score`` and the patched frames
    (``train_data``/``test_data``), plus ``stdout`` and the script's globals (``namespace``).
    The script sees its own path as ``__file__`` (its data is found next to it) and
    ``sys.argv == [path, *args]``.
    """
    path = os.path.abspath(path)
    text = PipelineSource.from_path(path).text  # a notebook's cells as one script, as its locations count
    code = compile(modified_source(text, fit_location, score_location, variant, metric_location), path, "exec")
    injected = _Injected(variant)
    namespace = {"__name__": "__main__", "__file__": path, "__builtins__": __builtins__, _INJECTED: injected}
    saved_argv, saved_path = sys.argv, list(sys.path)
    sys.argv, sys.path[0:0] = [path, *map(str, args)], [os.path.dirname(path)]
    output = io.StringIO()
    try:
        with contextlib.redirect_stdout(output):
            exec(code, namespace)
    finally:
        sys.argv, sys.path[:] = saved_argv, saved_path
    recorded = dict(injected.recorded, stdout=output.getvalue(), namespace=namespace)
    if "score" not in recorded:
        raise WhatIfError(f"{path}: the modified script finished without reaching its score call")
    return recorded


class SharedPrefix:
    """Variants that change a script, run from the first statement any of them changes.

    The script's top-level statements before that one are run once (plainly, as in
    ``run_from_scratch``); each variant then runs only its own remaining statements in a
    copy of that namespace: frames copied (lazily, copy-on-write), other values deep-copied,
    modules, functions and classes shared, and the global random states (numpy, random,
    torch) reset to where the prefix left them. Where sharing could differ from a run from
    scratch — a function or class of the prefix reads a global name a variant assigns, or
    a value cannot be copied — each variant runs from scratch instead, and ``fallback`` says why.
    """

    def __init__(self, path: str, fit_location: Optional[CodeLocation], score_location: CodeLocation,
                 variants: Sequence[Variant], args: Sequence[str] = (),
                 metric_location: Optional[CodeLocation] = None):
        self.path, self.args = os.path.abspath(path), list(args)
        self.fit_location, self.score_location, self.metric_location = fit_location, score_location, metric_location
        text = PipelineSource.from_path(self.path).text
        original = [ast.dump(statement) for statement in ast.parse(text).body]
        self.bodies = {variant.name: ast.parse(modified_source(text, fit_location, score_location, variant,
                                                               metric_location)).body
                       for variant in variants}
        self.start = min((next((i for i, (a, b) in enumerate(zip(original, map(ast.dump, body))) if a != b),
                               len(body)) for body in self.bodies.values()), default=0)
        self.fallback: Optional[str] = None
        some_body = next(iter(self.bodies.values()), [])
        self.namespace = {"__name__": "__main__", "__file__": self.path, "__builtins__": __builtins__}
        with self._as_script():
            exec(compile(ast.Module(body=some_body[:self.start], type_ignores=[]), self.path, "exec"), self.namespace)
        self.random_states = _random_states()
        read = _globals_read(self.namespace)
        assigned = {name for body in self.bodies.values() for name in _names_assigned(body[self.start:])}
        if read & assigned:
            self.fallback = (f"a function or class defined before line {some_body[self.start].lineno} reads "
                             f"{', '.join(sorted(read & assigned))}, which a variant assigns")

    @contextlib.contextmanager
    def _as_script(self):
        saved_argv, saved_path = sys.argv, list(sys.path)
        sys.argv, sys.path[0:0] = [self.path, *map(str, self.args)], [os.path.dirname(self.path)]
        self.output = io.StringIO()
        try:
            with contextlib.redirect_stdout(self.output):
                yield
        finally:
            sys.argv, sys.path[:] = saved_argv, saved_path

    def run(self, variant: Variant) -> dict:
        """What ``run_from_scratch`` returns for ``variant`` (which must be one of the variants given)."""
        namespace = _isolated(self.namespace) if self.fallback is None else None
        if namespace is None:
            self.fallback = self.fallback or "a value of the shared statements cannot be copied"
            return run_from_scratch(self.path, self.fit_location, self.score_location, variant, self.args,
                                    self.metric_location)
        injected = namespace[_INJECTED] = _Injected(variant)
        _set_random_states(self.random_states)
        body = self.bodies[variant.name][self.start:]
        with self._as_script():
            exec(compile(ast.Module(body=body, type_ignores=[]), self.path, "exec"), namespace)
        recorded = dict(injected.recorded, stdout=self.output.getvalue(), namespace=namespace)
        if "score" not in recorded:
            raise WhatIfError(f"{self.path}: the modified script finished without reaching its score call")
        return recorded


def _isolated(namespace: dict) -> Optional[dict]:
    """A copy of ``namespace`` no variant can change the original through; None if a value cannot be copied."""
    import copy
    import types

    shared = (types.ModuleType, types.FunctionType, types.BuiltinFunctionType, type)
    copied = {}
    for name, value in namespace.items():
        if name == "__builtins__" or isinstance(value, shared):
            copied[name] = value
        elif isinstance(value, (pd.DataFrame, pd.Series)):
            copied[name] = value.copy()
        else:
            try:
                copied[name] = copy.deepcopy(value)
            except Exception:  # an object deepcopy refuses (a lock, a file): no sharing
                return None
    return copied


def _globals_read(namespace: dict) -> set:
    """Global names the functions and classes defined by the script read (their code objects' names)."""
    import types

    def names(code) -> set:
        found = set(code.co_names)
        for constant in code.co_consts:
            if isinstance(constant, types.CodeType):
                found |= names(constant)
        return found

    read = set()
    for value in namespace.values():
        if isinstance(value, types.FunctionType) and value.__module__ == "__main__":
            read |= names(value.__code__)
        elif isinstance(value, type) and value.__module__ == "__main__":
            for member in vars(value).values():
                function = getattr(member, "__func__", member)
                if isinstance(function, types.FunctionType):
                    read |= names(function.__code__)
    return read


def _names_assigned(body) -> set:
    """Every name the statements bind (an over-approximation: any scope)."""
    assigned = set()
    for node in ast.walk(ast.Module(body=body, type_ignores=[])):
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            assigned.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            assigned.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            assigned |= {(alias.asname or alias.name).split(".")[0] for alias in node.names}
        elif isinstance(node, ast.Global):
            assigned |= set(node.names)
    return assigned


def _random_states() -> dict:
    import random

    import numpy as np

    states = {"random": random.getstate(), "numpy": np.random.get_state()}
    if "torch" in sys.modules:
        states["torch"] = sys.modules["torch"].get_rng_state()
    return states


def _set_random_states(states: dict) -> None:
    import random

    import numpy as np

    random.setstate(states["random"])
    np.random.set_state(states["numpy"])
    if "torch" in states:
        sys.modules["torch"].set_rng_state(states["torch"])
