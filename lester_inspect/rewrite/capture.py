"""Inside the sandbox: run one pipeline under instrumentation and save what its final model's fit received.

Run by :mod:`lester_inspect.rewrite.sandbox` as
``python -m lester_inspect.rewrite.capture --script FILE --as PATH --out DIR [...] -- ARGS``;
not an API. First it limits the number of processes (``RLIMIT_NPROC``, set here,
inside the sandbox's user namespace, so that it counts only the sandbox's
processes) and, for ``--candidate``, installs the audit hook of :mod:`.guard`. The pipeline text comes from ``FILE`` but runs as if it were the
file ``PATH`` (its ``__file__``, its folder on ``sys.path``, its tracebacks), so
a candidate behaves as it will once written next to the original.
``--sample-rows N`` makes every ``.csv``/``.tsv``/``.txt``/``.data`` file opened
for reading (through ``open``, as pandas' default CSV reader does) look like its
header and first N lines.

``DIR`` receives ``X.npy`` and ``y.npy`` (the arguments of the last fit of an
estimator with ``predict``, copied at fit time, ``X`` as dense float64) and ``capture.json``: the model
class and parameters, the feature names, a summary of the DAG, and for
``--candidate`` whether ``encode_features()`` returns an unfitted
``ColumnTransformer``. On failure ``capture.json`` holds the traceback instead.
"""
from __future__ import annotations

import argparse
import builtins
import io
import json
import linecache
import os
import resource
import sys
import traceback
from typing import Any, Dict, List, Optional

_SAMPLED_SUFFIXES = (".csv", ".tsv", ".txt", ".data")
_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_MAX_FRAMES = 12


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lester_inspect.rewrite.capture")
    parser.add_argument("--script", required=True)
    parser.add_argument("--as", dest="path", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--processes", type=int)
    parser.add_argument("--events-fd", type=int)
    parser.add_argument("--sample-rows", type=int)
    parser.add_argument("--candidate", action="store_true")
    parser.add_argument("--input", action="append", default=[])
    parser.add_argument("--writable", action="append", default=[])
    parser.add_argument("args", nargs="*")
    options = parser.parse_args(argv)
    if options.processes:
        resource.setrlimit(resource.RLIMIT_NPROC, (options.processes, options.processes))
    if options.candidate:
        _guard(options)
    report: Dict[str, Any] = {"status": "error"}
    try:
        report = _capture(options)
    except BaseException as error:  # everything the pipeline raises is evidence, even SystemExit
        report = {"status": "error", "error": _format_error(error)}
    finally:
        _write_json(os.path.join(options.out, "capture.json"), report)
    return 0 if report["status"] == "ok" else 1


def _guard(options) -> None:
    from lester_inspect.rewrite.guard import Guard

    python = {sys.prefix, sys.base_prefix, sys.exec_prefix, *(p for p in sys.path if p and os.path.isdir(p))}
    readable = [*options.input, *python, _PACKAGE_DIR, "/usr", "/etc"]
    Guard(os.path.abspath(options.path), options.events_fd, [*options.writable, options.out], readable).install()


def _capture(options) -> Dict[str, Any]:
    import numpy as np

    from lester_inspect.instrumentation.dag import OperatorType, ancestors
    from lester_inspect.instrumentation.run import InstrumentedRun
    from lester_inspect.instrumentation.source import PipelineSource

    with open(options.script, encoding="utf-8") as handle:
        text = handle.read()
    path = os.path.abspath(options.path)
    source = PipelineSource(text, path, path)
    linecache.cache[path] = (len(text), None, text.splitlines(keepends=True), path)
    # Checked before the instrumented run, so that it sees scikit-learn unpatched.
    encode_features_problem = _check_encode_features(text, path) if options.candidate else None
    if options.sample_rows:
        _sample_inputs(options.sample_rows, os.path.join(options.out, "sampled"))

    fits = []  # the last fit of a model only

    def observe(node, inputs, output):
        # Copied at fit time: the script may change X or the model's parameters afterwards.
        if node.operator_type is OperatorType.ESTIMATOR and inputs:
            labels = inputs[1].data if len(inputs) > 1 else None
            try:
                X, problem = _dense(inputs[0].data), None
            except TypeError as error:
                X, problem = None, str(error)
            params = {key: repr(value) for key, value in output.get_params(deep=False).items()}
            fits[:] = [(node, inputs[0].node, X, problem, None if labels is None else np.array(labels), output,
                        params)]

    run = InstrumentedRun(source, observers=[observe])
    run.execute(options.args)
    if not fits:
        return {"status": "error", "error": "the pipeline ran to the end without fitting a model: no "
                                            "estimator's fit was called from the script"}
    (node, features_node, X, problem, y, model, params), = fits
    if problem is not None:
        return {"status": "error", "error": problem}
    np.save(os.path.join(options.out, "X.npy"), X, allow_pickle=False)
    if y is not None:
        np.save(os.path.join(options.out, "y.npy"), y.astype(str) if y.dtype.kind == "O" else y, allow_pickle=False)
    upstream = ancestors(run.dag, node)
    report = {
        "status": "ok",
        "model": f"{type(model).__module__}.{type(model).__qualname__}",
        "params": params,
        "feature_names": _feature_names(run.dag, features_node, X.shape[1]),
        "has_labels": y is not None,
        "nodes": [{"type": n.operator_type.name, "function": str(n.function), "description": n.description,
                   "line": n.code_location.lineno if n.code_location else None, "feeds_model": n in upstream}
                  for n in sorted(run.dag.nodes, key=lambda n: n.node_id)],
        "internal_errors": list(run.internal_errors),
    }
    if encode_features_problem is not None:
        report["encode_features"] = encode_features_problem
    return report


def _dense(data) -> "np.ndarray":
    import numpy as np
    import scipy.sparse as sp

    if sp.issparse(data):
        data = data.toarray()
    elif hasattr(data, "to_numpy"):
        data = data.to_numpy()
    try:
        X = np.array(data, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise TypeError(f"the model was fitted on non-numeric features ({type(data).__name__}): {error}") from None
    return X.reshape(len(X), -1)


def _feature_names(dag, node, width: int) -> List[str]:
    """Names of the feature columns, from the node that produced them or the one before it."""
    while node is not None:
        names = list(node.columns)
        if len(names) == width and not all(n == f"x{i}" for i, n in enumerate(names)):
            return names
        parents = list(dag.predecessors(node))
        node = parents[0] if len(parents) == 1 else None
    return []


def _check_encode_features(text: str, path: str) -> str:
    """'' if ``encode_features()`` returns an unfitted ColumnTransformer, else what is wrong."""
    from sklearn.compose import ColumnTransformer
    from sklearn.exceptions import NotFittedError
    from sklearn.utils.validation import check_is_fitted

    namespace = {"__name__": "lester_inspect_candidate", "__file__": path, "__builtins__": builtins}
    exec(compile(text, path, "exec"), namespace)
    encoder = namespace["encode_features"]()
    if not isinstance(encoder, ColumnTransformer):
        return f"encode_features() returned a {type(encoder).__name__}, not a sklearn.compose.ColumnTransformer"
    try:
        check_is_fitted(encoder)
    except NotFittedError:
        return ""
    return "encode_features() returned a fitted ColumnTransformer; it must return an unfitted one"


def _sample_inputs(rows: int, folder: str) -> None:
    """Make the pipeline read only the header and the first ``rows`` lines of each text input file."""
    real_open = builtins.open
    copies: Dict[str, str] = {}

    def sampled_open(file, mode="r", *args, **kwargs):
        if (isinstance(file, (str, os.PathLike)) and not any(flag in mode for flag in "wax+")
                and os.fspath(file).lower().endswith(_SAMPLED_SUFFIXES)):
            real = os.path.realpath(file)
            if real not in copies and os.path.isfile(real):
                os.makedirs(folder, exist_ok=True)
                copy = os.path.join(folder, f"{len(copies)}_{os.path.basename(real)}")
                with real_open(real, "rb") as source, real_open(copy, "wb") as target:
                    for number, line in enumerate(source):
                        if number > rows:
                            break
                        target.write(line)
                copies[real] = copy
            file = copies.get(real, file)
        return real_open(file, mode, *args, **kwargs)

    builtins.open = io.open = sampled_open


def _format_error(error: BaseException) -> str:
    """The traceback as the user would see it: our own frames (the runtime, this module) left out."""
    if isinstance(error, SystemExit):
        return f"the pipeline exited with status {error.code!r}"
    frames = [frame for frame in traceback.extract_tb(error.__traceback__)
              if not frame.filename.startswith(_PACKAGE_DIR + os.sep)]
    shown = traceback.format_list(frames[-_MAX_FRAMES:])
    if len(frames) > _MAX_FRAMES:
        shown.insert(0, f"  ... ({len(frames) - _MAX_FRAMES} outer frames left out)\n")
    return ("Traceback (most recent call last):\n" + "".join(shown)
            + "".join(traceback.format_exception_only(type(error), error)))


def _write_json(path: str, report: Dict[str, Any]) -> None:
    temporary = f"{path}.{os.getpid()}"
    with open(temporary, "w", encoding="utf-8") as handle:
        json.dump(report, handle)
    os.replace(temporary, path)


if __name__ == "__main__":
    sys.exit(main())
