"""The CI gate: running configured pipelines, model conditions against the history, exit codes."""
import textwrap

import numpy as np
import pytest

from lester_inspect.checks import NoIllegalFeatures
from lester_inspect.ci.conditions import Condition
from lester_inspect.ci.config import PipelineConfig
from lester_inspect.ci.gate import evaluate_condition, exit_code, run_pipeline
from lester_inspect.ci.history import CapturedRun, ConditionSteps, FileModelHistory, ModelHistory
from lester_inspect.report.model import PipelineReport, Status, Verdict


class MemoryHistory(ModelHistory):
    def __init__(self, previous=None):
        self.runs = {} if previous is None else {"p": previous}
        self.verdicts = {}

    def previous(self, pipeline_key):
        return self.runs.get(pipeline_key)

    def record(self, pipeline_key, run):
        self.runs[pipeline_key] = run

    def steps(self, condition_key):
        return ConditionSteps(tuple(self.verdicts.get(condition_key, ())))

    def use_step(self, condition_key, verdict):
        self.verdicts.setdefault(condition_key, []).append(verdict)


def captured(correct, total=2000, changed_from=None, test_set="t"):
    """``correct`` of ``total`` predictions right; or the predictions of ``changed_from`` with ``correct`` flipped."""
    labels = np.array(["1"] * total)
    if changed_from is not None:
        predictions = changed_from.predictions.copy()
        predictions[:correct] = np.where(predictions[:correct] == "1", "0", "1")
    else:
        predictions = np.array(["1"] * correct + ["0"] * (total - correct))
    return CapturedRun(labels, predictions, test_set)


# `n > 0.7 +/- 0.05` with reliability 0.9, 10 non-adaptive steps: ln(10 / 0.1) / (2 * 0.05^2) = 921.03 -> 922.
ACCURACY = dict(reliability=0.9, adaptivity="none", steps=10)


def test_a_condition_that_holds_passes_and_uses_a_step():
    history = MemoryHistory()
    verdict = evaluate_condition(Condition.parse("n > 0.7 +/- 0.05", **ACCURACY), "p", captured(1800), None, history)
    assert verdict.status is Status.PASSED
    assert verdict.message == ("holds on 2,000 test examples (needs 922; reliability 0.9, adaptivity none, "
                               "fp-free; step 1 of 10)")
    assert [len(v) for v in history.verdicts.values()] == [1]


def test_unknown_fails_in_fp_free_mode_and_passes_in_fn_free_mode():
    near = captured(1460)  # n = 0.73: [0.68, 0.78] straddles 0.7
    fp_free = evaluate_condition(Condition.parse("n > 0.7 +/- 0.05", **ACCURACY), "p", near, None, MemoryHistory())
    fn_free = evaluate_condition(Condition.parse("n > 0.7 +/- 0.05", mode="fn-free", **ACCURACY), "p", near, None,
                                 MemoryHistory())
    assert fp_free.status is Status.FAILED
    assert fp_free.message.startswith("does not hold (false or not shown within the tolerance) on 2,000 test")
    assert fn_free.status is Status.PASSED


def test_verdicts_never_reveal_the_estimates():
    # The adaptive bound counts one bit per step: the accuracy itself must not leak.
    for correct in (1830, 1460, 1010):
        verdict = evaluate_condition(Condition.parse("n > 0.7 +/- 0.05", **ACCURACY), "p", captured(correct), None,
                                     MemoryHistory())
        for shown in (f"{correct / 2000}", f"{correct / 2000:.2f}", f"{correct / 2000:.1%}", f"{correct:,}"):
            assert shown not in verdict.message


def test_a_too_small_test_set_fails_with_the_required_size_and_uses_no_step():
    history = MemoryHistory()
    condition = Condition.parse("n > 0.8 +/- 0.01 /\\ n > 0.5 +/- 0.2", reliability=0.9999, adaptivity="none", steps=1)
    verdict = evaluate_condition(condition, "p", captured(900, total=1000), None, history)
    assert verdict.status is Status.FAILED
    # delta' = 0.0001 / 2 clauses: ln(20000) / (2 * 0.01^2) = 49,518; / (2 * 0.2^2) = 123.8 -> 124
    assert verdict.message == ("test set too small: 1,000 test examples, but 'n > 0.8 +/- 0.01' needs 49,518; "
                               "'n > 0.5 +/- 0.2' needs 124 (reliability 0.9999, adaptivity none, fp-free, 1 steps)")
    assert history.verdicts == {}


def test_comparisons_need_a_captured_run():
    verdict = evaluate_condition(Condition.parse("d < 0.1 +/- 0.05", **ACCURACY), "p", captured(1800), None,
                                 MemoryHistory(), ".lester")
    assert verdict.status is Status.WARNING
    assert verdict.message == ("not evaluated: no captured run of 'p' in .lester to compare with; "
                               "run 'lester-inspect ci --capture' on the main branch first")


def test_d_is_the_fraction_of_changed_predictions_and_o_the_captured_accuracy():
    before = captured(1600)
    after = captured(100, changed_from=before)  # 100 of 2,000 predictions flipped: d = 0.05
    history = MemoryHistory(before)
    holds = evaluate_condition(Condition.parse("d < 0.1 +/- 0.04", **ACCURACY), "p", after, before, history)
    fails = evaluate_condition(Condition.parse("d < 0.01 +/- 0.02", **ACCURACY), "p", after, before, history)
    assert (holds.status, fails.status) == (Status.PASSED, Status.FAILED)
    # Flipping 100 correct predictions: n = 0.75, o = 0.8. n - o >= -0.2 holds, n - o > 0 is false.
    # R = 2: 4 * ln(100) / (2 * 0.1^2) = 921.03 -> 922 examples.
    better = Condition.parse("n - o > 0 +/- 0.1", **ACCURACY)
    not_worse = Condition.parse("n - o >= -0.2 +/- 0.1", **ACCURACY)
    assert evaluate_condition(better, "p", after, before, history).status is Status.FAILED
    assert evaluate_condition(not_worse, "p", after, before, history).status is Status.PASSED


def test_a_different_test_set_cannot_be_compared():
    verdict = evaluate_condition(Condition.parse("d < 0.1 +/- 0.05", **ACCURACY), "p", captured(1800, test_set="new"),
                                 captured(1800, test_set="old"), MemoryHistory())
    assert verdict.status is Status.FAILED
    assert verdict.message.startswith("cannot compare: the test examples differ from the captured run's "
                                      "(2,000 now, 2,000 captured)")


def test_the_budget_of_steps_runs_out():
    history = MemoryHistory()
    condition = Condition.parse("n > 0.7 +/- 0.05", reliability=0.9, adaptivity="none", steps=3)
    statuses = [evaluate_condition(condition, "p", captured(1800), None, history).status for _ in range(4)]
    assert statuses == [Status.PASSED, Status.PASSED, Status.PASSED, Status.FAILED]
    last = evaluate_condition(condition, "p", captured(1800), None, history)
    assert last.message == ("this test set's budget of 3 steps is used up; a new test set (and a new capture) "
                            "is needed for guarantees")
    assert [len(v) for v in history.verdicts.values()] == [3]


def test_steps_are_counted_per_test_set():
    history = MemoryHistory()
    condition = Condition.parse("n > 0.7 +/- 0.05", reliability=0.9, adaptivity="none", steps=1)
    assert evaluate_condition(condition, "p", captured(1800), None, history).status is Status.PASSED
    assert evaluate_condition(condition, "p", captured(1800), None, history).status is Status.FAILED
    fresh = captured(1800, test_set="a new test set")
    assert evaluate_condition(condition, "p", fresh, None, history).status is Status.PASSED


def test_first_change_retires_the_test_set_when_the_verdict_first_changes():
    history = MemoryHistory()
    condition = Condition.parse("n > 0.7 +/- 0.05", reliability=0.9, adaptivity="first-change", steps=10)
    outcomes = [evaluate_condition(condition, "p", captured(correct), None, history)
                for correct in (1000, 1000, 1800, 1800)]
    assert [o.status for o in outcomes] == [Status.FAILED, Status.FAILED, Status.PASSED, Status.FAILED]
    assert outcomes[-1].message.startswith("this test set retired when the verdict first changed, at step 3")


def test_accuracy_conditions_need_labels():
    without_labels = CapturedRun(None, np.array(["1"] * 2000), "t")
    verdict = evaluate_condition(Condition.parse("n > 0.7 +/- 0.05", **ACCURACY), "p", without_labels, None,
                                 MemoryHistory())
    assert verdict.status is Status.ERROR
    assert "model.score(X_test, y_test)" in verdict.message
    changed = evaluate_condition(Condition.parse("d < 0.5 +/- 0.05", **ACCURACY), "p", without_labels, without_labels,
                                 MemoryHistory())
    assert changed.status is Status.PASSED


@pytest.mark.parametrize("statuses, fail_on_warning, code", [
    ([Status.PASSED, Status.SKIPPED], False, 0),
    ([Status.PASSED, Status.WARNING], False, 0),
    ([Status.PASSED, Status.WARNING], True, 1),
    ([Status.FAILED, Status.WARNING], False, 1),
    ([Status.FAILED, Status.ERROR], False, 2),
    ([], False, 0),
])
def test_exit_codes(statuses, fail_on_warning, code):
    report = PipelineReport("p", "p.py", [Verdict(f"v{i}", "check", s, "") for i, s in enumerate(statuses)])
    assert exit_code([report], fail_on_warning) == code


def test_a_pipeline_error_is_exit_code_two_even_when_its_checks_passed():
    report = PipelineReport("p", "p.py", [Verdict("v", "check", Status.PASSED, "")], error="store broken")
    assert exit_code([report]) == 2


# -- whole pipelines ---------------------------------------------------------------------------------

PIPELINE = """
import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split

rng = np.random.default_rng(0)
data = pd.DataFrame({"x": rng.normal(size=400), "group": rng.choice(["a", "b"], size=400)})
data["y"] = (data["x"] + rng.normal(scale=0.5, size=400) > 0).astype(int)
train, test = train_test_split(data, test_size=0.5, random_state=SEED)
model = LogisticRegression().fit(train[["x", "group"]].assign(group=train["group"] == "a"), train["y"])
"""
SCORE = 'print(model.score(test[["x", "group"]].assign(group=test["group"] == "a"), test["y"]))\n'


@pytest.fixture
def pipeline_file(tmp_path):
    def write(text=PIPELINE + SCORE, seed=0, name="pipeline.py"):
        path = tmp_path / name
        path.write_text(textwrap.dedent(text).replace("SEED", str(seed)))
        return str(path)

    return write


def configured(path, store, conditions=("n > 0.6 +/- 0.1 /\\ d < 0.2 +/- 0.1",), checks=()):
    parsed = tuple(Condition.parse(c, reliability=0.9, adaptivity="none", steps=3) for c in conditions)
    return PipelineConfig(name="p", path=path, checks=tuple(checks), conditions=parsed, store=str(store),
                          capture=bool(parsed))


def test_capture_on_main_then_compare_on_pull_requests(pipeline_file, tmp_path, capsys):
    # Two clauses, 3 steps: ln(2 * 3 / 0.1) / (2 * 0.1^2) = 4.0943 / 0.02 = 204.7 -> 205 examples; we have 200.
    small = configured(pipeline_file(), tmp_path / "store")
    report = run_pipeline(small, capture=False)
    assert report.verdicts[0].message.startswith("test set too small: 200 test examples, but "
                                                 "'n > 0.6 +/- 0.1' needs 205")
    pipeline = configured(pipeline_file(), tmp_path / "store", conditions=("n > 0.6 +/- 0.15 /\\ d < 0.2 +/- 0.15",),
                          checks=[("no-illegal-features", NoIllegalFeatures())])
    main = run_pipeline(pipeline, capture=True)
    assert [(v.name, v.status) for v in main.verdicts] == [
        ("no-illegal-features", Status.PASSED), ("condition: n > 0.6 +/- 0.15 /\\ d < 0.2 +/- 0.15", Status.SKIPPED)]
    assert main.verdicts[1].message.startswith("not evaluated: this run captured the model's 200 test predictions")
    stored = FileModelHistory(str(tmp_path / "store")).previous("p")
    assert len(stored.predictions) == 200 and stored.accuracy > 0.8
    pull_requests = [run_pipeline(pipeline).verdicts[1] for _ in range(4)]
    assert [v.status for v in pull_requests] == [Status.PASSED] * 3 + [Status.FAILED]
    assert pull_requests[2].message.endswith("step 3 of 3)")
    assert "budget of 3 steps is used up" in pull_requests[3].message
    assert "0.8" in capsys.readouterr().out  # the pipeline's own output goes through


def test_a_changed_test_split_is_not_compared(pipeline_file, tmp_path):
    conditions = ("d < 0.2 +/- 0.15",)
    run_pipeline(configured(pipeline_file(seed=0), tmp_path, conditions), capture=True)
    verdict = run_pipeline(configured(pipeline_file(seed=1), tmp_path, conditions)).verdicts[0]
    assert verdict.status is Status.FAILED
    assert verdict.message.startswith("cannot compare: the test examples differ")


def test_a_pipeline_without_a_test_evaluation_cannot_have_conditions(pipeline_file, tmp_path):
    report = run_pipeline(configured(pipeline_file(PIPELINE), tmp_path, ("n > 0.6 +/- 0.15",)))
    (verdict,) = report.verdicts
    assert verdict.status is Status.ERROR
    assert verdict.message == ("the pipeline never evaluates a model on test data; model conditions need a "
                               "model.score(X_test, y_test) call (or model.predict(X_test) for conditions on d only)")
    assert exit_code([report]) == 2


def test_predictions_alone_serve_conditions_on_d(pipeline_file, tmp_path):
    predict = 'predictions = model.predict(test[["x", "group"]].assign(group=test["group"] == "a"))\n'
    path = pipeline_file(PIPELINE + predict)
    run_pipeline(configured(path, tmp_path, ("d < 0.2 +/- 0.15",)), capture=True)
    assert run_pipeline(configured(path, tmp_path, ("d < 0.2 +/- 0.15",))).verdicts[0].status is Status.PASSED


def test_a_raising_pipeline_is_an_error_with_its_partial_dag(pipeline_file, tmp_path, capsys):
    path = pipeline_file(PIPELINE + 'raise ValueError("no model today")\n')
    report = run_pipeline(configured(path, tmp_path, checks=[("no-illegal-features", NoIllegalFeatures())]))
    assert report.error == "the pipeline raised ValueError: no model today"
    assert [(v.status, v.message) for v in report.verdicts] == [(Status.ERROR, report.error)] * 2
    assert report.result.dag.number_of_nodes() > 3
    assert exit_code([report]) == 2
    stderr = capsys.readouterr().err
    assert "lester-inspect: p: the pipeline raised ValueError: no model today" in stderr
    assert 'raise ValueError("no model today")' in stderr  # the user's traceback


def test_a_pipeline_exiting_with_an_error_status(pipeline_file, tmp_path):
    report = run_pipeline(configured(pipeline_file("import sys\nsys.exit(3)\n"), tmp_path, conditions=()))
    assert report.error == "the pipeline exited with status 3"
    assert report.status is Status.ERROR


def test_a_corrupt_store_is_an_error(pipeline_file, tmp_path, capsys):
    (tmp_path / "ci").mkdir()
    (tmp_path / "ci" / "steps.json").write_text("{")
    pipeline = configured(pipeline_file(), tmp_path, ("n > 0.6 +/- 0.15",))
    report = run_pipeline(pipeline)
    assert report.error.startswith(f"{tmp_path / 'ci' / 'steps.json'}: corrupt step counts")
    assert exit_code([report]) == 2
    assert "corrupt step counts" in capsys.readouterr().err
