"""TF-IDF weights maintained after forget, against runs from scratch on the corrected sources: idf_ refitted on the
remaining documents, vocabulary entries only forgotten documents had removed, every cell re-weighted."""
import os

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from featuriser_runs import capture as capture_run, captured_folder, stored_featuriser, work_copy
from lester_inspect.ivm import ArtifactStore, ColumnSpec, RowSpec

# The split depends on the id only, so that a run from scratch keeps the same rows in the same order.
PIPELINE = '''
import sys
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

data = pd.read_csv(sys.argv[1])
train, test = data[data["id"] % 4 != 0], data[data["id"] % 4 == 0]
features = ColumnTransformer([("body", TfidfVectorizer(), "body"),
                              ("subject", TfidfVectorizer(sublinear_tf=True, smooth_idf=False, norm="l1"), "subject"),
                              ("n", StandardScaler(), ["n"])])
pipeline = Pipeline([("features", features), ("model", LogisticRegression())])
pipeline.fit(train, train["y"])
print(pipeline.score(test, test["y"]))
'''
WORDS = ["invoice", "payment", "late", "refund", "order", "shipped", "account", "card", "thanks", "urgent"]


def write_data(path):
    rng = np.random.default_rng(7)
    n = 200
    frame = pd.DataFrame({"id": np.arange(n), "n": rng.normal(0, 1, n).round(4),
                          "body": [" ".join(rng.choice(WORDS, rng.integers(3, 9))) for _ in range(n)],
                          "subject": [" ".join(rng.choice(WORDS[:5], 2)) for _ in range(n)]})
    frame.loc[[1, 2, 8], "body"] += [" 4111111111111111", " secretcode", " secretcode"]  # row 8: a test row
    frame["y"] = (frame["body"].str.count("late") + frame["n"] + rng.normal(0, 1, n) > 0.5).astype(int)
    frame.to_csv(path, index=False)


def capture(folder):
    return capture_run(folder, folder / "data.csv")


@pytest.fixture(scope="module")
def captured(tmp_path_factory):
    return captured_folder(tmp_path_factory.mktemp("text"), PIPELINE, write_data)


@pytest.fixture
def work(captured, tmp_path, monkeypatch):
    root, run_id = captured
    return work_copy(root, tmp_path, monkeypatch), run_id


def vectorisers(store_path, run_id):
    featuriser = stored_featuriser(store_path, run_id)
    return featuriser, featuriser.named_transformers_["body"], featuriser.named_transformers_["subject"]


def dense(matrix):
    return matrix.toarray() if sp.issparse(matrix) else np.asarray(matrix)


def test_forget_refits_idf_and_removes_terms_only_forgotten_documents_had_like_a_run_from_scratch(work):
    folder, run_id = work
    store = ArtifactStore(".lester")
    data = pd.read_csv("data.csv")
    _, body, _ = vectorisers(".lester", run_id)
    old_idf = body.idf_.copy()
    assert "4111111111111111" in body.vocabulary_ and "secretcode" in body.vocabulary_
    gone = [1, 2, 5, 6]  # training rows: the card number's and secretcode's only training documents
    text = str(store.forget(RowSpec("data.csv", positions=tuple(gone))))
    assert "featuriser body (TfidfVectorizer): 2 vocabulary entries only the removed rows had removed" in text, text
    assert "featuriser body (TfidfVectorizer): fitted again on the 146 remaining training rows: idf_ of" in text
    assert "featuriser subject (TfidfVectorizer): fitted again" in text and "NOT MAINTAINED" not in text, text

    scratch = folder / "scratch"
    scratch.mkdir()
    (scratch / "pipeline.py").write_text(PIPELINE)
    data.drop(index=gone).to_csv(scratch / "data.csv", index=False)
    scratch_store = ArtifactStore(str(scratch / ".lester"))
    scratch_id = capture(scratch)
    ours, theirs = store.load(run_id), scratch_store.load(scratch_id)
    for group in ("train", "test"):  # every re-weighted cell, exactly; test row 8 without the removed term
        assert np.array_equal(dense(ours[group]["X"]), dense(theirs[group]["X"]))
    featuriser, body, subject = vectorisers(".lester", run_id)
    _, scratch_body, scratch_subject = vectorisers(str(scratch_store.path), scratch_id)
    for mine, expected in ((body, scratch_body), (subject, scratch_subject)):
        assert mine.vocabulary_ == expected.vocabulary_
        assert np.array_equal(mine.idf_, expected.idf_)
    assert not np.array_equal(body.idf_, np.delete(old_idf, [0, 1]))  # every weight moved with the row count
    test_rows = data[data["id"] % 4 == 0]
    assert np.array_equal(dense(featuriser.transform(test_rows)), dense(theirs["test"]["X"]))
    assert np.array_equal(store.predict(run_id, test_rows), ours["model"].predict(ours["test"]["X"]))
    for path in (os.path.join(".lester", "runs", run_id, "featuriser.pkl"),
                 os.path.join(".lester", "runs", run_id, "train", "X", "state.json")):
        with open(path, "rb") as handle:
            content = handle.read()
        assert b"4111111111111111" not in content and b"secretcode" not in content
        assert np.float64(old_idf[-1]).tobytes() not in content and repr(float(old_idf[-1])).encode() not in content


def test_forgetting_the_text_column_refits_idf_without_the_nulled_documents(work):
    folder, run_id = work
    store = ArtifactStore(".lester")
    data = pd.read_csv("data.csv")
    store.forget(RowSpec("data.csv", positions=(3, 7, 9)), ColumnSpec("data.csv", "body"))
    _, body, _ = vectorisers(".lester", run_id)
    from sklearn.feature_extraction.text import CountVectorizer, TfidfTransformer

    train = data[data["id"] % 4 != 0]
    counts = CountVectorizer().fit_transform(train["body"].where(~train.index.isin([3, 7, 9]), ""))
    assert np.array_equal(body.idf_, TfidfTransformer().fit(counts).idf_)  # the nulled documents count as empty
    run = store.load(run_id)["train"]
    hit = np.isin(run["lineage"]["data"], (3, 7, 9))
    width = len(body.vocabulary_)
    assert hit.sum() == 3 and not dense(run["X"])[hit, :width].any()


def test_rectify_that_removes_a_term_reweights_like_a_run_from_scratch(work):
    from lester_inspect.ivm.rectify import Correction

    folder, run_id = work
    store = ArtifactStore(".lester")
    data = pd.read_csv("data.csv")
    text = str(store.rectify(RowSpec("data.csv", positions=(1,)), ColumnSpec("data.csv", "body"),
                             Correction.replace(r"\d{16}=>")))
    assert "featuriser body (TfidfVectorizer): 1 vocabulary entry only the rectified rows had removed" in text, text
    assert "featuriser body (TfidfVectorizer): fitted again" in text and "NOT MAINTAINED" not in text, text
    corrected = data.copy()
    corrected.loc[1, "body"] = corrected.loc[1, "body"].replace("4111111111111111", "")
    scratch = folder / "scratch"
    scratch.mkdir()
    (scratch / "pipeline.py").write_text(PIPELINE)
    corrected.to_csv(scratch / "data.csv", index=False)
    scratch_store = ArtifactStore(str(scratch / ".lester"))
    scratch_id = capture(scratch)
    ours, theirs = store.load(run_id), scratch_store.load(scratch_id)
    for group in ("train", "test"):
        assert np.array_equal(dense(ours[group]["X"]), dense(theirs[group]["X"]))
    _, body, _ = vectorisers(".lester", run_id)
    _, expected, _ = vectorisers(str(scratch_store.path), scratch_id)
    assert body.vocabulary_ == expected.vocabulary_ and np.array_equal(body.idf_, expected.idf_)
    for name in os.listdir(os.path.join(".lester", "runs", run_id, "train", "X")):
        with open(os.path.join(".lester", "runs", run_id, "train", "X", name), "rb") as handle:
            assert b"4111111111111111" not in handle.read()


def test_rectify_that_adds_terms_is_reported_not_maintained(work):
    from lester_inspect.ivm.rectify import Correction

    folder, run_id = work
    store = ArtifactStore(".lester")
    text = str(store.rectify(RowSpec("data.csv", positions=(3,)), ColumnSpec("data.csv", "body"),
                             Correction.replace("^=>zebra refund ")))
    assert "NOT MAINTAINED: featuriser body (TfidfVectorizer): the rectified rows have 1 value(s) it did not" in text
    assert "NOT MAINTAINED: featuriser body (TfidfVectorizer): 1 rectified row(s) have terms or a term order" in text
    run = store.load(run_id)["train"]
    row = np.searchsorted(run["lineage"]["data"], 3)
    _, body, _ = vectorisers(".lester", run_id)
    assert not dense(run["X"])[row, :len(body.vocabulary_)].any()  # its old terms are not kept
