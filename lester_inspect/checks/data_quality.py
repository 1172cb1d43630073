"""Data quality checks: leakage between train and test data, duplicates, label shift."""
from __future__ import annotations

import numpy as np
import pandas as pd

from lester_inspect.checks._parameters import number
from lester_inspect.checks._reporting import cuts_behind, unknown_verdict, where
from lester_inspect.inspections.annotations import UnknownProvenance
from lester_inspect.checks.base import Check, CheckResult, CheckStatus
from lester_inspect.inspections.data_quality import DuplicateRowCount, LabelCounts
from lester_inspect.inspections.lineage import SourceRowUsage
from lester_inspect.instrumentation.dag import OperatorType

T = OperatorType


class NoTrainTestOverlap(Check):
    """Fails when rows of a data source are in both the training data and the test data (by lineage)."""

    def __init__(self):
        pass

    @property
    def required_inspections(self):
        return [SourceRowUsage((T.TRAIN_DATA, T.TEST_DATA))]

    def evaluate(self, result) -> CheckResult:
        usage = SourceRowUsage((T.TRAIN_DATA, T.TEST_DATA))
        train = [(n, result.dag_node_to_inspection_results[n].get(usage)) for n in result.nodes
                 if n.operator_type is T.TRAIN_DATA]
        test = [(n, result.dag_node_to_inspection_results[n].get(usage)) for n in result.nodes
                if n.operator_type is T.TEST_DATA]
        if not train or not test:
            return CheckResult(self, CheckStatus.WARNING, "Nothing to compare: the pipeline has no "
                               f"{'training' if not train else 'test'} data.")
        rows, details = [], {}
        unknown = [n for n, usage in train + test if isinstance(usage, UnknownProvenance)]
        train = [(n, u) for n, u in train if not isinstance(u, UnknownProvenance)]
        test = [(n, u) for n, u in test if not isinstance(u, UnknownProvenance)]
        for train_node, train_usage in train:
            for test_node, test_usage in test:
                for source, used in (train_usage or {}).items():
                    if source in (test_usage or {}):
                        both = np.flatnonzero(used & test_usage[source])
                        rows.append({"source": source, "train": train_node.node_id, "test": test_node.node_id,
                                     "rows_in_both": len(both), "first_rows": both[:10].tolist()})
        table = pd.DataFrame(rows, columns=["source", "train", "test", "rows_in_both", "first_rows"])
        details["overlap"] = table
        overlapping = table[table["rows_in_both"] > 0]
        if overlapping.empty and unknown:
            return unknown_verdict(self, result, "which source rows the training and test data share",
                                   cuts_behind(result, unknown), details)
        if overlapping.empty:
            return CheckResult(self, CheckStatus.SUCCESS, "No source row is in both the training and the test data.",
                               details)
        first = overlapping.iloc[0]
        test_node = next(n for n, _ in test if n.node_id == first["test"])
        return CheckResult(self, CheckStatus.FAILURE, f"{first['rows_in_both']} rows of {first['source']} (e.g. rows "
                           f"{first['first_rows'][:3]}) are in the training data and in the {where(test_node)}",
                           details, test_node)


class NoDuplicateRows(Check):
    """Fails when the training data contains repeated rows; warns when a data source does.

    Data made by code the runtime does not follow is no data source: its real sources
    were not seen, so a pipeline with such data gets a WARNING instead of a SUCCESS.
    """

    def __init__(self):
        pass

    @property
    def required_inspections(self):
        return [DuplicateRowCount()]

    def evaluate(self, result) -> CheckResult:
        inspection = DuplicateRowCount()
        counts = [(n, result.dag_node_to_inspection_results[n].get(inspection)) for n in result.nodes]
        counts = [(n, c) for n, c in counts if c is not None]
        details = {"duplicates": pd.DataFrame([{"operator": n.node_id, "type": n.operator_type.value,
                                                "description": n.description, "duplicate_rows": c}
                                               for n, c in counts],
                                              columns=["operator", "type", "description", "duplicate_rows"])}
        in_training = [(n, c) for n, c in counts if c and n.operator_type is T.TRAIN_DATA]
        if in_training:
            node, count = in_training[0]
            return CheckResult(self, CheckStatus.FAILURE, f"{where(node)} contains {count} duplicate rows", details,
                               node)
        in_sources = [(n, c) for n, c in counts if c and "provenance_cut" not in result.dag.nodes[n]]
        if in_sources:
            node, count = in_sources[0]
            return CheckResult(self, CheckStatus.WARNING, f"{where(node)} contains {count} duplicate rows", details,
                               node)
        untracked = [n for n, _ in counts if "provenance_cut" in result.dag.nodes[n]]
        if untracked:
            return unknown_verdict(self, result, "whether the sources behind operators "
                                   f"{', '.join(str(n.node_id) for n in untracked)} hold duplicate rows",
                                   cuts_behind(result, untracked), details)
        return CheckResult(self, CheckStatus.SUCCESS, "No duplicate rows in the data sources or training data.",
                           details)


class NoLabelShift(Check):
    """Fails when the training and test labels are distributed differently (chi-squared test).

    The test's null hypothesis is that both come from one distribution; the check
    fails when its p-value is below ``significance``.
    """

    def __init__(self, significance: float = 0.01):
        self.significance = number(self, "significance", significance, lambda v: 0 < v < 1,
                                   "between 0 and 1 (exclusive)")

    @property
    def required_inspections(self):
        return [LabelCounts()]

    def evaluate(self, result) -> CheckResult:
        from scipy.stats import chi2_contingency

        inspection = LabelCounts()
        train = [(n, result.dag_node_to_inspection_results[n].get(inspection)) for n in result.nodes
                 if n.operator_type is T.TRAIN_LABELS]
        test = [(n, result.dag_node_to_inspection_results[n].get(inspection)) for n in result.nodes
                if n.operator_type is T.TEST_LABELS]
        if not train or not test or not train[0][1] or not test[-1][1]:
            return CheckResult(self, CheckStatus.WARNING, "Nothing to compare: the pipeline has no "
                               f"{'training' if not train else 'test'} labels.")
        (train_node, train_counts), (test_node, test_counts) = train[0], test[-1]
        labels = sorted(set(train_counts) | set(test_counts), key=str)
        table = pd.DataFrame({"label": labels, "train": [train_counts.get(l, 0) for l in labels],
                              "test": [test_counts.get(l, 0) for l in labels]})
        table["train_share"] = table["train"] / table["train"].sum()
        table["test_share"] = table["test"] / table["test"].sum()
        if len(labels) < 2:
            return CheckResult(self, CheckStatus.SUCCESS, "Only one label: nothing can shift.", {"labels": table})
        p_value = float(chi2_contingency(table[["train", "test"]].to_numpy().T)[1])
        details = {"labels": table}
        if p_value < self.significance:
            return CheckResult(self, CheckStatus.FAILURE, f"The labels of the {where(test_node)} are distributed "
                               f"differently from the training labels (chi-squared p = {p_value:.2g} < "
                               f"{self.significance})", details, test_node)
        return CheckResult(self, CheckStatus.SUCCESS, f"Training and test labels are alike (chi-squared p = "
                           f"{p_value:.2g}).", details)
