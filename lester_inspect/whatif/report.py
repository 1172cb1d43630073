"""The what-if section of the HTML report: per analysis its summary, a small chart and its table."""
from __future__ import annotations

from html import escape as e
from typing import Dict, List

import pandas as pd

_WIDTH, _HEIGHT, _MARGIN = 360, 160, 34
_COLOURS = ["#3b6fb6", "#d9822b", "#3a9a5b", "#c23b3b", "#7b5ea7", "#8c6d31", "#2a9d9d", "#d45087"]


def what_if_html(results: Dict[object, pd.DataFrame]) -> str:
    from lester_inspect.report.html import _table  # the report's one table rendering

    parts = [f"<h3>What-if analyses ({len(results)})</h3>"]
    for analysis, frame in results.items():
        parts.append(f'<div class="what-if"><h4>{e(repr(analysis))}</h4>')
        parts.append("".join(f'<p class="reason">{e(line.strip())}</p>' for line in analysis.summary_lines(frame)))
        chart = _chart(frame)
        if chart:
            parts.append(f'<figure class="chart">{chart}</figure>')
        parts.append(f'<div class="tables"><div>{_table(frame)}</div></div></div>')
    return "\n".join(parts)


def _chart(frame: pd.DataFrame) -> str:
    if "fraction" in frame.columns:
        return _score_by_fraction(frame)
    if "importance" in frame.columns:
        means = frame.iloc[1:].groupby("column", sort=False)["importance"].mean()
        return _bars("importance (how much permuting worsens the score)", means)
    if "max_accuracy" in frame.columns:
        return _bars("highest accuracy the data allows, by encoding", frame.set_index("variant")["max_accuracy"])
    changes = frame.iloc[1:].set_index("variant")["score_change"].dropna()
    return _bars("score change per variant (red: lower than plain)", changes) if len(changes) else ""


def _bars(caption: str, values: pd.Series) -> str:
    """One bar per value, as long as its size; red where it is negative."""
    largest = max(float(values.abs().max()), 1e-12)
    rows = [f'<div class="bar-row"><span class="bar-label" title="{e(str(k))}">{e(str(k))}</span>'
            f'<span class="bar-track"><span class="bar" style="width:{100 * abs(v) / largest:.1f}%'
            f'{";background:#c23b3b" if v < 0 else ""}"></span></span>'
            f'<span class="bar-value">{v:+.4f}</span></div>' for k, v in values.items()]
    return f"<figcaption>{e(caption)}</figcaption>{''.join(rows)}"


def _score_by_fraction(frame: pd.DataFrame) -> str:
    """An SVG line per (column, corruption): score against the fraction corrupted; the plain score dashed."""
    plain = float(frame["score"].iloc[0])
    variants = frame.iloc[1:].dropna(subset=["score"])
    if variants.empty:
        return ""
    low = min(float(variants["score"].min()), plain)
    high = max(float(variants["score"].max()), plain)
    span = (high - low) or 1.0

    def x(fraction):
        return _MARGIN + fraction * (_WIDTH - 2 * _MARGIN)

    def y(score):
        return _HEIGHT - _MARGIN + (low - score) / span * (_HEIGHT - 2 * _MARGIN)

    lines: List[str] = [
        f'<line x1="{x(0):.1f}" y1="{y(plain):.1f}" x2="{x(1):.1f}" y2="{y(plain):.1f}" stroke="#888" '
        'stroke-dasharray="4 3"/>',
        f'<text x="{x(1) + 2:.1f}" y="{y(plain) + 3:.1f}" font-size="9">plain {plain:.3f}</text>',
        f'<text x="{x(0):.1f}" y="{_HEIGHT - 8}" font-size="9">fraction corrupted 0 … 1</text>',
        f'<text x="2" y="{y(high) + 3:.1f}" font-size="9">{high:.3f}</text>',
        f'<text x="2" y="{y(low) + 3:.1f}" font-size="9">{low:.3f}</text>']
    legend = []
    for index, ((column, corruption), group) in enumerate(variants.groupby(["column", "corruption"], sort=False)):
        colour = _COLOURS[index % len(_COLOURS)]
        group = group.sort_values("fraction")
        points = " ".join(f"{x(f):.1f},{y(s):.1f}" for f, s in zip(group["fraction"], group["score"]))
        lines.append(f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="1.5"/>')
        legend.append(f'<span style="color:{colour}">■</span> {e(str(column))}: {e(str(corruption))}')
    svg = (f'<svg width="{_WIDTH + 40}" height="{_HEIGHT}" viewBox="0 0 {_WIDTH + 40} {_HEIGHT}" role="img" '
           f'aria-label="score by fraction corrupted">{"".join(lines)}</svg>')
    return f"<figcaption>score by fraction corrupted</figcaption>{svg}<div class=\"more\">{' · '.join(legend)}</div>"
