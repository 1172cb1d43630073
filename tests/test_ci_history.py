"""The file-backed model history: captured runs and step counts under <store>/ci/."""
import os

import numpy as np
import pytest

from lester_inspect.ci.history import CapturedRun, ConditionSteps, FileModelHistory, HistoryError


def run(labels, predictions, test_set="t1"):
    return CapturedRun(None if labels is None else np.array(labels), np.array(predictions), test_set)


def files_under(directory):
    return sorted(os.path.relpath(os.path.join(d, f), directory) for d, _, fs in os.walk(directory) for f in fs)


def test_a_recorded_run_comes_back(tmp_path):
    history = FileModelHistory(str(tmp_path / ".lester"))
    assert history.previous("pipelines/train.py") is None
    history.record("pipelines/train.py", run(["1", "0", "1", "1"], ["1", "1", "1", "1"]))
    previous = history.previous("pipelines/train.py")
    assert previous.labels.tolist() == ["1", "0", "1", "1"]
    assert previous.predictions.tolist() == ["1", "1", "1", "1"]
    assert previous.test_set == "t1"
    assert previous.accuracy == 0.75
    assert history.previous("other.py") is None


def test_recording_again_replaces_the_baseline(tmp_path):
    history = FileModelHistory(str(tmp_path))
    history.record("p", run(["a", "b"], ["a", "a"]))
    history.record("p", run(["a", "b"], ["a", "b"], "t2"))
    assert history.previous("p").accuracy == 1.0
    assert history.previous("p").test_set == "t2"
    assert files_under(tmp_path / "ci") == [os.path.join("models", "p-" + _digest("p") + ".npz")]


def _digest(key):
    import hashlib

    return hashlib.sha1(key.encode()).hexdigest()[:10]


def test_a_run_without_labels_keeps_none(tmp_path):
    history = FileModelHistory(str(tmp_path))
    history.record("p", run(None, ["x", "y"]))
    assert history.previous("p").labels is None
    assert history.previous("p").accuracy is None


def test_keys_with_slashes_and_similar_spellings_stay_apart(tmp_path):
    history = FileModelHistory(str(tmp_path))
    history.record("a/b.py", run(["1"], ["1"]))
    history.record("a_b.py", run(["0"], ["0"]))
    assert history.previous("a/b.py").labels.tolist() == ["1"]
    assert history.previous("a_b.py").labels.tolist() == ["0"]


def test_steps_are_counted_per_condition_with_their_verdicts(tmp_path):
    history = FileModelHistory(str(tmp_path))
    assert history.steps("c1") == ConditionSteps(())
    history.use_step("c1", False)
    history.use_step("c1", False)
    history.use_step("c2", True)
    history.use_step("c1", True)
    reopened = FileModelHistory(str(tmp_path))
    assert reopened.steps("c1") == ConditionSteps((False, False, True))
    assert reopened.steps("c1").used == 3
    assert reopened.steps("c1").first_change == 3
    assert reopened.steps("c2").first_change is None


def test_a_failed_write_keeps_the_previous_file_and_leaves_no_temporary(tmp_path, monkeypatch):
    history = FileModelHistory(str(tmp_path))
    history.record("p", run(["1"], ["1"]))

    def broken_savez(handle, **arrays):
        handle.write(b"PK\x03\x04 half a zip file")
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", broken_savez)
    with pytest.raises(HistoryError, match="cannot write .*p-.*npz: disk full"):
        history.record("p", run(["0"], ["0"]))
    assert history.previous("p").labels.tolist() == ["1"]
    assert not [f for f in files_under(tmp_path) if f.endswith(".tmp")]


def test_a_corrupt_captured_run_is_an_error_naming_the_file(tmp_path):
    history = FileModelHistory(str(tmp_path))
    history.record("p", run(["1"], ["1"]))
    (path,) = [os.path.join(tmp_path, "ci", f) for f in files_under(tmp_path / "ci")]
    with open(path, "wb") as handle:
        handle.write(b"PK\x03\x04 truncated")
    with pytest.raises(HistoryError, match=r"p-.*\.npz: corrupt captured run .*delete it and capture again"):
        history.previous("p")


def test_an_empty_captured_run_file_is_an_error(tmp_path):
    history = FileModelHistory(str(tmp_path))
    history.record("p", run(["1"], ["1"]))
    (path,) = [os.path.join(tmp_path, "ci", f) for f in files_under(tmp_path / "ci")]
    open(path, "wb").close()
    with pytest.raises(HistoryError, match="corrupt captured run"):
        history.previous("p")


@pytest.mark.parametrize("content", ['{"c": {"verdicts": [tru', '["not", "a", "table"]',
                                     '{"c": {"verdicts": [1, 2]}}', '{"c": {"used": 3}}'])
def test_corrupt_step_counts_are_an_error_naming_the_file(tmp_path, content):
    os.makedirs(tmp_path / "ci")
    (tmp_path / "ci" / "steps.json").write_text(content)
    history = FileModelHistory(str(tmp_path))
    with pytest.raises(HistoryError, match=r"steps\.json: corrupt step counts"):
        history.steps("c")
    with pytest.raises(HistoryError, match=r"steps\.json: corrupt step counts"):
        history.use_step("c", True)
