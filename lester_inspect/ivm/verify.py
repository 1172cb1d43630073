"""``verify``: how far a run's updated model is from one fitted from scratch on the corrected data.

The final estimator is fitted again, with its parameters, on the stored corrected training
matrix (no pipeline re-run) and compared with the stored, updated model: the L2 distance of
their parameters, their test scores and the share of test predictions they agree on. For
linear models also the *gradient residual* of the updated model (the norm of the corrected
objective's gradient at its parameters: zero at an exact fit) and the sum of the
data-dependent bounds of Guo et al., *Certified Data Removal from Machine Learning Models*
(ICML 2020), of the second-order updates applied since capture (or the last refit).
"""
from __future__ import annotations

import dataclasses
import time
from typing import List, Optional

import numpy as np


@dataclasses.dataclass
class Verification:
    run_id: str
    model_class: str
    updates: int                          # model updates applied since capture
    parameter_distance: Optional[float]   # L2, updated vs retrained; None without a parameter vector
    parameter_norm: Optional[float]       # of the retrained model, for scale
    metric: Optional[str]                 # "accuracy" or "R^2" on the stored test data
    score_updated: Optional[float]
    score_retrained: Optional[float]
    agreement: Optional[float]            # share of equal test predictions (classifiers)
    gradient_residual: Optional[float]    # linear models: of the updated model
    retrained_residual: Optional[float]   # the same for the retrained model (the solver's tolerance)
    removal_bound: Optional[float]
    notes: List[str]
    seconds: float

    def __str__(self) -> str:
        def number(value, digits=4):
            return "n/a" if value is None else f"{value:.{digits}g}"

        lines = [f"run {self.run_id}: {self.model_class} after {self.updates} update(s), against one fitted from "
                 f"scratch on the stored corrected training data ({self.seconds:.2f} s)"]
        if self.parameter_distance is not None:
            lines.append(f"  parameter L2 distance {number(self.parameter_distance)} "
                         f"(retrained parameters' norm {number(self.parameter_norm)})")
        if self.metric:
            lines.append(f"  test {self.metric}: updated {number(self.score_updated)}, retrained "
                         f"{number(self.score_retrained)}, difference {number(self.score_updated - self.score_retrained)}")
        if self.agreement is not None:
            lines.append(f"  test predictions agree on {self.agreement:.2%}")
        if self.gradient_residual is not None:
            lines.append(f"  gradient residual {number(self.gradient_residual)} (retrained: "
                         f"{number(self.retrained_residual)}); removal bound of Guo et al. {number(self.removal_bound)}")
        lines.extend(f"  note: {note}" for note in self.notes)
        return "\n".join(lines)


def verify(store, run_id: str) -> Verification:
    """Compare run ``run_id``'s updated model with the final estimator fitted again on its corrected data."""
    from sklearn.base import clone

    from lester_inspect.ivm import unlearning
    from lester_inspect.ivm.files import read_pickle

    started = time.perf_counter()
    loaded = store.load(run_id)
    model, train, test = loaded.get("model"), loaded.get("train", {}), loaded.get("test", {})
    if model is None or train.get("X") is None or train.get("y") is None:
        raise ValueError(f"run {run_id}: no model or stored training matrix and labels to fit one again on")
    retrained = clone(model).fit(train["X"], train["y"])
    notes = []
    updates = read_pickle(f"{store.path}/runs/{run_id}/model.pkl").get("updates", [])
    distance = norm = None
    try:
        updated_parameters, retrained_parameters = unlearning.parameter_vector(model), unlearning.parameter_vector(retrained)
        distance = float(np.linalg.norm(updated_parameters - retrained_parameters))
        norm = float(np.linalg.norm(retrained_parameters))
    except TypeError:
        notes.append(f"{type(model).__name__} has no parameter vector to compare")
    metric = score_updated = score_retrained = agreement = None
    if test.get("X") is not None:
        predicted, predicted_again = model.predict(test["X"]), retrained.predict(test["X"])
        if hasattr(model, "classes_"):
            agreement = float(np.mean(np.asarray(predicted) == np.asarray(predicted_again)))
        if test.get("y") is not None:
            metric = "accuracy" if hasattr(model, "classes_") else "R^2"
            score_updated, score_retrained = float(model.score(test["X"], test["y"])), float(
                retrained.score(test["X"], test["y"]))
    else:
        notes.append("the run stored no test data")
    residual = retrained_residual = bound = None
    try:
        residual = float(np.linalg.norm(unlearning.objective_gradient(model, train["X"], train["y"])))
        retrained_residual = float(np.linalg.norm(unlearning.objective_gradient(retrained, train["X"], train["y"])))
    except TypeError:
        pass
    else:
        since_refit = []
        for update in updates:
            since_refit = [] if any(k.startswith("refitted") for k in update) else since_refit + [update]
        bounds = [update.get("removal_bound") for update in since_refit]
        if all(b is not None for b in bounds):
            bound = float(sum(bounds))
        else:
            notes.append("the removal bound of Guo et al. holds for second-order updates of a binary logistic or "
                         "least-squares model; a first-order update has none, so only the measured residual is given")
    return Verification(run_id, type(model).__name__, len(updates), distance, norm, metric, score_updated,
                        score_retrained, agreement, residual, retrained_residual, bound, notes,
                        time.perf_counter() - started)
