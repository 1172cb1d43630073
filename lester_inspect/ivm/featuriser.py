"""Maintain the fitted featuriser's statistics when training rows are removed or corrected.

A ``StandardScaler`` (alone, or the last step of a part whose earlier steps learn
nothing, like ``Pipeline([("count", WordCountTransformer()), ("scale", StandardScaler())])``)
learns the mean and variance of its training inputs; removing a training row changes
them, hence the scaled value of *every* row, train and test. Rewriting those cells in
place on each request would cost a pass over the whole matrix, and keeping the old
scaled values beside a correction would keep the removed rows' values (the old mean
minus the new one gives them away).

So capture stores such a block *unscaled*: the scaler's input per row goes to
``X/virtual_<n>.npy`` (float64, rows x block width), the block's bytes in the matrix
are zero, ``X/virtual.json`` holds the block's place, and the scaler's statistics live in
the matrix's ``state.json`` only. Reading the matrix (columnar.py) computes the block as
the scaler does (``(x - mean_) / scale_``, bit for bit). Capture checks that this gives
back exactly the matrix the model was fitted on (and that fitting a scaler on the inputs
gives back exactly its statistics), and otherwise leaves the block as it was.

A request fits the scalers again (``refitted``) on the training rows' inputs as they will
be: deleted rows left out, nulled cells NaN (a scaler skips NaN, as a run from scratch on
the nulled source does), rectified rows' new inputs. In their order, that is what a run
from scratch computes. The new statistics are recorded with the change of each matrix
(train and test) in the same atomic ``state.json`` write, so a matrix is always read in
its old or its new state. The stored featuriser is pickled without these statistics and
gets the current ones when loaded, so no stale statistic stays in the store.
"""
from __future__ import annotations

import copy
import os
from typing import Dict, List, Optional, Tuple

import numpy as np
import scipy.sparse as sp

from lester_inspect.ivm.files import read_json, write_array, write_json

VIRTUAL = "virtual.json"
_PLAIN_ATTRIBUTES = {"n_features_in_", "feature_names_in_"}


def _scaler_of(transformer):
    """``(steps before the scaler, scaler)`` if ``transformer`` is a dense StandardScaler or ends in one after
    steps that learned nothing; else None."""
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    steps = [step for _, step in transformer.steps] if isinstance(transformer, Pipeline) else [transformer]
    if not isinstance(steps[-1], StandardScaler):
        return None
    for step in steps[:-1]:
        learned = [a for a in vars(step) if a.endswith("_") and not a.startswith("_") and a not in _PLAIN_ATTRIBUTES]
        if learned:
            return None
    return steps[:-1], steps[-1]


def scaler_inputs(transformer, frame) -> np.ndarray:
    """The scaler's input for the rows of ``frame`` (the part's input columns): its earlier steps applied."""
    found = _scaler_of(transformer)
    values = frame
    for step in found[0]:
        values = step.transform(values)
    if sp.issparse(values):
        raise TypeError("the scaler's input is sparse")
    return np.array(values.to_numpy() if hasattr(values, "to_numpy") else values, dtype=np.float64).reshape(
        len(frame), -1)


def _scaled(inputs: np.ndarray, block: Dict) -> np.ndarray:
    values = inputs.copy()
    if block["mean"] is not None:
        values -= np.asarray(block["mean"], dtype=np.float64)
    if block["scale"] is not None:
        values /= np.asarray(block["scale"], dtype=np.float64)
    return values


_SCALER_STATISTICS = ("mean_", "var_", "scale_", "n_samples_seen_")


def _statistics(scaler) -> Dict:
    """What computing the block needs (``mean``/``scale``), and the scaler's fitted statistics as JSON."""
    def plain(value):
        return value.tolist() if isinstance(value, np.ndarray) else value.item() if isinstance(value, np.generic) \
            else value
    return {"mean": plain(scaler.mean_) if scaler.with_mean else None,
            "scale": plain(scaler.scale_) if scaler.with_std else None,
            "statistics": {a: plain(getattr(scaler, a)) for a in _SCALER_STATISTICS}}


def virtual_blocks(featuriser, data, X, fitted_here: bool) -> Tuple[object, List[Dict], List[str]]:
    """At capture: ``(X with the scaler blocks zeroed, blocks with their inputs, notes)``.

    A block is made virtual only if computing it from its inputs gives back exactly the
    captured matrix columns, and (``fitted_here``: the training data) fitting a scaler on
    them gives back exactly the fitted statistics.
    """
    if featuriser is None or data is None or X is None or not hasattr(featuriser, "output_indices_"):
        return X, [], []
    blocks, notes = [], []
    dense = None if sp.issparse(X) else np.asarray(X)
    if dense is not None and dense.dtype != np.float64:
        return X, [], []
    for name, transformer, columns in getattr(featuriser, "transformers_", []):
        if transformer in ("drop", "passthrough") or _scaler_of(transformer) is None:
            continue
        place = featuriser.output_indices_.get(name)
        if place is None or place.stop <= place.start:
            continue
        columns = [columns] if isinstance(columns, str) else list(columns)
        try:
            inputs = scaler_inputs(transformer, data[columns])
        except Exception as error:
            notes.append(f"featuriser {name}: its scaler's input could not be computed ({error!r}); "
                         "its statistics are not maintained")
            continue
        block = {"part": name, "start": place.start, "stop": place.stop, "inputs": inputs,
                 **_statistics(_scaler_of(transformer)[1])}
        captured = X[:, place.start:place.stop]
        captured = captured.toarray() if sp.issparse(captured) else np.asarray(captured)
        again = _scaled(inputs, block)
        if inputs.shape != captured.shape or not np.array_equal(again, captured, equal_nan=True):
            notes.append(f"featuriser {name}: scaling its inputs again does not reproduce the captured matrix "
                         "columns; its statistics are not maintained")
            continue
        # The memory order changes a sum's rounding: take the one that reproduces the fit exactly.
        block["order"] = next((order for order in ("C", "F") if not fitted_here or _refitted(
            np.asarray(inputs, order=order), block) == block["statistics"]), None)
        if block["order"] is None:
            notes.append(f"featuriser {name}: fitting its scaler again on its inputs does not reproduce its "
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
    """The virtual blocks' inputs, their places (``virtual.json``) and the scalers' statistics, which live in the
    matrix's ``state.json`` only: they change with its rows, in one atomic write (columnar.record_change)."""
    described, statistics = [], {}
    for number, block in enumerate(blocks):
        write_array(os.path.join(folder, f"virtual_{number}.npy"), block["inputs"])
        described.append({k: block[k] for k in ("part", "start", "stop", "order")} | {"file": f"virtual_{number}.npy"})
        statistics[block["part"]] = {k: block[k] for k in ("statistics", "mean", "scale")}
    write_json(os.path.join(folder, VIRTUAL), {"blocks": described})
    write_json(os.path.join(folder, "state.json"), {"statistics": statistics})


def read_blocks(folder: str) -> List[Dict]:
    """The virtual blocks of a matrix folder with their scalers' current statistics."""
    from lester_inspect.ivm.columnar import read_state

    path = os.path.join(folder, VIRTUAL)
    if not os.path.exists(path):
        return []
    statistics = read_state(folder)["statistics"]
    return [block | statistics[block["part"]] for block in read_json(path)["blocks"]]


def fill(folder: str, matrix, rows: Optional[np.ndarray] = None):
    """``matrix`` (all rows, or the given ``rows`` of the stored matrix, dense) with its virtual blocks computed."""
    blocks = read_blocks(folder)
    if not blocks:
        return matrix
    for block in blocks:
        inputs = np.load(os.path.join(folder, block["file"]), mmap_mode="r")
        # NaN inputs are removed or nulled cells: shown as 0, as zeroed feature ranges are.
        values = np.nan_to_num(_scaled(np.array(inputs if rows is None else inputs[rows], dtype=np.float64), block),
                               nan=0.0)
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


def scrub_blocks(folder: str, rows, ranges) -> None:
    """Write NaN over the inputs of the virtual block columns in ``ranges`` of ``rows``: a scaler skips them."""
    from lester_inspect.ivm.files import write_array_entries

    rows = np.asarray(sorted(set(int(r) for r in rows)), dtype=np.int64)
    for block in read_blocks(folder):
        width = block["stop"] - block["start"]
        columns = sorted({c - block["start"] for low, high in ranges
                          for c in range(max(low, block["start"]), min(high, block["stop"]))})
        if not columns or not len(rows):
            continue
        flat = (rows[:, None] * width + np.asarray(columns)[None, :]).ravel()
        write_array_entries(os.path.join(folder, block["file"]), flat, np.full(len(flat), np.nan))


def block_inputs(run_folder: str, rows, featuriser, frame) -> Dict:
    """Rectified rows: ``{part: (rows, inputs)}`` of the training matrix's virtual blocks, from the corrected
    values (``frame``, one row per row)."""
    parts = {name: (transformer, columns) for name, transformer, columns in getattr(featuriser, "transformers_", [])}
    found = {}
    for block in read_blocks(os.path.join(run_folder, "train", "X")):
        transformer, columns = parts[block["part"]]
        columns = [columns] if isinstance(columns, str) else list(columns)
        found[block["part"]] = (np.asarray(rows, dtype=np.int64),
                                scaler_inputs(transformer, frame[columns].reset_index(drop=True)))
    return found


def set_block_inputs(folder: str, rows, featuriser, frame) -> None:
    """Rectified rows: write their virtual blocks' inputs from the corrected values (``frame``, one row per row)."""
    from lester_inspect.ivm.files import write_array_entries

    rows = np.asarray(rows, dtype=np.int64)
    parts = {name: (transformer, columns) for name, transformer, columns in getattr(featuriser, "transformers_", [])}
    for block in read_blocks(folder):
        transformer, columns = parts[block["part"]]
        columns = [columns] if isinstance(columns, str) else list(columns)
        inputs = scaler_inputs(transformer, frame[columns].reset_index(drop=True))
        width = block["stop"] - block["start"]
        flat = (rows[:, None] * width + np.arange(width)[None, :]).ravel()
        write_array_entries(os.path.join(folder, block["file"]), flat, inputs.ravel())


def refitted(run_folder: str, deleted_rows=(), nulled_rows=(), ranges=(), inputs: Optional[Dict] = None):
    """The scalers' statistics after a change, fitted again on the training rows' inputs as they will be:
    without ``deleted_rows`` (and the rows deleted before), NaN in the block columns of ``ranges`` for
    ``nulled_rows``, and ``inputs`` (rectify: ``{part: (rows, values)}``) written over.

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
        values = np.load(os.path.join(train, block["file"]))
        alive = np.ones(len(values), dtype=bool)
        alive[gone] = False
        columns = [c - block["start"] for low, high in ranges
                   for c in range(max(low, block["start"]), min(high, block["stop"]))]
        if len(nulled_rows) and columns:
            values[np.ix_(nulled_rows, np.asarray(columns))] = np.nan
        if inputs and block["part"] in inputs:
            rows, new = inputs[block["part"]]
            values[np.asarray(rows, dtype=np.int64)] = new
        statistics = _refitted(np.asarray(values[alive], order=block["order"]), block)
        # All blocks, changed or not: a rerun after a crash must still give them to a matrix not yet changed.
        fitted[block["part"]] = {"statistics": statistics,
                                 "mean": statistics["mean_"] if block["mean"] is not None else None,
                                 "scale": statistics["scale_"] if block["scale"] is not None else None}
        if statistics == block["statistics"]:
            continue
        described = ", ".join(f"{what}_ {_short(block['statistics'][what + '_'])} -> {_short(statistics[what + '_'])}"
                              for what in ("mean", "var") if block["statistics"][what + "_"] != statistics[what + "_"])
        lines.append(f"featuriser {block['part']} (StandardScaler): fitted again on the {int(alive.sum())} remaining "
                     f"training rows: {described}; matrix columns {block['start']}-{block['stop'] - 1} of every train "
                     "and test row re-encoded (computed from the stored inputs when read)")
    return fitted, lines


def _refitted(inputs: np.ndarray, block: Dict) -> Dict:
    """The statistics a scaler like the block's learns from ``inputs`` (the rows a run from scratch fits on)."""
    from sklearn.preprocessing import StandardScaler

    scaler = StandardScaler(with_mean=block["mean"] is not None, with_std=block["scale"] is not None)
    return _statistics(scaler.fit(inputs))["statistics"]


def strip_statistics(featuriser, blocks: List[Dict]):
    """A copy of the featuriser without the statistics of its virtual blocks' scalers: those are kept (and
    maintained) only in the matrix's ``state.json``, so that the stored featuriser holds no stale value."""
    if not blocks:
        return featuriser
    stripped = copy.deepcopy(featuriser)
    parts = {name: transformer for name, transformer, _ in stripped.transformers_}
    for block in blocks:
        scaler = _scaler_of(parts[block["part"]])[1]
        for attribute in _SCALER_STATISTICS:
            setattr(scaler, attribute, None)
    return stripped


def restore_statistics(featuriser, run_folder: str) -> None:
    """Give the stored featuriser's scalers their current (maintained) statistics."""
    blocks = read_blocks(os.path.join(run_folder, "train", "X"))
    if not blocks:
        return
    parts = {name: transformer for name, transformer, _ in featuriser.transformers_}
    for block in blocks:
        scaler = _scaler_of(parts[block["part"]])[1]
        for attribute, value in block["statistics"].items():
            setattr(scaler, attribute, np.asarray(value, dtype=np.int64 if attribute == "n_samples_seen_" else
                                                  np.float64) if isinstance(value, list) else value)


def _short(values) -> str:
    if values is None:
        return "none"
    return "[" + ", ".join(f"{v:.6g}" for v in values) + "]"
