"""The ``lineage`` command: run a pipeline and emit its OpenLineage run events to a file or an HTTP endpoint."""
from __future__ import annotations

import argparse
import datetime
import os
import sys


def _lineage(arguments: argparse.Namespace) -> int:
    from lester_inspect.checks.registry import CheckConfigurationError, parse_check_option
    from lester_inspect.commandline import report_pipeline_error, users_output, write_text
    from lester_inspect.export import MissingPackageError, require
    from lester_inspect.export.openlineage import lineage_inspections, post, run_events, to_json_lines
    from lester_inspect.inspector import PipelineInspector
    from lester_inspect.instrumentation.source import PipelineSourceError

    if not arguments.openlineage and not arguments.openlineage_url:
        print("lester-inspect: lineage needs --openlineage FILE or --openlineage-url URL", file=sys.stderr)
        return 2
    try:
        require("openlineage.client", "openlineage-python", "lineage")
        checks = [parse_check_option(option) for option in arguments.check]
        inspector = (PipelineInspector.on_pipeline(arguments.pipeline, args=arguments.args)
                     .add_inspections(lineage_inspections()).add_checks(checks))
    except (MissingPackageError, PipelineSourceError, CheckConfigurationError) as error:
        print(f"lester-inspect: {error}", file=sys.stderr)
        return 2
    job = arguments.job or default_job_name(arguments.pipeline)
    started = datetime.datetime.now(datetime.timezone.utc)
    failure, result = None, None
    try:
        with users_output():
            result = inspector.execute()
    except PipelineSourceError as error:
        print(f"lester-inspect: {error}", file=sys.stderr)
        return 2
    except (Exception, SystemExit) as error:
        failure, result = error, getattr(error, "partial_result", None)
    ended = datetime.datetime.now(datetime.timezone.utc)
    if result is None:  # nothing ran far enough to have a DAG: there is no run to describe
        return report_pipeline_error(failure, arguments.pipeline)
    lineage = run_events(result, job, arguments.namespace, started, ended, failure, arguments.pipeline)
    for gap in lineage.gaps:
        print(f"lester-inspect: lineage incomplete: {gap}", file=sys.stderr)
    if arguments.openlineage:
        try:
            write_text(arguments.openlineage, to_json_lines(lineage.events))
        except OSError as error:
            print(f"lester-inspect: cannot write {arguments.openlineage}: {error}", file=sys.stderr)
            return 2
        print(f"{len(lineage.events)} OpenLineage events written to {arguments.openlineage}", file=sys.stderr)
    if arguments.openlineage_url:
        try:
            post(lineage.events, arguments.openlineage_url)
        except Exception as error:  # the client's HTTP errors (refused, 4xx/5xx) come from requests/urllib3
            print(f"lester-inspect: cannot send OpenLineage events to {arguments.openlineage_url}: "
                  f"{_reason(error)}", file=sys.stderr)
            return 2
        print(f"{len(lineage.events)} OpenLineage events sent to {arguments.openlineage_url}", file=sys.stderr)
    if failure is not None:
        return report_pipeline_error(failure, arguments.pipeline)
    return 0 if result.passed else 1


def default_job_name(pipeline: str) -> str:
    """``folder.script``: scripts are often all called ``pipeline.py``; their folders tell them apart."""
    path = os.path.abspath(pipeline)
    return f"{os.path.basename(os.path.dirname(path))}.{os.path.splitext(os.path.basename(path))[0]}"


def _reason(error: BaseException) -> str:
    """The innermost reason of an HTTP error (requests wraps urllib3's, which wraps the socket's), on one line."""
    reason = getattr(error.args[0], "reason", None) if error.args else None
    text = str(reason if reason is not None else error).strip()
    return f"{type(error).__name__}: {(text.splitlines() or [''])[0]}"


def add_export_commands(commands) -> None:
    """Add ``lineage`` to the ``add_subparsers()`` object of a parser."""
    from lester_inspect.commandline import EXIT_CODES_HELP, PIPELINE_ARGUMENTS_HELP

    lineage = commands.add_parser(
        "lineage", help="run a pipeline and emit OpenLineage run events (datasets, schemas, column lineage)",
        usage="lester-inspect lineage PIPELINE [ARGS ...] (--openlineage FILE | --openlineage-url URL) "
              "[--namespace NS] [--job NAME] [--check NAME[=VALUE]] [-- ARGS ...]",
        description="Emits a START and a COMPLETE (FAIL, when the pipeline raises) event; inputs are the data "
                    "sources, outputs each model's training features and labels with column lineage to the "
                    "source columns. Needs openlineage-python (pip install 'lester-inspect[lineage]'). "
                    + EXIT_CODES_HELP)
    lineage.add_argument("--openlineage", metavar="FILE", help="write the events to FILE as JSON Lines")
    lineage.add_argument("--openlineage-url", metavar="URL",
                         help="post the events to an OpenLineage endpoint (URL/api/v1/lineage, e.g. Marquez)")
    lineage.add_argument("--namespace", default="lester-inspect", help="the job's namespace (default: lester-inspect)")
    lineage.add_argument("--job", metavar="NAME", help="the job's name (default: FOLDER.SCRIPT of the pipeline file)")
    lineage.add_argument("--check", metavar="NAME[=VALUE]", action="append", default=[],
                         help="also run a check; exit 1 when one fails (repeatable)")
    lineage.add_argument("pipeline", help="a .py script or .ipynb notebook")
    lineage.add_argument("args", nargs="*", help=PIPELINE_ARGUMENTS_HELP)
    lineage.set_defaults(handler=_lineage)
