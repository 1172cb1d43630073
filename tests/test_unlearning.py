"""Unlearning changed or removed training rows by first- and second-order model updates."""
import copy
import doctest
import functools
import warnings
from dataclasses import dataclass

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge, SGDClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.tree import DecisionTreeClassifier

from lester_inspect.ivm import unlearning
from lester_inspect.ivm.unlearning import loss_gradient, update_model
from lester_inspect.models import TorchMLPClassifier

N_ROWS, N_FEATURES, N_AFFECTED = 2000, 10, 20


def problem(seed=0, n_rows=N_ROWS):
    """Standardised features with a linear signal: a continuous, a binary and a three-class target."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_rows, N_FEATURES))
    weights = np.linspace(2.0, -1.5, N_FEATURES)
    signal = X @ weights + 0.5 * rng.normal(size=n_rows)
    return X, {"continuous": signal, "binary": (signal > 0).astype(int), "three": np.digitize(signal, [-1.5, 1.5])}


def affected_rows(seed=0):
    return np.sort(np.random.default_rng(seed).choice(N_ROWS, N_AFFECTED, replace=False))


def zero_leaked_features(X, rows):
    """Feature deletion: the three most predictive features of the affected rows are overwritten with zeros."""
    corrected = X.copy()
    corrected[np.ix_(rows, [0, 1, N_FEATURES - 1])] = 0.0
    return corrected


def corrected_data(deletion, target):
    """(X, y, affected rows, X_train, y_train, X_new) of a feature or instance deletion."""
    X, targets = problem()
    y = targets[target]
    rows = affected_rows()
    if deletion == "feature":
        X_train = zero_leaked_features(X, rows)
        return X, y, rows, X_train, y, X_train[rows]
    keep = np.setdiff1d(np.arange(N_ROWS), rows)
    return X, y, rows, X[keep], y[keep], None


def parameters(model):
    if hasattr(model, "module_"):
        return np.concatenate([p.detach().numpy().ravel() for p in model.module_.parameters()]).astype(np.float64)
    return np.concatenate([np.ravel(model.coef_), np.ravel(model.intercept_)])


def set_parameters(model, theta):
    """The layout of loss_gradient: coef_ as an (outputs, features) matrix row by row, then intercept_."""
    model.coef_ = theta[: model.coef_.size].reshape(model.coef_.shape)
    model.intercept_ = theta[model.coef_.size :].reshape(np.shape(model.intercept_))


# --- Gradients ---------------------------------------------------------------------------------------------------


def one_vs_rest_signs(model, y):
    if len(model.classes_) == 2:
        return np.where(y == model.classes_[1], 1.0, -1.0)[:, None]
    return np.where(y[:, None] == model.classes_, 1.0, -1.0)


def sgd_penalty(model, n_rows):
    """SGDClassifier minimises the mean loss + alpha/2 ||coef||^2, so every row carries alpha/2 ||coef||^2."""
    return n_rows * model.alpha / 2 * np.sum(model.coef_**2)


def log_loss_sum(model, X, y):
    proba = model.predict_proba(X)
    return -np.sum(np.log(proba[np.arange(len(y)), np.searchsorted(model.classes_, y)]))


def ovr_log_loss_sum(model, X, y):
    margins = one_vs_rest_signs(model, y) * model.decision_function(X).reshape(len(y), -1)
    return np.sum(np.logaddexp(0.0, -margins)) + sgd_penalty(model, len(y))


def ovr_hinge_sum(model, X, y):
    margins = one_vs_rest_signs(model, y) * model.decision_function(X).reshape(len(y), -1)
    return np.sum(np.maximum(0.0, 1.0 - margins)) + sgd_penalty(model, len(y))


def half_squared_error_sum(model, X, y):
    return 0.5 * np.sum((model.predict(X) - y) ** 2)


# (model, target, the summed row loss computed from the model's own predictions)
ROW_LOSSES = {
    "logistic binary": (LogisticRegression(), "binary", log_loss_sum),
    "logistic multinomial": (LogisticRegression(), "three", log_loss_sum),
    "sgd log_loss binary": (SGDClassifier(loss="log_loss", alpha=0.01, random_state=0), "binary", ovr_log_loss_sum),
    "sgd log_loss one-vs-rest": (SGDClassifier(loss="log_loss", alpha=0.01, random_state=0), "three", ovr_log_loss_sum),
    "sgd hinge one-vs-rest": (SGDClassifier(loss="hinge", alpha=0.01, random_state=0), "three", ovr_hinge_sum),
    "linear regression": (LinearRegression(), "continuous", half_squared_error_sum),
    "ridge": (Ridge(alpha=2.0), "continuous", half_squared_error_sum),
    "ridge two targets": (Ridge(alpha=2.0), "two targets", half_squared_error_sum),
}


@pytest.mark.parametrize("case", ROW_LOSSES)
def test_analytic_gradient_matches_finite_differences_of_the_row_loss(case):
    estimator, target, row_loss = ROW_LOSSES[case]
    X, targets = problem(n_rows=40)
    y = np.column_stack([targets["continuous"], -targets["continuous"]]) if target == "two targets" else targets[target]
    model = copy.deepcopy(estimator).fit(X, y)
    rng = np.random.default_rng(1)
    theta = rng.normal(scale=0.5, size=parameters(model).size)  # away from the optimum: a non-trivial gradient
    set_parameters(model, theta)

    analytic = loss_gradient(model, X, y)

    step = 1e-6
    numeric = np.empty_like(theta)
    for j in range(theta.size):
        set_parameters(model, theta + step * np.eye(theta.size)[j])
        above = row_loss(model, X, y)
        set_parameters(model, theta - step * np.eye(theta.size)[j])
        numeric[j] = (above - row_loss(model, X, y)) / (2 * step)
    assert np.linalg.norm(analytic) > 1.0
    np.testing.assert_allclose(analytic, numeric, rtol=1e-5, atol=1e-5 * np.abs(numeric).max())


# (model, target, gradient of the penalty that complements the row losses in the training objective)
OBJECTIVES = {
    "logistic lbfgs": (LogisticRegression(C=0.5, tol=1e-12, max_iter=10_000), "binary",
                       lambda m: np.r_[m.coef_.ravel() / 0.5, 0.0]),
    "logistic multinomial": (LogisticRegression(C=0.5, tol=1e-12, max_iter=10_000), "three",
                             lambda m: np.r_[m.coef_.ravel() / 0.5, 0.0, 0.0, 0.0]),
    # liblinear penalises the weight intercept_ / intercept_scaling of a constant feature intercept_scaling
    "logistic liblinear": (LogisticRegression(C=0.5, tol=1e-12, solver="liblinear", intercept_scaling=2.0), "binary",
                           lambda m: np.r_[m.coef_.ravel(), m.intercept_ / 2.0**2] / 0.5),
    "logistic without penalty": (LogisticRegression(C=np.inf, tol=1e-12, max_iter=10_000), "three",
                                 lambda m: np.zeros(3 * (N_FEATURES + 1))),
    "ridge": (Ridge(alpha=3.0), "continuous", lambda m: np.r_[3.0 * m.coef_, 0.0]),
    "linear regression": (LinearRegression(), "continuous", lambda m: np.zeros(N_FEATURES + 1)),
}


@pytest.mark.parametrize("case", OBJECTIVES)
def test_fitted_model_is_a_stationary_point_of_the_objective_the_updates_linearise(case):
    estimator, target, penalty_gradient = OBJECTIVES[case]
    X, targets = problem(n_rows=500)
    model = copy.deepcopy(estimator).fit(X, targets[target])

    row_gradient = loss_gradient(model, X, targets[target])

    assert np.linalg.norm(row_gradient + penalty_gradient(model)) < 1e-5 * max(np.linalg.norm(row_gradient), 1.0)


NEWTON_CASES = OBJECTIVES | {
    # the per-row loss of SGDClassifier carries its share of the penalty: nothing to add
    "sgd log_loss one-vs-rest": (SGDClassifier(loss="log_loss", alpha=0.01, random_state=0), "three",
                                 lambda m: np.zeros(3 * (N_FEATURES + 1))),
}


@pytest.mark.parametrize("case", NEWTON_CASES)
def test_second_order_step_solves_the_newton_system_of_the_corrected_objective(case):
    """H step = G, with H the finite-difference Hessian of the corrected objective (minimum-norm if singular)."""
    estimator, target, penalty_gradient = NEWTON_CASES[case]
    X, targets = problem(n_rows=500)
    y = targets[target]
    rows = np.arange(10)
    X_train = X.copy()
    X_train[rows, :3] = 0.0
    model = copy.deepcopy(estimator).fit(X, y)
    theta = parameters(model)
    G = loss_gradient(model, X_train[rows], y[rows]) - loss_gradient(model, X[rows], y[rows])
    probe = copy.deepcopy(model)

    def objective_gradient(point):
        set_parameters(probe, point)
        return loss_gradient(probe, X_train, y) + penalty_gradient(probe)

    step = 1e-5
    hessian = np.column_stack([
        (objective_gradient(theta + step * e) - objective_gradient(theta - step * e)) / (2 * step)
        for e in np.eye(theta.size)
    ])
    expected = np.linalg.lstsq(hessian, G, rcond=1e-10)[0]

    update_model(model, X[rows], X_train[rows], y[rows], n_train=500, X_train=X_train, y_train=y, order="second")

    np.testing.assert_allclose(theta - parameters(model), expected, rtol=1e-5, atol=1e-6 * np.abs(expected).max())


# --- The update rules ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("deletion", ["feature", "instance"])
def test_first_order_update_is_a_gradient_step_of_size_one_over_n_train(deletion):
    X, y, rows, _, _, X_new = corrected_data(deletion, "binary")
    model = LogisticRegression().fit(X, y)
    before = parameters(model)
    difference = -loss_gradient(model, X[rows], y[rows])
    if X_new is not None:
        difference += loss_gradient(model, X_new, y[rows])

    update = update_model(model, X[rows], X_new, y[rows], n_train=N_ROWS)

    assert update.model is model and update.order == "first" and update.tau == 1 / N_ROWS
    np.testing.assert_allclose(parameters(model), before - difference / N_ROWS, rtol=1e-12)
    assert update.gradient_norm == pytest.approx(np.linalg.norm(difference))
    assert update.parameters_changed == N_FEATURES + 1
    assert update.seconds > 0


def test_explicit_tau_scales_the_first_order_step():
    X, targets = problem()
    rows = affected_rows()
    model = Ridge().fit(X, targets["continuous"])
    before = parameters(model)
    default_step = before - parameters(update_model(copy.deepcopy(model), X[rows], None, targets["continuous"][rows],
                                                     n_train=N_ROWS).model)

    update = update_model(model, X[rows], None, targets["continuous"][rows], n_train=N_ROWS, tau=3 / N_ROWS)

    assert update.tau == 3 / N_ROWS
    np.testing.assert_allclose(before - parameters(model), 3 * default_step, rtol=1e-10)


@pytest.mark.parametrize("deletion", ["feature", "instance"])
def test_second_order_update_of_ridge_equals_retraining(deletion):
    """The objective is quadratic, so one Newton step lands on the retrained optimum."""
    X, y, rows, X_train, y_train, X_new = corrected_data(deletion, "continuous")
    y, y_train = np.column_stack([y, 2 * y]), np.column_stack([y_train, 2 * y_train])  # two targets, two alphas
    model = Ridge(alpha=[1.0, 50.0]).fit(X, y)

    update = update_model(model, X[rows], X_new, y[rows], n_train=N_ROWS, X_train=X_train, y_train=y_train,
                          order="second")

    retrained = Ridge(alpha=[1.0, 50.0]).fit(X_train, y_train)
    assert update.tau is None
    np.testing.assert_allclose(model.coef_, retrained.coef_, atol=1e-9)
    np.testing.assert_allclose(model.intercept_, retrained.intercept_, atol=1e-9)


def test_second_order_update_zeroes_the_weight_of_a_feature_the_corrected_data_no_longer_has():
    """Without a penalty, a feature that is zero in every corrected row does not enter the corrected objective:
    its weight becomes zero, as in a fit from scratch, instead of keeping what it learnt from the removed values."""
    X, targets = problem()
    rows = affected_rows()
    X[np.setdiff1d(np.arange(N_ROWS), rows), 0] = 0.0  # feature 0 is present only in the affected rows...
    X_train = X.copy()
    X_train[rows, 0] = 0.0  # ...and deleted from them
    y = targets["continuous"]
    model = LinearRegression().fit(X, y)
    assert model.coef_[0] != 0.0

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        update_model(model, X[rows], X_train[rows], y[rows], n_train=N_ROWS, X_train=X_train, y_train=y,
                     order="second")

    retrained = LinearRegression().fit(X_train, y)
    assert model.coef_[0] == 0.0 and retrained.coef_[0] == pytest.approx(0.0, abs=1e-12)
    np.testing.assert_allclose(model.coef_[1:], retrained.coef_[1:], atol=1e-9)
    assert model.intercept_ == pytest.approx(retrained.intercept_, abs=1e-9)


# --- Fidelity: updated models against a model retrained on the corrected data ----------------------------------


@dataclass
class Fidelity:
    distance_original: float  # ||theta_original - theta_retrained||
    distance_updated: float
    gap_original: float  # share of test predictions differing from the retrained model's (regressors: mean |diff|)
    gap_updated: float
    affected_loss_original: float  # summed log-loss on the affected rows (corrected, if they were not removed)
    affected_loss_updated: float
    update: object


MODELS = {
    "logistic binary": (lambda: LogisticRegression(tol=1e-10, max_iter=10_000), "binary"),
    "logistic multinomial": (lambda: LogisticRegression(tol=1e-10, max_iter=10_000), "three"),
    # intercept_scaling < 1 makes liblinear's intercept penalty matter
    "logistic liblinear": (lambda: LogisticRegression(solver="liblinear", intercept_scaling=0.1, tol=1e-10,
                                                      max_iter=10_000), "binary"),
    "ridge": (lambda: Ridge(alpha=1.0), "continuous"),
    "torch mlp": (lambda: TorchMLPClassifier(random_state=0), "binary"),
}


@functools.cache
def original_and_retrained(model_name, deletion):
    make_model, target = MODELS[model_name]
    X, y, _, X_train, y_train, _ = corrected_data(deletion, target)
    return make_model().fit(X, y), make_model().fit(X_train, y_train)


def fidelity(model_name, deletion, order, sparse=False):
    target = MODELS[model_name][1]
    X, y, rows, X_train, y_train, X_new = corrected_data(deletion, target)
    X_test = problem(seed=1)[0]
    as_input = sp.csr_matrix if sparse else np.asarray

    original, retrained = original_and_retrained(model_name, deletion)
    updated = copy.deepcopy(original)
    update = update_model(updated, as_input(X[rows]), None if X_new is None else as_input(X_new), y[rows],
                          n_train=N_ROWS, order=order,
                          X_train=as_input(X_train) if order == "second" else None,
                          y_train=y_train if order == "second" else None)

    def gap(model):
        if target == "continuous":
            return float(np.mean(np.abs(model.predict(X_test) - retrained.predict(X_test))))
        return float(np.mean(model.predict(X_test) != retrained.predict(X_test)))

    def affected_loss(model):
        rows_now = X[rows] if X_new is None else X_new
        return np.nan if target == "continuous" else log_loss_sum(model, rows_now, y[rows])

    return Fidelity(
        distance_original=float(np.linalg.norm(parameters(original) - parameters(retrained))),
        distance_updated=float(np.linalg.norm(parameters(updated) - parameters(retrained))),
        gap_original=gap(original),
        gap_updated=gap(updated),
        affected_loss_original=affected_loss(original),
        affected_loss_updated=affected_loss(updated),
        update=update,
    )


CONVEX = ["logistic binary", "logistic multinomial", "logistic liblinear", "ridge"]


@pytest.mark.parametrize("deletion", ["feature", "instance"])
@pytest.mark.parametrize("model_name", CONVEX)
def test_first_order_update_moves_a_convex_model_towards_the_retrained_one(model_name, deletion):
    result = fidelity(model_name, deletion, "first")

    assert result.distance_updated < result.distance_original
    assert result.gap_updated <= result.gap_original


@pytest.mark.parametrize("deletion", ["feature", "instance"])
@pytest.mark.parametrize("model_name", CONVEX)
def test_second_order_update_closes_most_of_the_distance_to_the_retrained_convex_model(model_name, deletion):
    result = fidelity(model_name, deletion, "second")

    assert result.distance_updated < 0.1 * result.distance_original
    assert result.gap_updated <= result.gap_original


@pytest.mark.parametrize("order", ["first", "second"])
def test_mlp_update_lowers_the_loss_of_the_corrected_rows_and_keeps_agreement(order):
    result = fidelity("torch mlp", "feature", order)

    assert np.isfinite(parameters(result.update.model)).all()
    assert result.affected_loss_updated < result.affected_loss_original
    assert result.gap_updated <= result.gap_original + 0.005


@pytest.mark.parametrize("order", ["first", "second"])
def test_mlp_instance_deletion_keeps_agreement(order):
    result = fidelity("torch mlp", "instance", order)

    assert np.isfinite(parameters(result.update.model)).all()
    assert result.update.parameters_changed > 0
    assert result.gap_updated <= result.gap_original + 0.005


@pytest.mark.parametrize("order", ["first", "second"])
@pytest.mark.parametrize("model_name", ["logistic multinomial", "torch mlp"])
def test_sparse_rows_give_the_same_update_as_dense_rows(model_name, order):
    dense = fidelity(model_name, "feature", order)
    sparse = fidelity(model_name, "feature", order, sparse=True)

    np.testing.assert_allclose(parameters(sparse.update.model), parameters(dense.update.model), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("loss", ["log_loss", "hinge"])
def test_sgd_classifier_first_order_update_follows_the_gradient_difference(loss):
    X, targets = problem()
    y = np.array(["low", "mid", "high"])[targets["three"]]
    rows = affected_rows()
    model = SGDClassifier(loss=loss, random_state=0).fit(X, y)
    X_new = zero_leaked_features(X, rows)[rows]
    difference = loss_gradient(model, X_new, y[rows]) - loss_gradient(model, X[rows], y[rows])
    expected = parameters(model) - difference / N_ROWS

    update_model(model, X[rows], X_new, y[rows], n_train=N_ROWS)

    np.testing.assert_allclose(parameters(model), expected, rtol=1e-12)
    assert model.coef_.shape == (3, N_FEATURES) and model.intercept_.shape == (3,)


def test_parameters_keep_their_dtype_shape_and_identity():
    X, targets = problem()
    rows = affected_rows()
    model = Ridge().fit(X.astype(np.float32), targets["continuous"].astype(np.float32))
    coef = model.coef_

    update = update_model(model, X[rows], None, targets["continuous"][rows], n_train=N_ROWS)

    assert model.coef_ is coef and coef.dtype == np.float32 and coef.shape == (N_FEATURES,)
    assert type(model.intercept_) is np.float32
    assert update.parameters_changed == N_FEATURES + 1


def test_second_order_update_of_a_wide_sparse_problem_never_densifies_the_training_data():
    rng = np.random.default_rng(0)
    X = sp.random(3000, 5000, density=2e-3, format="csr", random_state=0)
    y = (X @ rng.normal(size=5000) + 0.1 * rng.normal(size=3000) > 0).astype(int)
    original = LogisticRegression(tol=1e-10, max_iter=10_000).fit(X, y)
    rows = np.arange(10)
    X_train = X[10:]

    update = update_model(copy.deepcopy(original), X[rows], None, y[rows], n_train=3000, X_train=X_train,
                          y_train=y[10:], order="second")

    retrained = LogisticRegression(tol=1e-10, max_iter=10_000).fit(X_train, y[10:])
    distance_original = np.linalg.norm(parameters(original) - parameters(retrained))
    assert np.linalg.norm(parameters(update.model) - parameters(retrained)) < 0.2 * distance_original


# --- Errors ------------------------------------------------------------------------------------------------------


@pytest.fixture
def fitted():
    X, targets = problem(n_rows=200)
    return LogisticRegression().fit(X, targets["binary"]), X, targets["binary"]


def test_unsupported_model_raises_type_error_listing_the_supported_ones():
    X, targets = problem(n_rows=200)
    model = DecisionTreeClassifier().fit(X, targets["binary"])

    with pytest.raises(TypeError, match="DecisionTreeClassifier.*LogisticRegression.*Ridge.*TorchMLPClassifier"):
        update_model(model, X[:5], None, targets["binary"][:5], n_train=200)


@pytest.mark.parametrize("model", [LogisticRegression(), TorchMLPClassifier()])
def test_unfitted_model_raises_not_fitted_error(model):
    X, targets = problem(n_rows=200)

    with pytest.raises(NotFittedError):
        update_model(model, X[:5], None, targets["binary"][:5], n_train=200)


def test_pipeline_raises_type_error_pointing_at_its_final_estimator():
    X, targets = problem(n_rows=200)
    pipeline = make_pipeline(StandardScaler(), LogisticRegression()).fit(X, targets["binary"])

    with pytest.raises(TypeError, match="Pipeline.*final estimator"):
        update_model(pipeline, X[:5], None, targets["binary"][:5], n_train=200)


@pytest.mark.parametrize(
    "estimator, message",
    [
        (LogisticRegression(l1_ratio=1.0, solver="saga"), "l1 penalty"),
        (LogisticRegression(class_weight="balanced"), "class_weight='balanced'"),
        (SGDClassifier(loss="modified_huber"), "loss='modified_huber'"),
        (SGDClassifier(penalty="l1"), "penalty='l1'"),
        (Ridge(positive=True), "positive=True"),
    ],
)
def test_unsupported_configuration_raises_value_error(estimator, message):
    X, targets = problem(n_rows=200)
    y = targets["continuous"] if isinstance(estimator, Ridge) else targets["binary"]
    model = estimator.fit(X, y)

    with pytest.raises(ValueError, match=message):
        update_model(model, X[:5], None, y[:5], n_train=200)


@pytest.mark.parametrize(
    "arguments, message",
    [
        ({"X_new": np.zeros((4, N_FEATURES))}, r"X_new has shape \(4, 10\) but X_old has shape \(5, 10\)"),
        ({"X_old": np.zeros((5, 3))}, r"X_old has shape \(5, 3\), but the model expects 10 features"),
        ({"y": np.zeros(6, dtype=int)}, r"y has shape \(6,\), expected \(5,\)"),
        ({"y": np.array([0, 1, 2, 1, 0])}, r"labels the model was not fitted on: \[2\]"),
        ({"order": "second"}, "pass X_train and y_train"),
        ({"order": "second", "X_train": np.zeros((199, N_FEATURES)), "y_train": np.zeros(199)},
         r"X_train has shape \(199, 10\), expected \(200, 10\)"),
        ({"X_new": None, "order": "second", "X_train": np.zeros((200, N_FEATURES)), "y_train": np.zeros(200)},
         r"X_train has shape \(200, 10\), expected \(195, 10\): n_train - k"),
        ({"order": "second", "tau": 0.1}, "do not pass it with order='second'"),
        ({"order": "third"}, "order must be 'first' or 'second'"),
        ({"tau": -1.0}, "tau must be a positive finite number"),
        ({"n_train": 3}, "X_old has 5 rows but the model was fitted on only n_train=3 rows"),
    ],
)
def test_inconsistent_arguments_raise_value_error_naming_them(fitted, arguments, message):
    model, X, y = fitted
    call = {"X_old": X[:5], "X_new": X[:5] * 0.5, "y": y[:5], "n_train": 200} | arguments
    before = parameters(model)

    with pytest.raises(ValueError, match=message):
        update_model(model, call.pop("X_old"), call.pop("X_new"), call.pop("y"), **call)
    np.testing.assert_array_equal(parameters(model), before)


def test_second_order_hinge_update_is_refused():
    X, targets = problem(n_rows=200)
    model = SGDClassifier(loss="hinge").fit(X, targets["binary"])

    with pytest.raises(ValueError, match="hinge loss is piecewise linear"):
        update_model(model, X[:5], None, targets["binary"][:5], n_train=200, X_train=X[5:],
                     y_train=targets["binary"][5:], order="second")


def test_docstring_examples_run():
    failures, attempted = doctest.testmod(unlearning, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert attempted > 0 and failures == 0


def test_unsupported_reason_says_why_a_model_cannot_be_updated():
    X, targets = problem()
    y = targets["binary"]
    assert unlearning.unsupported_reason(LogisticRegression().fit(X, y)) is None
    assert "no unlearning update for DecisionTreeClassifier" in unlearning.unsupported_reason(DecisionTreeClassifier().fit(X, y))
    hinge = SGDClassifier(loss="hinge", random_state=0).fit(X, y)
    assert unlearning.unsupported_reason(hinge) is None
    assert "order='second' is not available" in unlearning.unsupported_reason(hinge, "second")
    assert "class_weight" in unlearning.unsupported_reason(LogisticRegression(class_weight="balanced").fit(X, y))
    assert "not fitted" in unlearning.unsupported_reason(LogisticRegression())
