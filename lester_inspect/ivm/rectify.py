"""Rectification (GDPR Art. 16): correct leaked values in captured runs instead of deleting them.

``lester-inspect rectify --rows customers.csv:customer_id=2 --column mails.csv:mail_subject
--replace '\\d{4} \\d{4} \\d{4} \\d{4}=>'`` removes the card numbers from those customers'
mail subjects in every captured run that used them:

1. the rectified column's cells get their corrected value (the regex replacement, or the
   values of ``--values-from FILE``), the old bytes are overwritten where they lie;
2. every captured column computed from it (``title = mail_subject.str.lower()``, ``text =
   title + ' ' + ...``) is re-derived for those rows from the expression capture recorded and
   checked against the captured data (``derivations.json``); a column without a checked
   expression is nulled instead, and the report says so;
3. the rows' feature-matrix rows are re-encoded with the fitted featuriser the capture stored
   (``featuriser.pkl``), after checking that it reproduces the stored rows from the old values;
4. the model is updated with the corrected rows (the old rows unlearned, the new ones
   learned: first or second order, see unlearning.py), never with zeros.

Scalers' and numeric imputers' statistics are fitted again with the corrected rows' inputs
(featuriser.py); the other featuriser statistics (an encoder's categories, a vocabulary) stay as
fitted on the old values, and the report names them as NOT MAINTAINED. The
stored test predictions are recomputed with the updated model. Like ``forget``, a rerun
after a crash completes the request and never applies it twice: each artifact records the
request together with its new values, atomically, before the old values are overwritten.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
import time
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import pandas as pd
import scipy.sparse as sp

from lester_inspect.ivm import catalog, columnar, spark_store
from lester_inspect.ivm.derivation import Derivation, changed_positions, same_values
from lester_inspect.ivm.files import crash_point, locked, read_json, read_pickle, syncs_together, write_atomically, \
    write_json, write_pickle
from lester_inspect.ivm.specs import ColumnSpec, RowSpec, SpecError

DERIVATIONS = "derivations.json"
FEATURISER = "featuriser.pkl"
LEARNED = "learned.json"
STALE = "predictions.stale"
_LEARNED_VALUES = ("categories_", "vocabulary_", "stop_words_")


@dataclasses.dataclass(frozen=True)
class Correction:
    """How the rectified column's values change: a regex replacement, or new values per source row."""

    described: str
    pattern: Optional[str] = None
    replacement: str = ""
    values: Optional[Dict[int, str]] = None

    @classmethod
    def replace(cls, text: str) -> "Correction":
        pattern, separator, replacement = text.partition("=>")
        if not separator or not pattern:
            raise SpecError(f"{text!r}: expected REGEX=>REPLACEMENT, e.g. '\\d{{4}} \\d{{4}} \\d{{4}} \\d{{4}}=>'")
        try:
            re.compile(pattern)
        except re.error as error:
            raise SpecError(f"{text!r}: {pattern!r} is not a regular expression ({error})") from None
        return cls(f"replace /{pattern}/ by {replacement!r}", pattern=pattern, replacement=replacement)

    @classmethod
    def values_from(cls, path: str, rows: RowSpec, column: ColumnSpec) -> "Correction":
        """Corrected values from a CSV with the rows' key column and the rectified column."""
        if rows.key is None or os.path.abspath(rows.path) != os.path.abspath(column.path):
            raise SpecError("--values-from needs --rows of the rectified column's own file by key "
                            f"(e.g. {column.path}:ID=...), to match the corrected values to its rows")
        if not os.path.isfile(path):
            raise SpecError(f"{path}: no such file")
        corrected = pd.read_csv(path, dtype=str, keep_default_na=False)
        missing = [c for c in (rows.key, column.column) if c not in corrected.columns]
        if missing:
            raise SpecError(f"{path}: has no column {', '.join(map(repr, missing))} (it has "
                            f"{', '.join(map(repr, corrected.columns))})")
        keys = pd.read_csv(rows.path, usecols=[rows.key], dtype=str, keep_default_na=False)[rows.key]
        wanted = set(rows.values)
        given = corrected[corrected[rows.key].isin(wanted)]
        if set(given[rows.key]) != wanted:
            raise SpecError(f"{path}: no corrected {column.column} for {rows.key} = "
                            f"{', '.join(sorted(wanted - set(given[rows.key])))}")
        by_key = dict(zip(given[rows.key], given[column.column]))
        values = {int(position): by_key[key] for position, key in enumerate(keys) if key in by_key}
        return cls(f"values from {os.path.basename(path)}", values=values)

    @property
    def key(self) -> str:
        return json.dumps([self.pattern, self.replacement, sorted((self.values or {}).items())])

    def apply(self, old: pd.Series, source_rows: Optional[np.ndarray]) -> pd.Series:
        if self.pattern is not None:
            return old.str.replace(self.pattern, self.replacement, regex=True)
        return pd.Series([self.values.get(int(r), v) for r, v in zip(source_rows, old)], dtype="str")


# -- capture: what rectify needs ------------------------------------------------------------------------

def save_for_rectify(store: str, run_id: str, group: str, data: Optional[pd.DataFrame], derivations: Dict,
                     featuriser, X=None, virtual=()) -> None:
    """The checked expressions of the captured columns, and (with the training data) the fitted featuriser.

    The featuriser's learned values (one-hot categories, vocabularies) are data: beside it the
    store keeps, per learned value, how many training rows have it (``learned.json``, counts
    only), so that ``forget`` can tell when a value was learned only from forgotten rows.
    """
    folder = os.path.join(store, "runs", run_id)
    with locked(store):
        path = os.path.join(folder, DERIVATIONS)
        recorded = read_json(path) if os.path.exists(path) else {}
        recorded[group] = _checked(derivations, data) if data is not None else {}
        write_json(path, recorded)
        if featuriser is not None and group == "train":
            try:
                # The counts first: a featuriser is never stored without them.
                write_json(os.path.join(folder, LEARNED), {"requests": [], "parts": _learned_values(featuriser, X,
                                                                                                     data)})
                from lester_inspect.ivm.featuriser import strip_statistics

                write_pickle(os.path.join(folder, FEATURISER), strip_statistics(featuriser, virtual))
            except Exception as error:  # rectify then zeroes feature ranges and says why
                write_json(os.path.join(folder, FEATURISER + ".missing"), f"not stored: {error!r}")


def _learned_values(featuriser, X, data=None) -> Dict:
    """Per featuriser part holding learned values: its matrix columns and the training rows per value; for a
    most-frequent imputer before a one-hot encoder also the training rows missing each input (``missing``),
    so that ``imputer_kept`` can tell whether the imputed value stays after a removal."""
    if not hasattr(featuriser, "transformers_"):
        raise TypeError(f"only a ColumnTransformer's learned values can be matched to matrix columns, not a "
                        f"{type(featuriser).__name__}'s")
    parts = {}
    slices = getattr(featuriser, "output_indices_", {})
    for name, transformer, inputs in getattr(featuriser, "transformers_", []):
        if transformer in ("drop", "passthrough"):
            continue
        steps = [step for _, step in transformer.steps] if hasattr(transformer, "steps") else [transformer]
        holders = [step for step in steps if any(getattr(step, a, None) is not None for a in _LEARNED_VALUES)]
        if not holders:
            continue
        inputs = [inputs] if isinstance(inputs, str) else [str(c) for c in inputs]
        block = slices.get(name)
        last = steps[-1]
        width = None if block is None else block.stop - block.start
        values = (sum(len(c) for c in last.categories_) if hasattr(last, "categories_") and
                  getattr(last, "drop_idx_", None) is None and not getattr(last, "_infrequent_enabled", False)
                  else len(last.vocabulary_) if hasattr(last, "vocabulary_") and not getattr(last, "stop_words_", None)
                  else None)
        if X is None or block is None or last is not holders[-1] or len(holders) > 1 or values != width:
            parts[name] = {"columns": inputs, "counts": None,
                           "reason": f"{name}: the values {type(holders[-1]).__name__} learned cannot be matched "
                                     "to feature-matrix columns"}
            continue
        part = X[:, block.start:block.stop]
        counts = np.asarray((part != 0).sum(axis=0)).ravel()
        parts[name] = {"columns": inputs, "slice": [block.start, block.stop], "counts": counts.tolist(), "reason": None}
        if data is not None and _imputed_one_hot(steps):
            parts[name]["missing"] = [int(data[c].isna().sum()) for c in inputs]
        if _removable(steps):  # the number of values per input: where each one's matrix column lies
            parts[name].update(sizes=[len(values) for values in _learned(last)], kind=type(last).__name__)
            if _imputed_one_hot(steps):  # the column of each input's imputed value (its offset in the part)
                starts = np.cumsum([0] + parts[name]["sizes"])
                found = [np.flatnonzero(np.asarray(c, dtype=object) == v) for c, v in
                         zip(last.categories_, steps[0].statistics_)]
                parts[name]["imputed"] = [int(starts[i] + f[0]) for i, f in enumerate(found)] \
                    if all(len(f) == 1 for f in found) else None
    return parts


def _removable(steps) -> bool:
    """Whether learned values can be removed from the part with their matrix columns, as a run from scratch
    without them learns: a one-hot encoder (alone or after a most-frequent imputer) that ignores unknown
    values (as a run from scratch then treats a removed category's test rows), drops no category and groups
    none as infrequent; a count vectoriser whose vocabulary is every term seen (no document-frequency
    bounds, no size limit, not given)."""
    from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
    from sklearn.preprocessing import OneHotEncoder

    from lester_inspect.ivm.featuriser import every_term

    last = steps[-1]
    if type(last) in (CountVectorizer, TfidfVectorizer):
        return len(steps) == 1 and every_term(last)
    return (type(last) is OneHotEncoder and last.handle_unknown == "ignore" and last.drop_idx_ is None
            and not last._infrequent_enabled and (len(steps) == 1 or _imputed_one_hot(steps)))


def _learned(step) -> List[np.ndarray]:
    """The values a removable step learned, per input, in the order of their matrix columns."""
    if hasattr(step, "categories_"):
        return list(step.categories_)
    return [np.asarray(sorted(step.vocabulary_, key=step.vocabulary_.get), dtype=object)]


def _set_learned(step, values: List[np.ndarray]) -> None:
    if hasattr(step, "categories_"):
        step.categories_ = values
        step._n_features_outs = step._compute_n_features_outs()  # the output width transform builds
    else:
        step.vocabulary_ = {term: column for column, term in enumerate(values[0].tolist())}


def _imputed_one_hot(steps) -> bool:
    from sklearn.impute import SimpleImputer
    from sklearn.preprocessing import OneHotEncoder

    return (len(steps) == 2 and isinstance(steps[0], SimpleImputer) and steps[0].strategy == "most_frequent"
            and not steps[0].add_indicator and isinstance(steps[1], OneHotEncoder)
            and isinstance(steps[0].missing_values, float) and np.isnan(steps[0].missing_values))


def imputer_kept(transformer, part: Dict) -> bool:
    """Whether a most-frequent imputer's values stay those a run from scratch learns from the remaining training
    rows: per input, the most frequent non-missing value (the smallest of equals, as scikit-learn picks) by
    the one-hot counts ``guard_learned_values`` keeps, less the imputed rows."""
    steps = [step for _, step in transformer.steps] if hasattr(transformer, "steps") else [transformer]
    if not _imputed_one_hot(steps) or part.get("missing") is None or part.get("counts") is None:
        return False
    imputer, encoder = steps
    counts = np.asarray(part["counts"])
    starts = np.cumsum([0] + part.get("sizes", [len(c) for c in encoder.categories_]))
    for number, (value, categories, missing) in enumerate(zip(imputer.statistics_, encoder.categories_,
                                                                part["missing"])):
        # The counts are per captured column; the columns of removed categories are left out.
        observed = counts[np.setdiff1d(np.arange(starts[number], starts[number + 1]), part.get("dropped", []))]
        if len(observed) != len(categories):
            return False
        at = np.flatnonzero(np.asarray(categories, dtype=object) == value)
        if len(at) != 1:
            return False
        observed[at[0]] -= missing
        if int(np.argmax(observed)) != at[0] or observed[at[0]] <= 0:  # categories are sorted: first = smallest
            return False
    return True


def guard_learned_values(run_folder: str, request: str, rows: Sequence[int], columns: Optional[set],
                         pipeline: str, new_rows=None) -> Tuple[List[str], List[int]]:
    """Count the training rows leaving (and, rectified, re-entering) each learned value. A value learned only
    from rows that no longer have it is removed with its matrix column where the part allows it (forget: a
    one-hot category, ``_removable``); otherwise the stored featuriser is deleted.

    ``columns`` None: the rows are removed; else only the featuriser parts fed by these columns lose
    the rows' values. ``new_rows`` (rectify): the rows' re-encoded feature rows.
    Returns ``(report lines, the matrix columns this request removes)``; the caller removes them from the
    matrices (``columnar.record_change(..., dropped_columns=...)``) and the model.
    """
    path, featuriser_path = os.path.join(run_folder, LEARNED), os.path.join(run_folder, FEATURISER)
    if not os.path.exists(path) or not os.path.exists(featuriser_path) or not len(rows):
        return [], []
    learned = read_json(path)
    if request in learned["requests"]:  # a rerun: the columns it removes were recorded with the counts
        return [], learned.get("dropped", {}).get(request, [])
    hit = {name: part for name, part in learned["parts"].items() if columns is None or set(part["columns"]) & columns}
    if not hit:
        return [], []
    old_rows = columnar.matrix_rows(os.path.join(run_folder, "train", "X"), rows)
    reasons, lines, dropping, removals, moved = [], [], [], {}, {}
    for name, part in hit.items():
        if part["counts"] is None:
            reasons.append(part["reason"])
            continue
        low, high = part["slice"]
        counts = np.asarray(part["counts"]) - (old_rows[:, low:high] != 0).sum(axis=0)
        if new_rows is not None:
            counts += (np.asarray(new_rows)[:, low:high] != 0).sum(axis=0)
        part["counts"] = counts.tolist()
        if part.get("missing") is not None:  # removed rows: their missing inputs leave; otherwise not known
            missing = columnar.read_cells(os.path.join(run_folder, "train", "data"), part["columns"], rows) \
                if columns is None and new_rows is None else None
            part["missing"] = None if missing is None else [
                int(m - missing[c].isna().sum()) for m, c in zip(part["missing"], part["columns"])]
        moves = _imputed_moves(run_folder, part, counts)
        if moves:  # the imputed rows' ones move to the new most frequent value's column
            part["counts"] = counts.tolist()
            moved[name] = moves
            removals[name] = (part["sizes"], part.get("dropped", []), part.get("dropped", []))
        before = part.get("dropped", [])
        empty = np.setdiff1d(np.flatnonzero(counts <= 0), before)
        if not len(empty):
            continue
        if part.get("sizes") is None:
            reasons.append(f"{name}: {len(empty)} value(s) it learned came only from these rows")
            continue
        part["dropped"] = sorted(set(before) | set(empty.tolist()))
        removals[name] = (part["sizes"], before, part["dropped"])
        dropping.extend((low + empty).tolist())
        what = ("categor{}" if part["kind"] == "OneHotEncoder" else "vocabulary entr{}").format(
            "y" if len(empty) == 1 else "ies")
        lines.append(f"featuriser {name} ({part['kind']}): {len(empty)} {what} only the "
                     f"{'rectified' if new_rows is not None else 'removed'} rows had removed, with matrix column(s) "
                     f"{_listed(low + empty)} of train and test (as captured) "
                     "and their model weights")
    learned["requests"].append(request)
    if reasons:
        os.remove(featuriser_path)
        write_json(path, {"requests": learned["requests"], "parts": {}})
        return [f"the stored featuriser was deleted, as its learned values would keep the data ({'; '.join(reasons)}); "
                "rectify zeroes feature ranges from now on instead of re-encoding"], []
    if removals:  # before the counts: a rerun after a crash in between finds the featuriser changed already
        _remove_categories(run_folder, pipeline, learned["parts"], removals, moved)
    if moved:
        lines.extend(_move_imputed(run_folder, request, learned["parts"], moved, rows))
    learned.setdefault("dropped", {})[request] = sorted(dropping)
    write_json(path, learned)
    return lines, sorted(dropping)


def _listed(values) -> str:
    values = [int(v) for v in values]
    return ", ".join(map(str, values[:10])) + (f" and {len(values) - 10} more" if len(values) > 10 else "")


def _remove_categories(run_folder: str, pipeline: str, parts: Dict, removals: Dict, moved: Dict) -> None:
    """Rewrite the stored featuriser without the removed values (categories, terms): ``removals[part] = (values
    per input, offsets in the part's captured columns removed before, and with this request)``, and with the
    most-frequent imputers' new values (``moved[part]``: ``(input, old offset, new offset)``). Idempotent: a
    featuriser that has them already is left as it is."""
    import copy

    from lester_inspect.ivm.featuriser import read_blocks, strip_statistics

    featuriser = copy.deepcopy(load_featuriser(run_folder, pipeline))  # the loaded one is shared
    transformers = {name: transformer for name, transformer, _ in featuriser.transformers_}
    removed_here, changed = [], False  # positions in the featuriser's output as it is
    for name, (sizes, before, after) in removals.items():
        step = transformers[name].steps[-1][1] if hasattr(transformers[name], "steps") else transformers[name]
        current, starts = _learned(step), np.cumsum([0] + list(sizes))
        kept_before = [np.setdiff1d(np.arange(starts[i], starts[i + 1]), before) for i in range(len(sizes))]
        kept_after = [np.setdiff1d(np.arange(starts[i], starts[i + 1]), after) for i in range(len(sizes))]
        lengths = [len(c) for c in current]
        if lengths not in ([len(k) for k in kept_before], [len(k) for k in kept_after]):
            raise ValueError(f"{run_folder}: the stored featuriser's {name} values do not match learned.json")
        kept = kept_before if lengths == [len(k) for k in kept_before] else kept_after  # after: rewritten already
        if name in moved:
            imputer = transformers[name].steps[0][1]
            values = imputer.statistics_.copy()
            for number, _, new in moved[name]:
                values[number] = current[number][int(np.searchsorted(kept[number], new))]
            changed |= not np.array_equal(values, imputer.statistics_)
            imputer.statistics_ = values
        if kept is kept_after or list(after) == list(before):
            continue
        changed = True
        _set_learned(step, [learned[np.isin(offsets, after, invert=True)]
                            for learned, offsets in zip(current, kept_before)])
        start = featuriser.output_indices_[name].start
        removed_here.extend(start + int(np.searchsorted(np.concatenate(kept_before), offset))
                            for offset in sorted(set(after) - set(before)))
    if not changed:
        return
    removed_here = np.asarray(sorted(removed_here), dtype=np.int64)
    featuriser.output_indices_ = {
        name: slice(place.start - int(np.searchsorted(removed_here, place.start)),
                    place.stop - int(np.searchsorted(removed_here, place.stop))) for name, place
        in featuriser.output_indices_.items()}
    _write_featuriser(os.path.join(run_folder, FEATURISER),
                      strip_statistics(featuriser, read_blocks(os.path.join(run_folder, "train", "X"))))


def _imputed_moves(run_folder: str, part: Dict, counts: np.ndarray) -> List[Tuple[int, int, int]]:
    """The inputs of a most-frequent imputer before a one-hot encoder whose most frequent value changes,
    ``(input, old offset, new offset)``: per input, the most frequent value by the counts less the imputed
    rows, the smallest of equals (as scikit-learn picks; categories are sorted). Moves the imputed rows'
    counts in ``counts``. None when the imputed rows cannot be found in the captured data."""
    if part.get("imputed") is None or part.get("missing") is None or part.get("sizes") is None:
        return []
    starts, moves = np.cumsum([0] + part["sizes"]), []
    for number, (old, missing) in enumerate(zip(part["imputed"], part["missing"])):
        kept = np.setdiff1d(np.arange(starts[number], starts[number + 1]), part.get("dropped", []))
        observed = counts[kept].astype(np.int64)
        observed[np.searchsorted(kept, old)] -= missing
        new = int(kept[int(np.argmax(observed))])
        if new == old or observed.max() <= 0 or not all(
                part["columns"][number] in columnar.frame_columns(os.path.join(run_folder, group, "data"))
                for group in ("train", "test") if os.path.exists(os.path.join(run_folder, group, "X"))):
            continue
        counts[old] -= missing
        counts[new] += missing
        part["imputed"][number] = new
        moves.append((number, old, new))
    return moves


def _move_imputed(run_folder: str, request: str, parts: Dict, moved: Dict, removed: Sequence[int]) -> List[str]:
    """Re-encode the rows whose input a moved most-frequent value fills, train and test: their one goes from the
    old value's column to the new one's (recorded with the request, as rectified rows are). Report lines."""
    lines, found = [], {}
    for group in ("train", "test"):
        matrix_folder = os.path.join(run_folder, group, "X")
        if not os.path.exists(matrix_folder):
            continue
        state = columnar.read_state(matrix_folder)
        gone = set(state["deleted_rows"]) | (set(int(r) for r in removed) if group == "train" else set())
        changes = {}
        for name, moves in moved.items():
            low, high = parts[name]["slice"]
            zeroed = {int(r) for rows, ranges in state["zeroed"] for r in rows
                      if any(a < high and b > low for a, b in ranges)}
            for number, old, new in moves:
                column = columnar.read_column(os.path.join(run_folder, group, "data"), parts[name]["columns"][number])
                rows = [r for r in np.flatnonzero(column.isna().to_numpy()).tolist() if r not in gone | zeroed]
                for row in rows:
                    changes.setdefault(row, []).append((low + old, low + new))
                found.setdefault((name, number), {})[group] = rows
        if changes:
            from lester_inspect.ivm.featuriser import without_blocks

            rows = np.asarray(sorted(changes), dtype=np.int64)
            values = without_blocks(matrix_folder, columnar.matrix_rows(matrix_folder, rows))
            for position, row in enumerate(rows.tolist()):
                for old, new in changes[row]:
                    values[position, new], values[position, old] = values[position, old], 0.0
            columnar.replace_matrix_rows(matrix_folder, request, rows, values,
                                         [parts[name]["slice"] for name in moved])
    for (name, number), groups in found.items():
        lines.append(f"featuriser {name} (SimpleImputer, most_frequent): the most frequent "
                     f"{parts[name]['columns'][number]} of the remaining training rows is another value, imputed "
                     "from now on; the one-hot cells of the rows it imputes "
                     "re-encoded: " + "; ".join(f"{len(rows)} {group} row(s)" + (
                         f" (captured positions {_listed(rows)})" if rows else "") for group, rows in groups.items())
                     + "; the model is not updated for them (verify measures the difference)")
    return lines


def _write_featuriser(path: str, featuriser) -> None:
    """Pickle a loaded featuriser: classes of the pipeline script by name (they come from its definitions)."""
    import io
    import pickle

    class Pickler(pickle.Pickler):
        def persistent_id(self, value):
            if isinstance(value, type) and value.__module__ == _DEFINITIONS:
                return value.__qualname__
            return None

    buffer = io.BytesIO()
    Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(featuriser)
    write_atomically(path, buffer.getvalue())


_LOADED: Dict[tuple, object] = {}
_DEFINITIONS = "__lester_pipeline_definitions__"


def load_featuriser(run_folder: str, pipeline: str):
    """The stored fitted featuriser; classes the pipeline script defined come from its definitions only.

    Kept in memory per file version: a service answering requests loads it once.
    """
    import pickle

    path = os.path.join(run_folder, FEATURISER)
    status = os.stat(path)
    key = (os.path.abspath(path), status.st_mtime_ns, status.st_size, status.st_ino)

    class Unpickler(pickle.Unpickler):
        def find_class(self, module, name):
            if module == "__main__":
                return getattr(_definitions_of(pipeline), name)
            return super().find_class(module, name)

        def persistent_load(self, name):  # a class of the script in a featuriser rewritten by forget
            return getattr(_definitions_of(pipeline), name)

    if key not in _LOADED:
        with open(path, "rb") as handle:
            _LOADED.clear()
            _LOADED[key] = Unpickler(handle).load()
    from lester_inspect.ivm.featuriser import restore_statistics

    restore_statistics(_LOADED[key], run_folder)  # the maintained scaler statistics (featuriser.py)
    return _LOADED[key]


def _definitions_of(pipeline: str):
    """A module with the script's imports, classes and functions, without running the pipeline."""
    import ast
    import types

    with open(pipeline, encoding="utf-8") as handle:
        tree = ast.parse(handle.read(), filename=pipeline)
    kept = [n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom, ast.ClassDef, ast.FunctionDef))]
    module = types.ModuleType(_DEFINITIONS)
    module.__file__ = pipeline
    exec(compile(ast.Module(body=kept, type_ignores=[]), pipeline, "exec"), module.__dict__)
    return module


def _checked(derivations: Dict, data: pd.DataFrame) -> Dict:
    checked = {}
    for column, derivation in derivations.items():
        if column not in data.columns:
            continue
        if isinstance(derivation, str):
            checked[column] = {"reason": derivation}
            continue
        missing = [r for r in derivation.reads if r not in data.columns]
        if missing:
            checked[column] = {"reason": f"{derivation.text!r} reads {', '.join(missing)}, not captured"}
            continue
        try:
            again = derivation.evaluate({r: data[r].reset_index(drop=True) for r in derivation.reads})
            reproduced = again.equals(data[column].reset_index(drop=True)) or same_values(again, data[column])
        except Exception as error:
            checked[column] = {"reason": f"{derivation.text!r} failed on the captured data ({error!r})"}
            continue
        checked[column] = {"text": derivation.text} if reproduced else {
            "reason": f"{derivation.text!r} does not reproduce the captured column"}
    return checked


# -- rectify ------------------------------------------------------------------------------------------

def rectify(store, rows: RowSpec, column: ColumnSpec, correction: Correction,
            run_ids: Optional[Sequence[str]] = None, order: str = "first", tau: Optional[float] = None):
    """Correct ``column``'s values of ``rows`` in the affected runs (see the module docstring)."""
    from lester_inspect.ivm.store import ForgetIncomplete, ForgetReport

    if order == "second" and tau is not None:
        raise SpecError("tau is the step of the first-order update; the second-order update takes none")
    timings: Dict[str, float] = {}
    started = time.perf_counter()
    store._require()
    with store._writing():
        lookup = catalog.Lookup(store.path)
        resolution = store._resolve(lookup, rows, column, persist_index=column.column != rows.key)
        store._drop_key_indexes(lookup, column)  # they would hold (hashed) old values
        lookup.save()
        affected = resolution.affected
        targets = affected if run_ids is None else [r for r in run_ids if r in affected]
        unknown = [r for r in (run_ids or []) if r not in affected]
        if unknown:
            raise SpecError(f"run(s) {', '.join(unknown)} did not read these rows and column {column.column}")
        timings["find affected runs"] = time.perf_counter() - started
        request = hashlib.sha256(json.dumps([sorted((f, p.tolist()) for f, p in resolution.rows.items()), column.column,
                                             resolution.column_fingerprints, correction.key]).encode("utf-8")).hexdigest()
        changes = []
        for run_id in targets:
            try:
                with syncs_together():  # the run's cells on disk before the log says it changed
                    change = _rectify_run(store, run_id, request, resolution, column, correction, order, tau, timings)
            except SpecError as error:
                from lester_inspect.ivm.store import RunChange

                change = RunChange(run_id, {}, {}, None, [], status="failed", problem=str(error))
            catalog.log_change(store.path, {"run_id": run_id, "request": request, "kind": "rectification",
                                            "status": change.status,
                                            "rows_changed": sum(change.rows.values()),
                                            "cells_changed": sum(change.cells.values()),
                                            "model_updated": bool(change.model) and "skipped" not in change.model,
                                            **({"problem": change.problem} if change.problem else {})})
            changes.append(change)
    report = ForgetReport(request, "rectification", changes, timings, resolution.notes)
    if report.problems:
        raise ForgetIncomplete(report)
    return report


def _rectify_run(store, run_id, request, resolution, column, correction, order, tau, timings):
    from lester_inspect.ivm.store import RunChange, _deleted_rows, _lookup_rows, _relevant_cuts, _source_rows, \
        _sources_in_run, refused_for_cuts

    folder = store._run_folder(run_id)
    manifest = read_json(os.path.join(folder, "manifest.json"))
    row_sources, column_sources = _sources_in_run(manifest, resolution, column)
    column_names = sorted(name for name, _ in column_sources)
    cuts = _relevant_cuts(manifest, set(row_sources) | set(column_names))
    if cuts:
        return refused_for_cuts(run_id, cuts)
    if spark_store.is_spark(manifest):
        return spark_store.rectify_refused(run_id)
    derivations = read_json(os.path.join(folder, DERIVATIONS)) if os.path.exists(
        os.path.join(folder, DERIVATIONS)) else {}
    featuriser = load_featuriser(folder, manifest["pipeline"]) if os.path.exists(
        os.path.join(folder, FEATURISER)) else None
    notes: List[str] = []
    step = time.perf_counter()
    plans = {}
    for group, info in manifest["groups"].items():
        group_folder = os.path.join(folder, group)
        found = _lookup_rows(os.path.join(group_folder, "lineage"), row_sources)
        found = np.setdiff1d(np.asarray(found, dtype=np.int64), _deleted_rows(group_folder)).astype(np.int64)
        provenance = {c: {tuple(p) for p in prov} for c, prov in info.get("column_provenance", {}).items()}
        derived = [c for c, prov in provenance.items() if column_sources & prov]
        data_folder = os.path.join(group_folder, "data")
        if not len(found) or not derived or not os.path.exists(data_folder):
            continue
        if column.column not in derived or not provenance[column.column] <= column_sources:
            raise SpecError(f"run {run_id}: {column.path}:{column.column} is not a column of its captured {group} "
                            "data as read from the file, so its values cannot be corrected there; use forget")
        checked = derivations.get(group, {})
        reads = {r for c in derived if "text" in checked.get(c, {})
                 for r in Derivation.parse(c, checked[c]["text"]).reads}
        features = list(getattr(featuriser, "feature_names_in_", [])) if featuriser is not None else []
        present = set(columnar.frame_columns(data_folder))
        needed = sorted((set(derived) | reads | set(features)) & present)
        current = columnar.read_cells(data_folder, needed, found)
        new = dict(current)
        already = request in columnar.read_replacements(data_folder)["requests"]
        nulled: List[str] = []
        if not already:
            source_rows = _source_rows(os.path.join(group_folder, "lineage"), column_names[0])[found] \
                if correction.values is not None else None
            new[column.column] = correction.apply(current[column.column], source_rows)
            pending = [c for c in derived if c != column.column]
            progress = True
            while pending and progress:
                progress = False
                for name in list(pending):
                    entry = checked.get(name, {})
                    if "text" not in entry:
                        continue
                    derivation = Derivation.parse(name, entry["text"])
                    if any(r in pending for r in derivation.reads):
                        continue
                    new[name] = derivation.evaluate({r: new[r] for r in derivation.reads})
                    pending.remove(name)
                    progress = True
            for name in pending:
                reason = checked.get(name, {}).get("reason", "capture recorded no expression for it")
                notes.append(f"{group}: {name} cannot be re-derived ({reason}); its {len(found)} cell(s) nulled")
                nulled.append(name)
        cells = {}
        for name in derived:
            if name in nulled:
                continue
            changed = changed_positions(current[name].to_numpy(), new[name].to_numpy())
            if len(changed):
                cells[name] = {int(found[i]): new[name].iloc[i] for i in changed}
        plans[group] = {"rows": found, "current": current, "new": new, "cells": cells, "nulled": nulled, "inputs": None,
                        "derived": derived, "already": already,
                        "ranges": sorted({tuple(r) for c in derived for r in info.get("matrix_provenance", {}).get(c, [])})}
    if not plans:
        raise SpecError(f"run {run_id}: none of its captured rows come from these rows; nothing to rectify")
    if not any(p["cells"] or p["nulled"] or p["already"] for p in plans.values()):
        raise SpecError(f"run {run_id}: the correction ({correction.described}) changes none of the "
                        f"{sum(len(p['rows']) for p in plans.values())} {column.column} value(s) of these rows; "
                        "nothing rectified")
    timings[f"{run_id}: provenance lookup"] = time.perf_counter() - step

    step = time.perf_counter()
    encoded = _encode_all(featuriser, folder, plans) if featuriser is not None else {}
    for group, group_plan in plans.items():
        group_plan["matrix"] = _reencode(folder, group, group_plan, featuriser, encoded.get(group, (None, None)), notes)
    timings[f"{run_id}: re-encoding"] = time.perf_counter() - step

    train = plans.get("train")
    if train is not None:
        from lester_inspect.ivm.store import unmaintained_transformers

        notes.extend(unmaintained_transformers(manifest))
    dropping = []  # matrix columns of the categories and terms only the rectified rows had
    if train is not None and train["matrix"] is not None and len(train["matrix"][0]):
        learned, dropping = guard_learned_values(folder, request, train["matrix"][0], set(train["derived"]),
                                                 manifest["pipeline"], train["matrix"][1])
        notes.extend(learned)
    if featuriser is not None:  # after the counts: they say which categories a run from scratch keeps
        notes.extend(featuriser_notes(featuriser, {c for p in plans.values() for c in p["derived"]}, folder,
                                      counted=True, new=train["inputs"] if train is not None else None))

    mark_predictions_stale(folder, f"rectification {request[:12]} changed the model or the test data")
    step = time.perf_counter()
    model = _update_model(folder, request, plans.get("train"), order, tau, dropping)
    timings[f"{run_id}: model update"] = time.perf_counter() - step
    crash_point("after_model")

    step = time.perf_counter()
    rows_changed, cells_changed = {}, {}
    for group, group_plan in plans.items():
        group_folder = os.path.join(folder, group)
        data_folder = os.path.join(group_folder, "data")
        if group_plan["nulled"]:
            columnar.record_change(data_folder, request, nulled={c: group_plan["rows"] for c in group_plan["nulled"]})
            columnar.scrub_cells(data_folder, group_plan["nulled"], group_plan["rows"])
        written = columnar.replace_cells(data_folder, request, group_plan["cells"]) if group_plan["cells"] else 0
        crash_point("after_state")
        cells_changed[f"{group}/data"] = written or sum(len(v) for v in group_plan["cells"].values())
        matrix = group_plan["matrix"]
        if matrix is not None and len(matrix[0]):
            from lester_inspect.ivm.featuriser import without_blocks

            columnar.replace_matrix_rows(os.path.join(group_folder, "X"), request, matrix[0],
                                         without_blocks(os.path.join(group_folder, "X"), matrix[1]))
            if featuriser is not None and group_plan["inputs"] is not None:  # scaler inputs (featuriser.py)
                from lester_inspect.ivm.featuriser import set_block_inputs

                notes.extend(set_block_inputs(os.path.join(group_folder, "X"), group_plan["rows"], featuriser,
                                              group_plan["inputs"]))
            cells_changed[f"{group}/X rows"] = len(matrix[0])
        rows_changed[group] = len(group_plan["rows"])
        crash_point(f"after_{group}")
    timings[f"{run_id}: artifacts"] = time.perf_counter() - step
    train = plans.get("train")
    if train is not None and train["inputs"] is not None and featuriser is not None:
        from lester_inspect.ivm.featuriser import block_inputs, refitted

        # The scalers fitted again with the rectified rows' new inputs (featuriser.py); recorded for test,
        # then train, with the request: a rerun after a crash records them where they are missing.
        step = time.perf_counter()
        statistics, lines = refitted(folder, inputs=block_inputs(folder, train["rows"], featuriser, train["inputs"]))
        notes.extend(lines)
        timings[f"{run_id}: featuriser statistics"] = time.perf_counter() - step
    else:
        statistics = {}
    for group in ("test", "train"):
        matrix_folder = os.path.join(folder, group, "X")
        if (statistics or dropping) and os.path.exists(matrix_folder):
            columnar.record_change(matrix_folder, request, statistics=statistics, dropped_columns=dropping)
            columnar.scrub_columns(matrix_folder, dropping)
    step = time.perf_counter()
    notes.extend(recompute_predictions(folder))
    timings[f"{run_id}: test predictions"] = time.perf_counter() - step
    if all(p["already"] for p in plans.values()) and (model is None or "skipped" in model):
        status = "already applied"
    else:
        status = "resumed" if any(p["already"] for p in plans.values()) else "changed"
    return RunChange(run_id, rows_changed, cells_changed, model, notes, status=status)


def _encode_all(featuriser, folder: str, plans: Dict) -> Dict:
    """Per group, the old and new values' feature rows (or why not): one ``transform`` for all of them."""
    parts = [(group, which, plan[which]) for group, plan in plans.items() for which in ("current", "new")
             if not (which == "current" and plan["already"])]
    names = list(featuriser.feature_names_in_)
    missing = sorted({n for _, _, values in parts for n in names if n not in values})
    if missing:
        return {group: (f"its input columns {', '.join(missing)} are not captured",) * 2 for group in plans}
    frames = []
    for group, which, values in parts:
        dtypes = columnar.column_dtypes(os.path.join(folder, group, "data"))
        frame = pd.DataFrame({n: values[n].reset_index(drop=True) for n in names})
        for name in names:
            try:
                frame[name] = frame[name].astype(dtypes[name])
            except (TypeError, ValueError):
                pass
        frames.append(frame)
        if which == "new":
            plans[group]["inputs"] = frame
    try:
        encoded = featuriser.transform(pd.concat(frames, ignore_index=True))
    except Exception as error:
        return {group: (f"transform failed: {error!r}",) * 2 for group in plans}
    encoded = encoded.toarray() if sp.issparse(encoded) else np.asarray(encoded, dtype=np.float64)
    result, start = {group: [None, None] for group in plans}, 0
    for (group, which, _), frame in zip(parts, frames):
        result[group][0 if which == "current" else 1] = encoded[start:start + len(frame)]
        start += len(frame)
    return {group: tuple(pair) for group, pair in result.items()}


def _reencode(folder: str, group: str, plan: Dict, featuriser, encoded, notes: List[str]):
    """``(rows, new feature rows)`` for the rows whose features change, or None when there is no matrix."""
    matrix_folder = os.path.join(folder, group, "X")
    if not os.path.exists(matrix_folder) or not plan["ranges"]:
        return None
    rows = plan["rows"]
    stored = columnar.matrix_rows(matrix_folder, rows)
    if featuriser is None:
        notes.append(f"{group}: no fitted featuriser was captured; the rectified rows' feature ranges "
                     f"{plan['ranges']} are zeroed, not re-encoded")
        return rows, _zeroed(stored, plan["ranges"])
    old, new = encoded
    dropped = columnar.read_state(matrix_folder)["dropped_columns"]  # categories removed: zero, as stored
    old, new = (columnar.widened(e, dropped, stored.shape[1]) if isinstance(e, np.ndarray) else e for e in (old, new))
    if isinstance(new, str) or (old is not None and (isinstance(old, str) or not np.allclose(old, stored, rtol=1e-9,
                                                                                            atol=1e-12))):
        reason = new if isinstance(new, str) else old if isinstance(old, str) else \
            "it does not reproduce the stored feature rows from the old values"
        notes.append(f"{group}: the stored featuriser cannot re-encode these rows ({reason}); their feature ranges "
                     f"{plan['ranges']} are zeroed instead")
        plan["inputs"] = None
        return rows, _zeroed(stored, plan["ranges"])
    changed = np.flatnonzero(np.any(new != stored, axis=1))
    notes.append(f"{group}: {len(changed)} feature row(s) re-encoded with the stored featuriser")
    return rows[changed], new[changed]


def _zeroed(stored: np.ndarray, ranges) -> np.ndarray:
    zeroed = stored.copy()
    for low, high in ranges:
        zeroed[:, low:high] = 0
    return zeroed


def featuriser_notes(featuriser, columns, folder: str, counted: bool = False, new=None) -> List[str]:
    """The fitted statistics of the featuriser parts fed by changed columns, which stay as fitted: all but
    the blocks that featuriser.py maintains and (``counted``) the categories and vocabularies whose
    training-row counts ``guard_learned_values`` keeps. ``new`` (rectify): the corrected training rows'
    input columns; a category or term they have that the featuriser does not know is one a run from
    scratch adds, which is not maintained."""
    from lester_inspect.ivm.featuriser import read_blocks

    maintained = {block["part"] for block in read_blocks(os.path.join(folder, "train", "X"))}
    learned = read_json(os.path.join(folder, LEARNED))["parts"] if counted and os.path.exists(
        os.path.join(folder, LEARNED)) else {}
    counts_kept = {name for name, part in learned.items() if part["counts"] is not None}
    notes = []
    for name, transformer, inputs in getattr(featuriser, "transformers_", []):
        inputs = [inputs] if isinstance(inputs, str) else list(inputs) if not callable(inputs) else []
        if not set(map(str, inputs)) & set(columns) or transformer in ("drop", "passthrough"):
            continue
        steps = transformer.steps if hasattr(transformer, "steps") else [(name, transformer)]
        unknown = _unknown(steps[-1][1], new[[str(c) for c in inputs]]) if new is not None and name in counts_kept \
            and all(str(c) in new for c in inputs) else 0
        if unknown:
            notes.append(f"NOT MAINTAINED: featuriser {name} ({type(steps[-1][1]).__name__}): the rectified rows have "
                         f"{unknown} value(s) it did not learn; a run from scratch adds them as columns, here they "
                         "encode as unknown")
        if name in maintained:
            continue
        kept_imputer = name in counts_kept and imputer_kept(transformer, learned[name])
        for step_name, step in steps:
            if kept_imputer and step is steps[0][1]:
                continue  # its most frequent values stay, by the counts (imputer_kept)
            attributes = set(vars(step)) | ({"idf_"} if hasattr(step, "idf_") else set())  # a property of TF-IDF
            fitted = sorted(a for a in attributes if a.endswith("_") and not a.startswith("_")
                            and getattr(step, a, None) is not None
                            and a not in ("n_features_in_", "feature_names_in_", "n_samples_seen_",
                                          "fixed_vocabulary_")
                            and not (name in counts_kept and a in (*_LEARNED_VALUES, "drop_idx_")))
            if fitted:
                notes.append(f"NOT MAINTAINED: featuriser {name}/{step_name} ({type(step).__name__}): "
                             f"{', '.join(fitted)} stay as fitted on the old values (a run from scratch refits them)")
    return notes


def _unknown(step, frame: pd.DataFrame) -> int:
    """How many distinct values of ``frame`` (a part's input columns) the fitted encoder or vectoriser does not
    know (a missing value imputed before it counts as known)."""
    if hasattr(step, "vocabulary_"):
        analyse = step.build_analyzer()
        return len({t for document in frame.iloc[:, 0].dropna() for t in analyse(document)} - set(step.vocabulary_))
    if not hasattr(step, "categories_"):
        return 0
    return sum(len(set(frame.iloc[:, i].dropna()) - set(categories)) for i, categories in enumerate(step.categories_))


def _update_model(folder: str, request: str, plan: Optional[Dict], order: str, tau: Optional[float], dropping=()):
    """Unlearn the training rows as they were and learn them as corrected (rows whose features changed); then
    remove the weights of the ``dropping`` columns (as captured), or fit again without them."""
    from sklearn.base import clone

    from lester_inspect.ivm import unlearning
    from lester_inspect.ivm.store import ModelUpdateError, _deleted_rows
    from lester_inspect.models import one_torch_thread

    model_path = os.path.join(folder, "model.pkl")
    if plan is None or plan["matrix"] is None or not os.path.exists(model_path):
        return None
    stored = read_pickle(model_path)
    if request in stored["applied"]:
        return {"skipped": "already applied"}
    if not len(plan["matrix"][0]):
        return None
    group_folder = os.path.join(folder, "train")
    rows, x_new = plan["matrix"]
    x_old = columnar.matrix_rows(os.path.join(group_folder, "X"), rows)
    y = np.load(os.path.join(group_folder, "y.npy"), mmap_mode="r")
    removed_before = _deleted_rows(group_folder)
    n_train = len(y) - len(removed_before)
    reason = unlearning.unsupported_reason(stored["model"], order)
    dropped = columnar.read_state(os.path.join(group_folder, "X"))["dropped_columns"]  # not the model's features

    def corrected_without(columns):  # the whole corrected training data: the second-order update and refits
        matrix = columnar.with_rows(columnar.read_matrix(os.path.join(group_folder, "X"), drop_deleted=False,
                                                         narrow=False), rows, x_new)
        keep = np.setdiff1d(np.arange(matrix.shape[0]), removed_before)
        return {"X_train": columnar.narrowed(matrix[keep], columns), "y_train": np.asarray(y)[keep]}

    corrected = corrected_without(dropped) if order == "second" else None
    if reason is None:
        with one_torch_thread():
            update = unlearning.update_model(stored["model"], columnar.narrowed(x_old, dropped),
                                             columnar.narrowed(x_new, dropped), np.asarray(y[rows]), n_train=n_train,
                                             order=order, **({"tau": tau} if order == "first" else corrected))
        summary = {"order": update.order, "tau": update.tau, "gradient_norm": float(update.gradient_norm),
                   "parameters_changed": int(update.parameters_changed)}
        if len(dropping):
            width = read_json(os.path.join(group_folder, "X", "layout.json"))["shape"][1]
            reason = unlearning.drop_features(stored["model"], np.searchsorted(np.setdiff1d(np.arange(width), dropped),
                                                                               dropping))
            summary["weights removed with their categories"] = len(dropping)
    if reason is not None:
        corrected = corrected_without(sorted(set(dropped) | set(dropping)))
        try:
            stored["model"] = clone(stored["model"]).fit(corrected["X_train"], corrected["y_train"])
        except Exception as error:
            raise ModelUpdateError(f"run {os.path.basename(folder)}: {reason}, and fitting "
                                   f"{type(stored['model']).__name__} again failed: {error!r}. "
                                   "The run was left unchanged.") from error
        summary = {"refitted on the corrected training data": reason}
    stored["applied"].append(request)
    write_pickle(model_path, stored)
    return summary


# -- stored test predictions ------------------------------------------------------------------------------

def mark_predictions_stale(run_folder: str, why: str) -> None:
    path = os.path.join(run_folder, "test", STALE)
    if os.path.exists(os.path.join(run_folder, "test", "predictions.npy")) and not os.path.exists(path):
        write_atomically(path, why.encode("utf-8"))


def recompute_predictions(run_folder: str) -> List[str]:
    """If the stored test predictions are marked stale: predict the stored test matrix (as it is now) with the
    current model, store them (deleted rows' entries stay empty) and drop the mark. Report lines.

    Callers mark them stale *before* changing the model or the matrix, so a run killed in between
    finds the mark and recomputes them when the request is run again.
    """
    from lester_inspect.ivm.files import write_array
    from lester_inspect.ivm.store import _deleted_rows
    from lester_inspect.models import one_torch_thread

    test = os.path.join(run_folder, "test")
    path, marker = os.path.join(test, "predictions.npy"), os.path.join(test, STALE)
    if not os.path.exists(marker) or not os.path.exists(path) or not os.path.exists(os.path.join(test, "X")):
        return []
    try:
        model = read_pickle(os.path.join(run_folder, "model.pkl"))["model"]
        with one_torch_thread():
            new = np.asarray(model.predict(columnar.read_matrix(os.path.join(test, "X"), drop_deleted=False)))
    except Exception as error:
        return [f"test: the stored predictions could not be recomputed ({error!r}); they stay marked stale"]
    old = np.load(path)
    new = new.astype(str) if new.dtype == object else new
    if new.dtype.kind != old.dtype.kind and not (new.dtype.kind in "biuf" and old.dtype.kind in "biuf"):
        new = new.astype(old.dtype)
    deleted = np.asarray(_deleted_rows(test), dtype=np.int64)
    new[deleted] = np.zeros(1, dtype=new.dtype)[0]
    alive = np.ones(len(new), dtype=bool)
    alive[deleted] = False
    changed = int(np.count_nonzero(changed_positions(old[alive], new[alive])))
    write_array(path, new)
    os.remove(marker)
    return [f"test: the stored predictions recomputed with the current model ({changed} of {int(alive.sum())} "
            "changed)"]


def predictions_note(run_folder: str) -> Optional[str]:
    """A one-line note when a run's stored test predictions are not the current model's."""
    path = os.path.join(run_folder, "test", STALE)
    if not os.path.exists(path):
        return None
    with open(path, encoding="utf-8") as handle:
        return (f"test predictions are stale: {handle.read().strip()}; predict with load(run)['model'] "
                "on load(run)['test']['X'] for current ones")


# -- command line -----------------------------------------------------------------------------------------

def add_rectify_command(commands, with_store) -> None:
    from lester_inspect.ivm.cli import add_change_options

    parser = with_store(commands.add_parser(
        "rectify", help="correct leaked values in captured runs (re-derive, re-encode, update the model)"))
    parser.add_argument("--rows", required=True, metavar="FILE:KEY=V1,V2|FILE:@R1,R2",
                        help="source rows by key values or 0-based positions, e.g. customers.csv:customer_id=2,4,6")
    parser.add_argument("--column", required=True, metavar="FILE:COLUMN", help="the column whose values to correct")
    how = parser.add_mutually_exclusive_group(required=True)
    how.add_argument("--replace", metavar="REGEX=>REPLACEMENT", help="replace the leaked part of the values")
    how.add_argument("--values-from", metavar="FILE", help="a CSV with the rows' key column and corrected values")
    add_change_options(parser)
    parser.set_defaults(handler=_rectify_command)


def _rectify_command(arguments) -> int:
    import sys

    from lester_inspect.ivm import ArtifactStore, ForgetIncomplete, ModelUpdateError
    from lester_inspect.ivm.cli import report_incomplete

    try:
        rows, column = RowSpec.parse(arguments.rows), ColumnSpec.parse(arguments.column)
        correction = Correction.replace(arguments.replace) if arguments.replace is not None else \
            Correction.values_from(arguments.values_from, rows, column)
        report = rectify(ArtifactStore(arguments.store), rows, column, correction,
                         None if arguments.all_affected else arguments.run, order=arguments.order, tau=arguments.tau)
    except (SpecError, ModelUpdateError, FileNotFoundError) as error:
        print(f"lester-inspect: {error}", file=sys.stderr)
        return 2
    except ForgetIncomplete as incomplete:
        return report_incomplete(incomplete)
    print(report)
    return 0 if report.runs else 1
