"""Update a fitted model after some of its training rows changed, without retraining.

This is step (D) of Lester's incremental view maintenance (§3.3 of the Lester
paper): once leaked values in the feature matrix have been overwritten (feature
deletion) or whole rows dropped (instance deletion), the model is "unlearned"
with the closed-form updates of Warnecke et al., *Machine Unlearning of
Features and Labels* (NDSS 2023), instead of re-running the pipeline.

Supported models
----------------
* scikit-learn ``LogisticRegression`` (binary or multinomial; L2 penalty or
  none; any solver, liblinear's penalised intercept included),
  ``SGDClassifier`` with ``loss="log_loss"`` or ``"hinge"`` (one-vs-rest for
  several classes; L2 penalty or none; first order only for the hinge loss),
  ``LinearRegression`` and ``Ridge`` (one or several targets): analytic
  gradients and Hessians of the parameters ``coef_`` and ``intercept_``, whose
  arrays are overwritten in place, keeping their dtype and shape.
* :class:`lester_inspect.models.TorchMLPClassifier`, and any other classifier
  exposing a ``torch.nn.Module`` ``module_`` that maps features to one logit
  per entry of its sorted ``classes_``: autograd of the summed cross-entropy;
  the module's parameters are overwritten in place.

The classes are matched exactly, since a subclass may change the objective.
Sparse rows stay sparse for the linear models; PyTorch models densify only
the rows they feed to the network (the ``k`` affected rows for the first-order
update, batches of ``X_train`` for the second-order one).

Notation
--------
Every supported model minimises a training objective

    J(theta) = sum_i l(x_i, y_i; theta) + R(theta)

over its ``n`` training rows. The affected rows change from ``(X_old, y)`` to
``(X_new, y)``, or disappear (``X_new=None``). Both updates start from the
gradient difference

    G = sum_rows grad l(X_new, y; theta) - sum_rows grad l(X_old, y; theta)

(the new-rows term is zero for instance deletion). For a model fitted to
optimality, ``grad J_old(theta) = 0``, so ``G`` is the gradient of the corrected
objective at the current parameters.

* ``order="first"``:  ``theta <- theta - tau * G``.
* ``order="second"``: ``theta <- theta - H^-1 G`` with ``H`` the Hessian of the
  corrected objective (over ``X_train``, ``y_train``) at ``theta``. For
  quadratic objectives (``LinearRegression``, ``Ridge``) this lands exactly on
  the retrained model; for logistic losses it is one Newton step towards it.

The step size tau
-----------------
The default is ``tau = 1 / n_train``. Writing ``H = n * Hbar`` with ``Hbar`` the
Hessian of the *mean* objective ``J / n``, the second-order step is
``(1/n) Hbar^-1 G``; the first-order update replaces ``Hbar^-1`` by the
identity, i.e. it is one full-batch gradient-descent step with learning rate 1
on the mean objective. This is exact for least squares on standardised,
uncorrelated features (``Hbar = I``) and conservative for the logistic losses on
standardised features (their curvature is at most a quarter of the feature
covariance), so the step never overshoots there. For features with variance
far above 1 the step can overshoot; pass a smaller ``tau``. Warnecke et al.
treat ``tau`` as a hyper-parameter; this default needs no tuning data.

Second-order solver
-------------------
``H^-1 G`` is computed by (preconditioned) conjugate gradient from Hessian-vector
products; the Hessian is never formed, so memory stays linear in the number of
parameters and a sparse ``X_train`` is never densified.

* Linear models: exact analytic Hessian-vector products, Jacobi
  preconditioning (the Hessian diagonal is cheap), relative residual 1e-10.
  Directions without curvature stay out of the solve: the shift shared by all
  classes of a multinomial model (the step keeps coefficients and intercepts
  summing to zero over the classes, as scikit-learn's fits do), and the weight
  of a feature that is zero in every corrected row of an unpenalised model,
  which is set to zero, as a fit from scratch leaves it.
* PyTorch: Hessian-vector products of the summed cross-entropy over
  ``X_train`` by double back-propagation, in batches of 4096 rows; no
  preconditioner; relative residual 1e-4 (the products are float32) and at most
  100 iterations. A network's Hessian is indefinite in general and the fitted
  network is rarely at a minimum, so the system solved is the damped
  ``(H + lambda I) x = G`` with ``lambda = delta * n``: ``delta`` is damping on
  the scale of the mean loss, starts at 1e-3 and grows by a factor sqrt(10), up
  to 1, whenever conjugate gradient meets negative curvature (Levenberg-Marquardt
  style; the partial solution at that point is typically a huge step along an
  almost flat direction). As ``delta`` grows the step approaches the
  first-order step with ``tau = 1 / (delta * n)``. Each iteration costs about
  two back-propagation passes over ``X_train``.

A :class:`~sklearn.exceptions.ConvergenceWarning` reports an unconverged solve;
the approximate step is still applied.

Assumptions
-----------
The model was fitted with unit sample weights (no ``sample_weight``, no
``class_weight``) and, for the second-order update, to (near) optimality:
the update corrects the model's distance from the optimum of the *old*
objective only as far as ``grad J_old(theta) = 0`` holds.
"""

import time
import warnings
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.special import expit, softmax
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge, SGDClassifier
from sklearn.utils.validation import check_array, check_is_fitted

from lester_inspect.models import TorchMLPClassifier, _to_dense_float32

__all__ = ["ModelUpdate", "loss_gradient", "objective_gradient", "parameter_vector", "removal_bound",
           "unsupported_reason", "update_model"]

_SUPPORTED = (
    "LogisticRegression, SGDClassifier (loss='log_loss' or 'hinge'), LinearRegression, Ridge, "
    "lester_inspect.models.TorchMLPClassifier (or another classifier exposing a torch.nn.Module "
    "as `module_` and `classes_`)"
)
_LINEAR_RTOL = 1e-10
# float32 Hessian-vector products carry ~1e-7 relative noise that accumulates over
# batches, so a tighter tolerance would only burn iterations.
_TORCH_RTOL = 1e-4
_TORCH_MAX_ITERATIONS = 100
_TORCH_DAMPINGS = 1e-3 * np.sqrt(10.0) ** np.arange(7)
_TORCH_BATCH_ROWS = 4096


@dataclass(frozen=True)
class ModelUpdate:
    """What :func:`update_model` did.

    Attributes
    ----------
    model : estimator
        The updated model (the same object that was passed in).
    order : {"first", "second"}
        The update that was applied.
    tau : float or None
        The first-order step size; ``None`` for ``order="second"``.
    gradient_norm : float
        Euclidean norm of the gradient difference ``G``.
    parameters_changed : int
        Number of scalar parameters whose stored value changed.
    seconds : float
        Wall-clock time of the update, validation included.
    """

    model: object
    order: str
    tau: float | None
    gradient_norm: float
    parameters_changed: int
    seconds: float


def update_model(
    model, X_old, X_new, y, *, n_train: int, X_train=None, y_train=None, order: str = "first", tau: float | None = None,
    y_new=None, removed=None,
) -> ModelUpdate:
    """Unlearn changed or removed training rows from a fitted model, in place.

    Parameters
    ----------
    model : estimator
        A fitted model of a supported class (see the module docstring); its
        parameters are overwritten, keeping their dtypes and shapes.
    X_old : {ndarray, sparse matrix} of shape (k, d)
        The affected training rows as the model saw them.
    X_new : {ndarray, sparse matrix} of shape (k, d) or None
        The same rows corrected (feature deletion), or ``None`` if the rows are
        removed (instance deletion).
    y : array-like of shape (k,)
        Labels of the affected rows, as passed to ``fit`` (``(k, t)`` for a
        regressor fitted on ``t`` targets).
    n_train : int
        Number of rows the model was fitted on, before the change.
    y_new : array-like of shape (k,), optional
        The rows' corrected labels (label unlearning); default ``y``. With
        ``X_new=None`` and ``y_new`` given, only the labels change.
    removed : bool array of shape (k,), optional
        Rows that are removed rather than corrected (their new term is left
        out), to unlearn removals and corrections in one update.
    X_train, y_train : array-like, optional
        The whole corrected training data (``n_train`` rows, or ``n_train - k``
        after instance deletion). Required for, and only used by,
        ``order="second"``.
    order : {"first", "second"}, default="first"
        First-order (gradient) or second-order (Newton) update.
    tau : float, optional
        Step size of the first-order update; default ``1 / n_train``. Must not
        be given for ``order="second"``.

    Returns
    -------
    update : ModelUpdate

    Raises
    ------
    TypeError
        If the model class is not supported.
    ValueError
        If the model's configuration is not supported, or shapes, labels or
        arguments are inconsistent.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import Ridge
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(100, 3)); y = X @ [1.0, 2.0, 3.0]
    >>> model = Ridge(alpha=1.0).fit(X, y)
    >>> X_fixed = X.copy(); X_fixed[:5, 2] = 0.0
    >>> update = update_model(model, X[:5], X_fixed[:5], y[:5], n_train=100,
    ...                       X_train=X_fixed, y_train=y, order="second")
    >>> bool(np.allclose(model.coef_, Ridge(alpha=1.0).fit(X_fixed, y).coef_))
    True
    """
    started = time.perf_counter()
    adapter = _adapter_for(model)
    if order not in ("first", "second"):
        raise ValueError(f"order must be 'first' or 'second', got {order!r}.")
    if order == "second" and tau is not None:
        raise ValueError("tau is the step of the first-order update; do not pass it with order='second'.")
    if order == "second" and not adapter.supports_second_order:
        raise ValueError(f"order='second' is not available for this model: {adapter.no_second_order_reason}")
    if isinstance(n_train, bool) or not isinstance(n_train, (int, np.integer)) or n_train < 1:
        raise ValueError(f"n_train must be a positive integer, got {n_train!r}.")
    if tau is None:
        tau = 1.0 / n_train
    elif not (np.isfinite(tau) and tau > 0):
        raise ValueError(f"tau must be a positive finite number, got {tau!r}.")

    X_old = _check_rows(X_old, "X_old", adapter.n_features)
    k = X_old.shape[0]
    if X_new is None and (y_new is not None or removed is not None):
        X_new = X_old
    keep = np.ones(k, dtype=bool) if removed is None else ~np.asarray(removed, dtype=bool)
    if keep.shape != (k,):
        raise ValueError(f"removed has shape {keep.shape} but there are {k} rows.")
    if X_new is not None:
        X_new = _check_rows(X_new, "X_new", adapter.n_features)
        if X_new.shape != X_old.shape:
            raise ValueError(f"X_new has shape {X_new.shape} but X_old has shape {X_old.shape}; they must match.")
    if k > n_train:
        raise ValueError(f"X_old has {k} rows but the model was fitted on only n_train={n_train} rows.")
    targets = adapter.encode_targets(y, k, "y")
    new_targets = targets if y_new is None else adapter.encode_targets(y_new, k, "y_new")
    n_removed = k if X_new is None else int(k - keep.sum())
    if order == "second":
        X_train, train_targets = _check_training_data(adapter, X_train, y_train, n_train, n_removed)

    gradient = -adapter.loss_gradient(X_old, targets)
    if X_new is not None and keep.any():
        kept = np.flatnonzero(keep)
        gradient += adapter.loss_gradient(X_new[kept], new_targets[kept])
    if order == "first":
        step = tau * gradient
    else:
        tau = None
        step = adapter.newton_step(X_train, train_targets, gradient)

    if not np.all(np.isfinite(step)):
        raise FloatingPointError("the update step is not finite; the model was left unchanged.")
    before = adapter.get_parameters()
    adapter.set_parameters(before - step)
    changed = int(np.count_nonzero(adapter.get_parameters() != before))
    return ModelUpdate(
        model=model,
        order=order,
        tau=tau,
        gradient_norm=float(np.linalg.norm(gradient)),
        parameters_changed=changed,
        seconds=time.perf_counter() - started,
    )


def loss_gradient(model, X, y) -> np.ndarray:
    """Gradient of the summed per-row training loss at the model's current parameters.

    Parameters
    ----------
    model : estimator
        A fitted model of a supported class.
    X : {ndarray, sparse matrix} of shape (k, d)
        Rows to sum the loss over.
    y : array-like of shape (k,)
        Their labels (or ``(k, t)`` targets of a multi-target regressor).

    Returns
    -------
    gradient : ndarray of float64
        For linear models the gradient with respect to ``coef_`` (flattened as
        a ``(n_outputs, d)`` matrix, row-major) followed by ``intercept_`` (only
        if ``fit_intercept``). For PyTorch models the gradient with respect to
        the parameters of ``module_`` that require gradients, each flattened,
        concatenated in the order of ``module_.parameters()``.

    Notes
    -----
    The per-row losses are: half the squared error (``LinearRegression``,
    ``Ridge``); the log-loss (``LogisticRegression``); for ``SGDClassifier``
    the log-loss or hinge loss of each one-vs-rest output plus the per-row
    share ``alpha / 2 * ||coef_||^2`` of its penalty; the cross-entropy of the
    logits (PyTorch). Penalties that do not grow with the number of rows
    (``LogisticRegression``, ``Ridge``) are not part of the row loss.
    """
    adapter = _adapter_for(model)
    X = _check_rows(X, "X", adapter.n_features)
    return adapter.loss_gradient(X, adapter.encode_targets(y, X.shape[0], "y"))


def parameter_vector(model) -> np.ndarray:
    """The model's parameters as one float64 vector, in the order :func:`loss_gradient` uses."""
    return np.asarray(_adapter_for(model).get_parameters(), dtype=np.float64).copy()


def objective_gradient(model, X, y) -> np.ndarray:
    """Gradient of the whole training objective ``J`` (row losses and penalty) at the current parameters.

    Zero at an exact fit; its norm after an update is the *gradient residual* of Guo et al.,
    *Certified Data Removal from Machine Learning Models* (ICML 2020). Linear models only.
    """
    adapter = _adapter_for(model)
    if not isinstance(adapter, _LinearModel):
        raise TypeError(f"the gradient residual is defined here for linear models, not {type(model).__name__}")
    X = _check_rows(X, "X", adapter.n_features)
    gradient = adapter.loss_gradient(X, adapter.encode_targets(y, X.shape[0], "y"))
    if not adapter.per_row_penalty:
        gradient = gradient + adapter._penalty_diagonal() * adapter.get_parameters()
    return gradient


def removal_bound(model, X_train, step) -> float | None:
    """Guo et al.'s data-dependent bound on the gradient residual after the Newton step ``step``.

    ``gamma * ||X||_2 * ||step|| * ||X step||`` over the corrected training rows ``X_train``
    (with a column of ones for the intercept). None where the bound is not defined: a loss
    other than the squared or binary logistic one, or several logistic outputs.
    """
    adapter = _adapter_for(model)
    # The Lipschitz constant of the loss's second derivative that Guo et al. use: 1/4 for the logistic loss
    # (an upper bound; the exact one is 1 / (6 sqrt 3)), 0 for the squared loss, whose Newton step is exact.
    lipschitz = {_SquaredLoss: 0.0, _BinomialLoss: 0.25}
    gamma = lipschitz.get(type(getattr(adapter, "loss", None))) if isinstance(adapter, _LinearModel) else None
    if gamma is None or (gamma and adapter.n_outputs != 1):
        return None
    if gamma == 0.0:
        return 0.0
    from scipy.sparse.linalg import svds

    X = sp.csr_matrix(X_train, dtype=np.float64)
    if adapter.fit_intercept:
        X = sp.hstack([X, np.ones((X.shape[0], 1))], format="csr")
    spectral = float(svds(X, k=1, return_singular_vectors=False)[0]) if min(X.shape) > 1 else float(abs(X).max())
    step = np.asarray(step, dtype=np.float64)
    return gamma * spectral * float(np.linalg.norm(step)) * float(np.linalg.norm(X @ step))


def drop_features(model, columns) -> str | None:
    """Remove the input features ``columns`` from a fitted model, in place; why not (None: done).

    For a linear model and a feature that is zero on every training row, the objective depends on its
    weights only through the penalty, so a fit from scratch on the other features is the same model without
    those weights: removing them is the exact counterpart of removing the feature. For a network (its first
    layer ``Linear``) the removed weights only multiplied that feature, so no prediction of a row without it
    changes.
    """
    columns = np.asarray(sorted(set(int(c) for c in columns)), dtype=np.int64)
    if not len(columns):
        return None
    if type(model) in _LINEAR_FACTORIES:
        model.coef_ = np.delete(np.asarray(model.coef_), columns, axis=-1)
        model.n_features_in_ = model.coef_.shape[-1]
        return None
    first = next(iter(model.module_.children()), None) if hasattr(model, "module_") and hasattr(
        model.module_, "children") else None
    if first is not None and type(first).__name__ == "Linear" and hasattr(first, "in_features"):
        import torch

        keep = np.setdiff1d(np.arange(first.in_features), columns)
        with torch.no_grad():
            first.weight = torch.nn.Parameter(first.weight[:, torch.as_tensor(keep)].clone())
        first.in_features = len(keep)
        if hasattr(model, "n_features_in_"):
            model.n_features_in_ = len(keep)
        return None
    return f"{type(model).__name__}'s weights cannot be matched to input features"


def unsupported_reason(model, order: str = "first") -> str | None:
    """Why :func:`update_model` cannot update this fitted model with this ``order``; None if it can."""
    try:
        adapter = _adapter_for(model)
    except TypeError:
        return f"there is no unlearning update for {type(model).__name__}"
    except ValueError as error:  # an unsupported configuration; NotFittedError is a ValueError too
        return str(error)
    if order == "second" and not adapter.supports_second_order:
        return f"order='second' is not available for this model: {adapter.no_second_order_reason}"
    return None


def _adapter_for(model):
    factory = _LINEAR_FACTORIES.get(type(model))
    if factory is not None:
        check_is_fitted(model)
        return factory(model)
    if isinstance(model, TorchMLPClassifier) or (hasattr(model, "module_") and hasattr(model, "classes_")):
        check_is_fitted(model)
        import torch

        if isinstance(model.module_, torch.nn.Module):
            return _TorchClassifier(model, torch)
    hint = " Pass the pipeline's final estimator and rows in its feature space." if hasattr(model, "steps") else ""
    raise TypeError(f"update_model does not support {type(model).__name__}; supported models: {_SUPPORTED}.{hint}")


def _check_rows(X, name, n_features):
    # The store passes finite dense float64 rows; sklearn's validation would spend ~10 ms on its
    # first call in a process (dataframe plugin discovery), a fifth of a forget.
    if not (isinstance(X, np.ndarray) and X.dtype == np.float64 and X.ndim == 2 and np.isfinite(X).all()):
        X = check_array(X, accept_sparse="csr", dtype=np.float64, ensure_min_samples=0, input_name=name)
    if X.shape[1] != n_features:
        raise ValueError(f"{name} has shape {X.shape}, but the model expects {n_features} features per row.")
    return X


def _check_training_data(adapter, X_train, y_train, n_train, n_removed):
    if X_train is None or y_train is None:
        raise ValueError("order='second' needs the corrected training data: pass X_train and y_train.")
    X_train = check_array(X_train, accept_sparse="csr", dtype=[np.float64, np.float32], input_name="X_train")
    n_rows = n_train - n_removed
    if X_train.shape != (n_rows, adapter.n_features):
        what = "n_train - k (rows removed)" if n_removed else "n_train"
        raise ValueError(
            f"X_train has shape {X_train.shape}, expected ({n_rows}, {adapter.n_features}): "
            f"{what} rows of the corrected training data."
        )
    return X_train, adapter.encode_targets(y_train, n_rows, "y_train")


def _class_indices(classes, labels, name):
    """Index of each label in the sorted ``classes_``; ValueError for unseen labels."""
    try:
        positions = np.minimum(np.searchsorted(classes, labels), len(classes) - 1)
        unknown = classes[positions] != labels
    except TypeError:
        unknown = np.ones(len(labels), dtype=bool)
    if np.any(unknown):
        raise ValueError(
            f"{name} contains labels the model was not fitted on: {np.unique(labels[unknown])[:5].tolist()}; "
            f"known classes: {classes.tolist()}."
        )
    return positions


def _conjugate_gradient(product, b, *, inverse_diagonal, rtol, max_iterations):
    """Solve ``A x = b`` for symmetric ``A`` given by ``product(v) = A v``, with a diagonal preconditioner.

    Returns the last iterate and why the iteration ended: ``"converged"`` (``||b - A x|| <= rtol ||b||``),
    ``"negative curvature"`` (``A`` is not positive definite, possible for a neural network's Hessian) or
    ``"iteration limit"``.
    """
    x = np.zeros_like(b)
    residual = b.copy()
    threshold = rtol * np.linalg.norm(b)
    preconditioned = inverse_diagonal * residual
    direction = preconditioned.copy()
    alignment = residual @ preconditioned
    for _ in range(max_iterations):
        if np.linalg.norm(residual) <= threshold:
            return x, "converged"
        product_direction = product(direction)
        curvature = direction @ product_direction
        if curvature <= 0:
            return x, "negative curvature"
        step = alignment / curvature
        x += step * direction
        residual -= step * product_direction
        preconditioned = inverse_diagonal * residual
        new_alignment = residual @ preconditioned
        direction = preconditioned + (new_alignment / alignment) * direction
        alignment = new_alignment
    return x, "converged" if np.linalg.norm(residual) <= threshold else "iteration limit"


def _warn_unless_converged(status):
    if status != "converged":
        warnings.warn(
            f"conjugate gradient stopped early ({status}); applying the approximate second-order step.",
            ConvergenceWarning,
            stacklevel=4,
        )


# --- Linear models ----------------------------------------------------------------------------------------------
#
# All linear models share one shape: scores Z = X W^T + b with W of shape (m, d); the loss is a sum over rows of a
# function of each row's m scores. A loss supplies dl/dZ, the product of the per-row Hessian d2l/dZ2 with the rows
# of a matrix U, and the diagonal of that Hessian; the chain rule through Z is shared.


class _SquaredLoss:
    """Half the squared error; targets are the regression targets."""

    second_order_problem = None
    shift_invariant = False

    def gradient(self, Z, T):
        return Z - T

    def curvature_product(self, Z, T, U):
        return U

    def curvature_diagonal(self, Z, T):
        return np.ones_like(Z)


class _BinomialLoss:
    """Log-loss of each score as an independent binary problem; targets are 0/1.

    One output for binary classification, one per class for one-vs-rest.
    """

    second_order_problem = None
    shift_invariant = False

    def gradient(self, Z, T):
        return expit(Z) - T

    def curvature_product(self, Z, T, U):
        return self.curvature_diagonal(Z, T) * U

    def curvature_diagonal(self, Z, T):
        p = expit(Z)
        return p * (1.0 - p)


class _MultinomialLoss:
    """Cross-entropy of the softmax of the scores; targets are one-hot.

    Shift invariant: adding the same number to all scores of a row leaves the loss unchanged.
    """

    second_order_problem = None
    shift_invariant = True

    def gradient(self, Z, T):
        return softmax(Z, axis=1) - T

    def curvature_product(self, Z, T, U):
        P = softmax(Z, axis=1)
        PU = P * U
        return PU - P * PU.sum(axis=1, keepdims=True)

    def curvature_diagonal(self, Z, T):
        P = softmax(Z, axis=1)
        return P * (1.0 - P)


class _HingeLoss:
    """``max(0, 1 - s z)`` of each score with sign ``s = 2 t - 1``; targets are 0/1."""

    second_order_problem = (
        "the hinge loss is piecewise linear, so its Hessian is zero almost everywhere; use order='first'."
    )
    shift_invariant = False

    def gradient(self, Z, T):
        sign = 2.0 * T - 1.0
        return np.where(sign * Z < 1.0, -sign, 0.0)


class _LinearModel:
    """A fitted scikit-learn linear model seen as ``J = sum_i l(x_i W^T + b, t_i) + R(W, b)``.

    ``R = scale * (l2_coef / 2 * ||W_o||^2 summed over outputs o + l2_intercept / 2 * ||b||^2)`` where
    ``scale`` is 1, or the number of rows if the penalty belongs to the mean objective (``per_row_penalty``);
    in that case each row's loss carries its ``1 / n`` share of the penalty.
    """

    def __init__(self, model, loss, *, l2_coef, l2_intercept=0.0, per_row_penalty=False):
        self.model = model
        self.loss = loss
        coef = np.asarray(model.coef_)
        self.n_outputs = 1 if coef.ndim == 1 else coef.shape[0]
        self.n_features = coef.shape[-1]
        self.fit_intercept = bool(model.fit_intercept)
        self.l2_coef = np.broadcast_to(np.asarray(l2_coef, dtype=np.float64), (self.n_outputs,))
        self.l2_intercept = float(l2_intercept)
        self.per_row_penalty = per_row_penalty
        self.supports_second_order = loss.second_order_problem is None
        self.no_second_order_reason = loss.second_order_problem

    def encode_targets(self, y, n_rows, name):
        if hasattr(self.model, "classes_"):
            y = np.asarray(y)
            if y.shape != (n_rows,):
                raise ValueError(f"{name} has shape {y.shape}, expected ({n_rows},): one label per row.")
            classes = self.model.classes_
            indices = _class_indices(classes, y, name)
            if self.n_outputs == 1:
                return (indices == 1).astype(np.float64)[:, None]
            return (indices[:, None] == np.arange(len(classes))).astype(np.float64)
        y = np.asarray(y, dtype=np.float64)
        expected = (n_rows,) if np.ndim(self.model.coef_) == 1 else (n_rows, self.n_outputs)
        if y.shape != expected:
            raise ValueError(f"{name} has shape {y.shape}, expected {expected}: one target per row and output.")
        return y.reshape(n_rows, self.n_outputs)

    def get_parameters(self):
        coef = np.asarray(self.model.coef_, dtype=np.float64).ravel()
        if not self.fit_intercept:
            return coef
        return np.concatenate([coef, np.ravel(np.asarray(self.model.intercept_, dtype=np.float64))])

    def set_parameters(self, theta):
        n_coef = self.n_outputs * self.n_features
        self.model.coef_[...] = theta[:n_coef].reshape(self.model.coef_.shape)
        if self.fit_intercept:
            intercept = self.model.intercept_
            if isinstance(intercept, np.ndarray):
                intercept[...] = theta[n_coef:].reshape(intercept.shape)
            else:
                self.model.intercept_ = type(intercept)(theta[n_coef])

    def _split(self, theta):
        n_coef = self.n_outputs * self.n_features
        W = theta[:n_coef].reshape(self.n_outputs, self.n_features)
        b = theta[n_coef:] if self.fit_intercept else np.zeros(self.n_outputs)
        return W, b

    def _scores(self, X):
        W, b = self._split(self.get_parameters())
        return np.asarray(X @ W.T) + b

    def _pull_back(self, X, dZ):
        """Gradient with respect to (W, b) of sum_i <dZ_i, x_i W^T + b>, flattened."""
        dW = np.asarray(X.T @ dZ).T
        if not self.fit_intercept:
            return dW.ravel()
        return np.concatenate([dW.ravel(), dZ.sum(axis=0)])

    def _penalty_diagonal(self):
        coef = np.repeat(self.l2_coef, self.n_features)
        if not self.fit_intercept:
            return coef
        return np.concatenate([coef, np.full(self.n_outputs, self.l2_intercept)])

    def loss_gradient(self, X, T):
        gradient = self._pull_back(X, self.loss.gradient(self._scores(X), T))
        if self.per_row_penalty:
            gradient += X.shape[0] * self._penalty_diagonal() * self.get_parameters()
        return gradient

    def newton_step(self, X_train, T_train, gradient):
        Z = self._scores(X_train)
        penalty = (X_train.shape[0] if self.per_row_penalty else 1.0) * self._penalty_diagonal()

        def product(v):
            V, c = self._split(v)
            U = np.asarray(X_train @ V.T) + c
            return self._pull_back(X_train, self.loss.curvature_product(Z, T_train, U)) + penalty * v

        squares = X_train.multiply(X_train) if sp.issparse(X_train) else X_train**2
        diagonal = self._pull_back(squares, self.loss.curvature_diagonal(Z, T_train)) + penalty
        # A parameter without curvature belongs to a feature that is zero in every corrected row of an unpenalised
        # model: the corrected objective does not depend on it. It stays out of the solve and is set to zero, the
        # value a fit from scratch gives it, so that nothing learnt from the removed values stays in it.
        active = diagonal > 0

        def active_product(v):
            full = np.zeros_like(gradient)
            full[active] = v
            return product(full)[active]

        solution = self.get_parameters().copy()  # as a step, it sets the inactive parameters to zero
        solution[active], status = _conjugate_gradient(
            active_product,
            gradient[active],
            inverse_diagonal=1.0 / diagonal[active],
            rtol=_LINEAR_RTOL,
            max_iterations=10 * gradient.size,
        )
        _warn_unless_converged(status)
        if self.loss.shift_invariant:
            # Moving every class's coefficients and intercept by the same amount is a flat direction of the
            # objective. scikit-learn's fits (and the L2 penalty) keep both summing to zero over the classes; the
            # Jacobi-preconditioned solve drifts along the flat direction, so project the step back.
            W, b = self._split(solution)
            W -= W.mean(axis=0)
            b -= b.mean()
        return solution


def _reject_class_weight(model):
    if model.class_weight is not None:
        raise ValueError(
            f"{type(model).__name__} with class_weight={model.class_weight!r} is not supported: "
            "the update assumes every row has weight 1."
        )


def _logistic_regression(model):
    """sklearn minimises C * sum_i logloss_i + ||W||^2 / 2 (lbfgs & co.), i.e. J = sum logloss + ||W||^2 / (2C)."""
    _reject_class_weight(model)
    penalty = model.penalty
    if penalty == "deprecated":
        penalty = None if model.C == np.inf else {0: "l2", None: "l2", 1: "l1"}.get(model.l1_ratio, "elasticnet")
    if penalty not in ("l2", None):
        raise ValueError(
            f"LogisticRegression with a {penalty} penalty is not supported: its objective is not differentiable. "
            "Only the L2 penalty (l1_ratio=0) or no penalty (C=np.inf) can be unlearned."
        )
    l2 = 0.0 if penalty is None else 1.0 / model.C
    # liblinear appends a constant feature `intercept_scaling` whose weight, intercept_ / intercept_scaling, is
    # penalised like the others; every other solver leaves the intercept unpenalised.
    l2_intercept = l2 / model.intercept_scaling**2 if model.solver == "liblinear" else 0.0
    loss = _BinomialLoss() if len(model.classes_) == 2 else _MultinomialLoss()
    return _LinearModel(model, loss, l2_coef=l2, l2_intercept=l2_intercept)


def _sgd_classifier(model):
    """SGDClassifier minimises mean_i loss_i + alpha * ||W||^2 / 2 per one-vs-rest output."""
    _reject_class_weight(model)
    losses = {"log_loss": _BinomialLoss, "hinge": _HingeLoss}
    if model.loss not in losses:
        raise ValueError(f"SGDClassifier with loss={model.loss!r} is not supported; use 'log_loss' or 'hinge'.")
    if model.penalty == "elasticnet" and model.l1_ratio == 0:
        penalty = "l2"
    else:
        penalty = model.penalty
    if penalty not in ("l2", None):
        raise ValueError(
            f"SGDClassifier with penalty={model.penalty!r} is not supported: its objective is not differentiable. "
            "Use penalty='l2' or None."
        )
    l2 = 0.0 if penalty is None else model.alpha
    return _LinearModel(model, losses[model.loss](), l2_coef=l2, per_row_penalty=True)


def _least_squares(model):
    """LinearRegression minimises ||y - Xw - b||^2; Ridge adds alpha * ||w||^2. Both halved here."""
    if model.positive:
        raise ValueError(
            f"{type(model).__name__}(positive=True) is not supported: its constrained optimum is not a "
            "stationary point of the objective."
        )
    return _LinearModel(model, _SquaredLoss(), l2_coef=getattr(model, "alpha", 0.0))


# Exact types: a subclass may change the objective (LogisticRegressionCV subclasses LogisticRegression).
_LINEAR_FACTORIES = {
    LogisticRegression: _logistic_regression,
    SGDClassifier: _sgd_classifier,
    LinearRegression: _least_squares,
    Ridge: _least_squares,
}


# --- PyTorch classifiers ----------------------------------------------------------------------------------------


class _TorchClassifier:
    """A classifier whose ``module_`` maps float features to logits, trained on the cross-entropy."""

    supports_second_order = True
    no_second_order_reason = None

    def __init__(self, model, torch):
        self.model = model
        self.torch = torch
        self.parameters = [p for p in model.module_.parameters() if p.requires_grad]
        self.dtype = self.parameters[0].dtype
        self.n_features = getattr(model, "n_features_in_", None)
        if self.n_features is None:
            self.n_features = next(iter(model.module_.parameters())).shape[-1]

    def encode_targets(self, y, n_rows, name):
        y = np.asarray(y)
        if y.shape != (n_rows,):
            raise ValueError(f"{name} has shape {y.shape}, expected ({n_rows},): one label per row.")
        return _class_indices(np.asarray(self.model.classes_), y, name)

    def _batches(self, X, targets):
        for start in range(0, X.shape[0], _TORCH_BATCH_ROWS):
            rows = slice(start, start + _TORCH_BATCH_ROWS)
            features = self.torch.from_numpy(_to_dense_float32(X[rows])).to(self.dtype)
            yield features, self.torch.from_numpy(targets[rows].astype(np.int64))

    def _summed_loss(self, features, targets):
        return self.torch.nn.functional.cross_entropy(self.model.module_(features), targets, reduction="sum")

    def _flatten(self, tensors):
        return np.concatenate([t.detach().reshape(-1).cpu().numpy().astype(np.float64) for t in tensors])

    def _unflatten(self, vector):
        pieces, start = [], 0
        for p in self.parameters:
            piece = vector[start : start + p.numel()].reshape(p.shape)
            pieces.append(self.torch.from_numpy(np.ascontiguousarray(piece)).to(dtype=p.dtype, device=p.device))
            start += p.numel()
        return pieces

    def get_parameters(self):
        return self._flatten(self.parameters)

    def set_parameters(self, theta):
        with self.torch.no_grad():
            for p, value in zip(self.parameters, self._unflatten(theta)):
                p.copy_(value)

    def loss_gradient(self, X, targets):
        total = [self.torch.zeros_like(p) for p in self.parameters]
        with self.torch.enable_grad():
            for features, batch_targets in self._batches(X, targets):
                grads = self.torch.autograd.grad(
                    self._summed_loss(features, batch_targets), self.parameters, allow_unused=True
                )
                for accumulated, g in zip(total, grads):
                    if g is not None:
                        accumulated += g
        return self._flatten(total)

    def newton_step(self, X_train, targets, gradient):
        def hessian_product(vector):
            directions = self._unflatten(vector)
            total = [self.torch.zeros_like(p) for p in self.parameters]
            with self.torch.enable_grad():
                for features, batch_targets in self._batches(X_train, targets):
                    grads = self.torch.autograd.grad(
                        self._summed_loss(features, batch_targets), self.parameters, create_graph=True,
                        allow_unused=True,
                    )
                    inner = sum((g * d).sum() for g, d in zip(grads, directions) if g is not None)
                    second = self.torch.autograd.grad(inner, self.parameters, allow_unused=True)
                    for accumulated, h in zip(total, second):
                        if h is not None:
                            accumulated += h
            return self._flatten(total)

        # Levenberg-Marquardt: negative curvature means H + damping * I is indefinite, and the partial solution
        # found up to that point is typically a huge step along a nearly flat direction; retry more damped.
        for relative_damping in _TORCH_DAMPINGS:
            damping = relative_damping * X_train.shape[0]
            solution, status = _conjugate_gradient(
                lambda vector: hessian_product(vector) + damping * vector,
                gradient,
                inverse_diagonal=np.ones_like(gradient),
                rtol=_TORCH_RTOL,
                max_iterations=min(_TORCH_MAX_ITERATIONS, gradient.size),
            )
            if status != "negative curvature":
                break
        _warn_unless_converged(status)
        return solution
