"""One-hot categories and vocabulary entries that only forgotten rows had: removed with their matrix columns and
model weights, against runs from scratch on the corrected sources."""
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from featuriser_runs import capture as capture_run, stored_featuriser, work_copy
from lester_inspect.inspections import ArtifactCapture
from lester_inspect.inspector import PipelineInspector
from lester_inspect.ivm import ArtifactStore, RowSpec

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# The split depends on the id only, so that a run from scratch keeps the same rows in the same order.
PIPELINE = '''
import sys
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.tree import DecisionTreeClassifier

data = pd.read_csv(sys.argv[1])
train, test = data[data["id"] % 4 != 0], data[data["id"] % 4 == 0]
features = ColumnTransformer([
    ("city", OneHotEncoder(handle_unknown="ignore"), ["city"]),
    ("x", StandardScaler(), ["x"]),
    ("job", Pipeline([("impute", SimpleImputer(strategy="most_frequent")),
                      ("encode", OneHotEncoder(handle_unknown="ignore", sparse_output=False))]), ["job"]),
    ("note", CountVectorizer(), "note")])
model = DecisionTreeClassifier(max_depth=4, random_state=0) if sys.argv[2] == "tree" else LogisticRegression(C=0.5)
pipeline = Pipeline([("features", features), ("model", model)])
pipeline.fit(train, train["y"])
print(pipeline.score(test, test["y"]))
'''


def write_data(path):
    rng = np.random.default_rng(3)
    n = 240
    frame = pd.DataFrame({"id": np.arange(n), "city": rng.choice(["north", "south", "east", "west"], n),
                          "x": rng.normal(0, 1, n).round(4), "job": rng.choice(["a", "b", "c"], n),
                          "note": [" ".join(rng.choice(["late", "paid", "called", "moved"], 3)) for _ in range(n)]})
    # Rare values: "harbour" in training rows 1 and 2 and test row 4; "mine" (a job) in training row 5.
    frame.loc[[1, 2, 4], "city"] = "harbour"
    frame.loc[[1, 6], "city"] = ["harbour", "island"]
    frame.loc[5, "job"] = "mine"
    frame.loc[[1, 5, 8], "note"] = ["paid zanzibar", "late quokka quokka", "paid quokka"]  # quokka: test row 8 too
    frame.loc[[9, 10], "job"] = np.nan
    frame["y"] = ((frame["x"] + (frame["city"] == "north") + rng.normal(0, 1, n)) > 0.5).astype(int)
    frame.to_csv(path, index=False)
    return frame


def capture(folder, model):
    return capture_run(folder, folder / "data.csv", model)


@pytest.fixture(scope="module", params=["linear", "tree"])
def captured(request, tmp_path_factory):
    root = tmp_path_factory.mktemp(f"categories_{request.param}")
    write_data(root / "data.csv")
    (root / "pipeline.py").write_text(PIPELINE)
    return root, capture(root, request.param), request.param


@pytest.fixture
def work(captured, tmp_path, monkeypatch):
    root, run_id, model = captured
    return work_copy(root, tmp_path, monkeypatch), run_id, model


def encoders(store_path, run_id):
    featuriser = stored_featuriser(store_path, run_id)
    parts = {name: transformer for name, transformer, _ in featuriser.transformers_}
    return featuriser, parts["city"], parts["job"].steps[1][1]


def test_forget_removes_the_categories_only_the_forgotten_rows_had_like_a_run_from_scratch(work):
    folder, run_id, model = work
    store = ArtifactStore(".lester")
    data = pd.read_csv("data.csv")
    width = store.load(run_id)["train"]["X"].shape[1]
    # Training rows 1 and 2 hold every training "harbour", row 5 the only "mine"; test row 4 keeps its harbour.
    report = store.forget(RowSpec("data.csv", positions=(1, 2, 5)))
    text = str(report)
    assert "featuriser city (OneHotEncoder): 1 category only the removed rows had removed" in text, text
    assert "featuriser job (OneHotEncoder): 1 category only the removed rows had removed" in text
    assert "featuriser note (CountVectorizer): 2 vocabulary entries only the removed rows had removed" in text
    assert "deleted" not in text and "NOT MAINTAINED" not in text, text

    ours = store.load(run_id)
    scratch = folder / "scratch"
    scratch.mkdir()
    (scratch / "pipeline.py").write_text(PIPELINE)
    data.drop(index=[1, 2, 5]).to_csv(scratch / "data.csv", index=False)
    scratch_store = ArtifactStore(str(scratch / ".lester"))
    theirs = scratch_store.load(capture(scratch, model))
    for group in ("train", "test"):  # the categories' columns gone, every other cell as from scratch
        assert ours[group]["X"].shape[1] == width - 4
        assert np.array_equal(ours[group]["X"], theirs[group]["X"])
    assert ours["manifest"]["groups"]["train"]["matrix_provenance"] == theirs["manifest"]["groups"]["train"][
        "matrix_provenance"]
    featuriser, city, job = encoders(".lester", run_id)
    _, scratch_city, scratch_job = encoders(str(scratch_store.path), theirs["manifest"]["run_id"])
    assert [c.tolist() for c in city.categories_] == [c.tolist() for c in scratch_city.categories_]
    assert [c.tolist() for c in job.categories_] == [c.tolist() for c in scratch_job.categories_]
    assert "harbour" not in city.categories_[0] and "island" in city.categories_[0]
    assert featuriser.named_transformers_["note"].vocabulary_ == encoders(
        str(scratch_store.path), theirs["manifest"]["run_id"])[0].named_transformers_["note"].vocabulary_
    # The stored pipeline predicts raw rows: the test row whose city is no longer known encodes as from scratch.
    test_rows = data[data["id"] % 4 == 0]
    assert np.array_equal(featuriser.transform(test_rows), theirs["test"]["X"])
    assert np.array_equal(store.predict(run_id, test_rows), ours["model"].predict(ours["test"]["X"]))
    assert ours["model"].n_features_in_ == width - 4
    if model == "linear":  # the weights of the removed columns dropped, the update within the unlearning tolerance
        assert ours["model"].coef_.shape == theirs["model"].coef_.shape
        assert np.mean(ours["model"].predict(ours["test"]["X"]) == theirs["model"].predict(theirs["test"]["X"])) >= 0.95
        assert "weights removed with their categories (4)" in text
    else:  # a tree has no weights to drop: fitted again on the narrower stored matrix, as from scratch
        assert "refitted on the corrected training data" in text
        assert np.array_equal(ours["model"].predict(ours["test"]["X"]), theirs["model"].predict(theirs["test"]["X"]))
    for path in (os.path.join(".lester", "runs", run_id, "featuriser.pkl"),):
        with open(path, "rb") as handle:
            content = handle.read()
        assert b"harbour" not in content and b"mine" not in content and b"zanzibar" not in content
    again = store.forget(RowSpec("data.csv", positions=(1, 2, 5)))
    assert again.runs[0].status == "already applied" and store.load(run_id)["train"]["X"].shape[1] == width - 4


@pytest.mark.parametrize("captured", ["linear"], indirect=True)  # the kill and rerun do not depend on the model
def test_a_forget_killed_after_the_model_update_completes_when_run_again(work):
    folder, run_id, model = work
    arguments = [sys.executable, "-m", "lester_inspect.cli", "forget", "--store", ".lester", "--rows", "data.csv:@1,2,5",
                 "--all-affected"]
    environment = dict(os.environ, PYTHONPATH=ROOT)
    crashed = subprocess.run(arguments, env=dict(environment, LESTER_INSPECT_CRASH_AT="after_model"),
                             capture_output=True, text=True)
    assert crashed.returncode == 137
    finished = subprocess.run(arguments, env=environment, capture_output=True, text=True)
    assert finished.returncode == 0, finished.stderr
    run = ArtifactStore(".lester").load(run_id)
    featuriser, city, _ = encoders(".lester", run_id)
    assert "harbour" not in city.categories_[0]
    assert run["model"].n_features_in_ == run["train"]["X"].shape[1] == run["test"]["X"].shape[1]
    assert np.array_equal(featuriser.transform(pd.read_csv("data.csv").iloc[[0]]).shape, (1, run["test"]["X"].shape[1]))


def test_forget_moves_the_imputed_cells_when_the_most_frequent_category_changes(work):
    folder, run_id, model = work
    store = ArtifactStore(".lester")
    data = pd.read_csv("data.csv")
    train = data[(data["id"] % 4 != 0)]
    counts = train["job"].value_counts()
    frequent, second = counts.index[0], counts.index[1]
    # Enough training rows of the most frequent job that the second one becomes the most frequent.
    gone = train.index[train["job"] == frequent][:int(counts.iloc[0] - counts.iloc[1] + 1)].tolist()
    text = str(store.forget(RowSpec("data.csv", positions=tuple(gone))))
    assert "featuriser job (SimpleImputer, most_frequent): the most frequent job" in text, text
    assert "re-encoded: 2 train row(s) (captured positions" in text and "NOT MAINTAINED" not in text

    scratch = folder / "scratch"
    scratch.mkdir()
    (scratch / "pipeline.py").write_text(PIPELINE)
    data.drop(index=gone).to_csv(scratch / "data.csv", index=False)
    scratch_store = ArtifactStore(str(scratch / ".lester"))
    scratch_id = capture(scratch, model)
    ours, theirs = store.load(run_id), scratch_store.load(scratch_id)
    for group in ("train", "test"):  # the imputed rows' one-hot cells moved, exactly as from scratch
        assert np.array_equal(ours[group]["X"], theirs[group]["X"])
    featuriser = encoders(".lester", run_id)[0]
    imputer = featuriser.named_transformers_["job"].steps[0][1]
    expected = encoders(str(scratch_store.path), scratch_id)[0].named_transformers_["job"].steps[0][1]
    assert imputer.statistics_.tolist() == expected.statistics_.tolist() == [second]
    # The stored featuriser imputes the new value: it encodes the imputed rows as the store holds them.
    imputed = np.searchsorted(ours["train"]["lineage"]["data"], [9, 10])
    assert np.array_equal(featuriser.transform(data.loc[[9, 10]]), ours["train"]["X"][imputed])


def test_categories_an_encoder_drops_are_not_removed_and_the_featuriser_goes_loudly(tmp_path, monkeypatch):
    # drop="first": removing a category would change which one is dropped; that is not maintained.
    frame = pd.DataFrame({"id": np.arange(40), "city": ["harbour"] + ["north", "south"] * 19 + ["east"],
                          "y": np.arange(40) % 2})
    frame.to_csv(tmp_path / "data.csv", index=False)
    (tmp_path / "pipeline.py").write_text(
        "import sys\nimport pandas as pd\nfrom sklearn.compose import ColumnTransformer\n"
        "from sklearn.linear_model import LogisticRegression\nfrom sklearn.preprocessing import OneHotEncoder\n"
        "data = pd.read_csv(sys.argv[1])\n"
        "features = ColumnTransformer([('city', OneHotEncoder(drop='first'), ['city'])])\n"
        "LogisticRegression().fit(features.fit_transform(data), data['y'])\n")
    result = (PipelineInspector.on_pipeline(str(tmp_path / "pipeline.py"), args=[str(tmp_path / "data.csv")])
              .add_inspection(ArtifactCapture(store=str(tmp_path / ".lester"))).execute())
    run_id = ArtifactCapture.run_id_of(result)
    monkeypatch.chdir(tmp_path)
    text = str(ArtifactStore(".lester").forget(RowSpec("data.csv", positions=(39,))))
    assert "the stored featuriser was deleted, as its learned values would keep the data" in text, text
    assert not os.path.exists(os.path.join(".lester", "runs", run_id, "featuriser.pkl"))


def test_rectify_to_a_known_category_removes_the_one_only_the_rectified_rows_had_like_a_run_from_scratch(work):
    from lester_inspect.ivm import ColumnSpec
    from lester_inspect.ivm.rectify import Correction

    folder, run_id, model = work
    store = ArtifactStore(".lester")
    data = pd.read_csv("data.csv")
    # A misspelt city only training rows 1 and 2 have (test row 4 keeps it): corrected to a known one.
    text = str(store.rectify(RowSpec("data.csv", positions=(1, 2)), ColumnSpec("data.csv", "city"),
                             Correction.replace("harbour=>north")))
    assert "featuriser city (OneHotEncoder): 1 category only the rectified rows had removed" in text, text
    assert "NOT MAINTAINED" not in text, text
    corrected = data.copy()
    corrected.loc[[1, 2], "city"] = "north"
    scratch = folder / "scratch"
    scratch.mkdir()
    (scratch / "pipeline.py").write_text(PIPELINE)
    corrected.to_csv(scratch / "data.csv", index=False)
    scratch_store = ArtifactStore(str(scratch / ".lester"))
    ours, theirs = store.load(run_id), scratch_store.load(capture(scratch, model))
    for group in ("train", "test"):
        assert np.array_equal(ours[group]["X"], theirs[group]["X"])
    assert [c.tolist() for c in encoders(".lester", run_id)[1].categories_] == [
        c.tolist() for c in encoders(str(scratch_store.path), theirs["manifest"]["run_id"])[1].categories_]
    assert ours["model"].n_features_in_ == theirs["model"].n_features_in_
