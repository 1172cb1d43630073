"""The CI gate: run each configured pipeline, judge its checks and model conditions, decide the exit code.

Exit codes: 0 when everything passed, 1 when a check or condition failed (or warned, with
``fail_on_warning``), 2 when the configuration, a pipeline or the store is broken.
"""
from __future__ import annotations

import sys
import time
from typing import Callable, List, Optional, Sequence

from lester_inspect.ci.conditions import Condition
from lester_inspect.ci.config import PipelineConfig
from lester_inspect.ci.history import CapturedRun, FileModelHistory, HistoryError, ModelHistory
from lester_inspect.ci.predictions import PredictionError, TestPredictionObserver
from lester_inspect.report.model import PipelineReport, Status, Verdict, check_verdicts, worst

REPORT_ROWS = 5


def report_inspections(columns: Sequence[str]) -> list:
    """What the HTML report shows per operator: first rows, and histograms and completeness of ``columns``."""
    from lester_inspect.inspections import CompletenessOfColumns, HistogramForColumns, MaterializeFirstOutputRows

    inspections = [MaterializeFirstOutputRows(REPORT_ROWS)]
    if columns:
        inspections += [HistogramForColumns(list(columns)), CompletenessOfColumns(list(columns))]
    return inspections


def run_pipeline(pipeline: PipelineConfig, capture: bool = False,
                 history_for: Callable[[str], ModelHistory] = FileModelHistory) -> PipelineReport:
    """Run one configured pipeline; with ``capture``, record its test predictions as the new baseline.

    Model conditions are evaluated when not capturing: on a pull request, against the run
    captured on the main branch.
    """
    from lester_inspect.commandline import pipeline_traceback, users_output
    from lester_inspect.checks.base import CheckConfigurationError
    from lester_inspect.inspector import PipelineInspector
    from lester_inspect.instrumentation.source import PipelineSourceError

    names = {check: name for name, check in pipeline.checks}
    inspector = (PipelineInspector.on_pipeline(pipeline.path, args=pipeline.args)
                 .add_inspections(report_inspections(pipeline.columns_of_interest))
                 .add_checks(check for _, check in pipeline.checks))
    observer = TestPredictionObserver()
    started = time.perf_counter()
    try:
        with users_output():
            result = inspector.add_observer(observer).execute()
    except (Exception, SystemExit) as error:
        reason = _describe_pipeline_error(error, (PipelineSourceError, CheckConfigurationError))
        print(f"lester-inspect: {pipeline.name}: {reason}", file=sys.stderr)
        if not isinstance(error, (PipelineSourceError, CheckConfigurationError, SystemExit)):
            sys.stderr.write(pipeline_traceback(error))
        verdicts = [Verdict(name, "check", Status.ERROR, reason) for name, _ in pipeline.checks]
        verdicts += [Verdict(condition_name(c), "condition", Status.ERROR, reason) for c in pipeline.conditions]
        return PipelineReport(pipeline.name, pipeline.path, verdicts, getattr(error, "partial_result", None),
                              reason, time.perf_counter() - started)
    seconds = time.perf_counter() - started
    verdicts = check_verdicts(result, names)
    error = None
    try:
        verdicts += _model_verdicts(pipeline, observer, history_for(pipeline.store), capture)
    except HistoryError as problem:
        error = str(problem)
        print(f"lester-inspect: {pipeline.name}: {error}", file=sys.stderr)
    return PipelineReport(pipeline.name, pipeline.path, verdicts, result, error, seconds)


def _describe_pipeline_error(error: BaseException, source_error) -> str:
    if isinstance(error, source_error):
        return str(error)
    if isinstance(error, SystemExit):
        return f"the pipeline exited with status {error.code}"
    return f"the pipeline raised {type(error).__name__}: {error}"


def condition_name(condition: Condition) -> str:
    return f"condition: {condition.text}"


def _model_verdicts(pipeline: PipelineConfig, observer: TestPredictionObserver, history: ModelHistory,
                    capture: bool) -> List[Verdict]:
    if not pipeline.conditions and not (capture and pipeline.capture):
        return []
    try:
        current = observer.captured()
    except PredictionError as problem:
        if not pipeline.conditions:
            print(f"lester-inspect: {pipeline.name}: nothing captured: {problem}", file=sys.stderr)
        return [Verdict(condition_name(c), "condition", Status.ERROR, str(problem)) for c in pipeline.conditions]
    if capture:
        if pipeline.capture:
            history.record(pipeline.name, current)
        reason = (f"not evaluated: this run captured the model's {len(current.predictions):,} test predictions "
                  f"into {pipeline.store} as the baseline" if pipeline.capture else
                  "not evaluated on a capturing run")
        return [Verdict(condition_name(c), "condition", Status.SKIPPED, reason) for c in pipeline.conditions]
    previous = history.previous(pipeline.name)
    return [evaluate_condition(c, pipeline.name, current, previous, history, pipeline.store)
            for c in pipeline.conditions]


def evaluate_condition(condition: Condition, pipeline_key: str, current: CapturedRun,
                       previous: Optional[CapturedRun], history: ModelHistory, store: str = "the store") -> Verdict:
    """Judge ``condition`` on the current run's test predictions against the captured ones.

    Releases only pass or fail (never the estimates): the adaptive bound counts one bit
    of information about the test set per step.
    """
    name = condition_name(condition)
    size = len(current.predictions)
    needed = condition.required_examples()
    guarantee = f"reliability {condition.reliability:g}, adaptivity {condition.adaptivity}, {condition.mode}"
    if max(needed) > size:
        per_clause = "; ".join(f"{clause.text!r} needs {n:,}" for clause, n in zip(condition.clauses, needed))
        return Verdict(name, "condition", Status.FAILED,
                       f"test set too small: {size:,} test examples, but {per_clause} "
                       f"({guarantee}, {condition.steps} steps)")
    variables = set(condition.variables)
    if variables & {"n", "o"} and current.labels is None:
        return Verdict(name, "condition", Status.ERROR,
                       "n and o need the test labels: the pipeline must call model.score(X_test, y_test)")
    if variables & {"o", "d"}:
        if previous is None:
            return Verdict(name, "condition", Status.WARNING,
                           f"not evaluated: no captured run of {pipeline_key!r} in {store} to compare with; "
                           "run 'lester-inspect ci --capture' on the main branch first")
        if previous.test_set != current.test_set:
            return Verdict(name, "condition", Status.FAILED,
                           f"cannot compare: the test examples differ from the captured run's "
                           f"({size:,} now, {len(previous.predictions):,} captured); the comparison needs "
                           "the same test set, so capture a new baseline on the main branch")
        if "o" in variables and previous.labels is None:
            return Verdict(name, "condition", Status.ERROR, "o needs the captured run's test labels, which it "
                                                            "lacks (it only predicted)")
    key = f"{pipeline_key} | {condition.text} | test set {current.test_set[:16]}"
    steps = history.steps(key)
    if steps.used >= condition.steps:
        return Verdict(name, "condition", Status.FAILED,
                       f"this test set's budget of {condition.steps} steps is used up; a new test set "
                       "(and a new capture) is needed for guarantees")
    if condition.adaptivity == "first-change" and steps.first_change is not None:
        return Verdict(name, "condition", Status.FAILED,
                       f"this test set retired when the verdict first changed, at step {steps.first_change} "
                       "(adaptivity first-change); a new test set (and a new capture) is needed")
    values = {"n": current.accuracy}
    if previous is not None and previous.test_set == current.test_set:
        values["o"] = previous.accuracy
        values["d"] = float((previous.predictions != current.predictions).mean()) if size else 0.0
    passed = condition.decide(values)
    history.use_step(key, passed)
    where = (f"on {size:,} test examples (needs {max(needed):,}; {guarantee}; "
             f"step {steps.used + 1} of {condition.steps})")
    if passed:
        return Verdict(name, "condition", Status.PASSED, f"holds {where}")
    unknown = "false" if condition.mode == "fn-free" else "false or not shown within the tolerance"
    return Verdict(name, "condition", Status.FAILED, f"does not hold ({unknown}) {where}")


def run_ci(pipelines: Sequence[PipelineConfig], capture: bool = False) -> List[PipelineReport]:
    return [run_pipeline(pipeline, capture) for pipeline in pipelines]


def exit_code(reports: Sequence[PipelineReport], fail_on_warning: bool = False) -> int:
    """0 all passed, 1 a check or condition failed (or warned), 2 a pipeline, condition or store error."""
    status = worst(report.status for report in reports)
    if status is Status.ERROR:
        return 2
    if status is Status.FAILED or (status is Status.WARNING and fail_on_warning):
        return 1
    return 0
