"""The differential check: do two runs hand their final model the same training data?

The comparison rule (also in the package docstring):

* **Model**: same class, and ``get_params(deep=False)`` equal value by value
  (compared by ``repr``).
* **Shape**: same number of rows and of feature columns.
* **Labels**: same labels as a multiset; after row alignment, row by row.
  Numeric and boolean labels compare as numbers (``True == 1``), others as strings.
* **Values**: ``|candidate - original| <= atol + rtol * |original|`` with
  ``rtol=1e-5, atol=1e-8`` (numpy's ``isclose`` defaults); NaN equals NaN.
  Sparse matrices and DataFrames are compared as dense float64 arrays.
* **Row order** does not matter: rows are compared as a multiset. Both
  matrices are sorted into a canonical row order (label, then the *anchor*
  columns, then the sorted remaining values of the row, all rounded to six
  decimals relative to the column's largest magnitude) and compared row by row.
* **Column order** does not matter either (``allow_column_permutation``): any
  bijection between the columns is accepted, because encoders legitimately
  reorder them (the order of a ``ColumnTransformer``'s transformers, one-hot
  categories sorted alphabetically). Column *j* of the candidate may stand for
  column *i* of the original if their sorted values agree; a pair that only
  matches each other is an anchor. After row alignment every candidate column
  must equal, in every row, a distinct original column it may stand for.

Limits: rows that agree in label and anchor columns and contain the same
values in different positions of ambiguous columns can be paired wrongly,
which rejects a correct rewrite (never accepts a wrong one, since everything
is checked row by row in the end).
"""
from __future__ import annotations

import collections
import dataclasses
from typing import List, Mapping, Optional, Sequence, Tuple

import numpy as np

_KEY_DECIMALS = 6
_EXAMPLES = 3
_MAX_SHOWN_VALUES = 8


@dataclasses.dataclass(frozen=True)
class Tolerance:
    """Values agree if ``|candidate - original| <= atol + rtol * |original|``."""

    rtol: float = 1e-5
    atol: float = 1e-8

    def close(self, candidate: np.ndarray, original: np.ndarray) -> np.ndarray:
        return np.isclose(candidate, original, rtol=self.rtol, atol=self.atol, equal_nan=True)

    def __str__(self) -> str:
        return f"rtol={self.rtol:g}, atol={self.atol:g}"


@dataclasses.dataclass(frozen=True)
class FitInputs:
    """What a run handed to its final model's ``fit``."""

    X: np.ndarray
    y: Optional[np.ndarray]
    model: str
    params: Mapping[str, str]
    feature_names: Tuple[str, ...] = ()

    def column_name(self, index: int) -> str:
        if len(self.feature_names) == self.X.shape[1]:
            return f"{index} ({self.feature_names[index]})"
        return str(index)


@dataclasses.dataclass(frozen=True)
class Comparison:
    """The verdict, a one-line summary, and the differences found (the evidence for a repair)."""

    equal: bool
    summary: str
    differences: Tuple[str, ...] = ()
    column_map: Optional[Tuple[int, ...]] = None

    def evidence(self) -> str:
        return "\n".join(f"- {difference}" for difference in self.differences)


def compare_fit_inputs(original: FitInputs, candidate: FitInputs, tolerance: Tolerance = Tolerance(),
                       allow_column_permutation: bool = True) -> Comparison:
    """Compare two runs' model inputs by the rule of the module docstring.

    Examples
    --------
    >>> import numpy as np
    >>> from lester_inspect.rewrite.compare import FitInputs, compare_fit_inputs
    >>> X = np.array([[1.0, 0.0, 0.5], [0.0, 1.0, -0.5], [1.0, 0.0, 2.0]])
    >>> original = FitInputs(X, np.array([1, 0, 1]), "Model", {"epochs": "10"})
    >>> rewrite = FitInputs(X[[2, 0, 1]][:, [2, 0, 1]], np.array([1, 1, 0]), "Model", {"epochs": "10"})
    >>> compare_fit_inputs(original, rewrite).summary
    '3 rows x 3 features agree (rows reordered, columns permuted)'
    >>> fewer = compare_fit_inputs(original, FitInputs(X[:2], np.array([1, 0]), "Model", {"epochs": "10"}))
    >>> fewer.summary
    '2 rows instead of 3'
    >>> fewer.differences[-1]
    'rows of the original without an equal row in the rewrite: 1, e.g. row 2: label 1, non-zero features [0]=1, [2]=2'
    """
    differences: List[str] = []
    if original.model != candidate.model or dict(original.params) != dict(candidate.params):
        differences.append(_model_difference(original, candidate))
    Xo, Xc = original.X, candidate.X
    yo, yc = _labels(original.y, len(Xo)), _labels(candidate.y, len(Xc))
    if len(Xo) != len(Xc):
        differences += _row_count_difference(original, candidate, yo, yc)
        return _unequal(differences, f"{len(Xc)} rows instead of {len(Xo)}")
    if Xo.shape[1] != Xc.shape[1]:
        differences.append(f"feature columns: the original passes {Xo.shape[1]}, the rewrite {Xc.shape[1]}."
                           + _names_hint(candidate))
        return _unequal(differences, f"{Xc.shape[1]} feature columns instead of {Xo.shape[1]}")
    if not _same_labels(np.sort(yo), np.sort(yc)):
        differences.append(f"labels: the original has {_counts(yo)}, the rewrite {_counts(yc)}.")
        return _unequal(differences, "different labels")
    if _same_labels(yo, yc) and tolerance.close(Xc, Xo).all():
        return _verdict(differences, f"{len(Xo)} rows x {Xo.shape[1]} features agree, in the same order",
                        tuple(range(Xo.shape[1])))
    return _compare_reordered(original, candidate, yo, yc, tolerance, allow_column_permutation, differences)


def _unequal(differences: List[str], summary: str) -> Comparison:
    return Comparison(False, summary, tuple(differences))


def _verdict(differences: List[str], summary: str, column_map: Tuple[int, ...]) -> Comparison:
    if differences:
        return Comparison(False, "different model", tuple(differences), column_map)
    return Comparison(True, summary, (), column_map)


def _labels(y: Optional[np.ndarray], rows: int) -> np.ndarray:
    if y is None:
        return np.zeros(rows)
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1:
        return np.array([repr(tuple(row)) for row in y.tolist()])
    if y.dtype.kind in "biuf":
        return y.astype(np.float64)
    return y.astype(str)


def _is_nan(y: np.ndarray) -> np.ndarray:
    return np.isnan(y) if y.dtype.kind == "f" else np.zeros(len(y), dtype=bool)


def _same_labels(a: np.ndarray, b: np.ndarray) -> bool:
    if a.dtype.kind == "f" and b.dtype.kind == "f":
        return np.array_equal(a, b, equal_nan=True)
    return np.array_equal(a, b)


def _counts(y: np.ndarray) -> str:
    values, counts = np.unique(y, return_counts=True)
    shown = ", ".join(f"{_format_label(v)} x {c}" for v, c in zip(values[:6], counts[:6]))
    return shown + (f" and {len(values) - 6} more label values" if len(values) > 6 else "")


def _format_label(value) -> str:
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    return repr(str(value)) if isinstance(value, (str, np.str_)) else str(value)


def _model_difference(original: FitInputs, candidate: FitInputs) -> str:
    if original.model != candidate.model:
        return f"model: the original trains {original.model}, the rewrite {candidate.model}; keep the model unchanged."
    changed = sorted(set(original.params) | set(candidate.params))
    changed = [k for k in changed if original.params.get(k) != candidate.params.get(k)]
    shown = ", ".join(f"{k}={original.params.get(k, '<unset>')} vs {candidate.params.get(k, '<unset>')}"
                      for k in changed)
    return f"model parameters of {original.model} differ (original vs rewrite): {shown}; keep the model unchanged."


def _names_hint(candidate: FitInputs) -> str:
    if len(candidate.feature_names) != candidate.X.shape[1] or not candidate.feature_names:
        return ""
    groups = collections.Counter(name.split("__", 1)[0] for name in candidate.feature_names
                                 if "__" in name)
    if not groups:
        return ""
    return " The rewrite's columns come from: " + ", ".join(f"{g} ({n})" for g, n in groups.items()) + "."


def _row_count_difference(original: FitInputs, candidate: FitInputs, yo, yc) -> List[str]:
    more = len(candidate.X) - len(original.X)
    lines = [f"rows: the original passes {len(original.X)} rows to {original.model}.fit, the rewrite "
             f"{len(candidate.X)} ({abs(more)} {'more' if more > 0 else 'fewer'}). Check the filters, the join "
             f"(keys and kind: inner/left) and the train/test split.",
             f"labels: the original has {_counts(yo)}, the rewrite {_counts(yc)}."]
    if original.X.shape[1] == candidate.X.shape[1]:
        extra = _unmatched_rows(candidate, yc, original, yo)
        missing = _unmatched_rows(original, yo, candidate, yc)
        if extra:
            lines.append(f"rows of the rewrite without an equal row in the original: {extra[0]}, e.g. "
                         + "; ".join(extra[1]))
        if missing:
            lines.append(f"rows of the original without an equal row in the rewrite: {missing[0]}, e.g. "
                         + "; ".join(missing[1]))
    else:
        lines.append(f"feature columns: the original passes {original.X.shape[1]}, the rewrite "
                     f"{candidate.X.shape[1]}." + _names_hint(candidate))
    return lines


def _row_signatures(X: np.ndarray, y: np.ndarray) -> List[bytes]:
    """Row identities that ignore column order: the label and the sorted, rounded row values."""
    values = np.round(np.sort(X, axis=1), _KEY_DECIMALS)
    return [repr(label).encode() + row.tobytes() for label, row in zip(y.tolist(), values)]


def _unmatched_rows(inputs: FitInputs, y, other: FitInputs, other_y) -> Optional[Tuple[int, List[str]]]:
    remaining = collections.Counter(_row_signatures(other.X, other_y))
    unmatched = []
    for index, signature in enumerate(_row_signatures(inputs.X, y)):
        if remaining[signature] > 0:
            remaining[signature] -= 1
        else:
            unmatched.append(index)
    if not unmatched:
        return None
    return len(unmatched), [_format_row(inputs, y, index) for index in unmatched[:_EXAMPLES]]


def _format_row(inputs: FitInputs, y: np.ndarray, index: int) -> str:
    row = inputs.X[index]
    columns = np.flatnonzero(row != 0)
    shown = ", ".join(f"[{inputs.column_name(j)}]={row[j]:.6g}" for j in columns[:_MAX_SHOWN_VALUES])
    more = f", ... ({len(columns) - _MAX_SHOWN_VALUES} more)" if len(columns) > _MAX_SHOWN_VALUES else ""
    return f"row {index}: label {_format_label(y[index])}, non-zero features {shown}{more}"


# -- rows and columns in any order ----------------------------------------------------------------------

def _compatible_columns(Xo: np.ndarray, Xc: np.ndarray, tolerance: Tolerance, permute: bool) -> List[List[int]]:
    """For each candidate column, the original columns with the same sorted values."""
    sorted_o, sorted_c = np.sort(Xo, axis=0), np.sort(Xc, axis=0)
    sums_o, sums_c = np.nansum(sorted_o, axis=0), np.nansum(sorted_c, axis=0)
    # Columns that agree elementwise have sums this close; a cheap filter before the full test.
    bound = tolerance.atol * len(Xo) + tolerance.rtol * np.nansum(np.abs(sorted_o), axis=0)
    bound = bound * (1 + 1e-9) + 1e-12
    compatible = []
    for j in range(Xc.shape[1]):
        if permute:
            candidates = np.flatnonzero(np.abs(sums_c[j] - sums_o) <= bound)
        else:
            candidates = [j]
        compatible.append([int(i) for i in candidates if tolerance.close(sorted_c[:, j], sorted_o[:, i]).all()])
    return compatible


def _row_keys(X: np.ndarray, label_codes: np.ndarray, anchors: Sequence[int], scales: np.ndarray) -> np.ndarray:
    """The canonical row order: by the anchor columns, the sorted other values, then the label."""
    others = np.setdiff1d(np.arange(X.shape[1]), anchors)
    anchor_values = np.round(X[:, anchors] / scales, _KEY_DECIMALS)
    other_values = np.empty((len(X), 0))
    if len(others):
        scale = np.nanmax(np.abs(X[:, others])) if len(X) else 1.0
        other_values = np.round(np.sort(X[:, others], axis=1) / (scale or 1.0), _KEY_DECIMALS)
    # Labels last: a wrong label then shows as such instead of misaligning every row after it.
    keys = [*anchor_values.T, *other_values.T, label_codes]
    return np.lexsort(keys[::-1])


def _compare_reordered(original: FitInputs, candidate: FitInputs, yo, yc, tolerance: Tolerance, permute: bool,
                       differences: List[str]) -> Comparison:
    Xo, Xc = original.X, candidate.X
    compatible = _compatible_columns(Xo, Xc, tolerance, permute)
    stands_for = collections.defaultdict(list)
    for j, originals in enumerate(compatible):
        for i in originals:
            stands_for[i].append(j)
    anchors = [(compatible[j][0], j) for j in range(Xc.shape[1])
               if len(compatible[j]) == 1 and stands_for[compatible[j][0]] == [j]]
    anchors.sort()
    scales = np.array([np.nanmax(np.abs(Xo[:, i])) or 1.0 for i, _ in anchors]) if anchors else np.ones(0)
    _, codes = np.unique(np.concatenate([yo, yc]), return_inverse=True)
    order_o = _row_keys(Xo, codes[:len(yo)], [i for i, _ in anchors], scales)
    order_c = _row_keys(Xc, codes[len(yo):], [j for _, j in anchors], scales)
    aligned = _Aligned(Xo[order_o], Xc[order_c], yo[order_o], yc[order_c], order_o, order_c)

    column_map: List[Optional[int]] = [None] * Xc.shape[1]
    used = set()
    for j in range(Xc.shape[1]):
        for i in compatible[j]:
            if i not in used and tolerance.close(aligned.Xc[:, j], aligned.Xo[:, i]).all():
                column_map[j] = i
                used.add(i)
                break
    labels_agree = _same_labels(aligned.yo, aligned.yc)
    if labels_agree and all(i is not None for i in column_map):
        reordered = "rows reordered" if not np.array_equal(order_o, order_c) else "same row order"
        permuted = "columns permuted" if column_map != list(range(len(column_map))) else "same column order"
        return _verdict(differences, f"{len(Xo)} rows x {Xo.shape[1]} features agree ({reordered}, {permuted})",
                        tuple(column_map))
    differences += _value_differences(original, candidate, compatible, column_map, aligned, tolerance, permute)
    return _unequal(differences, "different feature values" if None in column_map else "different labels")


@dataclasses.dataclass(frozen=True)
class _Aligned:
    """Both runs' rows in canonical order, and where each sorted row came from."""

    Xo: np.ndarray
    Xc: np.ndarray
    yo: np.ndarray
    yc: np.ndarray
    order_o: np.ndarray
    order_c: np.ndarray


_MAX_PAIRED_COLUMNS = 20


def _value_differences(original: FitInputs, candidate: FitInputs, compatible, column_map, aligned: _Aligned,
                       tolerance: Tolerance, permute: bool) -> List[str]:
    lines = []
    n_rows, n_columns = aligned.Xo.shape
    unmatched = [j for j, i in enumerate(column_map) if i is None]
    # Pair each unmatched rewrite column with the free original column it is closest to.
    pairs = {j: i for j, i in enumerate(column_map) if i is not None}
    free = [i for i in range(n_columns) if i not in pairs.values()]
    for j in unmatched[:_MAX_PAIRED_COLUMNS]:
        options = free if permute else [j]
        if not options:
            break
        mismatches, i = min((int(np.sum(~tolerance.close(aligned.Xc[:, j], aligned.Xo[:, i]))), i) for i in options)
        pairs[j] = i
        if permute:
            free.remove(i)
        line = (f"rewrite column {candidate.column_name(j)} ({_describe_column(aligned.Xc[:, j])}) differs from "
                f"original column {original.column_name(i)} ({_describe_column(aligned.Xo[:, i])}) in "
                f"{mismatches} of {n_rows} rows")
        if not compatible[j] and permute:
            line += "; no original column has its values"
        elif not compatible[j]:
            line += "; the columns must keep the original order"
        lines.append(line + ".")
    if unmatched:
        lines.insert(0, f"feature columns of the rewrite that equal no column of the original (rows compared in "
                        f"canonical order{', columns in any order' if permute else ''}): {len(unmatched)} of "
                        f"{n_columns}, namely {_column_list(candidate, unmatched)}.")
        del lines[1 + _EXAMPLES:]
    label_differs = (aligned.yo != aligned.yc) & ~(_is_nan(aligned.yo) & _is_nan(aligned.yc))
    if label_differs.any():
        lines.append(f"labels: rows whose label differs from that of the equal row of the original: "
                     f"{int(label_differs.sum())}.")
    differs = label_differs.copy()
    for j, i in pairs.items():
        differs |= ~tolerance.close(aligned.Xc[:, j], aligned.Xo[:, i])
    for position in np.flatnonzero(differs)[:_EXAMPLES]:
        lines.append("first differing rows: " + _row_difference(original, candidate, pairs, aligned, position,
                                                                tolerance))
    return lines


def _row_difference(original: FitInputs, candidate: FitInputs, pairs, aligned: _Aligned, position: int,
                    tolerance: Tolerance) -> str:
    row_o, row_c = aligned.Xo[position], aligned.Xc[position]
    parts = [f"original row {aligned.order_o[position]} vs rewrite row {aligned.order_c[position]}"]
    if aligned.yo[position] != aligned.yc[position]:
        parts.append(f"label {_format_label(aligned.yo[position])} vs {_format_label(aligned.yc[position])}")
    differing = [(j, i) for j, i in sorted(pairs.items(), key=lambda p: p[1])
                 if not tolerance.close(row_c[j:j + 1], row_o[i:i + 1])[0]]
    for j, i in differing[:_MAX_SHOWN_VALUES]:
        parts.append(f"original [{original.column_name(i)}]={row_o[i]:.6g} vs rewrite "
                     f"[{candidate.column_name(j)}]={row_c[j]:.6g}")
    if len(differing) > _MAX_SHOWN_VALUES:
        parts.append(f"... ({len(differing) - _MAX_SHOWN_VALUES} more)")
    return "; ".join(parts)


def _column_list(inputs: FitInputs, columns: Sequence[int]) -> str:
    shown = ", ".join(inputs.column_name(c) for c in columns[:_MAX_SHOWN_VALUES])
    return shown + (f" and {len(columns) - _MAX_SHOWN_VALUES} more" if len(columns) > _MAX_SHOWN_VALUES else "")


def _describe_column(values: np.ndarray) -> str:
    distinct = np.unique(values[~np.isnan(values)])
    if len(distinct) <= 4:
        return "values " + ", ".join(f"{v:.6g}" for v in distinct)
    mean = np.nanmean(values)
    mean = 0.0 if abs(mean) < 1e-9 * (np.nanmax(np.abs(values)) or 1.0) else mean
    return (f"min {np.nanmin(values):.6g}, max {np.nanmax(values):.6g}, mean {mean:.6g}, "
            f"{len(distinct)} distinct values")
