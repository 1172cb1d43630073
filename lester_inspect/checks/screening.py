"""Screening checks on what reaches the model: personal data, constant and unnormalised features, group fairness.

Each names the source columns at fault through column and matrix column provenance.
"""
from __future__ import annotations

import re
from typing import Iterable, List, Optional

import numpy as np
import pandas as pd

from lester_inspect.checks._reporting import where
from lester_inspect.checks.base import Check, CheckResult, CheckStatus
from lester_inspect.inspections.screening import (FittedRows, ModelData, ModelInputs, PersonalDataColumns,
                                                  SearchRows, TestGroups, dense, row_mask)
from lester_inspect.instrumentation.dag import OperatorType

T = OperatorType


def _model_data(result, types=(T.ESTIMATOR,)) -> List[ModelData]:
    found = [result.dag_node_to_inspection_results[n].get(ModelInputs()) for n in result.nodes
             if n.operator_type in types]
    return [f for f in found if f is not None]


def _sources_text(sources) -> str:
    if sources is None:
        return "unknown"
    return ", ".join(f"{s}.{c}" for s, c in sorted(sources)) or "no source column (computed in the pipeline)"


def _require_share(owner: str, name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise ValueError(f"{owner}: {name} must be a number between 0 and 1, not {value!r}")
    return float(value)


class NoPersonalDataInFeatures(Check):
    """Fails when a source column whose values look like personal data feeds a model's feature matrix.

    Personal data: emails, phone numbers, IBANs (mod-97 check), card numbers (Luhn check) and, for the
    ``names`` given, people's names; a column counts when at least ``min_share`` of its (up to 1000 first
    non-missing) values are of one kind. Hashing or encoding such a column still counts: its provenance
    reaches the features.
    """

    def __init__(self, names: Iterable[str] = (), min_share: float = 0.5):
        if isinstance(names, str):
            raise ValueError(f"NoPersonalDataInFeatures: names must be a list of names, not the string {names!r}")
        self.names = list(names)
        self.min_share = _require_share("NoPersonalDataInFeatures", "min_share", min_share)

    def _scan(self):
        return PersonalDataColumns(self.names, self.min_share)

    @property
    def required_inspections(self):
        return [self._scan(), ModelInputs()]

    def evaluate(self, result) -> CheckResult:
        personal = {}
        for node in result.nodes:
            source, columns = result.dag_node_to_inspection_results[node].get(self._scan()) or (None, {})
            for column, (kind, share) in columns.items():
                personal[(source, column)] = (kind, share)
        rows, unknown = [], []
        for data in _model_data(result):
            if data.feature_sources is None:
                unknown.append(data)
                continue
            for (source, column), (kind, share) in personal.items():
                matrix = [data.feature_names[i] for i, s in enumerate(data.feature_sources) if (source, column) in s]
                if matrix:
                    rows.append({"estimator": data.node.node_id, "source": source, "column": column, "kind": kind,
                                 "share": share, "matrix_columns": matrix})
        table = pd.DataFrame(rows, columns=["estimator", "source", "column", "kind", "share", "matrix_columns"])
        details = {"personal_data": table}
        if rows:
            first = rows[0]
            node = next(d.node for d in _model_data(result) if d.node.node_id == first["estimator"])
            more = f"; also {len(rows) - 1} more" if len(rows) > 1 else ""
            return CheckResult(self, CheckStatus.FAILURE, f"{where(node)} uses {first['source']}.{first['column']} "
                               f"({first['share']:.0%} of its values look like {first['kind']}s) in the matrix "
                               f"columns {first['matrix_columns'][:5]}{more}", details, node)
        if unknown:
            return CheckResult(self, CheckStatus.WARNING, f"Cannot tell which source columns feed "
                               f"{where(unknown[0].node)}: {unknown[0].provenance_gap}", details, unknown[0].node)
        return CheckResult(self, CheckStatus.SUCCESS, "No column that looks like personal data feeds a model.",
                           details)


def _feature_table(data: ModelData) -> pd.DataFrame:
    X = data.X
    if hasattr(X, "tocsc"):  # min/max/mean without densifying a sparse matrix
        X = X.tocsc()
        lows, highs = X.min(axis=0).toarray().ravel(), X.max(axis=0).toarray().ravel()
        means = np.asarray(X.mean(axis=0)).ravel()
        stds = np.sqrt(np.maximum(np.asarray(X.multiply(X).mean(axis=0)).ravel() - means ** 2, 0))
    else:
        array = dense(X, "training")
        lows, highs, means, stds = array.min(axis=0), array.max(axis=0), array.mean(axis=0), array.std(axis=0)
    sources = data.feature_sources or [None] * len(means)
    return pd.DataFrame({"matrix_column": range(len(means)), "name": data.feature_names[:len(means)],
                         "sources": [_sources_text(s) for s in sources], "min": lows, "max": highs, "mean": means,
                         "std": stds})


class NoConstantFeatures(Check):
    """Fails when a column of a model's training feature matrix has one value only (it cannot inform the model)."""

    def __init__(self):
        pass

    @property
    def required_inspections(self):
        return [ModelInputs()]

    def evaluate(self, result) -> CheckResult:
        return _per_feature(self, result, lambda t: t["min"] == t["max"], "constant", "has one value only")


class NoUnnormalisedFeatures(Check):
    """Fails when a numeric column of a model's training feature matrix is neither standardised
    (|mean| <= 0.5 and 0.5 <= std <= 2) nor within [-1, 1] (min-max scaled, one-hot).

    Distance- and gradient-based models weigh such a column by its scale; tree models (decision trees,
    forests, boosting) do not care, and are not checked.
    """

    def __init__(self):
        pass

    @property
    def required_inspections(self):
        return [ModelInputs()]

    def evaluate(self, result) -> CheckResult:
        def unnormalised(t):
            scaled = (t["min"] >= -1) & (t["max"] <= 1)
            standardised = (t["mean"].abs() <= 0.5) & t["std"].between(0.5, 2)
            return ~scaled & ~standardised & (t["min"] != t["max"])

        return _per_feature(self, result, unnormalised, "unnormalised", "is not normalised", _scale_free)


TREE_MODELS = re.compile(r"Tree|Forest|Boost|XGB|LGBM|CatBoost")


def _scale_free(data: ModelData) -> bool:
    """A tree model: the scale of a feature does not matter to it."""
    return bool(TREE_MODELS.search(data.node.description.split(":")[0]))


def _per_feature(check: Check, result, select, label: str, verb: str, skip=lambda data: False) -> CheckResult:
    found = [data for data in _model_data(result) if not skip(data)]
    if not found and _model_data(result):
        return CheckResult(check, CheckStatus.SUCCESS, f"The pipeline fits only models that {label} features do not "
                           "harm (tree models).")
    if not found:
        return CheckResult(check, CheckStatus.WARNING, "Nothing to check: the pipeline fits no model.")
    details, failing = {}, None
    for data in found:
        try:
            table = _feature_table(data)
        except ValueError as error:
            return CheckResult(check, CheckStatus.WARNING, f"Cannot check {where(data.node)}: {error}", details,
                               data.node)
        bad = table[select(table)]
        details[f"{data.node.node_id}: {label} features"] = bad.reset_index(drop=True)
        if len(bad) and failing is None:
            failing = (data, bad)
    if failing is None:
        return CheckResult(check, CheckStatus.SUCCESS, f"No {label} feature in the training data.", details)
    data, bad = failing
    first = bad.iloc[0]
    more = f" (and {len(bad) - 1} more)" if len(bad) > 1 else ""
    return CheckResult(check, CheckStatus.FAILURE, f"{where(data.node)}: matrix column {first['matrix_column']} "
                       f"({first['name']}, from {first['sources']}) {verb}{more}", details, data.node)


METRICS = ("accuracy", "selection_rate", "tpr")


class GroupFairness(Check):
    """Fails when ``metric`` differs by more than ``max_difference`` between the groups of the source column
    ``column`` on a model's test rows (``score`` or ``predict``). The column may have been projected away by
    the pipeline: its values are recovered through the test rows' provenance.

    ``accuracy`` and ``tpr`` need test labels (a ``score`` call); ``selection_rate`` and ``tpr`` count
    ``positive_label`` (by default True or 1 when the labels are boolean or 0/1). Groups with fewer than
    ``min_rows`` test rows (for ``tpr``: positive rows) are listed but not compared: their rates are noise.
    """

    def __init__(self, column: str, metric: str = "accuracy", max_difference: float = 0.1, positive_label=None,
                 min_rows: int = 20):
        if not isinstance(column, str) or not column:
            raise ValueError(f"GroupFairness: column must be a column name, not {column!r}")
        if metric not in METRICS:
            raise ValueError(f"GroupFairness: metric must be one of {', '.join(METRICS)}, not {metric!r}")
        self.column = column
        self.metric = metric
        self.max_difference = _require_share("GroupFairness", "max_difference", max_difference)
        self.positive_label = positive_label
        if isinstance(min_rows, bool) or not isinstance(min_rows, int) or min_rows < 1:
            raise ValueError(f"GroupFairness: min_rows must be a positive integer, not {min_rows!r}")
        self.min_rows = min_rows

    @property
    def required_inspections(self):
        return [ModelInputs(), TestGroups(self.column)]

    def evaluate(self, result) -> CheckResult:
        tests = [d for d in _model_data(result, (T.SCORE, T.PREDICT))
                 if self.metric == "selection_rate" or d.y is not None]
        if not tests:
            need = "a predict or score call" if self.metric == "selection_rate" else "a score call with test labels"
            return CheckResult(self, CheckStatus.WARNING, f"Nothing to compare: {self.metric} needs {need}.")
        data = tests[-1]
        groups = result.dag_node_to_inspection_results[data.node].get(TestGroups(self.column))
        if groups is None or all(g is None for g in groups):
            return CheckResult(self, CheckStatus.WARNING, f"The values of {self.column!r} are not known for the test "
                               f"rows of {where(data.node)}", operator=data.node)
        predictions, labels = data.predictions, data.y
        positive = self.positive_label
        if self.metric != "accuracy" and positive is None:
            seen = set(np.unique(labels if labels is not None else predictions).tolist())
            if seen <= {True, False} or seen <= {0, 1}:
                positive = 1
            else:
                return CheckResult(self, CheckStatus.WARNING, f"{self.metric} needs positive_label: the labels are "
                                   f"{sorted(seen, key=str)[:5]}", operator=data.node)
        rows = []
        for group in pd.unique(pd.Series([g for g in groups if g is not None], dtype=object)):
            mask = np.array([g == group for g in groups])
            if self.metric == "accuracy":
                hits = predictions[mask] == labels[mask]
            elif self.metric == "selection_rate":
                hits = predictions[mask] == positive
            else:
                mask = mask & (labels == positive)
                hits = predictions[mask] == positive
            rows.append({"group": group, "rows": int(mask.sum()),
                         self.metric: float(hits.mean()) if len(hits) else float("nan")})
        table = pd.DataFrame(rows, columns=["group", "rows", self.metric])
        table = table.sort_values("group", key=lambda values: values.astype(str))
        missing = sum(g is None for g in groups)
        details = {f"{self.column}: {self.metric}": table.reset_index(drop=True)}
        measured = table[table["rows"] >= self.min_rows].dropna(subset=[self.metric])
        if len(measured) < 2:
            return CheckResult(self, CheckStatus.WARNING, f"Fewer than two groups of {self.column!r} with "
                               f"{self.min_rows} or more test rows to compare at {where(data.node)}", details,
                               data.node)
        best, worst = measured.loc[measured[self.metric].idxmax()], measured.loc[measured[self.metric].idxmin()]
        difference = best[self.metric] - worst[self.metric]
        unknown = f"; {missing} test rows without a known {self.column}" if missing else ""
        text = (f"{self.metric} on the test rows of {where(data.node)}: {self.column} = {best['group']!r} "
                f"{best[self.metric]:.3f}, {self.column} = {worst['group']!r} {worst[self.metric]:.3f}, a difference "
                f"of {difference:.3f}")
        if difference > self.max_difference:
            return CheckResult(self, CheckStatus.FAILURE, f"{text} > {self.max_difference}{unknown}", details,
                               data.node)
        return CheckResult(self, CheckStatus.SUCCESS, f"{text} <= {self.max_difference}{unknown}", details, data.node)


class NoPreprocessingLeakage(Check):
    """Fails when information from the test data or the labels reaches the model's training.

    * A transformer fitted on source rows that are also rows a model is tested on downstream of it: a scaler
      fitted before the split, ``fit_transform`` on the whole frame, or on the rows a cross-validation holds
      out (``cross_val_score``, ``cross_validate``, ``GridSearchCV``... given data transformed beforehand):
      named by its operator and line, and the test or cross-validation it leaks into.
    * Target leakage: a feature computed from a source column the training labels were computed from.
    """

    def __init__(self):
        pass

    @property
    def required_inspections(self):
        return [FittedRows(), SearchRows(), ModelInputs()]

    def evaluate(self, result) -> CheckResult:
        import networkx as nx

        held_out = _held_out_rows(result)
        fitted = [(node, rows) for node in result.nodes
                  for rows in [result.dag_node_to_inspection_results[node].get(FittedRows())] if rows]
        rows = []
        for (kind, holder), sets in held_out.items():
            for transformer, fitted_rows in fitted:
                # Only a transformer upstream of the evaluation can leak into it (a fold's own scaler cannot).
                reached = [found for node, found in sets if transformer in nx.ancestors(result.dag, node)]
                for source, ids in fitted_rows.items():
                    seen = np.zeros(len(ids) and int(ids[-1]) + 1, dtype=bool)
                    for found in reached:
                        if source in found:
                            seen |= row_mask(found[source], len(seen))[:len(seen)]
                    both = ids[seen[ids]]
                    if len(both):
                        rows.append({"operator": transformer.node_id, "kind": kind, "source": source,
                                     "detail": f"{len(both)} of its {len(ids)} rows of {source} are {holder}",
                                     "rows": both[:10].tolist()})
        for data in _model_data(result):
            for index, sources in enumerate(data.feature_sources or ()):
                shared = sources & data.label_sources
                if shared:
                    rows.append({"operator": data.node.node_id, "kind": "target leakage",
                                 "source": _sources_text(shared),
                                 "detail": f"matrix column {index} ({data.feature_names[index]}) is computed from "
                                           f"the label's source column {_sources_text(shared)}", "rows": []})
        details = {"leakage": pd.DataFrame(rows, columns=["operator", "kind", "source", "detail", "rows"])}
        if rows:
            first = rows[0]
            node = next(n for n in result.nodes if n.node_id == first["operator"])
            more = f" (and {len(rows) - 1} more leaks)" if len(rows) > 1 else ""
            if first["kind"] == "target leakage":
                text = f"{where(node)}: target leakage, {first['detail']}"
            else:
                text = f"{where(node)} was {first['kind']}: {first['detail']}, e.g. rows {first['rows'][:3]}"
                if first["kind"] == CROSS_VALIDATION:
                    text += "; fit it inside the folds, e.g. in a Pipeline with the model"
            return CheckResult(self, CheckStatus.FAILURE, text + more, details, node)
        if not held_out:
            return CheckResult(self, CheckStatus.SUCCESS, "No feature is computed from the labels' source columns; "
                               "no test data to compare transformer fits with.", details)
        return CheckResult(self, CheckStatus.SUCCESS, "No transformer was fitted on test rows and no feature is "
                           "computed from the labels' source columns.", details)


CROSS_VALIDATION = "fitted on rows a cross-validation holds out"


def _held_out_rows(result) -> dict:
    """``{(kind, whose rows): [(node, {source: rows}), ...]}``: the rows each test or cross-validation evaluates
    on, with the node they enter at. The folds of a ``cross_val_*`` call are grouped as one cross-validation."""
    held_out: dict = {}
    for data in _model_data(result, (T.SCORE, T.PREDICT)):
        fold = _fold_split(result, data.node)
        key = (CROSS_VALIDATION, f"held out by the cross-validation at line {fold.code_location.lineno}") \
            if fold is not None and fold.code_location else ("fitted on test rows", f"test rows of {where(data.node)}")
        found = {source: ids[ids >= 0] for source, ids in data.lineage.items()}
        held_out.setdefault(key, []).append((data.node, found))
    for node in result.nodes:
        found = result.dag_node_to_inspection_results[node].get(SearchRows())
        if found:
            search = node.function.name.split(".")[0]
            line = node.code_location.lineno if node.code_location else "?"
            held_out.setdefault((CROSS_VALIDATION, f"held out by {search} at line {line}"), []).append((node, found))
    return held_out


def _fold_split(result, node) -> Optional["DagNode"]:
    """The ``Fold i/k: test rows`` split a score's test data comes from (cross_val_score and friends), if any."""
    stack, seen = list(result.parents(node)), set()
    while stack:
        parent = stack.pop()
        if parent in seen:
            continue
        seen.add(parent)
        if parent.operator_type is T.TRAIN_TEST_SPLIT and parent.description.startswith("Fold "):
            return parent
        if parent.operator_type in (T.TEST_DATA, T.TRAIN_TEST_SPLIT):
            stack.extend(result.parents(parent))
    return None
