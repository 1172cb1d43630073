"""Checks for changes in the distribution of sensitive groups."""
from __future__ import annotations

from typing import Iterable, Iterator, List, Optional, Tuple

import pandas as pd

from lester_inspect.checks._parameters import column_names, number
from lester_inspect.checks._reporting import (compare_distributions, cuts_behind, describe_drop, unknown_verdict,
                                              where, worst_drop)
from lester_inspect.checks.base import Check, CheckResult, CheckStatus
from lester_inspect.inspections.annotations import UnknownProvenance
from lester_inspect.inspections.histograms import HistogramForColumns
from lester_inspect.instrumentation.dag import DagNode, OperatorType

T = OperatorType
# Operators that choose, drop or multiply rows, and so can change a group's share.
ROW_CHANGING = (T.SELECTION, T.JOIN, T.TRAIN_TEST_SPLIT, T.RESHAPE)


class _GroupCheck(Check):
    """A check over the groups of sensitive columns, using their histograms."""

    def __init__(self, columns: Iterable[str]):
        self.columns = column_names(self, "columns", columns)

    @property
    def required_inspections(self):
        return [HistogramForColumns(self.columns)]

    def configuration_errors(self, result) -> List[str]:
        seen = {column for node in result.dag.nodes for column in node.columns}
        return [f"{type(self).__name__}: column {column!r} never appears in the pipeline"
                f"{_did_you_mean(column, seen)}" for column in self.columns if column not in seen]

    def _before_and_after(self, result, operator_types, unknown: List[DagNode]
                          ) -> Iterator[Tuple[DagNode, str, dict, dict]]:
        """For operators of ``operator_types``: (operator, column, histogram of its row carrier, its histogram).

        Operators where a histogram is unknown (below a provenance cut) go to ``unknown``.
        """
        histograms = HistogramForColumns(self.columns)
        for node in result.nodes:
            carrier = result.row_carrier(node)
            if node.operator_type not in operator_types or carrier is None:
                continue
            after = result.dag_node_to_inspection_results[node].get(histograms) or {}
            before = result.dag_node_to_inspection_results[carrier].get(histograms) or {}
            for column in self.columns:
                if column in before and column in after:
                    if isinstance(before[column], UnknownProvenance) or isinstance(after[column], UnknownProvenance):
                        unknown.append(node)
                    else:
                        yield node, column, before[column], after[column]


class NoBiasIntroducedFor(_GroupCheck):
    """Fails when an operator lowers a group's share of the rows by more than allowed.

    Each operator that selects, joins or splits rows is compared with the input
    whose rows it carries — for a join of a fact table with a lookup table (e.g. a
    group-by result) that is the fact table, not the lookup table's one-row-per-group
    distribution. A relative change of -0.3 means a group's share may drop from 20 %
    to 14 % but not further.
    """

    def __init__(self, columns: Iterable[str], min_allowed_relative_ratio_change: float = -0.3):
        super().__init__(columns)
        self.min_allowed_relative_ratio_change = number(
            self, "min_allowed_relative_ratio_change", min_allowed_relative_ratio_change, lambda v: -1 <= v <= 0,
            "from -1 to 0 (the allowed relative change of a group's share)")

    def evaluate(self, result) -> CheckResult:
        threshold = self.min_allowed_relative_ratio_change
        details, failures, unknown = {}, [], []
        for node, column, before, after in self._before_and_after(result, ROW_CHANGING, unknown):
            table = compare_distributions(before, after)
            details[f"{node.node_id}: {column}"] = table
            drop = worst_drop(table, threshold)
            if drop is not None:
                failures.append((drop["relative_change"], node, column, drop))
        if not failures and unknown:
            return unknown_verdict(self, result, f"how operators {_ids(unknown)} change the groups of "
                                   f"{', '.join(self.columns)}", cuts_behind(result, unknown), details)
        if not failures:
            return CheckResult(self, CheckStatus.SUCCESS, f"No operator lowered the share of a group of "
                               f"{', '.join(self.columns)} by more than {threshold:+.0%}.", details)
        failures.sort(key=lambda failure: failure[0])
        _, node, column, drop = failures[0]
        more = f" (and {len(failures) - 1} more)" if len(failures) > 1 else ""
        return CheckResult(self, CheckStatus.FAILURE, describe_drop(where(node), column, drop, threshold) + more,
                           details, node)


class NoBiasAccumulatedFor(_GroupCheck):
    """Fails when the training (or test) data's group shares drifted too far from the sources'.

    Catches bias that builds up over several operators, each within
    ``NoBiasIntroducedFor``'s threshold: the data reaching the model is compared
    with the data source the column comes from.
    """

    def __init__(self, columns: Iterable[str], min_allowed_relative_ratio_change: float = -0.3):
        super().__init__(columns)
        self.min_allowed_relative_ratio_change = number(
            self, "min_allowed_relative_ratio_change", min_allowed_relative_ratio_change, lambda v: -1 <= v <= 0,
            "from -1 to 0 (the allowed relative change of a group's share)")

    def evaluate(self, result) -> CheckResult:
        histograms = HistogramForColumns(self.columns)
        threshold = self.min_allowed_relative_ratio_change
        targets = [n for n in result.nodes if n.operator_type in (T.TRAIN_DATA, T.TEST_DATA)]
        targets = targets or [n for n in result.nodes if result.dag.out_degree(n) == 0]
        details, failures, unknown = {}, [], []
        for node in targets:
            after = result.dag_node_to_inspection_results[node].get(histograms) or {}
            for column in self.columns:
                source = _origin(result, node, column, histograms)
                if column in after and (isinstance(after[column], UnknownProvenance) or source is None and any(
                        result.dag.nodes[s].get("provenance_cut") for s in _sources(result, node))):
                    unknown.append(node)
                    continue
                if source is None or column not in after:
                    continue
                before = result.dag_node_to_inspection_results[source][histograms][column]
                table = compare_distributions(before, after[column])
                details[f"{node.node_id}: {column} vs {source.node_id}"] = table
                drop = worst_drop(table, threshold)
                if drop is not None:
                    failures.append((drop["relative_change"], node, source, column, drop))
        if not failures and unknown:
            return unknown_verdict(self, result, f"whether the data of operators {_ids(unknown)} keeps the group "
                                   f"shares of {', '.join(self.columns)} of its sources", cuts_behind(result, unknown),
                                   details)
        if not failures:
            return CheckResult(self, CheckStatus.SUCCESS, f"The data reaching the model keeps the group shares of "
                               f"{', '.join(self.columns)} within {threshold:+.0%} of its sources.", details)
        failures.sort(key=lambda failure: failure[0])
        _, node, source, column, drop = failures[0]
        steps = _row_changing_steps(result, source, node)
        text = describe_drop(f"{where(node)} compared with {where(source)}", column, drop, threshold)
        text += f", accumulated over operators {', '.join(str(s.node_id) for s in steps)}" if steps else ""
        more = f" (and {len(failures) - 1} more)" if len(failures) > 1 else ""
        return CheckResult(self, CheckStatus.FAILURE, text + more, details, node)


def _did_you_mean(column: str, seen) -> str:
    import difflib

    close = difflib.get_close_matches(column, sorted(seen), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _sources(result, node: DagNode) -> List[DagNode]:
    import networkx as nx

    return [a for a in nx.ancestors(result.dag, node) if a.operator_type is T.DATA_SOURCE]


def _origin(result, node: DagNode, column: str, histograms) -> Optional[DagNode]:
    """The first real data source with ``column`` upstream of ``node`` (not an untracked one)."""
    sources = [a for a in _sources(result, node) if "provenance_cut" not in result.dag.nodes[a]
               and column in (result.dag_node_to_inspection_results[a].get(histograms) or {})]
    return min(sources, key=lambda n: n.node_id) if sources else None


def _ids(nodes: List[DagNode]) -> str:
    return ", ".join(str(i) for i in sorted({n.node_id for n in nodes}))


def _row_changing_steps(result, source: DagNode, node: DagNode) -> List[DagNode]:
    import networkx as nx

    between = nx.descendants(result.dag, source) & (nx.ancestors(result.dag, node) | {node})
    return sorted((n for n in between if n.operator_type in ROW_CHANGING), key=lambda n: n.node_id)


class SimilarRemovalProbabilitiesFor(_GroupCheck):
    """Fails when a selection removes rows of one group much more often than of another.

    For every selection, each group's removal probability (the share of its rows
    the selection drops) is computed; the largest may be at most
    ``max_removal_probability_ratio`` times the smallest.
    """

    def __init__(self, columns: Iterable[str], max_removal_probability_ratio: float = 2.0):
        super().__init__(columns)
        self.max_removal_probability_ratio = number(self, "max_removal_probability_ratio",
                                                    max_removal_probability_ratio, lambda v: v >= 1, "of at least 1")

    def evaluate(self, result) -> CheckResult:
        details, failures, unknown = {}, [], []
        for node, column, before, after in self._before_and_after(result, (T.SELECTION,), unknown):
            table = _removal_table(before, after)
            details[f"{node.node_id}: {column}"] = table
            if len(table) < 2:
                continue
            highest, lowest = table.iloc[0], table.iloc[-1]
            ratio = (highest["removal_probability"] / lowest["removal_probability"]
                     if lowest["removal_probability"] > 0 else float("inf"))
            if highest["removal_probability"] > 0 and ratio > self.max_removal_probability_ratio:
                failures.append((ratio, node, column, highest, lowest))
        if not failures and unknown:
            return unknown_verdict(self, result, f"which groups of {', '.join(self.columns)} the selections "
                                   f"{_ids(unknown)} remove", cuts_behind(result, unknown), details)
        if not failures:
            return CheckResult(self, CheckStatus.SUCCESS, f"Every selection removes rows of all groups of "
                               f"{', '.join(self.columns)} with similar probabilities.", details)
        failures.sort(key=lambda failure: -failure[0])
        ratio, node, column, highest, lowest = failures[0]
        text = (f"{where(node)}: removes {column} = {highest['group']!r} with probability "
                f"{highest['removal_probability']:.1%} but {lowest['group']!r} with "
                f"{lowest['removal_probability']:.1%} (ratio {ratio:.2f}, allowed "
                f"{self.max_removal_probability_ratio:.2f})")
        more = f" (and {len(failures) - 1} more)" if len(failures) > 1 else ""
        return CheckResult(self, CheckStatus.FAILURE, text + more, details, node)


def _removal_table(before, after) -> pd.DataFrame:
    rows = [{"group": group, "count_before": count, "count_after": after.get(group, 0),
             "removal_probability": 1 - after.get(group, 0) / count}
            for group, count in before.items() if group is not None and count > 0]
    table = pd.DataFrame(rows, columns=["group", "count_before", "count_after", "removal_probability"])
    return table.sort_values("removal_probability", ascending=False, ignore_index=True)
