"""Shared wording of check results: where an operator is, and shares."""
from __future__ import annotations

from typing import Any, Dict, Iterable, List, Optional

import pandas as pd

from lester_inspect.instrumentation.dag import DagNode
from lester_inspect.instrumentation.provenance_cuts import cuts_upstream
from lester_inspect.instrumentation.rows import ProvenanceCut


def where(node: DagNode) -> str:
    """``Selection at line 71 (Select: county isin [...])``."""
    location = f" at {node.code_location}" if node.code_location else ""
    return f"{node.operator_type.value}{location} ({node.description})"


def cuts_behind(result, nodes: Iterable[DagNode]) -> List[ProvenanceCut]:
    """The provenance cuts upstream of any of ``nodes``, each once, in execution order."""
    found = {cut.node_id: cut for node in nodes for cut in cuts_upstream(result.dag, node)}
    return [found[key] for key in sorted(found)]


def unknown_verdict(check, result, what: str, cuts: List[ProvenanceCut], details=None):
    """WARNING: ``what`` cannot be told because row provenance is cut; names the first cut's call and line."""
    from lester_inspect.checks.base import CheckResult, CheckStatus

    more = f" (and {len(cuts) - 1} more cuts)" if len(cuts) > 1 else ""
    operator = next((n for n in result.dag.nodes if n.node_id == cuts[0].node_id), None)
    return CheckResult(check, CheckStatus.WARNING, f"Cannot tell {what}: row provenance is cut at {cuts[0]}{more}",
                       details or {}, operator)


def shares(counts: Dict[Any, int]) -> Dict[Any, float]:
    """Each group's share of the rows, missing values (``None``) left out."""
    total = sum(n for group, n in counts.items() if group is not None)
    return {group: n / total for group, n in counts.items() if group is not None} if total else {}


def compare_distributions(before: Dict[Any, int], after: Dict[Any, int]) -> pd.DataFrame:
    """One row per group: counts and shares before and after, and the relative change of the share."""
    share_before, share_after = shares(before), shares(after)
    rows = []
    for group in share_before:
        change = (share_after.get(group, 0.0) - share_before[group]) / share_before[group]
        rows.append({"group": group, "count_before": before.get(group, 0), "share_before": share_before[group],
                     "count_after": after.get(group, 0), "share_after": share_after.get(group, 0.0),
                     "relative_change": change})
    return pd.DataFrame(rows, columns=["group", "count_before", "share_before", "count_after", "share_after",
                                       "relative_change"])


def worst_drop(table: pd.DataFrame, threshold: float) -> Optional[pd.Series]:
    below = table[table["relative_change"] < threshold]
    return below.sort_values("relative_change").iloc[0] if len(below) else None


def describe_drop(node_text: str, column: str, row: pd.Series, threshold: float) -> str:
    return (f"{node_text}: {column} = {row['group']!r} went from {row['share_before']:.1%} to "
            f"{row['share_after']:.1%} of the rows ({row['relative_change']:+.0%}), below the allowed "
            f"{threshold:+.0%}")
