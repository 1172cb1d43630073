"""Capture, affected runs and forget on the credit card example, with canaries, crashes and concurrency."""
import contextlib
import glob
import io
import json
import os
import pickle
import re
import shutil
import subprocess

import numpy as np
import pandas as pd
import pytest
from sklearn.tree import DecisionTreeClassifier

from example_generators import load_generator
from lester_inspect.ivm import ArtifactStore, ColumnSpec, ForgetIncomplete, RowSpec, SpecError
from lester_inspect.ivm import catalog, columnar
from lester_inspect.ivm.files import read_json

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLE = os.path.join(ROOT, "example_pipelines", "creditcard")
ENVIRONMENT = dict(os.environ, PYTHONPATH=ROOT)


def cli(*arguments, cwd, env=None, check=True):
    completed = subprocess.run(["lester-inspect", *arguments], cwd=cwd, capture_output=True, text=True,
                               env=env or ENVIRONMENT)
    if check:
        assert completed.returncode == 0, completed.stderr
    return completed


def run_cli(*arguments):
    """A command run in this process, in the current folder: like ``cli`` without starting Python and torch."""
    from lester_inspect.cli import main

    output, errors = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(output), contextlib.redirect_stderr(errors):
        code = main(list(arguments))
    return subprocess.CompletedProcess(["lester-inspect", *arguments], code, output.getvalue(), errors.getvalue())


def canaries_of(mail_ids):
    return [f"cnry{mail_id}zq" for mail_id in mail_ids]


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    """A captured run whose leaking customers' subjects hold canary strings."""
    root = tmp_path_factory.mktemp("creditcard")
    load_generator("creditcard").write(str(root / "data"), 2000)
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
        # The title length's scaler is fitted again without the nulled titles: its column changes in every row.
        [scaled] = read_json(f".lester/runs/{run_id}/{group}/X/virtual.json")["blocks"]
        kept = np.ones(new_X.shape[1], dtype=bool)
        kept[scaled["start"]:scaled["stop"]] = False
        changed_rows, changed_columns = np.nonzero(old_X[:, kept] != new_X[:, kept])
        assert set(changed_rows) <= set(np.flatnonzero(hit))
        assert all(any(low <= c < high for low, high in ranges) for c in np.flatnonzero(kept)[changed_columns])
        assert not np.array_equal(old_X[~hit][:, ~kept], new_X[~hit][:, ~kept])
        for low, high in ranges:
            assert not new_X[hit, low:high].any()
    old_weights = before["model"].module_.state_dict()
    new_weights = after["model"].module_.state_dict()
    assert any(not np.allclose(old_weights[k], new_weights[k]) for k in old_weights)
    assert leftover(".lester", canaries) == set()
    assert any("stored predictions recomputed with the current model" in note for note in report.runs[0].notes)
    assert np.array_equal(after["test"]["predictions"], after["model"].predict(after["test"]["X"]))
    assert not after["notes"]
    text = str(report)
    assert f"run {run_id}: rows {report.runs[0].rows['train']} train, {report.runs[0].rows['test']} test" in text
    assert "model: first-order update (tau " in text and "took: provenance lookup" in text
    again = store.forget(rows_of(chosen), SUBJECT)
    assert again.runs[0].status == "already applied" and again.runs[0].model is None
    assert f"run {run_id}: unchanged: this request was applied to it before" in str(again)
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
    # No key index keeps the deleted customers' salted hashes, also when rebuilt for another lookup.
    from lester_inspect.ivm.specs import hash_values

    with open(".lester/salt", encoding="ascii") as handle:
        salt = handle.read().strip()
    others = tuple(str(c) for c in sorted(set(before["train"]["data"]["customer_id"]) - set(chosen))[:2])
    assert store.affected_runs(RowSpec("data/customers.csv", key="customer_id", values=others)) == [run_id]
    indexes = [os.path.join(folder, name) for folder, _, names in os.walk(".lester/keys") for name in names
               if name.endswith(".hash.npy")]
    assert indexes and not any(np.isin(hash_values([str(c) for c in chosen], salt), np.load(path)).any()
                               for path in indexes)
    assert np.isin(hash_values(list(others), salt), np.load(indexes[0])).all()
    again = store.forget(rows_of(chosen))  # named by key again: found in the file, already applied
    assert again.runs[0].status == "already applied"


def test_forget_reads_only_the_affected_cells(workspace, monkeypatch):
    work, run_id, chosen, _ = workspace

    def whole_artifact_read(*arguments, **keywords):
        raise AssertionError("forget read a whole artifact")

    read_matrix = columnar.read_matrix

    def test_matrix_only(folder, *arguments, **keywords):  # the test predictions are recomputed from it
        if not folder.endswith(os.path.join("test", "X")):
            whole_artifact_read()
        return read_matrix(folder, *arguments, **keywords)

    monkeypatch.setattr(columnar, "read_frame", whole_artifact_read)
    monkeypatch.setattr(columnar, "read_matrix", test_matrix_only)
    report = ArtifactStore(".lester").forget(rows_of(chosen), SUBJECT)
    assert report.runs[0].cells["train/data"] > 0
    assert any("stored predictions recomputed" in note for note in report.runs[0].notes)
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
def test_a_killed_forget_leaves_old_or_new_artifacts_and_resumes(workspace, completed, crash_at, killed_at):
    work, run_id, chosen, canaries = workspace
    before = ArtifactStore(".lester").load(run_id)
    assert killed_at(crash_at, lambda: ArtifactStore(".lester").forget(rows_of(chosen), SUBJECT)) == 137
    interrupted = ArtifactStore(".lester").load(run_id)  # readable
    for group in ("train", "test"):
        assert _same(interrupted, before, group) or _same(interrupted, completed, group)
    ArtifactStore(".lester").forget(rows_of(chosen), SUBJECT)  # the request again, as the completed one ran it
    resumed = ArtifactStore(".lester").load(run_id)
    for group in ("train", "test"):
        assert _same(resumed, completed, group)
    expected, actual = completed["model"].module_.state_dict(), resumed["model"].module_.state_dict()
    assert all(np.allclose(expected[k], actual[k]) for k in expected)  # updated exactly once
    assert np.array_equal(resumed["test"]["predictions"], completed["test"]["predictions"])  # recomputed
    assert not resumed["notes"]
    assert leftover(".lester", canaries) == set()
    # The log says what each execution did: the killed one logged nothing, the rerun found the model updated.
    [logged] = ArtifactStore(".lester").changes().to_dict("records")
    assert (logged["status"], logged["model_updated"]) == ("resumed", False)
    assert (logged["cells_changed"] > 0) == (crash_at != "after_train")  # test goes first: then every cell was recorded
    assert not [name for _, _, files in os.walk(".lester") for name in files if name.endswith(".tmp")]


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
    monkeypatch.undo()  # also the change of folder
    assert "instance deletion" in run_cli("changes", "--store", str(work / ".lester")).stdout


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
    registered_late = "removed from other runs; `lester-inspect affected` lists it as still holding them" in outputs[2][1]
    store = ArtifactStore(".lester")
    assert len(store.runs()) == 2
    applied = pickle.load(open(f".lester/runs/{run_id}/model.pkl", "rb"))["applied"]
    assert len(applied) == 2 and len(set(applied)) == 2
    assert sorted(store.changes()["request"]) == sorted(applied)
    data = store.load(run_id)["train"]["data"]
    assert not data["customer_id"].isin([chosen[0]]).any()
    assert data.loc[data["customer_id"] == chosen[1], "title"].isna().all()
    # A capture that registered after a forget of the same rows still holds them, and affected says so.
    statuses = {a.run_id: a.status for a in store.affected(rows_of(chosen[:1]))}
    assert set(statuses) == set(store.runs()["run_id"]) and statuses[run_id] == "forgotten"
    for other, status in statuses.items():
        loaded = store.load(other)
        held = any(loaded[group]["data"]["customer_id"].isin(chosen[:1]).any() for group in ("train", "test"))
        assert status == ("holds" if held else "forgotten"), (other, status)
    assert registered_late or "holds" not in statuses.values()  # a capture registered after the forget warned


def test_command_line_and_errors(workspace):
    work, run_id, chosen, _ = workspace
    assert run_id in cli("runs", cwd=work).stdout
    rows = f"data/customers.csv:customer_id={chosen[0]}"
    assert run_cli("affected", "--rows", rows).stdout.startswith(f"{run_id}  holds ")
    copy = work / "copy_of_customers.csv"
    shutil.copy(work / "data" / "customers.csv", copy)
    assert run_cli("affected", "--rows", f"{copy}:@0,1").stdout.split()[0] == run_id  # matched by content
    unknown = run_cli("forget", "--rows", "data/customers.csv:customer_id=999999", "--all-affected")
    assert unknown.returncode == 2 and "no row has customer_id = 999999" in unknown.stderr
    wrong_run = run_cli("forget", "--rows", rows, "--run", "no-such-run")
    assert wrong_run.returncode == 2 and "no-such-run" in wrong_run.stderr
    beyond = run_cli("affected", "--rows", "data/customers.csv:@3,100000")
    assert beyond.returncode == 2 and "row @100000 is beyond the 200 rows the captured runs read" in beyond.stderr
    for command in ("runs", "changes", "affected", "forget"):
        arguments = ["--rows", rows, "--all-affected"][:{"affected": 2, "forget": 3}.get(command, 0)]
        missing = run_cli(command, "--store", "no-store-here", *arguments)
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
    assert "--mails 10000" in script
    # As written, on fewer mails: the walkthrough's steps do not depend on the size.
    script = script.replace("/tmp/leak", str(tmp_path / "leak")).replace("--mails 10000", "--mails 2000")
    completed = subprocess.run(["bash", "-e", "-c", script], cwd=EXAMPLE, capture_output=True, text=True,
                               env=ENVIRONMENT, timeout=600)
    assert completed.returncode == 0, completed.stderr
    [run_id] = ArtifactStore(str(tmp_path / "leak" / ".lester")).runs()["run_id"]
    assert completed.stdout.count(run_id) >= 4  # capture, runs, affected, forget (and changes)
    assert "feature deletion" in completed.stdout
    assert re.search(rf"{run_id}  holds \d+ train, \d+ test row", completed.stdout)  # affected, before forget
    assert f"{run_id}  forgotten: by request" in completed.stdout  # and after it
    assert "the change log's hash chain is whole" in completed.stdout
    count = int(re.search(r"for (\d+) value\(s\) in utf-8, .*: none is held", completed.stdout).group(1))
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
    verification = store.verify(run_id)
    assert verification.updates == 2 and 0.5 < verification.agreement <= 1 and verification.parameter_distance > 0
    assert verification.gradient_residual > verification.retrained_residual and verification.removal_bound is None
    assert verification.metric is None  # the pipeline predicted without labels
    refit = store.forget(RowSpec("data/customers.csv", positions=(2,)), max_residual=1e-9)
    assert refit.runs[0].model["gradient_residual"] > 1e-9
    assert "refitted on the corrected training data (the gradient residual" in str(refit)
    refitted = store.verify(run_id)
    assert refitted.parameter_distance < 1e-6 * refitted.parameter_norm and refitted.agreement == 1.0
    assert refitted.removal_bound == 0.0  # nothing was unlearnt since the refit
    kept = store.forget(RowSpec("data/customers.csv", positions=(3,)), max_residual=1e9)
    assert "refitted" not in str(kept) and kept.runs[0].model["gradient_residual"] < 1e9
    printed = run_cli("verify", "--run", run_id, "--store", ".separate").stdout
    assert f"run {run_id}: LogisticRegression after 4 update(s)" in printed and "gradient residual" in printed


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
    assert again.runs[0].status == "already applied"
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
    with pytest.raises(ForgetIncomplete, match=f"run {run_id}: there is no unlearning update for DecisionTreeClassifier, and fitting") as failed:
        ArtifactStore(".tree").forget(rows_of(chosen))
    assert failed.value.report.exit_code == 1 and failed.value.report.runs[0].status == "failed"
    after = ArtifactStore(".tree").load(run_id)
    assert after["train"]["data"].equals(before["train"]["data"])
    assert ArtifactStore(".tree").changes()[["status", "cells_changed", "model_updated"]].values.tolist() == [
        ["failed", 0, False]]


# -- never a silent no-op (issue 11 §1) -------------------------------------------------------------------

def test_a_misspelt_column_is_an_error_naming_the_source_and_its_columns(workspace):
    work, run_id, chosen, canaries = workspace
    store = ArtifactStore(".lester")
    for call in (store.affected, store.forget):
        with pytest.raises(SpecError, match=r"data/mails.csv: has no column 'mail_subjet'; its columns: customer_id, "
                                            r"date, mail_id, mail_subject, mail_text, sentiment"):
            call(rows_of(chosen), ColumnSpec("data/mails.csv", "mail_subjet"))
    assert not os.path.exists(".lester/changes.jsonl") and len(leftover(".lester", canaries)) > 10


def test_a_changed_source_is_named_and_its_rows_matched_by_key(workspace):
    work, run_id, chosen, canaries = workspace
    customers = pd.read_csv("data/customers.csv")
    other = int(customers.loc[~customers["customer_id"].isin(chosen), "customer_id"].iloc[0])
    customers[~customers["customer_id"].isin(chosen)].to_csv("data/customers.csv", index=False)  # erased at the source
    store = ArtifactStore(".lester")
    with pytest.raises(SpecError, match=rf"data/customers.csv changed since capture: run\(s\) {run_id} read its earlier "
                                        r"content .*row positions cannot be matched across contents"):
        store.forget(RowSpec("data/customers.csv", positions=(0, 1)))
    with pytest.raises(SpecError, match=r"no row has customer_id = 999999 \(in its current content nor"):
        store.forget(RowSpec("data/customers.csv", key="customer_id", values=("999999",)))
    before = store.load(run_id)
    report = store.forget(rows_of(chosen + [other]))
    assert any(f"run(s) {run_id} read its earlier content" in note and "matched there by customer_id" in note
               for note in report.notes)
    after = store.load(run_id)
    for group in ("train", "test"):
        kept = ~before[group]["data"]["customer_id"].isin(chosen + [other])
        pd.testing.assert_frame_equal(after[group]["data"], before[group]["data"][kept].reset_index(drop=True))
    assert report.runs[0].status == "changed" and leftover(".lester", canaries) == set()
    assert "changed since capture" in str(report)


def test_a_source_edited_after_capture_still_names_its_column_and_runs(workspace):
    work, run_id, chosen, canaries = workspace
    mails = pd.read_csv("data/mails.csv")
    mails["mail_subject"] = mails["mail_subject"].str.replace(r"cnry\d+zq", "", regex=True)  # fixed at the source
    mails.to_csv("data/mails.csv", index=False)
    store = ArtifactStore(".lester")
    [affected] = store.affected(rows_of(chosen), SUBJECT)
    assert (affected.run_id, affected.status) == (run_id, "holds") and affected.rows["train"] > 0
    report = store.forget(rows_of(chosen), SUBJECT)
    assert report.runs[0].status == "changed" and leftover(".lester", canaries) == set()
    assert [str(a).split("  ")[1] for a in store.affected(rows_of(chosen), SUBJECT)] == [
        f"forgotten: by request(s) {report.request[:12]}"]


def test_a_stale_or_edited_lookup_never_hides_a_run(workspace):
    work, run_id, chosen, canaries = workspace
    copy_id = run_id[:-1] + ("0" if run_id[-1] != "0" else "1")
    shutil.copytree(f".lester/runs/{run_id}", f".lester/runs/{copy_id}")  # a second run the index has not seen
    manifest = json.load(open(f".lester/runs/{copy_id}/manifest.json"))
    manifest["run_id"] = copy_id
    json.dump(manifest, open(f".lester/runs/{copy_id}/manifest.json", "w"))
    store = ArtifactStore(".lester")
    with pytest.warns(UserWarning, match=f"lookup.json is stale: it misses run\\(s\\) {copy_id}"):
        assert store.affected_runs(rows_of(chosen), SUBJECT) == sorted([run_id, copy_id])
    lookup = json.load(open(".lester/lookup.json"))
    for runs in lookup["readers"].values():
        runs.pop(copy_id)  # valid JSON, consistent with the manifests' count and times: edited by hand
    json.dump(lookup, open(".lester/lookup.json", "w"))
    with pytest.warns(UserWarning, match="lookup.json was changed by something other than this store"):
        report = store.forget(rows_of(chosen), SUBJECT)
    assert [change.run_id for change in report.runs] == sorted([run_id, copy_id])
    assert leftover(".lester", canaries) == set()


def test_a_run_holding_none_of_the_rows_is_said_so(workspace):
    work, run_id, chosen, _ = workspace
    customers = pd.read_csv("data/customers.csv")
    dropped = customers.loc[~customers["country"].isin(["DE", "FR", "GB", "NL"]), "customer_id"].iloc[:2].tolist()
    rows = RowSpec("data/customers.csv", key="customer_id", values=tuple(map(str, dropped)))
    assert [(a.run_id, a.status) for a in ArtifactStore(".lester").affected(rows)] == [(run_id, "holds none")]
    report = ArtifactStore(".lester").forget(rows)
    assert report.runs[0].status == "holds none" and report.exit_code == 0
    assert "none of these rows reached its artifacts" in str(report)


# -- no leaked value kept in any form (issue 11 §2) -------------------------------------------------------

def test_key_indexes_hold_salted_hashes_and_none_of_a_forgotten_column(workspace):
    from lester_inspect.ivm.audit import find_values

    work, run_id, chosen, canaries = workspace
    customers = pd.read_csv("data/customers.csv")
    emails = customers.loc[customers["customer_id"].isin(chosen), "email"].tolist()
    store = ArtifactStore(".lester")
    by_email = RowSpec("data/customers.csv", key="email", values=tuple(emails))
    assert store.affected_runs(by_email) == [run_id]
    assert os.listdir(".lester/keys") and find_values(".lester/keys", customers["email"])[0] == []
    mails = pd.read_csv("data/mails.csv")
    subjects = tuple(mails.loc[mails["customer_id"] == chosen[0], "mail_subject"])
    by_subject = RowSpec("data/mails.csv", key="mail_subject", values=subjects)
    report = store.forget(by_subject, SUBJECT)
    assert report.runs[0].rows["train"] > 0
    assert not any(name.startswith("mail_subject.") for _, _, files in os.walk(".lester/keys") for name in files)
    store.forget(rows_of(chosen), ColumnSpec("data/customers.csv", "email"))
    assert not any(name.startswith("email.") for _, _, files in os.walk(".lester/keys") for name in files)


def test_leftovers_of_a_killed_writer_are_removed_when_the_store_is_next_opened(workspace):
    work, run_id, chosen, _ = workspace
    os.makedirs(".lester/keys/abc", exist_ok=True)
    leftovers = [".lester/keys/abc/customer_id.hash.npy.4242.tmp", f".lester/runs/{run_id}/model.pkl.4242.tmp",
                 ".lester/keys/abc/customer_id.keys.npy"]  # the last: a raw key index of an older version
    for path in leftovers:
        open(path, "wb").write(b"left by a killed forget")
    ArtifactStore(".lester").affected(rows_of(chosen))
    assert not any(os.path.exists(path) for path in leftovers)


def test_audit_finds_values_in_every_encoding_and_names_the_artifact(workspace):
    from lester_inspect.ivm.audit import find_values

    work, run_id, chosen, canaries = workspace
    findings, searched = find_values(".lester", canaries)
    assert searched > 20 and {f.encoding for f in findings} >= {"utf-8"}
    assert any(f"run {run_id} train data, column mail_subject" == f.artifact for f in findings)
    assert any(f.artifact == f"run {run_id} train data, column title" for f in findings)  # lower-cased copy
    hidden = {"utf-16-be": "4532015112830366 in UTF-16", "utf-32-le": "a secret in UTF-32"}
    for encoding, value in hidden.items():
        open(f".lester/runs/{run_id}/extra-{encoding}.bin", "wb").write(b"\x00\x01" + value.encode(encoding))
    np.save(f".lester/runs/{run_id}/numbers.npy", np.array([4532015112830366]))
    found = find_values(".lester", list(hidden.values()) + ["4532015112830366"])[0]
    assert {(f.value, f.encoding) for f in found} >= {(hidden["utf-16-be"], "utf-16-be"),
                                                      (hidden["utf-32-le"], "utf-32-le"), ("4532015112830366", "int64")}
    (work / "values.txt").write_text("\n".join(sorted({f.value for f in findings})[:3]) + "\n")
    held = run_cli("audit", "--values-from", "values.txt")
    assert held.returncode == 1 and "(run " in held.stdout and "3 value(s) are still held" in held.stdout
    for encoding in hidden:
        os.remove(f".lester/runs/{run_id}/extra-{encoding}.bin")
    os.remove(f".lester/runs/{run_id}/numbers.npy")
    ArtifactStore(".lester").forget(rows_of(chosen), SUBJECT)
    clean = run_cli("audit", "--values-from", "values.txt")
    assert clean.returncode == 0 and clean.stdout.rstrip().endswith("none is held")


def test_audit_finds_a_value_inside_another_one_and_wide_spellings_amid_zero_bytes(tmp_path):
    from lester_inspect.ivm.audit import find_values

    (tmp_path / "text.bytes").write_bytes(b"late payment")
    (tmp_path / "wide.bin").write_bytes(bytes(100) + "4532015112830366".encode("utf-16-be") + bytes(100))
    found = {(f.path, f.value, f.encoding) for f in find_values(str(tmp_path), ["payment", "pay", "4532015112830366",
                                                                                  "absent"])[0]}
    # Between zero bytes, the UTF-16-BE bytes of the number also spell it in UTF-16-LE, one byte later.
    assert found == {("text.bytes", "payment", "utf-8"), ("text.bytes", "pay", "utf-8"),
                     ("wide.bin", "4532015112830366", "utf-16-be"), ("wide.bin", "4532015112830366", "utf-16-le")}


def test_the_change_log_is_a_hash_chain_that_names_an_edited_line(workspace):
    work, run_id, chosen, _ = workspace
    store = ArtifactStore(".lester")
    for customer in chosen[:3]:
        store.forget(RowSpec("data/customers.csv", key="customer_id", values=(str(customer),)), SUBJECT)
    assert store.check_changes() == ([], [])
    with open(".lester/changes.jsonl", "ab") as log:
        log.write(b'{"run_id": "cut short by a cra')  # a crash while logging spoils only itself
    store.forget(rows_of(chosen[3:4]))
    assert store.check_changes() == ([], ["line 4: not a log entry (cut short by a crash); skipped"])
    lines = open(".lester/changes.jsonl", encoding="utf-8").read().splitlines()
    lines[1] = lines[1].replace('"cells_changed": ', '"cells_changed": 1')
    open(".lester/changes.jsonl", "w", encoding="utf-8").write("\n".join(lines) + "\n")
    problems, _ = store.check_changes()
    assert problems == ["line 2: its content was changed after it was written (hash mismatch)"]
    checked = run_cli("changes", "--check")
    assert checked.returncode == 1 and "line 2: its content was changed" in checked.stdout
    open(".lester/changes.jsonl", "w", encoding="utf-8").write("\n".join(lines[:2]) + "\n")  # the end cut off
    problems, _ = store.check_changes()
    assert problems[0].startswith("line 2: its content was changed") and len(problems) == 3
    assert problems[1].startswith(f"run {run_id}: its record of request ") and "which the log no longer holds" in problems[1]


def test_the_removal_bound_of_guo_et_al_holds_for_a_second_order_update():
    from sklearn.linear_model import LogisticRegression

    from lester_inspect.ivm.unlearning import objective_gradient, parameter_vector, removal_bound, update_model

    rng = np.random.default_rng(3)
    X = rng.normal(size=(400, 5))
    y = (X @ [1.0, -2.0, 0.5, 0.0, 1.5] + rng.normal(size=400) > 0).astype(int)
    model = LogisticRegression(C=0.1, tol=1e-12, max_iter=10_000).fit(X, y)
    before = parameter_vector(model)
    update_model(model, X[:20], None, y[:20], n_train=400, X_train=X[20:], y_train=y[20:], order="second")
    residual = np.linalg.norm(objective_gradient(model, X[20:], y[20:]))
    bound = removal_bound(model, X[20:], before - parameter_vector(model))
    assert 0 < residual <= bound < 1
    assert removal_bound(LogisticRegression().fit(X, rng.integers(0, 3, 400)), X, np.zeros(18)) is None  # multinomial


THIRD_PARTY = """
import pandas as pd


def rebuild(frame):
    return pd.DataFrame({"title": frame["mail_subject"].str.lower().to_numpy(),
                         "positive": (frame["sentiment"] == "positive").to_numpy()})
"""
LOOPED_FRAME = """
import sys
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.feature_extraction.text import HashingVectorizer
from sklearn.linear_model import LogisticRegression
sys.path.insert(0, "lib")
import thirdparty
data = pd.read_csv("data/mails.csv").merge(pd.read_csv("data/customers.csv"), on="customer_id")
frame = thirdparty.rebuild(data)
frame["positive"] = thirdparty.rebuild(data)["positive"]  # a second cut
X = ColumnTransformer([("title", HashingVectorizer(n_features=16), "title")]).fit_transform(frame)
model = LogisticRegression(max_iter=500).fit(X, frame["positive"])
"""


def test_forget_refuses_a_run_whose_provenance_is_cut_and_still_processes_the_others(workspace):
    work, run_id, chosen, canaries = workspace
    for folder, name, text in (("pipe", "looped.py", LOOPED_FRAME), ("lib", "thirdparty.py", THIRD_PARTY)):
        (work / folder).mkdir()
        (work / folder / name).write_text(text)  # the library is outside the pipeline's folder: not followed
    cut_run = cli("capture", "--name", "looped", "pipe/looped.py", cwd=work).stdout.split()[-1]
    store = ArtifactStore(".lester")
    [cut] = store.load(cut_run)["manifest"]["groups"]["train"]["provenance_cuts"][:1]
    # The frame thirdparty.rebuild made (line 10), first used on line 11.
    assert cut["sources"] is None and cut["location"] in ("looped.py, line 10", "looped.py, line 11")
    statuses = {a.run_id: a for a in store.affected(rows_of(chosen), SUBJECT)}
    assert statuses[run_id].status == "holds" and statuses[cut_run].status == "possibly affected"
    assert f"row provenance is cut at {cut['call']} ({cut['location']})" in statuses[cut_run].detail
    before = open(next(p for p in glob.glob(f".lester/runs/{cut_run}/**/*", recursive=True)
                       if p.endswith("dense.npy") or p.endswith("data.npy")), "rb").read()
    with pytest.raises(ForgetIncomplete) as refused:
        store.forget(rows_of(chosen), SUBJECT)
    report = refused.value.report
    assert report.exit_code == 3 and {c.run_id: c.status for c in report.runs} == {run_id: "changed", cut_run: "refused"}
    refused = (f"run {cut_run}: artifacts train/data, train/X: row provenance is cut at {cut['call']} "
               f"({cut['location']}): {cut['reason']}; nothing was changed in this run (1 more cut(s))")
    assert report.problems == [refused]
    assert not leftover(f".lester/runs/{run_id}", canaries) and leftover(f".lester/runs/{cut_run}", canaries)
    assert before == open(next(p for p in glob.glob(f".lester/runs/{cut_run}/**/*", recursive=True)
                               if p.endswith("dense.npy") or p.endswith("data.npy")), "rb").read()
    rows = f"data/customers.csv:customer_id={chosen[0]}"
    for command in (("forget", "--rows", rows, "--all-affected"),
                    ("rectify", "--rows", rows, "--column", "data/mails.csv:mail_subject", "--replace", "cnry=>",
                     "--run", cut_run)):
        completed = run_cli(*command)
        assert completed.returncode == 3 and completed.stderr.strip().splitlines() == [f"lester-inspect: {refused}"]
