"""The what-if analyses: each turns into pipeline variants and a result frame (variant x metric)."""
from __future__ import annotations

from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import pandas as pd

from lester_inspect.progress import progress
from lester_inspect.whatif.execution import SharedExecution, Variant
from lester_inspect.whatif.patches import CORRUPTIONS, WhatIfError, make_patch, patch_seed

PLAIN = "plain"


class WhatIfAnalysis:
    """An analysis of a pipeline by its variants; ``evaluate`` gives one row per variant."""

    #: Inspections the run needs for this analysis (added to the run like a check's).
    required_inspections: Sequence = ()

    def variants(self, execution: SharedExecution) -> List[Variant]:
        raise NotImplementedError

    def evaluate(self, execution: SharedExecution, result=None) -> pd.DataFrame:
        """One row per variant (the plain pipeline first): its labels, ``score`` and ``score_change``.

        A variant the pipeline itself fails on (a transformer refusing missing values) has
        no score and its ``error`` says why, as the modified script would have failed.
        """
        self._prepare(execution, result)
        variants = self.variants(execution)
        execution.prepare_reruns(variants)
        rows = [{"variant": PLAIN, "score": execution.plain_score, "error": None}]
        for variant in progress(variants, f"what-if: {self!r}", unit="variant"):
            rows.append({"variant": variant.name, **variant.labels, **_scored(execution, variant)})
        frame = pd.DataFrame(rows)
        frame["score_change"] = frame["score"] - execution.plain_score
        frame = frame[[c for c in frame.columns if c != "error"] + ["error"]]
        frame.attrs["greater_is_better"] = execution.score.greater_is_better
        self._annotate(frame, execution, variants, result)
        return frame

    def _prepare(self, execution: SharedExecution, result) -> None:
        """What the variants need from the run (its DAG), before they are listed."""

    def _annotate(self, frame: pd.DataFrame, execution: SharedExecution, variants: List[Variant], result) -> None:
        """Columns of the analysis' own, added to the result frame (plain row first, then ``variants``)."""

    def summary_lines(self, frame: pd.DataFrame) -> List[str]:
        """The analysis, the plain score and the three variants that worsen it most (raise it, for a loss)."""
        lines = [f"What-if {self!r}: {len(frame) - 1} variants, plain score {frame['score'].iloc[0]:.4f}"]
        worst = frame.iloc[1:].dropna(subset=["score"]).sort_values(
            "score_change", ascending=frame.attrs.get("greater_is_better", True)).head(3)
        lines.extend(f"  {row.variant}: score {row.score:.4f} ({row.score_change:+.4f})" for row in worst.itertuples())
        failed = frame[frame["error"].notna()]
        if len(failed):
            lines.append(f"  {len(failed)} variants fail in the pipeline itself, e.g. {failed['variant'].iloc[0]}: "
                         f"{failed['error'].iloc[0]}")
        return lines


def _scored(execution: SharedExecution, variant: Variant) -> dict:
    try:
        return {"score": execution.run(variant), "error": None}
    except WhatIfError:
        raise
    except Exception as error:  # the pipeline's own failure on this variant is its result
        return {"score": float("nan"), "error": f"{type(error).__name__}: {str(error).splitlines()[0]}"}


Corruption = Union[str, Tuple[str, dict]]


#: ``DataCorruption({column: ALL})``: every corruption that applies to the column's values (``_applicable``).
ALL = "all"


def _corruptions(column: str, given) -> List[Tuple[str, dict]]:
    items = given if isinstance(given, list) else [given]
    result = []
    for item in items:
        name, params = (item, {}) if isinstance(item, str) else item
        if name not in CORRUPTIONS and name != ALL:
            raise WhatIfError(f"DataCorruption: unknown corruption {name!r} for column '{column}'; "
                              f"known: {', '.join(CORRUPTIONS)}, or {ALL!r}")
        result.append((name, dict(params)))
    return result


def _applicable(values: pd.Series) -> List[Tuple[str, dict]]:
    """Numbers: missing values, gaussian noise, scaling; other values: missing values, broken characters
    (text only) and category shift."""
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        names = ["missing_values", "gaussian_noise", "scaling"]
    else:
        text = pd.api.types.infer_dtype(values, skipna=True) == "string"
        names = ["missing_values", *(["broken_characters"] if text else []), "category_shift"]
    return [(name, {}) for name in names]


class DataCorruption(WhatIfAnalysis):
    """How the score changes when a fraction of a column's values is corrupted.

    Parameters
    ----------
    corruptions : dict
        ``{column: corruption}``; a corruption is a name (``"missing_values"``,
        ``"gaussian_noise"``, ``"scaling"``, ``"broken_characters"``, ``"category_shift"``),
        a ``(name, params)`` pair (``("swapped_columns", {"other": "income"})``,
        ``("gaussian_noise", {"scale": 2.0})``), or a list of them; ``"all"`` is every corruption
        that applies to the column's values (numbers: missing values, gaussian noise, scaling;
        others: missing values, broken characters for text, category shift).
    fractions : the fractions of rows corrupted, one variant each.
    also_train : corrupt the training frame too (each variant then refits the model);
        by default only the test frame is corrupted and the plain run's model is reused.
    seed : the rows and values chosen depend only on it and on the variant.
    """

    def __init__(self, corruptions: Dict[str, Union[Corruption, List[Corruption]]],
                 fractions: Sequence[float] = (0.1, 0.5, 0.9), also_train: bool = False, seed: int = 0):
        if not corruptions:
            raise WhatIfError("DataCorruption needs at least one {column: corruption}")
        self.corruptions = {column: _corruptions(column, given) for column, given in corruptions.items()}
        self.fractions = [float(f) for f in fractions]
        self.also_train = also_train
        self.seed = seed
        for column, items in self.corruptions.items():
            for name, params in items:
                for fraction in self.fractions:
                    if name != ALL:
                        make_patch(name, column, fraction, **params)  # errors now, not after the pipeline ran

    def variants(self, execution: SharedExecution) -> List[Variant]:
        columns = execution.test_columns()
        variants = []
        for column, items in self.corruptions.items():
            if column not in columns:
                raise WhatIfError(f"DataCorruption: column '{column}' is not in the frame the model is scored on "
                                  f"at {execution.score.location}; its columns are {', '.join(columns)}")
            items = [item for name, params in items
                     for item in (_applicable(execution.score.X[column]) if name == ALL else [(name, params)])]
            for name, params in items:
                for fraction in self.fractions:
                    def patch(side):
                        return make_patch(name, column, fraction,
                                          patch_seed(self.seed, side, column, name, fraction), **params)

                    variants.append(Variant(
                        f"{name}({column}, {fraction:g})",
                        {"column": column, "corruption": name, "fraction": fraction,
                         "corrupted": "train+test" if self.also_train else "test"},
                        train=[patch("train")] if self.also_train else [], test=[patch("test")]))
        return variants

    def __repr__(self) -> str:
        return f"DataCorruption({', '.join(self.corruptions)}, {len(self.fractions)} fractions" + (
            ", also_train" if self.also_train else "") + ")"


class PermutationFeatureImportance(WhatIfAnalysis):
    """How much the score drops when one input column's test values are shuffled, per column.

    The columns are those the model's featuriser reads (all columns of the frame scored,
    for a model without a ColumnTransformer), or ``columns``. Each row names the matrix
    columns the input column feeds (matrix column provenance) and the source columns it
    was computed from (column provenance). ``importance`` is plain score minus the score
    with the column permuted, per repeat.
    """

    def __init__(self, columns: Optional[Sequence[str]] = None, repeats: int = 1, seed: int = 0):
        from lester_inspect.inspections.provenance import ColumnProvenance, MatrixColumnProvenance

        self.columns = list(columns) if columns is not None else None
        self.repeats = repeats
        self.seed = seed
        self.required_inspections = (ColumnProvenance(), MatrixColumnProvenance())

    def variants(self, execution: SharedExecution) -> List[Variant]:
        available = execution.test_columns()
        columns = self.columns if self.columns is not None else execution.featuriser_columns()
        for column in columns:
            if column not in available:
                raise WhatIfError(f"PermutationFeatureImportance: column '{column}' is not in the frame the model is "
                                  f"scored on at {execution.score.location}; its columns are {', '.join(available)}")
        return [Variant(f"permuted({column})" + (f" #{repeat}" if self.repeats > 1 else ""),
                        {"column": column, "repeat": repeat},
                        test=[make_patch("permuted", column, 1.0, patch_seed(self.seed, column, repeat))])
                for column in columns for repeat in range(self.repeats)]

    def _annotate(self, frame, execution, variants, result) -> None:
        # How much permuting the column worsens the measurement: a lower score, or a higher loss.
        frame["importance"] = frame["score_change"] * (-1 if execution.score.greater_is_better else 1)
        matrix, sources = _provenance_at_score(result, execution.score.location)
        frame["matrix_columns"] = [matrix.get(column) for column in frame["column"]]
        frame["sources"] = [sources.get(column) for column in frame["column"]]

    def summary_lines(self, frame: pd.DataFrame) -> List[str]:
        means = frame.iloc[1:].groupby("column")["importance"].mean().sort_values(ascending=False)
        lines = [f"What-if {self!r}: plain score {frame['score'].iloc[0]:.4f}; importance by input column:"]
        lines.extend(f"  {column}: {importance:+.4f}" for column, importance in means.head(5).items())
        return lines

    def __repr__(self) -> str:
        return f"PermutationFeatureImportance({'all columns' if self.columns is None else ', '.join(self.columns)})"


def _provenance_at_score(result, location) -> Tuple[dict, dict]:
    """{test column: matrix column ranges} and {test column: 'source.column, ...'} from the run's inspections,
    for the model's call on the test frame at ``location`` (its score or predict)."""
    import networkx

    from lester_inspect.inspections.provenance import ColumnProvenance, MatrixColumnProvenance
    from lester_inspect.instrumentation.dag import OperatorType

    if result is None:
        return {}, {}
    nodes = result.nodes
    scores = [node for node in nodes if node.operator_type in (OperatorType.SCORE, OperatorType.PREDICT)
              and node.code_location == location]
    if len(scores) != 1:
        return {}, {}
    tests = [node for node in networkx.ancestors(result.dag, scores[0]) if node.operator_type is OperatorType.TEST_DATA]
    if len(tests) != 1:
        return {}, {}
    matrix, sources = {}, {}
    for node in [*result.parents(scores[0]), tests[0]]:
        for inspection, value in result.dag_node_to_inspection_results.get(node, {}).items():
            if isinstance(inspection, MatrixColumnProvenance) and value and node is not tests[0]:
                matrix = {column: ", ".join(f"{a}:{b}" for a, b in ranges) for column, ranges in value.items()}
            if isinstance(inspection, ColumnProvenance) and value and node is tests[0]:
                sources = {column: ", ".join(sorted(f"{s}.{c}" for s, c in prov)) if isinstance(prov, frozenset)
                           else "unknown" for column, prov in value.items()}
    return matrix, sources


def cover_hart_lower_bound(nn_error: float, classes: int) -> float:
    """The lower bound on the Bayes error implied by a 1-NN error (Cover & Hart 1967).

    ``R_NN <= R* (2 - L/(L-1) R*)`` for ``L`` classes, solved for ``R*``:
    ``R* >= (L-1)/L (1 - sqrt(1 - L/(L-1) R_NN))``.
    """
    if classes < 2:
        return 0.0
    ratio = classes / (classes - 1)
    return (1 / ratio) * (1 - np.sqrt(max(0.0, 1 - ratio * nn_error)))


class FeasibilityStudy(WhatIfAnalysis):
    """Is ``target_accuracy`` realistic for this task? (Ease.ML's feasibility study.)

    For the model's feature matrix and for alternative encodings of the columns it reads
    (the raw numeric columns, standardised; every column, numeric standardised and the
    others one-hot encoded), it measures the 1-nearest-neighbour error of the test rows
    against the training rows and turns it into a lower bound on the Bayes error with
    the Cover–Hart inequality. The lowest bound over the encodings is the estimate: no
    model can be expected above ``1 - bound`` with this data. At most ``max_train`` /
    ``max_test`` rows (a seeded sample) are used; the bound is an estimate from a sample,
    not a guarantee.
    """

    def __init__(self, target_accuracy: float, max_train: int = 20_000, max_test: int = 5_000, seed: int = 0):
        if not 0.0 < target_accuracy <= 1.0:
            raise WhatIfError(f"FeasibilityStudy: target_accuracy must be in (0, 1], got {target_accuracy}")
        self.target_accuracy = target_accuracy
        self.max_train, self.max_test, self.seed = max_train, max_test, seed

    def evaluate(self, execution: SharedExecution, result=None) -> pd.DataFrame:
        from sklearn.neighbors import KNeighborsClassifier

        y_train, y_test = np.asarray(execution.fit.y), np.asarray(execution.score.y)
        if y_train.ndim != 1 or (y_train.dtype.kind == "f" and not np.all(np.mod(y_train, 1) == 0)):
            raise WhatIfError("FeasibilityStudy needs class labels (one column of discrete values); the model at "
                              f"{execution.fit.location} is fitted on {y_train.dtype} values")
        rng = np.random.default_rng(self.seed)
        train_rows = np.sort(rng.permutation(len(y_train))[:self.max_train])
        test_rows = np.sort(rng.permutation(len(y_test))[:self.max_test])
        classes = len(np.unique(np.concatenate([y_train, y_test])))
        rows = []
        for name, (train, test) in _encodings(execution, train_rows, test_rows).items():
            neighbour = KNeighborsClassifier(n_neighbors=1).fit(train, y_train[train_rows])
            error = float(np.mean(neighbour.predict(test) != y_test[test_rows]))
            bound = float(cover_hart_lower_bound(error, classes))
            rows.append({"variant": name, "features": train.shape[1], "nn_error": error,
                         "bayes_error_lower_bound": bound, "max_accuracy": 1 - bound})
        frame = pd.DataFrame(rows)
        frame["target_accuracy"] = self.target_accuracy
        frame["target_realistic"] = frame["max_accuracy"] >= self.target_accuracy
        frame.attrs.update(train_rows=len(train_rows), test_rows=len(test_rows), classes=classes,
                           plain_score=execution.plain_score)
        return frame

    def summary_lines(self, frame: pd.DataFrame) -> List[str]:
        best = frame.loc[frame["bayes_error_lower_bound"].idxmin()]
        verdict = "realistic" if best["max_accuracy"] >= self.target_accuracy else "NOT realistic"
        return [f"What-if {self!r}: target accuracy {self.target_accuracy:.4f} is {verdict}: the Bayes error is at "
                f"least {best['bayes_error_lower_bound']:.4f} (best encoding: {best['variant']}, 1-NN error "
                f"{best['nn_error']:.4f}), so accuracy above {best['max_accuracy']:.4f} is not expected; the "
                f"pipeline scores {frame.attrs['plain_score']:.4f} (from {frame.attrs['train_rows']} train / "
                f"{frame.attrs['test_rows']} test rows)"]

    def __repr__(self) -> str:
        return f"FeasibilityStudy({self.target_accuracy})"


def _encodings(execution: SharedExecution, train_rows, test_rows) -> Dict[str, tuple]:
    """Encoding name -> (train matrix, test matrix) on the sampled rows."""
    from sklearn.compose import ColumnTransformer
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    train_frame, test_frame = execution.fit.X, execution.score.X
    steps = execution.featurising_steps()
    sampled = {
        "pipeline features": (execution.featurise(steps, _take(train_frame, train_rows)),
                              execution.featurise(steps, _take(test_frame, test_rows)))}
    if isinstance(train_frame, pd.DataFrame):
        columns = [c for c in execution.featuriser_columns() if c in train_frame.columns]
        numeric = [c for c in columns if pd.api.types.is_numeric_dtype(train_frame[c])
                   and not pd.api.types.is_bool_dtype(train_frame[c])]
        others = [c for c in columns if c not in numeric]
        train, test = train_frame.iloc[train_rows], test_frame.iloc[test_rows]
        for name, parts in (("raw numeric columns", [("numeric", StandardScaler(), numeric)]),
                            ("all columns, one-hot", [("numeric", StandardScaler(), numeric),
                                                      ("other", OneHotEncoder(handle_unknown="ignore"), others)])):
            parts = [part for part in parts if part[2]]
            if not parts:
                continue
            encoder = ColumnTransformer(parts, sparse_threshold=0.0)
            filled_train, filled_test = _filled(train, numeric), _filled(test, numeric)
            sampled[name] = (encoder.fit_transform(filled_train), encoder.transform(filled_test))
    return sampled


def _take(data, rows):
    return data.iloc[rows] if isinstance(data, (pd.DataFrame, pd.Series)) else data[rows]


def _filled(frame: pd.DataFrame, numeric: List[str]) -> pd.DataFrame:
    """Missing numbers as 0 and missing text as a category of its own: nearest neighbours need complete rows."""
    frame = frame.copy()
    for column in frame.columns:
        values = frame[column]
        frame[column] = values.fillna(0) if column in numeric else values.astype(object).fillna("(missing)").astype(str)
    return frame


def _constant_imputer(imputer):
    """A SimpleImputer filling a constant (sklearn's default: 0 for numbers, ``"missing_value"`` otherwise):
    the imputation without a statistic learned from the data; None if the imputer already does that."""
    from sklearn.impute import SimpleImputer

    if imputer.strategy == "constant":
        return None
    return SimpleImputer(strategy="constant", missing_values=imputer.missing_values,
                         add_indicator=imputer.add_indicator, keep_empty_features=imputer.keep_empty_features)


def _ordinal_codes(encoder):
    """An OrdinalEncoder of the same categories: one column of codes per input column instead of one per
    category (an unknown category is -1 where the one-hot encoder ignored it, a missing value -2)."""
    from sklearn.preprocessing import OrdinalEncoder

    lenient = encoder.handle_unknown != "error"
    return OrdinalEncoder(categories=encoder.categories, dtype=encoder.dtype,
                          handle_unknown="use_encoded_value" if lenient else "error",
                          unknown_value=-1 if lenient else None, encoded_missing_value=-2,
                          min_frequency=encoder.min_frequency, max_categories=encoder.max_categories)


#: sklearn transformers with a neutral replacement, by class name: (what OperatorImpact puts in its
#: place, or None where there is none, and how the result frame names it). Scalers, normalisers and
#: discretisers let the columns pass through unchanged; an imputer becomes a constant fill; a one-hot
#: encoder becomes ordinal codes.
NEUTRAL_REPLACEMENTS = {
    **{name: (lambda step: "passthrough", "passthrough")
       for name in ("StandardScaler", "MinMaxScaler", "MaxAbsScaler", "RobustScaler", "Normalizer",
                    "KBinsDiscretizer", "PowerTransformer", "QuantileTransformer")},
    "SimpleImputer": (_constant_imputer, "constant fill"),
    "OneHotEncoder": (_ordinal_codes, "ordinal codes"),
}


def neutral_replacement(step):
    """(replacement, its name) for an sklearn transformer with a neutral replacement, else None."""
    entry = NEUTRAL_REPLACEMENTS.get(type(step).__name__)
    if entry is None or not type(step).__module__.startswith("sklearn."):
        return None
    replacement = entry[0](step)
    return None if replacement is None else (replacement, entry[1])


class _GroupShares:
    """Per variant, the share of each group's rows in the training frame (the fairness of preprocessing)."""

    def __init__(self, groups: Sequence[str]):
        self.groups = list(groups)

    def check(self, frame: pd.DataFrame, where) -> None:
        for group in self.groups:
            if not isinstance(frame, pd.DataFrame) or group not in frame.columns:
                columns = ", ".join(map(str, getattr(frame, "columns", [])))
                raise WhatIfError(f"group column '{group}' is not in the frame the model is fitted on at {where}; "
                                  f"its columns are {columns}")

    def add(self, frame: pd.DataFrame, execution: SharedExecution, variants: List[Variant]) -> None:
        frames = [execution.fit.X, *(execution.train_frame(v) if not isinstance(e, str) else None
                                     for v, e in zip(variants, frame["error"].iloc[1:]))]
        frame["train_rows"] = [len(f) if f is not None else np.nan for f in frames]
        for group in self.groups:
            shares = [f[group].value_counts(normalize=True, dropna=False) if f is not None else pd.Series(dtype=float)
                      for f in frames]
            for value in shares[0].index:
                frame[f"{group}={value} share"] = [float(s.get(value, 0.0)) if f is not None else np.nan
                                                   for s, f in zip(shares, frames)]


class OperatorImpact(WhatIfAnalysis):
    """What each preprocessing operator does to the score and to the groups' shares of the training data.

    Variants: each filter (a ``Selection`` upstream of the model's fit in the pipeline file)
    dropped, and each sklearn transformer of the model with a neutral replacement
    (``NEUTRAL_REPLACEMENTS``) replaced by it:

    * scalers, normalisers, power/quantile transformers and ``KBinsDiscretizer``: ``'passthrough'``
      (the columns as they are);
    * ``SimpleImputer``: ``SimpleImputer(strategy="constant")`` — 0 for numbers, ``"missing_value"``
      for other values, nothing learned from the data (same ``missing_values`` and indicator);
      an imputer that already fills a constant has no variant;
    * ``OneHotEncoder``: an ``OrdinalEncoder`` of the same categories (one column of codes per
      input column; an unknown category -1 where the one-hot encoder ignored it, a missing
      value -2).

    Other transformers (a TF-IDF vectoriser, a user's own) have no well-defined neutral
    replacement and no variant. A dropped filter changes the script
    before the model's fit: its variant re-executes only the run's recorded calls the filter
    reaches (rule 8) or, where that would not be exact, re-runs the modified script from its
    first changed statement (rule 7); its ``execution`` column says which. A replaced
    transformer refits the model on the captured training frame. ``groups`` are columns of
    the training frame whose values' shares are reported per variant (with ``train_rows``).
    """

    def __init__(self, groups: Sequence[str] = ()):
        self.groups = _GroupShares(groups)
        self._filters: List = []

    def variants(self, execution: SharedExecution) -> List[Variant]:
        variants = [Variant(f"without filter at {node.code_location}: {node.source_code.splitlines()[0]}",
                            {"operator": f"{node.operator_type.value} {node.node_id}", "change": "filter dropped",
                             "execution": "re-run (rule 8 or 7)"},
                            removed_filters=[node.code_location]) for node in self._filters]
        for name, step in execution.model.get_params(deep=True).items():
            replaced = neutral_replacement(step)
            if replaced is not None:
                replacement, called = replaced
                variants.append(Variant(f"{called} instead of {type(step).__name__} ({name})",
                                        {"operator": name, "change": f"{type(step).__name__} -> {called}",
                                         "execution": "refit on the captured training frame"},
                                        model_params={name: replacement}))
        return variants

    def _prepare(self, execution, result) -> None:
        import networkx

        from lester_inspect.instrumentation.dag import OperatorType

        self.groups.check(execution.fit.X, execution.fit.location)
        fits = [node for node in result.nodes if node.operator_type is OperatorType.ESTIMATOR] if result else []
        upstream = networkx.ancestors(result.dag, fits[0]) if len(fits) == 1 else set()
        self._filters = sorted((node for node in upstream if node.operator_type is OperatorType.SELECTION
                                and node.code_location is not None and node.code_location.file is None),
                               key=lambda node: node.node_id)

    def _annotate(self, frame, execution, variants, result) -> None:
        self.groups.add(frame, execution, variants)
        frame["execution"] = [None] + [execution.how_rerun(v) if v.removed_filters else v.labels["execution"]
                                       for v in variants]

    def summary_lines(self, frame: pd.DataFrame) -> List[str]:
        """The base lines, then per group the largest change of a group's share of the training rows."""
        lines = super().summary_lines(frame)
        for group in self.groups.groups:
            columns = [c for c in frame.columns if c.startswith(f"{group}=") and c.endswith(" share")]
            changes = (frame[columns].iloc[1:] - frame[columns].iloc[0]).abs().stack().dropna()
            if changes.empty:  # no variant ran
                continue
            row, column = changes.idxmax()
            lines.append(f"  largest change of a {group} share: {column.removesuffix(' share')} "
                         f"{frame.at[0, column]:.3f} -> {frame.at[row, column]:.3f} ({frame.at[row, 'variant']})")
        return lines

    def __repr__(self) -> str:
        return "OperatorImpact(" + (f"groups: {', '.join(self.groups.groups)}" if self.groups.groups else "") + ")"



class DataCleaning(WhatIfAnalysis):
    """How the score changes when the training data is cleaned one way or another.

    ``cleanings`` maps a column of the frame the model is fitted on to a method (or a list):
    ``"drop_missing"`` (training rows missing the value go), ``"impute_mean"`` /
    ``"impute_median"`` / ``"impute_mode"`` (missing values, in the training and the test
    frame, get the training frame's statistic), ``"drop_outliers"`` (training rows outside
    the Tukey fences ``[q1 - 1.5 iqr, q3 + 1.5 iqr]`` of the training column go). Methods
    about whole rows are keyed ``"*"``: ``"drop_duplicates"`` (training rows repeating an
    earlier row go) and ``"drop_mislabels"`` (training rows the ``NoLabelErrors`` screening
    check's confident learning flags — out-of-fold probabilities of clones of the model on
    its own feature matrix — go). Each variant refits the model on the cleaned frame; the
    rows dropped and values filled are in its row.
    """

    COLUMN_METHODS = ("drop_missing", "impute_mean", "impute_median", "impute_mode", "drop_outliers")
    ROW_METHODS = ("drop_duplicates", "drop_mislabels")

    def __init__(self, cleanings: Dict[str, Union[str, List[str]]]):
        if not cleanings:
            raise WhatIfError("DataCleaning needs at least one {column: method}")
        self.cleanings = {column: methods if isinstance(methods, list) else [methods]
                          for column, methods in cleanings.items()}
        for column, methods in self.cleanings.items():
            allowed = self.ROW_METHODS if column == "*" else self.COLUMN_METHODS
            for method in methods:
                if method not in allowed:
                    raise WhatIfError(f"DataCleaning: {method!r} is not a method for "
                                      f"{'whole rows' if column == '*' else 'column ' + repr(column)}; "
                                      f"known: {', '.join(allowed)}"
                                      + ("" if column == "*" or method not in self.ROW_METHODS
                                         else f" ({method} is keyed '*')"))

    def variants(self, execution: SharedExecution) -> List[Variant]:
        train = execution.fit.X
        if not isinstance(train, pd.DataFrame):
            raise WhatIfError(f"DataCleaning needs the model to be fitted on a DataFrame at {execution.fit.location}, "
                              f"got {type(train).__name__}")
        variants = []
        for column, methods in self.cleanings.items():
            if column != "*" and column not in train.columns:
                raise WhatIfError(f"DataCleaning: column '{column}' is not in the frame the model is fitted on at "
                                  f"{execution.fit.location}; its columns are {', '.join(map(str, train.columns))}")
            for method in methods:
                train_patches, test_patches = _cleaning(method, column, train, execution)
                variants.append(Variant(f"{method}({column})", {"column": column, "method": method},
                                        train=train_patches, test=test_patches))
        return variants

    def _annotate(self, frame, execution, variants, result) -> None:
        train = execution.fit.X
        dropped, filled = [0], [0]
        for variant in variants:
            dropped.append(len(train) - len(execution.train_frame(variant)))
            filled.append(sum(int(train[p["column"]].isna().sum()) for p in variant.train if p["change"] == "fill"))
        frame["train_rows_dropped"], frame["train_values_filled"] = dropped, filled

    def __repr__(self) -> str:
        return "DataCleaning(" + ", ".join(f"{c}: {'/'.join(m)}" for c, m in self.cleanings.items()) + ")"


def _cleaning(method: str, column: str, train: pd.DataFrame, execution: SharedExecution) -> Tuple[list, list]:
    """The train-side and test-side patches of one cleaning; statistics come from the training frame."""
    if method == "drop_missing":
        return [make_patch("drop_missing", column)], []
    if method == "drop_duplicates":
        return [make_patch("drop_duplicates", "*")], []
    if method == "drop_mislabels":
        if "mislabelled" not in execution.memo:  # five cross-validated fits: once per run
            execution.memo["mislabelled"] = [int(p) for p in _mislabelled(execution)]
        return [make_patch("drop_positions", "*", positions=execution.memo["mislabelled"])], []
    values = train[column]
    numeric = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
    if method in ("impute_mean", "impute_median", "drop_outliers") and not numeric:
        raise WhatIfError(f"DataCleaning: {method} needs a numeric column; '{column}' has dtype {values.dtype}")
    if method == "drop_outliers":
        low, high = values.quantile(0.25), values.quantile(0.75)
        spread = 1.5 * (high - low)
        return [make_patch("drop_outside", column, low=float(low - spread), high=float(high + spread))], []
    if values.dropna().empty:
        raise WhatIfError(f"DataCleaning: {method} on '{column}': the training frame has no value to impute from")
    statistic = {"impute_mean": values.mean, "impute_median": values.median,
                 "impute_mode": lambda: values.mode().iloc[0]}[method]()
    statistic = statistic.item() if hasattr(statistic, "item") else statistic
    patch = make_patch("fill", column, value=statistic)
    test_columns = execution.test_columns()
    return [patch], [patch] if column in test_columns else []


def _mislabelled(execution: SharedExecution) -> np.ndarray:
    """Training rows ``NoLabelErrors`` would flag, on the model's own feature matrix (all rows)."""
    import types

    import scipy.sparse as sp

    from lester_inspect.checks.screening_models import _probabilities, label_issues

    X = execution.featurise(execution.featurising_steps(), execution.fit.X)
    X = X.toarray() if sp.issparse(X) else np.asarray(X, dtype=float)
    y = np.asarray(execution.fit.y)
    probabilities, _ = _probabilities(types.SimpleNamespace(model=execution.final_estimator), np.nan_to_num(X), y)
    return label_issues(y, probabilities, np.unique(y))
