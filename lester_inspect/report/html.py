"""The HTML report: one self-contained file (inline CSS, SVG and a few lines of script).

Per pipeline: its verdicts (checks and model conditions) with their detail tables, the DAG
(operators coloured by the worst verdict touching them; hover shows the code, a click opens
the operator), and per operator its code and inspection results: histograms as bar charts,
first rows as tables, completeness as share bars. Nothing is loaded from the network.
"""
from __future__ import annotations

import datetime
import html
import math
import numbers
from typing import Any, Dict, List, Mapping, Optional, Sequence

from lester_inspect.report.model import PipelineReport, Status, Verdict, operator_statuses, split_details, worst
from lester_inspect.report.svg import COLOURS, dag_svg

MAX_TABLE_ROWS = 30
MAX_BARS = 25
_CELL_CHARACTERS = 80
e = html.escape

_STYLE = """
:root { --failed: #c62828; --warning: #b7791f; --passed: #2e7d32; --error: #8e24aa; --muted: #5b6472; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
       margin: 0; color: #1f2430; background: #fafbfc; }
header { background: #1f2937; color: #fff; padding: 18px 28px; }
header h1 { margin: 0 0 6px; font-size: 22px; }
header nav a { color: #dbe4ff; margin-right: 14px; text-decoration: none; }
main { padding: 8px 28px 40px; max-width: 1500px; }
section.pipeline { margin-top: 22px; }
h2 { font-size: 20px; border-bottom: 1px solid #e3e6eb; padding-bottom: 6px; }
h3 { font-size: 16px; margin: 22px 0 8px; }
h5 { margin: 10px 0 4px; font-size: 13px; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 12px; font-weight: 600;
         color: #fff; vertical-align: middle; text-transform: uppercase; letter-spacing: .03em; }
.badge-passed, .badge-skipped { background: var(--passed); } .badge-warning { background: var(--warning); }
.badge-failed { background: var(--failed); } .badge-error { background: var(--error); }
.badge-skipped { opacity: .65; }
.verdict { border: 1px solid #e3e6eb; border-left: 6px solid var(--passed); background: #fff; border-radius: 6px;
           padding: 8px 14px; margin: 8px 0; }
.verdict-failed { border-left-color: var(--failed); background: #fff6f6; }
.verdict-warning { border-left-color: var(--warning); background: #fffaf0; }
.verdict-error { border-left-color: var(--error); background: #fbf5fd; }
.verdict-name { font-weight: 600; font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
.kind { color: var(--muted); font-size: 12px; margin-left: 6px; }
.reason { margin: 6px 0; }
.error-box { border: 1px solid var(--error); background: #fbf5fd; padding: 10px 14px; border-radius: 6px; }
pre.code { background: #f1f3f7; padding: 8px 10px; border-radius: 4px; overflow-x: auto; font-size: 12.5px;
           margin: 6px 0; }
.dag-frame { overflow: auto; max-height: 85vh; border: 1px solid #e3e6eb; background: #fff; border-radius: 6px;
             padding: 6px; cursor: grab; }
.dag-frame.dragging { cursor: grabbing; user-select: none; }
.dag-frame svg.dag { display: block; max-width: 100%; height: auto; margin: 0 auto; }
.dag-frame.zoomed svg.dag { max-width: none; }
.dag-tools { display: flex; align-items: center; gap: 6px; margin: 4px 0; font-size: 12px; color: var(--muted); }
.dag-tools button { font: inherit; padding: 1px 9px; border: 1px solid #c9ced6; border-radius: 4px; background: #fff;
                    cursor: pointer; color: #1f2430; }
.badge-unchecked { background: #8792a2; }
svg.dag text { font-family: system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif; fill: #1f2430; }
svg.dag a { cursor: pointer; } svg.dag a:hover rect { stroke-width: 3; }
.legend span { display: inline-block; margin-right: 14px; font-size: 12px; color: var(--muted); }
.legend i { display: inline-block; width: 12px; height: 12px; border: 1px solid; border-radius: 3px;
            vertical-align: -2px; margin-right: 4px; }
details.operator { background: #fff; border: 1px solid #e3e6eb; border-radius: 6px; margin: 6px 0;
                   padding: 4px 12px; }
details.operator[open] { box-shadow: 0 1px 4px rgba(0,0,0,.08); }
details.operator.flash { outline: 3px solid #6d8cff; }
details > summary { cursor: pointer; padding: 3px 0; }
.status-dot { display: inline-block; width: 10px; height: 10px; border-radius: 50%; margin-right: 6px; }
table { border-collapse: collapse; font-size: 12.5px; margin: 4px 0 10px; background: #fff; }
th, td { border: 1px solid #e3e6eb; padding: 3px 8px; text-align: left; vertical-align: top; }
th { background: #f1f3f7; font-weight: 600; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.more { color: var(--muted); font-size: 12px; }
.chart { margin: 6px 0 12px; }
.chart figcaption { font-weight: 600; font-size: 12.5px; margin-bottom: 3px; }
.bar-row { display: flex; align-items: center; font-size: 12px; margin: 1px 0; }
.bar-label { width: 170px; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; padding-right: 8px;
             text-align: right; }
.bar-track { flex: 0 0 320px; background: #eef1f6; height: 14px; border-radius: 3px; }
.bar { display: block; height: 14px; background: #5b7fd6; border-radius: 3px; }
.bar-share { background: #3f9a5a; }
.bar-value { padding-left: 8px; color: var(--muted); font-variant-numeric: tabular-nums; }
.tables { display: flex; flex-wrap: wrap; gap: 0 22px; }
.inspections { display: flex; flex-wrap: wrap; gap: 4px 28px; }
.inspections > div { min-width: 300px; max-width: 100%; overflow-x: auto; }
"""

_SCRIPT = """
(function () {
  // Each DAG starts fitted to the page; the buttons and Ctrl + wheel zoom, dragging pans.
  document.querySelectorAll('.dag-frame').forEach(function (frame) {
    var svg = frame.querySelector('svg.dag');
    if (!svg) return;
    var natural = Number(svg.getAttribute('width'));
    function scale() { return svg.getBoundingClientRect().width / natural; }
    function zoomTo(factor, x, y) {  // keep the drawing's point under (x, y) of the frame in place
      var before = scale(), left = frame.scrollLeft + x, top = frame.scrollTop + y;
      factor = Math.min(4, Math.max(0.1, factor));
      frame.classList.add('zoomed');
      svg.style.width = (natural * factor) + 'px';
      frame.scrollLeft = left * factor / before - x;
      frame.scrollTop = top * factor / before - y;
    }
    function fit() { frame.classList.remove('zoomed'); svg.style.width = ''; }
    var tools = frame.previousElementSibling;
    if (tools && tools.classList.contains('dag-tools')) {
      tools.addEventListener('click', function (event) {
        var action = event.target.getAttribute && event.target.getAttribute('data-zoom');
        var middle = [frame.clientWidth / 2, frame.clientHeight / 2];
        if (action === 'in') zoomTo(scale() * 1.25, middle[0], middle[1]);
        else if (action === 'out') zoomTo(scale() / 1.25, middle[0], middle[1]);
        else if (action === 'actual') zoomTo(1, 0, 0);
        else if (action === 'fit') fit();
      });
    }
    frame.addEventListener('wheel', function (event) {
      if (!event.ctrlKey && !event.metaKey) return;
      event.preventDefault();
      var box = frame.getBoundingClientRect();
      zoomTo(scale() * (event.deltaY < 0 ? 1.15 : 1 / 1.15), event.clientX - box.left, event.clientY - box.top);
    }, {passive: false});
    var drag = null;
    frame.addEventListener('mousedown', function (event) {
      if (event.button !== 0 || (event.target.closest && event.target.closest('a'))) return;
      drag = {x: event.clientX, y: event.clientY, left: frame.scrollLeft, top: frame.scrollTop};
      frame.classList.add('dragging');
    });
    window.addEventListener('mousemove', function (event) {
      if (!drag) return;
      frame.scrollLeft = drag.left - (event.clientX - drag.x);
      frame.scrollTop = drag.top - (event.clientY - drag.y);
    });
    window.addEventListener('mouseup', function () { drag = null; frame.classList.remove('dragging'); });
  });
  function open(id) {
    var target = document.getElementById(id);
    if (!target || target.tagName !== 'DETAILS') return;
    target.open = true;
    target.classList.add('flash');
    setTimeout(function () { target.classList.remove('flash'); }, 1600);
  }
  document.addEventListener('click', function (event) {
    var link = event.target.closest && event.target.closest('a');
    var href = link && (link.getAttribute('href') || link.getAttribute('xlink:href'));
    if (href && href.charAt(0) === '#') open(href.slice(1));
  });
  if (location.hash) open(location.hash.slice(1));
})();
"""


def html_report(reports: Sequence[PipelineReport], title: str = "lester-inspect report",
                fail_on_warning: bool = False) -> str:
    """The whole report as one HTML document."""
    judged = [r for r in reports if r.verdicts or r.error]
    overall = worst(r.status for r in judged)
    if overall is Status.WARNING and not fail_on_warning:
        overall = Status.PASSED
    created = datetime.datetime.now().replace(microsecond=0).isoformat(sep=" ")
    navigation = " ".join(f'<a href="#pipeline-{i}">{_report_badge(r)} {e(r.name)}</a>' for i, r in enumerate(reports))
    totals: Dict[Status, int] = {}
    for report in reports:
        for verdict in report.verdicts:
            totals[verdict.status] = totals.get(verdict.status, 0) + 1
    counted = ", ".join(f"{n} {status.value}" for status, n in sorted(totals.items(), key=lambda i: -i[0].severity))
    body = [f"<header><h1>{e(title)} {_badge(overall) if judged else _UNCHECKED}</h1>",
            f"<p>{len(reports)} pipeline{'s' if len(reports) != 1 else ''}; {counted or 'no checks'}. "
            f"Created {e(created)}.</p><nav>{navigation}</nav></header><main>"]
    body += [_pipeline_section(index, report) for index, report in enumerate(reports)]
    body.append("</main>")
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>{e(title)}</title><style>{_STYLE}</style></head><body>\n" + "\n".join(body)
            + f"\n<script>{_SCRIPT}</script></body></html>\n")


def _badge(status: Status) -> str:
    return f'<span class="badge badge-{status.value}">{status.value}</span>'


# A pipeline without checks neither passed nor failed anything.
_UNCHECKED = '<span class="badge badge-unchecked">no checks</span>'


def _report_badge(report: PipelineReport) -> str:
    return _badge(report.status) if report.verdicts or report.error else _UNCHECKED


def _pipeline_section(index: int, report: PipelineReport) -> str:
    prefix = f"p{index}"
    result = report.result
    parts = [f'<section class="pipeline" id="pipeline-{index}">',
             f"<h2>{e(report.name)} {_report_badge(report)}</h2>",
             f'<p class="more">{e(report.path)} · {report.seconds:.1f} s</p>']
    if report.error:
        parts.append(f'<div class="error-box"><b>Error:</b> {e(report.error)}'
                     + (" The DAG below is what ran before it." if result is not None else "") + "</div>")
    parts.append("<h3>Checks and conditions</h3>")
    if not report.verdicts:
        parts.append('<p class="more">No checks configured.</p>')
    parts += [_verdict(prefix, number, verdict) for number, verdict in enumerate(report.verdicts)]
    if result is not None and result.what_if:
        from lester_inspect.whatif.report import what_if_html

        parts.append(what_if_html(result.what_if))
    if result is not None:
        statuses = operator_statuses(result, report.verdicts)
        parts.append(f"<h3>Dataflow ({result.dag.number_of_nodes()} operators)</h3>")
        parts.append('<p class="legend">' + "".join(
            f'<span><i style="background:{COLOURS[s][0]};border-color:{COLOURS[s][1]}"></i>{label}</span>'
            for s, label in ((Status.FAILED, "failed check"), (Status.WARNING, "warning"),
                             (Status.PASSED, "checked, fine"), (None, "not checked")))
                     + "<span>Hover an operator for its description and code; click it for its inspection "
                       "results.</span></p>")
        svg = dag_svg(result.nodes, result.parents, statuses, lambda node: f"#{prefix}-op-{node.node_id}",
                      element_id=f"{prefix}-dag")
        parts.append('<div class="dag-tools"><button type="button" data-zoom="in" title="zoom in">+</button>'
                     '<button type="button" data-zoom="out" title="zoom out">−</button>'
                     '<button type="button" data-zoom="fit">fit</button>'
                     '<button type="button" data-zoom="actual">100%</button>'
                     "<span>Ctrl + wheel zooms, dragging pans.</span></div>")
        parts.append(f'<div class="dag-frame">{svg}</div>')
        parts.append("<h3>Operators</h3>")
        parts += [_operator(prefix, node, result, statuses.get(node)) for node in result.nodes]
    parts.append("</section>")
    return "\n".join(parts)


def _verdict(prefix: str, number: int, verdict: Verdict) -> str:
    parts = [f'<div class="verdict verdict-{verdict.status.value}" id="{prefix}-verdict-{number}">',
             f'<div>{_badge(verdict.status)} <span class="verdict-name">{e(verdict.name)}</span>'
             f'<span class="kind">{e(verdict.kind)}</span></div>',
             f'<p class="reason">{e(verdict.message)}</p>']
    node = verdict.operator
    if node is not None:
        location = f" at {node.code_location}" if node.code_location else ""
        parts.append(f'<p>Operator <a href="#{prefix}-op-{node.node_id}">{node.node_id} · '
                     f"{e(node.operator_type.value)}{e(location)}</a></p>")
        if node.source_code:
            parts.append(f'<pre class="code">{e(node.source_code)}</pre>')
    shown, folded = split_details(verdict)
    if shown:
        parts.append(_tables(shown))
    if folded:
        count = len(folded)
        label = f"{count} {'more ' if shown else ''}detail table{'s' if count != 1 else ''}"
        parts.append(f"<details><summary>{label}</summary>{_tables(folded)}</details>")
    parts.append("</div>")
    return "\n".join(parts)


def _tables(frames: Mapping[Any, Any]) -> str:
    return '<div class="tables">' + "".join(f"<div><h5>{e(str(name))}</h5>{_table(frame)}</div>"
                                           for name, frame in frames.items()) + "</div>"


def _operator(prefix: str, node, result, status: Optional[Status]) -> str:
    fill, stroke = COLOURS[status]
    location = f" · {node.code_location}" if node.code_location else ""
    parts = [f'<details class="operator" id="{prefix}-op-{node.node_id}">',
             f'<summary><span class="status-dot" style="background:{fill};border:1px solid {stroke}"></span>'
             f"<b>{node.node_id} · {e(node.operator_type.value)}</b>{e(location)} — {e(node.description)}</summary>"]
    if node.source_code:
        parts.append(f'<pre class="code">{e(node.source_code)}</pre>')
    inputs = result.parents(node)
    if inputs:
        links = ", ".join(f'<a href="#{prefix}-op-{p.node_id}">{p.node_id} · {e(p.operator_type.value)}</a>'
                          for p in inputs)
        parts.append(f"<p>Inputs: {links}</p>")
    if node.columns:
        shown = ", ".join(node.columns[:40]) + (f" … ({len(node.columns)} in all)" if len(node.columns) > 40 else "")
        parts.append(f'<p class="more">Columns: {e(shown)}</p>')
    results = result.dag_node_to_inspection_results.get(node, {})
    rendered = [_inspection_result(inspection, value) for inspection, value in results.items() if value is not None]
    if rendered:
        parts.append('<div class="inspections">' + "".join(rendered) + "</div>")
    parts.append("</details>")
    return "\n".join(parts)


def _inspection_result(inspection, value: Any) -> str:
    from lester_inspect.inspections import CompletenessOfColumns, HistogramForColumns, IntersectionalHistogramForColumns

    title = f"<h5>{e(type(inspection).__name__)}</h5>"
    if isinstance(inspection, HistogramForColumns):
        body = "".join(_bars(column, counts) if isinstance(counts, Mapping)
                       else f'<p>{e(column)}: {e(repr(counts))}</p>' for column, counts in value.items())
    elif isinstance(inspection, IntersectionalHistogramForColumns) and isinstance(value, Mapping):
        body = _bars(" × ".join(inspection.columns), {" × ".join(map(str, k)): v for k, v in value.items()})
    elif isinstance(inspection, CompletenessOfColumns):
        body = _share_bars("share of non-missing values", value)
    elif _is_frame(value):
        body = _table(value)
    elif isinstance(value, Mapping):
        body = _table_from_rows(["key", "value"], [[k, v] for k, v in value.items()])
    else:
        body = f'<pre class="code">{e(_shorten(repr(value), 2000))}</pre>'
    return f"<div>{title}{body}</div>"


def _bars(caption: Any, counts: Mapping[Any, Any]) -> str:
    items = sorted(counts.items(), key=lambda item: -item[1])
    total = sum(v for _, v in items) or 1
    largest = max((v for _, v in items), default=1) or 1
    rows = [f'<div class="bar-row"><span class="bar-label" title="{e(str(k))}">{e(str(k))}</span>'
            f'<span class="bar-track"><span class="bar" style="width:{100 * v / largest:.1f}%"></span></span>'
            f'<span class="bar-value">{v:,} ({v / total:.0%})</span></div>' for k, v in items[:MAX_BARS]]
    if len(items) > MAX_BARS:
        rows.append(f'<div class="more">… {len(items) - MAX_BARS} more values</div>')
    return f'<figure class="chart"><figcaption>{e(str(caption))}</figcaption>{"".join(rows)}</figure>'


def _share_bars(caption: str, shares: Mapping[Any, float]) -> str:
    rows = [f'<div class="bar-row"><span class="bar-label">{e(str(k))}</span><span class="bar-track">'
            f'<span class="bar bar-share" style="width:{100 * v:.1f}%"></span></span>'
            f'<span class="bar-value">{v:.1%}</span></div>' for k, v in shares.items()]
    return f'<figure class="chart"><figcaption>{e(caption)}</figcaption>{"".join(rows)}</figure>'


def _is_frame(value: Any) -> bool:
    return hasattr(value, "columns") and hasattr(value, "itertuples")


def _table(frame) -> str:
    return _table_from_rows(list(frame.columns), frame.head(MAX_TABLE_ROWS).itertuples(index=False), len(frame))


def _table_from_rows(columns: List[Any], rows, total: Optional[int] = None) -> str:
    head = "".join(f"<th>{e(str(c))}</th>" for c in columns)
    body = []
    shown = 0
    for row in rows:
        if shown == MAX_TABLE_ROWS:
            break
        shown += 1
        cells = "".join(f'<td class="num">{e(_format(v))}</td>' if _is_number(v) else f"<td>{e(_format(v))}</td>"
                        for v in row)
        body.append(f"<tr>{cells}</tr>")
    more = f'<div class="more">{total - shown} more rows</div>' if total is not None and total > shown else ""
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>{more}"


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _format(value: Any) -> str:
    if isinstance(value, numbers.Real) and not isinstance(value, numbers.Integral):
        value = float(value)
        return "NaN" if math.isnan(value) else f"{value:.4g}"
    return _shorten(str(value), _CELL_CHARACTERS)


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"
