"""MLflow: ``ci --mlflow`` and ``ArtifactCapture(mlflow=True)`` log check results (tags, metrics), the HTML
report and the DAG (artifacts) to the active tracking URI, here a local file store."""
import sys

import pytest

mlflow = pytest.importorskip("mlflow")

from lester_inspect import PipelineInspector  # noqa: E402
from lester_inspect.checks import NoConstantFeatures, NoIllegalFeatures  # noqa: E402
from lester_inspect.ci import cli  # noqa: E402
from lester_inspect.export import MissingPackageError  # noqa: E402
from lester_inspect.inspections import ArtifactCapture  # noqa: E402

PIPELINE = """
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split

data = pd.DataFrame({"x": [float(i % 7) for i in range(60)], "same": [1.0] * 60,
                     "y": [i % 7 > 3 for i in range(60)]})
train, test = train_test_split(data, random_state=0)
model = LogisticRegression().fit(train[["x", "same"]], train["y"])
print("accuracy", model.score(test[["x", "same"]], test["y"]))
"""

CONFIG = """
[[pipelines]]
path = "train.py"
name = "small"
[pipelines.checks]
no-illegal-features = {}
no-constant-features = {}
"""


@pytest.fixture(scope="module")
def tracking(tmp_path_factory):
    """A file-store tracking URI for the whole module (MLflow 3 asks to opt in to file stores)."""
    folder = tmp_path_factory.mktemp("mlflow")
    patch = pytest.MonkeyPatch()
    patch.setenv("MLFLOW_TRACKING_URI", f"file://{folder}/mlruns")
    patch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    yield folder
    patch.undo()


def logged(run_id):
    client = mlflow.tracking.MlflowClient()
    run = client.get_run(run_id)
    artifacts = [a.path for a in client.list_artifacts(run_id, "lester_inspect")]
    return run.data.tags, run.data.metrics, artifacts, client


def test_ci_logs_each_pipeline_as_an_mlflow_run(tracking, monkeypatch, capsys):
    repository = tracking / "repository"
    repository.mkdir()
    (repository / "train.py").write_text(PIPELINE)
    (repository / "lester.toml").write_text(CONFIG)
    monkeypatch.chdir(repository)
    assert cli.main(["ci", "--mlflow"]) == 1  # the constant column fails its check
    err = capsys.readouterr().err
    (line,) = [line for line in err.splitlines() if line.startswith("logged to MLflow at file://")]
    run_id = line.rsplit(" ", 1)[1]
    tags, metrics, artifacts, client = logged(run_id)
    assert tags["mlflow.runName"] == "small" and tags["lester_inspect.status"] == "failed"
    assert tags["lester_inspect.check.no-illegal-features"] == "passed"
    assert tags["lester_inspect.check.no-constant-features"] == "failed"
    assert "(same, from source0.same) has one value only" in tags["lester_inspect.check.no-constant-features.message"]
    assert metrics["lester_inspect.check.no-illegal-features"] == 1.0
    assert metrics["lester_inspect.check.no-constant-features"] == 0.0
    assert metrics["lester_inspect.verdicts.failed"] == 1.0 and metrics["lester_inspect.verdicts.passed"] == 1.0
    assert sorted(artifacts) == ["lester_inspect/dag.dot", "lester_inspect/dag.svg", "lester_inspect/report.html"]
    report = open(client.download_artifacts(run_id, "lester_inspect/report.html", str(tracking)),
                  encoding="utf-8").read()
    assert report.startswith("<!DOCTYPE html>") and "no-constant-features" in report
    svg = open(client.download_artifacts(run_id, "lester_inspect/dag.svg", str(tracking)), encoding="utf-8").read()
    assert 'class="op op-failed"' in svg  # the operator the failing check blames


def test_artifact_capture_logs_into_the_active_run_or_a_new_one(tracking, tmp_path):
    checks = [NoIllegalFeatures(), NoConstantFeatures()]

    def inspected():
        capture = ArtifactCapture(store=str(tmp_path / "store"), name="small", mlflow=True)
        return PipelineInspector.on_pipeline_from_string(PIPELINE).add_checks(checks).add_inspection(capture).execute()

    with mlflow.start_run(run_name="mine") as mine:
        result = inspected()
    assert result.internal_errors == []
    tags, metrics, artifacts, _ = logged(mine.info.run_id)
    assert tags["mlflow.runName"] == "mine" and tags["lester_inspect.capture_run_id"] == \
        ArtifactCapture.run_id_of(result)
    assert tags["lester_inspect.check.no-constant-features"] == "failed" and len(artifacts) == 3
    assert metrics["lester_inspect.check.no-illegal-features"] == 1.0
    result = inspected()  # no active run: a new one, named after the capture
    runs = mlflow.search_runs(search_all_experiments=True, output_format="list",
                              filter_string=f"tags.lester_inspect.capture_run_id = '{ArtifactCapture.run_id_of(result)}'")
    assert [r.data.tags["mlflow.runName"] for r in runs] == ["small"]


def test_logging_problems_and_a_missing_package_are_one_line(tracking, tmp_path, monkeypatch, capsys):
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"file://{blocked}/mlruns")  # cannot be created: a file is there
    result = (PipelineInspector.on_pipeline_from_string(PIPELINE)
              .add_inspection(ArtifactCapture(store=str(tmp_path / "store"), mlflow=True)).execute())
    assert len(result.internal_errors) == 1 and result.internal_errors[0].startswith("MLflow: cannot log the run: ")
    monkeypatch.setitem(sys.modules, "mlflow", None)  # as if not installed
    with pytest.raises(MissingPackageError, match=r"pip install 'lester-inspect\[mlflow\]'"):
        ArtifactCapture(mlflow=True)
    (tmp_path / "lester.toml").write_text(CONFIG)
    (tmp_path / "train.py").write_text(PIPELINE)
    monkeypatch.chdir(tmp_path)
    capsys.readouterr()
    assert cli.main(["ci", "--mlflow"]) == 2
    out, err = capsys.readouterr()
    assert err.count("\n") == 1 and "mlflow-skinny" in err and "accuracy" not in out  # no pipeline ran
