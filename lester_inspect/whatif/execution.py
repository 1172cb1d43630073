"""Running what-if variants, sharing all the work a variant does not change.

A variant is a set of patches to the frame the model is fitted on (train side) and to the
frame it is scored on (test side). Its result is what the script's ``model.score(...)``
call would return if the script applied those patches right at its fit and score calls;
``scratch.py`` builds that modified script and runs it from scratch, and the tests check
that both agree exactly.

The optimisation rules, each applied only where it gives the identical result:

1. Shared prefix: everything the script computes before the model's fit (reading, joins,
   filters, the split) ran once, in the plain run; every variant starts from the captured
   fit and score frames.
2. Test side only after fitting once: a variant that changes only the test side reuses the
   model fitted in the plain run (no refit); only featurise + predict + score run.
3. Reuse fitted transformers, branch by branch: when the model's first step is a fitted
   ColumnTransformer and the training side is unchanged, only the branches reading a
   changed column transform the variant's test frame; the other branches' blocks come from
   the plain test frame's featurisation, computed once. This rule is switched on only after
   checking that the blocks reassemble into exactly ``transform(test frame)``.
4. One refit per distinct training change: variants that change the train side the same
   way share one clone of the model fitted on the changed frame.

A pipeline shape outside these rules is an error (``WhatIfError``), or, where the rules
only lose their speed, a stated fallback recorded in ``SharedExecution.notes``.
"""
from __future__ import annotations

from typing import Dict, List, Optional, Sequence

import numpy as np
import pandas as pd
import scipy.sparse as sp

from lester_inspect.whatif.capture import ModelCall
from lester_inspect.whatif.patches import WhatIfError, apply_patches, touched_columns


class Variant:
    """One pipeline variant: a name, labels (shown as result columns) and its patches."""

    def __init__(self, name: str, labels: Optional[dict] = None, train: Sequence[dict] = (),
                 test: Sequence[dict] = ()):
        self.name = name
        self.labels = dict(labels or {})
        self.train = tuple(train)
        self.test = tuple(test)

    def __repr__(self) -> str:
        return f"Variant({self.name!r})"


def _steps(model):
    """The model's steps as (featurising steps, final estimator); a bare model has no featurising steps."""
    from sklearn.pipeline import Pipeline

    if isinstance(model, Pipeline):
        steps = [step for _, step in model.steps[:-1] if step is not None and step != "passthrough"]
        return steps, model.steps[-1][1]
    return [], model


def _branch_columns(transformer, columns) -> List[str]:
    names = list(getattr(transformer, "feature_names_in_", []))
    if isinstance(columns, str):
        return [columns]
    if callable(columns) or not names:
        raise WhatIfError(f"cannot tell which columns a ColumnTransformer branch reads from {columns!r}")
    selected = np.asarray(names, dtype=object)[columns] if not all(isinstance(c, str) for c in columns) \
        else columns
    return [str(c) for c in selected]


class _Branches:
    """The plain test frame featurised by a ColumnTransformer, kept as one block per branch (rule 3)."""

    def __init__(self, transformer, frame: pd.DataFrame):
        self.transformer = transformer
        self.branches = []  # (slice, fitted branch transformer, its input columns)
        for name, branch, columns in transformer.transformers_:
            if isinstance(branch, str) and branch == "drop":
                continue
            part = transformer.output_indices_[name]
            if part.stop > part.start:
                self.branches.append((part, branch, _branch_columns(transformer, columns)))
        self.branches.sort(key=lambda item: item[0].start)
        self.blocks = [self._transform(branch, frame[columns]) for _, branch, columns in self.branches]
        expected = transformer.transform(frame)
        if not _identical(self._assemble(self.blocks), expected):
            raise WhatIfError("the ColumnTransformer's blocks do not reassemble into its output")

    @staticmethod
    def _transform(branch, frame):
        if isinstance(branch, str):  # 'passthrough' as given, not replaced by sklearn
            return frame.to_numpy()
        return branch.transform(frame)

    def _assemble(self, blocks):
        if getattr(self.transformer, "sparse_output_", False):
            return sp.hstack([sp.csr_matrix(block) if not sp.issparse(block) else block
                              for block in blocks]).tocsr()
        return np.hstack([block.toarray() if sp.issparse(block) else np.asarray(block) for block in blocks])

    def transform(self, frame: pd.DataFrame, changed: set):
        """``frame`` featurised; only the branches reading a column in ``changed`` run."""
        blocks = [self._transform(branch, frame[columns]) if changed.intersection(columns) else block
                  for (_, branch, columns), block in zip(self.branches, self.blocks)]
        return self._assemble(blocks)


def _identical(left, right) -> bool:
    if sp.issparse(left) != sp.issparse(right):
        return False
    if sp.issparse(left):
        left, right = left.tocsr(), right.tocsr()
        return (left.shape == right.shape and left.dtype == right.dtype
                and (left != right).nnz == 0)
    right = np.asarray(right) if not isinstance(right, pd.DataFrame) else None
    if right is None:
        return False
    return left.shape == right.shape and left.dtype == right.dtype and np.array_equal(left, right, equal_nan=True)


class SharedExecution:
    """Runs variants from the plain run's captured fit and score calls under the rules above."""

    def __init__(self, fit: ModelCall, score: ModelCall):
        self.fit, self.score = fit, score
        self.model = fit.estimator
        self.notes: List[str] = []
        self._refits: Dict[str, object] = {}
        self._branches: Optional[_Branches] = None
        self._branches_tried = False
        self.plain_score = self.run(Variant("plain"))

    def _featurise_with_reuse(self, frame, changed: set):
        """Rule 3, set up on first use; a pipeline it does not fit falls back to a full featurisation."""
        steps, _ = _steps(self.model)
        if not self._branches_tried:
            self._branches_tried = True
            from sklearn.compose import ColumnTransformer

            if steps and isinstance(steps[0], ColumnTransformer) and isinstance(self.score.X, pd.DataFrame):
                try:
                    self._branches = _Branches(steps[0], self.score.X)
                except WhatIfError as error:
                    self.notes.append(f"fitted transformers are not reused branch by branch: {error}")
            else:
                self.notes.append("the model's first step is not a ColumnTransformer: each test-side variant "
                                  "featurises its whole test frame")
        if self._branches is None:
            return _featurise(steps, frame)
        return _featurise(steps[1:], self._branches.transform(frame, changed))

    def model_for(self, variant: Variant):
        """The fitted model of ``variant``: the plain one (rule 2) or one refit per training change (rule 4)."""
        if not variant.train:
            return self.model
        key = repr(variant.train)  # patches are dicts of literals: equal patches, equal repr
        if key not in self._refits:
            from sklearn.base import clone

            try:
                fresh = clone(self.model)
            except Exception as error:
                raise WhatIfError(f"the model fitted at {self.fit.location} cannot be cloned to refit a "
                                  f"train-side variant: {error}") from error
            self._refits[key] = fresh.fit(apply_patches(variant.train, self.fit.X), self.fit.y)
        return self._refits[key]

    def test_frame(self, variant: Variant):
        return apply_patches(variant.test, self.score.X)

    def features(self, variant: Variant):
        """The variant's test feature matrix (what the final estimator scores)."""
        model = self.model_for(variant)
        frame = self.test_frame(variant)
        if model is self.model:
            return self._featurise_with_reuse(frame, touched_columns(variant.test))
        return _featurise(_steps(model)[0], frame)

    def run(self, variant: Variant) -> float:
        """What ``model.score(X_test, y_test)`` returns in ``variant``."""
        model = self.model_for(variant)
        return float(_steps(model)[1].score(self.features(variant), self.score.y))

    def test_columns(self) -> List[str]:
        if not isinstance(self.score.X, pd.DataFrame):
            raise WhatIfError(f"the model is scored at {self.score.location} on a {type(self.score.X).__name__}, "
                              "not a DataFrame: its columns cannot be changed by name")
        return [str(c) for c in self.score.X.columns]


def _featurise(steps, frame):
    for step in steps:
        frame = step.transform(frame)
    return frame
