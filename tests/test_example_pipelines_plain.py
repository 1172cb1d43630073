"""The example pipelines, their data generators and TorchMLPClassifier, run plainly.

No instrumentation is involved here: these tests only make sure the examples
are sound on their own (deterministic data that can be regenerated, scripts
that run and print a reproducible result).
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from sklearn.base import clone, is_classifier
from sklearn.datasets import make_blobs
from sklearn.exceptions import NotFittedError
from sklearn.utils.estimator_checks import check_estimator

from example_generators import load_generator
from lester_inspect.models import TorchMLPClassifier

REPO_ROOT = Path(__file__).resolve().parents[1]
EXAMPLES_DIR = REPO_ROOT / "example_pipelines"
# Example name -> (rows of the committed data, files of the committed data).
EXAMPLES = {
    "healthcare": (1000, {"patients.csv", "histories.csv"}),
    "compas_like": (1500, {"compas.csv"}),
    "adult_like": (1500, {"adult.csv"}),
}
RESULT_LINE = re.compile(r"(Mean|Test) accuracy: [01]\.\d{4}\n")
MAX_COMMITTED_CSV_BYTES = 200_000


def subprocess_env():
    """The current environment, with the repository importable."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    return env


def age_group_shares(frame):
    return frame["age_group"].value_counts(normalize=True)


# --- data generators -------------------------------------------------------


@pytest.mark.parametrize("example", EXAMPLES)
def test_generator_is_deterministic_and_sized(example):
    generator = load_generator(example)
    first = generator.generate(300, seed=7)
    second = generator.generate(300, seed=7)
    other_seed = generator.generate(300, seed=8)

    assert set(first) == {name.removesuffix(".csv") for name in EXAMPLES[example][1]}
    for name, frame in first.items():
        assert len(frame) == 300
        pd.testing.assert_frame_equal(frame, second[name])
    assert any(not frame.equals(other_seed[name]) for name, frame in first.items())


@pytest.mark.parametrize("example", EXAMPLES)
def test_committed_data_is_regenerated_byte_for_byte(example, tmp_path):
    num_rows, file_names = EXAMPLES[example]
    assert load_generator(example).DEFAULT_ROWS == num_rows
    load_generator(example).write(tmp_path, num_rows=num_rows)

    committed_dir = EXAMPLES_DIR / example / "data"
    assert {path.name for path in committed_dir.iterdir()} == file_names
    assert {path.name for path in tmp_path.iterdir()} == file_names
    for name in file_names:
        committed = (committed_dir / name).read_bytes()
        assert len(committed) < MAX_COMMITTED_CSV_BYTES
        assert (tmp_path / name).read_bytes() == committed, f"{example}/data/{name} differs from write()"


@pytest.mark.parametrize("example", EXAMPLES)
def test_generator_command_line(example, tmp_path, run_as_main):
    # Run as ``python generate_data.py ...`` runs it, in this process: the command line is its argparse.
    run_as_main(EXAMPLES_DIR / example / "generate_data.py", tmp_path / "cli", "--rows", 50, "--seed", 3)
    load_generator(example).write(tmp_path / "api", 50, seed=3)
    for name in EXAMPLES[example][1]:
        assert (tmp_path / "cli" / name).read_bytes() == (tmp_path / "api" / name).read_bytes()


def test_healthcare_data_shape_and_missing_values():
    frames = load_generator("healthcare").generate(20_000, seed=1)
    patients, histories = frames["patients"], frames["histories"]
    assert list(patients.columns) == [
        "id", "first_name", "last_name", "race", "county", "num_children", "income", "age_group", "ssn",
    ]
    assert list(histories.columns) == ["smoker", "complications", "ssn"]
    assert patients["ssn"].is_unique
    assert set(histories["ssn"]) == set(patients["ssn"])
    assert 100 <= patients["last_name"].nunique() <= 250
    assert set(patients["age_group"]) == {"group1", "group2", "group3", "group4"}
    for frame, column in [(histories, "smoker"), (patients, "county"), (patients, "race")]:
        assert 0.01 < frame[column].isna().mean() < 0.06, column
    assert patients[["num_children", "income"]].notna().all().all()
    # Numeric columns follow the age group.
    by_age_group = patients.groupby("age_group")[["num_children", "income"]].mean()
    assert by_age_group.loc["group1"].lt(by_age_group.loc["group3"]).all()


@pytest.mark.parametrize("source", ["committed", "generated"])
def test_healthcare_county_filter_skews_age_groups(source, tmp_path):
    if source == "committed":
        data_dir = EXAMPLES_DIR / "healthcare" / "data"
    else:
        data_dir = tmp_path
        load_generator("healthcare").write(data_dir, 5000, seed=11)
    patients = pd.read_csv(data_dir / "patients.csv", na_values="?")
    histories = pd.read_csv(data_dir / "histories.csv", na_values="?")
    joined = patients.merge(histories, on=["ssn"])
    filtered = joined[joined["county"].isin(["county2", "county3"])]

    before = age_group_shares(joined)
    after = age_group_shares(filtered).reindex(before.index, fill_value=0.0)
    relative_change = ((after - before) / before).abs()
    assert relative_change.max() > 0.3, relative_change


def test_compas_and_adult_data_contain_the_rows_the_pipelines_drop():
    compas = load_generator("compas_like").generate(5000, seed=2)["compas"]
    days = compas["days_b_screening_arrest"]
    assert ((days > 30) | (days < -30)).any() and days.isna().any()
    assert (compas["is_recid"] == -1).any()
    assert (compas["c_charge_degree"] == "O").any()
    assert (compas["score_text"] == "N/A").any()
    assert (compas["score_text"] == "Medium").any()

    adult = load_generator("adult_like").generate(5000, seed=2)["adult"]
    for column in ["workclass", "occupation", "native_country"]:
        assert (adult[column] == "?").any(), column
    assert set(adult["income_bracket"]) == {"<=50K", ">50K"}


# --- pipelines -------------------------------------------------------------


# One new process per example runs its pipeline twice, as ``python pipeline.py`` and ``python pipeline.py DATA_DIR``
# would (torch and sklearn are imported once); the tests below share it.
RUN_BOTH = """
import runpy, sys
path, data_dir = sys.argv[1:]
for args in ([], [data_dir]):
    sys.argv = [path, *args]
    runpy.run_path(path, run_name="__main__")
    print(flush=True)
"""


@pytest.fixture(scope="module")
def new_process_runs(tmp_path_factory):
    """``runs(example)``: the process (with the pipeline's outputs on the committed and on fresh data)."""
    done = {}

    def runs(example):
        if example not in done:
            folder = tmp_path_factory.mktemp(example)
            load_generator(example).write(folder / "data", 800, seed=5)
            done[example] = subprocess.run([sys.executable, "-c", RUN_BOTH, str(EXAMPLES_DIR / example / "pipeline.py"),
                                            str(folder / "data")], capture_output=True, text=True,
                                           env=subprocess_env(), cwd=folder, timeout=300)
        return done[example]

    return runs


@pytest.mark.parametrize("example", EXAMPLES)
def test_pipeline_runs_on_committed_and_on_freshly_generated_data(example, new_process_runs):
    process = new_process_runs(example)
    assert process.returncode == 0, process.stderr
    assert "Warning" not in process.stderr, process.stderr
    committed, fresh = process.stdout.split("\n\n")[:2]
    assert RESULT_LINE.fullmatch(committed + "\n"), process.stdout
    assert RESULT_LINE.fullmatch(fresh + "\n"), process.stdout


@pytest.mark.parametrize("example", EXAMPLES)
def test_pipeline_prints_the_same_in_another_process(example, new_process_runs, run_as_main, tmp_path, monkeypatch):
    # This process has another hash seed, other modules loaded and other warnings filters.
    monkeypatch.chdir(tmp_path)
    here = run_as_main(EXAMPLES_DIR / example / "pipeline.py")
    assert new_process_runs(example).stdout.startswith(here + "\n")


# --- TorchMLPClassifier ----------------------------------------------------


@pytest.fixture(scope="module")
def blobs():
    X, y = make_blobs(n_samples=400, centers=[[-2, -2, 0], [2, 2, 0]], cluster_std=1.0, random_state=0)
    return X, y


def test_torch_mlp_learns_separable_problem(blobs):
    X, y = blobs
    classifier = TorchMLPClassifier(epochs=20).fit(X[:300], y[:300])
    assert classifier.score(X[300:], y[300:]) > 0.9
    assert classifier.n_features_in_ == 3
    np.testing.assert_array_equal(classifier.classes_, [0, 1])
    proba = classifier.predict_proba(X[300:])
    assert proba.shape == (100, 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)


def test_torch_mlp_multiclass_with_string_labels():
    X, y = make_blobs(n_samples=300, centers=3, random_state=1)
    labels = np.array(["a", "b", "c"])[y]
    classifier = TorchMLPClassifier(epochs=20).fit(X, labels)
    np.testing.assert_array_equal(classifier.classes_, ["a", "b", "c"])
    assert classifier.score(X, labels) > 0.9


def test_torch_mlp_is_deterministic(blobs):
    X, y = blobs
    first = TorchMLPClassifier(random_state=3).fit(X, y).predict_proba(X)
    second = TorchMLPClassifier(random_state=3).fit(X, y).predict_proba(X)
    other = TorchMLPClassifier(random_state=4).fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(first, second)
    assert not np.array_equal(first, other)


def test_torch_mlp_accepts_sparse_and_pandas_input(blobs):
    X, y = blobs
    dense = TorchMLPClassifier().fit(X, y)
    sparse = TorchMLPClassifier().fit(sp.csr_matrix(X), y)
    frame = TorchMLPClassifier().fit(pd.DataFrame(X, columns=["a", "b", "c"]), pd.Series(y))
    np.testing.assert_allclose(sparse.predict_proba(sp.csr_matrix(X)), dense.predict_proba(X), rtol=1e-5)
    np.testing.assert_allclose(frame.predict_proba(X), dense.predict_proba(X), rtol=1e-5)


def test_torch_mlp_follows_sklearn_conventions(blobs):
    X, y = blobs
    classifier = TorchMLPClassifier(
        hidden_layer_sizes=(8, 4), epochs=3, batch_size=32, learning_rate=0.05, random_state=9
    )
    params = classifier.get_params()
    assert params == {
        "hidden_layer_sizes": (8, 4),
        "epochs": 3,
        "batch_size": 32,
        "learning_rate": 0.05,
        "random_state": 9,
    }
    assert TorchMLPClassifier(**params).get_params() == params
    assert TorchMLPClassifier().set_params(**params).get_params() == params
    assert is_classifier(classifier)
    with pytest.raises(NotFittedError):
        classifier.predict(X)

    fitted = classifier.fit(X, y)
    assert fitted is classifier
    cloned = clone(classifier)
    assert cloned.get_params() == params
    assert not hasattr(cloned, "module_")
    np.testing.assert_array_equal(cloned.fit(X, y).predict_proba(X), classifier.predict_proba(X))
    with pytest.raises(ValueError):
        classifier.predict(X[:, :2])


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_torch_mlp_passes_sklearn_estimator_checks():
    check_estimator(TorchMLPClassifier())


def test_importing_models_does_not_import_torch(tmp_path):
    code = "import sys, lester_inspect.models; assert 'torch' not in sys.modules, 'torch imported'"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=subprocess_env(), cwd=tmp_path, timeout=120
    )
    assert result.returncode == 0, result.stderr
