"""The messy scripts in the style of those published with the Lester prototype: split, run in the sandbox, DAG.

Each script runs as the rewrite runs an original: in the bubblewrap sandbox, in
the working directory it expects, on generated data of the published shape.
"""
import importlib.util
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from lester_inspect.rewrite.sandbox import Limits, Sandbox, run_captured, sandbox_inputs
from lester_inspect.rewrite.split import MODEL_TRAINING, split_pipeline

FOLDER = Path(__file__).resolve().parents[1] / "example_pipelines" / "lester_messy"
# script: (working directory under the data folder, arguments)
RUNS = {"amazon_reviews": (".", []), "creditcards": (".", []), "ecom_task1": (".", []),
        "ecom_task2": ("data", []), "ecom_task3": (".", ["data/dataset"])}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    spec = importlib.util.spec_from_file_location("lester_messy_generate_data", FOLDER / "generate_data.py")
    generator = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generator)
    root = tmp_path_factory.mktemp("lester_messy")
    generator.write(root, 240, seed=2)

    def run(name):
        cwd, args = root / RUNS[name][0], RUNS[name][1]
        path = FOLDER / f"{name}.py"
        source = path.read_text()
        inputs = sandbox_inputs(source, str(path), args, str(cwd))
        return name, (split_pipeline(source, str(path)), run_captured(source, str(path), args, Limits(seconds=120),
                                                                     Sandbox(inputs, str(cwd))))

    with ThreadPoolExecutor(3) as pool:
        return root, dict(pool.map(run, RUNS))


def nodes(outcome, feeding=None):
    return [(n["type"], n["function"].rsplit(".", 2)[-2] + "." + n["function"].rsplit(".", 1)[-1])
            for n in outcome.report["nodes"] if feeding is None or n["feeds_model"] == feeding]


@pytest.mark.parametrize("name", sorted(RUNS))
def test_each_script_is_split_and_runs_in_the_sandbox(runs, name):
    split, outcome = runs[1][name]
    assert split.fit_line is not None and split.lines(MODEL_TRAINING)
    assert outcome.ok, outcome.error
    assert re.search(r"accuracy: \d\.\d{3}$", outcome.stdout)
    model = "LinearSVC" if name == "amazon_reviews" else "LogisticRegression"
    assert ("ESTIMATOR", f"{model}.fit") in nodes(outcome)


def test_the_dags_show_what_each_script_does_with_pandas_and_scikit_learn(runs):
    root, results = runs
    feeding = {name: nodes(outcome, feeding=True) for name, (_, outcome) in results.items()}
    assert feeding["amazon_reviews"] == [("TRANSFORMER", "DictVectorizer.fit_transform"), ("TRAIN_DATA", "LinearSVC.fit"),
                                         ("TRAIN_LABELS", "LinearSVC.fit")]
    # The joined rows went through a temporary file (in the sandbox's TMPDIR) into pandas.
    assert feeding["creditcards"][0] == ("DATA_SOURCE", "pandas.read_csv")
    # Hand-parsed files: the model's inputs are the first thing lester-inspect sees.
    assert feeding["ecom_task1"][0] == ("DATA_SOURCE", ".unknown")
    assert feeding["ecom_task2"].count(("DATA_SOURCE", "pandas.read_csv")) == 8
    assert ("JOIN", "pandas.merge") in feeding["ecom_task2"] and ("SELECTION", "NDFrame.sample") in feeding["ecom_task2"]
    assert ("JOIN", "DataFrame.merge") in feeding["ecom_task3"]
    assert ("TRAIN_TEST_SPLIT", "_split.train_test_split") in feeding["ecom_task3"]
    # ecom_task1 wrote its train/dev/test files into the sandbox's working directory only.
    assert not list(root.rglob("train.txt"))

