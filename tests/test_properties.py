"""Property-based tests: the propagated annotations equal a brute-force reference.

Hypothesis draws two small frames and a random chain of supported pandas
operations. The chain runs under the inspector with ``RowLineage(ALL_ROWS)`` and
``HistogramForColumns(['g'])``; a reference runs the same operations in plain pandas on
copies that carry, as ordinary columns, each row's set of source rows (``_lin``) and the
value of the sensitive column ``g`` (``_g``). The last operator's lineage must be the
reference's sets row by row, its histogram the value counts of ``_g``, and its
completeness and distinct counts those of the reference's visible columns.
"""
import numpy as np
import pandas as pd
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from lester_inspect import PipelineInspector
from lester_inspect.inspections import (CompletenessOfColumns, CountDistinctOfColumns, HistogramForColumns,
                                        RowLineage)

LINEAGE, HISTOGRAM = RowLineage(RowLineage.ALL_ROWS), HistogramForColumns(["g"])
COMPLETENESS, DISTINCT = CompletenessOfColumns(["g", "x"]), CountDistinctOfColumns(["g", "x"])
HIDDEN = ["_lin", "_g"]


def _visible(ref):
    return [c for c in ref.columns if c not in HIDDEN]


def _sync_g(ref):
    if "g" in ref.columns:
        ref["_g"] = ref["g"]
    return ref


def op_select(ref, threshold):
    return f'df = df[df["x"] > {threshold}]', ref[ref["x"] > threshold]


def op_dropna(ref, _):
    return "df = df.dropna()", ref.dropna(subset=_visible(ref))


def op_head(ref, count):
    return f"df = df.head({count})", ref.head(count)


def op_sort(ref, _):
    return 'df = df.sort_values("x", kind="stable")', ref.sort_values("x", kind="stable")


def op_concat(ref, _):
    return "df = pd.concat([df, df.head(2)], ignore_index=True)", pd.concat([ref, ref.head(2)], ignore_index=True)


def op_fillna(ref, _):
    return 'df = df.fillna({"g": "z"})', _sync_g(ref.fillna({"g": "z"}))


def op_setitem(ref, _):
    ref = ref.copy()
    ref["x2"] = ref["x"] * 2
    return 'df["x2"] = df["x"] * 2', ref


def op_project(ref, _):
    keep = [c for c in _visible(ref) if c != "g"]
    return f"df = df[{keep!r}]", ref[keep + HIDDEN]


def op_merge(ref, how, other_ref):
    merged = ref.merge(other_ref, on="key", how=how)
    merged["_lin"] = [(a if isinstance(a, frozenset) else frozenset()) | (b if isinstance(b, frozenset) else frozenset())
                      for a, b in zip(merged["_lin"], merged["_olin"])]
    return f'df = df.merge(other, on="key", how="{how}")', merged.drop(columns=["_olin"])


def op_drop_duplicates(ref, _):
    # A kept row stands for all its duplicates: its lineage is their union.
    union = ref.groupby("key")["_lin"].agg(lambda sets: frozenset().union(*sets))
    kept = ref.drop_duplicates(subset=["key"]).copy()
    kept["_lin"] = kept["key"].map(union)
    return 'df = df.drop_duplicates(subset=["key"])', kept


def op_groupby(ref, _):
    grouped = ref.groupby("key", as_index=False).agg(
        x=("x", "sum"), _lin=("_lin", lambda sets: frozenset().union(*sets)),
        _g=("_g", lambda values: values.iloc[0] if values.nunique(dropna=False) == 1 else None))
    return 'df = df.groupby("key", as_index=False).agg(x=("x", "sum"))', grouped


OPERATIONS = {"select": op_select, "dropna": op_dropna, "head": op_head, "sort": op_sort, "concat": op_concat,
              "fillna": op_fillna, "setitem": op_setitem, "project": op_project, "merge": op_merge,
              "drop_duplicates": op_drop_duplicates, "groupby": op_groupby}

people_rows = st.lists(st.tuples(st.integers(0, 3), st.sampled_from(["a", "b", None]), st.integers(-5, 5)),
                       max_size=12)
other_rows = st.lists(st.tuples(st.integers(0, 4), st.integers(0, 9)), max_size=6)
steps = st.lists(st.tuples(st.sampled_from(sorted(OPERATIONS)), st.integers(-3, 3)), min_size=1, max_size=6)


def _chain_is_supported(chain):
    names = [name for name, _ in chain]
    if names.count("merge") > 1 or "groupby" in names[:-1] and "fillna" in names[names.index("groupby"):]:
        return False
    return True


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(people_rows, other_rows, steps)
def test_lineage_and_histograms_equal_a_brute_force_reference(people, other, chain):
    if not _chain_is_supported(chain):
        return
    people_frame = pd.DataFrame(people, columns=["key", "g", "x"]).astype({"x": float})
    other_frame = pd.DataFrame(other, columns=["key", "y"])
    columns = {"key": [r[0] for r in people], "g": [r[1] for r in people], "x": [float(r[2]) for r in people]}
    code = ["import pandas as pd",
            f"df = pd.DataFrame({columns!r}, columns=['key', 'g', 'x']).astype({{'x': float}})",
            f"other = pd.DataFrame({{'key': {[r[0] for r in other]!r}, 'y': {[r[1] for r in other]!r}}}, "
            f"columns=['key', 'y'])"]
    ref = people_frame.assign(_lin=[frozenset({("people", i)}) for i in range(len(people_frame))],
                              _g=people_frame["g"])
    other_ref = other_frame.assign(_olin=[frozenset({("other", i)}) for i in range(len(other_frame))])
    for name, parameter in chain:
        if "key" not in ref.columns and name in ("merge", "drop_duplicates", "groupby"):
            continue
        if name == "fillna" and "g" not in ref.columns:
            continue
        if name == "merge":
            line, ref = op_merge(ref, ["inner", "left", "outer"][parameter % 3], other_ref)
        else:
            line, ref = OPERATIONS[name](ref, parameter if name != "head" else abs(parameter))
        code.append(line)
        event(f"ran {name}")
    result = (PipelineInspector.on_pipeline_from_string("\n".join(code) + "\n")
              .add_inspections([LINEAGE, HISTOGRAM, COMPLETENESS, DISTINCT]).execute())
    assert result.internal_errors == []
    last = result.nodes[-1]
    sources = [n for n in result.nodes if n.operator_type.name == "DATA_SOURCE"]
    names = {f"source{sources[0].node_id}": "people", f"source{sources[1].node_id}": "other"}
    lineage = result.dag_node_to_inspection_results[last][LINEAGE]
    assert len(lineage) == len(ref)
    assert [frozenset((names[s], row) for s, row in p.variables()) for p in lineage["lineage"]] == list(ref["_lin"])
    histogram = (result.dag_node_to_inspection_results[last][HISTOGRAM] or {}).get("g", {})
    expected = {}
    for value in ref["_g"]:
        key = None if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA else value
        expected[key] = expected.get(key, 0) + 1
    assert histogram == expected
    present = [c for c in ("g", "x") if c in ref.columns]
    results = result.dag_node_to_inspection_results[last]
    assert (results[COMPLETENESS] or {}) == {c: float(ref[c].notna().mean()) if len(ref) else 1.0 for c in present}
    assert (results[DISTINCT] or {}) == {c: int(ref[c].nunique()) for c in present}
