"""Rule 8: a dropped filter re-executes only the recorded calls it reaches, as the modified script computes them.

Each pipeline here is run with OperatorImpact; every filter variant's score and training frame
equal the modified script run from scratch. Where rule 8's conditions do not hold, the variant
runs as rule 7 and the notes say why.
"""
import numpy as np
import pandas as pd
import pytest

from lester_inspect.whatif import OperatorImpact
from test_whatif import _from_scratch, run_written

HEAD = """
import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression

np.random.seed(0)
rng = np.random.default_rng(0)
data = pd.DataFrame({"a": rng.normal(size=400), "b": rng.normal(size=400)})
data["y"] = (data["a"] + data["b"] + rng.normal(scale=0.5, size=400)) > 0
data = data[data["b"] > -0.5]
"""
TAIL = """
model = LogisticRegression().fit(train[["a", "c"]], train["y"])
print(model.score(test[["a", "c"]], test["y"]))
"""
PIPELINES = {
    # In-place changes of the filtered frame (a new column, .loc) and .iloc: all recorded calls.
    "in_place": """
data["c"] = data["a"] * 2
data.loc[data["a"] > 1.5, "c"] = 3.0
unused = data.describe()
data = data.fillna(0)
train, test = data.iloc[:250], data.iloc[250:]
""",
    # len() of the filtered frame is not a recorded call: its value would be taken as a constant.
    "length": """
data["c"] = data["a"] * 2
half = len(data) // 2
train, test = data.iloc[:half], data.iloc[half:]
""",
    # A count is a numpy integer, followed into head() as any other value a recorded call made.
    "count": """
data["c"] = data["a"] * 2
n = data["a"].count()
train, test = data.head(n), data.tail(100)
""",
    # nunique() gives a plain int: it is not followed into head(), and dropping the filter changes it.
    "plain_int": """
data["c"] = data["a"] * 2
n = data["a"].nunique()
train, test = data.head(n), data.tail(100)
""",
    # The frame the model is fitted on is changed in place after the fit (see TAILS).
    "changed_after_fit": """
data["c"] = data["a"] * 2
train, test = data.iloc[:250], data.iloc[250:]
""",
    # String accessors (.str) stand for the Series they were taken from.
    "accessor": """
data["s"] = data["b"].astype(str).str.slice(0, 5)
data["c"] = data["a"] * data["s"].str.len()
train, test = data.iloc[:250], data.iloc[250:]
""",
    # A draw whose size the filter changes moves the generator for every later draw: not made again.
    "generator": """
data["c"] = data["a"] * 2
n = data["a"].count()
data["c"] = data["c"] + rng.normal(size=n)
test_noise = rng.normal(size=100)
train, test = data.iloc[:200], data.iloc[200:]
""",
    # A groupby (made by a call the run does not record) is made anew from the changed frame for its agg().
    "groupby": """
stats = data.groupby("y").agg(mean_a=("a", "mean")).reset_index()
data = data.merge(stats, on="y")
data["c"] = data["a"] - data["mean_a"]
train, test = data.iloc[:250], data.iloc[250:]
""",
    # A function of the script is not a recorded call (the calls in it are, at the function's lines).
    "helper": """
def scaled(frame):
    return frame.assign(c=frame["a"] * 2)


data = scaled(data[data["a"] > -1.0])
train, test = data.iloc[:200], data.iloc[200:]
""",
    # A sample from numpy's global random state: re-executing it would draw other rows.
    "unseeded_sample": """
data["c"] = data["a"] * 2
data = data.sample(frac=0.9)
train, test = data.iloc[:200], data.iloc[200:]
""",
}


TAILS = {"changed_after_fit": """
features = train[["a", "c"]]
model = LogisticRegression().fit(features, train["y"])
features["a"] = 0.0
print(model.score(test[["a", "c"]], test["y"]))
"""}


@pytest.fixture(scope="module", params=sorted(PIPELINES))
def impact(request, tmp_path_factory):
    analysis = OperatorImpact()
    path, result = run_written(tmp_path_factory.mktemp(request.param),
                               HEAD + PIPELINES[request.param] + TAILS.get(request.param, TAIL), analysis)
    return request.param, path, result, analysis


def test_a_dropped_filter_equals_the_modified_script_and_reexecutes_only_what_it_reaches(impact):
    name, path, result, analysis = impact
    execution = result.what_if_execution
    filters = [v for v in analysis.variants(execution) if v.removed_filters]
    (variant,) = [v for v in filters if v.removed_filters[0].lineno == 10]
    row = result.what_if[analysis].set_index("variant").loc[variant.name]
    scratch = _from_scratch(path, result, variant)
    assert row["score"] == scratch["score"]
    pd.testing.assert_frame_equal(execution.train_frame(variant), scratch["train_data"])
    if name == "groupby":
        assert execution.not_reexecuted == {}
        assert [call.function.__name__ for call in execution.reexecuted[variant.name]][:3] == [
            "aggregate", "reset_index", "merge"]
    elif name == "accessor":
        assert execution.not_reexecuted == {}
        assert "slice" in [call.function.__name__ for call in execution.reexecuted[variant.name]]
    elif name == "changed_after_fit":  # the fit's X as the fit got it, not as changed after it
        assert execution.not_reexecuted == {}
        assert execution.fit.keys[0] != execution.trace.key_of(execution.fit.X)
    elif name == "count":  # the column c, then data["a"] and its count, which head() reads
        ran = [call.function.__name__ for call in execution.reexecuted[variant.name]]
        assert execution.not_reexecuted == {} and ran[:5] == ["__getitem__", "__mul__", "__setitem__", "__getitem__",
                                                              "count"]
    elif name == "in_place":
        ran = execution.reexecuted[variant.name]
        # From the filter on: the column c (2 calls) and its .loc change (2 calls and the store), fillna, the
        # split (2) and the model's four inputs; not data.describe(), which leads to no input of the model.
        assert [getattr(call.function, "__name__", "") for call in ran] == [
            "__getitem__", "__mul__", "__setitem__", "__getitem__", "__gt__", "setitem", "fillna",
            "__getitem__", "__getitem__", "__getitem__", "__getitem__", "__getitem__", "__getitem__"]
        assert all(call.location.lineno > 10 for call in ran)
        assert execution.not_reexecuted == {} and row["execution"].startswith("re-executed 13 recorded calls")
        # data.iloc[:250] is a filter too: dropping it trains on every row, as `train = (data)` would.
        (head,) = [v for v in filters if v.removed_filters[0].lineno == 16]
        head_scratch = _from_scratch(path, result, head)
        assert head_scratch["score"] == result.what_if[analysis].set_index("variant").loc[head.name, "score"]
        pd.testing.assert_frame_equal(execution.train_frame(head), head_scratch["train_data"])
        assert len(head_scratch["train_data"]) == len(execution.trace.values[execution._frontier()[3]]) + 250
    else:
        reason = {"length": "line 13: `len(data)` reads data other than as an operand of a recorded call",
                  "plain_int": "Call(IndexOpsMixin.nunique at line 13:4) gives 400 instead of 273; a plain int is "
                               "not followed into the calls that use it",
                  "generator": "Call(<lambda> at line 14:24) draws from a random state: made again, it and every "
                               "later draw from that state would differ from the script's",
                  "helper": "line 16: `scaled(data[data['a'] > -1.0])` reads data other than as an operand of a "
                            "recorded call",
                  "unseeded_sample": "Call(NDFrame.sample at line 13:7) draws from a random state: made again, it "
                                     "and every later draw from that state would differ from the script's"}[name]
        assert execution.not_reexecuted[variant.name].startswith(reason)
        assert any(note.startswith(f"{variant.name} re-runs the script (rule 7), not only the calls it reaches: "
                                   f"{reason}") for note in execution.notes)
        assert row["execution"] == "re-run from the first changed statement"
        # Rule 7: the statements before the filter (making the data) ran once.
        assert execution._prefix.start == 7
    if name == "helper":  # a filter whose result a function of the script reads: that is not a recorded call
        (inner,) = [v for v in filters if v.removed_filters[0].lineno == 16]
        assert execution.not_reexecuted[inner.name] == ("line 16: `scaled(data[data['a'] > -1.0])` reads the "
                                                        "changed expression other than as an operand of a recorded "
                                                        "call")
        assert _from_scratch(path, result, inner)["score"] == result.what_if[analysis].set_index("variant").loc[
            inner.name, "score"]


def test_every_node_but_the_models_own_records_a_recipe_that_recomputes_its_output(impact):
    _, _, result, _ = impact
    trace = result.what_if_execution.trace
    models_own = {"Train Data", "Train Labels", "Test Data", "Test Labels", "Estimator", "Score", "Predict"}
    for node in result.nodes:
        recipe = trace.recipe_of(node)
        if node.operator_type.value in models_own:
            assert recipe is None, node  # the model's calls are refitted and measured by the variant itself
            continue
        assert recipe is not None, node
        if recipe.changes is None:  # a call changing its frame in place made it: already changed
            args, kwargs = trace.resolve(recipe.args), trace.resolve(recipe.kwargs)
            made = recipe.function(*args, **kwargs)
            (key, selector), *_ = recipe.outputs
            same = trace.values[key].equals(made) if hasattr(made, "equals") else trace.values[key] == made
            # A draw from the global random state made again draws other rows: why rule 8 replays first.
            assert same == (recipe.function.__name__ != "sample"), node
    selection = next(node for node in result.nodes if node.operator_type.value == "Selection")
    recipe = trace.recipe_of(selection)  # data[data["b"] > -0.5]: references to the frame and to the mask
    assert [type(trace.values[key]).__name__ for key in recipe.refs()] == ["DataFrame", "Series"]
    assert [trace.producer[key].location.lineno for key in recipe.refs()] == [9, 10]


def test_a_call_the_trace_cannot_record_leaves_the_call_alone_and_the_trace_marked_incomplete():
    from lester_inspect.whatif.recompute import CallTrace

    class Uncopyable(pd.DataFrame):
        def copy(self, deep=True):
            raise RuntimeError("no copies")

    trace = CallTrace()
    trace(len, (Uncopyable({"a": [1]}),), {}, 1, None)  # would raise inside the user's call if not caught
    assert trace.broken == "recording the call at None failed: RuntimeError: no copies"
    trace(len, (pd.DataFrame({"a": [1]}),), {}, 1, None)
    assert trace.calls == []  # nothing more is recorded: re-executing from an incomplete trace would be wrong


GUARDED_PIPELINE = """import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression


def prepare(rows):
    rng = np.random.default_rng(0)
    data = pd.DataFrame({"a": rng.normal(size=rows), "b": rng.normal(size=rows)})
    data["y"] = (data["a"] + data["b"]) > 0
    data = data[data["b"] > -0.5]
    data["c"] = data["a"].round(1)
    return data


if __name__ == "__main__":
    data = prepare(400)
    data = data[data["a"] < 1.5]
    train, test = data.iloc[:200], data.iloc[200:]
    model = LogisticRegression().fit(train[["a", "c"]], train["y"])
    print(model.score(test[["a", "c"]], test["y"]))
"""


def test_a_filter_in_the_main_block_is_reexecuted_and_one_inside_a_function_is_not(tmp_path):
    analysis = OperatorImpact()
    path, result = run_written(tmp_path, GUARDED_PIPELINE, analysis)
    execution, rows = result.what_if_execution, result.what_if[analysis].set_index("variant")
    filters = {v.removed_filters[0].lineno: v for v in analysis.variants(execution) if v.removed_filters}
    assert sorted(filters) == [10, 17, 18]
    for variant in filters.values():
        assert rows.loc[variant.name, "score"] == _from_scratch(path, result, variant)["score"]
    assert sorted(execution.reexecuted) == sorted(filters[line].name for line in (17, 18))
    assert execution.not_reexecuted == {filters[10].name: (
        "line 10: the change is inside a FunctionDef statement (line 6), whose uses of it are not followed")}


def test_replaying_the_calls_shows_an_array_changed_by_code_the_run_does_not_record():
    import operator

    from lester_inspect.whatif.recompute import CallTrace, same_value

    trace = CallTrace()
    frame = pd.Series([1.0, 2.0, 3.0])
    start = frame.copy()
    trace(pd.Series.copy, (frame,), {}, start, None)
    weights = np.ones(3)
    scaled = start * weights
    trace(operator.mul, (start, weights), {}, scaled, None)
    key = trace.key_of(scaled)
    replayed, ran = trace.recompute([key], trace.calls[0], trace.values[trace.key_of(start)])
    assert same_value(replayed[key], scaled) and len(ran) == 1
    weights *= 5  # in place, by an augmented assignment the run does not see
    replayed, _ = trace.recompute([key], trace.calls[0], trace.values[trace.key_of(start)])
    assert not same_value(replayed[key], scaled)  # why rule 8 replays before it re-executes
