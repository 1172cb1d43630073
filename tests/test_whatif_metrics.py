"""What-if variants of pipelines measured by a sklearn.metrics function of the model's predictions.

The examples are run with their ``model.score(...)`` line rewritten to a metric of
``model.predict(...)`` / ``model.predict_proba(...)[:, 1]``; every variant equals that
script modified and run from scratch, exactly.
"""
import sklearn.metrics
import pytest

from lester_inspect import PipelineInspector
from lester_inspect.whatif import DataCorruption, OperatorImpact, PermutationFeatureImportance, Variant, WhatIfError
from test_whatif import EXAMPLES, _check_against_scratch, _from_scratch, run_written

# Per example: its measurement line, rewritten; the test-side corruptions; a column permuted.
MEASURED = {
    "adult_like": (
        'print(f"Test accuracy: {model.score(test_data, test_labels):.4f}")',
        "from sklearn.metrics import accuracy_score\n"
        'print(f"Test accuracy: {accuracy_score(test_labels, model.predict(test_data)):.4f}")',
        {"hours_per_week": "scaling", "workclass": "category_shift"}, "education_num"),
    "compas_like": (
        'print(f"Test accuracy: {model.score(test_data, test_labels):.4f}")',
        "from sklearn.metrics import roc_auc_score\n"
        "risk = model.predict_proba(test_data)[:, 1]\n"
        'print(f"AUC: {roc_auc_score(y_score=risk, y_true=test_labels):.4f}")',
        {"priors_count": "missing_values", "race": "category_shift"}, "age"),
}


@pytest.fixture(scope="module", params=sorted(MEASURED))
def measured(request, tmp_path_factory):
    name = request.param
    line, replacement, corruptions, permuted = MEASURED[name]
    source = (EXAMPLES / name / "pipeline.py").read_text()
    assert line in source
    path = tmp_path_factory.mktemp(name) / "pipeline.py"
    path.write_text(source.replace(line, replacement))
    args = [str(EXAMPLES / name / "data")]
    # OperatorImpact's variants (each compared with a run from scratch) on one example: the tests stay short.
    analyses = (DataCorruption(corruptions, fractions=[0.4]), DataCorruption({"age": "gaussian_noise"}, [0.5], True),
                PermutationFeatureImportance([permuted]), *([OperatorImpact()] if name == "adult_like" else []))
    inspector = PipelineInspector.on_pipeline(path, args=args)
    for analysis in analyses:
        inspector.add_what_if(analysis)
    return name, path, args, inspector.execute(), analyses


def test_every_variant_of_a_metric_measured_pipeline_equals_the_modified_script_from_scratch(measured):
    name, path, args, result, analyses = measured
    execution = result.what_if_execution
    metric = {"adult_like": "accuracy_score", "compas_like": "roc_auc_score"}[name]
    assert execution.score.metric.name == metric
    assert execution.score.method == {"adult_like": "predict", "compas_like": "predict_proba"}[name]
    assert execution.score.metric.column == {"adult_like": None, "compas_like": 1}[name]
    assert execution.plain_score == _from_scratch(path, result, Variant("plain"), args)["score"]
    for analysis in analyses:
        _check_against_scratch(path, result, analysis, args)
    # The tree of adult_like predicts only the rows a test-side variant changes (rule 5), as with score().
    assert (execution._plain_predictions is not None) == (name == "adult_like")
    corrupted = result.what_if[analyses[0]]
    assert (corrupted["score_change"].iloc[1:].abs() > 0).any()
    # The permuted column's matrix columns are found at the predict call, as at a score call.
    assert result.what_if[analyses[2]]["matrix_columns"].iloc[1] is not None
    assert sklearn.metrics.accuracy_score.__module__ == "sklearn.metrics._classification"  # the patch is gone
    assert f"{metric} at line" in execution.score.describe()


SMALL_PIPELINE = """
import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import confusion_matrix, f1_score{imports}

rng = np.random.default_rng(0)
data = pd.DataFrame({{"a": rng.normal(size=400), "b": rng.normal(size=400)}})
data["y"] = np.where(data["a"] + rng.normal(scale=0.8, size=400) > 0.3, "yes", "no")
train, test = data.iloc[:300], data.iloc[300:]
model = LogisticRegression().fit(train[["a", "b"]], train["y"])
predictions = model.predict(test[["a", "b"]])
print(confusion_matrix(test["y"], predictions))
print(f1_score(test["y"], predictions, pos_label="yes", average="binary"))
{more}"""


def test_a_metric_keeps_its_other_arguments_and_a_non_numeric_metric_is_not_a_measurement(tmp_path):
    analysis = DataCorruption({"a": ["gaussian_noise", "scaling"], "b": "missing_values"}, fractions=[0.5])
    path, result = run_written(tmp_path, SMALL_PIPELINE.format(imports="", more=""), analysis)
    execution = result.what_if_execution
    assert execution.score.metric.name == "f1_score"
    assert execution.score.metric.arguments.arguments["pos_label"] == "yes"
    frame = result.what_if[analysis]
    assert frame["error"].iloc[-1].startswith("ValueError: Input X contains NaN")  # LogisticRegression refuses NaN
    _check_against_scratch(path, result, analysis)
    assert (frame["score_change"].iloc[1:3] != 0).all()


def test_two_measurements_are_a_clear_error_naming_both(tmp_path):
    path = tmp_path / "pipeline.py"
    path.write_text(SMALL_PIPELINE.format(
        imports=", balanced_accuracy_score",
        more='print(balanced_accuracy_score(test["y"], predictions))\n'))
    inspector = PipelineInspector.on_pipeline(path).add_what_if(DataCorruption({"a": "scaling"}))
    with pytest.raises(WhatIfError, match=r"1 fit\(s\) and 2 measurement\(s\) \(fit at line 11:8, f1_score at line "
                                          r"14:6 of predict at line 12:14, balanced_accuracy_score at line 15:6 of "
                                          r"predict at line 12:14\)"):
        inspector.execute()


def test_a_loss_metric_ranks_the_variants_that_raise_it_as_the_worst(tmp_path):
    pipeline = SMALL_PIPELINE.format(imports=", zero_one_loss",
                                     more='print(zero_one_loss(test["y"], model.predict(test[["a", "b"]])))\n')
    # One measurement only: the f1 line is the loss line's.
    pipeline = pipeline.replace('print(f1_score(test["y"], predictions, pos_label="yes", average="binary"))\n', "")
    corruption = DataCorruption({"a": ["gaussian_noise", "scaling"]}, fractions=[0.2, 0.9])
    importance = PermutationFeatureImportance(["a", "b"])
    path = tmp_path / "pipeline.py"
    path.write_text(pipeline)
    result = PipelineInspector.on_pipeline(path).add_what_if(corruption).add_what_if(importance).execute()
    execution = result.what_if_execution
    assert execution.score.metric.name == "zero_one_loss" and not execution.score.greater_is_better
    frame = result.what_if[corruption]
    listed = [line.strip().rsplit(": score", 1)[0] for line in corruption.summary_lines(frame)[1:]]
    assert listed == list(frame.iloc[1:].sort_values("score_change", ascending=False)["variant"].head(3))
    assert frame.loc[frame["variant"] == listed[0], "score_change"].iloc[0] > 0  # the loss rose
    importances = result.what_if[importance].set_index("column")["importance"]
    # "a" decides the label: permuting it raises the loss, which is a positive importance.
    assert importances["a"] > 0 and importances["a"] == result.what_if[importance].set_index("column")[
        "score_change"]["a"]
