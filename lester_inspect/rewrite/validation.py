"""Validating a candidate rewrite against the original pipeline: static, run, differential, structure.

The stages, in order; the first that fails decides the verdict and its evidence:

* ``static``: the script parses and has the required shape (see
  :mod:`~lester_inspect.rewrite.static_checks`);
* ``sandbox``: while it ran, it did nothing the sandbox's audit hook refuses
  (writing outside its scratch folder, the network, processes, the environment,
  see :mod:`~lester_inspect.rewrite.guard`), even if it caught the error;
* ``run``: it runs to a model fit in the sandbox, within the limits;
* ``compare``: its final model is the original's and is fitted on the same data
  (see :mod:`~lester_inspect.rewrite.compare` for the rule);
* ``structure``: the instrumented run saw what makes the rewrite declarative:
  inputs read with pandas, the model's features computed by a
  ``ColumnTransformer``, and ``encode_features()`` returning an unfitted one.
"""
from __future__ import annotations

import dataclasses
import os
import threading
from typing import Callable, Optional, Sequence

from lester_inspect.rewrite.compare import Comparison, Tolerance, compare_fit_inputs
from lester_inspect.rewrite.errors import OriginalPipelineError
from lester_inspect.rewrite.sandbox import Limits, RunOutcome, Sandbox, kill, run_captured, sandbox_inputs
from lester_inspect.rewrite.static_checks import check_static


@dataclasses.dataclass(frozen=True)
class Validation:
    """The verdict on one candidate: the stage reached, a summary, and the evidence sent back to the model."""

    passed: bool
    stage: str
    summary: str
    evidence: str = ""


class Validator:
    """Validates candidates for one original pipeline, whose reference run starts with :meth:`start`.

    The original runs once, in a background thread, so that it can run while
    the model writes the first answer; :meth:`close` stops it if it is still
    running.

    Parameters
    ----------
    original_path : str
        The messy pipeline.
    run_as : str
        The path candidates run as (their ``__file__``): where the rewrite will be written.
    args : sequence of str
        Command-line arguments for both scripts.
    cwd : str, optional
        The working directory both scripts see (default: ours); their inputs are
        found from it (see :func:`~lester_inspect.rewrite.sandbox.sandbox_inputs`).
    hidden : sequence of str
        Folders that must look empty even if they lie under an input (the response cache).
    unsafe : bool
        Run without the sandbox's isolation.
    """

    def __init__(self, original_path: str, run_as: str, args: Sequence[str] = (), limits: Limits = Limits(),
                 tolerance: Tolerance = Tolerance(), allow_column_permutation: bool = True,
                 progress: Optional[Callable[[str], None]] = None, cwd: Optional[str] = None,
                 hidden: Sequence[str] = (), unsafe: bool = False):
        self.original_path = os.path.abspath(original_path)
        self.run_as = os.path.abspath(run_as)
        self.args = list(args)
        self.limits = limits
        cwd = os.path.abspath(cwd or os.getcwd())
        with open(self.original_path, encoding="utf-8") as handle:
            self.original_text = handle.read()
        inputs = sandbox_inputs(self.original_text, self.original_path, self.args, cwd)
        self.sandbox = Sandbox(inputs, cwd, tuple(os.path.abspath(h) for h in hidden), unsafe)
        self.tolerance = tolerance
        self.allow_column_permutation = allow_column_permutation
        self.progress = progress or (lambda message: None)
        self._thread: Optional[threading.Thread] = None
        self._process = None
        self._stopped = False
        self._outcome: Optional[RunOutcome] = None

    def start(self) -> None:
        """Start the original's run in the background (once)."""
        if self._thread is None:
            self.progress(f"running the original {os.path.basename(self.original_path)} in a sandbox")
            self._thread = threading.Thread(target=self._run_original, name="lester-rewrite-original", daemon=True)
            self._thread.start()

    def _run_original(self) -> None:
        try:
            self._outcome = run_captured(self.original_text, self.original_path, self.args, self.limits,
                                         self.sandbox, on_start=self._remember_process)
        except Exception as error:  # reported by reference(), in the caller's thread
            self._outcome = RunOutcome(f"{type(error).__name__}: {error}", None, {}, "", 0.0)

    def _remember_process(self, process) -> None:
        self._process = process
        if self._stopped:
            kill(process)

    def reference(self) -> RunOutcome:
        """The original's run, waited for. Raises :class:`OriginalPipelineError` if it fails."""
        self.start()
        self._thread.join()
        if not self._outcome.ok:
            raise OriginalPipelineError(f"{self.original_path} fails on its own, so there is nothing to "
                                        f"compare a rewrite with:\n{self._outcome.error}\n{self._visible()}")
        return self._outcome

    def _visible(self) -> str:
        inputs = ", ".join(self.sandbox.inputs) or "none"
        return (f"(In the sandbox the script sees, read-only, only its inputs: {inputs}; it may write only to its "
                f"working directory {self.sandbox.cwd} and $TMPDIR, which start empty. Pass other input folders as "
                f"arguments.)")

    def close(self) -> None:
        """Stop the original's run if it is still going."""
        self._stopped = True
        if self._thread is not None and self._thread.is_alive():
            if self._process is not None:
                kill(self._process)
            self._thread.join()

    def validate(self, code: str) -> Validation:
        """Check ``code`` by the stages of the module docstring; the first failing stage gives the verdict."""
        problems = check_static(code, self.run_as, os.path.dirname(self.run_as))
        if problems:
            return Validation(False, "static", f"{len(problems)} static problem(s), first: {_first_line(problems[0])}",
                              "\n".join(f"- {problem}" for problem in problems))
        self.start()
        self.progress("running the rewrite in a sandbox")
        outcome = run_captured(code, self.run_as, self.args, self.limits, self.sandbox, candidate=True)
        reference = self.reference()
        if outcome.violations:
            return Validation(False, "sandbox", f"refused by the sandbox: {outcome.violations[0]}",
                              "The rewritten script did something generated code must not do (the sandbox refused "
                              "it):\n" + "\n".join(f"- {v}" for v in outcome.violations)
                              + "\nRemove it: the pipeline only reads its input files and trains the model.")
        if not outcome.ok:
            return Validation(False, "run", f"the rewrite fails: {outcome.error.strip().splitlines()[-1]}",
                              f"Running the rewritten script failed:\n{outcome.error}")
        self.progress("comparing what both pipelines hand to the model's fit")
        comparison = compare_fit_inputs(reference.inputs, outcome.inputs, self.tolerance,
                                        self.allow_column_permutation)
        if not comparison.equal:
            return Validation(False, "compare", f"the model's training data differs: {comparison.summary}",
                              self._differential_evidence(comparison))
        problems = _structure_problems(outcome)
        if problems:
            return Validation(False, "structure", f"not declarative enough: {problems[0]}",
                              "\n".join(f"- {problem}" for problem in problems))
        return Validation(True, "passed", comparison.summary)

    def _differential_evidence(self, comparison: Comparison) -> str:
        permutation = "in any column order, " if self.allow_column_permutation else ""
        return (f"Both scripts ran on the same inputs, and the data passed to the final model's `fit` was compared "
                f"(rows in any order, {permutation}values up to {self.tolerance}). Differences:\n"
                f"{comparison.evidence()}")


def _first_line(problem) -> str:
    return str(problem).splitlines()[0]


def _structure_problems(outcome: RunOutcome):
    report = outcome.report
    problems = []
    if report.get("encode_features"):
        problems.append(report["encode_features"])
    nodes = report.get("nodes", [])
    if not any(n["type"] == "DATA_SOURCE" and ".read_" in n["function"] for n in nodes):
        problems.append("no input was read with pandas (`pd.read_csv`) in the instrumented run")
    if not any(n["feeds_model"] and "ColumnTransformer." in n["function"] for n in nodes):
        problems.append("the model's features were not computed by a ColumnTransformer; fit and apply "
                        "`encode_features()` to the prepared data")
    return problems
