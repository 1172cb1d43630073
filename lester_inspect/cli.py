"""The ``lester-inspect`` command line: a thin layer over the Python API."""
from __future__ import annotations

import argparse
import sys
from typing import List, Optional


def _run(arguments: argparse.Namespace) -> int:
    from lester_inspect.checks.registry import CheckConfigurationError, parse_check_option
    from lester_inspect.inspector import PipelineInspector
    from lester_inspect.instrumentation.source import PipelineSourceError

    from lester_inspect.commandline import report_pipeline_error, users_output
    from lester_inspect.whatif.cli import parse_what_if_option, what_if_tables
    from lester_inspect.whatif.patches import WhatIfError

    try:
        checks = [parse_check_option(option) for option in arguments.check]
        inspector = PipelineInspector.on_pipeline(arguments.pipeline, args=arguments.args).add_checks(checks)
        for option in arguments.what_if:
            inspector.add_what_if(parse_what_if_option(option))
        with users_output():
            result = inspector.execute()
    except (PipelineSourceError, CheckConfigurationError, WhatIfError) as error:
        print(f"lester-inspect: {error}", file=sys.stderr)
        return 2
    except (Exception, SystemExit) as error:
        return report_pipeline_error(error, arguments.pipeline)
    print(f"DAG of {arguments.pipeline} ({result.dag.number_of_nodes()} operators):")
    print(result.dag_text())
    for line in result.provenance_cuts_text():
        print(line)
    if checks:
        print("Checks:")
        for check_result in result.check_to_check_results.values():
            print(f"  {check_result.status.name:<8} {check_result.check!r}\n           {check_result.description}")
    for line in what_if_tables(result):
        print(line)
    for problem in result.internal_errors:
        print(f"lester-inspect: warning: {problem}", file=sys.stderr)
    if arguments.dag:
        from lester_inspect.result import GraphvizMissingError

        try:
            result.save_dag(arguments.dag)
        except (GraphvizMissingError, ValueError) as error:
            print(f"lester-inspect: {error}", file=sys.stderr)
            return 2
        print(f"DAG written to {arguments.dag}", file=sys.stderr)
    return 0 if result.passed else 1


def build_parser() -> argparse.ArgumentParser:
    from lester_inspect import __version__
    from lester_inspect.commandline import EXIT_CODES_HELP, PIPELINE_ARGUMENTS_HELP

    parser = argparse.ArgumentParser(prog="lester-inspect", description=(
        "Inspect ML pipelines (run, report, ci), capture their artifacts and remove leaked data from them "
        "(capture, runs, changes, affected, forget, verify, audit, demo), rewrite messy pipelines (rewrite), and "
        "emit their lineage (lineage). "
        "'lester-inspect COMMAND --help' explains a command. " + EXIT_CODES_HELP), allow_abbrev=False)
    parser.add_argument("--version", action="version", version=f"lester-inspect {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="run a pipeline under instrumentation and print its DAG; exit 1 when a "
                                          "check fails",
                              usage="lester-inspect run [--dag FILE] [--check NAME[=VALUE]] [--what-if KIND[:VALUE]] "
                                    "PIPELINE [ARGS ...] [-- ARGS ...]", description=EXIT_CODES_HELP)
    run.add_argument("--dag", metavar="FILE", help="also write the DAG as .dot, .svg or .png")
    run.add_argument("--check", metavar="NAME[=VALUE]", action="append", default=[],
                     help="run a check, e.g. no-bias-introduced-for=race,age_group or no-illegal-features "
                          "(repeatable; VALUE is the check's first parameter)")
    from lester_inspect.whatif.cli import CHOICES_HELP

    run.add_argument("--what-if", metavar="KIND[:VALUE]", action="append", default=[],
                     help="run a what-if analysis on the pipeline's variants and print its table (repeatable): "
                          + CHOICES_HELP)
    run.add_argument("pipeline", help="a .py script or .ipynb notebook")
    run.add_argument("args", nargs="*", help=PIPELINE_ARGUMENTS_HELP)
    run.set_defaults(handler=_run)
    from lester_inspect.ci.cli import add_ci_commands
    from lester_inspect.export.cli import add_export_commands
    from lester_inspect.ivm.cli import add_ivm_commands
    from lester_inspect.rewrite.cli import add_rewrite_command

    add_ivm_commands(commands)
    add_rewrite_command(commands)
    add_ci_commands(commands)
    add_export_commands(commands)
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    from lester_inspect.commandline import main_with

    return main_with(build_parser(), argv)


if __name__ == "__main__":
    sys.exit(main())
