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

    #: Fits models of its own: never run unless asked for (``run --check``, ``ci``).
    fits_models = True

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


METHODS = ("noise-rate", "disagreement")


def label_issues(labels: np.ndarray, probabilities: np.ndarray, classes: np.ndarray,
                 method: str = "noise-rate") -> np.ndarray:
    """Rows whose label is likely wrong, from out-of-fold predicted probabilities (confident learning,
    Northcutt et al., JAIR 2021), sorted.

    ``noise-rate`` (cleanlab's default, "prune by noise rate"): estimate how many rows of each given class
    belong to each other class from the confident joint, calibrated to the class sizes, and flag that many
    rows per pair, those where the other class's probability exceeds the given one's by the most (and only
    rows whose most probable class is not their label).
    ``disagreement``: every row whose most probable class is not its label (higher recall, lower precision:
    on labels that are noisy by nature it flags the model's out-of-fold errors).
    With ``cleanlab`` installed, its ``find_label_issues`` does the work; otherwise our own implementation
    of the same rules (tests/test_screening.py compares the two).
    """
    if method not in METHODS:
        raise ValueError(f"label_issues: method must be one of {', '.join(METHODS)}, not {method!r}")
    codes = np.searchsorted(classes, labels)
    try:
        from cleanlab.filter import find_label_issues
    except ImportError:
        return _label_issues(codes, probabilities, method)
    by = {"noise-rate": "prune_by_noise_rate", "disagreement": "predicted_neq_given"}[method]
    return np.flatnonzero(find_label_issues(codes, probabilities, filter_by=by))


def _label_issues(codes: np.ndarray, probabilities: np.ndarray, method: str) -> np.ndarray:
    """``label_issues`` without cleanlab."""
    if method == "disagreement":
        return np.flatnonzero(probabilities.argmax(axis=1) != codes)
    k = probabilities.shape[1]
    sizes = np.bincount(codes, minlength=k)
    # Per-class threshold: the mean probability of the class over the rows labelled with it.
    thresholds = np.array([probabilities[codes == c, c].mean() if sizes[c] else 1.0 for c in range(k)])
    confident = probabilities >= thresholds
    likely = np.where(confident, probabilities, -np.inf).argmax(axis=1)
    counted = confident.any(axis=1)
    joint = np.zeros((k, k))
    np.add.at(joint, (codes[counted], likely[counted]), 1)
    # Calibrated: each given class's row of the joint sums to that class's size.
    totals = joint.sum(axis=1, keepdims=True)
    joint = np.divide(joint * sizes[:, None], totals, out=np.zeros_like(joint), where=totals > 0)
    flagged = []
    for given in range(k):
        rows = np.flatnonzero(codes == given)
        for other in range(k):
            count = int(round(joint[given, other]))
            if other == given or count == 0:
                continue
            margin = probabilities[rows, other] - probabilities[rows, given]
            flagged.append(rows[np.argsort(-margin, kind="stable")[:count]])
    if not flagged:
        return np.empty(0, dtype=int)
    flagged = np.unique(np.concatenate(flagged))
    # A row whose label is the model's most probable class is no issue, whatever its margin.
    return flagged[probabilities[flagged].argmax(axis=1) != codes[flagged]]


class NoLabelErrors(Check):
    """Fails when more than ``max_fraction`` of a model's training rows are likely mislabelled (confident
    learning on 5-fold cross-validated predicted probabilities of a clone of the model, or of a logistic
    regression where the model cannot be cloned or gives no probabilities). The rows are reported as source
    rows through lineage. ``method`` is ``noise-rate`` (flags as many rows as the estimated noise rate says)
    or ``disagreement`` (every row the out-of-fold model predicts otherwise); see ``label_issues``. Uses
    ``cleanlab`` when installed (``pip install lester-inspect[screening]``), otherwise our implementation of
    the same rules. Fits models of its own (up to 5000 rows).

    Labels drawn at random given the features (most real outcomes) carry the less likely class in many rows;
    both methods flag those too, and a wrong label that happens to be the more likely class is found by none.
    """

    #: Fits models of its own: never run unless asked for (``run --check``, ``ci``).
    fits_models = True

    def __init__(self, max_fraction: float = 0.01, method: str = "noise-rate"):
        self.max_fraction = _require_share("NoLabelErrors", "max_fraction", max_fraction)
        if method not in METHODS:
            raise ValueError(f"NoLabelErrors: method must be one of {', '.join(METHODS)}, not {method!r}")
        self.method = method

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
        issues = rows[label_issues(y, probabilities, classes, self.method)]
        fraction = len(issues) / len(rows)
        table = _source_rows(fit, issues)
        details = {"label_issues": table}
        text = (f"{len(issues)} of {len(rows)} training rows of {where(fit.node)} ({fraction:.1%}) are likely "
                f"mislabelled ({self.method}; probabilities from {model})")
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
