"""The Markdown summary: one table row per pipeline and check, with status and one-line reason.

Written for GitHub's job summary (``$GITHUB_STEP_SUMMARY``) and pull-request comments,
which render Markdown with inline HTML: cell text is HTML-escaped and pipes are escaped.
"""
from __future__ import annotations

import html
from typing import Sequence

from lester_inspect.report.model import PipelineReport, Status, worst

_ICONS = {Status.PASSED: "✅ passed", Status.SKIPPED: "⏭️ skipped", Status.WARNING: "⚠️ warning",
          Status.FAILED: "❌ failed", Status.ERROR: "💥 error"}


def markdown_summary(reports: Sequence[PipelineReport], fail_on_warning: bool = False) -> str:
    overall = worst(r.status for r in reports)
    threshold = (Status.WARNING if fail_on_warning else Status.FAILED).severity
    failing = [r for r in reports if r.status.severity >= threshold]
    headline = (f"{len(failing)} of {len(reports)} pipelines failed" if failing
                else f"all {len(reports)} pipelines passed")
    lines = [f"## lester-inspect: {_ICONS[overall].split(' ')[0]} {headline}", "",
             "| pipeline | check | status | reason |", "|---|---|---|---|"]
    for report in reports:
        if not report.verdicts:
            status = _ICONS[Status.ERROR] if report.error else "➖ not checked"
            lines.append(f"| {_cell(report.name)} | (no checks) | {status} | {_cell(report.error or 'ran')} |")
        for verdict in report.verdicts:
            lines.append(f"| {_cell(report.name)} | {_cell(verdict.name)} | {_ICONS[verdict.status]} "
                         f"| {_cell(verdict.message)} |")
    errors = [r for r in reports if r.error]
    if errors:
        lines.append("")
        lines += [f"- **{_cell(r.name)}**: {_cell(r.error)}" for r in errors]
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    return html.escape(" ".join(str(text).split()), quote=False).replace("|", "\\|")
