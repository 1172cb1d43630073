"""Check results, the HTML report and the DAG of inspected runs, logged to MLflow (the active tracking URI).

Per pipeline, in one MLflow run:

* tags ``lester_inspect.status`` (the pipeline's worst verdict), ``lester_inspect.pipeline`` (its path),
  ``lester_inspect.check.NAME`` (passed / skipped / warning / failed / error) and
  ``lester_inspect.check.NAME.message`` (the one-line reason);
* metrics ``lester_inspect.check.NAME`` (1 when the verdict passed or was skipped, else 0),
  ``lester_inspect.verdicts.STATUS`` (how many verdicts have each status) and ``lester_inspect.seconds``;
* artifacts ``lester_inspect/report.html`` (the HTML report), ``lester_inspect/dag.svg`` and
  ``lester_inspect/dag.dot``.

Names are MLflow keys: characters MLflow does not allow in a key (``(``, ``'``, ``=``, ...) become ``_``.
Needs ``mlflow-skinny`` (or ``mlflow``): ``pip install 'lester-inspect[mlflow]'``.
"""
from __future__ import annotations

import re
from typing import List, Optional, Sequence

from lester_inspect.export import require
from lester_inspect.report.model import PipelineReport, Status

PREFIX = "lester_inspect"
MAX_TAG = 5000  # MLflow's limit for a tag value is 8000 characters; a reason longer than this is cut, marked "..."
_NOT_IN_KEY = re.compile(r"[^\w./ -]")


def require_mlflow():
    """The ``mlflow`` module, or ``MissingPackageError`` in one line."""
    return require("mlflow", "mlflow-skinny", "mlflow")


def key(name: str) -> str:
    return _NOT_IN_KEY.sub("_", name)


def log_reports(reports: Sequence[PipelineReport], into_active_run: bool = False,
                tags: Optional[dict] = None) -> List[str]:
    """Log each report to MLflow; returns the MLflow run ids.

    Each report gets a run of its own, named after the pipeline (nested under the active run, if any);
    with ``into_active_run`` and an active run, a single report is logged into that run instead. ``tags``
    are added to every run.
    """
    mlflow = require_mlflow()
    active = mlflow.active_run()
    ids = []
    for report in reports:
        if into_active_run and active is not None and len(reports) == 1:
            _log(mlflow, report, tags)
            ids.append(active.info.run_id)
            continue
        with mlflow.start_run(run_name=report.name, nested=active is not None) as run:
            _log(mlflow, report, tags)
            ids.append(run.info.run_id)
    return ids


def _log(mlflow, report: PipelineReport, extra: Optional[dict]) -> None:
    from lester_inspect.report.html import html_report

    tags = {f"{PREFIX}.status": report.status.value, f"{PREFIX}.pipeline": report.path, **(extra or {})}
    metrics = {f"{PREFIX}.seconds": float(report.seconds)}
    counts = {status: 0 for status in Status}
    for verdict in report.verdicts:
        name = key(f"{PREFIX}.{verdict.kind}.{verdict.name}")
        counts[verdict.status] += 1
        tags[name] = verdict.status.value
        tags[f"{name}.message"] = _cut(verdict.message)
        metrics[name] = 1.0 if verdict.status in (Status.PASSED, Status.SKIPPED) else 0.0
    metrics.update({f"{PREFIX}.verdicts.{status.value}": float(n) for status, n in counts.items()})
    if report.error:
        tags[f"{PREFIX}.error"] = _cut(report.error)
    mlflow.set_tags(tags)
    mlflow.log_metrics(metrics)
    mlflow.log_text(html_report([report], title=f"lester-inspect: {report.name}"), f"{PREFIX}/report.html")
    if report.result is not None:
        from lester_inspect.report.svg import result_svg

        mlflow.log_text(result_svg(report.result), f"{PREFIX}/dag.svg")
        mlflow.log_text(report.result.dag_to_dot(), f"{PREFIX}/dag.dot")


def _cut(text: str) -> str:
    return text if len(text) <= MAX_TAG else text[:MAX_TAG - 3] + "..."


def log_to_mlflow(result, name: Optional[str] = None, tags: Optional[dict] = None) -> Optional[str]:
    """Log an ``InspectorResult`` (its checks, report and DAG) into the active MLflow run, or a new one named
    ``name`` (default: the pipeline file's name); returns the MLflow run id.

    Logging must not undo a finished run: a failure is added to ``result.internal_errors`` (None returned).
    """
    import os

    from lester_inspect.report.model import check_verdicts

    path = result.dag.graph.get("pipeline", "") or ""
    name = name or os.path.splitext(os.path.basename(path))[0] or "pipeline"
    report = PipelineReport(name, path, check_verdicts(result), result)
    try:
        run_id = log_reports([report], into_active_run=True, tags=tags)[0]
    except Exception as error:  # an unreachable tracking server, a read-only file store, ...
        result.internal_errors.append(f"MLflow: cannot log the run: {type(error).__name__}: {error}")
        return None
    return run_id
