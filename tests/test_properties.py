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


def op_loc_store(ref, threshold):
    ref = ref.copy()
    ref.loc[ref["x"] > threshold, "g"] = "c"
    return f'df.loc[df["x"] > {threshold}, "g"] = "c"', _sync_g(ref)


def op_augmented_store(ref, step):
    ref = ref.copy()
    ref.loc[ref["g"] == "a", "x"] += step
    return f'df.loc[df["g"] == "a", "x"] += {step}', ref


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


def _union(sets):
    return frozenset().union(*sets)


def _same(values):
    return values.iloc[0] if values.nunique(dropna=False) == 1 else None


def _by_key(out, ref):
    """Each output row stands for the reference rows with its key: their lineage summed, ``g`` if shared."""
    groups = ref.groupby("key")
    out["_lin"] = out["key"].map(groups["_lin"].agg(_union))
    out["_g"] = out["key"].map(groups["_g"].agg(_same))
    return out


def op_get_dummies(ref, _):
    return 'df = pd.get_dummies(df, columns=["g"])', pd.get_dummies(ref, columns=["g"])


def op_pivot_table(ref, _):
    out = ref.pivot_table(index="key", values="x", aggfunc="sum").reset_index()
    return ('df = df.pivot_table(index="key", values="x", aggfunc="sum").reset_index()',
            _by_key(out, ref) if len(out) else ref.iloc[:0][["key", "x", *HIDDEN]])


def op_value_counts(ref, _):
    out = ref[["key", "x"]].value_counts(subset=["key"]).reset_index().rename(columns={"count": "x"})
    return ('df = df.value_counts(subset=["key"]).reset_index().rename(columns={"count": "x"})',
            _by_key(out.astype({"x": float}), ref))


def op_concat_labels(ref, _):
    return "df = pd.concat([df, df.head(2)])", pd.concat([ref, ref.head(2)])


def op_sort_index(ref, _):
    return 'df = df.sort_index(ascending=False, kind="stable")', ref.sort_index(ascending=False, kind="stable")


def op_nlargest(ref, count):
    return f'df = df.nlargest({count}, "x")', ref.nlargest(count, "x")


def op_transform(ref, _):
    ref = ref.copy()
    ref["m"] = ref.groupby("key")["x"].transform("sum")
    return 'df["m"] = df.groupby("key")["x"].transform("sum")', ref


def op_unique(ref, _):
    return 'df = df[~df.duplicated(subset=["key"])]', ref[~ref.duplicated(subset=["key"])]


def op_clip(ref, _):
    ref = ref.copy()
    ref["x"] = ref["x"].clip(-2, 2).where(ref["x"] != 0, -1)
    return 'df["x"] = df["x"].clip(-2, 2).where(df["x"] != 0, -1)', ref


def op_eval(ref, _):
    ref = ref.copy()
    ref["x3"] = ref["x"] * 3
    return 'df = df.eval("x3 = x * 3")', ref


def op_set_index(ref, _):
    out = ref.set_index("key").sort_index(kind="stable").reset_index()
    return 'df = df.set_index("key").sort_index(kind="stable").reset_index()', out


OPERATIONS = {"select": op_select, "dropna": op_dropna, "head": op_head, "sort": op_sort, "concat": op_concat,
              "fillna": op_fillna, "setitem": op_setitem, "project": op_project, "merge": op_merge,
              "drop_duplicates": op_drop_duplicates, "groupby": op_groupby, "get_dummies": op_get_dummies,
              "pivot_table": op_pivot_table, "value_counts": op_value_counts, "concat_labels": op_concat_labels,
              "sort_index": op_sort_index, "nlargest": op_nlargest, "transform": op_transform,
              "unique": op_unique, "clip": op_clip, "eval": op_eval, "set_index": op_set_index,
              "loc_store": op_loc_store, "augmented_store": op_augmented_store}
_NEEDS_KEY = ("merge", "drop_duplicates", "groupby", "pivot_table", "value_counts", "transform", "unique",
              "set_index")
_NEEDS_G = ("fillna", "get_dummies", "loc_store", "augmented_store")
_NEEDS_X = ("loc_store", "augmented_store")

people_rows = st.lists(st.tuples(st.integers(0, 3), st.sampled_from(["a", "b", None]), st.integers(-5, 5)),
                       max_size=12)
other_rows = st.lists(st.tuples(st.integers(0, 4), st.integers(0, 9)), max_size=6)
steps = st.lists(st.tuples(st.sampled_from(sorted(OPERATIONS)), st.integers(-3, 3)), min_size=1, max_size=6)
# The operations are drawn from a larger pool now: more examples keep the coverage of each.


def _chain_is_supported(chain):
    names = [name for name, _ in chain]
    if names.count("merge") > 1 or "groupby" in names[:-1] and "fillna" in names[names.index("groupby"):]:
        return False
    return True


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(people_rows, other_rows, steps)
def test_lineage_and_histograms_equal_a_brute_force_reference(people, other, chain):
    if not _chain_is_supported(chain):
        return
    people_frame = pd.DataFrame(people, columns=["key", "g", "x"]).astype({"x": float})
    other_frame = pd.DataFrame(other, columns=["key", "y"])
    columns = {"key": [r[0] for r in people], "g": [r[1] for r in people], "x": [float(r[2]) for r in people]}
    # ``other`` first: with every step skipped, the last node is still people's
    code = ["import pandas as pd",
            f"other = pd.DataFrame({{'key': {[r[0] for r in other]!r}, 'y': {[r[1] for r in other]!r}}}, "
            f"columns=['key', 'y'])",
            f"df = pd.DataFrame({columns!r}, columns=['key', 'g', 'x']).astype({{'x': float}})"]
    ref = people_frame.assign(_lin=[frozenset({("people", i)}) for i in range(len(people_frame))],
                              _g=people_frame["g"])
    other_ref = other_frame.assign(_olin=[frozenset({("other", i)}) for i in range(len(other_frame))])
    for name, parameter in chain:
        if "key" not in ref.columns and name in _NEEDS_KEY or "g" not in ref.columns and name in _NEEDS_G or (
                "x" not in ref.columns and name in _NEEDS_X):
            continue
        if name == "pivot_table" and (ref.empty or ref["key"].isna().all()):
            continue  # pandas cannot pivot an empty frame, with or without us
        if name == "loc_store" and ref["g"].dtype.kind == "f":
            continue  # g holds only missing values (an empty merge): pandas refuses text in a float column
        if name == "merge":
            line, ref = op_merge(ref, ["inner", "left", "outer"][parameter % 3], other_ref)
        else:
            line, ref = OPERATIONS[name](ref, parameter if name not in ("head", "nlargest") else abs(parameter))
        code.append(line)
        event(f"ran {name}")
    result = (PipelineInspector.on_pipeline_from_string("\n".join(code) + "\n")
              .add_inspections([LINEAGE, HISTOGRAM, COMPLETENESS, DISTINCT]).execute())
    assert result.internal_errors == []
    last = result.nodes[-1]
    sources = [n for n in result.nodes if n.operator_type.name == "DATA_SOURCE"]
    names = {f"source{sources[1].node_id}": "people", f"source{sources[0].node_id}": "other"}
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


# -- numpy on tracked data ---------------------------------------------------------------------------
# Each operation is a line of pipeline code and what it does to a reference array: the new
# array, and for each of its rows the row of the old array it holds (all operands are rows of
# ``a``), so lineage and sensitive values follow by indexing the reference's lists.

def np_where(a, _):
    return "a = np.where(a > 0, a, -a)", np.where(a > 0, a, -a), np.arange(len(a))


def np_select(a, _):
    return ("a = np.select([a > 1, a < -1], [a, -a], default=0.5)",
            np.select([a > 1, a < -1], [a, -a], default=0.5), np.arange(len(a)))


def np_ufunc(a, which):
    line = ["a = np.sqrt(np.abs(a))", "a = np.log1p(np.abs(a))", "a = np.negative(a)",
            "a = np.exp(np.minimum(a, 3))"][which % 4]
    return line, eval(line[4:], {"np": np, "a": a}), np.arange(len(a))


def np_arithmetic(a, _):
    return "a = a * 2 + 1", a * 2 + 1, np.arange(len(a))


def np_mask(a, threshold):
    keep = a[:, 0] > threshold
    return f"a = a[a[:, 0] > {threshold}]", a[keep], np.flatnonzero(keep)


def np_slice(a, start):
    rows = np.arange(len(a))
    if start < 0:
        return "a = a[::-1]", a[::-1], rows[::-1]
    return f"a = a[{start}:]", a[start:], rows[start:]


def np_take(a, seed):
    picked = [int(i) for i in np.random.default_rng(seed + 3).integers(0, len(a), 3)] if len(a) else []
    return f"a = a[{picked!r}]", a[picked] if picked else a[:0], np.array(picked, dtype=np.int64)


def np_concatenate(a, _):
    rows = np.arange(len(a))
    return "a = np.concatenate([a, a[:2]])", np.concatenate([a, a[:2]]), np.concatenate([rows, rows[:2]])


def np_vstack(a, _):
    rows = np.arange(len(a))
    return "a = np.vstack([a, a[::-1]])", np.vstack([a, a[::-1]]), np.concatenate([rows, rows[::-1]])


def np_r(a, _):
    rows = np.arange(len(a))
    return "a = np.r_[a, a[:1]]", np.r_[a, a[:1]], np.concatenate([rows, rows[:1]])


def np_augmented_store(a, threshold):
    a = a.copy()
    a[a[:, 0] > threshold] += 1
    a[:, 1] *= 2
    # The script copies too: a view of a frame's values is read-only under copy-on-write.
    return f"a = a.copy()\na[a[:, 0] > {threshold}] += 1\na[:, 1] *= 2", a, np.arange(len(a))


def np_hstack(a, _):
    return "a = np.hstack([a, a * 2])", np.hstack([a, a * 2]), np.arange(len(a))


def np_column_stack(a, _):
    return "a = np.column_stack([a, a[:, 0]])", np.column_stack([a, a[:, 0]]), np.arange(len(a))


def np_c(a, _):
    return "a = np.c_[a, -a]", np.c_[a, -a], np.arange(len(a))


NUMPY_OPERATIONS = {"where": np_where, "select": np_select, "ufunc": np_ufunc, "arithmetic": np_arithmetic,
                    "mask": np_mask, "slice": np_slice, "take": np_take, "concatenate": np_concatenate,
                    "vstack": np_vstack, "r_": np_r, "hstack": np_hstack, "column_stack": np_column_stack,
                    "c_": np_c, "augmented_store": np_augmented_store}
# Pandas steps before the data becomes an array: they keep the columns the array is made of.
PANDAS_PREFIX = {"select": op_select, "dropna": op_dropna, "head": op_head, "sort": op_sort, "concat": op_concat,
                 "unique": op_unique, "sort_index": op_sort_index}
prefix_steps = st.lists(st.tuples(st.sampled_from(sorted(PANDAS_PREFIX)), st.integers(-3, 3)), max_size=2)
numpy_steps = st.lists(st.tuples(st.sampled_from(sorted(NUMPY_OPERATIONS)), st.integers(-3, 3)), min_size=1,
                       max_size=4)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(people_rows, prefix_steps, numpy_steps)
def test_numpy_lineage_and_histograms_equal_a_brute_force_reference(people, prefix, chain):
    columns = {"key": [r[0] for r in people], "g": [r[1] for r in people], "x": [float(r[2]) for r in people]}
    code = ["import numpy as np", "import pandas as pd",
            f"df = pd.DataFrame({columns!r}, columns=['key', 'g', 'x']).astype({{'x': float}})"]
    ref = pd.DataFrame(columns, columns=["key", "g", "x"]).astype({"x": float})
    ref = ref.assign(_lin=[frozenset({row}) for row in range(len(ref))], _g=ref["g"])
    for name, parameter in prefix:
        line, ref = PANDAS_PREFIX[name](ref, abs(parameter) if name == "head" else parameter)
        code.append(line)
    code.append('a = df[["x", "key"]].to_numpy(dtype=float)')
    array, lineage, sensitive = ref[["x", "key"]].to_numpy(dtype=float), list(ref["_lin"]), list(ref["_g"])
    for name, parameter in chain:
        line, array, rows = NUMPY_OPERATIONS[name](array, parameter)
        lineage, sensitive = [lineage[r] for r in rows], [sensitive[r] for r in rows]
        code.append(line)
        event(f"ran np {name}")
    result = (PipelineInspector.on_pipeline_from_string("\n".join(code) + "\n")
              .add_inspections([LINEAGE, HISTOGRAM]).execute())
    assert result.internal_errors == [] and result.provenance_cuts == []
    last = result.nodes[-1]
    found = result.dag_node_to_inspection_results[last][LINEAGE]
    assert [frozenset(row for _, row in p.variables()) for p in found["lineage"]] == lineage
    np.testing.assert_array_equal(found.drop(columns="lineage").to_numpy(dtype=float), array)
    expected = {}
    for value in sensitive:
        key = None if value is None or (isinstance(value, float) and np.isnan(value)) else value
        expected[key] = expected.get(key, 0) + 1
    assert (result.dag_node_to_inspection_results[last][HISTOGRAM] or {}).get("g", {}) == expected


# -- row mappings through labels ------------------------------------------------------------------
label_sets = st.lists(st.integers(0, 40), max_size=15)


@settings(max_examples=200, deadline=None)
@given(label_sets, st.sampled_from(["as drawn", "sorted unique", "range"]), st.integers(-5, 5),
       st.lists(st.integers(0, 30), max_size=12))
def test_positions_of_labels_equal_the_hash_lookup(labels, shape, start, picks):
    from lester_inspect.instrumentation.rows import Positions, Unknown, positions_of_labels

    if shape == "range":
        source = pd.RangeIndex(start, start + len(labels))
    else:
        source = pd.Index(sorted(set(labels)) if shape == "sorted unique" else labels, dtype="int64")
    # A picking operation's result holds only the source's labels; other lookups may miss.
    picked = pd.Index([source[p % len(source)] for p in picks] if len(source) else [], dtype="int64")
    missing = pd.Index([label - 3 for label in labels[:4]], dtype="int64")
    for wanted, subset in ((picked, True), (picked, False), (missing, False)):
        found = positions_of_labels(source, wanted, subset=subset)
        if not source.is_unique:
            assert isinstance(found, Unknown)
            continue
        expected = source.get_indexer(wanted)
        assert isinstance(found, Positions) and found.positions.tolist() == expected.tolist()
        assert found.has_missing == bool((expected < 0).any())
