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

import contextlib
import dataclasses
import hashlib
import json
import os
import secrets
import time
import uuid
import warnings
from typing import Dict, Iterator, List, Optional, Sequence
from urllib.parse import quote

import numpy as np
import pandas as pd

from lester_inspect.ivm import catalog, columnar, featuriser, maintenance, spark_store
from lester_inspect.ivm.files import (crash_point, locked, read_json, read_pickle, syncs_together, write_array,
                                      write_atomically, write_json, write_pickle, zero_array_entries)
from lester_inspect.ivm.specs import FORGOTTEN_ROWS, ColumnSpec, RowSpec, SpecError, as_text
from lester_inspect.progress import progress, steps


class ModelUpdateError(RuntimeError):
    """A model could be neither updated nor fitted again; ``forget`` changed nothing in that run."""


@dataclasses.dataclass
class RunChange:
    """What one execution of a ``forget`` request did in one run.

    ``status``: ``changed``; ``resumed`` (an interrupted execution had recorded part of it);
    ``already applied``; ``holds none`` (the run read the source, but none of these rows
    reached its artifacts); ``refused`` (row provenance is cut between the named source and
    an artifact, so nothing was changed); ``failed`` (nothing could be changed; ``problem`` says why).
    """

    run_id: str
    rows: Dict[str, int]
    cells: Dict[str, int]
    model: Optional[dict]
    notes: List[str]
    status: str = "changed"
    problem: Optional[str] = None


@dataclasses.dataclass
class ForgetReport:
    """What ``forget`` changed in every run, and how long each step took (seconds)."""

    request: str
    kind: str
    runs: List[RunChange]
    timings: Dict[str, float]
    notes: List[str] = dataclasses.field(default_factory=list)

    @property
    def problems(self) -> List[str]:
        """One line per run that was refused or in which nothing could be changed."""
        return [change.problem for change in self.runs if change.status in ("refused", "failed")]

    @property
    def exit_code(self) -> int:
        """0 when every run is as requested; 3 when a run was refused for a provenance cut; 1 for other failures."""
        statuses = {change.status for change in self.runs}
        return 3 if "refused" in statuses else 1 if "failed" in statuses else 0

    def __str__(self) -> str:
        done = [c for c in self.runs if c.status in ("changed", "resumed")]
        lines = [f"{self.kind} of request {self.request[:12]}: {len(done)} run(s) changed"
                 + "".join(f", {n} {status}" for status in ("already applied", "holds none", "refused", "failed")
                           for n in [sum(c.status == status for c in self.runs)] if n)
                 + f" in {sum(self.timings.values()):.3f} s (affected runs found in "
                 f"{self.timings.get('find affected runs', 0.0):.3f} s)"]
        lines.extend(f"  note: {note}" for note in self.notes)
        if not self.runs:
            lines.append("  no captured run read these rows")
        for change in self.runs:
            if change.status in ("refused", "failed"):
                lines.append(f"  run {change.run_id}: {change.status.upper()}: {change.problem}")
                continue
            if change.status in ("already applied", "holds none"):
                lines.append(f"  run {change.run_id}: {_UNCHANGED[change.status]}")
                continue
            train_first = sorted(change.rows, key=lambda group: group != "train")
            rows = ", ".join(f"{change.rows[group]} {group}" for group in train_first)
            cells = ", ".join(f"{artifact} {change.cells[artifact]}" for group in train_first
                              for artifact in sorted(change.cells) if artifact.startswith(f"{group}/"))
            resumed = " (completing an interrupted execution)" if change.status == "resumed" else ""
            lines.append(f"  run {change.run_id}{resumed}: rows {rows}; cells/entries {cells or 'none'}")
            if change.model:
                lines.append(f"    model: {_describe_model_change(change.model)}")
            lines.extend(f"    note: {note}" for note in change.notes)
            steps = [(step.split(": ", 1)[1], seconds) for step, seconds in self.timings.items()
                     if step.startswith(f"{change.run_id}: ")]
            lines.append("    took: " + ", ".join(f"{step} {seconds:.3f} s" for step, seconds in steps))
        return "\n".join(lines)


_UNCHANGED = {"already applied": "unchanged: this request was applied to it before",
              "holds none": "unchanged: it read the source, but none of these rows reached its artifacts"}


class ForgetIncomplete(RuntimeError):
    """``forget`` refused or failed in some run (the others were processed); ``report`` says what happened where."""

    def __init__(self, report: ForgetReport):
        super().__init__("\n".join(report.problems))
        self.report = report


@dataclasses.dataclass
class AffectedRun:
    """A run that read the named rows: whether it still holds them.

    ``status``: ``holds`` (``rows`` per group reached its artifacts), ``forgotten`` (a
    ``forget`` removed them, ``detail`` names the request), ``holds none`` (none reached its
    artifacts), ``possibly affected`` (row provenance is cut; ``detail`` names the cut).
    """

    run_id: str
    status: str
    rows: Dict[str, int]
    detail: str = ""

    def __str__(self) -> str:
        groups = sorted(self.rows, key=lambda group: group != "train")
        text = {"holds": "holds " + ", ".join(f"{self.rows[g]} {g}" for g in groups) + " row(s) derived from them",
                "forgotten": "forgotten", "holds none": "read the source; none of these rows reached its artifacts",
                "possibly affected": "POSSIBLY AFFECTED"}[self.status]
        return f"{self.run_id}  {text}" + (f": {self.detail}" if self.detail else "")


@dataclasses.dataclass
class Resolution:
    """The named rows in every content of their source that a run read, and the runs that read them."""

    rows: Dict[str, np.ndarray]     # fingerprint -> row positions in that content
    column_fingerprints: List[str]  # contents of the leaked column's source (empty without a column)
    affected: List[str]
    notes: List[str]


def _describe_model_change(model: Dict) -> str:
    if "skipped" in model:
        return "already updated for this request"
    if "order" not in model:
        return "; ".join(f"{what} ({why})" for what, why in model.items())
    step = f"tau {model['tau']:.3g}, " if model["tau"] is not None else ""
    parts = [f"{model['order']}-order update ({step}gradient norm {model['gradient_norm']:.4g}), "
             f"{model['parameters_changed']} parameters changed"]
    if model.get("removal_bound") is not None:
        parts.append(f"removal bound on the gradient residual (Guo et al.) {model['removal_bound']:.4g}")
    if "gradient_residual" in model:
        parts.append(f"gradient residual {model['gradient_residual']:.4g}")
    parts.extend(f"{what} ({why})" for what, why in model.items() if what.startswith(("refitted", "--max-residual",
                                                                                     "weights removed")))
    return "; ".join(parts)


class ArtifactStore:
    """A folder of captured pipeline runs. See the module docstring for the layout."""

    def __init__(self, path: str = ".lester"):
        self.path = path

    def _run_folder(self, run_id: str) -> str:
        return os.path.join(self.path, "runs", run_id)

    @contextlib.contextmanager
    def _writing(self) -> Iterator[None]:
        """The exclusive store lock, after removing what a killed writer left behind."""
        with locked(self.path):
            clean_leftovers(self.path)
            yield

    # -- capture ---------------------------------------------------------------------------------------

    def save(self, run_id: str, name: str, pipeline: str, group: str, artifacts: Dict, sources: List[Dict],
             manifest_update: Dict) -> None:
        """Write one group's artifacts (train or test) of a run and register the run in the catalog."""
        with self._writing(), steps(5, f"capture {group}") as bar:
            folder = self._run_folder(run_id)
            os.makedirs(os.path.join(folder, group), exist_ok=True)
            manifest_path = os.path.join(folder, "manifest.json")
            manifest = read_json(manifest_path) if os.path.exists(manifest_path) else {
                "run_id": run_id, "name": name, "pipeline": pipeline, "groups": {}}
            group_folder = os.path.join(folder, group)
            stored = {}
            bar.step("data")
            if artifacts.get("data") is not None:
                columnar.write_frame(os.path.join(group_folder, "data"), artifacts["data"])
                stored["data"] = len(artifacts["data"])
            bar.step("X")
            if artifacts.get("X") is not None:
                if artifacts.get("virtual"):  # before the matrix's layout, which makes it readable
                    from lester_inspect.ivm.featuriser import write_blocks

                    os.makedirs(os.path.join(group_folder, "X"), exist_ok=True)
                    write_blocks(os.path.join(group_folder, "X"), artifacts["virtual"])
                columnar.write_matrix(os.path.join(group_folder, "X"), artifacts["X"])
                stored["X"] = artifacts["X"].shape[0]
            for part in ("y", "predictions"):
                if artifacts.get(part) is not None:
                    write_array(os.path.join(group_folder, f"{part}.npy"), np.asarray(artifacts[part]))
            bar.step("lineage")
            _write_lineage(os.path.join(group_folder, "lineage"), artifacts.get("lineage") or {})
            bar.step("model")
            if artifacts.get("model") is not None:
                write_pickle(os.path.join(folder, "model.pkl"), {"model": artifacts["model"], "applied": []})
            bar.step("source fingerprints")
            lookup = catalog.Lookup(self.path)
            sources = [{**s, "fingerprint": lookup.fingerprint(s["path"]), "from_store": lookup.from_store(s["path"])}
                       for s in sources]
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
            earlier = self._forgotten_elsewhere(run_id, manifest)
            if earlier:
                warnings.warn(f"run {run_id} read rows that forget request(s) {', '.join(r[:12] for r in earlier)} "
                              "removed from other runs; `lester-inspect affected` lists it as still holding them until "
                              "the same forget is run again")

    def _forgotten_elsewhere(self, run_id: str, manifest: Dict) -> List[str]:
        """Completed forget requests of other runs that named rows of a content this run read."""
        read = {source["fingerprint"] for source in manifest["sources"].values()}
        return sorted({entry["request"] for other in os.listdir(os.path.join(self.path, "runs")) if other != run_id
                       for entry in _forgotten(self._run_folder(other)) if read & set(entry["rows"])})

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
        """The log of ``forget`` executions: one row per run and execution (counts, never values)."""
        self._require()
        with locked(self.path, exclusive=False):
            return pd.DataFrame(catalog.read_changes(self.path), columns=list(catalog.CHANGE_FIELDS))

    def check_changes(self):
        """``(problems, notes)`` of the change log: breaks of its hash chain (see ``catalog.check_changes``), and
        completed requests that a run records but whose log entry is gone (entries cut off the log's end)."""
        self._require()
        with locked(self.path, exclusive=False):
            problems, notes = catalog.check_changes(self.path)
            logged = {entry.get("hash") for entry in catalog.read_changes(self.path)}
            for run_id in sorted(os.listdir(os.path.join(self.path, "runs"))):
                for entry in _forgotten(self._run_folder(run_id)):
                    if entry["log_entry"] not in logged:
                        problems.append(f"run {run_id}: its record of request {entry['request'][:12]} names change "
                                        f"log entry {entry['log_entry'][:12]}, which the log no longer holds")
            return problems, notes

    def affected_runs(self, rows: RowSpec, column: Optional[ColumnSpec] = None) -> List[str]:
        """The runs that read the rows' source (and, for a column, used that column of its source)."""
        return [run.run_id for run in self.affected(rows, column)]

    def affected(self, rows: RowSpec, column: Optional[ColumnSpec] = None) -> List[AffectedRun]:
        """Every run that read the rows (and column), and whether it still holds data derived from them."""
        self._require()
        with self._writing():
            lookup = catalog.Lookup(self.path)
            resolution = self._resolve(lookup, rows, column, persist_index=column is None or column.column != rows.key)
            lookup.save()
            return [self._holding(run_id, resolution, column) for run_id in resolution.affected]

    def _holding(self, run_id: str, resolution: Resolution, column: Optional[ColumnSpec]) -> AffectedRun:
        folder = self._run_folder(run_id)
        manifest = read_json(os.path.join(folder, "manifest.json"))
        row_sources, column_sources = _sources_in_run(manifest, resolution, column)
        cuts = _relevant_cuts(manifest, set(row_sources) | {name for name, _ in column_sources})
        if cuts:
            return AffectedRun(run_id, "possibly affected", {}, "; ".join(cuts))
        if spark_store.is_spark(manifest):
            held = spark_store.held_rows(folder, manifest, row_sources)
        else:
            held = {group: len(_lookup_rows(os.path.join(folder, group, "lineage"), row_sources))
                    for group in manifest["groups"]}
        through = maintenance.rows_in_views(folder, row_sources) if not any(held.values()) else 0
        if not any(held.values()) and not through:
            return AffectedRun(run_id, "holds none", held)
        forgotten = _covering_requests(folder, manifest, resolution, column)
        if forgotten:
            return AffectedRun(run_id, "forgotten", {}, "by request(s) " + ", ".join(r[:12] for r in forgotten))
        return AffectedRun(run_id, "holds", held, f"{through} row(s) fed a maintained group-by aggregate" if through
                           else "")

    def _resolve(self, lookup: catalog.Lookup, rows: RowSpec, column: Optional[ColumnSpec],
                 persist_index: bool = True) -> Resolution:
        """The rows in every content of their file a run read, the column's contents, and the runs that read them.

        A file whose content changed since capture (same path, other fingerprint) is said so in
        the notes; its earlier content's rows are matched by key values in the artifacts of the
        runs that read it. Row positions cannot be matched across contents: that is an error.
        """
        notes = []
        now = lookup.fingerprint(rows.path)
        positions = {}
        found_values = set()
        if rows.key is None:
            positions[now] = rows.resolve()
        else:
            positions[now], found = rows.match(self._key_index(now), self._salt(), persist_index)
            if set(rows.values) - set(found) and os.path.exists(os.path.join(self._key_index(now), FORGOTTEN_ROWS)):
                # The persisted index leaves out rows forgotten before; the file may still hold them.
                positions[now], found = rows.match(None, self._salt(), persist=False)
            found_values |= set(found)
        read = lookup.sizes.get(now)
        if rows.key is None and read is not None and len(positions[now]) and positions[now][-1] >= read:
            raise SpecError(f"{rows.path}: row @{positions[now][-1]} is beyond the {read} rows the captured runs read "
                            "from this file (positions count from 0)")
        for earlier in lookup.captured_from(rows.path):
            readers = lookup.runs_reading(earlier)
            if earlier == now or not readers:
                continue
            said = (f"{rows.path} changed since capture: run(s) {', '.join(readers)} read its earlier content "
                    f"(fingerprint {earlier[:12]}, now {now[:12]})")
            if rows.key is None:
                raise SpecError(f"{said}; row positions cannot be matched across contents: name the rows by a key "
                                f"column (FILE:KEY=V1,V2), as it was in the content those runs read")
            positions[earlier], found = self._match_in_artifacts(readers, earlier, rows, said)
            found_values |= set(found)
            notes.append(f"{said}; its rows were matched there by {rows.key} in their stored data")
        if rows.key is not None:
            missing = sorted(set(rows.values) - found_values)
            if missing:
                raise SpecError(f"{rows.path}: no row has {rows.key} = {', '.join(missing)}"
                                + (" (in its current content nor in the artifacts of runs that read an earlier one)"
                                   if len(positions) > 1 else ""))
        affected = {run for fingerprint in positions for run in lookup.runs_reading(fingerprint)}
        column_fingerprints = []
        if column is not None:
            column_fingerprints = sorted({lookup.fingerprint(column.path), *lookup.captured_from(column.path)})
            known = sorted({c for f in column_fingerprints for c in lookup.columns.get(f, [])}) or _header(column.path)
            if known and column.column not in known:
                raise SpecError(f"{column.path}: has no column {column.column!r}; its columns: {', '.join(known)}")
            affected &= {run for f in column_fingerprints for run in lookup.runs_reading(f, column.column)}
        return Resolution(positions, column_fingerprints, sorted(affected), notes)

    def _match_in_artifacts(self, run_ids: List[str], fingerprint: str, rows: RowSpec, said: str):
        """Rows of an earlier content with the key values: through a stored copy of the key column and its lineage."""
        matched, found, searched = [], set(), False
        for run_id in run_ids:
            folder = self._run_folder(run_id)
            manifest = read_json(os.path.join(folder, "manifest.json"))
            names = [n for n, s in manifest["sources"].items() if s["fingerprint"] == fingerprint]
            for group, info in manifest["groups"].items():
                data_folder = os.path.join(folder, group, "data")
                for name in names:
                    if [name, rows.key] not in info.get("column_provenance", {}).get(rows.key, []):
                        continue
                    if not os.path.exists(os.path.join(folder, group, "lineage", f"{name}.sorted.npy")):
                        continue
                    searched = True
                    values = columnar.read_column(data_folder, rows.key)
                    text = values.astype(object).map(lambda v: None if pd.isna(v) else as_text(v)).to_numpy()
                    hit = np.isin(text, np.asarray(rows.values, dtype=object))
                    matched.append(_source_rows(os.path.join(folder, group, "lineage"), name)[hit])
                    found |= set(text[hit].tolist())
        if not searched:
            raise SpecError(f"{said}; the artifacts of those runs hold no copy of its {rows.key} column, so the rows "
                            "cannot be matched there by key: forget with the file as those runs read it")
        return np.unique(np.concatenate(matched)).astype(np.int64), found

    def _require(self) -> None:
        if not os.path.isdir(os.path.join(self.path, "runs")):
            raise FileNotFoundError(f"{self.path}: no artifact store here (nothing was captured into it); "
                                    "capture a run first or pass the right --store")

    def _key_index(self, fingerprint: str) -> str:
        return os.path.join(self.path, "keys", fingerprint)

    def _salt(self) -> str:
        """The store's secret key for hashing key values (made on first use)."""
        path = os.path.join(self.path, "salt")
        if not os.path.exists(path):
            write_atomically(path, secrets.token_hex(8).encode("ascii"))
        with open(path, encoding="ascii") as handle:
            return handle.read().strip()

    def _forget_keys(self, resolution: Resolution) -> None:
        """After an instance deletion: no key index keeps the hashes of the deleted rows' keys. The indexes
        of those contents are dropped; rebuilt on the next lookup, they leave out every forgotten row."""
        from lester_inspect.ivm.files import write_array

        for fingerprint, deleted in resolution.rows.items():
            folder = self._key_index(fingerprint)
            path = os.path.join(folder, FORGOTTEN_ROWS)
            known = np.load(path) if os.path.exists(path) else np.zeros(0, dtype=np.int64)
            merged = np.union1d(known, np.asarray(deleted, dtype=np.int64)).astype(np.int64)
            os.makedirs(folder, exist_ok=True)
            if len(merged) != len(known):
                write_array(path, merged)
            for name in os.listdir(folder):
                if name.endswith((".hash.npy", ".order.npy")):
                    os.remove(os.path.join(folder, name))

    def _drop_key_indexes(self, lookup: catalog.Lookup, column: ColumnSpec) -> None:
        """Key indexes hold (hashed) values; none is kept of a column a forget request names."""
        for fingerprint in {lookup.fingerprint(column.path), *lookup.captured_from(column.path)}:
            for suffix in (".hash.npy", ".order.npy"):
                path = os.path.join(self._key_index(fingerprint), quote(column.column, safe="") + suffix)
                if os.path.exists(path):
                    os.remove(path)

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
            if spark_store.is_spark(loaded["manifest"]):
                loaded[group] = {"data": spark_store.load_group(group_folder).to_pandas()}
                continue
            deleted = _deleted_rows(group_folder)
            parts = {}
            if os.path.exists(os.path.join(group_folder, "data")):
                parts["data"] = columnar.read_frame(os.path.join(group_folder, "data"))
            if os.path.exists(os.path.join(group_folder, "X")):
                parts["X"] = columnar.read_matrix(os.path.join(group_folder, "X"))
                info = loaded["manifest"]["groups"][group]  # its column ranges in the matrix as it is now
                dropped = columnar.read_state(os.path.join(group_folder, "X"))["dropped_columns"]
                info["matrix_provenance"] = columnar.narrowed_provenance(info.get("matrix_provenance", {}), dropped)
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

    def verify(self, run_id: str):
        """The run's updated model against one fitted from scratch on its corrected data (see verify.py)."""
        from lester_inspect.ivm.verify import verify

        self._require()
        with locked(self.path, exclusive=False):
            return verify(self, run_id)

    # -- forget ------------------------------------------------------------------------------------------

    def forget(self, rows: RowSpec, column: Optional[ColumnSpec] = None, run_ids: Optional[Sequence[str]] = None,
               order: str = "first", tau: Optional[float] = None, max_residual: Optional[float] = None) -> ForgetReport:
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
        ``max_residual``: after the update of a linear model, measure its gradient residual
        (the norm of the corrected objective's gradient; Guo et al., ICML 2020) on the whole
        corrected training matrix, and fit it again there when the residual exceeds this.

        A run whose row provenance is cut between the named source and an artifact is left
        unchanged, as is a run in which nothing could be changed; every other run is still
        processed, and then ``ForgetIncomplete`` (carrying the report) is raised.
        """
        if order == "second" and tau is not None:
            raise SpecError("tau is the step of the first-order update; the second-order update takes none")
        timings: Dict[str, float] = {}
        started = time.perf_counter()
        kind = "feature deletion" if column else "instance deletion"
        self._require()
        with self._writing():
            lookup = catalog.Lookup(self.path)
            resolution = self._resolve(lookup, rows, column, persist_index=column is None or column.column != rows.key)
            if column is not None:
                self._drop_key_indexes(lookup, column)
            lookup.save()
            affected = resolution.affected
            targets = affected if run_ids is None else [r for r in run_ids if r in affected]
            unknown = [r for r in (run_ids or []) if r not in affected]
            if unknown:
                raise SpecError(f"run(s) {', '.join(unknown)} did not read these rows"
                                + (f" and column {column.column}" if column else ""))
            timings["find affected runs"] = time.perf_counter() - started
            request = _request_id(resolution, column)
            changes = []
            for run_id in progress(targets, "forget", unit="run"):
                with syncs_together():  # the run's cells on disk before the log says it changed
                    change = self._forget_in_run(run_id, request, resolution, column, order, tau, max_residual,
                                                 timings)
                entry = catalog.log_change(self.path, {
                    "run_id": run_id, "request": request, "kind": kind, "status": change.status,
                    "rows_changed": sum(change.rows.values()), "cells_changed": sum(change.cells.values()),
                    "model_updated": bool(change.model) and "skipped" not in change.model,
                    **({"problem": change.problem} if change.problem else {})})
                if change.status in ("changed", "resumed"):
                    _record_forgotten(self._run_folder(run_id), request, resolution, column, entry)
                changes.append(change)
            if column is None and any(change.status in ("changed", "resumed", "already applied") for change in changes):
                self._forget_keys(resolution)
        report = ForgetReport(request, kind, changes, timings, resolution.notes)
        if report.problems:
            raise ForgetIncomplete(report)
        return report

    def _forget_in_run(self, run_id, request, resolution: Resolution, column, order, tau, max_residual,
                       timings) -> RunChange:
        kind = "feature deletion" if column else "instance deletion"
        folder = self._run_folder(run_id)
        manifest = read_json(os.path.join(folder, "manifest.json"))
        row_sources, column_sources = _sources_in_run(manifest, resolution, column)
        if request in _forgotten_requests(folder):
            return RunChange(run_id, {}, {}, None, [], status="already applied")
        cuts = _relevant_cuts(manifest, set(row_sources) | {name for name, _ in column_sources})
        if cuts:
            return refused_for_cuts(run_id, cuts)
        if spark_store.is_spark(manifest):  # Parquet written by Spark (ivm/spark_store.py)
            return spark_store.forget_in_run(run_id, folder, manifest, request, row_sources, column, tau, timings)
        notes: List[str] = []
        step = time.perf_counter()
        plan = {}
        for group, info in manifest["groups"].items():
            group_folder = os.path.join(folder, group)
            derived_rows = _lookup_rows(os.path.join(group_folder, "lineage"), row_sources)
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
        # Rows that reach no artifact can still have fed an aggregate (a filter after the group-by).
        relabel, maintained = None, None
        if maintenance.has_views(folder):
            step = time.perf_counter()
            maintained = maintenance.plan(folder, request, row_sources, column_sources if column else None,
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
        if not any(len(p[0]) for p in plan.values()) and not (maintained and maintained.changes_anything):
            unmapped = sorted(set(row_sources) - {s for i in manifest["groups"].values() for s in i["lineage_sources"]})
            if unmapped:
                return RunChange(run_id, {}, {}, None, notes, status="failed", problem=(
                    f"run {run_id}: its artifacts have no row provenance for {', '.join(unmapped)} (reached only "
                    "through aggregates, or not at all); nothing could be changed"))
            return RunChange(run_id, {g: 0 for g in plan}, {}, None, notes, status="holds none")

        dropping = []  # matrix columns of the categories only these rows had (removed, with their weights)
        if "train" in plan and len(plan["train"][0]):  # a value learned only from these rows must not stay
            from lester_inspect.ivm.rectify import guard_learned_values

            learned, dropping = guard_learned_values(folder, request, plan["train"][0],
                                                     None if column is None else set(plan["train"][1]),
                                                     manifest["pipeline"])
            notes.extend(learned)
            notes.extend(_unmaintained_statistics(folder, manifest, None if column is None else set(plan["train"][1])))
            notes.extend(unmaintained_transformers(manifest))

        from lester_inspect.ivm.rectify import mark_predictions_stale, recompute_predictions

        statistics = {}
        if "train" in plan and len(plan["train"][0]):  # the scalers and imputers fitted again (featuriser.py)
            step = time.perf_counter()
            rows_of_train, _, ranges_of_train = plan["train"]
            statistics, lines = featuriser.refitted(folder, rows_of_train if column is None else (),
                                                    rows_of_train if column is not None else (),
                                                    ranges_of_train or (),
                                                    test_rows=plan["test"][0] if "test" in plan else ())
            notes.extend(lines)
            timings[f"{run_id}: featuriser statistics"] = time.perf_counter() - step

        mark_predictions_stale(folder, f"{kind} {request[:12]} changed the model or the test data")
        step = time.perf_counter()
        try:
            model_summary = self._update_model(folder, request, plan.get("train"), order, tau, max_residual, relabel,
                                               dropping)
        except ModelUpdateError as error:
            return RunChange(run_id, {}, {}, None, notes, status="failed", problem=str(error))
        timings[f"{run_id}: model update"] = time.perf_counter() - step
        crash_point("after_model")

        step = time.perf_counter()
        cells: Dict[str, int] = {}
        if maintenance.has_views(folder):
            maintained.apply()
            cells.update({f"{g}/maintained": n for g, n in maintained.changed.items() if n})
            timings[f"{run_id}: aggregates maintained"] = time.perf_counter() - step
            step = time.perf_counter()
        rows_changed, resumed = {}, bool(model_summary and "skipped" in model_summary)
        for group, (derived_rows, derived_columns, ranges) in plan.items():
            if not len(derived_rows):  # nothing of this group derives from the rows: only new statistics
                rows_changed[group] = 0
                if (statistics or dropping) and os.path.exists(os.path.join(folder, group, "X")):
                    columnar.record_change(os.path.join(folder, group, "X"), request, statistics=statistics,
                                           dropped_columns=dropping)
                    columnar.scrub_columns(os.path.join(folder, group, "X"), dropping)
                continue
            group_folder = os.path.join(folder, group)
            data_folder, matrix_folder = os.path.join(group_folder, "data"), os.path.join(group_folder, "X")
            has_data, has_matrix = os.path.exists(data_folder), os.path.exists(matrix_folder)
            if column is None:
                fresh = {target: columnar.record_change(target, request, deleted_rows=derived_rows,
                                                        statistics=statistics if target == matrix_folder else None,
                                                        dropped_columns=dropping if target == matrix_folder else ())
                         for target, present in ((data_folder, has_data), (matrix_folder, has_matrix)) if present}
                fresh[group_folder] = columnar.record_change(group_folder, request, deleted_rows=derived_rows)
                crash_point("after_state")
                if has_data:
                    count = columnar.scrub_cells(data_folder, columnar.frame_columns(data_folder), derived_rows)
                    cells[f"{group}/data"] = count if fresh[data_folder] else 0
                if has_matrix:
                    width = read_json(os.path.join(matrix_folder, "layout.json"))["shape"][1]
                    count = columnar.scrub_matrix(matrix_folder, derived_rows, [(0, width)])
                    cells[f"{group}/X"] = count if fresh[matrix_folder] else 0
                for part in ("y", "predictions"):
                    _scrub_vector(os.path.join(group_folder, f"{part}.npy"), derived_rows)
            else:
                fresh = {}
                if has_data:
                    fresh[data_folder] = columnar.record_change(data_folder, request,
                                                                nulled={c: derived_rows for c in derived_columns})
                if has_matrix:
                    fresh[matrix_folder] = columnar.record_change(matrix_folder, request, zeroed=(derived_rows, ranges),
                                                                  statistics=statistics, dropped_columns=dropping)
                crash_point("after_state")
                if has_data:
                    count = columnar.scrub_cells(data_folder, derived_columns, derived_rows)
                    cells[f"{group}/data"] = count if fresh[data_folder] else 0
                if has_matrix and ranges:
                    count = columnar.scrub_matrix(matrix_folder, derived_rows, ranges)
                    cells[f"{group}/X"] = count if fresh[matrix_folder] else 0
            if has_matrix and dropping:  # test rows may hold a removed category: a run from scratch ignores it
                columnar.scrub_columns(matrix_folder, dropping)
            resumed |= not all(fresh.values())
            rows_changed[group] = len(derived_rows)
            crash_point(f"after_{group}")
        timings[f"{run_id}: artifacts"] = time.perf_counter() - step
        step = time.perf_counter()
        notes.extend(recompute_predictions(folder))
        timings[f"{run_id}: test predictions"] = time.perf_counter() - step
        if not resumed and not any(cells.values()) and not (model_summary and "skipped" not in model_summary) \
                and not (maintained and maintained.changes_anything):
            return RunChange(run_id, rows_changed, cells, model_summary, notes, status="failed", problem=(
                f"run {run_id}: {sum(rows_changed.values())} of its rows derive from these rows, but no stored cell "
                f"was derived from {column.column if column else 'them'}; nothing could be changed"))
        return RunChange(run_id, rows_changed, cells, model_summary, notes, status="resumed" if resumed else "changed")

    def _update_model(self, folder: str, request: str, train_plan, order: str, tau: Optional[float],
                      max_residual: Optional[float] = None, relabel=None, dropping=()):
        """The model updated for the request; ``dropping``: matrix columns (as captured) whose weights go."""
        model_path = os.path.join(folder, "model.pkl")
        if train_plan is None or not os.path.exists(model_path) or (not len(train_plan[0]) and relabel is None):
            return None
        stored = read_pickle(model_path)
        if request in stored["applied"]:
            return {"skipped": "already applied"}
        from lester_inspect.ivm import unlearning
        from lester_inspect.models import one_torch_thread

        derived_rows, derived_columns, ranges = train_plan
        ranges = None if derived_columns is None else ranges
        if derived_columns is not None and not ranges:
            if relabel is None and not len(dropping):
                return None
            derived_rows = []  # only labels change
        group_folder = os.path.join(folder, "train")
        removed_before = _deleted_rows(group_folder)
        # The model's features: the matrix's columns but those removed by earlier requests.
        before = columnar.read_state(os.path.join(group_folder, "X"))["dropped_columns"]
        reason = unlearning.unsupported_reason(stored["model"], order)
        with one_torch_thread():
            if reason is None:
                summary = _unlearn(stored["model"], group_folder, derived_rows, ranges, removed_before, order, tau,
                                   relabel, before) if len(derived_rows) or relabel is not None else {}
                if max_residual is not None:
                    summary.update(_check_residual(stored, group_folder, derived_rows, ranges, removed_before,
                                                   max_residual, relabel, before))
                if len(dropping):
                    width = read_json(os.path.join(group_folder, "X", "layout.json"))["shape"][1]
                    reason = unlearning.drop_features(stored["model"],
                                                      np.searchsorted(np.setdiff1d(np.arange(width), before), dropping))
                    summary["weights removed with their categories"] = len(dropping)
            if reason is not None:
                # Without an unlearning update only the final estimator is fitted again, with its parameters, on
                # the stored corrected feature matrix (the pipeline is not re-run); this reads the whole matrix.
                corrected = _corrected_training_data(group_folder, derived_rows, ranges, removed_before, relabel,
                                                     sorted(set(before) | set(dropping)))
                stored["model"] = _refit(stored["model"], corrected, os.path.basename(folder), reason)
                summary = {"refitted on the corrected training data": reason}
        stored["applied"].append(request)
        stored.setdefault("updates", []).append({"request": request, **summary})
        write_pickle(model_path, stored)
        return summary


def unmaintained_transformers(manifest: Dict) -> List[str]:
    """Report lines for the fitted transformers outside the stored featuriser (recorded at capture)."""
    return [f"NOT MAINTAINED: {transformer}: what it learned from the training rows stays as fitted"
            for transformer in manifest["groups"].get("train", {}).get("unmaintained_transformers", [])]


def _unmaintained_statistics(folder: str, manifest: Dict, columns: Optional[set]) -> List[str]:
    """Report lines for the stored featuriser's statistics that removing training rows leaves stale."""
    from lester_inspect.ivm.rectify import FEATURISER, featuriser_notes, load_featuriser

    if not os.path.exists(os.path.join(folder, FEATURISER)):
        return []
    try:
        featuriser = load_featuriser(folder, manifest["pipeline"])
    except Exception as error:
        return [f"NOT MAINTAINED: the stored featuriser could not be loaded ({error!r}); its fitted statistics "
                "stay as they were"]
    if columns is None:
        columns = {str(c) for c in getattr(featuriser, "feature_names_in_", [])}
    return featuriser_notes(featuriser, columns, folder, counted=True)


def _check_residual(stored: Dict, group_folder: str, derived_rows, ranges, removed_before, max_residual: float,
                    relabel=None, dropped=()) -> Dict:
    """Measure the updated model's gradient residual; fit it again when the residual exceeds ``max_residual``."""
    from lester_inspect.ivm import unlearning

    corrected = _corrected_training_data(group_folder, derived_rows, ranges, removed_before, relabel, dropped)
    try:
        gradient = unlearning.objective_gradient(stored["model"], corrected["X_train"], corrected["y_train"])
    except TypeError as error:
        return {"--max-residual not applied": str(error)}
    residual = float(np.linalg.norm(gradient))
    if residual <= max_residual:
        return {"gradient_residual": residual}
    why = f"the gradient residual {residual:.4g} exceeded --max-residual {max_residual:g}"
    stored["model"] = _refit(stored["model"], corrected, os.path.basename(os.path.dirname(group_folder)), why)
    return {"gradient_residual": residual, "refitted on the corrected training data": why}


def _refit(model, corrected: Dict, run_id: str, reason: str):
    """The final estimator fitted again, with its parameters, on the corrected training matrix."""
    from sklearn.base import clone

    try:
        return clone(model).fit(corrected["X_train"], corrected["y_train"])
    except Exception as error:
        raise ModelUpdateError(
            f"run {run_id}: {reason}, and fitting {type(model).__name__} again "
            f"on the corrected training data failed: {error!r}. The run was left unchanged.") from error


def _unlearn(model, group_folder: str, derived_rows, ranges, removed_before, order: str, tau: Optional[float],
             relabel=None, dropped=()) -> Dict:
    """The unlearning update of the model for the affected training rows (see unlearning.py).

    ``relabel`` (rows, new labels): training rows whose label a maintained aggregate changed;
    they are unlearned with their old label and learned with the new one in the same update.
    """
    from lester_inspect.ivm.unlearning import parameter_vector, removal_bound, update_model

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
    corrected = {} if order == "first" else _corrected_training_data(group_folder, derived_rows, ranges, removed_before,
                                                                     relabel, dropped)
    x_old, x_new = columnar.narrowed(x_old, dropped), columnar.narrowed(x_new, dropped)
    before = parameter_vector(model)
    update = update_model(model, x_old, x_new if removed is None or not removed.all() else None, y,
                          y_new=y_new, removed=removed, n_train=n_train, order=order,
                          **({"tau": tau} if order == "first" else corrected))
    summary = {"order": update.order, "tau": update.tau, "gradient_norm": float(update.gradient_norm),
               "parameters_changed": int(update.parameters_changed)}
    if order == "second":
        summary["removal_bound"] = removal_bound(model, corrected["X_train"], before - parameter_vector(model))
    return summary


def _corrected_training_data(group_folder: str, rows: List[int], ranges, removed_before: List[int],
                             relabel=None, dropped=()) -> Dict:
    """The whole training data as it will be after this change (for the second-order Hessian), without the
    ``dropped`` columns (as captured)."""
    matrix = columnar.read_matrix(os.path.join(group_folder, "X"), drop_deleted=False, narrow=False)
    removed = set(removed_before)
    if ranges is None:
        removed |= set(rows)
    elif len(rows):
        columnar.zero_entries(matrix, np.asarray(rows), ranges)
    y = np.load(os.path.join(group_folder, "y.npy"))
    if relabel is not None:
        y[relabel[0]] = relabel[1]
    keep = np.setdiff1d(np.arange(matrix.shape[0]), sorted(removed))
    return {"X_train": columnar.narrowed(matrix[keep], dropped), "y_train": y[keep]}


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


def _lookup_rows(folder: str, sources: Dict[str, np.ndarray]) -> List[int]:
    """The artifact rows derived from the given rows of each source: O(k log n) on memory-mapped arrays."""
    found: List[np.ndarray] = []
    for source, positions in sources.items():
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


def _sources_in_run(manifest: Dict, resolution: Resolution, column: Optional[ColumnSpec]):
    """The run's names of the rows' source (with the positions in the content it read) and of the column's source."""
    sources = manifest["sources"]
    rows = {name: resolution.rows[s["fingerprint"]] for name, s in sources.items() if s["fingerprint"] in resolution.rows}
    columns = {(name, column.column) for name, s in sources.items()
               if column is not None and s["fingerprint"] in resolution.column_fingerprints}
    return rows, columns


def refused_for_cuts(run_id: str, cuts: List[str]) -> RunChange:
    """A run left unchanged because row provenance is cut between the named rows' source and its artifacts."""
    more = f" ({len(cuts) - 1} more cut(s))" if len(cuts) > 1 else ""
    return RunChange(run_id, {}, {}, None, [], status="refused",
                     problem=f"run {run_id}: {cuts[0]}; nothing was changed in this run{more}")


def _relevant_cuts(manifest: Dict, source_names) -> List[str]:
    """One line per recorded provenance cut between one of these sources and an artifact of the run."""
    artifacts: Dict[tuple, List[str]] = {}
    for group, info in manifest["groups"].items():
        for cut in info.get("provenance_cuts", []):
            if cut["sources"] is None or set(cut["sources"]) & set(source_names):
                where = (cut["call"], cut["location"], cut["reason"])
                artifacts.setdefault(where, []).append(f"{group}/{cut['artifact']}")
    return [f"artifact{'s' if len(names) > 1 else ''} {', '.join(names)}: row provenance is cut at {call} "
            f"({location}): {reason}" for (call, location, reason), names in artifacts.items()]


FORGOTTEN = "forgotten.json"


def _forgotten(folder: str) -> List[Dict]:
    path = os.path.join(folder, FORGOTTEN)
    return read_json(path) if os.path.exists(path) else []


def _forgotten_requests(folder: str) -> set:
    return {entry["request"] for entry in _forgotten(folder)}


def _record_forgotten(folder: str, request: str, resolution: Resolution, column: Optional[ColumnSpec],
                      log_entry: str) -> None:
    """Note in the run that a request is complete there: which rows, which column, for which groups (no values)."""
    entries = [e for e in _forgotten(folder) if e["request"] != request]
    entries.append({"request": request, "rows": {f: p.tolist() for f, p in resolution.rows.items()},
                    "column": column.column if column else None, "column_fingerprints": resolution.column_fingerprints,
                    "groups": sorted(read_json(os.path.join(folder, "manifest.json"))["groups"]), "log_entry": log_entry})
    write_json(os.path.join(folder, FORGOTTEN), entries)


def _covering_requests(folder: str, manifest: Dict, resolution: Resolution, column: Optional[ColumnSpec]) -> List[str]:
    """The completed requests that together removed these rows (and column) from every group the run has now.

    Empty if any of the rows is not covered: a group saved after the forget (a capture that was
    still running) is not covered.
    """
    used, covered = [], {}
    for entry in _forgotten(folder):
        if not set(manifest["groups"]) <= set(entry["groups"]):
            continue
        if entry["column"] is not None and (column is None or entry["column"] != column.column or
                                            not set(entry["column_fingerprints"]) & set(resolution.column_fingerprints)):
            continue
        for fingerprint, positions in entry["rows"].items():
            covered.setdefault(fingerprint, set()).update(positions)
        used.append(entry["request"])
    read = {s["fingerprint"] for s in manifest["sources"].values()}
    for fingerprint, positions in resolution.rows.items():
        if fingerprint in read and not set(positions.tolist()) <= covered.get(fingerprint, set()):
            return []
    return used


def _header(path: str) -> List[str]:
    """The columns of a text table by its header (for a file no captured run recorded)."""
    if not path.lower().endswith((".csv", ".tsv", ".txt")):
        return []
    try:
        return [str(c) for c in pd.read_csv(path, nrows=0, sep=None if path.lower().endswith(".txt") else
                                            ("\t" if path.lower().endswith(".tsv") else ","), engine="python").columns]
    except (ValueError, OSError):
        return []


def clean_leftovers(store: str) -> None:
    """Remove what a killed writer left: temporary files, and raw key indexes of older versions.

    Called with the exclusive lock held, so no temporary file belongs to a live writer.
    """
    keys = os.path.join(store, "keys")
    for folder, _, files in os.walk(store):
        for name in files:
            if name.endswith(".tmp") or (name.endswith(".keys.npy") and os.path.dirname(folder) == keys):
                os.remove(os.path.join(folder, name))


def _request_id(resolution: Resolution, column: Optional[ColumnSpec]) -> str:
    text = json.dumps([sorted((f, p.tolist()) for f, p in resolution.rows.items()), column.column if column else None,
                       resolution.column_fingerprints])
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def new_run_id() -> str:
    return time.strftime("%Y%m%d-%H%M%S") + "-" + uuid.uuid4().hex[:8]
