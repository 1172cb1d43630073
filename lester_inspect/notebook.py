"""Jupyter: rich HTML for results, and the ``%%inspect`` cell magic.

``%load_ext lester_inspect`` registers the magic::

    %%inspect --check no-bias-introduced-for=race --check no-illegal-features
    data = pd.read_csv("patients.csv")
    ...

runs the cell under instrumentation in the notebook's namespace (its variables stay, as
after a plain cell), shows the DAG and the check results, and keeps the result in the
variable ``inspection`` (``--result NAME`` for another name). A cell that raises leaves
the partial result in that variable and raises as the plain cell would.
"""
from __future__ import annotations

import argparse
import html
import shlex
from typing import Optional

_STATUS_COLOURS = {"SUCCESS": "#2e7d32", "FAILURE": "#c62828", "WARNING": "#b7791f"}
_DETAIL_TABLES = 3
_DETAIL_ROWS = 10
e = html.escape


def _status(name: str) -> str:
    return (f'<span style="background:{_STATUS_COLOURS.get(name, "#8792a2")};color:#fff;border-radius:8px;'
            f'padding:0 7px;font-size:11px;font-weight:600">{e(name)}</span>')


def check_result_html(check_result) -> str:
    """A check's verdict: status, check, reason, the operator and code at fault, its first detail tables."""
    parts = [f"<div>{_status(check_result.status.name)} <code>{e(repr(check_result.check))}</code>",
             f"<p style='margin:4px 0'>{e(check_result.description)}</p>"]
    node = check_result.operator
    if node is not None:
        where = f" at {node.code_location}" if node.code_location else ""
        parts.append(f"<p style='margin:4px 0'>Operator {node.node_id}: {e(node.operator_type.value)}{e(where)}</p>")
        if node.source_code:
            parts.append(f"<pre style='margin:4px 0'>{e(node.source_code)}</pre>")
    for name, frame in list(check_result.details.items())[:_DETAIL_TABLES]:
        more = f" (first {_DETAIL_ROWS} of {len(frame)} rows)" if len(frame) > _DETAIL_ROWS else ""
        parts.append(f"<details><summary>{e(str(name))}{more}</summary>{frame.head(_DETAIL_ROWS).to_html()}</details>")
    hidden = len(check_result.details) - _DETAIL_TABLES
    if hidden > 0:
        parts.append(f"<p style='margin:4px 0;color:#5b6472'>{hidden} more detail tables in "
                     "<code>check_result.details</code></p>")
    return "\n".join(parts) + "</div>"


def result_html(result) -> str:
    """An inspected run: the verdict, every check's result, the DAG drawn, and the DAG as text."""
    from lester_inspect.report.model import check_verdicts, operator_statuses
    from lester_inspect.report.outline import dag_outline
    from lester_inspect.report.svg import dag_svg

    checks = list(result.check_to_check_results.values())
    failed = sum(r.status.name == "FAILURE" for r in checks)
    verdict = (_status("FAILURE") + f" {failed} of {len(checks)} checks failed" if failed else
               _status("SUCCESS") + f" all {len(checks)} checks passed" if checks else "no checks")
    parts = [f"<div><b>InspectorResult</b>: {verdict}. {e(dag_outline(result))}.</div>"]
    parts += [f"<div style='margin:8px 0 0 12px'>{check_result_html(r)}</div>" for r in checks]
    if result.internal_errors:
        parts.append(f"<p style='color:#8e24aa'>{len(result.internal_errors)} internal problems of lester-inspect "
                     "(the run went on): <code>result.internal_errors</code></p>")
    statuses = operator_statuses(result, check_verdicts(result))
    svg = dag_svg(result.nodes, result.parents, statuses, None, element_id=f"lester-dag-{id(result)}")
    parts.append("<details open><summary>DAG (hover an operator for its code)</summary>"
                 f"<div style='max-height:520px;overflow:auto;border:1px solid #e3e6eb'>{svg}</div></details>")
    parts.append(f"<details><summary>DAG as text</summary><pre>{e(result.dag_text())}</pre></details>")
    return "\n".join(parts)


def _magic_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="%%inspect", add_help=False)
    parser.add_argument("--check", action="append", default=[], metavar="NAME[=VALUE]")
    parser.add_argument("--result", default="inspection", metavar="NAME")
    return parser


def inspect_cell(line: str, cell: str, namespace: dict):
    """Run ``cell`` under instrumentation in ``namespace``; the result is also ``namespace[--result]``."""
    from lester_inspect.checks.registry import parse_check_option
    from lester_inspect.inspector import PipelineInspector

    arguments = _magic_parser().parse_args(shlex.split(line))
    checks = [parse_check_option(option) for option in arguments.check]
    inspector = PipelineInspector.on_pipeline_from_string(cell, namespace=namespace).add_checks(checks)
    try:
        result = inspector.execute()
    except BaseException as error:
        namespace[arguments.result] = getattr(error, "partial_result", None)
        raise
    namespace[arguments.result] = result
    return result


def load_ipython_extension(ipython) -> None:
    """``%load_ext lester_inspect``: registers the ``%%inspect`` cell magic."""

    def inspect(line: str, cell: Optional[str] = None):
        return inspect_cell(line, cell or "", ipython.user_ns)

    inspect.__doc__ = __doc__
    ipython.register_magic_function(inspect, magic_kind="cell", magic_name="inspect")
