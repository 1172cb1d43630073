"""Fitted featuriser statistics maintained after forget, against runs from scratch on the corrected sources."""
import os
import shutil

import numpy as np
import pandas as pd
import pytest

from example_generators import load_generator
from featuriser_runs import capture as capture_run, stored_featuriser, work_copy
from lester_inspect.inspections import ArtifactCapture
from lester_inspect.inspector import PipelineInspector
from lester_inspect.ivm import ArtifactStore, ColumnSpec, RowSpec

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# A most-frequent imputer before a one-hot encoder (kept by counts), a mean imputer and two scaler parts
# (a bare one, and one behind a step that learns nothing), all refitted; a one-hot part (its categories
# kept by their training-row counts); a split that does not depend on the row count, so that a run from
# scratch keeps the same rows in the same order.
PIPELINE = '''
import os, sys
import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

data_dir = sys.argv[1]
patients = pd.read_csv(os.path.join(data_dir, "patients.csv"), na_values="?")
histories = pd.read_csv(os.path.join(data_dir, "histories.csv"), na_values="?")
data = patients.merge(histories, on=["ssn"])
data["label"] = data["complications"] > 2
data = data[["id", "county", "race", "num_children", "income", "label"]]
test = data[data["id"] % 5 == 0]
train = data[data["id"] % 5 != 0]
features = ColumnTransformer([("race", Pipeline([("impute", SimpleImputer(strategy="most_frequent")),
                                                ("encode", OneHotEncoder(handle_unknown="ignore"))]), ["race"]),
                              ("imputed", SimpleImputer(strategy="mean"), ["num_children"]),
                              ("county", OneHotEncoder(handle_unknown="ignore"), ["county"]),
                              ("numbers", StandardScaler(), ["num_children", "income"]),
                              ("log_income", Pipeline([("log", FunctionTransformer(np.log1p)),
                                                       ("scale", StandardScaler())]), ["income"])])
pipeline = Pipeline([("features", features), ("model", LogisticRegression(max_iter=1000))])
pipeline.fit(train, train["label"])
print(pipeline.score(test, test["label"]))
'''


def capture(folder):
    return capture_run(folder, folder / "data")


@pytest.fixture(scope="module")
def captured(tmp_path_factory):
    root = tmp_path_factory.mktemp("scaled")
    load_generator("healthcare").write(str(root / "data"), 400, seed=5)
    (root / "pipeline.py").write_text(PIPELINE)
    return root, capture(root)


@pytest.fixture
def work(captured, tmp_path, monkeypatch):
    root, run_id = captured
    return work_copy(root, tmp_path, monkeypatch), run_id


def scalers(store_path, run_id):
    featuriser = stored_featuriser(store_path, run_id)
    parts = dict((name, transformer) for name, transformer, _ in featuriser.transformers_)
    return {"numbers": parts["numbers"], "log_income": parts["log_income"].steps[-1][1],
            "race": parts["race"].steps[0][1], "imputed": parts["imputed"]}


def test_scaler_blocks_are_stored_unscaled_and_read_back_exactly(work):
    folder, run_id = work
    store = ArtifactStore(".lester")
    run = store.load(run_id)
    # Loading gives the matrix the model was fitted on: the model scores it as at capture.
    patients = pd.read_csv("data/patients.csv", na_values="?")
    assert run["model"].score(run["test"]["X"], run["test"]["y"]) > 0.5
    X_folder = os.path.join(".lester", "runs", run_id, "train", "X")
    assert os.path.exists(os.path.join(X_folder, "virtual.json"))
    stored = np.load(os.path.join(X_folder, "dense.npy"))
    assert np.all(stored[:, -3:] == 0)  # the scaled columns are not stored as such
    raw = patients.set_index("id").loc[run["train"]["data"]["id"], "income"].to_numpy(dtype=float)
    income = scalers(".lester", run_id)["numbers"]
    assert np.array_equal(run["train"]["X"][:, -2], (raw - income.mean_[1]) / income.scale_[1])


def test_forget_refits_the_scalers_like_a_run_from_scratch(work):
    folder, run_id = work
    store = ArtifactStore(".lester")
    before = scalers(".lester", run_id)
    old_mean = before["numbers"].mean_.copy()
    patients = pd.read_csv("data/patients.csv", na_values="?", keep_default_na=False)
    rich = tuple(np.argsort(-patients["income"].to_numpy())[:8].tolist())  # they move the income mean
    report = store.forget(RowSpec("data/patients.csv", positions=rich))
    text = str(report)
    assert "featuriser numbers (StandardScaler): fitted again" in text and "log_income" in text
    assert "re-encoded" in text
    # The mean imputer is refitted too (no patient misses num_children: no cell it fills changes).
    assert "featuriser imputed (SimpleImputer, mean): fitted again" in text and "re-encoded: 0 train row(s)" in text
    assert "NOT MAINTAINED" not in text, text  # the one-hot categories are kept by their row counts
    assert "county/county" not in text
    assert "race/impute" not in text  # the most frequent race stays, by the counts: as a run from scratch finds

    scratch = folder / "scratch"
    shutil.copytree(folder / "data", scratch / "data")
    (scratch / "pipeline.py").write_text(PIPELINE)
    patients.drop(index=list(rich)).to_csv(scratch / "data" / "patients.csv", index=False)
    scratch_id = capture(scratch)
    ours, theirs = store.load(run_id), ArtifactStore(str(scratch / ".lester")).load(scratch_id)
    for group in ("train", "test"):  # exact: the statistics, hence every scaled cell of train and test
        assert np.array_equal(ours[group]["X"], theirs[group]["X"])
    mine, scratch_scalers = scalers(".lester", run_id), scalers(str(scratch / ".lester"), scratch_id)
    for name in ("numbers", "log_income"):
        for attribute in ("mean_", "var_", "scale_", "n_samples_seen_"):
            assert np.array_equal(getattr(mine[name], attribute), getattr(scratch_scalers[name], attribute))
    assert mine["race"].statistics_.tolist() == scratch_scalers["race"].statistics_.tolist()
    assert np.array_equal(mine["imputed"].statistics_, scratch_scalers["imputed"].statistics_)
    assert not np.array_equal(mine["numbers"].mean_, old_mean)
    # No old statistic is kept: the stored featuriser holds none, virtual.json only the new ones.
    for path in (os.path.join(".lester", "runs", run_id, "featuriser.pkl"),
                 os.path.join(".lester", "runs", run_id, "train", "X", "virtual.json")):
        with open(path, "rb") as handle:
            content = handle.read()
        assert repr(float(old_mean[1])).encode() not in content and np.float64(old_mean[1]).tobytes() not in content


def test_forgetting_a_column_refits_the_scaler_without_its_cells(work):
    folder, run_id = work
    store = ArtifactStore(".lester")
    positions = (3, 10, 42)
    store.forget(RowSpec("data/patients.csv", positions=positions), ColumnSpec("data/patients.csv", "income"))
    run = store.load(run_id)
    patients = pd.read_csv("data/patients.csv", na_values="?")
    income = patients.set_index("id").loc[run["train"]["data"]["id"], "income"].to_numpy(dtype=float)
    lineage = run["train"]["lineage"]["patients"]
    income[np.isin(lineage, positions)] = np.nan  # a run from scratch on the nulled source sees NaN there
    from sklearn.preprocessing import StandardScaler

    # As the pipeline fits it from scratch: on the frame's two columns.
    expected = StandardScaler().fit(pd.DataFrame({"num_children": run["train"]["data"]["num_children"].to_numpy(),
                                                  "income": income}))
    assert np.array_equal(scalers(".lester", run_id)["numbers"].mean_, expected.mean_)
    assert np.array_equal(scalers(".lester", run_id)["numbers"].var_, expected.var_)
    hit = np.isin(lineage, positions)
    assert hit.any() and np.all(run["train"]["X"][hit][:, -2:] == 0)  # the forgotten cells: zero, as before


def test_an_imputed_value_is_kept_only_while_it_stays_the_most_frequent():
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder

    from lester_inspect.ivm.rectify import imputer_kept

    part = Pipeline([("impute", SimpleImputer(strategy="most_frequent")), ("encode", OneHotEncoder())])
    part.fit(pd.DataFrame({"c": ["a", "a", "b", np.nan]}))
    assert imputer_kept(part, {"counts": [3, 1], "missing": [1]})      # a: 2 observed + 1 imputed
    assert imputer_kept(part, {"counts": [2, 1], "missing": [1]})      # a tie of 1 and 1: the smaller, a
    assert not imputer_kept(part, {"counts": [2, 2], "missing": [1]})  # b (2) now beats a (1)
    assert not imputer_kept(part, {"counts": [3, 1], "missing": None})  # missing inputs no longer known


def test_a_scaler_outside_a_column_transformer_is_reported_not_maintained(tmp_path, monkeypatch):
    data = tmp_path / "data.csv"
    rng = np.random.default_rng(0)
    pd.DataFrame({"a": rng.normal(size=60), "b": rng.normal(size=60), "y": np.arange(60) % 2}).to_csv(data, index=False)
    (tmp_path / "pipeline.py").write_text(
        "import sys\nimport pandas as pd\nfrom sklearn.linear_model import LogisticRegression\n"
        "from sklearn.pipeline import Pipeline\nfrom sklearn.preprocessing import FunctionTransformer, StandardScaler\n"
        "frame = pd.read_csv(sys.argv[1])\n"
        "model = Pipeline([('log', FunctionTransformer()), ('scale', StandardScaler()), ('model', LogisticRegression())])\n"
        "model.fit(frame[['a', 'b']], frame['y'])\n")
    result = (PipelineInspector.on_pipeline(str(tmp_path / "pipeline.py"), args=[str(data)])
              .add_inspection(ArtifactCapture(store=str(tmp_path / ".lester"))).execute())
    assert ArtifactCapture.run_id_of(result)
    monkeypatch.chdir(tmp_path)
    text = str(ArtifactStore(".lester").forget(RowSpec("data.csv", positions=(1, 2))))
    assert "NOT MAINTAINED: StandardScaler (line 7), fitted outside a ColumnTransformer" in text
    assert "FunctionTransformer" not in text  # it learns nothing
