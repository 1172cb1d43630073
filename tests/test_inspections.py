"""Built-in inspections: exact results on small pipelines, through every kind of operator."""
import gc
import itertools
import weakref

import numpy as np
import pandas as pd
import pytest

from lester_inspect import PipelineInspector
from lester_inspect.inspections import (ArgumentCapturing, ColumnPropagation, CompletenessOfColumns,
                                        CountDistinctOfColumns, HistogramForColumns, Inspection,
                                        IntersectionalHistogramForColumns, MaterializeFirstOutputRows, RowLineage,
                                        SourceRowUsage)
from lester_inspect.inspections import executor as executor_module

PEOPLE = """
import pandas as pd
people = pd.DataFrame({"id": [1, 2, 3, 4, 5, 6], "race": ["a", "b", "a", "c", "b", None],
                       "age": [20, 30, 40, 50, 60, 70], "city": ["x", "y", "x", "y", "x", "y"]})
visits = pd.DataFrame({"pid": [1, 1, 2, 4, 4, 4, 9], "cost": [5, 6, 7, 8, 9, 10, 11]})
"""


def run(code, *inspections, checks=()):
    return (PipelineInspector.on_pipeline_from_string(code).add_inspections(inspections)
            .add_checks(checks).execute())


def by_description(result, inspection):
    return {n.description: result.dag_node_to_inspection_results[n][inspection] for n in result.nodes}


def test_histograms_survive_projection_and_follow_filters_and_joins():
    histogram = HistogramForColumns(["race"])
    result = run(PEOPLE + """
ages = people[["id", "age"]]
older = ages[ages["age"] > 25]
joined = older.merge(visits, left_on="id", right_on="pid")
""", histogram)
    results = by_description(result, histogram)
    assert results["Create DataFrame from dict"] in ({"race": {"a": 2, "b": 2, "c": 1, None: 1}}, None)
    assert results["Project: ['id', 'age']"] == {"race": {"a": 2, "b": 2, "c": 1, None: 1}}
    assert results["Select: age > 25"] == {"race": {"a": 1, "b": 2, "c": 1, None: 1}}
    # One-to-many join: person 2 (race b) once, person 4 (race c) three times.
    assert results["Inner join on ['id'] = ['pid']"] == {"race": {"b": 1, "c": 3}}


def test_lineage_polynomials_multiply_in_joins_and_add_in_aggregations():
    lineage = RowLineage(RowLineage.ALL_ROWS)
    result = run(PEOPLE + """
joined = people.merge(visits, left_on="id", right_on="pid")
per_person = visits.groupby("pid").agg(total=("cost", "sum"))
unique = visits.drop_duplicates(subset=["pid"])
both = pd.concat([people.head(2), people.tail(1)], ignore_index=True)
""", lineage)
    rows = {n.description: [str(p) for p in result.dag_node_to_inspection_results[n][lineage]["lineage"]]
            for n in result.nodes}
    assert rows["Inner join on ['id'] = ['pid']"] == [
        "source0[0] * source1[0]", "source0[0] * source1[1]", "source0[1] * source1[2]",
        "source0[3] * source1[3]", "source0[3] * source1[4]", "source0[3] * source1[5]"]
    assert rows["Group by ['pid']: agg(total=('cost', 'sum'))"] == [
        "(source1[0] + source1[1])", "(source1[2])", "(source1[3] + source1[4] + source1[5])", "(source1[6])"]
    assert rows["Drop duplicate rows by ['pid']"] == rows["Group by ['pid']: agg(total=('cost', 'sum'))"]
    assert rows["Concatenate 2 rows"] == ["source0[0]", "source0[1]", "source0[5]"]


def test_many_to_many_join_and_outer_join():
    histogram, lineage = HistogramForColumns(["race"]), RowLineage(RowLineage.ALL_ROWS)
    result = run(PEOPLE + """
left = pd.DataFrame({"k": [1, 1, 2], "race": ["a", "b", "a"]})
right = pd.DataFrame({"k": [1, 1, 3], "v": [10, 20, 30]})
many = left.merge(right, on="k")
outer = left.merge(right, on="k", how="outer")
""", histogram, lineage)
    nodes = {n.description: n for n in result.nodes}
    many = result.dag_node_to_inspection_results[nodes["Inner join on ['k']"]]
    assert many[histogram] == {"race": {"a": 2, "b": 2}}
    assert [str(p) for p in many[lineage]["lineage"]] == [
        "source2[0] * source3[0]", "source2[0] * source3[1]", "source2[1] * source3[0]", "source2[1] * source3[1]"]
    outer = result.dag_node_to_inspection_results[nodes["Outer join on ['k']"]]
    assert sorted(str(p) for p in outer[lineage]["lineage"]) == sorted([
        "source2[0] * source3[0]", "source2[0] * source3[1]", "source2[1] * source3[0]", "source2[1] * source3[1]",
        "source2[2]", "source3[2]"])
    assert outer[histogram] == {"race": {"a": 3, "b": 2, None: 1}}


def test_annotations_reach_feature_matrices_labels_and_split_outputs():
    histogram = HistogramForColumns(["race"])
    result = run(PEOPLE + """
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
data = people[["age", "city", "race"]]
data = data[data["age"] < 65]
train, test = train_test_split(data, test_size=2, random_state=1)
features = ColumnTransformer([("city", OneHotEncoder(), ["city"]), ("age", StandardScaler(), ["age"])])
model = Pipeline([("features", features), ("learner", LogisticRegression())])
model.fit(train[["age", "city"]], train["age"] > 35)
""", histogram)
    results = {(n.operator_type.name, n.description): result.dag_node_to_inspection_results[n][histogram]
               for n in result.nodes}
    train, test = (results[("TRAIN_TEST_SPLIT", "Split: train rows")],
                   results[("TRAIN_TEST_SPLIT", "Split: test rows")])
    assert sum(train["race"].values()) == 3 and sum(test["race"].values()) == 2
    merged = {k: train["race"].get(k, 0) + test["race"].get(k, 0) for k in ("a", "b", "c")}
    assert merged == {"a": 2, "b": 2, "c": 1}
    # The sensitive column was never given to the featurisation, yet every matrix knows it.
    for key in [("TRANSFORMER", "OneHotEncoder: fit_transform"), ("CONCATENATION", "Concatenate ColumnTransformer "
                                                                                   "outputs"),
                ("TRAIN_DATA", "Train data"), ("TRAIN_LABELS", "Train labels"),
                ("ESTIMATOR", "LogisticRegression: fit")]:
        assert results[key] == train, key


def test_sparse_feature_matrices_carry_annotations():
    histogram = HistogramForColumns(["race"])
    result = run(PEOPLE + """
from sklearn.preprocessing import OneHotEncoder
matrix = OneHotEncoder().fit_transform(people[["city"]])
kept = people[people["age"] > 30]
sparse = OneHotEncoder().fit_transform(kept[["city"]])
""", histogram)
    results = by_description(result, histogram)
    transformers = [n for n in result.nodes if n.operator_type.name == "TRANSFORMER"]
    assert result.dag_node_to_inspection_results[transformers[1]][histogram] == {
        "race": {"a": 1, "c": 1, "b": 1, None: 1}}


def test_intersectional_histogram_completeness_distinct_counts_and_materialization():
    inspections = [IntersectionalHistogramForColumns(["race", "city"]), CompletenessOfColumns(["race", "age"]),
                   CountDistinctOfColumns(["race", "city"]), MaterializeFirstOutputRows(2),
                   ColumnPropagation(["race"], 2)]
    result = run(PEOPLE + "projected = people[['id', 'city']]\n", *inspections)
    source, projection = result.nodes[0], result.nodes[2]
    at_source = result.dag_node_to_inspection_results[source]
    assert at_source[inspections[0]] == {("a", "x"): 2, ("b", "y"): 1, ("c", "y"): 1, ("b", "x"): 1, (None, "y"): 1}
    assert at_source[inspections[1]] == {"race": 5 / 6, "age": 1.0}
    assert at_source[inspections[2]] == {"race": 3, "city": 2}
    pd.testing.assert_frame_equal(at_source[inspections[3]], pd.DataFrame(
        {"id": [1, 2], "race": ["a", "b"], "age": [20, 30], "city": ["x", "y"]}))
    propagated = result.dag_node_to_inspection_results[projection][inspections[4]]
    assert list(propagated.columns) == ["id", "city", "annotation_race"]
    assert propagated["annotation_race"].tolist() == ["a", "b"]
    assert result.dag_node_to_inspection_results[projection][inspections[2]] == {"city": 2}


def test_argument_capturing_records_call_arguments_and_hyperparameters():
    capture = ArgumentCapturing()
    result = run(PEOPLE + """
from sklearn.tree import DecisionTreeClassifier
shown = people.head(n=3)
DecisionTreeClassifier(max_depth=2).fit(people[["age"]], people["city"])
""", capture)
    results = by_description(result, capture)
    assert results["First 3 rows"] == {"n": 3}
    assert results["DecisionTreeClassifier: fit"]["max_depth"] == 2


def test_source_row_usage_says_which_rows_trained_the_model():
    usage = SourceRowUsage()
    result = run(PEOPLE + """
from sklearn.tree import DecisionTreeClassifier
data = people[people["age"] > 25].merge(visits, left_on="id", right_on="pid")
DecisionTreeClassifier().fit(data[["age", "cost"]], data["city"])
""", usage)
    train = next(n for n in result.nodes if n.operator_type.name == "TRAIN_DATA")
    used = result.dag_node_to_inspection_results[train][usage]
    assert used["source0"].tolist() == [False, True, False, True, False, False]
    assert used["source1"].tolist() == [False, False, True, True, True, True, False]


class CountingInspection(Inspection):
    """A row-wise inspection: counts rows, annotates each output row with a running number."""

    def __init__(self, name):
        self.name = name

    def visit_operator(self, inspection_input):
        self._rows = 0
        for row in inspection_input.row_iterator:
            self._rows += 1
            yield (self.name, self._rows)

    def get_operator_annotation_after_visit(self):
        return self._rows


def test_row_wise_inspections_share_one_scan(monkeypatch):
    reads = []
    original = executor_module.InspectionExecutor.row_tuples

    def counting_row_tuples(self, data):
        reads.append(len(data))
        return original(self, data)

    monkeypatch.setattr(executor_module.InspectionExecutor, "row_tuples", counting_row_tuples)
    code = PEOPLE + "older = people[people['age'] > 35]\n"
    inspections = [CountingInspection(i) for i in range(3)]
    result = run(code, *inspections)
    with_three = list(reads)
    reads.clear()
    run(code, inspections[0])
    assert with_three == reads  # the rows are read once however many inspections run
    selection = result.nodes[-1]
    assert [result.dag_node_to_inspection_results[selection][i] for i in inspections] == [4, 4, 4]


def test_row_wise_inspections_see_input_rows_and_annotations():
    class Seen(Inspection):
        def visit_operator(self, inspection_input):
            self._rows = []
            for row in inspection_input.row_iterator:
                self._rows.append(row)
                yield row.output[0] if row.output is not None else None

        def get_operator_annotation_after_visit(self):
            return self._rows

    seen = Seen()
    result = run("import pandas as pd\ndf = pd.DataFrame({'a': [1, 2, 3]})\ndf = df[df['a'] > 1]\n", seen)
    rows = result.dag_node_to_inspection_results[result.nodes[1]][seen]
    assert [(r.inputs, r.output) for r in rows] == [(((2,),), (2,)), (((3,),), (3,))]
    # The annotations the inspection yielded at the source came along with the selected rows.
    assert [r.annotations for r in rows] == [({seen: 2},), ({seen: 3},)]


def test_annotations_are_freed_with_their_object():
    lineage = RowLineage(1)
    references = {}

    class Probe(Inspection):
        def visit_operator(self, inspection_input):
            for _ in inspection_input.row_iterator:
                yield None

        def get_operator_annotation_after_visit(self):
            return None

    code = """
import gc
import numpy as np
import pandas as pd
big = pd.DataFrame({"a": np.arange(200_000)})
small = big[big["a"] < 3]
del big
gc.collect()
final = small[["a"]]
"""
    inspector = PipelineInspector.on_pipeline_from_string(code).add_inspection(lineage)
    original_call = executor_module.InspectionExecutor.__call__

    def spying_call(self, node, inputs, output):
        original_call(self, node, inputs, output)
        tracked = self.run.tracked(output) if output is not None else None
        if node.node_id == 0:
            references["big"] = weakref.ref(tracked.annotations[("lineage",)].factors[0].ids)
        if node.operator_type.name == "PROJECTION":
            references["alive_at_end"] = references["big"]() is not None

    executor_module.InspectionExecutor.__call__ = spying_call
    try:
        inspector.execute()
    finally:
        executor_module.InspectionExecutor.__call__ = original_call
    assert references["alive_at_end"] is False


def test_inspections_are_deduplicated_between_user_and_checks():
    from lester_inspect.checks import NoBiasIntroducedFor

    inspector = (PipelineInspector.on_pipeline_from_string("x = 1\n")
                 .add_inspection(HistogramForColumns(["race"])).add_check(NoBiasIntroducedFor(["race"])))
    assert inspector._all_inspections() == [HistogramForColumns(["race"])]


def test_lineage_of_operators_that_keep_their_inputs_first_rows_shares_the_inputs_snapshot():
    """A dropna that drops nothing and head() of a sorted frame show their input's first rows: the
    input's snapshot is their result too, equal to the rows each operator's output had then."""
    lineage = RowLineage(3)
    code = """
import pandas as pd
df = pd.DataFrame({"a": [3.0, 1.0, 2.0, 5.0, 4.0], "g": ["x", "y", "x", "z", "y"]})
kept = df.dropna()
ordered = kept.sort_values("a")
top = ordered.head(4)
fewer = ordered.dropna(subset=["a"]).head(2)
top.loc[top.index[0], "a"] = -1.0
"""
    expected = {}
    original_call = executor_module.InspectionExecutor.__call__

    def spying_call(self, node, inputs, output):
        original_call(self, node, inputs, output)
        expected[node.node_id] = output.iloc[:3].reset_index(drop=True).copy()

    executor_module.InspectionExecutor.__call__ = spying_call
    try:
        result = PipelineInspector.on_pipeline_from_string(code).add_inspection(lineage).execute()
    finally:
        executor_module.InspectionExecutor.__call__ = original_call
    source, kept, ordered, top, dropped, fewer, store = result.nodes
    unbuilt = {node: dict.get(result.dag_node_to_inspection_results[node], lineage) for node in result.nodes}
    assert unbuilt[kept] is unbuilt[source] and unbuilt[top] is unbuilt[ordered] is unbuilt[dropped]
    assert unbuilt[fewer] is not unbuilt[dropped]  # two rows, not three: a snapshot of its own
    assert unbuilt[store] is not unbuilt[top]  # values changed
    for node in result.nodes:
        frame = result.dag_node_to_inspection_results[node][lineage]
        pd.testing.assert_frame_equal(frame.drop(columns="lineage"), expected[node.node_id], check_exact=True)
    assert [str(p) for p in result.dag_node_to_inspection_results[top][lineage]["lineage"]] == [
        "source0[1]", "source0[2]", "source0[0]"]


def test_lineage_rows_are_copies_that_keep_no_frame_alive():
    """RowLineage keeps each operator's first rows as copies: exact for every dtype, unchanged by
    later in-place edits, and not holding the operator's (possibly large) frame in memory."""
    lineage = RowLineage(3)
    code = """
import numpy as np
import pandas as pd
n = 20_000
big = pd.DataFrame({"i": np.arange(n), "f": np.arange(n) / 2, "s": [f"v{k}" for k in range(n)],
                    "t": pd.date_range("2020-01-01", periods=n, freq="s", tz="UTC"),
                    "c": pd.Categorical(np.where(np.arange(n) % 2, "odd", "even")),
                    "m": pd.array(np.where(np.arange(n) % 3, np.arange(n), -1), dtype="Int64").astype("Int64"),
                    "o": [("t", k) for k in range(n)]})
picked = big[big["i"] % 7 == 3].sort_values("f", ascending=False)
picked.loc[picked.index[0], "s"] = "changed later"
del big
"""
    references = {}
    original_call = executor_module.InspectionExecutor.__call__

    def spying_call(self, node, inputs, output):
        original_call(self, node, inputs, output)
        if node.node_id == 0:
            references["blocks"] = [weakref.ref(block.values) for block in output._mgr.blocks
                                    if isinstance(block.values, np.ndarray)]
            references["expected_source"] = output.iloc[:3].reset_index(drop=True).copy()
        if node.operator_type.name == "SORT":
            references["expected_sort"] = output.iloc[:3].reset_index(drop=True).copy()

    executor_module.InspectionExecutor.__call__ = spying_call
    try:
        result = PipelineInspector.on_pipeline_from_string(code).add_inspection(lineage).execute()
    finally:
        executor_module.InspectionExecutor.__call__ = original_call
    gc.collect()
    assert references["blocks"] and all(ref() is None for ref in references["blocks"])
    source, sort = result.nodes[0], next(n for n in result.nodes if n.operator_type.name == "SORT")
    for node, expected in ((source, references["expected_source"]), (sort, references["expected_sort"])):
        frame = result.dag_node_to_inspection_results[node][lineage]
        pd.testing.assert_frame_equal(frame.drop(columns="lineage"), expected, check_exact=True)
    assert "changed later" not in set(result.dag_node_to_inspection_results[sort][lineage]["s"])
    assert [str(p) for p in result.dag_node_to_inspection_results[sort][lineage]["lineage"]] == [
        "source0[19995]", "source0[19988]", "source0[19981]"]


def test_first_rows_of_arrow_text_do_not_hold_the_column():
    import pyarrow as pa

    from lester_inspect.inspections._frames import first_rows, head_snapshot

    before = pa.total_allocated_bytes()
    column = pd.Series(pd.array(["x" * 50] * 20_000 + [None], dtype="str"), name="text")
    grown = pa.total_allocated_bytes() - before
    snapshot = head_snapshot(column.iloc[1:], 4)
    expected = pd.DataFrame({"text": pd.array(["x" * 50] * 4, dtype="str")})
    del column
    gc.collect()
    assert grown > 500_000 and pa.total_allocated_bytes() - before < grown / 10
    pd.testing.assert_frame_equal(first_rows(snapshot, None, []), expected, check_exact=True)
