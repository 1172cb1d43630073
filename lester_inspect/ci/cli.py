"""The ``ci``, ``init-ci`` and ``report`` commands of ``lester-inspect``.

``add_ci_commands(subparsers)`` adds them to the main command line; ``python -m
lester_inspect.ci.cli`` runs them on their own.
"""
from __future__ import annotations

import argparse
import os
import sys
from typing import List, Optional, Sequence

from lester_inspect.report.model import PipelineReport, Status


def _ci(arguments: argparse.Namespace) -> int:
    from lester_inspect.ci.config import ConfigError, load_config
    from lester_inspect.ci.gate import exit_code, run_ci

    from lester_inspect.export import MissingPackageError

    try:
        config = load_config(arguments.config)
        if arguments.mlflow:
            from lester_inspect.export.mlflow import require_mlflow

            require_mlflow()
    except (ConfigError, MissingPackageError) as error:
        print(f"lester-inspect: {error}", file=sys.stderr)
        return 2
    reports = run_ci(config.pipelines, capture=arguments.capture)
    code = exit_code(reports, arguments.fail_on_warning)
    written = _write_reports(reports, arguments)
    if written is not None:
        return written
    if arguments.mlflow:
        logged = _log_to_mlflow(reports)
        if logged is not None:
            return logged
    _print_outcome(reports, code)
    return code


def _log_to_mlflow(reports: Sequence[PipelineReport]) -> Optional[int]:
    """Log every pipeline's verdicts, report and DAG as an MLflow run; 2 if that fails."""
    from lester_inspect.export.mlflow import log_reports

    import mlflow

    try:
        ids = log_reports(reports)
    except Exception as error:  # an unreachable tracking server, a read-only store, ...
        print(f"lester-inspect: cannot log to MLflow at {mlflow.get_tracking_uri()}: {type(error).__name__}: "
              f"{str(error).strip().splitlines()[0] if str(error).strip() else ''}", file=sys.stderr)
        return 2
    print(f"logged to MLflow at {mlflow.get_tracking_uri()}: runs {', '.join(ids)}", file=sys.stderr)
    return None


def _write_reports(reports: Sequence[PipelineReport], arguments: argparse.Namespace) -> Optional[int]:
    """Write the requested report files; 2 if one cannot be written."""
    from lester_inspect.report.html import html_report
    from lester_inspect.report.junit import junit_xml
    from lester_inspect.report.markdown import markdown_summary

    from lester_inspect.commandline import write_text

    fail_on_warning = arguments.fail_on_warning
    outputs = [(arguments.junit, lambda: junit_xml(reports, fail_on_warning), False),
               (arguments.summary, lambda: markdown_summary(reports, fail_on_warning), False),
               (arguments.report, lambda: html_report(reports, fail_on_warning=fail_on_warning), False),
               (os.environ.get("GITHUB_STEP_SUMMARY"), lambda: markdown_summary(reports, fail_on_warning), True)]
    for path, render, append in outputs:
        if not path:
            continue
        try:
            write_text(path, render(), append)
        except OSError as error:
            print(f"lester-inspect: cannot write {path}: {error}", file=sys.stderr)
            return 2
    return None


def _print_outcome(reports: Sequence[PipelineReport], code: int) -> None:
    for report in reports:
        print(f"{report.status.value.upper():<8} {report.name} ({report.seconds:.1f} s)")
        for verdict in report.verdicts:
            line = f"  {verdict.status.value.upper():<8} {verdict.name}"
            if verdict.status is not Status.PASSED:
                line += f"\n           {verdict.message}"
            print(line)
        if report.error and not report.verdicts:
            print(f"           {report.error}")
    outcome = {0: "passed", 1: "failed", 2: "error"}[code]
    print(f"lester-inspect ci: {outcome} (exit code {code})")


def _init_ci(arguments: argparse.Namespace) -> int:
    from lester_inspect.ci.scaffold import ScaffoldError, write_scaffold

    try:
        written = write_scaffold(arguments.directory, arguments.force)
    except (ScaffoldError, OSError) as error:
        print(f"lester-inspect: {error}", file=sys.stderr)
        return 2
    for path in written:
        print(f"wrote {path}")
    print("Edit lester.toml to name your pipelines and checks, then run: lester-inspect ci")
    return 0


def _report(arguments: argparse.Namespace) -> int:
    from lester_inspect.checks.registry import CheckConfigurationError, parse_check_option
    from lester_inspect.ci.config import ConfigError, PipelineConfig, load_config
    from lester_inspect.ci.gate import exit_code, run_pipeline
    from lester_inspect.commandline import write_text
    from lester_inspect.report.html import html_report

    path = os.path.abspath(arguments.pipeline)
    if not os.path.isfile(path):
        print(f"lester-inspect: no such pipeline file: {arguments.pipeline}", file=sys.stderr)
        return 2
    try:
        checks = [(option.partition("=")[0], parse_check_option(option)) for option in arguments.check]
        columns = tuple(c for option in arguments.columns for c in option.split(",") if c)
        pipeline = PipelineConfig(name=arguments.pipeline, path=path, args=tuple(arguments.args),
                                  checks=tuple(checks), report_columns=columns)
        if arguments.config:
            configured = [p for p in load_config(arguments.config).pipelines if p.path == path]
            if not configured:
                raise ConfigError(f"{arguments.config}: no pipeline with path {path}")
            entry = configured[0]
            pipeline = PipelineConfig(name=entry.name, path=path, args=tuple(arguments.args) or entry.args,
                                      checks=entry.checks + pipeline.checks,
                                      report_columns=entry.report_columns + columns)
    except (CheckConfigurationError, ConfigError) as error:
        print(f"lester-inspect: {error}", file=sys.stderr)
        return 2
    report = run_pipeline(pipeline)
    try:
        write_text(arguments.output, html_report([report], title=f"lester-inspect: {report.name}"))
    except OSError as error:
        print(f"lester-inspect: cannot write {arguments.output}: {error}", file=sys.stderr)
        return 2
    print(f"report written to {arguments.output} ({report.status.value})")
    return exit_code([report])


def add_ci_commands(commands) -> None:
    """Add ``ci``, ``init-ci`` and ``report`` to the ``add_subparsers()`` object of a parser."""
    from lester_inspect.commandline import EXIT_CODES_HELP, PIPELINE_ARGUMENTS_HELP

    ci = commands.add_parser(
        "ci", help="run the configured pipelines' checks and model conditions; exit 1 when one fails",
        description="Exit code 0: everything passed; 1: a check or condition failed; 2: an error (configuration, "
                    "pipeline, store, or lester-inspect's own). With GITHUB_STEP_SUMMARY set, the Markdown summary "
                    "is appended there.")
    ci.add_argument("--config", metavar="FILE", help="lester.toml or pyproject.toml ([tool.lester-inspect]); "
                                                     "default: lester.toml, else pyproject.toml, in the current folder")
    ci.add_argument("--junit", metavar="FILE", help="write JUnit XML: a test case per pipeline and check")
    ci.add_argument("--summary", metavar="FILE", help="write a Markdown summary table")
    ci.add_argument("--report", metavar="FILE", help="write the HTML report")
    ci.add_argument("--fail-on-warning", action="store_true", help="exit 1 on warnings too")
    ci.add_argument("--capture", action="store_true",
                    help="record the models' test predictions in the store as the baseline for model conditions "
                         "(on the main branch) instead of evaluating the conditions")
    ci.add_argument("--mlflow", action="store_true",
                    help="also log each pipeline's check results (tags, metrics), HTML report and DAG (artifacts) as "
                         "an MLflow run at the active tracking URI (MLFLOW_TRACKING_URI); needs mlflow-skinny")
    ci.set_defaults(handler=_ci)

    init = commands.add_parser("init-ci", help="write an example lester.toml and a GitHub Actions workflow")
    init.add_argument("--directory", default=".", help="the repository's root folder (default: current folder)")
    init.add_argument("--force", action="store_true", help="overwrite existing files")
    init.set_defaults(handler=_init_ci)

    report = commands.add_parser(
        "report", help="run a pipeline and write the HTML report of its DAG, inspections and checks; exit 1 when "
                       "a check fails",
        usage="lester-inspect report PIPELINE [ARGS ...] -o FILE [--check NAME[=VALUE]] [--columns A,B] "
              "[--config FILE] [-- ARGS ...]", description=EXIT_CODES_HELP)
    report.add_argument("-o", "--output", metavar="FILE", required=True, help="the HTML file to write")
    report.add_argument("--check", metavar="NAME[=VALUE]", action="append", default=[],
                        help="run a check, e.g. no-bias-introduced-for=race (repeatable)")
    report.add_argument("--columns", metavar="A,B", action="append", default=[],
                        help="columns to show as histograms and completeness per operator")
    report.add_argument("--config", metavar="FILE", help="also use the checks and settings of this pipeline's entry "
                                                         "in a CI configuration")
    report.add_argument("pipeline", help="a .py script or .ipynb notebook")
    report.add_argument("args", nargs="*", help=PIPELINE_ARGUMENTS_HELP)
    report.set_defaults(handler=_report)


def main(argv: Optional[List[str]] = None) -> int:
    from lester_inspect.commandline import main_with

    parser = argparse.ArgumentParser(prog="lester-inspect", description=__doc__)
    add_ci_commands(parser.add_subparsers(dest="command", required=True))
    return main_with(parser, argv)


if __name__ == "__main__":
    sys.exit(main())
