"""Rectify: corrected values, re-derived columns, re-encoded feature rows and the model, against runs from scratch."""
import os
import shutil
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from example_generators import load_generator
from lester_inspect.inspections import ArtifactCapture
from lester_inspect.inspector import PipelineInspector
from lester_inspect.ivm import ArtifactStore, ColumnSpec, ForgetIncomplete, RowSpec, SpecError
from lester_inspect.ivm.rectify import Correction, load_featuriser

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CARD = r"\d{4} \d{4} \d{4} \d{4}"
REPLACE = CARD + "=>"

# The credit card pipeline's preparation and featurisation with a linear model; WordCount is defined in the
# script (its __main__), as users do, so the stored featuriser must be loaded without running the script.
PIPELINE = '''
import os, sys
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.compose import ColumnTransformer
from sklearn.feature_extraction.text import HashingVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler


class WordCount(TransformerMixin, BaseEstimator):
    def fit(self, X, y=None):
        return self

    def transform(self, X):
        return pd.DataFrame(X).iloc[:, 0].str.split().str.len().to_numpy(dtype=float).reshape(-1, 1)


if __name__ == "__main__":
    data_dir = sys.argv[1]
    mails = pd.read_csv(os.path.join(data_dir, "mails.csv"))
    customers = pd.read_csv(os.path.join(data_dir, "customers.csv"))
    data = mails.merge(customers, on="customer_id")
    data["title"] = data["mail_subject"].str.lower()
    data["text"] = data["title"] + " " + data["mail_text"].str.lower()
    data["is_premium"] = data["customer_segment"] == "premium"
    train, test = train_test_split(data, test_size=0.2, random_state=42)
    features = ColumnTransformer([("title", HashingVectorizer(n_features=2**5), "title"),
                                  ("text", HashingVectorizer(n_features=2**6), "text"),
                                  ("words", Pipeline([("count", WordCount()), ("scale", StandardScaler())]),
                                   ["title"]),
                                  ("country", OneHotEncoder(handle_unknown="ignore"), ["country"]),
                                  ("is_premium", "passthrough", ["is_premium"])])
    pipeline = Pipeline([("features", features), ("model", LogisticRegression(max_iter=2000))])
    pipeline.fit(train, (train["sentiment"] == "positive").astype(int))
    print(pipeline.score(test, (test["sentiment"] == "positive").astype(int)))
'''


def capture(folder):
    result = (PipelineInspector.on_pipeline(str(folder / "pipeline.py"), args=[str(folder / "data")])
              .add_inspection(ArtifactCapture(store=str(folder / ".lester"), name="mails")).execute())
    return ArtifactCapture.run_id_of(result)


@pytest.fixture(scope="module")
def captured(tmp_path_factory):
    root = tmp_path_factory.mktemp("rectify")
    load_generator("creditcard").write(str(root / "data"), 1500)
    (root / "pipeline.py").write_text(PIPELINE)
    mails = pd.read_csv(root / "data" / "mails.csv")
    leaking = sorted(mails.loc[mails["mail_subject"].str.contains(CARD, na=False), "customer_id"].unique()[:4])
    return root, capture(root), [int(c) for c in leaking]


@pytest.fixture
def work(captured, tmp_path, monkeypatch):
    root, run_id, leaking = captured
    folder = tmp_path / "work"
    shutil.copytree(root, folder)
    monkeypatch.chdir(folder)
    return folder, run_id, leaking


def rows_of(leaking):
    return RowSpec("data/customers.csv", key="customer_id", values=tuple(map(str, leaking)))


def scratch_run(folder, leaking):
    """Capture again on mails.csv with the leaking customers' card numbers removed by the same regex."""
    scratch = folder / "scratch"
    shutil.copytree(folder / "data", scratch / "data")
    (scratch / "pipeline.py").write_text(PIPELINE)
    mails = pd.read_csv(scratch / "data" / "mails.csv", keep_default_na=False)
    hit = mails["customer_id"].isin(leaking)
    mails.loc[hit, "mail_subject"] = mails.loc[hit, "mail_subject"].str.replace(CARD, "", regex=True)
    mails.to_csv(scratch / "data" / "mails.csv", index=False)
    return ArtifactStore(str(scratch / ".lester")), capture(scratch)


def found_in(store, texts):
    found = set()
    for folder, _, files in os.walk(store):
        for name in files:
            content = open(os.path.join(folder, name), "rb").read()
            found |= {t for t in texts if t.encode() in content}
    return found


def test_rectify_corrects_values_rederives_columns_reencodes_rows_like_a_run_from_scratch(work):
    folder, run_id, leaking = work
    store = ArtifactStore(".lester")
    before = store.load(run_id)
    mails = pd.read_csv("data/mails.csv")
    secrets = set(mails.loc[mails["customer_id"].isin(leaking), "mail_subject"].str.findall(CARD).sum())
    assert found_in(".lester", secrets)
    report = store.rectify(rows_of(leaking), ColumnSpec("data/mails.csv", "mail_subject"), Correction.replace(REPLACE),
                           order="second")
    text = str(report)
    assert "re-encoded with the stored featuriser" in text and report.runs[0].model["order"] == "second"
    assert "cannot" not in text and "zeroed" not in text
    assert found_in(".lester", secrets) == set()
    scratch_store, scratch_id = scratch_run(folder, leaking)
    ours, theirs = store.load(run_id), scratch_store.load(scratch_id)
    for group in ("train", "test"):
        for column in ("mail_subject", "title", "text", "is_premium"):  # exact
            pd.testing.assert_series_equal(ours[group]["data"][column], theirs[group]["data"][column])
        assert np.array_equal(ours[group]["X"].toarray(), theirs[group]["X"].toarray())
    hit = before["train"]["data"]["customer_id"].isin(leaking).to_numpy()
    assert not np.array_equal(before["train"]["X"].toarray()[hit], ours["train"]["X"].toarray()[hit])
    # The model: one Newton step from the captured model against a fit from scratch (no featuriser statistics
    # change in this pipeline, so the corrected training matrix is the same).
    coef, scratch_coef = ours["model"].coef_, theirs["model"].coef_
    assert np.linalg.norm(coef - scratch_coef) <= 0.05 * np.linalg.norm(scratch_coef)
    assert np.linalg.norm(coef - scratch_coef) < np.linalg.norm(before["model"].coef_ - scratch_coef)
    X_test = ours["test"]["X"]
    assert np.mean(ours["model"].predict(X_test) == theirs["model"].predict(X_test)) >= 0.99
    assert not ours["notes"]  # the stored predictions are the updated model's
    assert np.array_equal(ours["test"]["predictions"], ours["model"].predict(X_test))
    assert "stored predictions recomputed" in text
    raw = theirs["test"]["data"]  # the corrected raw rows: the stored featuriser and updated model predict them
    assert np.array_equal(store.predict(run_id, raw), ours["model"].predict(ours["test"]["X"]))
    again = store.rectify(rows_of(leaking), ColumnSpec("data/mails.csv", "mail_subject"), Correction.replace(REPLACE),
                          order="second")
    assert again.runs[0].status == "already applied"
    assert np.array_equal(store.load(run_id)["train"]["X"].toarray(), ours["train"]["X"].toarray())


def test_rectify_from_a_file_on_the_command_line_and_its_errors(work):
    folder, run_id, leaking = work
    mails = pd.read_csv("data/mails.csv")
    leaked = mails[mails["mail_subject"].str.contains(CARD, na=False) & mails["customer_id"].isin(leaking)].head(2)
    corrected = leaked[["mail_id"]].assign(mail_subject=["fixed subject one", "fixed subject two"])
    corrected.to_csv("corrected.csv", index=False)
    environment = dict(os.environ, PYTHONPATH=ROOT)
    keys = ",".join(map(str, leaked["mail_id"]))
    completed = subprocess.run(
        [sys.executable, "-m", "lester_inspect.cli", "rectify", "--rows", f"data/mails.csv:mail_id={keys}",
         "--column", "data/mails.csv:mail_subject", "--values-from", "corrected.csv", "--all-affected"],
        capture_output=True, text=True, env=environment)
    assert completed.returncode == 0, completed.stderr
    assert "rectification" in completed.stdout
    run = ArtifactStore(".lester").load(run_id)
    data = pd.concat([run["train"]["data"], run["test"]["data"]])
    fixed = data[data["mail_id"].isin(leaked["mail_id"])].set_index("mail_id")
    assert sorted(fixed["title"]) == ["fixed subject one", "fixed subject two"]
    assert all(t.startswith(s) for t, s in zip(fixed["text"], fixed["title"]))
    with pytest.raises(ForgetIncomplete, match="changes none of the"):
        ArtifactStore(".lester").rectify(RowSpec("data/mails.csv", key="mail_id", values=(keys.split(",")[0],)),
                                         ColumnSpec("data/mails.csv", "mail_subject"),
                                         Correction.replace("zzzz-never-there=>x"))
    with pytest.raises(SpecError, match="REGEX=>REPLACEMENT"):
        Correction.replace("no arrow")
    with pytest.raises(SpecError, match="by key"):
        Correction.values_from("corrected.csv", rows_of(leaking), ColumnSpec("data/mails.csv", "mail_subject"))
    with pytest.raises(SpecError, match="no corrected mail_subject"):
        Correction.values_from("corrected.csv", RowSpec("data/mails.csv", key="mail_id", values=("999999",)),
                               ColumnSpec("data/mails.csv", "mail_subject"))


@pytest.mark.parametrize("crash_at", ["after_model", "after_state"])
def test_a_killed_rectify_resumes_to_the_same_artifacts(work, crash_at, killed_at):
    folder, run_id, leaking = work
    shutil.copytree(".lester", "reference")
    arguments = (rows_of(leaking), ColumnSpec("data/mails.csv", "mail_subject"), Correction.replace(REPLACE))
    ArtifactStore("reference").rectify(*arguments)
    assert killed_at(crash_at, lambda: ArtifactStore(".lester").rectify(*arguments)) == 137
    assert ArtifactStore(".lester").rectify(*arguments).runs[0].model == {"skipped": "already applied"}  # not twice
    ours, reference = ArtifactStore(".lester").load(run_id), ArtifactStore("reference").load(run_id)
    for group in ("train", "test"):
        pd.testing.assert_frame_equal(ours[group]["data"], reference[group]["data"])
        assert np.array_equal(ours[group]["X"].toarray(), reference[group]["X"].toarray())
    assert np.array_equal(ours["model"].coef_, reference["model"].coef_)


def test_values_the_featuriser_learned_only_from_forgotten_or_rectified_rows_are_removed(work):
    folder, run_id, leaking = work
    # One-hot encoding the subjects makes every subject a learned category: the card numbers are in the featuriser.
    (folder / "pipeline.py").write_text(PIPELINE.replace(
        '("is_premium", "passthrough", ["is_premium"])',
        '("is_premium", "passthrough", ["is_premium"]), ("subject", OneHotEncoder(handle_unknown="ignore"), '
        '["mail_subject"])'))
    run_id = capture(folder)
    store = ArtifactStore(".lester")
    mails = pd.read_csv("data/mails.csv")
    secrets = set(mails.loc[mails["customer_id"].isin(leaking), "mail_subject"].str.findall(CARD).sum())
    pickled = open(os.path.join(".lester", "runs", run_id, "featuriser.pkl"), "rb").read()
    assert any(secret.encode() in pickled for secret in secrets)
    report = store.forget(rows_of(leaking), ColumnSpec("data/mails.csv", "mail_subject"), run_ids=[run_id])
    assert "featuriser subject (OneHotEncoder):" in str(report) and "only the removed rows had removed" in str(report)
    assert found_in(os.path.join(".lester", "runs", run_id), secrets) == set()
    manifest = store.load(run_id)["manifest"]
    before = set(load_featuriser(os.path.join(".lester", "runs", run_id), manifest["pipeline"])
                 .named_transformers_["subject"].categories_[0])
    later = str(store.rectify(RowSpec("data/customers.csv", positions=(0, 1, 2)),
                              ColumnSpec("data/mails.csv", "mail_subject"), Correction.replace("a=>b"), run_ids=[run_id]))
    # The subjects only the rectified rows had are removed with their columns; their corrected subjects are new
    # values, which a run from scratch would add: said, loudly.
    assert "train: 20 feature row(s) re-encoded with the stored featuriser" in later
    assert "featuriser subject (OneHotEncoder): 20 categories only the rectified rows had removed" in later, later
    assert "NOT MAINTAINED: featuriser subject (OneHotEncoder): the rectified rows have 20 value(s) it did not" in later
    after = set(load_featuriser(os.path.join(".lester", "runs", run_id), manifest["pipeline"])
                .named_transformers_["subject"].categories_[0])
    assert after < before and len(before - after) == 20
    run = store.load(run_id)
    assert run["model"].n_features_in_ == run["train"]["X"].shape[1] == run["test"]["X"].shape[1]
