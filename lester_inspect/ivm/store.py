"""The artifact store: captured runs, the runs a leak affects, and ``forget``.

Layout under the store folder (default ``.lester``)::

    catalog.duckdb              runs, sources (path, fingerprint, rows, columns used), for queries
    lookup.json                 fingerprints and the runs reading each one: forget's hot path
    changes.jsonl               the log of forget requests (counts, never values)
    runs/<run_id>/manifest.json artifact list, column and matrix column provenance, source names
    runs/<run_id>/train/        relational training data (columnar, see columnar.py), X.*, y, lineage
    runs/<run_id>/test/         the same for the test data, plus predictions
    runs/<run_id>/model.pkl     the fitted model and the changes already applied to it

``forget`` touches only the affected cells: row provenance is stored sorted, so the
rows derived from given source rows are found by binary search; the cells are
overwritten where they lie.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import time
import uuid
from typing import Dict, List, Optional, Sequence

import numpy as np
import pandas as pd

from lester_inspect.ivm import catalog, columnar, maintenance
from lester_inspect.ivm.files import (crash_point, locked, read_json, read_pickle, write_array, write_json,
                                      write_pickle, zero_array_entries)
from lester_inspect.ivm.specs import ColumnSpec, RowSpec, SpecError


class ModelUpdateError(RuntimeError):
    """A model could be neither updated nor fitted again; ``forget`` changed nothing in that run."""


@dataclasses.dataclass
class RunChange:
    run_id: str
    rows: Dict[str, int]
    cells: Dict[str, int]
    model: Optional[dict]
    notes: List[str]


@dataclasses.dataclass
class ForgetReport:
    """What ``forget`` changed in every run, and how long each step took (seconds)."""

    request: str
    kind: str
    runs: List[RunChange]
    timings: Dict[str, float]

    def __str__(self) -> str:
        lines = [f"{self.kind} of request {self.request[:12]}: {len(self.runs)} run(s) changed in "
                 f"{sum(self.timings.values()):.3f} s (affected runs found in "
                 f"{self.timings.get('find affected runs', 0.0):.3f} s)"]
        for change in self.runs:
            train_first = sorted(change.rows, key=lambda group: group != "train")
            rows = ", ".join(f"{change.rows[group]} {group}" for group in train_first)
            cells = ", ".join(f"{artifact} {change.cells[artifact]}" for group in train_first
                              for artifact in sorted(change.cells) if artifact.startswith(f"{group}/"))
            lines.append(f"  run {change.run_id}: rows {rows}; cells/entries {cells or 'none'}")
            if change.model:
                lines.append(f"    model: {_describe_model_change(change.model)}")
            lines.extend(f"    note: {note}" for note in change.notes)
            steps = [(step.split(": ", 1)[1], seconds) for step, seconds in self.timings.items()
                     if step.startswith(f"{change.run_id}: ")]
            lines.append("    took: " + ", ".join(f"{step} {seconds:.3f} s" for step, seconds in steps))
        return "\n".join(lines)


def _describe_model_change(model: Dict) -> str:
    if "skipped" in model:
        return "already updated for this request"
    if "order" in model:
        step = f"tau {model['tau']:.3g}, " if model["tau"] is not None else ""
        return (f"{model['order']}-order update ({step}gradient norm {model['gradient_norm']:.4g}), "
                f"{model['parameters_changed']} parameters changed")
    return "; ".join(f"{what} ({why})" for what, why in model.items())


class ArtifactStore:
    """A folder of captured pipeline runs. See the module docstring for the layout."""

    def __init__(self, path: str = ".lester"):
        self.path = path

    def _run_folder(self, run_id: str) -> str:
        return os.path.join(self.path, "runs", run_id)

    # -- capture ---------------------------------------------------------------------------------------

    def save(self, run_id: str, name: str, pipeline: str, group: str, artifacts: Dict, sources: List[Dict],
             manifest_update: Dict) -> None:
        """Write one group's artifacts (train or test) of a run and register the run in the catalog."""
        with locked(self.path):
            folder = self._run_folder(run_id)
            os.makedirs(os.path.join(folder, group), exist_ok=True)
            manifest_path = os.path.join(folder, "manifest.json")
            manifest = read_json(manifest_path) if os.path.exists(manifest_path) else {
                "run_id": run_id, "name": name, "pipeline": pipeline, "groups": {}}
            group_folder = os.path.join(folder, group)
            stored = {}
            if artifacts.get("data") is not None:
                columnar.write_frame(os.path.join(group_folder, "data"), artifacts["data"])
                stored["data"] = len(artifacts["data"])
            if artifacts.get("X") is not None:
                columnar.write_matrix(os.path.join(group_folder, "X"), artifacts["X"])
                stored["X"] = artifacts["X"].shape[0]
            for part in ("y", "predictions"):
                if artifacts.get(part) is not None:
                    write_array(os.path.join(group_folder, f"{part}.npy"), np.asarray(artifacts[part]))
            _write_lineage(os.path.join(group_folder, "lineage"), artifacts.get("lineage") or {})
            if artifacts.get("model") is not None:
                write_pickle(os.path.join(folder, "model.pkl"), {"model": artifacts["model"], "applied": []})
            lookup = catalog.Lookup(self.path)
            sources = [{**s, "fingerprint": lookup.fingerprint(s["path"])} for s in sources]
            manifest["groups"][group] = {**manifest_update, "stored": stored,
                                         "lineage_sources": sorted(artifacts.get("lineage") or {})}
            manifest.setdefault("sources", {}).update({s["name"]: {k: v for k, v in s.items() if k != "name"}
                                                       for s in sources})
            write_json(manifest_path, manifest)
            # The lookup before the catalog: a crash in between leaves a run that forget still finds.
            lookup.add_run(manifest)
            lookup.save()
            connection = catalog.connect(self.path)
            try:
                catalog.add_run(connection, {
                    "run_id": run_id, "name": name, "pipeline": pipeline,
                    "model": manifest["groups"].get("train", {}).get("model_class"),
                    "train_rows": manifest["groups"].get("train", {}).get("stored", {}).get("data"),
                    "test_rows": manifest["groups"].get("test", {}).get("stored", {}).get("data")},
                    [{"name": n, **s} for n, s in manifest["sources"].items()])
            finally:
                connection.close()

    # -- queries -----------------------------------------------------------------------------------------

    def runs(self) -> pd.DataFrame:
        """One row per captured run."""
        self._require()
        with locked(self.path, exclusive=False):
            connection = catalog.connect(self.path, read_only=True)
            try:
                return connection.execute("SELECT run_id, name, pipeline, created, model, train_rows, test_rows "
                                          "FROM runs ORDER BY created").df()
            finally:
                connection.close()

    def changes(self) -> pd.DataFrame:
        """The log of ``forget`` requests: one row per run changed (counts, never values)."""
        self._require()
        with locked(self.path, exclusive=False):
            return pd.DataFrame(catalog.read_changes(self.path), columns=list(catalog.CHANGE_FIELDS))

    def affected_runs(self, rows: RowSpec, column: Optional[ColumnSpec] = None) -> List[str]:
        """The runs that read the rows' source (and, for a column, used that column of its source)."""
        self._require()
        with locked(self.path):
            lookup = catalog.Lookup(self.path)
            affected = self._resolve(lookup, rows, column)[-1]
            lookup.save()
            return affected

    def _resolve(self, lookup: catalog.Lookup, rows: RowSpec, column: Optional[ColumnSpec]):
        """The rows' fingerprint and positions, the column's fingerprint, and the runs that read them."""
        rows_fingerprint = lookup.fingerprint(rows.path)
        positions = rows.resolve(self._key_index(rows_fingerprint))  # unknown keys are an error here already
        read = lookup.sizes.get(rows_fingerprint)
        if rows.key is None and read is not None and len(positions) and positions[-1] >= read:
            raise SpecError(f"{rows.path}: row @{positions[-1]} is beyond the {read} rows the captured runs read "
                            "from this file (positions count from 0)")
        affected = set(lookup.runs_reading(rows_fingerprint))
        column_fingerprint = None
        if column is not None:
            column_fingerprint = lookup.fingerprint(column.path)
            affected &= set(lookup.runs_reading(column_fingerprint, column.column))
        return rows_fingerprint, positions, column_fingerprint, sorted(affected)

    def _require(self) -> None:
        if not os.path.isdir(os.path.join(self.path, "runs")):
            raise FileNotFoundError(f"{self.path}: no artifact store here (nothing was captured into it); "
                                    "capture a run first or pass the right --store")

    def _key_index(self, fingerprint: str) -> str:
        # Keys of a source file (ids, never the data columns a user asks to forget).
        return os.path.join(self.path, "keys", fingerprint)

    def load(self, run_id: str) -> Dict:
        """A run's artifacts as they are now: ``{group: {data, X, y, predictions, lineage}}`` and ``model``.

        ``lineage[source]`` gives, for each row, the row of that source it was made from.
        """
        folder = self._run_folder(run_id)
        if not os.path.isdir(folder):
            raise KeyError(f"{self.path}: no run {run_id!r}")
        loaded = {"manifest": read_json(os.path.join(folder, "manifest.json"))}
        for group in loaded["manifest"]["groups"]:
            group_folder = os.path.join(folder, group)
            deleted = _deleted_rows(group_folder)
            parts = {}
            if os.path.exists(os.path.join(group_folder, "data")):
                parts["data"] = columnar.read_frame(os.path.join(group_folder, "data"))
            if os.path.exists(os.path.join(group_folder, "X")):
                parts["X"] = columnar.read_matrix(os.path.join(group_folder, "X"))
            for part in ("y", "predictions"):
                path = os.path.join(group_folder, f"{part}.npy")
                if os.path.exists(path):
                    parts[part] = np.delete(np.load(path), deleted)
            parts["lineage"] = {source: np.delete(_source_rows(os.path.join(group_folder, "lineage"), source), deleted)
                                for source in loaded["manifest"]["groups"][group]["lineage_sources"]}
            loaded[group] = parts
        model_path = os.path.join(folder, "model.pkl")
        if os.path.exists(model_path):
            loaded["model"] = read_pickle(model_path)["model"]
        from lester_inspect.ivm.rectify import predictions_note

        loaded["notes"] = [note for note in [predictions_note(folder)] if note]
        return loaded

    def predict(self, run_id: str, frame: pd.DataFrame) -> np.ndarray:
        """Predict raw rows (a frame like the one the featuriser was fitted on) with a run's stored
        featuriser and its current (possibly updated) model."""
        from lester_inspect.ivm.rectify import FEATURISER, load_featuriser

        folder = self._run_folder(run_id)
        if not os.path.exists(os.path.join(folder, FEATURISER)):
            raise FileNotFoundError(f"{self.path}: run {run_id} has no stored featuriser (none was captured, or it "
                                    "was deleted because it had learned forgotten values)")
        featuriser = load_featuriser(folder, read_json(os.path.join(folder, "manifest.json"))["pipeline"])
        return read_pickle(os.path.join(folder, "model.pkl"))["model"].predict(featuriser.transform(frame))

    def rectify(self, rows: RowSpec, column: ColumnSpec, correction, run_ids: Optional[Sequence[str]] = None,
                order: str = "first", tau: Optional[float] = None) -> ForgetReport:
        """Correct ``column``'s values of ``rows`` (``rectify.Correction``) in the affected runs; see rectify.py."""
        from lester_inspect.ivm.rectify import rectify

        return rectify(self, rows, column, correction, run_ids, order, tau)

    # -- forget ------------------------------------------------------------------------------------------

    def forget(self, rows: RowSpec, column: Optional[ColumnSpec] = None, run_ids: Optional[Sequence[str]] = None,
               order: str = "first", tau: Optional[float] = None) -> ForgetReport:
        """Remove the given rows' data (or only the given column's derived cells) from runs' artifacts.

        ``run_ids`` None means every affected run. With ``column`` (feature deletion) the derived
        cells become null, the derived feature-matrix ranges zero, and the model gets the
        first-order (or ``order="second"``) update for the corrected rows; without it
        (instance deletion) the derived rows are removed and their gradient unlearned.
        Re-running the same request after a crash completes it; it never applies twice.
        ``tau`` is the first-order step (default ``1 / training rows``); the second-order
        update reads the whole training matrix for its Hessian and takes no ``tau``.
        A model that has no such update (e.g. a decision tree; see
        ``unlearning.unsupported_reason``) is fitted again, with its parameters, on the
        stored corrected feature matrix: only the final estimator, not the pipeline.
        """
        if order == "second" and tau is not None:
            raise SpecError("tau is the step of the first-order update; the second-order update takes none")
        timings: Dict[str, float] = {}
        started = time.perf_counter()
        kind = "feature deletion" if column else "instance deletion"
        self._require()
        with locked(self.path):
            lookup = catalog.Lookup(self.path)
            rows_fingerprint, positions, column_fingerprint, affected = self._resolve(lookup, rows, column)
            lookup.save()
            targets = affected if run_ids is None else [r for r in run_ids if r in affected]
            unknown = [r for r in (run_ids or []) if r not in affected]
            if unknown:
                raise SpecError(f"run(s) {', '.join(unknown)} did not read these rows"
                                + (f" and column {column.column}" if column else ""))
            timings["find affected runs"] = time.perf_counter() - started
            request = _request_id(rows_fingerprint, positions, column, column_fingerprint)
            changes = []
            for run_id in targets:
                change = self._forget_in_run(run_id, request, rows_fingerprint, positions, column,
                                             column_fingerprint, order, tau, timings)
                catalog.log_change(self.path, {"run_id": run_id, "request": request, "kind": kind,
                                               "rows_changed": sum(change.rows.values()),
                                               "cells_changed": sum(change.cells.values()),
                                               "model_updated": change.model is not None})
                changes.append(change)
        return ForgetReport(request, kind, changes, timings)

    def _forget_in_run(self, run_id, request, rows_fingerprint, positions, column, column_fingerprint, order, tau,
                       timings) -> RunChange:
        kind = "feature deletion" if column else "instance deletion"
        folder = self._run_folder(run_id)
        manifest = read_json(os.path.join(folder, "manifest.json"))
        sources = manifest["sources"]
        row_sources = [name for name, s in sources.items() if s["fingerprint"] == rows_fingerprint]
        column_sources = {(name, column.column) for name, s in sources.items()
                          if column is not None and s["fingerprint"] == column_fingerprint}
        notes: List[str] = []
        step = time.perf_counter()
        plan = {}
        for group, info in manifest["groups"].items():
            group_folder = os.path.join(folder, group)
            derived_rows = _lookup_rows(os.path.join(group_folder, "lineage"), row_sources, positions)
            if info.get("aggregated_sources") and not maintenance.has_views(folder):
                notes.append(f"{group}: aggregates over {', '.join(info['aggregated_sources'])} are not "
                             "maintained; values computed from the removed data by a group-by stay as they were")
            if column is None:
                plan[group] = (derived_rows, None, None)
            else:
                derived_columns = [c for c, prov in info.get("column_provenance", {}).items()
                                   if column_sources & {tuple(p) for p in prov}]
                ranges = sorted({tuple(r) for c in derived_columns for r in info.get("matrix_provenance", {}).get(c, [])})
                plan[group] = (derived_rows, derived_columns, ranges)
        timings[f"{run_id}: provenance lookup"] = time.perf_counter() - step

        # Group-by aggregates and the columns computed from them (maintenance.py): planned before any write.
        relabel = None
        if maintenance.has_views(folder):
            step = time.perf_counter()
            maintained = maintenance.plan(folder, request, row_sources, positions, column_sources if column else None,
                                          {g: p[0] for g, p in plan.items()} if column is None else {})
            for group, columns in maintained.rederived.items():
                rows_of_group, derived_columns, ranges = plan[group]
                if derived_columns is not None:
                    plan[group] = (rows_of_group, [c for c in derived_columns if c not in columns], ranges)
            relabel = maintained.relabel
            notes.extend(maintained.lines)
            if not maintained.covers_aggregates and any(i.get("aggregated_sources") for i in manifest["groups"].values()):
                notes.append("values computed by a group-by that is not maintained stay as they were")
            timings[f"{run_id}: aggregates planned"] = time.perf_counter() - step

        if "train" in plan:  # a featuriser value learned only from these rows must not stay in the store
            from lester_inspect.ivm.rectify import guard_learned_values

            notes.extend(guard_learned_values(folder, request, plan["train"][0],
                                              None if column is None else set(plan["train"][1])))

        step = time.perf_counter()
        model_summary = self._update_model(folder, request, plan.get("train"), order, tau, relabel)
        timings[f"{run_id}: model update"] = time.perf_counter() - step
        crash_point("after_model")
        if model_summary and "skipped" not in model_summary and os.path.exists(
                os.path.join(folder, "test", "predictions.npy")):
            from lester_inspect.ivm.rectify import mark_predictions_stale

            mark_predictions_stale(folder, f"the model was updated by {kind} {request[:12]}")
            notes.append("test: the stored predictions are the captured model's (marked stale); predict with the "
                         "updated model (load(run)['model']) for current ones")

        step = time.perf_counter()
        if maintenance.has_views(folder):
            maintained.apply()
            timings[f"{run_id}: aggregates maintained"] = time.perf_counter() - step
            step = time.perf_counter()
        rows_changed, cells = {}, {}
        for group, (derived_rows, derived_columns, ranges) in plan.items():
            group_folder = os.path.join(folder, group)
            data_folder, matrix_folder = os.path.join(group_folder, "data"), os.path.join(group_folder, "X")
            has_data, has_matrix = os.path.exists(data_folder), os.path.exists(matrix_folder)
            if column is None:
                for target in [f for f, present in ((data_folder, has_data), (matrix_folder, has_matrix)) if present]:
                    columnar.record_change(target, request, deleted_rows=derived_rows)
                columnar.record_change(group_folder, request, deleted_rows=derived_rows)
                crash_point("after_state")
                if has_data:
                    cells[f"{group}/data"] = columnar.scrub_cells(data_folder, columnar.frame_columns(data_folder),
                                                                  derived_rows)
                if has_matrix:
                    width = read_json(os.path.join(matrix_folder, "layout.json"))["shape"][1]
                    cells[f"{group}/X"] = columnar.scrub_matrix(matrix_folder, derived_rows, [(0, width)])
                for part in ("y", "predictions"):
                    _scrub_vector(os.path.join(group_folder, f"{part}.npy"), derived_rows)
            else:
                if has_data:
                    columnar.record_change(data_folder, request, nulled={c: derived_rows for c in derived_columns})
                if has_matrix:
                    columnar.record_change(matrix_folder, request, zeroed=(derived_rows, ranges))
                crash_point("after_state")
                if has_data:
                    cells[f"{group}/data"] = columnar.scrub_cells(data_folder, derived_columns, derived_rows)
                if has_matrix and ranges:
                    cells[f"{group}/X"] = columnar.scrub_matrix(matrix_folder, derived_rows, ranges)
            rows_changed[group] = len(derived_rows)
            crash_point(f"after_{group}")
        timings[f"{run_id}: artifacts"] = time.perf_counter() - step
        return RunChange(run_id, rows_changed, cells, model_summary, notes)

    def _update_model(self, folder: str, request: str, train_plan, order: str, tau: Optional[float], relabel=None):
        model_path = os.path.join(folder, "model.pkl")
        if train_plan is None or not os.path.exists(model_path) or (not len(train_plan[0]) and relabel is None):
            return None
        stored = read_pickle(model_path)
        if request in stored["applied"]:
            return {"skipped": "already applied"}
        from lester_inspect.ivm import unlearning

        derived_rows, derived_columns, ranges = train_plan
        ranges = None if derived_columns is None else ranges
        if derived_columns is not None and not ranges:
            if relabel is None:
                return None
            derived_rows = []  # only labels change
        group_folder = os.path.join(folder, "train")
        removed_before = _deleted_rows(group_folder)
        reason = unlearning.unsupported_reason(stored["model"], order)
        if reason is None:
            summary = _unlearn(stored["model"], group_folder, derived_rows, ranges, removed_before, order, tau, relabel)
        else:
            # Without an unlearning update only the final estimator is fitted again, with its parameters, on
            # the stored corrected feature matrix (the pipeline is not re-run); this reads the whole matrix.
            from sklearn.base import clone

            corrected = _corrected_training_data(group_folder, derived_rows, ranges, removed_before, relabel)
            try:
                stored["model"] = clone(stored["model"]).fit(corrected["X_train"], corrected["y_train"])
            except Exception as error:
                raise ModelUpdateError(
                    f"run {os.path.basename(folder)}: {reason}, and fitting {type(stored['model']).__name__} again "
                    f"on the corrected training data failed: {error!r}. "
                    "The run was left unchanged.") from error
            summary = {"refitted on the corrected training data": reason}
        stored["applied"].append(request)
        write_pickle(model_path, stored)
        return summary


def _unlearn(model, group_folder: str, derived_rows, ranges, removed_before, order: str, tau: Optional[float],
             relabel=None) -> Dict:
    """The unlearning update of the model for the affected training rows (see unlearning.py).

    ``relabel`` (rows, new labels): training rows whose label a maintained aggregate changed;
    they are unlearned with their old label and learned with the new one in the same update.
    """
    from lester_inspect.ivm.unlearning import update_model

    matrix_folder = os.path.join(group_folder, "X")
    relabel_rows = np.asarray(relabel[0] if relabel is not None else [], dtype=np.int64)
    rows = np.union1d(np.asarray(derived_rows, dtype=np.int64), relabel_rows).astype(np.int64)
    x_old = columnar.matrix_rows(matrix_folder, rows)
    hit = np.isin(rows, derived_rows)
    x_new, removed = x_old, None
    if ranges is not None:
        x_new = x_old.copy()
        for low, high in ranges:
            x_new[np.ix_(hit, np.arange(low, high))] = 0
    elif len(derived_rows):
        removed = hit
    y = np.asarray(np.load(os.path.join(group_folder, "y.npy"), mmap_mode="r")[rows])
    y_new = y.copy()
    if len(relabel_rows):
        y_new[np.searchsorted(rows, relabel_rows)] = relabel[1]
    n_train = read_json(os.path.join(matrix_folder, "layout.json"))["shape"][0] - len(removed_before)
    update = update_model(model, x_old, x_new if removed is None or not removed.all() else None, y,
                          y_new=y_new, removed=removed, n_train=n_train, order=order,
                          **({"tau": tau} if order == "first" else
                             _corrected_training_data(group_folder, derived_rows, ranges, removed_before, relabel)))
    return {"order": update.order, "tau": update.tau, "gradient_norm": float(update.gradient_norm),
            "parameters_changed": int(update.parameters_changed)}


def _corrected_training_data(group_folder: str, rows: List[int], ranges, removed_before: List[int],
                             relabel=None) -> Dict:
    """The whole training data as it will be after this change (for the second-order Hessian)."""
    matrix = columnar.read_matrix(os.path.join(group_folder, "X"), drop_deleted=False)
    removed = set(removed_before)
    if ranges is None:
        removed |= set(rows)
    elif len(rows):
        columnar.zero_entries(matrix, np.asarray(rows), ranges)
    y = np.load(os.path.join(group_folder, "y.npy"))
    if relabel is not None:
        y[relabel[0]] = relabel[1]
    keep = np.setdiff1d(np.arange(matrix.shape[0]), sorted(removed))
    return {"X_train": matrix[keep], "y_train": y[keep]}


def _deleted_rows(group_folder: str) -> List[int]:
    return columnar.read_state(group_folder)["deleted_rows"] if os.path.exists(
        os.path.join(group_folder, columnar.STATE)) else []


def _scrub_vector(path: str, rows) -> None:
    if os.path.exists(path) and len(rows):
        zero_array_entries(path, rows)


def _write_lineage(folder: str, lineage: Dict[str, np.ndarray]) -> None:
    """Per source, the source row of every artifact row, sorted for binary search."""
    os.makedirs(folder, exist_ok=True)
    for source, ids in lineage.items():
        order = np.argsort(ids, kind="stable")
        write_array(os.path.join(folder, f"{source}.order.npy"), order)
        write_array(os.path.join(folder, f"{source}.sorted.npy"), np.asarray(ids)[order])


def _source_rows(folder: str, source: str) -> np.ndarray:
    """Per artifact row, the row of ``source`` it came from (the stored sorted index, inverted)."""
    order = np.load(os.path.join(folder, f"{source}.order.npy"))
    ids = np.empty(len(order), dtype=np.int64)
    ids[order] = np.load(os.path.join(folder, f"{source}.sorted.npy"))
    return ids


def _lookup_rows(folder: str, sources: List[str], positions: np.ndarray) -> List[int]:
    """The artifact rows derived from the given source rows: O(k log n) on memory-mapped arrays."""
    found: List[np.ndarray] = []
    for source in sources:
        sorted_path = os.path.join(folder, f"{source}.sorted.npy")
        if not os.path.exists(sorted_path):
            continue
        ids = np.load(sorted_path, mmap_mode="r")
        order = np.load(os.path.join(folder, f"{source}.order.npy"), mmap_mode="r")
        starts, stops = np.searchsorted(ids, positions, "left"), np.searchsorted(ids, positions, "right")
        for start, stop in zip(starts, stops):
            if stop > start:
                found.append(np.asarray(order[start:stop]))
    return sorted(set(np.concatenate(found).tolist())) if found else []


def _request_id(rows_fingerprint: str, positions: np.ndarray, column: Optional[ColumnSpec],
                column_fingerprint: Optional[str]) -> str:
    text = json.dumps([rows_fingerprint, positions.tolist(), column.column if column else None, column_fingerprint])
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def new_run_id() -> str:
    return time.strftime("%Y%m%d-%H%M%S") + "-" + uuid.uuid4().hex[:8]
