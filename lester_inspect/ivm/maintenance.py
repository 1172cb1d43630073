"""Maintain group-by aggregates, and the columns computed from them, when source rows are forgotten.

The healthcare example labels a patient by ``complications > 1.2 * mean_complications``,
where ``mean_complications`` is the mean of ``complications`` over the patient's age
group. Forgetting patients (or their ``complications``) changes the mean of their age
groups, hence the labels of *other* patients of those groups, hence the model.

At capture (``ViewRecorder``, fed every operator by ``ArtifactCapture``) a run keeps,
per group-by aggregation it can maintain, a *view* under ``runs/<id>/views/<n>/``:

* ``input/``     the aggregated columns of every input row (columnar, scrubbed like
                 the artifacts), ``codes.npy`` (each input row's group) and ``lineage/``
                 (the input rows' source rows, sorted for binary search);
* ``groups/``    the group keys and the aggregates, as maintained so far;
* ``derived/``   for the column computed from the aggregates: the other columns its
                 expression reads, its values, the rows' groups and lineage;
* ``map_<group>.npy``  per captured train/test row, its row in ``derived/`` (-1: none);
* ``view.json``  keys, aggregations, the expression, which captured columns carry the
                 derived column (the training data's ``label`` column, y), or why the view
                 cannot be maintained.

At ``forget`` (``plan``): the removed or nulled input rows are found by lineage, their
groups recomputed from the *remaining* rows (the same pandas aggregation over the same
rows in the same order as a run from scratch, so the values are identical), the derived
column re-evaluated for the rows of those groups, and every captured cell or label that
changes is rewritten; changed training labels go into the model update (label
unlearning). What cannot be maintained is a report line, never silence.
"""
from __future__ import annotations

import dataclasses
import os
import re
from typing import Dict, List, Optional, Sequence, Set, Tuple

import numpy as np
import pandas as pd

from lester_inspect.ivm import columnar
from lester_inspect.ivm.derivation import Derivation, NotDerivable, changed_positions, same_values
from lester_inspect.ivm.files import read_json, write_array, write_array_entries, write_json

VIEWS = "views"
SELECTIONS = "selections.json"
AGGREGATIONS = ("mean", "sum", "count", "min", "max", "var", "std", "nunique", "median")


# -- capture ------------------------------------------------------------------------------------------

class ViewRecorder:
    """Collects, while a pipeline runs, what maintaining its group-by aggregates needs."""

    def __init__(self):
        self.aggregates: List[dict] = []
        self.derived: List[dict] = []
        #: The latest expression of every computed column, or why it has none (for rectify).
        self.derivations: Dict[str, object] = {}
        self.problems: List[str] = []
        #: Row selections that read a maintained column: the rows they keep are not maintained.
        self.selections: List[str] = []
        self._saved = False

    def observe(self, operator) -> None:
        from lester_inspect.instrumentation.dag import OperatorType as T

        node = operator.node
        try:
            if node.operator_type is T.GROUP_BY_AGG:
                self._group_by(operator)
            elif node.operator_type is T.PROJECTION_MODIFY:
                self._record_derivations(operator)
                if self.aggregates:
                    self._derived(operator)
            elif node.operator_type is T.SELECTION and self.aggregates:
                self._selection(operator)
        except NotDerivable as error:
            self.problems.append(str(error))
        except Exception as error:  # capture must not fail the user's run; forget reports it
            self.problems.append(f"line {_line(node)}: {node.description}: not recorded ({error!r})")

    def _group_by(self, operator) -> None:
        from lester_inspect.inspections.annotations import GroupFactor
        from lester_inspect.inspections.capture import _lineage

        node = operator.node
        result = operator.output if operator.output is not None else operator.data
        frame = operator.inputs[0].data if operator.inputs else None
        where = f"line {_line(node)}: {node.description}"
        if not isinstance(frame, pd.DataFrame):
            self.problems.append(f"{where}: aggregates of a column selected after groupby (not of a frame) "
                                 "are not maintained")
            return
        keys = [n for n in getattr(result, "index", pd.Index([])).names if n is not None]
        if not keys or not all(k in frame.columns for k in keys):
            self.problems.append(f"{where}: the group keys are not columns of the grouped frame; not maintained")
            return
        derivations = operator.dag.nodes[node].get("derivations") or {}
        outputs = list(result.columns) if isinstance(result, pd.DataFrame) else [result.name]
        mentioned = [w for w in re.findall(r"[a-z]+", node.description.split(":", 1)[-1]) if w in AGGREGATIONS]
        specs = {}
        for output in outputs:
            reads = derivations.get(output) or []
            column = reads[0][1] if len(reads) == 1 else output
            if column not in frame.columns:
                self.problems.append(f"{where}: the input column of {output!r} is not known; not maintained")
                return
            found = [f for f in dict.fromkeys(mentioned)
                     if same_values(frame.groupby(keys)[column].agg(f).reindex(result.index), result[output]
                                    if isinstance(result, pd.DataFrame) else result)]
            if not found:
                self.problems.append(f"{where}: the aggregation of {output!r} is none of {', '.join(AGGREGATIONS)}; "
                                     "not maintained")
                return
            specs[str(output)] = (str(column), found[0])
        annotations = operator.annotations_of(frame)
        lineage_annotation = (annotations or {}).get(("lineage",))
        if lineage_annotation is not None and any(isinstance(f, GroupFactor) for f in lineage_annotation.factors):
            self.problems.append(f"{where}: an aggregate over aggregated rows is not maintained")
            return
        lineage = _lineage(annotations, operator.source_names)
        lineage.pop(None, None)
        provenance = _column_provenance(operator, operator.inputs[0].node)
        index = result.index
        codes = (index.get_indexer(pd.MultiIndex.from_frame(frame[keys])) if len(keys) > 1
                 else index.get_indexer(frame[keys[0]]))
        table = result.reset_index() if isinstance(result, pd.DataFrame) else result.reset_index()
        self.aggregates.append({
            "node": node, "where": where, "keys": keys, "specs": specs,
            "inputs": frame[sorted({c for c, _ in specs.values()})].copy(),
            "codes": np.asarray(codes, dtype=np.int64), "lineage": lineage,
            "groups": table[keys + list(specs)].copy(),
            "provenance": {c: sorted(provenance.get(c, ())) for c in keys + [c for c, _ in specs.values()]}})

    def _selection(self, operator) -> None:
        """A selection that reads a maintained column (an aggregate, or a column computed from one), or a
        mask lester-inspect cannot read, below an aggregate: the rows it keeps may change with them."""
        from lester_inspect.instrumentation.dag import ancestors

        node, dag = operator.node, operator.dag
        maintained = {d["derivation"].column for d in self.derived} | {o for a in self.aggregates for o in a["specs"]}
        named = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", node.description.split(":", 1)[-1]))
        reads = sorted(named & maintained)
        opaque = node.description.startswith("Select: by boolean mask") or len(list(dag.predecessors(node))) > 1
        upstream = ancestors(dag, node)
        below = any(a["node"] is node or a["node"] in upstream for a in self.aggregates)
        if reads or (opaque and below):
            what = f"reads {', '.join(reads)}" if reads else "selects by a mask that may be computed from them"
            self.selections.append(f"line {_line(node)}: {node.description}: {what}, which maintenance changes; "
                                   "rows it would now keep or drop are not added or removed")

    def _record_derivations(self, operator) -> None:
        frame = operator.output if isinstance(operator.output, pd.DataFrame) else operator.data
        for column in (operator.dag.nodes[operator.node].get("derivations") or {}):
            if not operator.node.description.startswith("Set column"):
                continue  # a Series computed on the side (labels passed to fit), not a column of the frame
            try:
                self.derivations[str(column)] = Derivation.parse(
                    str(column), operator.node.description[len(f"Set column {column!r}: "):]) \
                    if operator.node.description.startswith(f"Set column {column!r}: ") and isinstance(
                        frame, pd.DataFrame) else f"line {_line(operator.node)}: {operator.node.description}"
            except NotDerivable as error:
                self.derivations[str(column)] = f"line {_line(operator.node)}: {error}"

    def _derived(self, operator) -> None:
        from lester_inspect.inspections.capture import _lineage
        from lester_inspect.instrumentation.dag import ancestors

        node, dag = operator.node, operator.dag
        frame = operator.output if isinstance(operator.output, pd.DataFrame) else operator.data
        for column, reads in (dag.nodes[node].get("derivations") or {}).items():
            views = {id(a): a for read_node, read in reads for a in self.aggregates
                     if str(read) in a["specs"] and (a["node"] is read_node or a["node"] in ancestors(dag, read_node))}
            if not views:
                continue
            where = f"line {_line(node)}: column {column!r}"
            if len(views) > 1:
                self.problems.append(f"{where} reads several aggregates; not maintained")
                continue
            view = next(iter(views.values()))
            if not all(k in frame.columns for k in view["keys"]):
                self.problems.append(f"{where}: the group keys {view['keys']} are not columns of its frame; "
                                     "not maintained")
                continue
            derivation = Derivation.of_node(dag, node, str(column), frame)
            index = pd.MultiIndex.from_frame(view["groups"][view["keys"]]) if len(view["keys"]) > 1 \
                else pd.Index(view["groups"][view["keys"][0]])
            codes = (index.get_indexer(pd.MultiIndex.from_frame(frame[view["keys"]])) if len(view["keys"]) > 1
                     else index.get_indexer(frame[view["keys"][0]]))
            plain = [r for r in derivation.reads if r not in view["specs"]]
            lineage = _lineage(operator.annotations_of(frame), operator.source_names)
            lineage.pop(None, None)
            provenance = _column_provenance(operator, operator.parents()[0]) if operator.parents() else {}
            self.derived.append({
                "view": view, "where": where, "derivation": derivation, "codes": np.asarray(codes, dtype=np.int64),
                "values": frame[plain + [str(column)]].copy(), "lineage": lineage,
                "provenance": {c: sorted(provenance.get(c, ())) for c in plain}})

    def save(self, store: str, run_id: str, group: str, lineage: Dict[str, np.ndarray], data, y,
             labels_column: Optional[str]) -> None:
        """Write the views (once per run) and how the captured ``group`` rows map onto them."""
        from lester_inspect.ivm.files import locked
        from lester_inspect.ivm.store import _write_lineage

        folder = os.path.join(store, "runs", run_id, VIEWS)
        with locked(store):
            if not self._saved:
                os.makedirs(folder, exist_ok=True)
                used = {id(d["view"]) for d in self.derived}
                problems = self.problems + [f"{a['where']}: no column computed from it is re-derived; its values "
                                            "stay as captured" for a in self.aggregates if id(a) not in used]
                write_json(os.path.join(folder, "problems.json"), problems)
                write_json(os.path.join(folder, SELECTIONS), self.selections)
                for number, derived in enumerate(self.derived):
                    view, base = derived["view"], os.path.join(folder, str(number))
                    columnar.write_frame(os.path.join(base, "input"), view["inputs"])
                    write_array(os.path.join(base, "input", "codes.npy"), view["codes"])
                    _write_lineage(os.path.join(base, "input", "lineage"), view["lineage"])
                    columnar.write_frame(os.path.join(base, "groups"), view["groups"])
                    columnar.write_frame(os.path.join(base, "derived"), derived["values"])
                    write_array(os.path.join(base, "derived", "codes.npy"), derived["codes"])
                    _write_lineage(os.path.join(base, "derived", "lineage"), derived["lineage"])
                    write_json(os.path.join(base, "view.json"), {
                        "aggregate": view["where"], "keys": view["keys"], "specs": view["specs"],
                        "input_provenance": view["provenance"], "derived": derived["where"],
                        "column": derived["derivation"].column, "expression": derived["derivation"].text,
                        "read_provenance": derived["provenance"], "carried": {}, "problems": []})
                self._saved = True
            if data is not None:
                carried_outputs = sorted({o for a in self.aggregates for o in a["specs"]} & set(map(str, data.columns)))
                if carried_outputs:
                    problems = read_json(os.path.join(folder, "problems.json"))
                    problems.append(f"{group}: the aggregate column(s) {', '.join(carried_outputs)} of the captured "
                                    "data are not maintained")
                    write_json(os.path.join(folder, "problems.json"), problems)
            for number, derived in enumerate(self.derived):
                base = os.path.join(folder, str(number))
                meta = read_json(os.path.join(base, "view.json"))
                problem = None
                mapping = _map_rows(lineage, derived["lineage"])
                if isinstance(mapping, str):
                    meta["problems"].append(f"{group}: {mapping}")
                else:
                    write_array(os.path.join(base, f"map_{group}.npy"), mapping)
                    carried, problem = _carriers(derived, mapping, data, y, labels_column)
                    meta["carried"][group] = carried
                if problem:
                    meta["problems"].append(f"{group}: {problem}")
                write_json(os.path.join(base, "view.json"), meta)


def _carriers(derived: dict, mapping, data, y, labels_column) -> Tuple[List[str], Optional[str]]:
    """Which captured parts (``data`` column, ``y``) hold the derived column's values, by comparing them."""
    if not isinstance(mapping, np.ndarray):
        return [], None
    column = derived["derivation"].column
    values = derived["values"][column].to_numpy()
    mapped = mapping >= 0
    carried, problem = [], None
    if data is not None and column in data.columns:
        if same_values(data[column].to_numpy()[mapped], values[mapping[mapped]]):
            carried.append("data")
        else:
            problem = f"the captured column {column!r} differs from the one computed at {derived['where']}"
    if y is not None and labels_column == column and len(y) == len(mapping):
        if same_values(np.asarray(y)[mapped], values[mapping[mapped]]):
            carried.append("y")
        else:
            problem = f"the labels differ from the column computed at {derived['where']}"
    return carried, problem


def _map_rows(captured: Dict[str, np.ndarray], derived: Dict[str, np.ndarray]):
    """Per captured row, the derived-table row with the same source rows; or why there is none."""
    common = sorted(set(captured) & set(derived))
    if not common:
        return "its rows share no source with the derived column's rows"
    left = pd.DataFrame({s: captured[s] for s in common})
    right = pd.DataFrame({s: derived[s] for s in common})
    if right.duplicated().any():
        return f"several rows computing the derived column come from the same rows of {', '.join(common)}"
    right["_row"] = np.arange(len(right))
    merged = left.merge(right, on=common, how="left")
    return merged["_row"].fillna(-1).to_numpy(dtype=np.int64)


def _column_provenance(operator, node) -> Dict:
    from lester_inspect.inspections.provenance import ColumnProvenance

    if node is None or operator.results is None:
        return {}
    return operator.results.get(node, {}).get(ColumnProvenance()) or {}


def _line(node) -> str:
    return str(node.code_location.lineno) if node.code_location else "?"


# -- forget -------------------------------------------------------------------------------------------

@dataclasses.dataclass
class Maintenance:
    """What maintaining a run's views changes for one request (computed before anything is written)."""

    lines: List[str]
    rederived: Dict[str, Set[str]]           # per captured group: columns re-derived instead of nulled
    relabel: Optional[Tuple[np.ndarray, np.ndarray]]  # training rows whose label changes, new labels
    covers_aggregates: bool
    changed: Dict[str, int] = dataclasses.field(default_factory=dict)  # per group: captured rows relabelled
    _writes: List = dataclasses.field(default_factory=list)

    @property
    def changes_anything(self) -> bool:
        """Whether a view (or a captured value computed from one) changes."""
        return bool(self._writes)

    def apply(self) -> None:
        for write in self._writes:
            write()


def has_views(run_folder: str) -> bool:
    return os.path.isdir(os.path.join(run_folder, VIEWS))


def rows_in_views(run_folder: str, row_sources: Dict[str, np.ndarray]) -> int:
    """How many input rows of the run's maintained aggregates come from these source rows."""
    from lester_inspect.ivm.store import _lookup_rows

    folder = os.path.join(run_folder, VIEWS)
    if not os.path.isdir(folder):
        return 0
    return sum(len(_lookup_rows(os.path.join(folder, name, "input", "lineage"), row_sources))
               for name in os.listdir(folder) if name.isdigit())


def plan(run_folder: str, request: str, row_sources: Dict[str, np.ndarray],
         column_sources: Optional[Set[Tuple[str, str]]], removed: Dict[str, Sequence[int]]) -> Maintenance:
    """The maintenance of ``run_folder``'s views for removing rows of sources (``{source name: positions}``).

    ``column_sources`` None means instance deletion (the rows go), else the ``(source, column)``
    cells are nulled. ``removed`` are the captured rows this request deletes, per group.
    """
    from lester_inspect.ivm.store import _lookup_rows

    folder = os.path.join(run_folder, VIEWS)
    result = Maintenance([], {}, None, True)
    problems = read_json(os.path.join(folder, "problems.json"))
    result.lines.extend(f"not maintained: {p}" for p in problems)
    result.covers_aggregates = not problems
    relabel_rows, relabel_values = [], []
    changed_any = False
    for name in sorted((n for n in os.listdir(folder) if n.isdigit()), key=int):
        base = os.path.join(folder, name)
        meta = read_json(os.path.join(base, "view.json"))
        if meta["problems"]:
            result.lines.extend(f"not maintained: {meta['derived']}: {p}" for p in meta["problems"])
            result.covers_aggregates = False
            continue
        inputs = os.path.join(base, "input")
        touched = _lookup_rows(os.path.join(inputs, "lineage"), row_sources)
        keys_hit = column_sources is None or any(column_sources & {tuple(p) for p in meta["input_provenance"][k]}
                                                 for k in meta["keys"])
        nulled_inputs = [] if keys_hit else sorted({c for c, _ in meta["specs"].values()
                                                   if column_sources & {tuple(p) for p in meta["input_provenance"][c]}})
        state = columnar.read_state(inputs)
        gone = set(state["deleted_rows"]) | (set(touched) if keys_hit else set())
        codes = np.load(os.path.join(inputs, "codes.npy"), mmap_mode="r")  # read once, not copied
        affected = np.unique(codes[touched]) if touched and (keys_hit or nulled_inputs) else np.zeros(0, np.int64)
        affected = affected[affected >= 0]
        groups_folder = os.path.join(base, "groups")
        groups = columnar.read_frame(groups_folder)
        selected = _in_groups(codes, affected, len(groups))
        selected[np.fromiter(gone, dtype=np.int64, count=len(gone))] = False
        kept_codes = codes[selected]
        remaining = np.bincount(kept_codes, minlength=len(groups)) if len(kept_codes) else np.zeros(len(groups))
        vanished = [g for g in affected.tolist() if remaining[g] == 0]
        for output, (column, function) in meta["specs"].items():
            if not len(affected):
                break
            values = columnar.read_column(inputs, column, deleted_as_null=False)  # deleted rows are not selected
            if column in nulled_inputs and touched:
                values = values.astype("float64") if values.dtype.kind in "iub" else values.copy()
                values.iloc[touched] = np.nan
            recomputed = _aggregate(values.to_numpy()[selected], kept_codes, function, len(groups))
            column_values = groups[output].astype("float64") if groups[output].dtype.kind in "iub" \
                else groups[output].copy()
            column_values.iloc[recomputed.index.to_numpy()] = recomputed.to_numpy()
            column_values.iloc[vanished] = np.nan
            groups[output] = column_values
        for key in meta["keys"]:
            if vanished:
                groups[key] = groups[key].astype(object)
                groups.loc[vanished, key] = None

        derived_folder = os.path.join(base, "derived")
        derivation = Derivation.parse(meta["column"], meta["expression"])
        dcodes = np.load(os.path.join(derived_folder, "codes.npy"), mmap_mode="r")
        dtouched = _lookup_rows(os.path.join(derived_folder, "lineage"), row_sources)
        dstate = columnar.read_state(derived_folder)
        nulled_reads = [] if column_sources is None else [
            c for c, prov in meta["read_provenance"].items() if column_sources & {tuple(p) for p in prov}]
        dgone = set(dstate["deleted_rows"]) | (set(dtouched) if column_sources is None else set())
        candidate_mask = _in_groups(dcodes, affected, len(groups))
        if nulled_reads:
            candidate_mask[np.asarray(dtouched, dtype=np.int64)] = True
        candidate_mask[np.fromiter(dgone, dtype=np.int64, count=len(dgone))] = False
        candidates = np.flatnonzero(candidate_mask)  # masks, not set operations: no sort of 1M rows
        candidate_codes = dcodes[candidates]  # one gather from the memory map for every use below
        environment = {}
        for column in derivation.reads:
            if column in meta["specs"]:
                environment[column] = pd.Series(groups[column].to_numpy()[candidate_codes], copy=False)
            else:
                values = columnar.read_column(derived_folder, column, deleted_as_null=False)
                if column in nulled_reads and dtouched:
                    values = values.astype("float64") if values.dtype.kind in "iub" else values.copy()
                    values.iloc[dtouched] = np.nan
                environment[column] = pd.Series(values.to_numpy()[candidates], copy=False)
        new_values = derivation.evaluate(environment).to_numpy() if len(candidates) else np.zeros(0)
        # Deleted rows keep their scrubbed bytes here: they are never candidates.
        derived_values = columnar.read_column(derived_folder, meta["column"], deleted_as_null=False).to_numpy()
        stale_vanished = int(np.count_nonzero(_in_groups(candidate_codes, vanished, len(groups)))) if vanished else 0
        derived_new = derived_values.copy()
        if len(candidates):
            derived_new[candidates] = new_values.astype(derived_values.dtype)

        counts = {}
        for group, carried in meta["carried"].items():
            mapping = np.load(os.path.join(base, f"map_{group}.npy"), mmap_mode="r")
            is_candidate = np.zeros(len(dcodes) + 1, dtype=bool)  # the last entry stands for -1 (no row)
            is_candidate[candidates] = True
            keep = is_candidate[mapping]
            group_folder = os.path.join(run_folder, group)
            keep[np.asarray(removed.get(group, ()), dtype=np.int64)] = False
            keep[np.asarray(columnar.read_state(group_folder)["deleted_rows"], dtype=np.int64)] = False
            captured = np.flatnonzero(keep)
            target = derived_new[mapping[captured]]
            changed = np.zeros(0, dtype=np.int64)
            if "y" in carried:
                y_path = os.path.join(group_folder, "y.npy")
                y = np.load(y_path)
                changed = captured[changed_positions(y[captured], target)]
                if len(changed):
                    labels = derived_new[mapping[changed]].astype(y.dtype)
                    if group == "train":
                        relabel_rows.append(changed)
                        relabel_values.append(labels)
                    result._writes.append(lambda path=y_path, rows=changed, labels=labels:
                                          write_array_entries(path, rows, labels))
            if "data" in carried:
                data_folder = os.path.join(group_folder, "data")
                current = columnar.read_column(data_folder, meta["column"]).to_numpy()
                changed_cells = captured[changed_positions(current[captured], target)]
                changed = np.union1d(changed, changed_cells)
                if len(changed_cells):
                    result._writes.append(lambda path=_column_file(data_folder, meta["column"]), rows=changed_cells,
                                          values=derived_new[mapping[changed_cells]]:
                                          write_array_entries(path, rows, values))
                result.rederived.setdefault(group, set()).add(meta["column"])
            counts[group] = len(changed)
            result.changed[group] = result.changed.get(group, 0) + len(changed)

        # The view's own files: the removed inputs scrubbed, the groups and derived values as maintained.
        def write_view(inputs=inputs, touched=touched, keys_hit=keys_hit, nulled_inputs=nulled_inputs,
                       groups=groups, derived_folder=derived_folder, dtouched=dtouched, nulled_reads=nulled_reads,
                       derived_new=derived_new, column=meta["column"], groups_folder=groups_folder,
                       candidates=candidates):
            input_columns = columnar.frame_columns(inputs)
            if keys_hit:
                columnar.record_change(inputs, request, deleted_rows=touched)
                columnar.scrub_cells(inputs, input_columns, touched)
            elif nulled_inputs:
                columnar.record_change(inputs, request, nulled={c: touched for c in nulled_inputs})
                columnar.scrub_cells(inputs, nulled_inputs, touched)
            if column_sources is None:
                columnar.record_change(derived_folder, request, deleted_rows=dtouched)
                columnar.scrub_cells(derived_folder, columnar.frame_columns(derived_folder), dtouched)
            elif nulled_reads:
                columnar.record_change(derived_folder, request, nulled={c: dtouched for c in nulled_reads})
                columnar.scrub_cells(derived_folder, nulled_reads, dtouched)
            # Only the entries that differ from what is stored (a rerun after a crash finds the rest written).
            rows = candidates[changed_positions(derived_values[candidates], derived_new[candidates])]
            write_array_entries(_column_file(derived_folder, column), rows, derived_new[rows])
            columnar.update_frame(groups_folder, groups)

        if len(affected) or len(dtouched):
            result._writes.insert(0, write_view)
            changed_any = True
        where = meta["aggregate"].split(": ", 1)
        described = ", ".join(f"{output} = {function}({column})" for output, (column, function) in meta["specs"].items())
        if not len(affected):
            result.lines.append(f"{where[0]} group-by ({described}): no group changed")
            continue
        result.lines.append(
            f"{where[0]} group-by ({described} per {', '.join(meta['keys'])}): {len(affected)} of {len(groups)} "
            f"group(s) recomputed from their {int(selected.sum())} remaining rows"
            + (f", {len(vanished)} emptied" if vanished else ""))
        result.lines.append(
            f"{meta['derived'].split(':')[0]} {meta['column']} = {meta['expression']}: re-derived for "
            f"{len(candidates)} row(s); changed " + (", ".join(f"{g} {n}" for g, n in counts.items()) or "nowhere")
            + ("; changed training labels go into the model update" if counts.get("train") else ""))
        if stale_vanished:
            result.lines.append(f"not maintained: {stale_vanished} row(s) of emptied groups remain; a run from "
                                "scratch would drop them from the join")
    selections = os.path.join(folder, SELECTIONS)
    if changed_any and os.path.exists(selections):
        result.lines.extend(f"NOT MAINTAINED: {line}" for line in read_json(selections))
    if relabel_rows:
        rows = np.concatenate(relabel_rows)
        order = np.argsort(rows, kind="stable")
        result.relabel = (rows[order], np.concatenate(relabel_values)[order])
    return result


def _in_groups(codes: np.ndarray, groups: np.ndarray, count: int) -> np.ndarray:
    """Which rows' group code is one of ``groups`` (code -1: no group): a table lookup, one pass."""
    table = np.zeros(count + 1, dtype=bool)  # the last entry stands for -1
    table[np.asarray(groups, dtype=np.int64)] = True
    return table[codes]


def _aggregate(values: np.ndarray, codes: np.ndarray, function: str, count: int) -> pd.Series:
    """The aggregate of ``values`` per group code, as ``Series.groupby(codes).agg(function)`` computes it.

    Integer sums, counts and means by ``np.bincount``: every partial sum of integers below 2**53 is
    exact in float64, so the result is the one pandas' compensated sum gives, bit for bit.
    """
    if values.dtype.kind in "iub" and function in ("sum", "count", "mean") and len(values):
        weights = values.astype(np.float64)
        if max(abs(float(values.max())), abs(float(values.min()))) * len(values) < 2.0 ** 52:
            counts = np.bincount(codes, minlength=count)
            present = np.flatnonzero(counts)
            if function == "count":
                return pd.Series(counts[present], index=present)
            sums = np.bincount(codes, weights=weights, minlength=count)[present]
            if function == "sum":
                return pd.Series(sums.astype(np.int64), index=present)
            return pd.Series(sums / counts[present], index=present)
    return pd.Series(values).groupby(codes).agg(function)


def _column_file(folder: str, name: str) -> str:
    layout = read_json(os.path.join(folder, "layout.json"))
    column = next(c for c in layout["columns"] if c["name"] == name)
    return os.path.join(folder, column["file"] + ".npy")
