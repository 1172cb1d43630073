"""Mean, median and most-frequent imputers maintained after forget, against runs from scratch on the corrected
sources: their fill values, the scaler after one, and every imputed cell of the train and test matrices."""
import os

import numpy as np
import pandas as pd
import pytest

from featuriser_runs import capture as capture_run, captured_folder, stored_featuriser, work_copy
from lester_inspect.ivm import ArtifactStore, ColumnSpec, RowSpec

# The split depends on the id only, so that a run from scratch keeps the same rows in the same order.
PIPELINE = '''
import sys
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

data = pd.read_csv(sys.argv[1])
train, test = data[data["id"] % 5 != 0], data[data["id"] % 5 == 0]
features = ColumnTransformer([
    ("mean", SimpleImputer(strategy="mean"), ["a"]),
    ("median", Pipeline([("impute", SimpleImputer(strategy="median")), ("scale", StandardScaler())]), ["b"]),
    ("frequent", SimpleImputer(strategy="most_frequent"), ["d"])])
pipeline = Pipeline([("features", features), ("model", LogisticRegression())])
pipeline.fit(train, train["y"])
print(pipeline.score(test, test["y"]))
'''


def write_data(path):
    rng = np.random.default_rng(11)
    n = 300
    frame = pd.DataFrame({"id": np.arange(n), "a": rng.normal(10, 3, n).round(3), "b": rng.exponential(5, n).round(3),
                          "d": rng.choice([1.0, 2.0, 3.0], n, p=[0.42, 0.42, 0.16])})
    frame["y"] = (frame["a"] + rng.normal(0, 2, n) > 10).astype(int)
    for column in ("a", "b", "d"):
        frame.loc[rng.random(n) < 0.12, column] = np.nan
    # 1 is the most frequent value of d in the training rows, by 2 rows over 2
    train = frame["id"] % 5 != 0
    ones, twos = frame.index[train & (frame["d"] == 1)], frame.index[train & (frame["d"] == 2)]
    frame.loc[ones[len(twos) + 2:], "d"] = 3.0
    frame.loc[twos[len(ones) - 2:], "d"] = 3.0
    frame.to_csv(path, index=False)
    return frame


def capture(folder):
    return capture_run(folder, folder / "data.csv")


@pytest.fixture(scope="module")
def captured(tmp_path_factory):
    return captured_folder(tmp_path_factory.mktemp("imputers"), PIPELINE, write_data)


@pytest.fixture
def work(captured, tmp_path, monkeypatch):
    root, run_id = captured
    return work_copy(root, tmp_path, monkeypatch), run_id


def fitted(store_path, run_id):
    featuriser = stored_featuriser(store_path, run_id)
    parts = {name: transformer for name, transformer, _ in featuriser.transformers_}
    return {"mean": parts["mean"].statistics_, "median": parts["median"].steps[0][1].statistics_,
            "scale": parts["median"].steps[1][1].mean_, "var": parts["median"].steps[1][1].var_,
            "frequent": parts["frequent"].statistics_}


def from_scratch(folder, frame):
    scratch = folder / "scratch"
    scratch.mkdir()
    (scratch / "pipeline.py").write_text(PIPELINE)
    frame.to_csv(scratch / "data.csv", index=False)
    return ArtifactStore(str(scratch / ".lester")), capture(scratch)


def test_forget_refits_the_imputers_and_re_encodes_the_imputed_cells_like_a_run_from_scratch(work):
    folder, run_id = work
    store = ArtifactStore(".lester")
    data = pd.read_csv("data.csv")
    before = fitted(".lester", run_id)
    assert before["frequent"].tolist() == [1.0]
    # Training rows with d == 1 (2 is then the most frequent), the largest a and b: every fill value moves.
    train = data[data["id"] % 5 != 0]
    gone = sorted(set(train.index[train["d"] == 1][:6]) | set(train["a"].nlargest(4).index)
                  | set(train["b"].nlargest(4).index))
    text = str(store.forget(RowSpec("data.csv", positions=tuple(gone))))

    ours = store.load(run_id)
    scratch_store, scratch_id = from_scratch(folder, data.drop(index=gone))
    theirs = scratch_store.load(scratch_id)
    for group in ("train", "test"):  # every imputed (and scaled) cell, exactly
        assert np.array_equal(ours[group]["X"], theirs[group]["X"])
    mine, expected = fitted(".lester", run_id), fitted(str(scratch_store.path), scratch_id)
    for name in mine:
        assert np.array_equal(mine[name], expected[name]), name
    assert mine["frequent"].tolist() == [2.0] and mine["mean"][0] != before["mean"][0]
    # The report names each statistic that changed and the rows whose cells it re-encoded.
    remaining = data.drop(index=gone)
    for part, column, old, new in (("mean", "a", before["mean"], mine["mean"]),
                                   ("frequent", "d", before["frequent"], mine["frequent"])):
        strategy = "mean" if part == "mean" else "most_frequent"
        missing_train = int(remaining.loc[remaining["id"] % 5 != 0, column].isna().sum())
        missing_test = int(remaining.loc[remaining["id"] % 5 == 0, column].isna().sum())
        assert missing_train and missing_test
        assert (f"featuriser {part} (SimpleImputer, {strategy}): fitted again on the {len(remaining[remaining['id'] % 5 != 0])} "
                f"remaining training rows: statistics_ [{old[0]:.6g}] -> [{new[0]:.6g}]") in text, text
        line = next(line for line in text.splitlines() if f"featuriser {part} (" in line)
        assert f"re-encoded: {missing_train} train row(s)" in line and f"; {missing_test} test row(s)" in line
    assert "featuriser median (SimpleImputer, median): fitted again" in text
    assert "featuriser median (StandardScaler): fitted again" in text and "every train and test row" in text
    assert "NOT MAINTAINED" not in text, text
    # The stored pipeline predicts raw rows as the model predicts the stored matrix.
    test_rows = data.loc[data["id"] % 5 == 0].drop(index=gone, errors="ignore")
    assert np.array_equal(store.predict(run_id, test_rows), ours["model"].predict(ours["test"]["X"]))
    # No old fill value is kept: the stored featuriser holds none, the matrix state only the new ones.
    run_folder = os.path.join(".lester", "runs", run_id)
    for path in (os.path.join(run_folder, "featuriser.pkl"), os.path.join(run_folder, "train", "X", "state.json")):
        with open(path, "rb") as handle:
            content = handle.read()
        assert np.float64(before["mean"][0]).tobytes() not in content and repr(before["mean"][0]).encode() not in content


def test_forgetting_a_column_refits_its_imputer_without_the_nulled_cells(work):
    folder, run_id = work
    store = ArtifactStore(".lester")
    data = pd.read_csv("data.csv")
    train = data[(data["id"] % 5 != 0) & data["a"].notna()]
    positions = tuple(train["a"].nlargest(5).index)
    text = str(store.forget(RowSpec("data.csv", positions=positions), ColumnSpec("data.csv", "a")))
    assert "featuriser mean (SimpleImputer, mean): fitted again" in text
    nulled = data.copy()
    nulled.loc[list(positions), "a"] = np.nan  # what a run from scratch on the nulled source reads
    scratch_store, scratch_id = from_scratch(folder, nulled)
    assert np.array_equal(fitted(".lester", run_id)["mean"], fitted(str(scratch_store.path), scratch_id)["mean"])
    ours, theirs = store.load(run_id)["train"], scratch_store.load(scratch_id)["train"]
    hit = np.isin(ours["lineage"]["data"], positions)
    assert hit.sum() == 5 and np.all(ours["X"][hit, 0] == 0)  # the forgotten cells: zeroed, not imputed
    assert np.array_equal(ours["X"][~hit], theirs["X"][~hit])  # every other cell as from scratch
