"""A variant as the user would write it: the pipeline's source with the patches inserted, run from scratch.

The modified script differs from the original only inside the model's fit and score
calls: their ``X`` argument is wrapped in a call applying the variant's patches, and the
score call's value is recorded. The wrappers are methods of one object the runner puts
into the script's globals (``__lester_whatif__``): the inserted text holds no string
literal, so it is valid inside any f-string. It is what naive re-execution of a variant means (the
benchmark's baseline) and what the tests compare the shared execution against.
"""
from __future__ import annotations

import ast
import contextlib
import io
import os
import sys
from typing import List, Optional, Sequence, Tuple

from lester_inspect.instrumentation.dag import CodeLocation
from lester_inspect.whatif.capture import call_at
from lester_inspect.whatif.execution import Variant
from lester_inspect.whatif.patches import WhatIfError, apply_patches

_INJECTED = "__lester_whatif__"


class _Injected:
    """What the modified script calls: patch a frame, record the score."""

    def __init__(self, variant: Variant):
        self.variant = variant
        self.recorded: dict = {}

    def train(self, frame):
        self.recorded["train_data"] = result = apply_patches(self.variant.train, frame)
        return result

    def test(self, frame):
        self.recorded["test_data"] = result = apply_patches(self.variant.test, frame)
        return result

    def score(self, value):
        self.recorded["score"] = value
        return value


def _x_argument(call: ast.Call, location: CodeLocation) -> ast.expr:
    if call.args and not isinstance(call.args[0], ast.Starred):
        return call.args[0]
    for keyword in call.keywords:
        if keyword.arg == "X":
            return keyword.value
    raise WhatIfError(f"the model call at line {location.lineno} passes no X argument to patch")


def modified_source(source: str, fit_location: Optional[CodeLocation], score_location: CodeLocation,
                    variant: Variant) -> str:
    """``source`` with ``variant``'s patches at the model's fit and score calls, and the score recorded."""
    for location in (fit_location, score_location):
        if location is not None and location.file is not None:
            raise WhatIfError(f"the model call at {location} is in a helper module; only calls in the "
                              "pipeline file itself can be modified")
    tree = ast.parse(source)
    # (line, byte column, text) insertions, applied from the end so earlier offsets stay valid.
    edits: List[Tuple[int, int, str]] = []

    def wrap(node: ast.AST, before: str, after: str) -> None:
        edits.append((node.lineno, node.col_offset, before))
        edits.append((node.end_lineno, node.end_col_offset, after))

    if variant.train:
        if fit_location is None:
            raise WhatIfError("a train-side variant needs the model's fit call in the pipeline file")
        argument = _x_argument(call_at(tree, fit_location), fit_location)
        wrap(argument, f"{_INJECTED}.train(", ")")
    score_call = call_at(tree, score_location)
    if variant.test:
        wrap(_x_argument(score_call, score_location), f"{_INJECTED}.test(", ")")
    wrap(score_call, f"{_INJECTED}.score(", ")")
    lines = source.encode("utf-8").splitlines(keepends=True)
    for lineno, column, text in sorted(edits, key=lambda edit: (edit[0], edit[1]), reverse=True):
        line = lines[lineno - 1]
        lines[lineno - 1] = line[:column] + text.encode("utf-8") + line[column:]
    return b"".join(lines).decode("utf-8")


def run_from_scratch(path: str, fit_location: Optional[CodeLocation], score_location: CodeLocation,
                     variant: Variant, args: Sequence[str] = ()) -> dict:
    """Run ``path`` modified for ``variant``, plainly, in this process, as ``__main__``.

    Returns what the modified script recorded: ``score`` and the patched frames
    (``train_data``/``test_data``), plus ``stdout`` and the script's globals (``namespace``). The script sees its own path as
    ``__file__`` (its data is found next to it) and ``sys.argv == [path, *args]``.
    """
    path = os.path.abspath(path)
    with open(path, encoding="utf-8") as handle:
        code = compile(modified_source(handle.read(), fit_location, score_location, variant), path, "exec")
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
