"""numpy and scipy.sparse on tracked data: nodes, row mappings, lineage and matrix column provenance.

Lineage is checked against a brute-force reference: the same numpy operations applied
to arrays that hold each row's source row ids instead of values.
"""
import traceback
import warnings

import numpy as np
import pytest

from conftest import locate, summarize
from lester_inspect import PipelineInspector
from lester_inspect.inspections import MatrixColumnProvenance, RowLineage

LINEAGE = RowLineage(RowLineage.ALL_ROWS)
MATRIX = MatrixColumnProvenance()
DATA = """\
import numpy as np
import pandas as pd
df = pd.DataFrame({"a": [1.0, -2.0, 3.0, -4.0, 5.0, 0.5], "b": [0.1, 0.2, -0.3, 0.4, 0.5, -0.6],
                   "cat": ["x", "y", "x", "z", "y", "x"]})
"""


def run(code, *inspections):
    return PipelineInspector.on_pipeline_from_string(code).add_inspections(list(inspections)).execute()


def lineage_sets(result, node):
    """Each row's set of (source node id, source row) from the RowLineage result."""
    frame = result.dag_node_to_inspection_results[node][LINEAGE]
    names = {f"source{n.node_id}": n.node_id for n in result.nodes}
    return [frozenset((names[source], row) for source, row in p.variables()) for p in frame["lineage"]]


def node(result, description):
    found = [n for n in result.nodes if n.description == description]
    assert len(found) == 1, [n.description for n in result.nodes]
    return found[0]


def test_ufuncs_operators_where_and_select_are_maps():
    code = DATA + """\
X = df[["a", "b"]].to_numpy()
Z = np.log(np.abs(X) + 1) * 2
capped = np.where(Z > 1, Z, 0)
df["flag"] = np.where(df["a"] > 0, 1, 0)
df["level"] = np.select([df["a"] > 2, df["a"] < -2], [1, -1], default=0)
df["root"] = np.sqrt(df["b"].to_numpy() ** 2)
print(Z.round(3).tolist(), capped.round(3).tolist(), df["flag"].tolist(), df["level"].tolist())
"""
    result = run(code, LINEAGE)
    assert result.internal_errors == []
    assert summarize(result)[1:] == [
        (1, "PROJECTION", "Project: ['a', 'b']", [0]),
        (2, "PROJECTION_MODIFY", "Compute: np.abs(X)", [1]),
        (3, "PROJECTION_MODIFY", "Compute: np.abs(X) + 1", [2]),
        (4, "PROJECTION_MODIFY", "Compute: np.log(np.abs(X) + 1)", [3]),
        (5, "PROJECTION_MODIFY", "Compute: np.log(np.abs(X) + 1) * 2", [4]),
        (6, "PROJECTION_MODIFY", "Compute: Z > 1", [5]),
        (7, "PROJECTION_MODIFY", "Compute: np.where(Z > 1, Z, 0)", [6, 5]),
        # Computed from pending Series, like ``df['a'] > 0``: described by their expression.
        (8, "PROJECTION_MODIFY", "Set column 'flag': where(a > 0, 1, 0)", [0]),
        (9, "PROJECTION_MODIFY", "Set column 'level': select([a > 2, a < -2], [1, -1], 0)", [8]),
        (10, "PROJECTION_MODIFY", "Set column 'root': sqrt(b ** 2)", [9]),
    ]
    nodes = result.nodes
    assert nodes[5].columns == nodes[7].columns == ("a", "b")
    assert nodes[5].function == ("numpy", "multiply") and nodes[4].function == ("numpy", "log")
    assert nodes[4].code_location == locate(code, "np.log(np.abs(X) + 1)")
    assert nodes[7].code_location == locate(code, "np.where(Z > 1, Z, 0)")
    assert result.dag.nodes[nodes[8]]["derivations"] == {"flag": [(nodes[0], "a")]}
    assert result.dag.nodes[nodes[10]]["derivations"] == {"root": [(nodes[9], "b")]}
    identity = [frozenset({(0, i)}) for i in range(6)]
    for n in (nodes[5], nodes[7], nodes[10]):
        assert lineage_sets(result, n) == identity


def test_random_draws_are_sources_and_stacked_columns_multiply_lineage():
    code = DATA + """\
rng = np.random.default_rng(0)
noise = rng.normal(size=(6, 2))
legacy = np.random.RandomState(1).uniform(0, 1, 6)
X = df[["a", "b"]].to_numpy()
H = np.hstack([X, noise])
C = np.c_[X, legacy]
S = np.column_stack([legacy, df["a"]])
"""
    result = run(code, LINEAGE, MATRIX)
    assert result.internal_errors == []
    noise = node(result, "Random draw: Generator.normal(size=(6, 2))")
    legacy = node(result, "Random draw: RandomState.uniform(0, 1, 6)")
    assert noise.operator_type.name == legacy.operator_type.name == "DATA_SOURCE"
    assert noise.code_location == locate(code, "rng.normal(size=(6, 2))")
    stacked = [n for n in result.nodes if n.function.name == "hstack"][0]
    assert stacked.description == "Concatenate columns of 2 arrays"
    assert stacked.columns == ("a", "b", "x0", "x1")
    assert [p.description for p in result.parents(stacked)] == ["Project: ['a', 'b']", noise.description]
    # Brute force: row i of a column stack is made of row i of every input.
    assert lineage_sets(result, stacked) == [frozenset({(0, i), (noise.node_id, i)}) for i in range(6)]
    matrix = result.dag_node_to_inspection_results[stacked][MATRIX]
    assert matrix == {"a": [(0, 1)], "b": [(1, 2)], "x0": [(2, 3)], "x1": [(3, 4)]}
    by_c = node(result, "Concatenate columns of 2 arrays (np.c_)")
    assert by_c.columns == ("a", "b", "array")
    assert lineage_sets(result, by_c) == [frozenset({(0, i), (legacy.node_id, i)}) for i in range(6)]
    column_stack = [n for n in result.nodes if n.function.name == "column_stack"][0]
    assert [p.node_id for p in result.parents(column_stack)][0] == legacy.node_id


def test_row_concatenations_give_each_input_a_segment():
    code = DATA + """\
X = df[["a", "b"]].to_numpy()
top = X * 10
V = np.vstack([X, top])
R = np.concatenate([top, X], axis=0)
flat = np.hstack([df["a"].to_numpy(), df["b"].to_numpy()])
"""
    result = run(code, LINEAGE)
    assert result.internal_errors == []
    rows = [n for n in result.nodes if n.description == "Concatenate rows of 2 arrays"]
    assert [n.function.name for n in rows] == ["vstack", "concatenate", "hstack"]
    ids = np.arange(6)
    # The reference stacks the row ids the same way.
    for n, parts in zip(rows, ([ids, ids], [ids, ids], [ids, ids])):
        expected = [frozenset({(0, int(i))}) for i in np.concatenate(parts)]
        assert lineage_sets(result, n) == expected
    assert rows[0].columns == ("a", "b")


def test_sparse_hstack_and_vstack_of_tracked_matrices():
    code = DATA + """\
import scipy.sparse as sps
from sklearn.preprocessing import OneHotEncoder
from sklearn.feature_extraction.text import CountVectorizer
onehot = OneHotEncoder().fit_transform(df[["cat"]])
counts = CountVectorizer(token_pattern=r"\\w").fit_transform(df["cat"])
both = sps.hstack([onehot, counts]).tocsr()
tall = sps.vstack([onehot, onehot])
"""
    result = run(code, LINEAGE, MATRIX)
    assert result.internal_errors == []
    columns = node(result, "Concatenate columns of 2 arrays")
    assert columns.columns == ("cat_x", "cat_y", "cat_z", "x", "y", "z")
    assert result.dag_node_to_inspection_results[columns][MATRIX] == {"cat": [(0, 6)]}
    assert lineage_sets(result, columns) == [frozenset({(0, i)}) for i in range(6)]
    tall = node(result, "Concatenate rows of 2 arrays")
    assert lineage_sets(result, tall) == [frozenset({(0, i % 6)}) for i in range(12)]


def test_untracked_operands_make_no_nodes_and_broadcast_rows_carry_no_rows():
    result = run(DATA + """\
plain = np.arange(6.0) * 2
X = df[["a", "b"]].to_numpy()
centred = X - X.mean(axis=0)
""", LINEAGE)
    assert [n.description for n in result.nodes][1:] == ["Project: ['a', 'b']", "Compute: X - X.mean(axis=0)"]
    assert lineage_sets(result, result.nodes[-1]) == [frozenset({(0, i)}) for i in range(6)]


def test_operations_behave_as_without_instrumentation(tmp_path):
    pipeline = tmp_path / "pipeline.py"
    pipeline.write_text(DATA + """\
X = df[["a", "b"]].to_numpy()
with np.errstate(divide="warn"):
    logged = np.log(X - X)
ratio = X / 2
print(ratio.sum(), logged.shape)
X @ "text"
""")
    plain_globals = {"__name__": "__main__"}
    with warnings.catch_warnings(record=True) as plain_warnings, pytest.raises(TypeError) as plain_error:
        warnings.simplefilter("always")
        exec(compile(pipeline.read_text(), str(pipeline), "exec"), plain_globals)
    with warnings.catch_warnings(record=True) as ours, pytest.raises(TypeError) as our_error:
        warnings.simplefilter("always")
        PipelineInspector.on_pipeline(str(pipeline)).execute()
    assert [(w.filename, w.lineno, str(w.message)) for w in ours if w.category is RuntimeWarning] == [
        (w.filename, w.lineno, str(w.message)) for w in plain_warnings]
    assert str(our_error.value) == str(plain_error.value)
    ours_frames = [(f.filename, f.lineno) for f in traceback.extract_tb(our_error.value.__traceback__)]
    plain_frames = [(f.filename, f.lineno) for f in traceback.extract_tb(plain_error.value.__traceback__)]
    in_pipeline = [frame for frame in ours_frames if frame[0] == str(pipeline)]
    assert in_pipeline == [frame for frame in plain_frames if frame[0] == str(pipeline)] == [(str(pipeline), 10)]
    assert ours_frames[ours_frames.index(in_pipeline[0]):] == in_pipeline


def test_subscripts_project_columns_and_select_rows():
    code = DATA + """\
X = df[["a", "b"]].to_numpy()
first = X[:, 0] * 2
tail = X[:, 1:]
positive = X[X[:, 0] > 0]
head = X[:4]
picked = X[[5, 0, 0], 1]
both = np.r_[head, positive]
"""
    result = run(code, LINEAGE, MATRIX)
    assert result.internal_errors == []
    a = np.array([1.0, -2.0, 3.0, -4.0, 5.0, 0.5])
    ids = np.arange(6)
    expected = {  # brute force: the same subscripts applied to the row ids
        "Project columns 0": ids, "Project columns 1:": ids, "Select rows by boolean mask": ids[a > 0],
        "Select rows :4": ids[:4], "Select rows [5, 0, 0], columns 1": ids[[5, 0, 0]],
    }
    for description, rows in expected.items():
        found = [n for n in result.nodes if n.description == description][0]
        assert lineage_sets(result, found) == [frozenset({(0, int(i))}) for i in rows], description
    assert node(result, "Project columns 1:").columns == ("b",)
    assert result.dag_node_to_inspection_results[node(result, "Project columns 1:")][MATRIX] == {"b": [(0, 1)]}
    mask_user = node(result, "Select rows by boolean mask")
    assert [p.description for p in result.parents(mask_user)] == ["Project: ['a', 'b']", "Compute: X[:, 0] > 0"]
    stacked = node(result, "Concatenate rows of 2 arrays (np.r_)")
    assert lineage_sets(result, stacked) == [frozenset({(0, int(i))}) for i in np.r_[ids[:4], ids[a > 0]]]


@pytest.mark.parametrize("generator", ["np.random.default_rng(5)", "np.random.RandomState(5)"])
def test_shuffles_and_permutations_of_tracked_rows_are_mapped(generator):
    code = DATA + f"""\
rng = {generator}
X = df[["a", "b"]].to_numpy().copy()
rng.shuffle(X)
mixed = rng.permutation(df["a"].to_numpy() * 2)
order = rng.permutation(6)
"""
    result = run(code, LINEAGE)
    assert result.internal_errors == []
    plain = {}
    exec(compile(code, "<plain>", "exec"), plain)
    shuffled, permuted = [n for n in result.nodes if n.description.startswith("Shuffle rows")]
    original = np.array([1.0, -2.0, 3.0, -4.0, 5.0, 0.5])
    # Brute force: each output row's source row is where its value 'a' came from.
    for n, values in ((shuffled, plain["X"][:, 0]), (permuted, plain["mixed"] / 2)):
        rows = [int(np.flatnonzero(original == value)[0]) for value in values]
        assert lineage_sets(result, n) == [frozenset({(0, r)}) for r in rows]
    assert [n for n in result.nodes if n.description.startswith("Random draw")] == []  # the order is never used


def test_in_place_stores_are_nodes_whose_written_columns_read_the_value_and_mask():
    from lester_inspect.inspections import ColumnProvenance

    code = DATA + """\
X = df[["a", "b"]].to_numpy(copy=True)
C = df[["b"]].to_numpy(copy=True) * 0 + 1
X[X[:, 0] < 0, 1] = 0.0
Y = X.copy()
Y[:, 0] = C[:, 0]
labels = {}
labels["k"] = 1
Y[0] = 7.0
print(X.tolist(), Y.tolist(), labels)
"""
    provenance = ColumnProvenance()
    result = run(code, LINEAGE, provenance)
    assert result.internal_errors == []
    stores = [n for n in result.nodes if n.function.name == "ndarray.__setitem__"]
    assert [(n.description, n.code_location.lineno) for n in stores] == [
        ("Set values [by boolean mask, 1] = 0.0", 7), ("Set values [:, 0] = ndarray(6,)", 9),
        ("Set values [0] = 7.0", 12)]
    read = {n.code_location.lineno: result.dag_node_to_inspection_results[n][provenance] for n in stores}
    # The mask X[:, 0] < 0 reads column a: b now depends on a too; a is untouched.
    assert read[7] == {"a": {("source0", "a")}, "b": {("source0", "a"), ("source0", "b")}}
    # Every row of column 0 overwritten by C (computed from b): its old values, from a, are gone.
    assert read[9]["a"] == {("source0", "b")} and read[9]["b"] == read[7]["b"]
    assert read[12] == read[9]  # a constant written into one row: nothing new read
    # Same rows throughout: lineage unchanged by stores.
    assert lineage_sets(result, stores[-1]) == [{(0, i)} for i in range(6)]
    namespace = {}
    exec(code, namespace)
    assert namespace["Y"].tolist() == [[7.0, 7.0], [1.0, 0.0], [1.0, -0.3], [1.0, 0.0], [1.0, 0.5], [1.0, -0.6]]


def test_a_failing_store_raises_as_without_instrumentation(tmp_path):
    pipeline = tmp_path / "pipeline.py"
    pipeline.write_text(DATA + """\
X = df[["a", "b"]].to_numpy()
X[0, 0] = 1.0
""")
    with pytest.raises(ValueError) as plain_error:
        exec(compile(pipeline.read_text(), str(pipeline), "exec"), {"__name__": "__main__"})
    with pytest.raises(ValueError) as our_error:
        PipelineInspector.on_pipeline(str(pipeline)).execute()
    assert str(our_error.value) == str(plain_error.value) == "assignment destination is read-only"
    frames = [(f.filename, f.lineno) for f in traceback.extract_tb(our_error.value.__traceback__)]
    assert [frame for frame in frames if frame[0] == str(pipeline)] == [(str(pipeline), 6)]


def _perturbation_provenance(code, name, columns):
    """Brute force: which source columns change each column of ``name`` when they alone are changed."""
    def final(perturbed=None):
        namespace = {}
        changed = code if perturbed is None else code.replace(
            "X = ", f'df["{perturbed}"] = df["{perturbed}"] * -3 + 0.25\nX = ', 1)
        exec(compile(changed, "<plain>", "exec"), namespace)
        return np.atleast_2d(np.asarray(namespace[name], dtype=float).T).T

    plain = final()
    reads = {j: set() for j in range(plain.shape[1])}
    for column in columns:
        moved = final(column)
        for j in reads:
            if not np.allclose(plain[:, j], moved[:, j]):
                reads[j].add(("source0", column))
    return [reads[j] for j in sorted(reads)]


def test_augmented_stores_keep_rows_and_their_written_columns_read_old_values_value_and_mask():
    from lester_inspect.inspections import ColumnProvenance

    code = DATA + """\
X = df[["a", "b"]].to_numpy(copy=True)
A = df[["a"]].to_numpy(copy=True)
X[:, 1] = A[:, 0]
X[:, 1] += X[:, 1] * 0 + df["b"].to_numpy()
X[X[:, 0] > 0, 0] *= 2
X[1] -= 0.5
"""
    provenance, first_rows = ColumnProvenance(), RowLineage(6)
    result = run(code, LINEAGE, provenance, first_rows)
    assert result.internal_errors == []
    stores = [n for n in result.nodes if n.function.name == "ndarray.__setitem__"]
    assert [(n.description, n.code_location.lineno) for n in stores] == [
        ("Set values [:, 1] = ndarray(6,)", 7), ("Set values [:, 1] += ndarray(6,)", 8),
        ("Set values [by boolean mask, 0] *= 2", 9), ("Set values [1] -= 0.5", 10)]
    found = result.dag_node_to_inspection_results[stores[-1]][provenance]
    # Column 1 was replaced by a's values, then b was added to them (+= keeps what was there).
    assert [set(found["a"]), set(found["b"])] == _perturbation_provenance(code, "X", ["a", "b"])
    assert set(found["b"]) == {("source0", "a"), ("source0", "b")}
    # The stores changed values, not rows: each row is still its source row, with the stored values.
    assert lineage_sets(result, stores[-1]) == [{(0, i)} for i in range(6)]
    namespace = {}
    exec(code, namespace)
    shown = result.dag_node_to_inspection_results[stores[-1]][LINEAGE]
    np.testing.assert_array_equal(shown[["a", "b"]].to_numpy(), namespace["X"])
    first = result.dag_node_to_inspection_results[stores[0]][first_rows]  # a copy made before the += and *=
    np.testing.assert_array_equal(first["b"].to_numpy(), namespace["A"][:, 0])
