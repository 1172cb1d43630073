"""The entry point: ``PipelineInspector.on_pipeline(path).add_check(...).execute()``."""
from __future__ import annotations

import contextlib

from typing import Callable, Iterable, List, Optional, Sequence

from lester_inspect.checks.base import Check, CheckConfigurationError
from lester_inspect.inspections.base import Inspection, Results
from lester_inspect.inspections.executor import InspectionExecutor
from lester_inspect.instrumentation.run import InstrumentedRun
from lester_inspect.instrumentation.source import PipelineSource
from lester_inspect.result import InspectorResult


class PipelineInspector:
    """Builds an inspected run of a pipeline script, notebook or code string.

    Examples
    --------
    >>> from lester_inspect import PipelineInspector
    >>> result = PipelineInspector.on_pipeline_from_string(
    ...     "import pandas as pd\\n"
    ...     "df = pd.DataFrame({'a': [1, 2, 3]})\\n"
    ...     "df = df[df['a'] > 1]\\n").execute()
    >>> print(result.dag_text())
      0  Data Source          line 2:5     Create DataFrame from dict
      1  Selection            line 3:5     Select: a > 1  <- 0
    """

    def __init__(self, load: Callable[[], PipelineSource], args: Optional[Sequence[str]] = None):
        self._load = load
        self._args = [str(a) for a in (args or ())]
        self._inspections: List[Inspection] = []
        self._checks: List[Check] = []
        self._observers: List[Callable] = []
        self._what_ifs: list = []
        self._namespace: Optional[dict] = None

    @classmethod
    def on_pipeline(cls, path: str, args: Optional[Sequence[str]] = None) -> "PipelineInspector":
        """A ``.py`` script or ``.ipynb`` notebook (chosen by suffix), run with ``sys.argv[1:] == args``."""
        return cls(lambda: PipelineSource.from_path(str(path)), args)

    @classmethod
    def on_pipeline_from_string(cls, code: str, args: Optional[Sequence[str]] = None,
                                namespace: Optional[dict] = None) -> "PipelineInspector":
        """``code`` run in a new ``__main__``, or in ``namespace`` (a notebook's variables, which it changes)."""
        inspector = cls(lambda: PipelineSource.from_string(code), args)
        inspector._namespace = namespace
        return inspector

    def add_inspection(self, inspection: Inspection) -> "PipelineInspector":
        if not isinstance(inspection, Inspection):
            raise TypeError(f"add_inspection expects an Inspection, got {inspection!r}")
        self._inspections.append(inspection)
        return self

    def add_inspections(self, inspections: Iterable[Inspection]) -> "PipelineInspector":
        for inspection in inspections:
            self.add_inspection(inspection)
        return self

    def add_check(self, check: Check) -> "PipelineInspector":
        if not isinstance(check, Check):
            raise TypeError(f"add_check expects a Check, got {check!r}")
        self._checks.append(check)
        return self

    def add_checks(self, checks: Iterable[Check]) -> "PipelineInspector":
        for check in checks:
            self.add_check(check)
        return self

    def add_what_if(self, analysis) -> "PipelineInspector":
        """Run ``analysis`` (``lester_inspect.whatif``) on the pipeline's variants after the run."""
        from lester_inspect.whatif import WhatIfAnalysis

        if not isinstance(analysis, WhatIfAnalysis):
            raise TypeError(f"add_what_if expects a WhatIfAnalysis, got {analysis!r}")
        self._what_ifs.append(analysis)
        return self

    def add_observer(self, observer: Callable) -> "PipelineInspector":
        """Call ``observer(node, inputs, output)`` for every operator as the pipeline runs.

        ``inputs`` are ``Input``s (``node``, ``data``, row mapping); what the observer
        itself calls on pandas or scikit-learn is not recorded.
        """
        self._observers.append(observer)
        return self

    def _all_inspections(self) -> List[Inspection]:
        """The inspections asked for directly and by checks and what-if analyses, each once."""
        unique: List[Inspection] = []
        for inspection in [*self._inspections, *(i for c in [*self._checks, *self._what_ifs]
                                                 for i in c.required_inspections)]:
            if inspection not in unique:
                unique.append(inspection)
        return unique

    def execute(self) -> InspectorResult:
        """Run the pipeline. Its own exceptions propagate, with ``partial_result`` attached.

        A check whose configuration the run shows to be wrong (a column no operator
        has) raises ``CheckConfigurationError`` after the run, also with ``partial_result``;
        so does a what-if analysis the pipeline's shape does not allow (``WhatIfError``).
        """
        source = self._load()
        run = InstrumentedRun(source, observers=self._observers)
        inspections = self._all_inspections()
        executor = InspectionExecutor(run, inspections) if inspections else None
        if executor is not None:
            run.observers.append(executor)
        capture = None
        if self._what_ifs:
            from lester_inspect.whatif.capture import ModelCapture

            capture = ModelCapture(run)
            run.observers.append(capture)
        try:
            with capture.patched_metrics() if capture is not None else contextlib.nullcontext():
                run.execute(self._args, self._namespace)
        except BaseException as error:
            error.partial_result = self._result(run, executor, evaluate_checks=False)
            raise
        result = self._result(run, executor, evaluate_checks=True)
        if capture is not None:
            from lester_inspect.whatif import run_analyses

            try:
                result.what_if_execution, result.what_if = run_analyses(capture, self._what_ifs, result, self._args)
            except Exception as error:  # a WhatIfError names what cannot be varied; the run itself is kept
                error.partial_result = result
                raise
        return result

    def _result(self, run: InstrumentedRun, executor: Optional[InspectionExecutor],
                evaluate_checks: bool) -> InspectorResult:
        results = {node: executor.results.get(node, Results()) if executor else Results() for node in run.dag.nodes}
        result = InspectorResult(run.dag, results, {}, run.internal_errors,
                                 executor.carriers if executor else {})
        if evaluate_checks:
            problems = [problem for check in self._checks for problem in check.configuration_errors(result)]
            if problems:
                error = CheckConfigurationError("; ".join(problems))
                error.partial_result = result
                raise error
            for check in self._checks:
                result.check_to_check_results[check] = check.evaluate(result)
            for inspection in self._all_inspections():  # e.g. ArtifactCapture(mlflow=True) logs the verdicts
                if hasattr(inspection, "after_checks"):
                    inspection.after_checks(result)
        return result
