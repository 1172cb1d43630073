"""Maintain the fitted featuriser's statistics when training rows are removed or corrected.

A part of the stored ``ColumnTransformer`` whose learning steps are ``StandardScaler``s and
mean / median / most-frequent ``SimpleImputer``s (alone, in a chain like
``Pipeline([("impute", SimpleImputer()), ("scale", StandardScaler())])``, or after steps that
learn nothing, like ``FunctionTransformer(np.log1p)``) learns aggregates of its training
inputs: means, variances, medians, most frequent values. Removing a training row changes
them, hence the encoded value of *every* row (a scaler) or of every imputed cell (an
imputer), train and test. Rewriting those cells in place on each request would cost a pass
over the whole matrix, and keeping the old values beside a correction would keep the removed
rows' values (the old mean minus the new one gives them away).

So capture stores such a block *unencoded*: the input of its first learning step per row goes
to ``X/virtual_<n>.npy`` (float64, rows x block width, NaN where a value is missing), the
block's bytes in the matrix are zero, ``X/virtual.json`` holds the block's place and steps, and
the steps' fitted statistics live in the matrix's ``state.json`` only. Reading the matrix
(columnar.py) computes the block as the steps do (imputed: ``where(isnan(x), fill, x)``;
scaled: ``(x - mean_) / scale_``, bit for bit). Capture checks that this gives back exactly
the matrix the model was fitted on (and that fitting the steps on the inputs gives back exactly
their statistics), and otherwise leaves the block as it was.

A request fits the steps again (``refitted``) on the training rows' inputs as they will be:
deleted rows left out, nulled cells NaN (an imputer and a scaler skip NaN, as a run from
scratch on the nulled source does), rectified rows' new inputs. In their order, that is what a
run from scratch computes. The new statistics are recorded with the change of each matrix
(train and test) in the same atomic ``state.json`` write, so a matrix is always read in its old
or its new state. The stored featuriser is pickled without these statistics and gets the
current ones when loaded, so no stale statistic stays in the store.
"""
from __future__ import annotations

import copy
import os
import warnings
from typing import Dict, List, Optional, Tuple

import numpy as np
import scipy.sparse as sp

from lester_inspect.ivm.files import read_json, write_array, write_json

VIRTUAL = "virtual.json"
_PLAIN_ATTRIBUTES = {"n_features_in_", "feature_names_in_"}
#: Per kind of learning step, the fitted attributes kept (and maintained) in ``state.json``.
_FITTED = {"scale": ("mean_", "var_", "scale_", "n_samples_seen_"), "impute": ("statistics_",), "tfidf": ("idf_",)}


def _config(step) -> Optional[Dict]:
    """How to fit a step like ``step`` again, if it is one this module maintains; else None.

    Exact types only: a subclass may compute something else. Dispatched by name first, so that a
    featuriser without text or imputers imports no module of them.
    """
    kind = type(step).__name__
    if kind == "StandardScaler":
        from sklearn.preprocessing import StandardScaler

        if type(step) is StandardScaler:
            return {"kind": "scale", "with_mean": bool(step.with_mean), "with_std": bool(step.with_std)}
    elif kind == "TfidfVectorizer":
        from sklearn.feature_extraction.text import TfidfVectorizer

        if type(step) is TfidfVectorizer and step.use_idf and every_term(step):
            return {"kind": "tfidf", "norm": step.norm, "smooth_idf": bool(step.smooth_idf),
                    "sublinear_tf": bool(step.sublinear_tf)}
    elif kind == "SimpleImputer":
        from sklearn.impute import SimpleImputer

        missing = step.missing_values
        if (type(step) is SimpleImputer and step.strategy in ("mean", "median", "most_frequent")
                and not step.add_indicator and not step.keep_empty_features and isinstance(missing, float)
                and np.isnan(missing)):
            return {"kind": "impute", "strategy": step.strategy}
    return None


def every_term(vectoriser) -> bool:
    """Whether a text vectoriser's vocabulary is every term of its training documents (no document-frequency
    bounds, no size limit, not given): then removing documents only removes the terms they alone had."""
    return (vectoriser.vocabulary is None and vectoriser.max_features is None and vectoriser.min_df == 1
            and not isinstance(vectoriser.min_df, float) and vectoriser.max_df == 1.0
            and isinstance(vectoriser.max_df, float))


def _estimator(config: Dict):
    if config["kind"] == "tfidf":
        from sklearn.feature_extraction.text import TfidfTransformer

        return TfidfTransformer(norm=config["norm"], smooth_idf=config["smooth_idf"],
                                sublinear_tf=config["sublinear_tf"])
    if config["kind"] == "scale":
        from sklearn.preprocessing import StandardScaler

        return StandardScaler(with_mean=config["with_mean"], with_std=config["with_std"])
    from sklearn.impute import SimpleImputer

    return SimpleImputer(strategy=config["strategy"])


def _name(config: Dict) -> str:
    return {"scale": "StandardScaler", "tfidf": "TfidfVectorizer"}.get(config["kind"]) or \
        f"SimpleImputer, {config['strategy']}"


def _holder(step, config: Dict):
    """The object holding the step's fitted statistics (a TF-IDF vectoriser keeps its idf_ in a transformer)."""
    return step._tfidf if config["kind"] == "tfidf" else step


def _learns(step) -> bool:
    return any(a.endswith("_") and not a.startswith("_") and a not in _PLAIN_ATTRIBUTES for a in vars(step))


def _chain(transformer) -> Optional[Tuple[list, list]]:
    """``(steps that learned nothing, learning steps)`` if every learning step of ``transformer`` (a step or a
    Pipeline) is one this module maintains and they all come after the others; else None."""
    from sklearn.pipeline import Pipeline

    steps = [step for _, step in transformer.steps] if isinstance(transformer, Pipeline) else [transformer]
    first = next((i for i, step in enumerate(steps) if _learns(step)), len(steps))
    learning = steps[first:]
    configs = [_config(step) for step in learning]
    if not learning or any(c is None for c in configs) or (len(steps) > 1 and any(
            c["kind"] == "tfidf" for c in configs)):
        return None
    return steps[:first], learning


def part_inputs(transformer, frame) -> np.ndarray:
    """The first learning step's input for the rows of ``frame`` (the part's input columns); for a TF-IDF
    vectoriser its term counts (CSR)."""
    if _config(_chain(transformer)[1][0])["kind"] == "tfidf":
        return _term_counts(transformer, frame.iloc[:, 0] if hasattr(frame, "iloc") and frame.ndim == 2 else frame)
    values = frame
    for step in _chain(transformer)[0]:
        values = step.transform(values)
    if sp.issparse(values):
        raise TypeError("the input of its first learning step is sparse")
    return np.array(values.to_numpy() if hasattr(values, "to_numpy") else values, dtype=np.float64).reshape(
        len(frame), -1)


def _term_counts(vectoriser, documents):
    """Each document's counts of the vocabulary's terms (CSR, float64), each row's terms in the order they first
    occur in the document, as ``fit`` counts them before ordering (see ``_ordered``)."""
    analyse, vocabulary = vectoriser.build_analyzer(), vectoriser.vocabulary_
    indices, counts, indptr = [], [], [0]
    for document in documents:
        counter: Dict[int, int] = {}
        for term in analyse(document):
            column = vocabulary.get(term)
            if column is not None:
                counter[column] = counter.get(column, 0) + 1
        indices.extend(counter)
        counts.extend(counter.values())
        indptr.append(len(indices))
    return sp.csr_matrix((np.asarray(counts, dtype=np.float64), np.asarray(indices, dtype=np.int32),
                          np.asarray(indptr, dtype=np.int64)), shape=(len(indptr) - 1, len(vocabulary)))


def _rank(counts) -> List[int]:
    """Each term's place in the order ``fit`` first meets the terms of the training documents (``counts``: the
    remaining rows, terms in document order); terms no document has come last."""
    positions = np.flatnonzero(counts.data != 0)
    first = np.full(counts.shape[1], len(counts.data), dtype=np.int64)
    np.minimum.at(first, counts.indices[positions], positions)  # one pass, no sort of the entries
    return np.argsort(np.argsort(first, kind="stable"), kind="stable").tolist()


def _ordered(counts, rank):
    """``counts`` with each row's terms in the order a TF-IDF transform sums them: on the training documents
    (``rank`` given) that of ``fit``, which keeps the order it first met the terms; else sorted by column, as
    ``transform`` counts them. The l2 and l1 norms add in that order: another one changes the last bit."""
    counts = sp.csr_matrix(counts, copy=True)
    counts.eliminate_zeros()  # scrubbed counts are no terms (a sublinear tf would take their log)
    if rank is None:
        counts.sort_indices()
        return counts
    rows = np.repeat(np.arange(counts.shape[0]), np.diff(counts.indptr))
    order = np.lexsort((np.asarray(rank, dtype=np.int64)[counts.indices], rows))
    counts.data, counts.indices = counts.data[order], counts.indices[order]
    counts.has_sorted_indices = False
    return counts


def _apply(values: np.ndarray, steps: List[Dict], statistics: List[Dict], fit_order: bool = False) -> np.ndarray:
    """The block computed from its inputs, as the fitted steps transform them (``fit_order``: the training rows,
    as ``fit_transform`` does)."""
    for config, fitted in zip(steps, statistics):
        if config["kind"] == "tfidf":  # sklearn's own transform with the maintained idf_: the same cells, bit for bit
            transformer = _estimator(config)
            transformer.idf_ = np.asarray(fitted["idf_"], dtype=np.float64)
            transformer.n_features_in_ = values.shape[1]
            return sp.csr_matrix(transformer.transform(_ordered(values, fitted["rank"] if fit_order else None)))
        if config["kind"] == "impute":
            values = np.where(np.isnan(values), np.asarray(fitted["statistics_"], dtype=np.float64), values)
            continue
        if config["with_mean"]:
            values = values - np.asarray(fitted["mean_"], dtype=np.float64)
        if config["with_std"]:
            values = values / np.asarray(fitted["scale_"], dtype=np.float64)
    return values


def _plain(value):
    return value.tolist() if isinstance(value, np.ndarray) else value.item() if isinstance(value, np.generic) \
        else value


def _fitted(step, config: Dict) -> Dict:
    return {a: _plain(getattr(step, a)) for a in _FITTED[config["kind"]]}


def _refit(inputs: np.ndarray, steps: List[Dict], order: str) -> List[Dict]:
    """The statistics steps like the block's learn from ``inputs`` (the rows a run from scratch fits on)."""
    values, statistics = inputs, []
    for config in steps:
        estimator = _estimator(config)
        if sp.issparse(values):  # term counts: scrubbed entries are no terms
            values = sp.csr_matrix(values, copy=True)
            values.eliminate_zeros()
        if config["kind"] == "impute":
            with warnings.catch_warnings():  # a column without any value left: reported by refitted
                warnings.simplefilter("ignore")
                estimator.fit(np.asarray(values, order=order))
        else:
            estimator.fit(values if sp.issparse(values) else np.asarray(values, order=order))
        statistics.append(_fitted(estimator, config) | ({"rank": _rank(values)} if config["kind"] == "tfidf" else {}))
        if len(statistics) < len(steps):  # the next step's input
            values = _apply(values, [config], statistics[-1:])
    return statistics


def _same(computed, captured) -> bool:
    """Whether a block computed from its inputs is exactly the captured matrix columns."""
    if sp.issparse(computed) or sp.issparse(captured):
        return (sp.csr_matrix(computed) != sp.csr_matrix(captured)).nnz == 0
    return np.array_equal(computed, np.asarray(captured), equal_nan=True)


def virtual_blocks(featuriser, data, X, fitted_here: bool) -> Tuple[object, List[Dict], List[str]]:
    """At capture: ``(X with the maintained blocks zeroed, blocks with their inputs, notes)``.

    A block is made virtual only if computing it from its inputs gives back exactly the
    captured matrix columns, and (``fitted_here``: the training data) fitting its steps on
    them gives back exactly the fitted statistics.
    """
    if featuriser is None or data is None or X is None or not hasattr(featuriser, "output_indices_"):
        return X, [], []
    blocks, notes = [], []
    dense = None if sp.issparse(X) else np.asarray(X)
    if dense is not None and dense.dtype != np.float64:
        return X, [], []
    for name, transformer, columns in getattr(featuriser, "transformers_", []):
        if transformer in ("drop", "passthrough") or _chain(transformer) is None:
            continue
        place = featuriser.output_indices_.get(name)
        if place is None or place.stop <= place.start:
            continue
        columns = [columns] if isinstance(columns, str) else list(columns)
        learning = _chain(transformer)[1]
        steps = [_config(step) for step in learning]
        try:
            inputs = part_inputs(transformer, data[columns])
        except Exception as error:
            notes.append(f"featuriser {name}: the input of its {_name(steps[0])} could not be computed ({error!r}); "
                         "its statistics are not maintained")
            continue
        block = {"part": name, "start": place.start, "stop": place.stop, "inputs": inputs, "steps": steps,
                 "fit_order": fitted_here,
                 "statistics": [_fitted(step, config) | ({"rank": _rank(inputs)} if config["kind"] == "tfidf" else {})
                                for step, config in zip(learning, steps)]}
        captured = X[:, place.start:place.stop]
        again = _apply(inputs, steps, block["statistics"], fitted_here)
        if inputs.shape != captured.shape or not _same(again, captured):
            notes.append(f"featuriser {name}: encoding its inputs again does not reproduce the captured matrix "
                         "columns; its statistics are not maintained")
            continue
        # The memory order changes a sum's rounding: take the one that reproduces the fit exactly.
        block["order"] = next((order for order in ("C", "F") if not fitted_here or _refit(
            inputs, steps, order) == block["statistics"]), None)
        if block["order"] is None:
            notes.append(f"featuriser {name}: fitting its steps again on its inputs does not reproduce their "
                         "statistics; they are not maintained")
            continue
        blocks.append(block)
    if not blocks:
        return X, [], notes
    if dense is not None:
        stored = dense.copy()
        for block in blocks:
            stored[:, block["start"]:block["stop"]] = 0
    else:
        stored = sp.csr_matrix(X, copy=True)
        hit = np.zeros(stored.shape[1], dtype=bool)
        for block in blocks:
            hit[block["start"]:block["stop"]] = True
        stored.data[hit[stored.indices]] = 0
        stored.eliminate_zeros()
    return stored, blocks, notes


def write_blocks(folder: str, blocks: List[Dict]) -> None:
    """The virtual blocks' inputs, their places and steps (``virtual.json``) and the steps' statistics, which live
    in the matrix's ``state.json`` only: they change with its rows, in one atomic write (columnar.record_change)."""
    described, statistics = [], {}
    for number, block in enumerate(blocks):
        if sp.issparse(block["inputs"]):  # term counts, CSR: one file per array
            for part in ("data", "indices", "indptr"):
                write_array(os.path.join(folder, f"virtual_{number}.{part}.npy"), getattr(block["inputs"], part))
        else:
            write_array(os.path.join(folder, f"virtual_{number}.npy"), block["inputs"])
        described.append({k: block[k] for k in ("part", "start", "stop", "order", "steps", "fit_order")}
                         | {"file": f"virtual_{number}" + ("" if sp.issparse(block["inputs"]) else ".npy"),
                            "sparse": sp.issparse(block["inputs"])})
        statistics[block["part"]] = block["statistics"]
    write_json(os.path.join(folder, VIRTUAL), {"blocks": described})
    write_json(os.path.join(folder, "state.json"), {"statistics": statistics})


def read_blocks(folder: str) -> List[Dict]:
    """The virtual blocks of a matrix folder with their steps' current statistics."""
    from lester_inspect.ivm.columnar import read_state

    path = os.path.join(folder, VIRTUAL)
    if not os.path.exists(path):
        return []
    statistics, blocks = read_state(folder)["statistics"], read_json(path)["blocks"]
    if any("steps" not in block for block in blocks):
        raise ValueError(f"{folder}: its scaler blocks were stored by an earlier lester-inspect, which this one "
                         "cannot read; capture the run again")
    return [{"sparse": False, "fit_order": False} | block | {"statistics": statistics[block["part"]]}
            for block in blocks]


def fill(folder: str, matrix, rows: Optional[np.ndarray] = None):
    """``matrix`` (all rows, or the given ``rows`` of the stored matrix, dense) with its virtual blocks computed."""
    blocks = read_blocks(folder)
    if not blocks:
        return matrix
    for block in blocks:
        if block["sparse"]:
            values = _apply(_inputs(folder, block, rows), block["steps"], block["statistics"], block["fit_order"])
            if sp.issparse(matrix):  # the block's columns are empty in the stored matrix
                values = sp.csr_matrix((values.data, values.indices + block["start"], values.indptr),
                                       shape=(values.shape[0], matrix.shape[1]))
                matrix = (sp.csr_matrix(matrix) + values).tocsr()
            else:
                matrix[:, block["start"]:block["stop"]] = values.toarray()
            continue
        inputs = np.load(os.path.join(folder, block["file"]), mmap_mode="r")
        # NaN left after the steps are removed or nulled cells: shown as 0, as zeroed feature ranges are.
        values = np.nan_to_num(_apply(np.array(inputs if rows is None else inputs[rows], dtype=np.float64),
                                      block["steps"], block["statistics"]), nan=0.0)
        if sp.issparse(matrix):
            width = block["stop"] - block["start"]
            matrix = sp.csr_matrix(matrix)
            keep = (matrix.indices < block["start"]) | (matrix.indices >= block["stop"])
            if not keep.all():
                matrix.data[~keep] = 0
                matrix.eliminate_zeros()
            columns = np.tile(np.arange(block["start"], block["stop"]), len(values))
            addition = sp.csr_matrix((values.ravel(), columns, np.arange(0, len(values) * width + 1, width)),
                                     shape=matrix.shape)
            matrix = (matrix + addition).tocsr()
        else:
            matrix[:, block["start"]:block["stop"]] = values
    return matrix


def _inputs(folder: str, block: Dict, rows: Optional[np.ndarray] = None):
    """A sparse block's stored term counts (CSR), of all rows or of ``rows``."""
    base = os.path.join(folder, block["file"])
    mode = "r" if rows is not None else None  # a few rows: read only theirs
    data, indices, indptr = (np.load(f"{base}.{part}.npy", mmap_mode=mode) for part in ("data", "indices", "indptr"))
    width = block["stop"] - block["start"]
    if rows is None:
        return sp.csr_matrix((data, indices, indptr), shape=(len(indptr) - 1, width))
    rows = np.asarray(rows, dtype=np.int64)
    spans = [np.arange(indptr[r], indptr[r + 1]) for r in rows]
    taken = np.concatenate(spans) if spans else np.zeros(0, dtype=np.int64)
    lengths = np.asarray([len(span) for span in spans], dtype=np.int64)
    return sp.csr_matrix((np.asarray(data[taken]), np.asarray(indices[taken]), np.r_[0, np.cumsum(lengths)]),
                         shape=(len(rows), width))


def _zero_counts(folder: str, block: Dict, rows, columns) -> None:
    """Zero the stored term counts of ``rows`` (None: all) in the block's ``columns`` (offsets in the block)."""
    from lester_inspect.ivm.files import zero_array_entries

    base = os.path.join(folder, block["file"])
    indices = np.load(f"{base}.indices.npy", mmap_mode="r")
    if rows is None:
        positions = np.flatnonzero(np.isin(indices, columns))
    else:
        indptr = np.load(f"{base}.indptr.npy", mmap_mode="r")
        spans = [np.arange(indptr[r], indptr[r + 1]) for r in rows]
        positions = np.concatenate(spans) if spans else np.zeros(0, dtype=np.int64)
        positions = positions[np.isin(np.asarray(indices[positions]), columns)]
    zero_array_entries(f"{base}.data.npy", positions)


def _zero_entries(counts, rows, columns) -> None:
    """Zero ``counts`` (CSR, in memory) at ``rows`` x ``columns``, keeping each row's order of terms."""
    row_of = np.repeat(np.arange(counts.shape[0]), np.diff(counts.indptr))
    counts.data[np.isin(row_of, rows) & np.isin(counts.indices, columns)] = 0


def without_blocks(folder: str, rows: np.ndarray) -> np.ndarray:
    """Dense matrix rows to be stored, with the virtual blocks' columns zero: they are computed when read, and a
    copy would keep statistics a later request replaces."""
    rows = np.array(rows, dtype=np.float64)
    for block in read_blocks(folder):
        rows[:, block["start"]:block["stop"]] = 0
    return rows


def scrub_block_columns(folder: str, columns) -> None:
    """Zero every row's term counts in the given matrix columns (a removed vocabulary entry's)."""
    for block in read_blocks(folder):
        inside = [c - block["start"] for c in columns if block["start"] <= c < block["stop"]]
        if block["sparse"] and inside:
            _zero_counts(folder, block, None, inside)


def scrub_blocks(folder: str, rows, ranges) -> None:
    """Write NaN over the inputs of the virtual block columns in ``ranges`` of ``rows``: the steps skip them
    (term counts: zero, no term)."""
    from lester_inspect.ivm.files import write_array_entries

    rows = np.asarray(sorted(set(int(r) for r in rows)), dtype=np.int64)
    for block in read_blocks(folder):
        width = block["stop"] - block["start"]
        columns = sorted({c - block["start"] for low, high in ranges
                          for c in range(max(low, block["start"]), min(high, block["stop"]))})
        if not columns or not len(rows):
            continue
        if block["sparse"]:
            _zero_counts(folder, block, rows, columns)
            continue
        flat = (rows[:, None] * width + np.asarray(columns)[None, :]).ravel()
        write_array_entries(os.path.join(folder, block["file"]), flat, np.full(len(flat), np.nan))


def block_inputs(run_folder: str, rows, featuriser, frame) -> Dict:
    """Rectified rows: ``{part: (rows, inputs)}`` of the training matrix's virtual blocks, from the corrected
    values (``frame``, one row per row)."""
    parts = {name: (transformer, columns) for name, transformer, columns in getattr(featuriser, "transformers_", [])}
    found = {}
    for block in read_blocks(os.path.join(run_folder, "train", "X")):
        if block["sparse"]:
            continue  # term counts are corrected where they lie (set_block_inputs) before the refit reads them
        transformer, columns = parts[block["part"]]
        columns = [columns] if isinstance(columns, str) else list(columns)
        found[block["part"]] = (np.asarray(rows, dtype=np.int64),
                                part_inputs(transformer, frame[columns].reset_index(drop=True)))
    return found


def set_block_inputs(folder: str, rows, featuriser, frame) -> List[str]:
    """Rectified rows: write their virtual blocks' inputs from the corrected values (``frame``, one row per row).
    Report lines on rows whose terms could not be written (their cells then read as 0)."""
    from lester_inspect.ivm.columnar import read_state
    from lester_inspect.ivm.files import write_array_entries

    rows = np.asarray(rows, dtype=np.int64)
    parts = {name: (transformer, columns) for name, transformer, columns in getattr(featuriser, "transformers_", [])}
    lines = []
    for block in read_blocks(folder):
        transformer, columns = parts[block["part"]]
        columns = [columns] if isinstance(columns, str) else list(columns)
        if block["sparse"]:
            counts = part_inputs(transformer, frame[columns].reset_index(drop=True))
            # The vocabulary lost the removed terms; the stored counts keep their captured columns.
            dropped = [c - block["start"] for c in read_state(folder)["dropped_columns"]
                       if block["start"] <= c < block["stop"]]
            counts.indices = np.setdiff1d(np.arange(block["stop"] - block["start"]), dropped)[counts.indices]
            refused = _rewrite_counts(folder, block, rows, counts)
            if refused:
                lines.append(f"NOT MAINTAINED: featuriser {block['part']} ({_name(block['steps'][0])}): "
                             f"{len(refused)} rectified row(s) have terms or a term order their stored counts do not "
                             "(only removing terms is written in place); their terms are not counted (their cells "
                             "read as 0) and idf_ is fitted as if their documents were empty")
            continue
        inputs = part_inputs(transformer, frame[columns].reset_index(drop=True))
        width = block["stop"] - block["start"]
        flat = (rows[:, None] * width + np.arange(width)[None, :]).ravel()
        write_array_entries(os.path.join(folder, block["file"]), flat, inputs.ravel())
    return lines


def _rewrite_counts(folder: str, block: Dict, rows: np.ndarray, counts) -> List[int]:
    """Write rectified documents' term counts where their old ones lie: possible when the new document's terms are
    some of the old ones, met in the same order (a removed card number). Other rows are zeroed; returns them."""
    from lester_inspect.ivm.files import write_array_entries

    base = os.path.join(folder, block["file"])
    indptr, indices = (np.load(f"{base}.{part}.npy", mmap_mode="r") for part in ("indptr", "indices"))
    positions, values, refused = [], [], []
    for number, row in enumerate(rows.tolist()):
        start, stop = int(indptr[row]), int(indptr[row + 1])
        where = {int(column): at for at, column in enumerate(indices[start:stop])}
        new = slice(counts.indptr[number], counts.indptr[number + 1])
        at = [where.get(int(column), -1) for column in counts.indices[new]]
        written = np.zeros(stop - start)
        if -1 in at or at != sorted(at):
            refused.append(row)
        else:
            written[at] = counts.data[new]
        positions.extend(range(start, stop))
        values.extend(written.tolist())
    write_array_entries(f"{base}.data.npy", np.asarray(positions, dtype=np.int64), np.asarray(values))
    return refused


def refitted(run_folder: str, deleted_rows=(), nulled_rows=(), ranges=(), inputs: Optional[Dict] = None,
             test_rows=()):
    """The steps' statistics after a change, fitted again on the training rows' inputs as they will be:
    without ``deleted_rows`` (and the rows deleted before), NaN in the block columns of ``ranges`` for
    ``nulled_rows``, and ``inputs`` (rectify: ``{part: (rows, values)}``) written over.
    ``test_rows``: the test rows the change deletes or nulls (not counted as re-encoded).

    Returns ``(statistics of every block, report lines on those that change)``; callers store them
    with the matrix's change (``columnar.record_change(..., statistics=...)``), for train and test.
    """
    from lester_inspect.ivm.columnar import read_state

    train = os.path.join(run_folder, "train", "X")
    blocks = read_blocks(train)
    if not blocks:
        return {}, []
    gone = np.union1d(np.asarray(read_state(os.path.join(run_folder, "train"))["deleted_rows"], dtype=np.int64),
                      np.asarray(deleted_rows, dtype=np.int64)).astype(np.int64)
    nulled_rows = np.asarray(nulled_rows, dtype=np.int64)
    fitted, lines = {}, []
    for block in blocks:
        values = _inputs(train, block) if block["sparse"] else np.load(os.path.join(train, block["file"]))
        alive = np.ones(values.shape[0], dtype=bool)
        alive[gone] = False
        columns = [c - block["start"] for low, high in ranges
                   for c in range(max(low, block["start"]), min(high, block["stop"]))]
        if len(nulled_rows) and columns:
            if block["sparse"]:
                _zero_entries(values, nulled_rows, columns)
            else:
                values[np.ix_(nulled_rows, np.asarray(columns))] = np.nan
        if inputs and block["part"] in inputs:
            rows, new = inputs[block["part"]]
            values[np.asarray(rows, dtype=np.int64)] = new
        statistics = _refit(values[alive], block["steps"], block["order"])
        # All blocks, changed or not: a rerun after a crash must still give them to a matrix not yet changed.
        fitted[block["part"]] = statistics
        for config, old, new in zip(block["steps"], block["statistics"], statistics):
            if old == new:
                continue
            described = ", ".join(f"{a} {_short(old[a])} -> {_short(new[a])}" for a in _FITTED[config["kind"]]
                                  if a != "n_samples_seen_" and old[a] != new[a])
            head = (f"featuriser {block['part']} ({_name(config)}): fitted again on the {int(alive.sum())} remaining "
                    f"training rows: {described}; matrix column{'s' if block['stop'] - block['start'] > 1 else ''} "
                    f"{block['start']}{'-' + str(block['stop'] - 1) if block['stop'] - block['start'] > 1 else ''} of ")
            if config["kind"] == "tfidf":
                changed = int(np.count_nonzero(np.asarray(old["idf_"]) != np.asarray(new["idf_"])))
                lines.append(f"featuriser {block['part']} (TfidfVectorizer): fitted again on the {int(alive.sum())} "
                             f"remaining training rows: idf_ of {changed} term(s) changed; matrix columns "
                             f"{block['start']}-{block['stop'] - 1} of every train and test row re-weighted (computed "
                             "from the stored term counts when read)")
                continue
            if config["kind"] == "scale":
                lines.append(head + "every train and test row re-encoded (computed from the stored inputs when read)")
                continue
            # An imputer changes only the cells it filled: those of rows missing an input.
            changed = [c for c, (a, b) in enumerate(zip(old["statistics_"], new["statistics_"])) if a != b]
            lines.append(head + "the rows it imputes re-encoded: " + "; ".join(
                _imputed_rows(run_folder, group, block, changed, *((values, gone, nulled_rows) if group == "train" else (None, test_rows, ())))
                for group in ("train", "test") if os.path.exists(os.path.join(run_folder, group, "X", VIRTUAL))))
            if any(np.isnan(v) for v in new["statistics_"]):
                lines.append(f"NOT MAINTAINED: featuriser {block['part']} ({_name(config)}): no remaining training "
                             "row has a value in column(s) " + ", ".join(
                                 str(block["start"] + c) for c, v in enumerate(new["statistics_"]) if np.isnan(v))
                             + "; a run from scratch drops them, here their cells read as 0")
    return fitted, lines


def _imputed_rows(run_folder: str, group: str, block: Dict, columns: List[int], values=None, gone=(),
                  nulled=()) -> str:
    """``group``'s rows whose input is missing in one of ``columns``, but for ``gone`` and ``nulled`` rows and
    those deleted or zeroed before, described."""
    from lester_inspect.ivm.columnar import read_state

    folder = os.path.join(run_folder, group, "X")
    if values is None:
        described = next(b for b in read_blocks(folder) if b["part"] == block["part"])
        values = np.load(os.path.join(folder, described["file"]), mmap_mode="r")
    hit = np.isnan(np.asarray(values)[:, columns]).any(axis=1)
    state = read_state(folder)
    for rows in (state["deleted_rows"], gone, nulled):
        hit[np.asarray(rows, dtype=np.int64)] = False
    for rows, ranges in state["zeroed"]:
        if any(low < block["stop"] and high > block["start"] for low, high in ranges):
            hit[np.asarray(rows, dtype=np.int64)] = False
    rows = np.flatnonzero(hit)
    shown = ", ".join(map(str, rows[:10].tolist())) + (f" and {len(rows) - 10} more" if len(rows) > 10 else "")
    return f"{len(rows)} {group} row(s)" + (f" (captured positions {shown})" if len(rows) else "")


def strip_statistics(featuriser, blocks: List[Dict]):
    """A copy of the featuriser without the statistics of its virtual blocks' steps: those are kept (and
    maintained) only in the matrix's ``state.json``, so that the stored featuriser holds no stale value."""
    if not blocks:
        return featuriser
    stripped = copy.deepcopy(featuriser)
    parts = {name: transformer for name, transformer, _ in stripped.transformers_}
    for block in blocks:
        for step, config in zip(_chain(parts[block["part"]])[1], block["steps"]):
            for attribute in _FITTED[config["kind"]]:
                setattr(_holder(step, config), attribute, None)
    return stripped


def restore_statistics(featuriser, run_folder: str) -> None:
    """Give the stored featuriser's steps their current (maintained) statistics."""
    from lester_inspect.ivm.columnar import read_state

    folder = os.path.join(run_folder, "train", "X")
    blocks = read_blocks(folder)
    if not blocks:
        return
    dropped = read_state(folder)["dropped_columns"]
    parts = {name: transformer for name, transformer, _ in featuriser.transformers_}
    for block in blocks:
        # A removed term's column is in the statistics (kept at the captured width), not in the vocabulary.
        inside = [c - block["start"] for c in dropped if block["start"] <= c < block["stop"]]
        for step, config, statistics in zip(_chain(parts[block["part"]])[1], block["steps"], block["statistics"]):
            for attribute, value in statistics.items():
                if attribute not in _FITTED[config["kind"]]:
                    continue  # kept for computing the block only
                if isinstance(value, list):
                    value = np.asarray(value, dtype=np.int64 if attribute == "n_samples_seen_" else np.float64)
                    value = np.delete(value, inside) if config["kind"] == "tfidf" else value
                setattr(_holder(step, config), attribute, value)
            if config["kind"] == "tfidf":  # the width it checks its input against: the vocabulary's
                _holder(step, config).n_features_in_ = len(step.vocabulary_)


def _short(values) -> str:
    if values is None:
        return "none"
    return "[" + ", ".join(f"{v:.6g}" for v in values) + "]"
