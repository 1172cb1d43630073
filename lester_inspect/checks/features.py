"""Checks on what reaches the model as features."""
from __future__ import annotations

import re
from typing import Iterable, List, Tuple

from lester_inspect.checks._parameters import column_names, number
from lester_inspect.checks._reporting import where
from lester_inspect.checks.base import Check, CheckResult, CheckStatus
from lester_inspect.inspections.data_quality import AllZeroRowShare
from lester_inspect.instrumentation.dag import DagNode, OperatorType

T = OperatorType
PROTECTED_ATTRIBUTES = ("race", "ethnicity", "gender", "sex", "age", "religion", "nationality", "disability")


class NoIllegalFeatures(Check):
    """Fails when a protected attribute is used as a feature of a model.

    A column counts as that attribute when one of its name's words is it
    (``race``, ``age_group``, ``Sex``); the list is ``PROTECTED_ATTRIBUTES`` plus
    ``additional_illegal_feature_names``. The features of a model are the columns
    its featurisation selects (a ColumnTransformer's projections), or the columns of
    its training data where nothing selects them.
    """

    def __init__(self, additional_illegal_feature_names: Iterable[str] = ()):
        self.additional_illegal_feature_names = column_names(
            self, "additional_illegal_feature_names", additional_illegal_feature_names, may_be_empty=True)

    def evaluate(self, result) -> CheckResult:
        illegal = {name.lower() for name in (*PROTECTED_ATTRIBUTES, *self.additional_illegal_feature_names)}
        found: List[Tuple[str, DagNode]] = []
        for estimator in (n for n in result.nodes if n.operator_type is T.ESTIMATOR):
            for column, node in _features(result, estimator):
                words = set(re.split(r"[^0-9a-z]+", str(column).lower())) | {str(column).lower()}
                if words & illegal and all(column != c for c, _ in found):
                    found.append((column, node))
        if not found:
            return CheckResult(self, CheckStatus.SUCCESS, "No protected attribute is used as a feature.")
        column, node = found[0]
        others = [c for c, _ in found[1:]]
        more = f"; also {', '.join(map(repr, others))}" if others else ""
        return CheckResult(self, CheckStatus.FAILURE, f"{where(node)} uses {column!r} as a feature{more}",
                           operator=node)


def _features(result, estimator: DagNode) -> List[Tuple[str, DagNode]]:
    import networkx as nx  # here: importing the checks must not import networkx (a run's fixed cost)

    ancestors = nx.ancestors(result.dag, estimator)
    train_data = [n for n in ancestors if n.operator_type is T.TRAIN_DATA]
    if not train_data:
        return []
    between = set().union(*(nx.descendants(result.dag, t) for t in train_data)) & ancestors
    selections = sorted((n for n in between if n.operator_type is T.PROJECTION), key=lambda n: n.node_id)
    if selections:
        return [(column, node) for node in selections for column in node.columns]
    return [(column, node) for node in train_data for column in node.columns]


class NoMissingEmbeddings(Check):
    """Fails when a transformer outputs all-zero rows (a missing embedding or encoding) too often.

    ``threshold`` is the largest allowed share of such rows in a transformer's output.
    """

    def __init__(self, threshold: float = 0.1):
        self.threshold = number(self, "threshold", threshold, lambda v: 0 <= v <= 1, "from 0 to 1 (a share of rows)")

    @property
    def required_inspections(self):
        return [AllZeroRowShare()]

    def evaluate(self, result) -> CheckResult:
        inspection = AllZeroRowShare()
        worst = None
        for node in result.nodes:
            share = result.dag_node_to_inspection_results[node].get(inspection)
            if share is not None and share > self.threshold and (worst is None or share > worst[0]):
                worst = (share, node)
        if worst is None:
            return CheckResult(self, CheckStatus.SUCCESS, f"No transformer outputs more than {self.threshold:.0%} "
                               "all-zero rows.")
        share, node = worst
        return CheckResult(self, CheckStatus.FAILURE, f"{where(node)}: {share:.1%} of its output rows are all zero "
                           f"(missing embeddings), more than the allowed {self.threshold:.0%}", operator=node)
