"""Screening checks that fit models of their own (off unless asked for): covariate shift between the training
and test feature matrices, and likely label errors in the training data (confident learning)."""
from __future__ import annotations

from typing import List, Tuple

import numpy as np
import pandas as pd

from lester_inspect.checks._reporting import where
from lester_inspect.checks.base import Check, CheckResult, CheckStatus
from lester_inspect.checks.screening import _model_data, _require_share, _sources_text
from lester_inspect.inspections.screening import ModelData, ModelInputs, dense
from lester_inspect.instrumentation.dag import OperatorType

T = OperatorType
MAX_ROWS = 5000  # per side: the checks fit models of their own on a sample of this many rows


def _sample(array: np.ndarray, seed: int = 0) -> np.ndarray:
    if len(array) <= MAX_ROWS:
        return np.arange(len(array))
    return np.sort(np.random.default_rng(seed).choice(len(array), MAX_ROWS, replace=False))


class NoCovariateShift(Check):
    """Fails when a classifier tells a model's training rows from its test rows (cross-validated ROC AUC of a
    random forest on the feature matrices) better than ``threshold``; the features that separate them most
    (by the forest's importance) are named with their source columns. Fits a model of its own (5 folds, up to
    5000 rows per side)."""

    def __init__(self, threshold: float = 0.6):
        self.threshold = _require_share("NoCovariateShift", "threshold", threshold)
        if self.threshold < 0.5:
            raise ValueError(f"NoCovariateShift: threshold is an AUC between 0.5 and 1, not {threshold!r}")

    @property
    def required_inspections(self):
        return [ModelInputs()]

    def evaluate(self, result) -> CheckResult:
        from sklearn.ensemble import RandomForestClassifier
        from sklearn.metrics import roc_auc_score
        from sklearn.model_selection import cross_val_predict

        train = {d.node: d for d in _model_data(result)}
        pairs = [(train[t.model_node], t) for t in _model_data(result, (T.SCORE, T.PREDICT)) if t.model_node in train]
        if not pairs:
            return CheckResult(self, CheckStatus.WARNING, "Nothing to compare: no model is scored on test data.")
        fit, test = pairs[-1]
        try:
            X_train, X_test = dense(fit.X, "training"), dense(test.X, "test")
        except ValueError as error:
            return CheckResult(self, CheckStatus.WARNING, f"Cannot check {where(test.node)}: {error}",
                               operator=test.node)
        X_train, X_test = X_train[_sample(X_train)], X_test[_sample(X_test, 1)]
        X = np.nan_to_num(np.vstack([X_train, X_test]))
        side = np.r_[np.zeros(len(X_train)), np.ones(len(X_test))]
        forest = RandomForestClassifier(n_estimators=50, max_depth=8, random_state=0, n_jobs=1)
        probabilities = cross_val_predict(forest, X, side, cv=5, method="predict_proba")[:, 1]
        auc = float(roc_auc_score(side, probabilities))
        importance = forest.fit(X, side).feature_importances_
        order = np.argsort(-importance)[:10]
        sources = fit.feature_sources or [None] * X.shape[1]
        table = pd.DataFrame({"matrix_column": order, "name": [fit.feature_names[i] for i in order],
                              "sources": [_sources_text(sources[i]) for i in order],
                              "importance": importance[order],
                              "train_mean": X_train.mean(axis=0)[order], "test_mean": X_test.mean(axis=0)[order]})
        details = {"separating_features": table}
        top = table.iloc[0]
        text = (f"A classifier tells the training rows of {where(fit.node)} from the test rows of {where(test.node)} "
                f"with ROC AUC {auc:.3f}")
        if auc > self.threshold:
            return CheckResult(self, CheckStatus.FAILURE, f"{text} > {self.threshold}; most separating: matrix "
                               f"column {top['matrix_column']} ({top['name']}, from {top['sources']})", details,
                               test.node)
        return CheckResult(self, CheckStatus.SUCCESS, f"{text} <= {self.threshold}.", details, test.node)


def label_issues(labels: np.ndarray, probabilities: np.ndarray, classes: np.ndarray) -> np.ndarray:
    """Rows whose label is likely wrong, by confident learning (Northcutt et al., JAIR 2021).

    With ``cleanlab`` installed, its ``find_label_issues``; otherwise the off-diagonal of the confident joint,
    without cleanlab's pruning by noise rate: of the classes whose predicted probability reaches the class's
    threshold (its mean probability over the rows labelled with it), the most probable is not the row's label.
    """
    codes = np.searchsorted(classes, labels)
    try:
        from cleanlab.filter import find_label_issues
    except ImportError:
        thresholds = np.array([probabilities[codes == c, c].mean() if (codes == c).any() else 1.0
                               for c in range(len(classes))])
        confident = probabilities >= thresholds
        likely = np.where(confident, probabilities, -np.inf).argmax(axis=1)
        return np.flatnonzero(confident.any(axis=1) & (likely != codes))
    return np.flatnonzero(find_label_issues(codes, probabilities))


class NoLabelErrors(Check):
    """Fails when more than ``max_fraction`` of a model's training rows are likely mislabelled (confident
    learning on 5-fold cross-validated predicted probabilities of a clone of the model, or of a logistic
    regression where the model cannot be cloned or gives no probabilities). The rows are reported as source
    rows through lineage. Uses ``cleanlab`` when installed (``pip install lester-inspect[screening]``),
    otherwise the documented fallback in ``label_issues``. Fits models of its own (up to 5000 rows)."""

    def __init__(self, max_fraction: float = 0.01):
        self.max_fraction = _require_share("NoLabelErrors", "max_fraction", max_fraction)

    @property
    def required_inspections(self):
        return [ModelInputs()]

    def evaluate(self, result) -> CheckResult:
        fits = [d for d in _model_data(result) if d.y is not None]
        if not fits:
            return CheckResult(self, CheckStatus.WARNING, "Nothing to check: no model is fitted with labels.")
        fit = fits[-1]
        try:
            X = dense(fit.X, "training")
        except ValueError as error:
            return CheckResult(self, CheckStatus.WARNING, f"Cannot check {where(fit.node)}: {error}",
                               operator=fit.node)
        rows = _sample(X)
        X, y = np.nan_to_num(X[rows]), fit.y[rows]
        classes = np.unique(y)
        if len(classes) < 2 or np.bincount(np.searchsorted(classes, y)).min() < 5:
            return CheckResult(self, CheckStatus.WARNING, f"Cannot check {where(fit.node)}: fewer than two classes "
                               "with five or more rows", operator=fit.node)
        probabilities, model = _probabilities(fit, X, y)
        issues = rows[label_issues(y, probabilities, classes)]
        fraction = len(issues) / len(rows)
        table = _source_rows(fit, issues)
        details = {"label_issues": table}
        text = (f"{len(issues)} of {len(rows)} training rows of {where(fit.node)} ({fraction:.1%}) are likely "
                f"mislabelled (probabilities from {model})")
        if fraction > self.max_fraction:
            first = table.iloc[0]
            return CheckResult(self, CheckStatus.FAILURE, f"{text}, more than the allowed {self.max_fraction:.1%}; "
                               f"e.g. row {first['training_row']} (label {str(first['label'])!r})"
                               f" from {_first_source(first)}", details, fit.node)
        return CheckResult(self, CheckStatus.SUCCESS, f"{text}, within the allowed {self.max_fraction:.1%}.",
                           details, fit.node)


def _probabilities(fit: ModelData, X: np.ndarray, y: np.ndarray) -> Tuple[np.ndarray, str]:
    """Out-of-fold probabilities, and which model gave them (said in the result: the fallback is not the model)."""
    from sklearn.base import clone
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import cross_val_predict
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    fallback = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    name = type(fit.model).__name__
    if not hasattr(fit.model, "predict_proba"):
        reason = f"{name} gives no probabilities"
    else:
        try:
            return cross_val_predict(clone(fit.model), X, y, cv=5, method="predict_proba"), f"clones of {name}"
        except Exception as error:  # a model sklearn cannot clone or refit on the matrix alone
            reason = f"{name} could not be cross-validated ({type(error).__name__}: {error})"
    probabilities = cross_val_predict(fallback, X, y, cv=5, method="predict_proba")
    return probabilities, f"a standardised logistic regression, as {reason}"


def _source_rows(fit: ModelData, issues: np.ndarray) -> pd.DataFrame:
    table = pd.DataFrame({"training_row": issues, "label": fit.y[issues]})
    for source, ids in fit.lineage.items():
        table[f"{source} row"] = ids[issues]
    return table


def _first_source(row: pd.Series) -> str:
    parts: List[str] = [f"{column[:-4]} row {row[column]}" for column in row.index if column.endswith(" row")]
    return ", ".join(parts) or "an unknown source row"
