"""Maintenance of group-by aggregates and the labels computed from them, against runs from scratch."""
import os
import shutil

import numpy as np
import pandas as pd
import pytest

from example_generators import load_generator
from lester_inspect.inspections import ArtifactCapture
from lester_inspect.inspector import PipelineInspector
from lester_inspect.ivm import ArtifactStore, ColumnSpec, RowSpec, columnar

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# The healthcare example's labelling with a linear model, and a split that does not depend on the row count.
PIPELINE = '''
import os, sys
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

data_dir = sys.argv[1]
patients = pd.read_csv(os.path.join(data_dir, "patients.csv"), na_values="?")
histories = pd.read_csv(os.path.join(data_dir, "histories.csv"), na_values="?")
data = patients.merge(histories, on=["ssn"])
complications = data.groupby("age_group").agg(mean_complications=("complications", "mean"))
data = data.merge(complications, on=["age_group"])
data["label"] = data["complications"] > 1.2 * data["mean_complications"]
data = data[["id", "county", "num_children", "income", "label"]]
test = data[data["id"] % 5 == 0]
train = data[data["id"] % 5 != 0]
features = ColumnTransformer([("county", OneHotEncoder(handle_unknown="ignore"), ["county"]),
                              ("numbers", StandardScaler(), ["num_children", "income"])])
pipeline = Pipeline([("features", features), ("model", LogisticRegression(max_iter=1000))])
pipeline.fit(train, train["label"])
print(pipeline.score(test, test["label"]))
'''


def capture(folder, store):
    result = (PipelineInspector.on_pipeline(str(folder / "pipeline.py"), args=[str(folder / "data")])
              .add_inspection(ArtifactCapture(store=str(store), name="health")).execute())
    return ArtifactCapture.run_id_of(result)


@pytest.fixture(scope="module")
def captured(tmp_path_factory):
    root = tmp_path_factory.mktemp("health")
    load_generator("healthcare").write(str(root / "data"), 600, seed=3)
    (root / "pipeline.py").write_text(PIPELINE)
    return root, capture(root, root / ".lester")


@pytest.fixture
def health(captured, tmp_path, monkeypatch):
    root, run_id = captured
    work = tmp_path / "work"
    shutil.copytree(root, work)
    monkeypatch.chdir(work)
    return work, run_id


def labels_by_patient(store, run_id, patients):
    """Per captured group, the label of each patient id (rows named by their source row)."""
    run = store.load(run_id)
    ids = patients["id"].to_numpy()
    return {group: pd.Series(run[group]["y"], index=ids[run[group]["lineage"]["patients"]]).sort_index()
            for group in ("train", "test")}


def from_scratch(work, change, pipeline=PIPELINE):
    """Capture the pipeline again on sources corrected by ``change(patients, histories)``."""
    scratch = work / "scratch"
    shutil.copytree(work / "data", scratch / "data")
    (scratch / "pipeline.py").write_text(pipeline)
    patients = pd.read_csv(scratch / "data" / "patients.csv", na_values="?", keep_default_na=False)
    histories = pd.read_csv(scratch / "data" / "histories.csv", na_values="?", keep_default_na=False)
    patients, histories = change(patients, histories)
    patients.to_csv(scratch / "data" / "patients.csv", index=False)
    histories.to_csv(scratch / "data" / "histories.csv", index=False)
    store = ArtifactStore(str(scratch / ".lester"))
    return store, capture(scratch, scratch / ".lester"), patients


def maintained_groups(run_folder):
    return columnar.read_frame(os.path.join(run_folder, "views", "0", "groups")).set_index("age_group")


def assert_same_as_scratch(store, run_id, scratch_store, scratch_id, patients):
    ours, theirs = labels_by_patient(store, run_id, patients_original()), labels_by_patient(
        scratch_store, scratch_id, patients)
    for group in ("train", "test"):
        pd.testing.assert_series_equal(ours[group], theirs[group], check_names=False)
    data = store.load(run_id)["train"]["data"]
    assert np.array_equal(data["label"].to_numpy(), store.load(run_id)["train"]["y"])
    groups = maintained_groups(os.path.join(store.path, "runs", run_id))
    scratch_groups = maintained_groups(os.path.join(scratch_store.path, "runs", scratch_id))
    assert groups["mean_complications"].to_dict() == scratch_groups["mean_complications"].to_dict()  # exact
    # The model: updated without retraining, against the model a run from scratch fits.
    updated, retrained = store.load(run_id), scratch_store.load(scratch_id)
    agreement = np.mean(updated["model"].predict(updated["test"]["X"]) == retrained["model"].predict(updated["test"]["X"]))
    return agreement


def patients_original():
    return pd.read_csv("data/patients.csv", na_values="?")


def test_forgetting_patients_recomputes_their_groups_and_relabels_the_others(health):
    work, run_id = health
    store = ArtifactStore(".lester")
    patients = patients_original()
    before = labels_by_patient(store, run_id, patients)
    # 40 patients of age group 2 with many complications: their group's mean falls.
    histories = pd.read_csv("data/histories.csv")
    merged = patients.merge(histories, on="ssn")
    chosen = merged[merged["age_group"] == "group2"].sort_values("complications").tail(40)["id"]
    positions = tuple(np.flatnonzero(patients["id"].isin(chosen)).tolist())
    report = store.forget(RowSpec("data/patients.csv", positions=positions), order="second")
    text = str(report)
    assert "1 of 4 group(s) recomputed" in text and "label = complications > 1.2 * mean_complications" in text
    assert "not maintained" not in text.lower()  # the aggregate, the labels and the featuriser statistics
    scratch_store, scratch_id, corrected = from_scratch(
        work, lambda p, h: (p.drop(index=list(positions)).reset_index(drop=True), h))
    after = labels_by_patient(store, run_id, patients)
    changed = (after["train"] != before["train"].reindex(after["train"].index)).sum()
    assert changed > 0  # other patients of the group were relabelled
    agreement = assert_same_as_scratch(store, run_id, scratch_store, scratch_id, corrected)
    assert agreement >= 0.97
    # A second request of the same rows changes nothing more.
    again = store.forget(RowSpec("data/patients.csv", positions=positions), order="second")
    assert again.runs[0].status == "already applied"
    assert labels_by_patient(store, run_id, patients)["train"].equals(after["train"])


def test_forgetting_a_column_nulls_it_in_the_aggregate_and_rederives_the_labels(health):
    work, run_id = health
    store = ArtifactStore(".lester")
    histories = pd.read_csv("data/histories.csv")
    positions = tuple(np.flatnonzero(histories["complications"] >= histories["complications"].quantile(0.9))[:30].tolist())
    report = store.forget(RowSpec("data/histories.csv", positions=positions),
                          ColumnSpec("data/histories.csv", "complications"), order="second")
    assert "recomputed" in str(report) and report.runs[0].model["order"] == "second"

    def blank(p, h):
        h["complications"] = h["complications"].astype(object)
        h.loc[list(positions), "complications"] = ""
        return p, h

    scratch_store, scratch_id, corrected = from_scratch(work, blank)
    agreement = assert_same_as_scratch(store, run_id, scratch_store, scratch_id, corrected)
    assert agreement >= 0.97
    values = columnar.read_frame(os.path.join(".lester", "runs", run_id, "views", "0", "input"))
    assert values["complications"].isna().sum() >= len(positions)


def test_a_selection_on_a_maintained_column_is_reported_as_not_maintained(tmp_path, monkeypatch):
    load_generator("healthcare").write(str(tmp_path / "data"), 300, seed=4)
    selecting = PIPELINE.replace('data = data[["id", "county",',
                                 'data = data[data["mean_complications"] < 100]\ndata = data[["id", "county",')
    assert selecting != PIPELINE
    (tmp_path / "pipeline.py").write_text(selecting)
    capture(tmp_path, tmp_path / ".lester")
    monkeypatch.chdir(tmp_path)
    report = ArtifactStore(".lester").forget(RowSpec("data/patients.csv", positions=(1, 2, 3)))
    text = str(report)
    assert "recomputed" in text  # the labels are still maintained ...
    assert "NOT MAINTAINED: line" in text and "mean_complications < 100" in text  # ... the selection is not
    assert "rows it would now keep or drop are not added or removed" in text


def test_rows_that_fed_only_the_aggregate_are_maintained_too(tmp_path, monkeypatch):
    """Patients of county1 are filtered out after the group-by: no artifact holds them, their group's mean does."""
    load_generator("healthcare").write(str(tmp_path / "data"), 300, seed=6)
    filtering = PIPELINE.replace('data = data[["id", "county",', 'data = data[data["county"] != "county1"]\n'
                                 'data = data[["id", "county",')
    (tmp_path / "pipeline.py").write_text(filtering)
    run_id = capture(tmp_path, tmp_path / ".lester")
    monkeypatch.chdir(tmp_path)
    patients = patients_original()
    positions = tuple(np.flatnonzero(patients["county"] == "county1")[:6].tolist())
    store = ArtifactStore(".lester")
    [held] = store.affected(RowSpec("data/patients.csv", positions=positions))
    assert held.status == "holds" and "fed a maintained group-by aggregate" in str(held)
    report = store.forget(RowSpec("data/patients.csv", positions=positions))
    assert report.runs[0].status == "changed" and "recomputed" in str(report)
    scratch_store, scratch_id, corrected = from_scratch(
        tmp_path, lambda p, h: (p.drop(index=list(positions)).reset_index(drop=True), h), filtering)
    assert_same_as_scratch(store, run_id, scratch_store, scratch_id, corrected)
