"""Running what-if variants, sharing all the work a variant does not change.

A variant is a set of patches to the frame the model is fitted on (train side) and to the
frame it is scored on (test side). Its result is what the script's measurement of the model
(``model.score(X, y)``, or a metric such as ``accuracy_score(y, model.predict(X))``) would
return if the script applied those patches right at its fit call and the call reading its test frame;
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
5. Row-local re-execution: when, in addition to rule 3, every branch reading a changed
   column is a known row-wise transformer (``ROW_WISE_TRANSFORMERS``: each output row is
   computed from its input row alone, by the same element-wise arithmetic whatever the
   other rows), the final model is a known row-wise predictor (``ROW_WISE_MODELS``: trees
   and their ensembles, whose prediction of a row never mixes in other rows' floats) and it
   is measured by a metric of its outputs (a ``sklearn.metrics`` call, or a ``score`` that is
   sklearn's accuracy / R^2), then only the rows whose changed columns differ from the plain
   test frame are featurised and predicted; the other rows keep their plain outputs.
6. Permutation through matrix column provenance: permuting a test column whose matrix
   columns are a block of their own (a single-column branch, or one column of a split
   OneHotEncoder) made by a row-wise transformer permutes that block's rows; nothing is
   featurised again.

7. Shared script prefix: a variant that changes the script before the model's fit (a
   dropped filter) and that rule 8 cannot re-execute re-runs the modified script, but only
   from the first top-level statement any such variant of the analysis changes; the
   statements before it run once (``scratch.SharedPrefix`` states when it falls back to
   running each from scratch).
8. Re-executable DAG: a variant dropping one filter re-executes only the run's recorded calls
   that the filter's output reaches and that lead to the model's inputs; every other value
   is the plain run's (``recompute.py`` states the conditions, checked per variant: else rule
   7 runs it and ``notes`` say why). ``reexecuted`` lists the calls each such variant re-ran.
A pipeline shape outside these rules is an error (``WhatIfError``), or, where the rules
only lose their speed, a stated fallback recorded in ``SharedExecution.notes``.
"""
from __future__ import annotations

from typing import Dict, List, Optional, Sequence

import numpy as np
import pandas as pd
import scipy.sparse as sp

from lester_inspect.whatif.capture import ModelCall
from lester_inspect.whatif.recompute import Accessor, NotReexecutable, Ref, same_value, untraced_use
from lester_inspect.whatif.patches import (WhatIfError, apply_patches, apply_patches_keeping, permutation, rows_kept,
                                          touched_columns)


class Variant:
    """One pipeline variant: a name, labels (shown as result columns) and what it changes.

    ``train`` / ``test``: patches to the frames the model is fitted / scored on;
    ``model_params``: ``set_params`` of the model before it is fitted (a step replaced);
    ``removed_filters``: locations of filters the variant drops from the script — a change
    before the model's fit, run as a full re-run of the modified script.
    """

    def __init__(self, name: str, labels: Optional[dict] = None, train: Sequence[dict] = (),
                 test: Sequence[dict] = (), model_params: Optional[dict] = None, removed_filters: Sequence = ()):
        self.name = name
        self.labels = dict(labels or {})
        self.train = tuple(train)
        self.test = tuple(test)
        self.model_params = dict(model_params or {})
        self.removed_filters = tuple(removed_filters)

    @property
    def refits(self) -> bool:
        return bool(self.train or self.model_params)

    def __repr__(self) -> str:
        return f"Variant({self.name!r})"


def call_receiver(call):
    """The frame a recorded filter call (``df[mask]``, ``df.loc[mask]``, ``df.dropna()``) filters."""
    first = call.args[0] if call.args else None
    return first.frame if isinstance(first, Accessor) else first if isinstance(first, Ref) else None


def fresh_params(params: dict) -> dict:
    """``params`` with each estimator among the values cloned: a variant's replacement step is never fitted in
    place, so every use of the variant starts from the same unfitted step."""
    from sklearn.base import BaseEstimator, clone

    return {name: clone(value) if isinstance(value, BaseEstimator) else value for name, value in params.items()}


def _steps(model):
    """The model's steps as (featurising steps, final estimator); a bare model has no featurising steps."""
    from sklearn.pipeline import Pipeline

    if isinstance(model, Pipeline):
        steps = [step for _, step in model.steps[:-1] if step is not None and step != "passthrough"]
        return steps, model.steps[-1][1]
    return [], model


def _branch_columns(transformer, columns):
    """The columns a ColumnTransformer branch reads: a name (the branch gets a Series) or a list of names."""
    names = list(getattr(transformer, "feature_names_in_", []))
    if isinstance(columns, str):
        return columns
    if callable(columns) or not names:
        raise WhatIfError(f"cannot tell which columns a ColumnTransformer branch reads from {columns!r}")
    selected = np.asarray(names, dtype=object)[columns] if not all(isinstance(c, str) for c in columns) \
        else columns
    return [str(c) for c in selected]


#: Fitted transformers whose ``transform`` computes each output row from its input row alone.
ROW_WISE_TRANSFORMERS = frozenset({
    "OneHotEncoder", "OrdinalEncoder", "StandardScaler", "MinMaxScaler", "MaxAbsScaler", "RobustScaler",
    "SimpleImputer", "KBinsDiscretizer", "Binarizer"})
#: Models whose prediction of a row reads that row alone, without floating-point work shared across rows.
ROW_WISE_MODELS = frozenset({
    "DecisionTreeClassifier", "DecisionTreeRegressor", "RandomForestClassifier", "RandomForestRegressor",
    "ExtraTreesClassifier", "ExtraTreesRegressor", "GradientBoostingClassifier", "GradientBoostingRegressor"})


def _row_wise(transformer) -> bool:
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import FunctionTransformer

    if isinstance(transformer, Pipeline):
        return all(_row_wise(step) for _, step in transformer.steps if step not in (None, "passthrough"))
    if isinstance(transformer, FunctionTransformer):
        return transformer.func is None and transformer.inverse_func is None
    return type(transformer).__module__.startswith("sklearn.") and type(transformer).__name__ in ROW_WISE_TRANSFORMERS


def _score_function(model):
    """accuracy_score / r2_score when ``model.score`` is sklearn's own (rule 5), else None."""
    from sklearn.base import ClassifierMixin, RegressorMixin
    from sklearn.metrics import accuracy_score, r2_score

    score = getattr(type(model), "score", None)
    return {ClassifierMixin.score: accuracy_score, RegressorMixin.score: r2_score}.get(score)


def _changed_rows(plain: pd.DataFrame, patched: pd.DataFrame, columns) -> np.ndarray:
    """Positions of the rows whose ``columns`` differ (a column whose kind of values changed: all rows)."""
    same = np.ones(len(plain), dtype=bool)
    for column in columns:
        before, after = plain[column].reset_index(drop=True), patched[column].reset_index(drop=True)
        numeric = pd.api.types.is_numeric_dtype(before) and pd.api.types.is_numeric_dtype(after)
        if before.dtype != after.dtype and not numeric:
            return np.arange(len(plain))
        try:
            equal = before.eq(after).fillna(False).to_numpy(dtype=bool)
        except TypeError:
            return np.arange(len(plain))
        same &= equal | (before.isna() & after.isna()).to_numpy(dtype=bool)
    return np.flatnonzero(~same)


def _split_one_hot(part: slice, encoder, columns: List[str]) -> Optional[list]:
    """A fitted multi-column OneHotEncoder as one single-column encoder per column, with its output slice.

    Each column's one-hot block depends on that column alone; an encoder fitted with exactly
    that column's categories (and the same unknown handling and output type) gives the same
    block. Only encoders without dropped or infrequent categories are split.
    """
    from sklearn.preprocessing import OneHotEncoder

    if (type(encoder) is not OneHotEncoder or len(columns) < 2 or encoder.drop is not None
            or encoder.min_frequency is not None or encoder.max_categories is not None):
        return None
    split, start = [], part.start
    for column, categories in zip(columns, encoder.categories_):
        single = OneHotEncoder(categories=[categories], handle_unknown=encoder.handle_unknown,
                               sparse_output=encoder.sparse_output, dtype=encoder.dtype)
        single.fit(pd.DataFrame({column: pd.Series(categories, dtype=object)}))
        split.append((slice(start, start + len(categories)), single, [column], [column]))
        start += len(categories)
    return split if start == part.stop else None


class _Branches:
    """The plain test frame featurised by a ColumnTransformer, kept as one block per branch (rule 3).

    A multi-column OneHotEncoder branch is kept as one block per column when it can be split
    (``_split_one_hot``), so that a change of one column re-encodes that column alone; the
    split is used only if the blocks reassemble into exactly the ColumnTransformer's output.
    """

    def __init__(self, transformer, frame: pd.DataFrame):
        self.transformer = transformer
        # (slice, fitted branch transformer, its input columns, how it selects them: a name or a list)
        whole = []
        for name, branch, columns in transformer.transformers_:
            if isinstance(branch, str) and branch == "drop":
                continue
            part = transformer.output_indices_[name]
            if part.stop > part.start:
                selection = _branch_columns(transformer, columns)
                whole.append((part, branch, [selection] if isinstance(selection, str) else selection, selection))
        split = [item for part, branch, columns, selection in whole
                 for item in (_split_one_hot(part, branch, columns) or [(part, branch, columns, selection)])]
        expected = transformer.transform(frame)
        for branches in ([split, whole] if len(split) > len(whole) else [whole]):
            self.branches = sorted(branches, key=lambda item: item[0].start)
            self.blocks = [self._transform(branch, frame[selection]) for _, branch, _, selection in self.branches]
            if _identical(self._assemble(self.blocks), expected):
                return
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

    def transform(self, frame: pd.DataFrame, changed: set, rows: Optional[np.ndarray] = None):
        """``frame`` featurised (only its ``rows``, if given); only the branches reading a column in ``changed`` run."""
        def part(selection):  # the branch's columns first: taking rows of the whole frame copies every column
            selected = frame[selection]
            return selected if rows is None else selected.iloc[rows]

        blocks = [self._transform(branch, part(selection)) if changed.intersection(columns)
                  else (block if rows is None else block[rows])
                  for (_, branch, columns, selection), block in zip(self.branches, self.blocks)]
        return self._assemble(blocks)

    def permuted(self, column: str, order: np.ndarray):
        """Rule 6: the plain features with ``column``'s own block in ``order``; None if it has no such block."""
        owned = [index for index, (_, branch, columns, _) in enumerate(self.branches)
                 if columns == [column] and _row_wise(branch)]
        if len(owned) != 1 or any(column in columns for _, _, columns, _ in self.branches if columns != [column]):
            return None
        blocks = list(self.blocks)
        blocks[owned[0]] = blocks[owned[0]][order]
        return self._assemble(blocks)

    def row_wise(self, changed: set) -> bool:
        return all(_row_wise(branch) for _, branch, columns, _ in self.branches if changed.intersection(columns))


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

    def __init__(self, fit: ModelCall, score: ModelCall, path: Optional[str] = None, args: Sequence[str] = (),
                 trace=None, tree=None):
        self.fit, self.score = fit, score
        # The pipeline file and its arguments, for variants that must re-run it (a dropped filter).
        self.path, self.args = path, list(args)
        # The run's recorded calls and the script's AST, for re-executing only what a dropped filter reaches.
        self.trace, self.tree = trace, tree
        self.rerun_train_frames: Dict[str, pd.DataFrame] = {}
        #: Per variant dropping a filter: the recorded calls re-executed (rule 8), or why it ran as rule 7.
        self.reexecuted: Dict[str, list] = {}
        self.not_reexecuted: Dict[str, str] = {}
        self._reexecutable_names: set = set()
        #: What analyses compute once per run from its captured frames (e.g. the mislabelled rows).
        self.memo: dict = {}
        self.model = fit.estimator
        self.notes: List[str] = []
        self._refits: Dict[str, object] = {}
        self._branches: Optional[_Branches] = None
        self._branches_tried = False
        self._plain_predictions = None
        self._prefix = None
        self.plain_score = self.run(Variant("plain"))

    def _reused_branches(self) -> Optional[_Branches]:
        """Rule 3's plain test blocks, set up on first use; None (and a note) where the rule does not apply."""
        if not self._branches_tried:
            self._branches_tried = True
            from sklearn.compose import ColumnTransformer

            steps, _ = _steps(self.model)
            if steps and isinstance(steps[0], ColumnTransformer) and isinstance(self.score.X, pd.DataFrame):
                try:
                    self._branches = _Branches(steps[0], self.score.X)
                except Exception as error:  # a branch that cannot run alone: the whole featuriser runs instead
                    reason = error if isinstance(error, WhatIfError) else (
                        f"a branch fails on its own columns ({type(error).__name__}: {error})")
                    self.notes.append(f"fitted transformers are not reused branch by branch: {reason}")
            else:
                self.notes.append("the model's first step is not a ColumnTransformer: each test-side variant "
                                  "featurises its whole test frame")
        return self._branches

    def _featurise_with_reuse(self, frame, changed: set):
        steps, _ = _steps(self.model)
        branches = self._reused_branches()
        if branches is None:
            return _featurise(steps, frame)
        return _featurise(steps[1:], branches.transform(frame, changed))

    def model_for(self, variant: Variant):
        """The fitted model of ``variant``: the plain one (rule 2) or one refit per training change (rule 4)."""
        if not variant.refits:
            return self.model
        # Patches are dicts of literals: equal changes, equal repr.
        key = repr((variant.train, sorted(variant.model_params.items(), key=repr)))
        if key not in self._refits:
            from sklearn.base import clone

            try:
                fresh = clone(self.model).set_params(**fresh_params(variant.model_params))
            except Exception as error:
                raise WhatIfError(f"the model fitted at {self.fit.location} cannot be cloned to refit a "
                                  f"train-side variant: {error}") from error
            frame, kept = apply_patches_keeping(variant.train, self.fit.X)
            self._refits[key] = fresh.fit(frame, rows_kept(self.fit.y, kept))
        return self._refits[key]

    def train_frame(self, variant: Variant):
        """The frame the variant's model is fitted on."""
        if variant.removed_filters:
            if variant.name not in self.rerun_train_frames:
                self.run(variant)
            return self.rerun_train_frames[variant.name]
        return apply_patches(variant.train, self.fit.X)

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
        """What the script's measurement of the model (``model.score(X_test, y_test)``, a metric) returns in
        ``variant``."""
        if variant.removed_filters:
            return self._rerun(variant)
        model = self.model_for(variant)
        if model is self.model and variant.test:
            permuted = self._permuted_features(variant)
            if permuted is not None:
                return self.score.measure(_steps(model)[1], permuted)
            if self._row_local(touched_columns(variant.test)):
                return self._run_row_local(variant)
        return self.score.measure(_steps(model)[1], self.features(variant))

    def prepare_reruns(self, variants: Sequence[Variant]) -> None:
        """Rules 8 and 7 for the variants that change the script before the model's fit: those whose change the
        recorded calls can re-execute are checked now; the others' shared prefix runs once."""
        from lester_inspect.whatif.scratch import SharedPrefix

        reruns = [variant for variant in variants if variant.removed_filters and not self._reexecutable(variant)]
        if not reruns:
            return
        if self.path is None:
            raise WhatIfError(f"variant {reruns[0].name} changes the script before the model's fit and must re-run "
                              "it, which needs a pipeline file (not a code string)")
        self._prefix = SharedPrefix(self.path, self.fit.location, self.score.location, reruns, self.args,
                                    metric_location=self.metric_location)
        if self._prefix.fallback:
            self.notes.append(f"variants changing the script before the fit run from scratch: {self._prefix.fallback}")

    def _rerun(self, variant: Variant) -> float:
        """A change before the model's fit: the recorded calls it reaches (rule 8), or the modified script's
        statements from the first changed one (rule 7)."""
        if self._reexecutable(variant):
            try:
                return self._reexecute(variant)
            except NotReexecutable as reason:  # found only on the changed data (a count that changed, say)
                self._refuse(variant, reason)
        if self._prefix is None or variant.name not in self._prefix.bodies:
            self.prepare_reruns([variant])
        recorded = self._prefix.run(variant)
        self.rerun_train_frames[variant.name] = recorded["train_data"]
        return float(recorded["score"])

    def how_rerun(self, variant: Variant) -> str:
        """How a variant changing the script before the fit ran (for its row)."""
        if variant.name in self.reexecuted:
            return f"re-executed {len(self.reexecuted[variant.name])} recorded calls the change reaches"
        if variant.name in self._reexecutable_names:  # it failed while re-executing them
            return "re-executing the recorded calls the change reaches"
        return "re-run from the first changed statement"

    def _frontier(self) -> List[Optional[int]]:
        """The trace's keys of the model's inputs as its calls got them: fit X and y, test X, measured labels
        (None: not made by a recorded call)."""
        return [*self.fit.keys, *self.score.keys]

    def _filter_call(self, variant: Variant):
        """The recorded call of the one filter ``variant`` drops (a ``NotReexecutable`` if there is none)."""
        if self.trace is None or self.tree is None:
            raise NotReexecutable("the run's calls were not recorded")
        if len(variant.removed_filters) != 1:
            raise NotReexecutable("the variant drops more than one filter")
        (location,) = variant.removed_filters
        calls = [call for node, call in self.trace.node_calls() if node.code_location == location]
        if len(calls) != 1 or call_receiver(calls[0]) is None or not calls[0].outputs:
            raise NotReexecutable(f"the filter at {location} is not one recorded call on a frame")
        return calls[0]

    def _reexecutable(self, variant: Variant) -> bool:
        """Whether rule 8 applies to ``variant`` (checked once; ``not_reexecuted`` says why not)."""
        if variant.name in self._reexecutable_names:
            return True
        if variant.name in self.not_reexecuted:
            return False
        try:
            if self.trace is not None and self.trace.broken is not None:
                raise NotReexecutable(self.trace.broken)
            start = self._filter_call(variant)
            spans = {(c.location.lineno, c.location.col_offset, c.location.end_lineno, c.location.end_col_offset)
                     for c in self.trace.calls if c.location is not None and c.location.file is None}
            model_calls = {(loc.lineno, loc.col_offset, loc.end_lineno, loc.end_col_offset)
                           for loc in (self.fit.location, self.score.location, self.metric_location) if loc}
            location = start.location
            problem = untraced_use(self.tree, spans, (location.lineno, location.col_offset, location.end_lineno,
                                                      location.end_col_offset),
                                   self.score.measured_at.end_lineno, model_calls)
            if problem is not None:
                raise NotReexecutable(problem)
            self._replay(start)
        except NotReexecutable as reason:
            self._refuse(variant, reason)
            return False
        self._reexecutable_names.add(variant.name)
        return True

    def _refuse(self, variant: Variant, reason) -> None:
        self._reexecutable_names.discard(variant.name)
        self.not_reexecuted[variant.name] = str(reason)
        self.notes.append(f"{variant.name} re-runs the script (rule 7), not only the calls it reaches: {reason}")

    def _replay(self, start) -> None:
        """Re-executing the calls after ``start`` with its own result must give exactly the model's inputs."""
        keys = [key for key in self._frontier() if key is not None]
        values, _ = self.trace.recompute(keys, start, self.trace.values[start.outputs[0][0]])
        for key in keys:
            if not same_value(values[key], self.trace.values[key]):
                raise NotReexecutable(f"re-executing the recorded calls without the change does not give the "
                                      f"value made by {self.trace.producer[key]!r} (a random draw without a seed, "
                                      "or data changed by code the run does not record)")

    def _reexecute(self, variant: Variant) -> float:
        """Rule 8: the filter's call gives its input frame; only the calls leading to the model's inputs that
        read a changed value run again; the model is refitted and measured on the new inputs."""
        from sklearn.base import clone

        start = self._filter_call(variant)
        frontier = self._frontier()
        plain = (self.fit.X, self.fit.y, self.score.X, self.score.y)
        values, ran = self.trace.recompute([key for key in frontier if key is not None], start,
                                           self.trace.resolve(call_receiver(start)))
        train_X, train_y, test_X, test_y = [values[key] if key is not None else value
                                            for key, value in zip(frontier, plain)]
        self.reexecuted[variant.name] = ran
        self.rerun_train_frames[variant.name] = train_X
        model = clone(self.model).fit(train_X, train_y)
        steps, final = _steps(model)
        return self.score.measure(final, _featurise(steps, test_X), test_y)

    def _permuted_features(self, variant: Variant):
        """Rule 6 for a variant that only permutes one test column; None where it does not apply."""
        (patch, *others) = variant.test
        branches = self._reused_branches()
        if others or patch["change"] != "permuted" or branches is None or len(_steps(self.model)[0]) != 1:
            return None
        return branches.permuted(patch["column"], permutation(patch, len(self.score.X)))

    def _row_local(self, changed: set) -> bool:
        """Whether rule 5 applies to a test-side change of ``changed`` columns."""
        steps, final = _steps(self.model)
        branches = self._reused_branches()
        return (branches is not None and len(steps) == 1 and branches.row_wise(changed)
                and type(final).__module__.startswith("sklearn.") and type(final).__name__ in ROW_WISE_MODELS
                and (self.score.metric is not None or _score_function(final) is not None))

    def _run_row_local(self, variant: Variant) -> float:
        final = _steps(self.model)[1]
        method = "predict" if self.score.metric is None else self.score.method
        if self._plain_predictions is None:
            self._plain_predictions = getattr(final, method)(self._branches.transform(self.score.X, set()))
        frame, changed = self.test_frame(variant), touched_columns(variant.test)
        rows = _changed_rows(self.score.X, frame, changed)
        predictions = self._plain_predictions.copy()
        if len(rows):
            predictions[rows] = getattr(final, method)(self._branches.transform(frame, changed, rows))
        if self.score.metric is None:
            return float(_score_function(final)(self.score.y, predictions))
        return self.score.metric.of(self.score.y, predictions)

    @property
    def metric_location(self):
        """Where the script's metric call is (None when it measures with ``model.score``)."""
        return self.score.metric.location if self.score.metric is not None else None

    def featurising_steps(self) -> list:
        return _steps(self.model)[0]

    @property
    def final_estimator(self):
        return _steps(self.model)[1]

    @staticmethod
    def featurise(steps, frame):
        return _featurise(steps, frame)

    def featuriser_columns(self) -> List[str]:
        """The test frame's columns the featuriser reads (all of them without a ColumnTransformer)."""
        branches = self._reused_branches()
        if branches is None:
            return self.test_columns()
        return list(dict.fromkeys(c for _, _, columns, _ in branches.branches for c in columns))

    def test_columns(self) -> List[str]:
        if not isinstance(self.score.X, pd.DataFrame):
            raise WhatIfError(f"the model is scored at {self.score.location} on a {type(self.score.X).__name__}, "
                              "not a DataFrame: its columns cannot be changed by name")
        return [str(c) for c in self.score.X.columns]


def _featurise(steps, frame):
    for step in steps:
        frame = step.transform(frame)
    return frame
