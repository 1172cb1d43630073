"""Capture, affected, forget and audit on the PySpark credit card example, with card-number canaries.

One capture for the module (the example pipeline under ArtifactCapture, in this process, on the
module's local[2] session); each test works on a copy of the store. Forget needs no Spark for the
logistic regression: the crash test runs it as a command.
"""
import fcntl
import glob
import os
import shutil
import subprocess

import numpy as np
import pandas as pd
import pytest
from example_generators import load_generator

pytest.importorskip("pyspark")
# One worker runs every Spark test (pytest -n auto --dist loadgroup): one JVM, each module fixture once.
pytestmark = pytest.mark.xdist_group("spark")

from lester_inspect import PipelineInspector  # noqa: E402
from lester_inspect.inspections import ArtifactCapture  # noqa: E402
from lester_inspect.ivm import ArtifactStore, ColumnSpec, ForgetIncomplete, RowSpec  # noqa: E402
from lester_inspect.ivm import spark_store  # noqa: E402
from lester_inspect.ivm.audit import find_values  # noqa: E402
from lester_inspect.ivm.rectify import Correction  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLE = os.path.join(ROOT, "example_pipelines", "creditcard_spark")


@pytest.fixture(scope="module")
def captured(tmp_path_factory):
    """A captured run whose chosen customers' mail subjects hold card numbers (16 digits, one per mail)."""
    from lester_inspect.spark.session import local_session

    local_session()
    root = tmp_path_factory.mktemp("creditcard_spark")
    load_generator("creditcard_spark").write(str(root / "data"), 400)
    mails, customers = pd.read_csv(root / "data" / "mails.csv"), pd.read_csv(root / "data" / "customers.csv")
    kept = mails[mails["date"] >= "2021-01-01"].merge(customers[customers["country"].isin(["DE", "FR", "GB", "NL"])],
                                                     on="customer_id")
    chosen = sorted(kept["customer_id"].value_counts().index[:3].tolist())
    leaking = mails["customer_id"].isin(chosen)
    cards = [f"4{mail_id:015d}" for mail_id in mails.loc[leaking, "mail_id"]]
    mails.loc[leaking, "mail_subject"] = [f"Card {card} blocked" for card in cards]
    mails.to_csv(root / "data" / "mails.csv", index=False)
    store = str(root / "store")
    # The example, with the customers' email dropped before the split: a source column the artifacts do not use.
    with open(os.path.join(EXAMPLE, "pipeline.py")) as handle:
        code = handle.read()
    split = "    train_data, test_data = data.randomSplit"
    assert split in code
    (root / "pipeline.py").write_text(code.replace(split, "    data = data.drop('email')\n" + split))
    # Whether, at each of Spark's writes, a concurrent capture or forget (another descriptor) would get the lock.
    from pyspark.sql.readwriter import DataFrameWriter

    write, locked_out = DataFrameWriter.parquet, []

    def parquet(writer, path, *args, **kwargs):
        os.makedirs(store, exist_ok=True)
        with open(os.path.join(store, ".lock"), "a+b") as other:
            try:
                fcntl.flock(other.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                fcntl.flock(other.fileno(), fcntl.LOCK_UN)
                locked_out.append(False)
            except BlockingIOError:
                locked_out.append(True)
        return write(writer, path, *args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(spark_store, "BUCKET_ROWS", 100)  # several files per group, to see that others stay
        patch.setattr(DataFrameWriter, "parquet", parquet)
        result = (PipelineInspector.on_pipeline(str(root / "pipeline.py"), [str(root / "data")])
                  .add_inspection(ArtifactCapture(store, name="creditcard_spark")).execute())
    assert result.internal_errors == []
    # Data and index of both groups: each written while the store was locked for everyone else.
    assert len(locked_out) >= 4 and all(locked_out)
    return root, ArtifactCapture.run_id_of(result), chosen, cards


@pytest.fixture
def workspace(captured, tmp_path, monkeypatch):
    root, run_id, chosen, cards = captured
    shutil.copytree(root, tmp_path / "work")
    monkeypatch.chdir(tmp_path / "work")
    return run_id, chosen, cards


def customers(chosen):
    return RowSpec("data/customers.csv", key="customer_id", values=tuple(str(c) for c in chosen))


def files_of(store):
    return {path: open(path, "rb").read() for path in glob.glob(f"{store}/runs/*/*/spark/data/*/*.parquet")}


def test_capture_affected_forget_audit_leaves_no_card_number_in_any_byte(workspace):
    from pyspark.ml.classification import LogisticRegressionModel

    run_id, chosen, cards = workspace
    store = ArtifactStore("store")
    before = store.load(run_id)
    assert len(files_of("store")) > 2  # partitioned: one file per bucket of mail rows
    held = {group: int(before[group]["data"]["customer_id"].isin(chosen).sum()) for group in ("train", "test")}
    assert held["train"] > 0 and held["test"] > 0
    (found,) = store.affected(customers(chosen))
    assert (found.run_id, found.status, found.rows) == (run_id, "holds", held)
    assert {f.value for f in find_values("store", cards)[0]} and len(find_values("store", cards)[0]) > 3
    model_path = os.path.abspath(f"store/runs/{run_id}/spark_model")
    captured_model = LogisticRegressionModel.load(model_path).coefficients.toArray()

    report = store.forget(customers(chosen))
    change = report.runs[0]
    assert (change.status, change.rows) == ("changed", held)
    assert change.model["order"] == "first" and change.model["parameters_changed"] > 0
    assert find_values("store", cards) == ([], find_values("store", cards)[1])
    after = store.load(run_id)
    for group in ("train", "test"):
        old, new = before[group]["data"], after[group]["data"]
        assert len(new) == len(old) - held[group] and not new["customer_id"].isin(chosen).any()
        assert sorted(new["mail_id"]) == sorted(old.loc[~old["customer_id"].isin(chosen), "mail_id"])
    # Spark loads the updated coefficients from the rewritten model file.
    updated = LogisticRegressionModel.load(model_path).coefficients.toArray()
    state = spark_store.read_json(f"store/runs/{run_id}/{spark_store.MODEL_STATE}")
    assert np.allclose(updated, state["coefficients"]) and not np.allclose(updated, captured_model)
    from lester_inspect.spark.session import local_session

    # Spark reads the rewritten files: the same rows, the feature vectors still vectors.
    written = local_session().read.parquet(os.path.abspath(f"store/runs/{run_id}/train/spark/data"))
    assert written.count() == len(after["train"]["data"]) and written.schema["features"].dataType.simpleString() == "vector"
    (found,) = store.affected(customers(chosen))
    assert found.status == "forgotten"
    assert store.forget(customers(chosen)).runs[0].status == "already applied"
    with pytest.raises(ForgetIncomplete, match="feature deletion .* not supported on Spark runs"):
        store.forget(customers(chosen[:1]), ColumnSpec("data/mails.csv", "mail_subject"))
    before = files_of("store")
    with pytest.raises(ForgetIncomplete, match="rectify is not supported on Spark runs.*nothing was changed"):
        store.rectify(customers(chosen[:1]), ColumnSpec("data/mails.csv", "mail_subject"),
                      Correction.replace(r"\d{16}=>XXXX"))
    assert files_of("store") == before


def test_only_the_source_columns_that_reach_the_artifacts_count_as_used(workspace):
    run_id, chosen, cards = workspace
    sources = spark_store.read_json(f"store/runs/{run_id}/manifest.json")["sources"]
    # Read from Spark's plan: email was dropped; date and country only filter rows but are kept as columns.
    assert sources["customers"]["columns_used"] == ["bank", "country", "customer_id", "customer_segment",
                                                    "first_name", "last_name"]
    assert sources["mails"]["columns_used"] == sorted(pd.read_csv("data/mails.csv", nrows=1).columns)
    # A column no run used: no run to change, as for pandas runs.
    store = ArtifactStore("store")
    assert store.affected_runs(customers(chosen[:1]), ColumnSpec("data/customers.csv", "email")) == []
    assert store.affected_runs(customers(chosen[:1]), ColumnSpec("data/customers.csv", "country")) == [run_id]
    assert store.forget(customers(chosen[:1]), ColumnSpec("data/customers.csv", "email")).runs == []


def test_a_killed_forget_resumes_and_rewrites_only_the_files_holding_the_rows(workspace):
    run_id, chosen, cards = workspace
    mails = pd.read_csv("data/mails.csv")
    stored = pd.concat([ArtifactStore("store").load(run_id)[g]["data"]["mail_id"] for g in ("train", "test")])
    # Two stored leaking mails among the first 100 rows: only the files of their bucket (mail rows 0..99) change.
    candidates = np.flatnonzero((mails["mail_subject"].str.startswith("Card") & mails["mail_id"].isin(stored))
                                .to_numpy()[:100])
    positions = candidates[:2]
    assert len(positions) == 2
    gone = [f"4{mail_id:015d}" for mail_id in mails["mail_id"].to_numpy()[positions]]
    others = sorted(set(cards) - set(gone))
    before = files_of("store")
    environment = dict(os.environ, PYTHONPATH=ROOT, LESTER_INSPECT_CRASH_AT="after_model")
    rows = "data/mails.csv:@" + ",".join(str(p) for p in positions)
    command = ["lester-inspect", "forget", "--store", "store", "--rows", rows, "--all-affected"]
    killed = subprocess.run(command, env=environment, capture_output=True, text=True)
    assert killed.returncode == 137 and files_of("store") == before  # model updated, no file touched yet
    environment.pop("LESTER_INSPECT_CRASH_AT")
    resumed = subprocess.run(command, env=environment, capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    assert "completing an interrupted execution" in resumed.stdout
    after = files_of("store")
    changed = sorted(path for path in before if after.get(path) != before[path])
    assert changed and all("lester_bucket=0" in path for path in changed)
    assert {f.value for f in find_values("store", gone)[0]} == set()
    assert {f.value for f in find_values("store", others)[0]}  # the other leaking mails stay
    assert not glob.glob("store/**/*.tmp", recursive=True)


def test_a_model_without_a_first_order_update_is_fitted_again_on_the_stored_corrected_rows(workspace):
    from pyspark.ml.classification import DecisionTreeClassificationModel, DecisionTreeClassifier

    from lester_inspect.spark.session import local_session

    run_id, chosen, cards = workspace
    run = os.path.abspath(f"store/runs/{run_id}")
    train = local_session().read.parquet(f"{run}/train/spark/data")
    rows = train.count()
    tree = DecisionTreeClassifier(featuresCol="features", labelCol="label", maxDepth=3, seed=1).fit(train)
    spark_store._save_model(run, tree, rows)  # the run as if its pipeline had fitted a tree
    report = ArtifactStore("store").forget(customers(chosen))
    change = report.runs[0]
    assert change.status == "changed"
    assert change.model == {"refitted on the corrected training data":
                            "DecisionTreeClassificationModel has no first-order update"}
    state = spark_store.read_json(f"{run}/{spark_store.MODEL_STATE}")
    assert state["rows"] == rows - change.rows["train"] and state["applied"] == [report.request]
    assert not os.path.exists(f"{run}/spark_model")  # the model fitted on the removed rows is gone
    refitted = DecisionTreeClassificationModel.load(f"{run}/{state['path']}")
    assert refitted.getMaxDepth() == 3 and refitted.numFeatures == tree.numFeatures
