"""Capture, affected runs and forget on the credit card example, with canaries, crashes and concurrency."""
import importlib.util
import os
import pickle
import re
import shutil
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from sklearn.tree import DecisionTreeClassifier

from lester_inspect.ivm import ArtifactStore, ColumnSpec, ModelUpdateError, RowSpec, SpecError
from lester_inspect.ivm import catalog, columnar

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLE = os.path.join(ROOT, "example_pipelines", "creditcard")
ENVIRONMENT = dict(os.environ, PYTHONPATH=ROOT)


def _generator():
    spec = importlib.util.spec_from_file_location("creditcard_generator", os.path.join(EXAMPLE, "generate_data.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def cli(*arguments, cwd, env=None, check=True):
    completed = subprocess.run(["lester-inspect", *arguments], cwd=cwd, capture_output=True, text=True,
                               env=env or ENVIRONMENT)
    if check:
        assert completed.returncode == 0, completed.stderr
    return completed


def canaries_of(mail_ids):
    return [f"cnry{mail_id}zq" for mail_id in mail_ids]


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    """A captured run whose leaking customers' subjects hold canary strings."""
    root = tmp_path_factory.mktemp("creditcard")
    _generator().write(str(root / "data"), 2000)
    mails, customers = pd.read_csv(root / "data" / "mails.csv"), pd.read_csv(root / "data" / "customers.csv")
    kept = mails[(mails["date"] >= "2021-01-01")].merge(customers[customers["country"].isin(["DE", "FR", "GB", "NL"])],
                                                         on="customer_id")
    chosen = sorted(kept["customer_id"].value_counts().index[:5].tolist())
    leaking = mails["customer_id"].isin(chosen)
    mails.loc[leaking, "mail_subject"] = [f"Card {c}" for c in canaries_of(mails.loc[leaking, "mail_id"])]
    mails.to_csv(root / "data" / "mails.csv", index=False)
    run_id = cli("capture", "--name", "creditcard", os.path.join(EXAMPLE, "pipeline.py"), "data",
                 cwd=root).stdout.strip().splitlines()[-1]
    return root, run_id, chosen, canaries_of(mails.loc[leaking, "mail_id"])


@pytest.fixture
def workspace(template, tmp_path, monkeypatch):
    root, run_id, chosen, canaries = template
    work = tmp_path / "work"
    shutil.copytree(root, work)
    monkeypatch.chdir(work)
    return work, run_id, chosen, canaries


def leftover(store, needles):
    """The needles (any case) still present in any byte of any file under the store."""
    found = set()
    for folder, _, files in os.walk(store):
        for name in files:
            content = open(os.path.join(folder, name), "rb").read()
            found |= {n for n in needles if n.encode() in content or n.lower().encode() in content}
    return found


def rows_of(chosen):
    return RowSpec("data/customers.csv", key="customer_id", values=tuple(str(c) for c in chosen))


SUBJECT = ColumnSpec("data/mails.csv", "mail_subject")


def test_feature_deletion_nulls_derived_cells_zeroes_matrix_ranges_and_updates_the_model(workspace):
    work, run_id, chosen, canaries = workspace
    store = ArtifactStore(".lester")
    assert store.affected_runs(rows_of(chosen), SUBJECT) == [run_id]
    assert store.affected_runs(rows_of(chosen), ColumnSpec("data/customers.csv", "first_name")) == [run_id]
    assert len(leftover(".lester", canaries)) > 10  # the canaries that passed the filters are in the artifacts
    before = store.load(run_id)
    report = store.forget(rows_of(chosen), SUBJECT)
    after = store.load(run_id)
    manifest = before["manifest"]["groups"]["train"]
    ranges = manifest["matrix_provenance"]["title"] + manifest["matrix_provenance"]["text"]
    for group in ("train", "test"):
        old, new = before[group]["data"], after[group]["data"]
        hit = old["customer_id"].isin(chosen).to_numpy()
        assert report.runs[0].rows[group] == hit.sum() > 0
        for column in old.columns:
            if column in ("title", "text", "mail_subject"):
                assert new.loc[hit, column].isna().all() and new.loc[~hit, column].equals(old.loc[~hit, column])
            else:
                assert new[column].equals(old[column]), column
        old_X, new_X = before[group]["X"].toarray(), after[group]["X"].toarray()
        changed_rows, changed_columns = np.nonzero(old_X != new_X)
        assert set(changed_rows) <= set(np.flatnonzero(hit))
        assert all(any(low <= c < high for low, high in ranges) for c in changed_columns)
        for low, high in ranges:
            assert not new_X[hit, low:high].any()
    old_weights = before["model"].module_.state_dict()
    new_weights = after["model"].module_.state_dict()
    assert any(not np.allclose(old_weights[k], new_weights[k]) for k in old_weights)
    assert leftover(".lester", canaries) == set()
    assert any("stored predictions are the captured model's" in note for note in report.runs[0].notes)
    text = str(report)
    assert f"run {run_id}: rows {report.runs[0].rows['train']} train, {report.runs[0].rows['test']} test" in text
    assert "model: first-order update (tau " in text and "took: provenance lookup" in text
    again = store.forget(rows_of(chosen), SUBJECT)
    assert again.runs[0].model == {"skipped": "already applied"}
    assert after["model"].module_.state_dict().keys() == store.load(run_id)["model"].module_.state_dict().keys()


def test_instance_deletion_removes_derived_rows_everywhere(workspace):
    work, run_id, chosen, canaries = workspace
    store = ArtifactStore(".lester")
    before = store.load(run_id)
    emails = before["train"]["data"].loc[before["train"]["data"]["customer_id"].isin(chosen), "email"].unique().tolist()
    report = store.forget(rows_of(chosen))
    after = store.load(run_id)
    for group in ("train", "test"):
        old = before[group]["data"]
        hit = old["customer_id"].isin(chosen).to_numpy()
        assert len(after[group]["data"]) == len(old) - hit.sum() == after[group]["X"].shape[0]
        assert len(after[group]["y"]) == len(old) - hit.sum()
        assert not after[group]["data"]["customer_id"].isin(chosen).any()
        pd.testing.assert_frame_equal(after[group]["data"], old[~hit].reset_index(drop=True))
        assert (after[group]["lineage"]["mails"] == before[group]["lineage"]["mails"][~hit]).all()
    assert report.kind == "instance deletion" and report.runs[0].model["parameters_changed"] > 0
    assert leftover(".lester", canaries + emails) == set()


def test_forget_reads_only_the_affected_cells(workspace, monkeypatch):
    work, run_id, chosen, _ = workspace

    def whole_artifact_read(*arguments, **keywords):
        raise AssertionError("forget read a whole artifact")

    monkeypatch.setattr(columnar, "read_frame", whole_artifact_read)
    monkeypatch.setattr(columnar, "read_matrix", whole_artifact_read)
    report = ArtifactStore(".lester").forget(rows_of(chosen), SUBJECT)
    assert report.runs[0].cells["train/data"] > 0
    assert set(report.timings) >= {"find affected runs", f"{run_id}: model update", f"{run_id}: artifacts"}


@pytest.fixture(scope="module")
def completed(template, tmp_path_factory):
    """The state after an uninterrupted forget, to compare crashed-and-resumed ones with."""
    root, run_id, chosen, _ = template
    work = tmp_path_factory.mktemp("completed") / "work"
    shutil.copytree(root, work)
    cli("forget", "--rows", f"data/customers.csv:customer_id={','.join(map(str, chosen))}",
        "--column", "data/mails.csv:mail_subject", "--all-affected", cwd=work)
    return ArtifactStore(str(work / ".lester")).load(run_id)


def _same(loaded, expected, group):
    return (loaded[group]["data"].equals(expected[group]["data"])
            and (loaded[group]["X"] != expected[group]["X"]).nnz == 0)


@pytest.mark.parametrize("crash_at", ["after_model", "after_state", "after_train", "after_test"])
def test_a_killed_forget_leaves_old_or_new_artifacts_and_resumes(workspace, completed, crash_at):
    work, run_id, chosen, canaries = workspace
    before = ArtifactStore(".lester").load(run_id)
    arguments = ["forget", "--rows", f"data/customers.csv:customer_id={','.join(map(str, chosen))}",
                 "--column", "data/mails.csv:mail_subject", "--all-affected"]
    crashed = cli(*arguments, cwd=work, env=dict(ENVIRONMENT, LESTER_INSPECT_CRASH_AT=crash_at), check=False)
    assert crashed.returncode == 137
    interrupted = ArtifactStore(".lester").load(run_id)  # readable
    for group in ("train", "test"):
        assert _same(interrupted, before, group) or _same(interrupted, completed, group)
    cli(*arguments, cwd=work)
    resumed = ArtifactStore(".lester").load(run_id)
    for group in ("train", "test"):
        assert _same(resumed, completed, group)
    expected, actual = completed["model"].module_.state_dict(), resumed["model"].module_.state_dict()
    assert all(np.allclose(expected[k], actual[k]) for k in expected)  # updated exactly once
    assert leftover(".lester", canaries) == set()


def test_forget_finds_runs_without_opening_the_catalog_and_logs_every_change(workspace, monkeypatch):
    work, run_id, chosen, _ = workspace
    os.remove(".lester/lookup.json")  # rebuilt from the runs' manifests

    def opened(*arguments, **keywords):
        raise AssertionError("forget opened the DuckDB catalog")

    monkeypatch.setattr(catalog, "connect", opened)
    store = ArtifactStore(".lester")
    first = store.forget(rows_of(chosen[:1]), SUBJECT)
    assert [change.run_id for change in first.runs] == [run_id] and os.path.exists(".lester/lookup.json")
    with open(".lester/changes.jsonl", "ab") as log:
        log.write(b'{"run_id": "cut short by a cra')
    with open(".lester/lookup.json", "w") as lookup:
        lookup.write("[not what capture writes")
    with pytest.warns(UserWarning, match="lookup.json is unreadable"):
        second = store.forget(rows_of(chosen[1:2]))
    assert [change.run_id for change in second.runs] == [run_id]
    changes = store.changes()
    assert changes["kind"].tolist() == ["feature deletion", "instance deletion"]
    assert changes["request"].tolist() == [first.request, second.request]
    assert changes["rows_changed"].tolist() == [sum(r.runs[0].rows.values()) for r in (first, second)]
    assert changes["model_updated"].tolist() == [True, True]
    monkeypatch.undo()
    assert "instance deletion" in cli("changes", cwd=work).stdout


def test_concurrent_forgets_and_a_capture_serialise(workspace):
    work, run_id, chosen, _ = workspace
    commands = [["forget", "--rows", f"data/customers.csv:customer_id={chosen[0]}", "--all-affected"],
                ["forget", "--rows", f"data/customers.csv:customer_id={chosen[1]}", "--column",
                 "data/mails.csv:mail_subject", "--all-affected"],
                ["capture", "--name", "again", os.path.join(EXAMPLE, "pipeline.py"), "data"]]
    processes = [subprocess.Popen(["lester-inspect", *c], cwd=work, env=ENVIRONMENT, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True) for c in commands]
    outputs = [p.communicate(timeout=300) for p in processes]
    assert [p.returncode for p in processes] == [0, 0, 0], [o[1] for o in outputs]
    store = ArtifactStore(".lester")
    assert len(store.runs()) == 2
    applied = pickle.load(open(f".lester/runs/{run_id}/model.pkl", "rb"))["applied"]
    assert len(applied) == 2 and len(set(applied)) == 2
    assert sorted(store.changes()["request"]) == sorted(applied)
    data = store.load(run_id)["train"]["data"]
    assert not data["customer_id"].isin([chosen[0]]).any()
    assert data.loc[data["customer_id"] == chosen[1], "title"].isna().all()


def test_command_line_and_errors(workspace):
    work, run_id, chosen, _ = workspace
    assert run_id in cli("runs", cwd=work).stdout
    rows = f"data/customers.csv:customer_id={chosen[0]}"
    assert cli("affected", "--rows", rows, cwd=work).stdout.split() == [run_id]
    copy = work / "copy_of_customers.csv"
    shutil.copy(work / "data" / "customers.csv", copy)
    assert cli("affected", "--rows", f"{copy}:@0,1", cwd=work).stdout.split() == [run_id]  # matched by content
    unknown = cli("forget", "--rows", "data/customers.csv:customer_id=999999", "--all-affected", cwd=work, check=False)
    assert unknown.returncode == 2 and "no row has customer_id = 999999" in unknown.stderr
    wrong_run = cli("forget", "--rows", rows, "--run", "no-such-run", cwd=work, check=False)
    assert wrong_run.returncode == 2 and "no-such-run" in wrong_run.stderr
    beyond = cli("affected", "--rows", "data/customers.csv:@3,100000", cwd=work, check=False)
    assert beyond.returncode == 2 and "row @100000 is beyond the 200 rows the captured runs read" in beyond.stderr
    for command in ("runs", "changes", "affected", "forget"):
        arguments = ["--rows", rows, "--all-affected"][:{"affected": 2, "forget": 3}.get(command, 0)]
        missing = cli(command, "--store", "no-store-here", *arguments, cwd=work, check=False)
        assert missing.returncode == 2 and "no-store-here: no artifact store here" in missing.stderr, command
    assert not os.path.exists(work / "no-store-here")
    for bad, message in (("customers.csv", "expected FILE:KEY=V1,V2"), ("data/customers.csv:@x", "whole numbers"),
                         ("data/customers.csv:@-1", "whole numbers from 0"),
                         ("data/customers.csv:nokey=1", "has no column 'nokey'")):
        with pytest.raises(SpecError, match=message):
            RowSpec.parse(bad).resolve()


def test_the_creditcard_readme_walkthrough_runs(tmp_path):
    readme = open(os.path.join(EXAMPLE, "README.md"), encoding="utf-8").read()
    script = readme.split("## The leak")[1].split("```bash\n")[1].split("```")[0]
    script = script.replace("/tmp/leak", str(tmp_path / "leak"))
    completed = subprocess.run(["bash", "-e", "-c", script], cwd=EXAMPLE, capture_output=True, text=True,
                               env=ENVIRONMENT, timeout=600)
    assert completed.returncode == 0, completed.stderr
    [run_id] = ArtifactStore(str(tmp_path / "leak" / ".lester")).runs()["run_id"]
    assert completed.stdout.count(run_id) >= 4  # capture, runs, affected, forget (and changes)
    assert "feature deletion" in completed.stdout
    count = int(re.search(r"none of the (\d+) leaked card numbers is left", completed.stdout).group(1))
    assert count > 10


def test_user_study_tasks_in_the_readme_run(template, monkeypatch):
    """T1: a fairness metric for a column the pipeline dropped; T2: which source rows trained the model."""

    root, run_id, _, _ = template
    monkeypatch.chdir(root)
    readme = open(os.path.join(ROOT, "README.md"), encoding="utf-8").read()
    blocks = {block.split("\n", 1)[0]: block for block in re.findall(r"```python\n(# T\d.*?)```", readme, re.S)}
    namespace = {"run_id": run_id, "pipeline": os.path.join(EXAMPLE, "pipeline.py")}
    exec(blocks["# T1"], namespace)
    exec(blocks["# T2"], namespace)
    run = ArtifactStore(".lester").load(run_id)
    accuracy_per_bank, used = namespace["accuracy_per_bank"], namespace["used"]
    test = run["test"]
    banks = pd.read_csv("data/customers.csv").set_index("customer_id").loc[test["data"]["customer_id"], "bank"]
    assert accuracy_per_bank.to_dict() == pd.Series(test["predictions"] == test["y"]).groupby(banks.to_numpy()).mean().to_dict()
    assert used["mails"].dtype == bool and used["mails"].sum() == len(run["train"]["data"])
    assert used["customers"].sum() == run["train"]["data"]["customer_id"].nunique()


SEPARATE_CALLS = """
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.feature_extraction.text import HashingVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import OneHotEncoder
mails, customers = pd.read_csv("data/mails.csv"), pd.read_csv("data/customers.csv")
data = mails.merge(customers, on="customer_id")
data["title"] = data["mail_subject"].str.lower()
features = ColumnTransformer([("title", HashingVectorizer(n_features=16), "title"),
                              ("country", OneHotEncoder(), ["country"])])
X = features.fit_transform(data)
model = LogisticRegression(max_iter=500).fit(X, data["sentiment"] == "positive")
print(model.predict(features.transform(data.head(50)))[:5])
"""


def test_capture_without_split_with_separate_featurisation_and_a_sklearn_model(workspace):
    work, _, chosen, canaries = workspace
    (work / "separate.py").write_text(SEPARATE_CALLS)
    run_id = cli("capture", "--name", "separate", "--store", ".separate", "separate.py", cwd=work).stdout.split()[-1]
    store = ArtifactStore(".separate")
    before = store.load(run_id)
    assert type(before["model"]).__name__ == "LogisticRegression"
    assert len(before["train"]["data"]) == before["train"]["X"].shape[0] == len(before["train"]["y"]) == 2000
    assert len(before["test"]["data"]) == len(before["test"]["predictions"]) == 50
    report = store.forget(rows_of(chosen), SUBJECT)
    after = store.load(run_id)
    hit = before["train"]["data"]["customer_id"].isin(chosen).to_numpy()
    assert after["train"]["data"].loc[hit, "title"].isna().all()
    assert not after["train"]["X"].toarray()[hit, :16].any()
    assert not np.allclose(before["model"].coef_, after["model"].coef_)
    assert report.runs[0].model["order"] == "first"
    assert leftover(".separate", canaries) == set()
    second = store.forget(RowSpec("data/customers.csv", positions=(0,)), order="second")
    assert second.runs[0].model["order"] == "second" and second.runs[0].rows["train"] > 0
    assert not np.allclose(after["model"].coef_, store.load(run_id)["model"].coef_)
    with pytest.raises(SpecError, match="takes none"):
        store.forget(RowSpec("data/customers.csv", positions=(1,)), order="second", tau=0.1)


def test_a_model_without_an_unlearning_update_is_fitted_again_on_the_corrected_data(workspace):
    work, _, chosen, canaries = workspace
    source = SEPARATE_CALLS.replace("from sklearn.linear_model import LogisticRegression",
                                    "from sklearn.tree import DecisionTreeClassifier")
    (work / "tree.py").write_text(source.replace("LogisticRegression(max_iter=500)",
                                                 "DecisionTreeClassifier(max_depth=4, random_state=0)"))
    run_id = cli("capture", "--name", "tree", "--store", ".tree", "tree.py", cwd=work).stdout.split()[-1]
    store = ArtifactStore(".tree")
    report = store.forget(rows_of(chosen))
    assert report.runs[0].model == {"refitted on the corrected training data":
                                    "there is no unlearning update for DecisionTreeClassifier"}
    after = store.load(run_id)
    expected = DecisionTreeClassifier(max_depth=4, random_state=0).fit(after["train"]["X"], after["train"]["y"])
    assert after["model"].tree_.node_count == expected.tree_.node_count
    assert np.array_equal(after["model"].tree_.value, expected.tree_.value)
    again = store.forget(rows_of(chosen))
    assert again.runs[0].model == {"skipped": "already applied"} and "model: already updated" in str(again)
    assert "model: refitted on the corrected training data (there is no unlearning update" in str(report)
    assert leftover(".tree", canaries) == set()


def test_a_model_that_cannot_be_fitted_again_leaves_the_run_unchanged(workspace, monkeypatch):
    work, _, chosen, _ = workspace
    source = SEPARATE_CALLS.replace("from sklearn.linear_model import LogisticRegression",
                                    "from sklearn.tree import DecisionTreeClassifier")
    (work / "tree.py").write_text(source.replace("LogisticRegression(max_iter=500)", "DecisionTreeClassifier()"))
    run_id = cli("capture", "--name", "tree", "--store", ".tree", "tree.py", cwd=work).stdout.split()[-1]
    before = ArtifactStore(".tree").load(run_id)

    def broken_fit(self, *arguments, **keywords):
        raise MemoryError("no room")

    monkeypatch.setattr(DecisionTreeClassifier, "fit", broken_fit)
    with pytest.raises(ModelUpdateError, match=f"run {run_id}: there is no unlearning update for DecisionTreeClassifier, and fitting"):
        ArtifactStore(".tree").forget(rows_of(chosen))
    after = ArtifactStore(".tree").load(run_id)
    assert after["train"]["data"].equals(before["train"]["data"]) and ArtifactStore(".tree").changes().empty
